#include "mesh/cli/meshlog_commands.h"

#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <memory>

#include "mesh/base/json_text.h"
#include "mesh/base/line_splitter.h"
#include "mesh/base/process_signals.h"
#include "mesh/base/terminal_text.h"
#include "mesh/base/time_zone.h"
#include "mesh/base/text_table.h"
#include "mesh/base/time_format.h"
#include "mesh/base/trace_id.h"
#include "mesh/base/utf8.h"
#include "mesh/http_curl/curl_http_client.h"
#include "mesh/sdk/remote_log.h"
#include "mesh/store/log_batch_writer.h"
#include "mesh/store/log_store.h"
#include "mesh/store/log_tail_index.h"
#include "mesh/telemetry/log_format.h"
#include "mesh/telemetry/log_line_parser.h"
#include "mesh/telemetry/multiline_joiner.h"
#include "mesh/telemetry/text_log_formats.h"

namespace mesh {
namespace {

int Fail(const CommandIo& io, const Status& status) { return FailCommand("meshlog", io, status); }

int WriteFailure(const CommandIo& io) { return WriteFailure("meshlog", io); }

// The source and destination of records: the store file, or meshd over HTTP.
struct Backend {
  std::unique_ptr<Store> store;
  std::unique_ptr<LogStore> local;
  std::unique_ptr<CurlHttpClient> http;
  std::unique_ptr<RemoteLogSource> remote_source;
  std::unique_ptr<RemoteLogDestination> remote_destination;
  LogSource* source = nullptr;
  LogDestination* destination = nullptr;
};

Result<Backend> OpenBackend(const BackendOptions& o, const CommandIo& io, bool create) {
  Backend b;
  Result<std::string> server = ResolveServer(o, io);
  if (!server.ok()) return server.status();
  if (!server->empty()) {
    Result<std::string> token = ResolveToken(o, io);
    if (!token.ok()) return token.status();
    b.http = std::make_unique<CurlHttpClient>();
    b.remote_source = std::make_unique<RemoteLogSource>(*server, *token, *b.http);
    b.remote_destination = std::make_unique<RemoteLogDestination>(*server, *token, *b.http);
    b.source = b.remote_source.get();
    b.destination = b.remote_destination.get();
    return b;
  }
  Store::Options options;
  options.path = ResolveStorePath(o.db, io.getenv);
  options.create_if_missing = create;
  options.warn = [err = io.err](const std::string& warning) {
    std::fprintf(err, "meshlog: warning: %s\n", warning.c_str());
  };
  Result<std::unique_ptr<Store>> store = Store::Open(options);
  if (!store.ok()) return store.status();
  b.store = std::move(store).value();
  b.local = std::make_unique<LogStore>(*b.store);
  b.source = b.local.get();
  b.destination = b.local.get();
  return b;
}

Result<LogLevel> ParseLevelFlag(const std::string& text) {
  auto level = ParseLogLevel(text);
  if (!level) {
    return Status::InvalidArgument("unknown level '" + text +
                                   "' (use debug, info, warn, error or fatal)");
  }
  return *level;
}

Status CheckTraceId(const std::string& id) {
  if (IsValidTraceId(id)) return Status::Ok();
  return Status::InvalidArgument("invalid trace id '" + id +
                                 "' (expected 32 lowercase hex digits, not all zero)");
}

Result<LogFilter> BuildFilter(const LogFilterOptions& o, const CommandIo& io) {
  LogFilter f;
  f.services = o.services;
  if (!o.level.empty()) {
    Result<LogLevel> level = ParseLevelFlag(o.level);
    if (!level.ok()) return level.status();
    f.min_level = *level;
  }
  const int64_t now = io.clock->NowNs();
  if (!o.since.empty()) {
    Result<int64_t> t = ParseTimeSpec(o.since, now);
    if (!t.ok()) return t.status().WithContext("--since");
    f.since_ns = *t;
  }
  if (!o.until.empty()) {
    Result<int64_t> t = ParseTimeSpec(o.until, now);
    if (!t.ok()) return t.status().WithContext("--until");
    f.until_ns = *t;
  }
  if (!o.trace.empty()) {
    if (Status s = CheckTraceId(o.trace); !s.ok()) return s;
    f.trace_id = o.trace;
  }
  f.grep = o.grep;
  return f;
}

struct Printer {
  OutputFormat format;
  bool color;
  bool escape_raw;  // raw on a terminal: the message must not act on it
};

Result<Printer> MakePrinter(const std::string& output, const CommandIo& io) {
  Printer p{DefaultOutputFormat(io.out_is_tty), false, io.out_is_tty};
  if (!output.empty()) {
    auto f = ParseOutputFormat(output);
    if (!f) {
      return Status::InvalidArgument("unknown output format '" + output +
                                     "' (use json, pretty, logfmt or raw)");
    }
    p.format = *f;
  }
  p.color = p.format == OutputFormat::kPretty && UseColor(io.out_is_tty, io.getenv("NO_COLOR"));
  return p;
}

std::string Render(const std::vector<LogRecord>& records, const Printer& p) {
  std::string out;
  for (const LogRecord& r : records) AppendFormatted(out, r, p.format, p.color, p.escape_raw);
  return out;
}

// "key=value" from the command line; the value keeps its JSON type when it has one
// (42, 1.5, true, null), otherwise it is a string.
Status AppendField(std::string& attributes, const std::string& field) {
  const size_t eq = field.find('=');
  if (eq == std::string::npos || eq == 0) {
    return Status::InvalidArgument("invalid field '" + field + "' (expected key=value)");
  }
  const std::string key = field.substr(0, eq);
  const std::string value = field.substr(eq + 1);
  if (!IsCleanUtf8(field)) return Status::InvalidArgument("field '" + key + "' is not valid UTF-8");
  static constexpr std::string_view kReserved[] = {"timestamp", "level", "service", "message",
                                                   "trace_id", "span_id"};
  for (std::string_view r : kReserved) {
    if (key == r) {
      return Status::InvalidArgument("field '" + key + "' is set by its own flag, not key=value");
    }
  }
  attributes += attributes.empty() ? "{" : ",";
  AppendJsonString(attributes, key);
  attributes += ':';
  Result<Json::Value> typed = ParseJson(value);
  if (!value.empty() && typed.ok() && !typed->isObject() && !typed->isArray() &&
      !typed->isString()) {
    AppendJsonValue(attributes, *typed);
  } else {
    AppendJsonString(attributes, value);
  }
  return Status::Ok();
}


constexpr size_t kMaxRecordLines = 1000;  // lines of one multi-line record

std::string TextFormatNames() {
  std::string names;
  for (const TextLogFormat& f : TextLogFormats()) names += (names.empty() ? "" : ", ") + std::string(f.name);
  return names;
}

// The parser's options from ingest's flags: the format (-f, --format-name), the level of lines
// without one, and the time rules (--tz, --year, standard input's modification time).
Result<LogLineParser::Options> IngestParserOptions(const IngestOptions& o, const CommandIo& io) {
  LogLineParser::Options p;
  p.service = o.service;
  if (std::optional<InputFormat> format = ParseInputFormat(o.format)) {
    p.format = *format;
  } else if (const TextLogFormat* text = FindTextLogFormat(o.format)) {
    p.format = InputFormat::kText;
    p.text_format = text;
  } else {
    return Status::InvalidArgument("unknown input format '" + o.format +
                                   "' (use auto, json, logfmt, text, journal, or a text format: " +
                                   TextFormatNames() + ")");
  }
  if (!o.format_name.empty()) {
    const TextLogFormat* text = FindTextLogFormat(o.format_name);
    if (!text) {
      return Status::InvalidArgument("unknown text format '" + o.format_name + "' (use one of " +
                                     TextFormatNames() + ")");
    }
    if ((p.format != InputFormat::kAuto && p.format != InputFormat::kText) ||
        (p.text_format && p.text_format != text)) {
      return Status::InvalidArgument("--format-name " + o.format_name + " contradicts -f " +
                                     o.format + " (use -f text or leave -f out)");
    }
    p.format = InputFormat::kText;
    p.text_format = text;
  }
  Result<LogLevel> level = ParseLevelFlag(o.level);
  if (!level.ok()) return level.status();
  p.default_level = *level;
  Result<std::unique_ptr<TimeZone>> zone = MakeTimeZone(o.tz);
  if (!zone.ok()) return zone.status().WithContext("--tz");
  p.zone = std::move(zone).value();
  if (o.year != 0) {
    if (o.year < 1 || o.year > 9999) {
      return Status::InvalidArgument("--year " + std::to_string(o.year) + " is not a year (1..9999)");
    }
    p.year = o.year;
  }
  // Year-less lines (syslog) are dated by the file they come from: its modification time when
  // standard input is a file, now when it is a pipe.
  struct stat st;
  if (fstat(fileno(io.in), &st) == 0 && S_ISREG(st.st_mode)) {
    p.reference_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
  }
  return p;
}

// meshlog ingest --explain: how each of the first lines parses, on standard output, nothing stored.
int RunExplain(const IngestOptions& o, LogLineParser::Options parser_options, bool multiline,
               const MultilineJoiner::Limits& limits, const CommandIo& io) {
  std::vector<std::pair<std::string, uint64_t>> lines;
  LineSplitter splitter(o.max_line_bytes);
  const auto keep = [&](std::string_view line, uint64_t dropped) {
    if (lines.size() < o.explain_lines) lines.emplace_back(line, dropped);
  };
  std::vector<char> buffer(1 << 16);
  const int fd = fileno(io.in);
  while (lines.size() < o.explain_lines && !StopRequested()) {
    const ssize_t n = read(fd, buffer.data(), buffer.size());
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      return Fail(io, Status::IOError(std::string("cannot read standard input: ") + std::strerror(errno)));
    }
    splitter.Feed(std::string_view(buffer.data(), static_cast<size_t>(n)), keep);
  }
  if (lines.size() < o.explain_lines) splitter.Finish(keep);

