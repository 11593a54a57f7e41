// meshtrace: show, list, summarise, export and import traces of the mesh store, and trace
// commands (exec).
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cmd/command_line.h"
#include "mesh/cli/meshtrace_commands.h"

int main(int argc, char** argv) {
  // Everything after the first "--" is exec's command, untouched: its own options (even --db)
  // must not reach our parser.
  std::vector<std::string> command;
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) != "--") continue;
    command.assign(argv + i + 1, argv + argc);
    argc = i;
    break;
  }
  mesh::CommandIo io;
  io.out_is_tty = isatty(STDOUT_FILENO) == 1;

  CLI::App app{"meshtrace: traces in the mesh store (show, list, stats, export, import, exec)",
               "meshtrace"};
  app.set_version_flag("--version", std::string("meshtrace ") + MESH_VERSION);
  app.require_subcommand(1);
  app.fallthrough();
  mesh::BackendOptions backend;
  app.add_option("--db", backend.db, "Store file (default: $MESH_DB, else $XDG_DATA_HOME/mesh/mesh.db)");
  app.add_option("--server", backend.server,
                 "Work on a remote meshd instead of the file, e.g. http://127.0.0.1:9000 "
                 "(default: $MESH_SERVER)");
  app.add_option("--token-file", backend.token_file,
                 "Bearer token sent to meshd, for writes and reads (file mode 0600; default: $MESH_TOKEN)");

  mesh::ShowOptions show;
  CLI::App* show_cmd = app.add_subcommand("show", "Show one trace as a tree with a waterfall");
  show_cmd->add_option("id", show.id, "Trace id, or a prefix naming one trace")->required();
  show_cmd->add_flag("-v,--verbose", show.verbose, "Add attributes, events and links");
  show_cmd->add_flag("--logs", show.logs, "Interleave the trace's log records under their spans");
  show_cmd->add_option("--output,-o", show.output, "tree|json|otlp|zipkin")->capture_default_str();
  show_cmd->add_option("--width", show.width, "Line width (default: $COLUMNS, else 120)");

  mesh::ListOptions list;
  CLI::App* list_cmd = app.add_subcommand("list", "List recent traces, newest first");
  list_cmd->add_option("--service,-s", list.service, "Traces with a span of this service");
  list_cmd->add_option("--operation", list.operation, "... with a span of this name");
  list_cmd->add_option("--min-duration", list.min_duration, "... lasting at least, e.g. 200ms");
  list_cmd->add_option("--max-duration", list.max_duration, "... lasting at most");
  list_cmd->add_flag("--errors", list.errors, "Only traces with an error span");
  list_cmd->add_option("--attr", list.attr,
                       "... with a span (or resource) attribute of this value, e.g. http.status_code=503");
  list_cmd->add_option("--since", list.since, "Spans at or after: 15m, 2h, RFC 3339, Unix seconds")
      ->capture_default_str();
  list_cmd->add_option("--until", list.until, "Spans before (same forms)");
  list_cmd->add_option("--limit,-n", list.limit, "At most this many traces (1-1000)")->capture_default_str();
  list_cmd->add_option("--output,-o", list.output, "table|json (one object per line)")->capture_default_str();

  mesh::TraceStatsOptions stats;
  CLI::App* stats_cmd = app.add_subcommand(
      "stats", "Per service and operation: count, error %, p50/p95/p99; and service call edges");
  stats_cmd->add_option("--since", stats.since, "Spans at or after")->capture_default_str();
  stats_cmd->add_option("--until", stats.until, "Spans before");
  stats_cmd->add_option("--service,-s", stats.service, "Only this service's operations and edges");
  stats_cmd->add_option("--output,-o", stats.output, "table|json|csv")->capture_default_str();

  mesh::ExportOptions exp;
  CLI::App* export_cmd = app.add_subcommand("export", "Write traces to standard output");
  export_cmd->add_option("ids", exp.ids, "Whole traces to export (default: every span of the window)");
  export_cmd->add_option("--since", exp.since, "Spans at or after")->capture_default_str();
  export_cmd->add_option("--until", exp.until, "Spans before");
  export_cmd->add_option("--format,-f", exp.format, "otlp (one request per line)|zipkin|jsonl")
      ->capture_default_str();

  mesh::ImportOptions imp;
  CLI::App* import_cmd = app.add_subcommand(
      "import", "Store spans from a file (OTLP JSON, Zipkin JSON or JSON lines, detected); all or nothing");
  import_cmd->add_option("file", imp.file, "The file, or - for standard input")->capture_default_str();

  mesh::ExecOptions exec;
  CLI::App* exec_cmd = app.add_subcommand(
      "exec", "Run a command inside a span; it gets TRACEPARENT; exits with the command's status");
  exec_cmd->add_option("--service,-s", exec.service, "Service (default: $MESH_SERVICE, else the command's name)");
  exec_cmd->add_option("--name", exec.name, "Span name (default: the command line)");
  exec_cmd->add_option("--attr", exec.attributes, "Attribute key=value (repeatable)");
  exec_cmd->add_option("command", exec.command, "The command and its arguments, after --");

  if (std::optional<int> exit_code = mesh::cmd::ParseCommandLine(app, argc, argv)) return *exit_code;

  if (show_cmd->parsed()) {
    show.backend = backend;
    return mesh::RunShow(show, io);
  }
  if (list_cmd->parsed()) {
    list.backend = backend;
    return mesh::RunList(list, io);
  }
  if (stats_cmd->parsed()) {
    stats.backend = backend;
    return mesh::RunTraceStats(stats, io);
  }
  if (export_cmd->parsed()) {
    exp.backend = backend;
    return mesh::RunExport(exp, io);
  }
  if (import_cmd->parsed()) {
    imp.backend = backend;
    return mesh::RunImport(imp, io);
  }
  exec.backend = backend;
  exec.command.insert(exec.command.end(), command.begin(), command.end());
  return mesh::RunExec(exec, io);
}
