#include "mesh/cli/meshtrace_commands.h"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <set>
#include <sstream>

#include "mesh/base/json_scan.h"
#include "mesh/base/json_text.h"
#include "mesh/base/text_table.h"
#include "mesh/base/time_format.h"
#include "mesh/base/utf8.h"
#include "mesh/cli/trace_render.h"
#include "mesh/http/http_message.h"
#include "mesh/http_curl/curl_http_client.h"
#include "mesh/sdk/remote_log.h"
#include "mesh/sdk/tracer.h"
#include "mesh/store/log_store.h"
#include "mesh/store/span_store.h"
#include "mesh/telemetry/log_format.h"
#include "mesh/telemetry/otlp.h"
#include "mesh/telemetry/span_stats.h"
#include "mesh/telemetry/trace_api.h"
#include "mesh/telemetry/trace_tree.h"
#include "mesh/telemetry/zipkin.h"

extern char** environ;

namespace mesh {
namespace {

constexpr const char* kTool = "meshtrace";
constexpr size_t kPage = 1000;          // spans per export page and per import request
constexpr size_t kMaxTraceLogs = 10000;  // log records shown with one trace

int Fail(const CommandIo& io, const Status& status) { return FailCommand(kTool, io, status); }
int WriteFailure(const CommandIo& io) { return WriteFailure(kTool, io); }

// Where traces live: the store file, or a meshd over HTTP. Both answer the same questions so
// that every subcommand prints the same thing either way.
class TraceBackend {
 public:
  virtual ~TraceBackend() = default;
  virtual Result<std::vector<Span>> GetTrace(const std::string& id_or_prefix) = 0;
  virtual Result<std::vector<TraceSummary>> ListTraces(const TraceFilter& filter, size_t limit) = 0;
  virtual Status Stats(int64_t since_ns, int64_t until_ns, std::vector<OperationStats>& ops,
                       std::vector<EdgeStats>& edges) = 0;
  virtual Result<SpanStore::Page> ScanSpans(int64_t since_ns, int64_t until_ns, int64_t after,
                                            size_t limit) = 0;
  // Stores every span or none; how many were new, or -1 when the backend cannot tell.
  virtual Result<int64_t> Import(const std::vector<Span>& spans) = 0;
  virtual Result<std::vector<LogRecord>> TraceLogs(const std::string& trace_id) = 0;
  virtual SpanExporter& exporter() = 0;
};

LogFilter TraceLogFilter(const std::string& trace_id) {
  LogFilter f;
  f.trace_id = trace_id;
  return f;
}

class LocalTraces : public TraceBackend {
 public:
  explicit LocalTraces(std::unique_ptr<Store> store)
      : store_(std::move(store)), spans_(*store_), logs_(*store_), exporter_(*store_) {}

  Result<std::vector<Span>> GetTrace(const std::string& id) override { return spans_.GetTrace(id); }
  Result<std::vector<TraceSummary>> ListTraces(const TraceFilter& f, size_t limit) override {
    return spans_.ListTraces(f, limit);
  }
  Status Stats(int64_t since_ns, int64_t until_ns, std::vector<OperationStats>& ops,
               std::vector<EdgeStats>& edges) override {
    SpanStats stats;
    if (Status s = spans_.CollectStats(since_ns, until_ns, stats); !s.ok()) return s;
    ops = stats.Operations();
    edges = stats.Edges();
    return Status::Ok();
  }
  Result<SpanStore::Page> ScanSpans(int64_t since_ns, int64_t until_ns, int64_t after,
                                    size_t limit) override {
    return spans_.ScanSpans(since_ns, until_ns, after, limit);
  }
  Result<int64_t> Import(const std::vector<Span>& spans) override { return spans_.Insert(spans); }
  Result<std::vector<LogRecord>> TraceLogs(const std::string& trace_id) override {
    return logs_.Tail(TraceLogFilter(trace_id), kMaxTraceLogs);
  }
  SpanExporter& exporter() override { return exporter_; }