  if (parser_options.service.empty()) parser_options.service = "explain";
  const std::string zone = parser_options.zone->Name();
  const std::string years = parser_options.year ? "--year " + std::to_string(*parser_options.year)
                            : parser_options.reference_ns != 0 ? "the file's modification time"
                                                               : "now (standard input is not a file)";
  LogLineParser parser(std::move(parser_options), *io.clock);
  MultilineJoiner joiner(limits);
  std::string out = "meshlog: the first " + std::to_string(lines.size()) +
                    " lines, as ingest would read them (nothing is stored); zone-less times in " +
                    zone + ", year-less times dated by " + years + "\n";
  size_t record_line = 0;
  for (size_t k = 0; k < lines.size(); ++k) {
    const auto& [line, dropped] = lines[k];
    out += "line " + std::to_string(k + 1) + ": ";
    if (line.find_first_not_of(" \t") == std::string::npos && dropped == 0) {
      out += "blank, skipped\n";
      continue;
    }
    std::optional<LogRecord> full;
    const Continuation kind =
        multiline && dropped == 0 ? joiner.Join(line, 0, full) : Continuation::kNone;
    if (kind != Continuation::kNone) {
      out += std::string(kind == Continuation::kJavaStackTrace ? "Java stack trace"
                                                               : "Python traceback") +
             ", joined to the record of line " + std::to_string(record_line) + "\n";
      continue;
    }
    const LogRecord r = parser.Parse(line, dropped);
    joiner.Start(r, 0);
    record_line = k + 1;
    const std::string_view format = parser.last_format();
    out += format.empty() ? "no format, kept as text" : std::string(format);
    out += "; time " + (parser.last_time_from_line() ? FormatRfc3339(r.ts_ns) : "of ingest");
    out += "; level " + std::string(LevelName(r.level));
    if (!r.attributes.empty()) out += "; fields " + TerminalSafe(r.attributes);
    out += "; message \"" + TerminalSafe(r.message) + "\"\n";
  }
  if (const TextLogFormat* detected = parser.detected_format()) {
    out += "file format: " + std::string(detected->name) + " (" + std::string(detected->description) +
           "), tried first for every line\n";
  }
  if (!WriteOut(io, out)) return WriteFailure(io);
  return 0;
}

}  // namespace

