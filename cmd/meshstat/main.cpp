// meshstat: per-service reports of the mesh store (golden signals, saturation, slowest
// operations, top error messages) for humans and cron, and a live table of the signals.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <optional>
#include <cstdio>
#include <string>

#include "cmd/command_line.h"
#include "mesh/cli/meshstat_commands.h"

int main(int argc, char** argv) {
  mesh::CommandIo io;
  io.out_is_tty = isatty(STDOUT_FILENO) == 1;

  CLI::App app{
      "meshstat: reports of the mesh store (golden signals, slowest operations, top errors)",
      "meshstat"};
  app.set_version_flag("--version", std::string("meshstat ") + MESH_VERSION);
  app.require_subcommand(1);
  app.fallthrough();
  mesh::BackendOptions backend;
  app.add_option("--db", backend.db,
                 "Store file (default: $MESH_DB, else $XDG_DATA_HOME/mesh/mesh.db)");
  app.add_option("--server", backend.server,
                 "Ask a meshd instead of reading the file, e.g. http://127.0.0.1:9000 "
                 "(default: $MESH_SERVER)");
  app.add_option("--token-file", backend.token_file,
                 "Bearer token sent to meshd when its reads need one (file mode 0600; default: $MESH_TOKEN)");

  mesh::StatReportOptions report;
  CLI::App* report_cmd = app.add_subcommand(
      "report",
      "Per service: RPS, requests, error %, p50/p95/p99, max in-flight; the 5 slowest "
      "operations (by p99 of spans); the 5 most frequent error messages");
  report_cmd->add_option("--since", report.since, "Window start: 15m, 2h, RFC 3339, Unix seconds")
      ->capture_default_str();
  report_cmd->add_option("--until", report.until, "Window end (same forms; default: now)");
  report_cmd->add_option("--service,-s", report.service, "Only this service");
  report_cmd->add_option("--format,-f,--output,-o", report.format, "table|json|csv|prom|markdown")
      ->capture_default_str();
  report_cmd
      ->add_option("--header", report.header,
                   "CSV header line: auto (unless appending to a non-empty file)|always|never")
      ->capture_default_str();

  mesh::StatTopOptions top;
  CLI::App* top_cmd =
      app.add_subcommand("top", "A live table of each service's golden signals; q or Ctrl-C quits");
  top_cmd->add_option("--every", top.every, "Refresh interval (at least 100ms)")
      ->capture_default_str();
  top_cmd->add_option("--since,--window", top.window, "Each refresh covers this long before now")
      ->capture_default_str();
  top_cmd->add_option("--service,-s", top.service, "Only this service");
  top_cmd
      ->add_option("--iterations,-n", top.iterations, "Stop after this many refreshes (0: never)")
      ->capture_default_str();

  if (std::optional<int> exit_code = mesh::cmd::ParseCommandLine(app, argc, argv)) return *exit_code;

  if (report_cmd->parsed()) {
    report.backend = backend;
    return mesh::RunStatReport(report, io);
  }
  top.backend = backend;
  return mesh::RunStatTop(top, io);
}