 private:
  std::unique_ptr<Store> store_;
  SpanStore spans_;
  LogStore logs_;
  StoreSpanExporter exporter_;
};

// The spans of {"spans":[...]} (meshd's trace and span pages), each in our JSON form.
Status DecodeSpanArrayMember(std::string_view body, std::vector<Span>& spans) {
  std::vector<JsonMember> members;
  if (Status s = ScanJsonObject(body, members); !s.ok()) return s;
  for (const JsonMember& m : members) {
    if (m.key != "spans" || m.kind != JsonKind::kArray) continue;
    std::vector<std::string_view> elements;
    if (Status s = ScanJsonArray(m.value, elements); !s.ok()) return s;
    for (std::string_view e : elements) {
      Result<Span> span = DecodeSpanJson(e);
      if (!span.ok()) return span.status();
      spans.push_back(std::move(span).value());
    }
    return Status::Ok();
  }
  return Status::InvalidArgument("no spans array");
}

class RemoteTraces : public TraceBackend {
 public:
  RemoteTraces(std::string server, std::string token)
      : base_(std::move(server)), token_(token), logs_(base_, token, http_), exporter_(base_, token) {
    while (!base_.empty() && base_.back() == '/') base_.pop_back();
  }

  Result<std::vector<Span>> GetTrace(const std::string& id) override {
    Result<std::string> body = Get("/v1/traces/" + UrlEncode(id));
    if (!body.ok()) return body.status();
    std::vector<Span> spans;
    if (Status s = DecodeSpanArrayMember(*body, spans); !s.ok()) return Unexpected(s);
    return spans;
  }

  Result<std::vector<TraceSummary>> ListTraces(const TraceFilter& f, size_t limit) override {
    std::string q = "/v1/traces?limit=" + std::to_string(limit);
    for (const auto& [key, value] : TraceFilterToQuery(f)) q += "&" + key + "=" + UrlEncode(value);
    Result<std::string> body = Get(q);
    if (!body.ok()) return body.status();
    Result<std::vector<TraceSummary>> traces = DecodeTraceList(*body);
    if (!traces.ok()) return Unexpected(traces.status());
    return traces;
  }

  Status Stats(int64_t since_ns, int64_t until_ns, std::vector<OperationStats>& ops,
               std::vector<EdgeStats>& edges) override {
    Result<std::string> body = Get("/v1/traces/stats?" + Window(since_ns, until_ns));
    if (!body.ok()) return body.status();
    if (Status s = DecodeSpanStatsJson(*body, ops, edges); !s.ok()) return Unexpected(s);
    return Status::Ok();
  }

  Result<SpanStore::Page> ScanSpans(int64_t since_ns, int64_t until_ns, int64_t after,
                                    size_t limit) override {
    Result<std::string> body = Get("/v1/spans?" + Window(since_ns, until_ns) + "&after=" +
                                   std::to_string(after) + "&limit=" + std::to_string(limit));
    if (!body.ok()) return body.status();
    SpanStore::Page page;
    if (Status s = DecodeSpanArrayMember(*body, page.spans); !s.ok()) return Unexpected(s);
    Result<Json::Value> doc = ParseJson(*body);
    if (!doc.ok() || !(*doc)["next"].isInt64()) return Unexpected(Status::InvalidArgument("no next cursor"));
    page.next = (*doc)["next"].asInt64();
    return page;
  }

  Result<int64_t> Import(const std::vector<Span>& spans) override {
    // meshd commits each request whole; the input was validated whole before the first.
    for (size_t i = 0; i < spans.size(); i += kPage) {
      const std::vector<Span> batch(spans.begin() + static_cast<long>(i),
                                    spans.begin() + static_cast<long>(std::min(spans.size(), i + kPage)));
      if (Status s = exporter_.Export(batch); !s.ok()) {
        return s.WithContext(std::to_string(i) + " of " + std::to_string(spans.size()) +
                             " spans were sent");
      }
    }
    return int64_t{-1};
  }

