// The meshalert subcommands as library functions: cmd/meshalert/main.cpp parses flags into
// these option structs and calls Run*. check and watch follow the monitoring-plugin exit codes
// (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN, also when they cannot evaluate at all: a bad rules
// file, an unreadable store); the other commands exit 0 ok, 1 runtime failure, 2 usage error.
// Every command works on the local store or, with --server / $MESH_SERVER, on a meshd.
#pragma once

#include <string>
#include <vector>

#include "mesh/base/command_io.h"

namespace mesh {

struct NotifyOptions {
  std::string alertmanager;  // Alertmanager base URL
  std::string webhook;       // URL to POST the webhook payload to
  std::string exec;          // shell command fed each alert on stdin
  std::string repeat_interval;  // "" or "0": transitions only
  std::string external_url;  // generatorURL base; default: the --server URL if any
};

struct CheckOptions {
  BackendOptions backend;
  // default: $MESH_RULES, else $XDG_CONFIG_HOME/mesh/rules.json; at that default location an
  // absent file means the built-in rules alone (default_alert_rules.h), a named one must exist.
  std::string rules_file;
  std::vector<std::string> rules;   // only these rules (default: all)
  std::string at;                   // evaluate as of this time (default: now)
  std::string output = "text";      // text|json
  NotifyOptions notify;
};

struct WatchOptions {
  CheckOptions check;
  std::string every = "15s";
  int iterations = 0;  // 0: until SIGINT/SIGTERM
};

struct AlertListOptions {
  BackendOptions backend;
  std::string rules_file;  // as for check: which rules are in force, and whence

  std::vector<std::string> rules;
  std::string output = "table";  // table|json
};

struct HistoryOptions {
  BackendOptions backend;
  std::string since = "24h";
  std::string until;
  std::string rule;
  size_t limit = 1000;
  std::string output = "table";  // table|json
};

struct RulesTestOptions {
  std::string rules_file;
};

struct RulesOptions {
  std::string rules_file;
  bool defaults = false;  // the built-in rules alone, as a file to start from
};

struct SilenceAddOptions {
  BackendOptions backend;
  std::string rule;          // name or glob
  std::string service = "*";
  std::string duration = "1h";
  std::string comment;
  std::string author;        // default: $USER
};

struct SilenceListOptions {
  BackendOptions backend;
  bool all = false;  // expired ones too
  std::string output = "table";
};

struct SilenceExpireOptions {
  BackendOptions backend;
  int64_t id = 0;
};

// Where a rules file is looked for: the flag, else $MESH_RULES, else
// $XDG_CONFIG_HOME/mesh/rules.json, else $HOME/.config/mesh/rules.json.
std::string ResolveRulesPath(const std::string& flag, const CommandIo& io);

int RunCheck(const CheckOptions& options, const CommandIo& io);
int RunWatch(const WatchOptions& options, const CommandIo& io);
int RunAlertList(const AlertListOptions& options, const CommandIo& io);
int RunHistory(const HistoryOptions& options, const CommandIo& io);
// Validates the file alone (it must exist); says how many built-ins apply beside it.
int RunRulesTest(const RulesTestOptions& options, const CommandIo& io);
// Prints the rules in force as one self-contained rules file (`"defaults": false` and every
// rule written out), or with `defaults` the built-in rules: both valid input for check.
int RunRules(const RulesOptions& options, const CommandIo& io);
int RunSilenceAdd(const SilenceAddOptions& options, const CommandIo& io);
int RunSilenceList(const SilenceListOptions& options, const CommandIo& io);
int RunSilenceExpire(const SilenceExpireOptions& options, const CommandIo& io);

}  // namespace mesh
