// meshlog: write, ingest, tail, search and count structured logs in the mesh store.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <optional>

#include "cmd/command_line.h"
#include "mesh/base/process_signals.h"
#include "mesh/cli/meshlog_commands.h"

namespace {

void AddFilterFlags(CLI::App* cmd, mesh::LogFilterOptions& f) {
  cmd->add_option("--service,-s", f.services, "Only these services (repeatable)");
  cmd->add_option("--level,-l", f.level, "Only this level and above: debug|info|warn|error|fatal");
  cmd->add_option("--since", f.since, "Only records at or after: 15m, 2h, 7d, RFC 3339, Unix seconds");
  cmd->add_option("--until", f.until, "Only records before (same forms as --since)");
  cmd->add_option("--trace", f.trace, "Only records of this trace id (32 hex)");
  cmd->add_option("--grep", f.grep, "Only records whose message contains this text");
}

}  // namespace

int main(int argc, char** argv) {
  mesh::CommandIo io;
  io.out_is_tty = isatty(STDOUT_FILENO) == 1;

  CLI::App app{"meshlog: structured logs in the mesh store (write, ingest, tail, query, stats)",
               "meshlog"};
  app.set_version_flag("--version", std::string("meshlog ") + MESH_VERSION);
  app.require_subcommand(1);
  app.fallthrough();
  mesh::BackendOptions backend;
  app.add_option("--db", backend.db, "Store file (default: $MESH_DB, else $XDG_DATA_HOME/mesh/mesh.db)");
  app.add_option("--server", backend.server,
                 "Work on a remote meshd instead of the file, e.g. http://127.0.0.1:9000 "
                 "(default: $MESH_SERVER)");
  app.add_option("--token-file", backend.token_file,
                 "Bearer token sent to meshd, for writes and reads (file mode 0600; default: $MESH_TOKEN)");

  mesh::WriteOptions write;
  CLI::App* write_cmd = app.add_subcommand("write", "Store one log record");
  write_cmd->add_option("--service,-s", write.service, "Service name (default: $MESH_SERVICE, else cli)");
  write_cmd->add_option("--level,-l", write.level, "debug|info|warn|error|fatal")->capture_default_str();
  write_cmd->add_option("--trace", write.trace, "Trace id (32 lowercase hex)");
  write_cmd->add_option("--span", write.span, "Span id (16 lowercase hex)");
  write_cmd->add_option("message", write.message, "The message")->required();
  write_cmd->add_option("fields", write.fields, "Attributes as key=value (numbers and booleans keep their type)");

  mesh::IngestOptions ingest;
  CLI::App* ingest_cmd = app.add_subcommand(
      "ingest", "Store lines read from standard input (./app 2>&1 | meshlog ingest --service app)");
  ingest_cmd->add_option("--service,-s", ingest.service,
                         "Service of lines that name none (required, but with -f journal: there it names every record)");
  ingest_cmd
      ->add_option("--format,-f", ingest.format, mesh::IngestFormatHelp())
      ->capture_default_str();
  ingest_cmd->add_option("--format-name", ingest.format_name,
                         "Force this text format (the same as -f NAME)");
  ingest_cmd->add_option("--level,-l", ingest.level, "Level of lines that carry none")->capture_default_str();
  ingest_cmd->add_option("--tz", ingest.tz,
                         "Zone of times that name none: local (default), UTC, +01:00, Europe/Paris");
  ingest_cmd->add_option("--year", ingest.year,
                         "Year of times that have none (syslog, glog); default: the input file's "
                         "modification year, the year before for lines dated after it");
  ingest_cmd->add_flag("--explain", ingest.explain,
                       "Print which format each of the first lines matches and what it gives; store nothing");
  ingest_cmd->add_option("--explain-lines", ingest.explain_lines, "Lines --explain reads")
      ->capture_default_str();
  ingest_cmd->add_option("--idle-flush", ingest.idle_flush_ms,
                         "Milliseconds a record waits for more stack-trace lines when input is quiet")
      ->capture_default_str();
  ingest_cmd->add_flag("--tee", ingest.tee, "Copy input to standard output as it is read");
  ingest_cmd->add_option("--max-line", ingest.max_line_bytes, "Longer lines are cut at this many bytes")
      ->capture_default_str();
  ingest_cmd->add_flag("!--no-index", ingest.index, "Do not index while ingesting (the next query indexes what it stored)");

  mesh::TailOptions tail;
  CLI::App* tail_cmd = app.add_subcommand("tail", "Show the newest records, oldest first; -f to follow");
  AddFilterFlags(tail_cmd, tail.filter);
  tail_cmd->add_option("-n,--lines,--limit", tail.lines, "How many records")->capture_default_str();
  tail_cmd->add_flag("-f,--follow", tail.follow, "Keep printing new records until interrupted");
  tail_cmd->add_option("--poll", tail.poll_ms, "Follow poll interval in milliseconds")->capture_default_str();
  tail_cmd->add_option("--output,-o", tail.output,
                       "json|pretty|logfmt|raw (default: pretty on a terminal, json otherwise; "
                       "stored control characters are always escaped on a terminal)");

  mesh::QueryOptions query;
  CLI::App* query_cmd = app.add_subcommand(
      "query", "Full-text search of messages: words, \"phrases\", prefix*, AND/OR/NOT");
  AddFilterFlags(query_cmd, query.filter);
  query_cmd->add_option("text", query.text, "What to search for")->required();
  query_cmd->add_option("-n,--limit", query.limit, "At most this many records")->capture_default_str();
  query_cmd->add_flag("--reverse,-r", query.reverse, "Oldest first (default: newest first)");
  query_cmd->add_flag("--count,-c", query.count, "Print only the number of matching records");
  query_cmd->add_option("--output,-o", query.output,
                        "json|pretty|logfmt|raw (default: pretty on a terminal, json otherwise; "
                       "stored control characters are always escaped on a terminal)");

  mesh::StatsOptions stats;
  CLI::App* stats_cmd = app.add_subcommand("stats", "Record counts per service and level");
  stats_cmd->add_option("--service,-s", stats.filter.services, "Only these services (repeatable)");
  stats_cmd->add_option("--since", stats.filter.since, "Only records at or after (15m, 2h, RFC 3339)");
  stats_cmd->add_option("--until", stats.filter.until, "Only records before");
  stats_cmd->add_option("--output,-o", stats.output, "table|json")->capture_default_str();

  if (std::optional<int> exit_code = mesh::cmd::ParseCommandLine(app, argc, argv)) return *exit_code;

  mesh::InstallStopHandlers();
  write.backend = ingest.backend = tail.backend = query.backend = stats.backend = backend;
  if (*write_cmd) return mesh::RunWrite(write, io);
  if (*ingest_cmd) return mesh::RunIngest(ingest, io);
  if (*tail_cmd) return mesh::RunTail(tail, io);
  if (*query_cmd) return mesh::RunQuery(query, io);
  if (*stats_cmd) return mesh::RunStats(stats, io);
  return 2;
}