  Result<std::vector<LogRecord>> TraceLogs(const std::string& trace_id) override {
    return logs_.Tail(TraceLogFilter(trace_id), kMaxTraceLogs);
  }
  SpanExporter& exporter() override { return exporter_; }

 private:
  static std::string Window(int64_t since_ns, int64_t until_ns) {
    std::string q = "since=" + FormatUnixSeconds(since_ns);
    if (until_ns != INT64_MAX) q += "&until=" + FormatUnixSeconds(until_ns);
    return q;
  }
  Status Unexpected(const Status& s) const {
    return Status::IOError("unexpected answer from " + base_ + ": " + s.message());
  }
  Result<std::string> Get(const std::string& path_and_query) {
    Result<HttpClientResponse> r = http_.Send("GET", base_ + path_and_query, "", BearerHeader(token_));
    if (!r.ok()) return r.status();
    if (r->status / 100 != 2) return StatusFromHttp(base_, r->status, r->body);
    return std::move(r->body);
  }

  std::string base_;
  std::string token_;
  CurlHttpClient http_;
  RemoteLogSource logs_;
  OtlpHttpSpanExporter exporter_;
};

Result<std::unique_ptr<TraceBackend>> OpenBackend(const BackendOptions& o, const CommandIo& io,
                                                  bool create) {
  Result<std::string> server = ResolveServer(o, io);
  if (!server.ok()) return server.status();
  if (!server->empty()) {
    Result<std::string> token = ResolveToken(o, io);
    if (!token.ok()) return token.status();
    return std::unique_ptr<TraceBackend>(new RemoteTraces(*server, *token));
  }
  Store::Options options;
  options.path = ResolveStorePath(o.db, io.getenv);
  options.create_if_missing = create;
  Result<std::unique_ptr<Store>> store = Store::Open(options);
  if (!store.ok()) return store.status();
  return std::unique_ptr<TraceBackend>(new LocalTraces(std::move(store).value()));
}

struct Window {
  int64_t since_ns = 0;
  int64_t until_ns = INT64_MAX;
};

Result<Window> ParseWindow(const std::string& since, const std::string& until, const CommandIo& io) {
  Window w;
  const int64_t now = io.clock->NowNs();
  if (!since.empty()) {
    Result<int64_t> t = ParseTimeSpec(since, now);
    if (!t.ok()) return t.status().WithContext("--since");
    w.since_ns = *t;
  }
  if (!until.empty()) {
    Result<int64_t> t = ParseTimeSpec(until, now);
    if (!t.ok()) return t.status().WithContext("--until");
    w.until_ns = *t;
  }
  if (w.until_ns <= w.since_ns) return Status::InvalidArgument("--until must be after --since");
  return w;
}

std::string TraceJson(const std::vector<Span>& spans) {
  std::string out = "{\"trace_id\":";
  AppendJsonString(out, spans.empty() ? std::string() : spans.front().trace_id);
  out += ",\"spans\":[";
  for (size_t i = 0; i < spans.size(); ++i) {
    if (i) out += ',';
    AppendJson(out, spans[i]);
  }
  out += "]}\n";
  return out;
}

std::string Cell(const std::string& text) { return TableCell(text); }
std::string Clip(const std::string& text, size_t columns = 60) { return ClipCell(text, columns); }
std::string Table(const std::vector<std::vector<std::string>>& rows) { return TextTable(rows); }

std::string Milliseconds(int64_t ns) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", static_cast<double>(ns) / 1e6);
  return buf;
}

std::string Percent(int64_t part, int64_t whole) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", whole ? 100.0 * static_cast<double>(part) / static_cast<double>(whole) : 0.0);
  return buf;
}

// --- import: format detection and decoding --------------------------------------------------

bool HasMember(std::string_view object_text, std::string_view key) {
  std::vector<JsonMember> members;
  if (!ScanJsonObject(object_text, members).ok()) return false;
  return std::any_of(members.begin(), members.end(), [&](const JsonMember& m) { return m.key == key; });
}