std::string IngestFormatHelp() {
  return "auto|json|logfmt|text|journal, or a text format to force: " + TextFormatNames() +
         " (journal: journalctl -o json; auto: journal records, JSON, logfmt and every text format, detected per "
         "file and per line)";
}

int RunWrite(const WriteOptions& o, const CommandIo& io) {
  LogRecord r;
  r.ts_ns = io.clock->NowNs();
  r.service = o.service;
  if (r.service.empty()) {
    const char* env = io.getenv("MESH_SERVICE");
    r.service = env && *env ? env : "cli";
  }
  Result<LogLevel> level = ParseLevelFlag(o.level);
  if (!level.ok()) return Fail(io, level.status());
  r.level = *level;
  if (!IsCleanUtf8(o.message)) return Fail(io, Status::InvalidArgument("message is not valid UTF-8"));
  if (!IsCleanUtf8(r.service)) return Fail(io, Status::InvalidArgument("service is not valid UTF-8"));
  r.message = o.message;
  if (!o.trace.empty()) {
    if (Status s = CheckTraceId(o.trace); !s.ok()) return Fail(io, s);
    r.trace_id = o.trace;
  }
  if (!o.span.empty()) {
    if (!IsValidSpanId(o.span)) {
      return Fail(io, Status::InvalidArgument("invalid span id '" + o.span +
                                              "' (expected 16 lowercase hex digits, not all zero)"));
    }
    r.span_id = o.span;
  }
  for (const std::string& field : o.fields) {
    if (Status s = AppendField(r.attributes, field); !s.ok()) return Fail(io, s);
  }
  if (!r.attributes.empty()) r.attributes += '}';

  Result<Backend> backend = OpenBackend(o.backend, io, /*create=*/true);
  if (!backend.ok()) return Fail(io, backend.status());
  if (Status s = backend->destination->Insert({r}); !s.ok()) return Fail(io, s);
  return 0;
}

