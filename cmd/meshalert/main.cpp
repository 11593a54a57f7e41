// meshalert: alert rules over the mesh store (check, watch, list, history, test, silence).
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <string>

#include "mesh/base/process_signals.h"
#include "mesh/cli/meshalert_commands.h"

namespace {

void AddCheckFlags(CLI::App* cmd, mesh::CheckOptions& o) {
  cmd->add_option("--rules", o.rules_file,
                  "Rules file: extends the built-in rules (default: $MESH_RULES, else "
                  "$XDG_CONFIG_HOME/mesh/rules.json; none there: the built-ins alone)");
  cmd->add_option("--rule", o.rules, "Only this rule (repeatable)");
  cmd->add_option("--output,-o", o.output, "text|json (one object per alert)")->capture_default_str();
  cmd->add_option("--alertmanager", o.notify.alertmanager,
                  "Alertmanager base URL: POST /api/v2/alerts on every transition");
  cmd->add_option("--webhook", o.notify.webhook, "POST a webhook payload (Alertmanager's version 4 shape) here");
  cmd->add_option("--exec", o.notify.exec, "Run this shell command per notification, the alert JSON on stdin");
  cmd->add_option("--repeat-interval", o.notify.repeat_interval,
                  "Notify a still-firing alert again after this long (default: transitions only)");
  cmd->add_option("--external-url", o.notify.external_url,
                  "Base of each alert's generatorURL (default: the --server URL)");
}

}  // namespace

int main(int argc, char** argv) {
  mesh::CommandIo io;
  io.out_is_tty = isatty(STDOUT_FILENO) == 1;

  CLI::App app{"meshalert: alert rules over the mesh store, with state across runs and notifications",
               "meshalert"};
  app.set_version_flag("--version", std::string("meshalert ") + MESH_VERSION);
  app.require_subcommand(1);
  app.fallthrough();
  mesh::BackendOptions backend;
  app.add_option("--db", backend.db, "Store file (default: $MESH_DB, else $XDG_DATA_HOME/mesh/mesh.db)");
  app.add_option("--server", backend.server,
                 "Work on a remote meshd instead of the file, e.g. http://127.0.0.1:9000 (default: $MESH_SERVER)");
  app.add_option("--token-file", backend.token_file,
                 "Bearer token sent to meshd, for writes and reads (file mode 0600; default: $MESH_TOKEN)");

  mesh::CheckOptions check;
  CLI::App* check_cmd = app.add_subcommand(
      "check", "Evaluate the rules once, advance each alert's state, notify; exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN");
  AddCheckFlags(check_cmd, check);
  check_cmd->add_option("--at", check.at, "Evaluate as of this time (RFC 3339, Unix seconds, or 5m for 5m ago)");

  mesh::WatchOptions watch;
  CLI::App* watch_cmd = app.add_subcommand("watch", "Evaluate the rules in a loop, like a daemon; stops on SIGINT/SIGTERM");
  AddCheckFlags(watch_cmd, watch.check);
  watch_cmd->add_option("--every", watch.every, "Time between rounds")->capture_default_str();
  watch_cmd->add_option("--iterations", watch.iterations, "Stop after this many rounds (default: never)");

  mesh::AlertListOptions list;
  CLI::App* list_cmd = app.add_subcommand("list", "Current state of every alert evaluated so far");
  list_cmd->add_option("--rule", list.rules, "Only this rule (repeatable)");
  list_cmd->add_option("--rules", list.rules_file, "Rules file (default: as for check); rules never evaluated are listed too");
  list_cmd->add_option("--output,-o", list.output, "table|json")->capture_default_str();

  mesh::HistoryOptions history;
  CLI::App* history_cmd = app.add_subcommand("history", "Alert transitions and notifications, oldest first");
  history_cmd->add_option("--since", history.since, "Events at or after: 15m, 2h, RFC 3339, Unix seconds")
      ->capture_default_str();
  history_cmd->add_option("--until", history.until, "Events before (same forms)");
  history_cmd->add_option("--rule", history.rule, "Only this rule");
  history_cmd->add_option("--limit,-n", history.limit, "At most this many (the newest)")->capture_default_str();
  history_cmd->add_option("--output,-o", history.output, "table|json")->capture_default_str();

  mesh::RulesTestOptions test;
  CLI::App* test_cmd = app.add_subcommand("test", "Validate a rules file; errors name the rule and the field");
  test_cmd->add_option("--rules", test.rules_file, "Rules file (default: as for check)");

  mesh::RulesOptions rules;
  CLI::App* rules_cmd = app.add_subcommand(
      "rules", "Print the rules in force (built-in and the file's) as one rules file; valid input for --rules");
  rules_cmd->add_option("--rules", rules.rules_file, "Rules file (default: as for check)");
  rules_cmd->add_flag("--defaults", rules.defaults, "Print only the built-in rules: a file to start from");

  CLI::App* silence_cmd = app.add_subcommand("silence", "Mute notifications of matching alerts for a while");
  silence_cmd->require_subcommand(1);
  mesh::SilenceAddOptions silence_add;
  CLI::App* add_cmd = silence_cmd->add_subcommand("add", "Add a silence; prints its id");
  add_cmd->add_option("--rule", silence_add.rule, "Rule name or glob")->required();
  add_cmd->add_option("--service", silence_add.service, "Service name or glob")->capture_default_str();
  add_cmd->add_option("--for", silence_add.duration, "How long, e.g. 2h")->capture_default_str();
  add_cmd->add_option("--comment", silence_add.comment, "Why")->required();
  add_cmd->add_option("--author", silence_add.author, "Who (default: $USER)");
  mesh::SilenceListOptions silence_list;
  CLI::App* slist_cmd = silence_cmd->add_subcommand("list", "Silences in force (with --all, expired ones too)");
  slist_cmd->add_flag("--all", silence_list.all, "Include expired silences");
  slist_cmd->add_option("--output,-o", silence_list.output, "table|json")->capture_default_str();
  mesh::SilenceExpireOptions silence_expire;
  CLI::App* expire_cmd = silence_cmd->add_subcommand("expire", "End a silence now");
  expire_cmd->add_option("id", silence_expire.id, "The silence's id")->required();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    if (rc == 0) return 0;  // --help, --version
    // A monitoring plugin reports bad arguments as UNKNOWN; the other commands as usage errors.
    return check_cmd->parsed() || watch_cmd->parsed() ? 3 : 2;
  }
  for (mesh::BackendOptions* b : {&check.backend, &watch.check.backend, &list.backend, &history.backend,
                                  &silence_add.backend, &silence_list.backend, &silence_expire.backend}) {
    *b = backend;
  }
  if (check_cmd->parsed()) return mesh::RunCheck(check, io);
  if (watch_cmd->parsed()) {
    mesh::InstallStopHandlers();
    return mesh::RunWatch(watch, io);
  }
  if (list_cmd->parsed()) return mesh::RunAlertList(list, io);
  if (history_cmd->parsed()) return mesh::RunHistory(history, io);
  if (test_cmd->parsed()) return mesh::RunRulesTest(test, io);
  if (rules_cmd->parsed()) return mesh::RunRules(rules, io);
  if (add_cmd->parsed()) return mesh::RunSilenceAdd(silence_add, io);
  if (slist_cmd->parsed()) return mesh::RunSilenceList(silence_list, io);
  if (expire_cmd->parsed()) return mesh::RunSilenceExpire(silence_expire, io);
  return 2;
}