std::vector<std::pair<size_t, std::string_view>> NonEmptyLines(std::string_view text) {
  std::vector<std::pair<size_t, std::string_view>> lines;
  size_t number = 0;
  while (!text.empty()) {
    ++number;
    const size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) {
      line.remove_suffix(1);
    }
    if (line.find_first_not_of(" \t") != std::string_view::npos) lines.emplace_back(number, line);
  }
  return lines;
}

Status TakeDecoded(Result<OtlpTraces> decoded, const std::string& where, std::vector<Span>& spans) {
  if (!decoded.ok()) return decoded.status().WithContext(where);
  if (decoded->rejected > 0) {
    return Status::InvalidArgument(where + ": " + std::to_string(decoded->rejected) +
                                   " invalid span(s), the first: " + decoded->first_error);
  }
  for (Span& s : decoded->spans) spans.push_back(std::move(s));
  return Status::Ok();
}

// Detects the format (a Zipkin array, one OTLP request or OTLP JSON lines, or our JSON lines)
// and decodes every span; any error fails the whole input.
Result<std::vector<Span>> DecodeImport(std::string_view text, std::string& format) {
  const size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return Status::InvalidArgument("no spans in the input (it is empty)");
  std::vector<Span> spans;
  if (text[first] == '[') {
    format = "zipkin";
    if (Status s = TakeDecoded(DecodeZipkinSpans(text), "zipkin input", spans); !s.ok()) return s;
    return spans;
  }
  if (text[first] != '{') {
    return Status::InvalidArgument("unrecognised input: expected OTLP JSON, Zipkin JSON or JSON lines");
  }
  if (HasMember(text, "resourceSpans")) {
    format = "otlp";
    if (Status s = TakeDecoded(DecodeOtlpTraces(text), "otlp input", spans); !s.ok()) return s;
    return spans;
  }
  const auto lines = NonEmptyLines(text);
  if (HasMember(lines.front().second, "resourceSpans")) {
    format = "otlp";
    for (const auto& [number, line] : lines) {
      if (Status s = TakeDecoded(DecodeOtlpTraces(line), "line " + std::to_string(number), spans);
          !s.ok()) {
        return s;
      }
    }
    return spans;
  }
  if (!HasMember(lines.front().second, "trace_id")) {
    return Status::InvalidArgument("line " + std::to_string(lines.front().first) +
                                   ": unrecognised input: expected OTLP JSON, Zipkin JSON or "
                                   "meshtrace JSON lines");
  }
  format = "jsonl";
  for (const auto& [number, line] : lines) {
    Result<Span> span = DecodeSpanJson(line);
    if (!span.ok()) return span.status().WithContext("line " + std::to_string(number));
    spans.push_back(std::move(span).value());
  }
  return spans;
}

Result<std::string> ReadAll(const std::string& file, const CommandIo& io) {
  if (file == "-") {
    std::string data;
    char buf[65536];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, io.in)) > 0) data.append(buf, n);
    if (std::ferror(io.in)) return Status::IOError("cannot read standard input");
    return data;
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) return Status::IOError("cannot open " + file + ": " + std::strerror(errno));
  std::ostringstream data;
  data << in.rdbuf();
  if (in.bad()) return Status::IOError("cannot read " + file);
  return data.str();
}

// "key=value" for --attr: a value that reads as a JSON number or boolean keeps that type.
Status SetAttribute(ScopedSpan& span, const std::string& field) {
  const size_t eq = field.find('=');
  if (eq == std::string::npos || eq == 0) {
    return Status::InvalidArgument("invalid --attr '" + field + "' (expected key=value)");
  }
  const std::string key = field.substr(0, eq);
  const std::string value = field.substr(eq + 1);
  Result<Json::Value> typed = ParseJson(value);
  if (!value.empty() && typed.ok() && typed->isBool()) {
    span.SetAttribute(key, typed->asBool());
  } else if (!value.empty() && typed.ok() && typed->isInt64()) {
    span.SetAttribute(key, static_cast<int64_t>(typed->asInt64()));
  } else if (!value.empty() && typed.ok() && typed->isDouble()) {
    span.SetAttribute(key, typed->asDouble());
  } else {
    span.SetAttribute(key, std::string_view(value));
  }
  return Status::Ok();
}