int RunIngest(const IngestOptions& o, const CommandIo& io) {
  // A journal record names its service (SYSLOG_IDENTIFIER, _SYSTEMD_UNIT): -f journal needs no
  // --service, which, when given, names the service of every record.
  if (o.service.empty() && !o.explain && o.format != "journal") {
    return Fail(io, Status::InvalidArgument("--service is required (except with -f journal)"));
  }
  Result<LogLineParser::Options> parser_options = IngestParserOptions(o, io);
  if (!parser_options.ok()) return Fail(io, parser_options.status());
  if (o.max_line_bytes == 0) return Fail(io, Status::InvalidArgument("--max-line must be positive"));
  if (o.idle_flush_ms <= 0) return Fail(io, Status::InvalidArgument("--idle-flush must be positive"));
  // Stack traces join the record they follow in the text modes; -f json and -f logfmt keep
  // one record per line, as they always did.
  const bool multiline = parser_options->format == InputFormat::kAuto ||
                         parser_options->format == InputFormat::kText;
  const MultilineJoiner::Limits limits{.max_lines = kMaxRecordLines,
                                       .max_bytes = o.max_line_bytes,
                                       .idle_flush_ns = o.idle_flush_ms * int64_t{1'000'000}};
  if (o.explain) return RunExplain(o, *parser_options, multiline, limits, io);

  Result<Backend> backend = OpenBackend(o.backend, io, /*create=*/true);
  if (!backend.ok()) return Fail(io, backend.status());
  LogBatchWriter::Options writer_options;
  writer_options.index_when_idle = o.index;
  // Under bulk load the writer is never idle: the tail index keeps up on another core instead.
  std::unique_ptr<LogTailIndexer> tail_index;
  if (backend->local && o.index) {
    Result<std::unique_ptr<LogTailIndexer>> opened = LogTailIndexer::Open(backend->store->path(), {});
    if (opened.ok()) {
      tail_index = std::move(opened).value();
      tail_index->Start();
    } else {
      std::fprintf(io.err, "meshlog: warning: %s\n", opened.status().message().c_str());
    }
  }
  LogBatchWriter writer(*backend->destination, writer_options);
  LogLineParser parser(std::move(parser_options).value(), *io.clock);
  MultilineJoiner joiner(limits);
  LineSplitter splitter(o.max_line_bytes);

  Status write_error;
  const auto append = [&](std::optional<LogRecord> record) {
    if (record && write_error.ok()) write_error = writer.Append(std::move(*record));
  };
  uint64_t blank = 0;
  const auto on_line = [&](std::string_view line, uint64_t dropped) {
    if (!write_error.ok()) return;
    if (line.find_first_not_of(" \t") == std::string_view::npos && dropped == 0) {
      ++blank;
      return;
    }
    if (!multiline) {
      write_error = writer.Append(parser.Parse(line, dropped));
      return;
    }
    const int64_t now = io.clock->MonotonicNs();
    std::optional<LogRecord> full;
    if (dropped == 0 && joiner.Join(line, now, full) != Continuation::kNone) {
      append(std::move(full));
      return;
    }
    append(joiner.Start(parser.Parse(line, dropped), now));
  };

  const int fd = fileno(io.in);
  std::vector<char> buffer(1 << 20);
  bool tee = o.tee;
  Status read_error;
  while (write_error.ok() && !StopRequested()) {
    // A record waiting for its stack trace is stored once the input has been quiet for the idle
    // time: a pipe (tail -f) may not send the next record for hours.
    if (std::optional<int64_t> deadline = joiner.IdleDeadline()) {
      const int64_t wait_ns = *deadline - io.clock->MonotonicNs();
      pollfd readable{fd, POLLIN, 0};
      const int ready =
          wait_ns <= 0 ? 0 : poll(&readable, 1, static_cast<int>((wait_ns + 999'999) / 1'000'000));
      if (ready < 0 && errno == EINTR) continue;
      if (ready == 0) {
        append(joiner.TakeIfIdle(io.clock->MonotonicNs()));
        continue;
      }
    }
    const ssize_t n = read(fd, buffer.data(), buffer.size());
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      read_error = Status::IOError(std::string("cannot read standard input: ") + std::strerror(errno));
      break;
    }
    const std::string_view chunk(buffer.data(), static_cast<size_t>(n));
    if (tee && (std::fwrite(chunk.data(), 1, chunk.size(), io.out) != chunk.size() ||
                std::fflush(io.out) != 0)) {
      tee = false;  // the tee reader went away: keep storing what we were given
    }
    splitter.Feed(chunk, on_line);
  }
  splitter.Finish(on_line);
  append(joiner.Take());
  Status closed = writer.Close();
  if (write_error.ok()) write_error = closed;
  if (tail_index) {
    // What the thread has not reached yet: a search would copy it into a temporary index.
    if (Status s = tail_index->Finish(10'000); !s.ok()) {
      std::fprintf(io.err, "meshlog: warning: %s\n", s.message().c_str());
    }
  }

  const LogLineParser::Counters& c = parser.counters();
  const LogBatchWriter::Counters w = writer.counters();
  std::string notes;
  const auto note = [&](uint64_t n, const std::string& what) {
    if (n == 0) return;
    notes += notes.empty() ? " (" : ", ";
    notes += std::to_string(n) + " " + what;
  };
  const TextLogFormat* detected = parser.detected_format();
  note(c.recognised, std::string("with time and level read from the line") +
                         (detected ? ", mostly " + std::string(detected->name) : ""));
  note(joiner.counters().joined_lines, "stack-trace lines joined to their record");
  note(joiner.counters().split_records,
       "records split at " + std::to_string(kMaxRecordLines) + " lines or --max-line bytes");
  note(c.parse_errors, "unparsed, stored as text with parse_error");
  note(c.sanitized, "with invalid UTF-8 or NUL replaced");
  note(c.truncated, "truncated at " + std::to_string(o.max_line_bytes) + " bytes");
  note(blank, "blank skipped");
  if (!notes.empty()) notes += ")";
  std::fprintf(io.err, "meshlog: ingested %llu records into %s%s\n",
               static_cast<unsigned long long>(w.committed), backend->destination->Name().c_str(),
               notes.c_str());
  if (!write_error.ok()) return Fail(io, write_error);
  if (!read_error.ok()) return Fail(io, read_error);
  return 0;
}

int RunTail(const TailOptions& o, const CommandIo& io) {
  Result<LogFilter> filter = BuildFilter(o.filter, io);
  if (!filter.ok()) return Fail(io, filter.status());
  Result<Printer> printer = MakePrinter(o.output, io);
  if (!printer.ok()) return Fail(io, printer.status());
  Result<Backend> backend = OpenBackend(o.backend, io, /*create=*/false);
  if (!backend.ok()) return Fail(io, backend.status());
  LogSource& source = *backend->source;

  Result<int64_t> cursor = source.LatestCursor();
  if (!cursor.ok()) return Fail(io, cursor.status());
  LogFilter first = *filter;
  first.max_cursor = *cursor;
  if (o.lines > 0) {
    Result<std::vector<LogRecord>> records = source.Tail(first, o.lines);
    if (!records.ok()) return Fail(io, records.status());
    if (!WriteOut(io, Render(*records, *printer))) return WriteFailure(io);
  }
  if (!o.follow) return 0;

  // Follow by cursor: each poll reads what was stored since the last one, then sleeps.
  constexpr size_t kPage = 1000;
  int64_t seen = *cursor;
  while (SleepUnlessStopped(std::chrono::milliseconds(o.poll_ms))) {
    Result<int64_t> latest = source.LatestCursor();
    if (!latest.ok()) return Fail(io, latest.status());
    LogFilter page_filter = *filter;
    page_filter.max_cursor = *latest;
    while (seen < *latest) {
      Result<std::vector<LogRecord>> page = source.After(seen, page_filter, kPage);
      if (!page.ok()) return Fail(io, page.status());
      if (!WriteOut(io, Render(*page, *printer))) return WriteFailure(io);
      seen = page->size() < kPage ? *latest : page->back().id;
    }
  }
  return 0;
}

int RunQuery(const QueryOptions& o, const CommandIo& io) {
  if (o.text.empty()) return Fail(io, Status::InvalidArgument("empty search text"));
  if (!IsCleanUtf8(o.text)) return Fail(io, Status::InvalidArgument("search text is not valid UTF-8"));
  Result<LogFilter> filter = BuildFilter(o.filter, io);
  if (!filter.ok()) return Fail(io, filter.status());
  Result<Printer> printer = MakePrinter(o.output, io);
  if (!printer.ok()) return Fail(io, printer.status());
  Result<Backend> backend = OpenBackend(o.backend, io, /*create=*/false);
  if (!backend.ok()) return Fail(io, backend.status());
  LogSource& source = *backend->source;
  // A search after an ingest with --no-index feeds the full-text index what the ingest left:
  // say so, rather than look hung for seconds.
  if (backend->local) {
    Result<int64_t> pending = backend->local->RowsToIndexBeforeSearch();
    if (pending.ok() && *pending > 0) {
      std::fprintf(io.err, "meshlog: indexing %lld records for full-text search (once)...\n",
                   static_cast<long long>(*pending));
    }
  }
  if (o.count) {
    Result<int64_t> n = source.CountMatches(o.text, *filter);
    if (!n.ok()) return Fail(io, n.status());
    if (!WriteOut(io, std::to_string(*n) + "\n")) return WriteFailure(io);
    return 0;
  }
  Result<std::vector<LogRecord>> records = source.Search(o.text, *filter, o.limit, o.reverse);
  if (!records.ok()) return Fail(io, records.status());
  if (!WriteOut(io, Render(*records, *printer))) return WriteFailure(io);
  return 0;
}

int RunStats(const StatsOptions& o, const CommandIo& io) {
  if (o.output != "table" && o.output != "json") {
    return Fail(io, Status::InvalidArgument("unknown output format '" + o.output +
                                            "' (use table or json)"));
  }
  Result<LogFilter> filter = BuildFilter(o.filter, io);
  if (!filter.ok()) return Fail(io, filter.status());
  Result<Backend> backend = OpenBackend(o.backend, io, /*create=*/false);
  if (!backend.ok()) return Fail(io, backend.status());
  LogSource& source = *backend->source;
  Result<std::vector<LevelCount>> counts = source.Stats(*filter);
  if (!counts.ok()) return Fail(io, counts.status());

  static constexpr LogLevel kLevels[] = {LogLevel::kDebug, LogLevel::kInfo, LogLevel::kWarn,
                                         LogLevel::kError, LogLevel::kFatal};
  std::map<std::string, std::map<LogLevel, int64_t>> table;
  std::map<LogLevel, int64_t> totals;
  int64_t grand_total = 0;
  for (const LevelCount& c : *counts) {
    table[c.service][c.level] += c.count;
    totals[c.level] += c.count;
    grand_total += c.count;
  }
  std::string out;
  if (o.output == "json") {
    out = "{\"services\":[";
    bool first = true;
    for (const auto& [service, levels] : table) {
      if (!first) out += ',';
      first = false;
      out += "{\"service\":";
      AppendJsonString(out, service);
      int64_t total = 0;
      for (LogLevel l : kLevels) {
        out += ",\"" + std::string(LevelName(l)) + "\":" + std::to_string(levels.count(l) ? levels.at(l) : 0);
        total += levels.count(l) ? levels.at(l) : 0;
      }
      out += ",\"total\":" + std::to_string(total) + "}";
    }
    out += "],\"total\":" + std::to_string(grand_total) + "}\n";
  } else {
    // Service names are stored data: escaped, and padded by the columns they print in.
    size_t width = 7;
    for (const auto& entry : table) width = std::max(width, DisplayColumns(TableCell(entry.first)));
    char line[64];
    const auto pad = [&](const std::string& cell) {
      out += cell;
      out.append(width - DisplayColumns(cell), ' ');
    };
    const auto row = [&](const std::string& name, const std::map<LogLevel, int64_t>& levels) {
      int64_t total = 0;
      pad(TableCell(name));
      for (LogLevel l : kLevels) {
        const int64_t n = levels.count(l) ? levels.at(l) : 0;
        total += n;
        std::snprintf(line, sizeof line, " %9lld", static_cast<long long>(n));
        out += line;
      }
      std::snprintf(line, sizeof line, " %10lld\n", static_cast<long long>(total));
      out += line;
    };
    pad("SERVICE");
    std::snprintf(line, sizeof line, " %9s %9s %9s %9s %9s %10s\n", "DEBUG", "INFO", "WARN", "ERROR",
                  "FATAL", "TOTAL");
    out += line;
    for (const auto& [service, levels] : table) row(service, levels);
    row("TOTAL", totals);
  }
  if (!WriteOut(io, out)) return WriteFailure(io);
  return 0;
}

}  // namespace mesh