// The child being waited for, for the signal forwarder.
volatile sig_atomic_t g_child = 0;

void ForwardSignal(int sig) {
  if (g_child > 0) kill(static_cast<pid_t>(g_child), sig);
}

}  // namespace

int RunShow(const ShowOptions& o, const CommandIo& io) {
  static const std::set<std::string> kOutputs = {"tree", "json", "otlp", "zipkin"};
  if (!kOutputs.count(o.output)) {
    return Fail(io, Status::InvalidArgument("unknown output '" + o.output + "' (use tree, json, otlp or zipkin)"));
  }
  Result<std::unique_ptr<TraceBackend>> backend = OpenBackend(o.backend, io, /*create=*/false);
  if (!backend.ok()) return Fail(io, backend.status());
  Result<std::vector<Span>> spans = (*backend)->GetTrace(o.id);
  if (!spans.ok()) return Fail(io, spans.status());
  std::string out;
  if (o.output == "json") {
    out = TraceJson(*spans);
  } else if (o.output == "otlp") {
    out = EncodeOtlpTraces(*spans) + "\n";
  } else if (o.output == "zipkin") {
    out = EncodeZipkinSpans(*spans) + "\n";
  } else {
    std::vector<LogRecord> logs;
    if (o.logs) {
      Result<std::vector<LogRecord>> found = (*backend)->TraceLogs(spans->front().trace_id);
      if (!found.ok()) return Fail(io, found.status());
      logs = std::move(found).value();
    }
    TraceRenderOptions render;
    render.verbose = o.verbose;
    render.color = UseColor(io.out_is_tty, io.getenv("NO_COLOR"));
    render.width = o.width;
    if (render.width <= 0) {
      const char* columns = io.getenv("COLUMNS");
      render.width = columns && std::atoi(columns) > 0 ? std::atoi(columns) : 120;
    }
    out = RenderTrace(TraceTree::Build(std::move(spans).value()), logs, render);
  }
  if (!WriteOut(io, out)) return WriteFailure(io);
  return 0;
}

int RunList(const ListOptions& o, const CommandIo& io) {
  if (o.output != "table" && o.output != "json") {
    return Fail(io, Status::InvalidArgument("unknown output '" + o.output + "' (use table or json)"));
  }
  if (o.limit == 0 || o.limit > 1000) return Fail(io, Status::InvalidArgument("--limit must be 1..1000"));
  TraceFilter f;
  f.service = o.service;
  f.operation = o.operation;
  f.errors_only = o.errors;
  if (!o.attr.empty()) {
    Result<AttributeMatch> match = ParseAttributeMatch(o.attr);
    if (!match.ok()) return Fail(io, match.status().WithContext("--attr"));
    f.attribute = std::move(match).value();
  }
  for (const auto& [flag, text, target] :
       {std::tuple{"--min-duration", &o.min_duration, &f.min_duration_ns},
        std::tuple{"--max-duration", &o.max_duration, &f.max_duration_ns}}) {
    if (text->empty()) continue;
    Result<int64_t> d = ParseDuration(*text);
    if (!d.ok()) return Fail(io, d.status().WithContext(flag));
    *target = *d;
  }
  Result<Window> window = ParseWindow(o.since, o.until, io);
  if (!window.ok()) return Fail(io, window.status());
  f.since_ns = window->since_ns;
  if (window->until_ns != INT64_MAX) f.until_ns = window->until_ns;
  Result<std::unique_ptr<TraceBackend>> backend = OpenBackend(o.backend, io, /*create=*/false);
  if (!backend.ok()) return Fail(io, backend.status());
  Result<std::vector<TraceSummary>> traces = (*backend)->ListTraces(f, o.limit);
  if (!traces.ok()) return Fail(io, traces.status());
  std::string out;
  if (o.output == "json") {
    for (const TraceSummary& t : *traces) {
      AppendJson(out, t);
      out += '\n';
    }
  } else {
    std::vector<std::vector<std::string>> rows = {
        {"START", "TRACE ID", "ROOT", "SPANS", "SERVICES", "DURATION", "ERROR"}};
    for (const TraceSummary& t : *traces) {
      std::string services;
      for (const std::string& s : t.services) services += (services.empty() ? "" : ",") + Cell(s);
      rows.push_back({FormatRfc3339(t.start_ns), t.trace_id, Clip(Cell(t.root_service) + ": " + Cell(t.root_name)),
                      std::to_string(t.span_count), services, FormatDuration(t.duration_ns),
                      t.has_error ? "yes" : ""});
    }
    out = Table(rows);
  }
  if (!WriteOut(io, out)) return WriteFailure(io);
  return 0;
}

int RunTraceStats(const TraceStatsOptions& o, const CommandIo& io) {
  if (o.output != "table" && o.output != "json" && o.output != "csv") {
    return Fail(io, Status::InvalidArgument("unknown output '" + o.output + "' (use table, json or csv)"));
  }
  Result<Window> window = ParseWindow(o.since, o.until, io);
  if (!window.ok()) return Fail(io, window.status());
  Result<std::unique_ptr<TraceBackend>> backend = OpenBackend(o.backend, io, /*create=*/false);
  if (!backend.ok()) return Fail(io, backend.status());
  std::vector<OperationStats> ops;
  std::vector<EdgeStats> edges;
  if (Status s = (*backend)->Stats(window->since_ns, window->until_ns, ops, edges); !s.ok()) {
    return Fail(io, s);
  }
  if (!o.service.empty()) {
    std::erase_if(ops, [&](const OperationStats& op) { return op.service != o.service; });
    std::erase_if(edges, [&](const EdgeStats& e) { return e.caller != o.service && e.callee != o.service; });
  }
  std::string out;
  if (o.output == "json") {
    out = EncodeSpanStatsJson(ops, edges) + "\n";
  } else if (o.output == "csv") {
    // One schema for both kinds of rows, so that cron can append to one file.
    out = "type,service,operation,callee,count,errors,error_pct,p50_ms,p95_ms,p99_ms\n";
    for (const OperationStats& op : ops) {
      out += "operation," + CsvField(op.service) + "," + CsvField(op.operation) + ",," +
             std::to_string(op.count) + "," + std::to_string(op.errors) + "," +
             Percent(op.errors, op.count) + "," + Milliseconds(op.p50_ns) + "," +
             Milliseconds(op.p95_ns) + "," + Milliseconds(op.p99_ns) + "\n";
    }
    for (const EdgeStats& e : edges) {
      out += "edge," + CsvField(e.caller) + ",," + CsvField(e.callee) + "," + std::to_string(e.calls) +
             "," + std::to_string(e.errors) + "," + Percent(e.errors, e.calls) + ",,,\n";
    }
  } else {
    std::vector<std::vector<std::string>> rows = {
        {"SERVICE", "OPERATION", "COUNT", "ERROR %", "P50", "P95", "P99"}};
    for (const OperationStats& op : ops) {
      rows.push_back({Clip(Cell(op.service)), Clip(Cell(op.operation)), std::to_string(op.count),
                      Percent(op.errors, op.count), FormatDuration(op.p50_ns),
                      FormatDuration(op.p95_ns), FormatDuration(op.p99_ns)});
    }
    out = Table(rows);
    std::vector<std::vector<std::string>> edge_rows = {{"CALLER", "CALLEE", "CALLS", "ERRORS", "ERROR %"}};
    for (const EdgeStats& e : edges) {
      edge_rows.push_back({Cell(e.caller), Cell(e.callee), std::to_string(e.calls),
                           std::to_string(e.errors), Percent(e.errors, e.calls)});
    }
    out += "\n" + Table(edge_rows);
  }
  if (!WriteOut(io, out)) return WriteFailure(io);
  return 0;
}

int RunExport(const ExportOptions& o, const CommandIo& io) {
  if (o.format != "otlp" && o.format != "zipkin" && o.format != "jsonl") {
    return Fail(io, Status::InvalidArgument("unknown format '" + o.format + "' (use otlp, zipkin or jsonl)"));
  }
  Result<Window> window = ParseWindow(o.since, o.until, io);
  if (!window.ok()) return Fail(io, window.status());
  Result<std::unique_ptr<TraceBackend>> backend = OpenBackend(o.backend, io, /*create=*/false);
  if (!backend.ok()) return Fail(io, backend.status());
  // Zipkin's format is one array: it is written at the end. OTLP is written one request per
  // line (as the OpenTelemetry collector's file exporter does), our JSON one span per line.
  std::vector<Span> zipkin;
  const auto emit = [&](std::vector<Span>& spans) -> bool {
    if (spans.empty()) return true;
    if (o.format == "zipkin") {
      std::move(spans.begin(), spans.end(), std::back_inserter(zipkin));
      return true;
    }
    std::string out;
    if (o.format == "otlp") {
      out = EncodeOtlpTraces(spans) + "\n";
    } else {
      for (const Span& s : spans) {
        AppendJson(out, s);
        out += '\n';
      }
    }
    return WriteOut(io, out);
  };
  if (!o.ids.empty()) {
    for (const std::string& id : o.ids) {
      Result<std::vector<Span>> spans = (*backend)->GetTrace(id);
      if (!spans.ok()) return Fail(io, spans.status());
      if (!emit(*spans)) return WriteFailure(io);
    }
  } else {
    int64_t cursor = 0;
    while (true) {
      Result<SpanStore::Page> page = (*backend)->ScanSpans(window->since_ns, window->until_ns, cursor, kPage);
      if (!page.ok()) return Fail(io, page.status());
      const bool last = page->spans.size() < kPage;
      cursor = page->next;
      if (!emit(page->spans)) return WriteFailure(io);
      if (last) break;
    }
  }
  if (o.format == "zipkin" && !WriteOut(io, EncodeZipkinSpans(zipkin) + "\n")) return WriteFailure(io);
  return 0;
}

int RunImport(const ImportOptions& o, const CommandIo& io) {
  Result<std::string> text = ReadAll(o.file, io);
  if (!text.ok()) return Fail(io, text.status());
  std::string format;
  Result<std::vector<Span>> spans = DecodeImport(*text, format);
  if (!spans.ok()) return Fail(io, spans.status().WithContext(o.file == "-" ? "standard input" : o.file));
  if (spans->empty()) return Fail(io, Status::InvalidArgument("no spans in the input"));
  Result<std::unique_ptr<TraceBackend>> backend = OpenBackend(o.backend, io, /*create=*/true);
  if (!backend.ok()) return Fail(io, backend.status());
  Result<int64_t> added = (*backend)->Import(*spans);
  if (!added.ok()) return Fail(io, added.status());
  std::string out = "imported " + std::to_string(spans->size()) + " spans (" + format + ")";
  if (*added >= 0) out += ", " + std::to_string(*added) + " new";
  if (!WriteOut(io, out + "\n")) return WriteFailure(io);
  return 0;
}

int RunExec(const ExecOptions& o, const CommandIo& io) {
  if (o.command.empty()) return Fail(io, Status::InvalidArgument("no command to run (meshtrace exec -- CMD ARGS...)"));
  Result<std::unique_ptr<TraceBackend>> backend = OpenBackend(o.backend, io, /*create=*/true);
  if (!backend.ok()) return Fail(io, backend.status());

  std::string command_line;
  for (const std::string& arg : o.command) command_line += (command_line.empty() ? "" : " ") + arg;
  std::string service = o.service;
  if (service.empty()) {
    const char* env = io.getenv("MESH_SERVICE");
    const std::string& cmd = o.command.front();
    service = env && *env ? env : cmd.substr(cmd.find_last_of('/') == std::string::npos ? 0 : cmd.find_last_of('/') + 1);
  }
  // A TRACEPARENT from an enclosing `meshtrace exec` (or any instrumented parent) makes this
  // span its child; a malformed one starts a new trace, with a note.
  Result<TraceParent> parent = Status::NotFound("no TRACEPARENT");
  if (const char* env = io.getenv("TRACEPARENT"); env && *env) {
    parent = ParseTraceParent(env);
    if (!parent.ok()) {
      PrintError(kTool, io, "ignoring TRACEPARENT: " + parent.status().message());
    }
  }
  Tracer tracer(service, (*backend)->exporter(), Tracer::Options{}, *io.clock);
  ScopedSpan span = tracer.StartSpan(o.name.empty() ? command_line : o.name, SpanKind::kInternal, parent);
  span.SetAttribute("process.command", std::string_view(o.command.front()));
  span.SetAttribute("process.command_line", std::string_view(command_line));
  for (const std::string& a : o.attributes) {
    if (Status s = SetAttribute(span, a); !s.ok()) return Fail(io, s);
  }

  // The child's environment: ours, with TRACEPARENT naming this span.
  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e) {
    if (std::strncmp(*e, "TRACEPARENT=", 12) != 0) env_strings.emplace_back(*e);
  }
  env_strings.push_back("TRACEPARENT=" + span.traceparent());
  std::vector<char*> envp;
  for (std::string& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::vector<std::string> args = o.command;
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  std::fflush(io.out);
  pid_t pid = 0;
  const int spawn_error = posix_spawnp(&pid, argv[0], nullptr, nullptr, argv.data(), envp.data());
  int exit_code = 0;
  if (spawn_error != 0) {
    // As a shell says it: 127 not found, 126 found but not runnable.
    exit_code = spawn_error == ENOENT ? 127 : 126;
    const std::string why = "cannot run " + o.command.front() + ": " + std::strerror(spawn_error);
    span.SetStatus(SpanStatus::kError, why);
    PrintError(kTool, io, why);
  } else {
    // Like system(): the terminal's ^C reaches the child directly; a TERM sent to us is passed on.
    struct sigaction forward {}, ignore {}, old_int {}, old_quit {}, old_term {}, old_hup {};
    forward.sa_handler = ForwardSignal;
    ignore.sa_handler = SIG_IGN;
    g_child = pid;
    sigaction(SIGINT, &ignore, &old_int);
    sigaction(SIGQUIT, &ignore, &old_quit);
    sigaction(SIGTERM, &forward, &old_term);
    sigaction(SIGHUP, &forward, &old_hup);
    int wstatus = 0;
    while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
    }
    g_child = 0;
    sigaction(SIGINT, &old_int, nullptr);
    sigaction(SIGQUIT, &old_quit, nullptr);
    sigaction(SIGTERM, &old_term, nullptr);
    sigaction(SIGHUP, &old_hup, nullptr);
    if (WIFSIGNALED(wstatus)) {
      exit_code = 128 + WTERMSIG(wstatus);
      span.SetAttribute("process.signal", static_cast<int64_t>(WTERMSIG(wstatus)));
      span.SetStatus(SpanStatus::kError, std::string("killed by signal ") + strsignal(WTERMSIG(wstatus)));
    } else {
      exit_code = WEXITSTATUS(wstatus);
      if (exit_code != 0) span.SetStatus(SpanStatus::kError, "exit status " + std::to_string(exit_code));
    }
  }
  span.SetAttribute("process.exit_code", static_cast<int64_t>(exit_code));
  span.End();
  if (Status s = tracer.Flush(); !s.ok()) {
    PrintError(kTool, io, "the span was not recorded: " + s.message());
  }
  return exit_code;
}

}  // namespace mesh
