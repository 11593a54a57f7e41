#include "mesh/controlplane/control_plane.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <string_view>

#include "mesh/alerting/alert_engine.h"
#include "mesh/alerting/alert_json.h"
#include "mesh/alerting/signal_source.h"
#include "mesh/base/json_text.h"
#include "mesh/base/time_format.h"
#include "mesh/base/token_file.h"
#include "mesh/controlplane/dashboard.h"
#include "mesh/controlplane/prometheus_targets.h"
#include "mesh/http_curl/curl_http_client.h"
#include "mesh/store/alert_store.h"
#include "mesh/store/log_store.h"
#include "mesh/store/metric_store.h"
#include "mesh/store/registry.h"
#include "mesh/store/report_queries.h"
#include "mesh/store/store_info.h"
#include "mesh/store/store_signal_source.h"
#include "mesh/store/store_upkeep.h"
#include "mesh/telemetry/log_api.h"
#include "mesh/telemetry/otlp.h"
#include "mesh/telemetry/prometheus_text.h"
#include "mesh/telemetry/report.h"
#include "mesh/telemetry/service_instance.h"
#include "mesh/telemetry/trace_api.h"
#include "mesh/telemetry/zipkin.h"

namespace mesh {
namespace {

constexpr int64_t kNsPerSecond = 1'000'000'000;
constexpr size_t kDefaultLimit = 100;
constexpr size_t kMaxLimit = 10000;

// A store error as an HTTP answer: a full disk is 507, anything else on the store side 503
// (clients retry), the caller's mistakes 4xx.
HttpResponse StoreError(const Status& s) {
  switch (s.code()) {
    case Status::Code::kInvalidArgument: return HttpResponse::Error(400, s.message());
    case Status::Code::kNotFound: return HttpResponse::Error(404, s.message());
    default: break;
  }
  // SQLite's own words for SQLITE_FULL; a path that contains "full" must not match.
  const bool full = s.message().find("database or disk is full") != std::string::npos;
  return HttpResponse::Error(full ? 507 : 503, s.message());
}

Result<size_t> LimitParam(const HttpRequest& r) {
  const std::string& v = r.Query("limit");
  if (v.empty()) return kDefaultLimit;
  size_t n = 0;
  const auto res = std::from_chars(v.data(), v.data() + v.size(), n);
  if (res.ec != std::errc() || res.ptr != v.data() + v.size() || n == 0) {
    return Status::InvalidArgument("parameter limit='" + v + "' is not a positive integer");
  }
  return std::min(n, kMaxLimit);
}

// Protobuf is OTLP's other encoding; we take JSON only, and say so.
bool IsProtobuf(const HttpRequest& r) {
  return r.Header("content-type").find("protobuf") != std::string::npos;
}

// The token of "Authorization: Bearer <token>" ("" when there is none). The scheme is
// case-insensitive (RFC 9110 section 11.1).
std::string_view BearerToken(const HttpRequest& r) {
  const std::string& header = r.Header("authorization");
  constexpr std::string_view kBearer = "bearer ";
  if (header.size() <= kBearer.size()) return {};
  for (size_t i = 0; i < kBearer.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(header[i])) != kBearer[i]) return {};
  }
  return std::string_view(header).substr(kBearer.size());
}

// Who may call a route. Anything but GET changes state and needs the write token; every GET
// reads the store and needs a read token when meshd has one, except liveness and the dashboard
// page itself (fixed HTML without data: its script asks for the token the API calls need).
// Routes added later fall under the same rule, so that a new route is never open by mistake.
enum class Access { kPublic, kRead, kWrite };

Access RequiredAccess(const HttpRoute& route) {
  // Certificates are asked for with the join token, which SecurityApi checks itself.
  if (route.pattern == "/v1/certs") return Access::kPublic;
  if (route.method != "GET") return Access::kWrite;
  // The CA certificate is what everyone must be able to trust: public, like /healthz.
  for (std::string_view open : {"/healthz", "/", "/dashboard", "/dashboard/traces/{id}", "/v1/ca"}) {
    if (route.pattern == open) return Access::kPublic;
  }
  return Access::kRead;
}

// Service names are path segments and label values: keep them to a safe alphabet.
bool IsValidServiceName(const std::string& s) {
  if (s.empty() || s.size() > 128) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
  });
}

void AppendInstanceJson(std::string& out, const Instance& i, int64_t now_ns, int64_t up_since_ns) {
  out += "{\"id\":";
  AppendJsonString(out, i.id);
  out += ",\"service\":";
  AppendJsonString(out, i.service);
  out += ",\"host\":";
  AppendJsonString(out, i.host);
  out += ",\"port\":" + std::to_string(i.port);
  out += ",\"healthy\":";
  out += IsHealthy(i, now_ns, up_since_ns) ? "true" : "false";
  out += ",\"registered\":\"" + FormatRfc3339(i.registered_ns) + "\"";
  out += ",\"last_heartbeat\":\"" + FormatRfc3339(i.heartbeat_ns) + "\"";
  out += ",\"ttl_seconds\":" + std::to_string(i.ttl_ns / kNsPerSecond);
  out += ",\"meta\":" + (i.meta.empty() ? std::string("{}") : i.meta);
  out += '}';
}

template <typename Own>
void CountIngest(Own& own, const char* signal, int64_t rejected,
                 std::chrono::steady_clock::time_point started) {
  if (rejected > 0) {
    if (auto c = own.rejected->WithLabels({signal}); c.ok()) (*c)->Inc(static_cast<double>(rejected));
  }
  if (auto h = own.ingest_seconds->WithLabels({signal}); h.ok()) {
    (*h)->Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  }
}

std::string OptionalNumber(const std::optional<double>& v) {
  return v ? FormatMetricValue(*v) : "null";
}

}  // namespace

class ControlPlane::ReadLease {
 public:
  ReadLease(ControlPlane* owner, std::unique_ptr<Store> store)
      : owner_(owner), store_(std::move(store)) {}
  ReadLease(ReadLease&& other) noexcept : owner_(other.owner_), store_(std::move(other.store_)) {}
  ~ReadLease() {
    if (store_) owner_->ReleaseReader(std::move(store_));
  }
  Store& operator*() { return *store_; }

 private:
  ControlPlane* owner_;
  std::unique_ptr<Store> store_;
};

Result<std::unique_ptr<ControlPlane>> ControlPlane::Open(const Options& options, const Clock& clock) {
  Result<std::unique_ptr<Store>> store = Store::Open({.path = options.db_path});
  if (!store.ok()) return store.status();
  auto writer = std::make_unique<StoreWriter>(std::move(store).value());
  std::unique_ptr<ControlPlane> plane(new ControlPlane(options, clock, std::move(writer)));
  ControlPlane* raw = plane.get();
  plane->writer_->SetIdleTask([raw](WriteContext& c) { raw->Upkeep(c); },
                              std::chrono::milliseconds(1000));
  return plane;
}

ControlPlane::ControlPlane(Options options, const Clock& clock, std::unique_ptr<StoreWriter> writer)
    : options_(std::move(options)), clock_(clock), started_ns_(clock.NowNs()), writer_(std::move(writer)) {
  RegisterOwnMetrics();
}

void ControlPlane::RegisterOwnMetrics() {
  // Names are fixed and valid, and label sets bounded (three signals): these cannot fail.
  own_.spans = *(*registry_.AddCounter("mesh_spans_ingested_total", "Spans stored by meshd"))->WithLabels({});
  own_.logs = *(*registry_.AddCounter("mesh_logs_ingested_total", "Log records stored by meshd"))->WithLabels({});
  own_.samples =
      *(*registry_.AddCounter("mesh_samples_ingested_total", "Metric samples stored by meshd"))->WithLabels({});
  own_.rejected = *registry_.AddCounter("mesh_ingest_rejected_total",
                                        "Spans, log records or samples meshd refused", {"signal"});
  own_.ingest_seconds = *registry_.AddHistogram(
      "mesh_ingest_duration_seconds", "Time to decode and commit one ingest request", {"signal"});
}

ControlPlane::~ControlPlane() { Stop(); }

void ControlPlane::Stop() {
  if (writer_) writer_->Stop();
  std::lock_guard lock(readers_mu_);
  readers_.clear();
}

Result<ControlPlane::ReadLease> ControlPlane::AcquireReader() {
  {
    std::lock_guard lock(readers_mu_);
    if (!readers_.empty()) {
      std::unique_ptr<Store> store = std::move(readers_.back());
      readers_.pop_back();
      return ReadLease(this, std::move(store));
    }
  }
  Result<std::unique_ptr<Store>> store =
      Store::Open({.path = options_.db_path, .create_if_missing = false, .read_only = true});
  if (!store.ok()) return store.status();
  return ReadLease(this, std::move(store).value());
}

void ControlPlane::ReleaseReader(std::unique_ptr<Store> store) {
  std::lock_guard lock(readers_mu_);
  readers_.push_back(std::move(store));
}

bool ControlPlane::Authorized(const HttpRequest& r) const {
  if (options_.token.empty()) return true;
  const std::string_view presented = BearerToken(r);
  return !presented.empty() && ConstantTimeEquals(presented, options_.token);
}

bool ControlPlane::ReadAuthorized(const HttpRequest& r) const {
  if (options_.read_token.empty()) return true;
  const std::string_view presented = BearerToken(r);
  if (presented.empty()) return false;
  // Both comparisons always run, so that timing does not tell which token was close.
  const bool read = ConstantTimeEquals(presented, options_.read_token);
  const bool write = !options_.token.empty() && ConstantTimeEquals(presented, options_.token);
  return read || write;
}

std::optional<HttpResponse> ControlPlane::Guard(const HttpRequest& r, const HttpRoute& route) const {
  const Access access = RequiredAccess(route);
  if (access == Access::kPublic) return std::nullopt;
  if (access == Access::kRead ? ReadAuthorized(r) : Authorized(r)) return std::nullopt;
  HttpResponse refused = HttpResponse::Error(
      401, access == Access::kRead ? "missing or wrong bearer token (reads need the read or the write token)"
                                   : "missing or wrong bearer token (writes need the write token)");
  refused.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"meshd\"");
  return refused;
}

void ControlPlane::Upkeep(WriteContext& c) {
  const int64_t now = clock_.NowNs();
  Registry(c.store, started_ns_).Sweep(now);
  c.logs.IndexPending(20'000);
  // Retention in small batches, oldest first, so that no pass holds the lock for long; what a
  // failed pass leaves, the next idle turn prunes.
  PruneBefore(c.store, now - options_.retention_ns);
  CheckpointPassive(c.store);
}

void ControlPlane::AddRoutes(HttpRouter& router) {
  router.SetGuard([this](const HttpRequest& r, const HttpRoute& route) { return Guard(r, route); });
  const auto bind = [this](HttpResponse (ControlPlane::*fn)(const HttpRequest&)) {
    return [this, fn](const HttpRequest& r) { return (this->*fn)(r); };
  };
  router.Add("GET", "/healthz", bind(&ControlPlane::Health));
  router.Add("POST", "/v1/traces", bind(&ControlPlane::IngestTraces));
  router.Add("POST", "/v1/logs", bind(&ControlPlane::IngestLogs));
  router.Add("POST", "/api/v2/spans", bind(&ControlPlane::IngestZipkin));
  router.Add("GET", "/v1/logs", bind(&ControlPlane::QueryLogs));
  router.Add("GET", "/v1/logs/stats", bind(&ControlPlane::LogStats));
  router.Add("GET", "/v1/traces", bind(&ControlPlane::ListTraces));
  router.Add("GET", "/v1/traces/stats", bind(&ControlPlane::TraceStats));
  router.Add("GET", "/v1/traces/{id}", bind(&ControlPlane::GetTrace));
  router.Add("GET", "/v1/spans", bind(&ControlPlane::ScanSpans));
  router.Add("POST", "/v1/register", [this](const HttpRequest& r) { return Register(r, false); });
  router.Add("POST", "/register", [this](const HttpRequest& r) { return Register(r, true); });
  router.Add("POST", "/v1/instances/{id}/heartbeat", bind(&ControlPlane::Heartbeat));
  router.Add("DELETE", "/v1/instances/{id}", bind(&ControlPlane::Deregister));
  router.Add("GET", "/v1/services", [this](const HttpRequest& r) { return ListServices(r, false); });
  router.Add("GET", "/services", [this](const HttpRequest& r) { return ListServices(r, true); });
  router.Add("GET", "/v1/services/{name}", bind(&ControlPlane::GetService));
  router.Add("GET", "/v1/prometheus/targets", bind(&ControlPlane::PrometheusTargets));
  router.Add("POST", "/v1/metrics", [this](const HttpRequest& r) { return IngestMetrics(r, false); });
  router.Add("POST", "/metrics", [this](const HttpRequest& r) { return IngestMetrics(r, true); });
  router.Add("GET", "/metrics", bind(&ControlPlane::Exposition));
  router.Add("GET", "/v1/metrics/signals", bind(&ControlPlane::Signals));
  router.Add("GET", "/v1/report", bind(&ControlPlane::GetReport));
  router.Add("POST", "/v1/alerts/check", bind(&ControlPlane::CheckAlerts));
  router.Add("GET", "/v1/alerts", bind(&ControlPlane::ListAlerts));
  router.Add("GET", "/v1/alerts/history", bind(&ControlPlane::AlertHistory));
  router.Add("GET", "/v1/silences", bind(&ControlPlane::ListSilences));
  router.Add("POST", "/v1/silences", bind(&ControlPlane::AddSilence));
  router.Add("DELETE", "/v1/silences/{id}", bind(&ControlPlane::ExpireSilence));
  const auto dashboard = [](const HttpRequest&) {
    HttpResponse r;
    r.content_type = "text/html; charset=utf-8";
    r.body = std::string(DashboardHtml());
    r.headers.emplace_back("Content-Security-Policy",
                           "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'");
    return r;
  };
  router.Add("GET", "/", dashboard);
  router.Add("GET", "/dashboard", dashboard);
  router.Add("GET", "/dashboard/traces/{id}", dashboard);
}

HttpResponse ControlPlane::Health(const HttpRequest&) {
  return HttpResponse::Json(200, "{\"status\":\"ok\"}");
}

HttpResponse ControlPlane::IngestTraces(const HttpRequest& r) {
  if (IsProtobuf(r)) {
    return HttpResponse::Error(415, "protobuf is not supported: send OTLP/HTTP JSON "
                                    "(Content-Type: application/json)");
  }
  const auto started = std::chrono::steady_clock::now();
  Result<OtlpTraces> decoded = DecodeOtlpTraces(r.body);
  if (!decoded.ok()) return HttpResponse::Error(400, decoded.status().message());
  if (!decoded->spans.empty()) {
    Status s = writer_->Submit([&](WriteContext& c) { return c.spans.InsertRows(decoded->spans).status(); });
    if (!s.ok()) return StoreError(s);
  }
  own_.spans->Inc(static_cast<double>(decoded->spans.size()));
  CountIngest(own_, "spans", decoded->rejected, started);
  return HttpResponse::Json(200, OtlpTracesResponse(*decoded));
}

HttpResponse ControlPlane::IngestZipkin(const HttpRequest& r) {
  if (IsProtobuf(r) || r.Header("content-type").find("thrift") != std::string::npos) {
    return HttpResponse::Error(415, "only Zipkin v2 JSON is supported (Content-Type: application/json)");
  }
  const auto started = std::chrono::steady_clock::now();
  Result<OtlpTraces> decoded = DecodeZipkinSpans(r.body);
  if (!decoded.ok()) return HttpResponse::Error(400, decoded.status().message());
  // Zipkin has no partial success: a batch with a bad span is refused whole.
  if (decoded->rejected > 0) {
    CountIngest(own_, "spans", decoded->rejected + static_cast<int64_t>(decoded->spans.size()), started);
    return HttpResponse::Error(400, std::to_string(decoded->rejected) + " invalid spans: " + decoded->first_error);
  }
  if (!decoded->spans.empty()) {
    Status s = writer_->Submit([&](WriteContext& c) { return c.spans.InsertRows(decoded->spans).status(); });
    if (!s.ok()) return StoreError(s);
  }
  own_.spans->Inc(static_cast<double>(decoded->spans.size()));
  CountIngest(own_, "spans", 0, started);
  return HttpResponse::Json(202, "{}");
}

HttpResponse ControlPlane::IngestLogs(const HttpRequest& r) {
  if (IsProtobuf(r)) {
    return HttpResponse::Error(415, "protobuf is not supported: send OTLP/HTTP JSON "
                                    "(Content-Type: application/json)");
  }
  const auto started = std::chrono::steady_clock::now();
  Result<OtlpLogs> decoded = DecodeOtlpLogs(r.body);
  if (!decoded.ok()) return HttpResponse::Error(400, decoded.status().message());
  const int64_t now = clock_.NowNs();
  for (LogRecord& rec : decoded->records) {
    if (rec.ts_ns == 0) rec.ts_ns = now;
  }
  if (!decoded->records.empty()) {
    Status s = writer_->Submit([&](WriteContext& c) { return c.logs.InsertRows(decoded->records); });
    if (!s.ok()) return StoreError(s);
  }
  own_.logs->Inc(static_cast<double>(decoded->records.size()));
  CountIngest(own_, "logs", decoded->rejected, started);
  return HttpResponse::Json(200, OtlpLogsResponse(*decoded));
}

HttpResponse ControlPlane::QueryLogs(const HttpRequest& r) {
  Result<LogFilter> filter = LogFilterFromQuery(r.query, clock_.NowNs());
  if (!filter.ok()) return HttpResponse::Error(400, filter.status().message());
  Result<size_t> limit = LimitParam(r);
  if (!limit.ok()) return HttpResponse::Error(400, limit.status().message());
  Result<ReadLease> lease = AcquireReader();
  if (!lease.ok()) return StoreError(lease.status());
  LogStore logs(**lease);
  Result<int64_t> latest = logs.LatestCursor();
  if (!latest.ok()) return StoreError(latest.status());

  const std::string& text = r.Query("q");
  if (!text.empty() && r.Query("count") == "true") {
    Result<int64_t> n = logs.CountMatches(text, *filter);
    if (!n.ok()) return StoreError(n.status());
    return HttpResponse::Json(200, "{\"count\":" + std::to_string(*n) + "}");
  }
  Result<std::vector<LogRecord>> records = Status::Ok();
  if (!text.empty()) {
    records = logs.Search(text, *filter, *limit, r.Query("order") == "asc");
  } else if (!r.Query("after").empty()) {
    int64_t after = 0;
    const std::string& v = r.Query("after");
    const auto res = std::from_chars(v.data(), v.data() + v.size(), after);
    if (res.ec != std::errc() || res.ptr != v.data() + v.size()) {
      return HttpResponse::Error(400, "parameter after='" + v + "' is not a cursor");
    }
    records = logs.After(after, *filter, *limit);
  } else {
    records = logs.Tail(*filter, *limit);
  }
  if (!records.ok()) return StoreError(records.status());
  return HttpResponse::Json(200, EncodeLogPage(*records, *latest));
}

HttpResponse ControlPlane::LogStats(const HttpRequest& r) {
  Result<LogFilter> filter = LogFilterFromQuery(r.query, clock_.NowNs());
  if (!filter.ok()) return HttpResponse::Error(400, filter.status().message());
  Result<ReadLease> lease = AcquireReader();
  if (!lease.ok()) return StoreError(lease.status());
  Result<std::vector<LevelCount>> counts = LogStore(**lease).Stats(*filter);
  if (!counts.ok()) return StoreError(counts.status());
  return HttpResponse::Json(200, EncodeLevelCounts(*counts));
}

HttpResponse ControlPlane::GetTrace(const HttpRequest& r) {
  Result<ReadLease> lease = AcquireReader();
  if (!lease.ok()) return StoreError(lease.status());
  Result<std::vector<Span>> spans = SpanStore(**lease).GetTrace(r.PathParam("id"));
  if (!spans.ok()) return StoreError(spans.status());
  std::string out = "{\"trace_id\":";
  AppendJsonString(out, spans->front().trace_id);
  out += ",\"spans\":[";
  for (size_t i = 0; i < spans->size(); ++i) {
    if (i) out += ',';
    AppendJson(out, (*spans)[i]);
  }
  out += "]}";
  return HttpResponse::Json(200, std::move(out));
}

HttpResponse ControlPlane::ListTraces(const HttpRequest& r) {
  const int64_t now = clock_.NowNs();
  Result<TraceFilter> filter = TraceFilterFromQuery(r.query, now);
  if (!filter.ok()) return HttpResponse::Error(400, filter.status().message());
  TraceFilter& f = *filter;
  // Like Jaeger's default lookback: without since, the last hour (an index range on start
  // time rather than a pass over every span stored).
  if (!f.since_ns) f.since_ns = now - 3600 * kNsPerSecond;
  Result<size_t> limit = LimitParam(r);
  if (!limit.ok()) return HttpResponse::Error(400, limit.status().message());
  // Each trace listed is read whole: keep a page to what a person looks at.
  *limit = std::min<size_t>(*limit, 1000);
  Result<ReadLease> lease = AcquireReader();
  if (!lease.ok()) return StoreError(lease.status());
  Result<std::vector<TraceSummary>> traces = SpanStore(**lease).ListTraces(f, *limit);
  if (!traces.ok()) return StoreError(traces.status());
  return HttpResponse::Json(200, EncodeTraceList(*traces));
}

Result<std::pair<int64_t, int64_t>> ControlPlane::WindowParams(const HttpRequest& r) const {
  const int64_t now = clock_.NowNs();
  int64_t since = now - 3600 * kNsPerSecond;  // the last hour, as GET /v1/traces
  int64_t until = INT64_MAX;
  for (const char* key : {"since", "until"}) {
    if (r.Query(key).empty()) continue;
    Result<int64_t> t = ParseTimeSpec(r.Query(key), now);
    if (!t.ok()) return Status::InvalidArgument("parameter " + std::string(key) + ": " + t.status().message());
    (std::string(key) == "since" ? since : until) = *t;
  }
  return std::make_pair(since, until);
}

HttpResponse ControlPlane::TraceStats(const HttpRequest& r) {
  Result<std::pair<int64_t, int64_t>> window = WindowParams(r);
  if (!window.ok()) return HttpResponse::Error(400, window.status().message());
  Result<ReadLease> lease = AcquireReader();
  if (!lease.ok()) return StoreError(lease.status());
  SpanStats stats;
  if (Status s = SpanStore(**lease).CollectStats(window->first, window->second, stats); !s.ok()) {
    return StoreError(s);
  }
  return HttpResponse::Json(200, EncodeSpanStatsJson(stats.Operations(), stats.Edges()));
}

HttpResponse ControlPlane::ScanSpans(const HttpRequest& r) {
  Result<std::pair<int64_t, int64_t>> window = WindowParams(r);
  if (!window.ok()) return HttpResponse::Error(400, window.status().message());
  Result<size_t> limit = LimitParam(r);
  if (!limit.ok()) return HttpResponse::Error(400, limit.status().message());
  int64_t after = 0;
  if (const std::string& v = r.Query("after"); !v.empty()) {
    const auto res = std::from_chars(v.data(), v.data() + v.size(), after);
    if (res.ec != std::errc() || res.ptr != v.data() + v.size() || after < 0) {
      return HttpResponse::Error(400, "parameter after='" + v + "' is not a cursor");
    }
  }
  Result<ReadLease> lease = AcquireReader();
  if (!lease.ok()) return StoreError(lease.status());
  Result<SpanStore::Page> page = SpanStore(**lease).ScanSpans(window->first, window->second, after, *limit);
  if (!page.ok()) return StoreError(page.status());
  std::string out = "{\"spans\":[";
  for (size_t i = 0; i < page->spans.size(); ++i) {
    if (i) out += ',';
    AppendJson(out, page->spans[i]);
  }
  out += "],\"next\":" + std::to_string(page->next) + "}";
  return HttpResponse::Json(200, std::move(out));
}

HttpResponse ControlPlane::Register(const HttpRequest& r, bool seed_payload) {
  Result<Json::Value> body = ParseJson(r.body);
  if (!body.ok()) return HttpResponse::Error(400, body.status().message());
  if (!body->isObject()) return HttpResponse::Error(400, "expected a JSON object");
  const char* name_key = seed_payload ? "service_name" : "service";
  Instance i;
  i.service = (*body)[name_key].isString() ? (*body)[name_key].asString() : "";
  i.host = (*body)["host"].isString() ? (*body)["host"].asString() : "";
  const Json::Value& port = (*body)["port"];
  if (!IsValidServiceName(i.service)) {
    return HttpResponse::Error(400, std::string(name_key) +
                                        " must be 1-128 letters, digits, '.', '-' or '_'");
  }
  if (i.host.empty() || i.host.size() > 255) return HttpResponse::Error(400, "host is required");
  if (!port.isInt64() || port.asInt64() < 1 || port.asInt64() > 65535) {
    return HttpResponse::Error(400, "port must be an integer in 1..65535");
  }
  i.port = port.asInt();
  if ((*body)["meta"].isObject()) AppendJsonValue(i.meta, (*body)["meta"]);
  i.ttl_ns = options_.default_ttl_ns;
  if (!(*body)["ttl_seconds"].isNull()) {
    const Json::Value& ttl = (*body)["ttl_seconds"];
    if (!ttl.isInt64() || ttl.asInt64() < 1 || ttl.asInt64() > 86400) {
      return HttpResponse::Error(400, "ttl_seconds must be an integer in 1..86400");
    }
    i.ttl_ns = ttl.asInt64() * kNsPerSecond;
  }
  // The id is the address: a re-registering instance refreshes its entry.
  i.id = i.service + "@" + i.host + ":" + std::to_string(i.port);
  i.registered_ns = i.heartbeat_ns = clock_.NowNs();
  Status s = writer_->Submit([&](WriteContext& c) { return Registry(c.store).Upsert(i); });
  if (!s.ok()) return StoreError(s);
  std::string out = "{\"status\":\"registered\",\"id\":";
  AppendJsonString(out, i.id);
  out += ",\"ttl_seconds\":" + std::to_string(i.ttl_ns / kNsPerSecond) + "}";
  return HttpResponse::Json(200, std::move(out));
}

HttpResponse ControlPlane::Heartbeat(const HttpRequest& r) {
  const std::string id = r.PathParam("id");
  const int64_t now = clock_.NowNs();
  Status s = writer_->Submit([&](WriteContext& c) { return Registry(c.store).Heartbeat(id, now); });
  if (!s.ok()) return StoreError(s);
  return HttpResponse::Json(200, "{\"status\":\"ok\"}");
}

HttpResponse ControlPlane::Deregister(const HttpRequest& r) {
  const std::string id = r.PathParam("id");
  Status s = writer_->Submit([&](WriteContext& c) { return Registry(c.store).Remove(id); });
  if (!s.ok()) return StoreError(s);
  return HttpResponse::Json(200, "{\"status\":\"deregistered\"}");
}

HttpResponse ControlPlane::ListServices(const HttpRequest&, bool seed_format) {
  Result<ReadLease> lease = AcquireReader();
  if (!lease.ok()) return StoreError(lease.status());
  const int64_t now = clock_.NowNs();
  Result<std::vector<ServiceSummary>> services = Registry(**lease, started_ns_).Services(now);
  if (!services.ok()) return StoreError(services.status());
  std::string out = "{\"services\":[";
  for (size_t i = 0; i < services->size(); ++i) {
    const ServiceSummary& s = (*services)[i];
    if (i) out += ',';
    out += "{\"name\":";
    AppendJsonString(out, s.name);
    out += ",\"instances\":" + std::to_string(s.instances);
    if (!seed_format) {
      out += ",\"healthy\":" + std::to_string(s.healthy) + ",\"signals\":";
      AppendSignalsJson(out, **lease, s.name, 60 * kNsPerSecond);
    }
    out += '}';
  }
  out += "],\"total\":" + std::to_string(services->size()) + "}";
  return HttpResponse::Json(200, std::move(out));
}

HttpResponse ControlPlane::GetService(const HttpRequest& r) {
  Result<ReadLease> lease = AcquireReader();
  if (!lease.ok()) return StoreError(lease.status());
  const std::string name = r.PathParam("name");
  Result<std::vector<Instance>> instances = Registry(**lease).Instances(name);
  if (!instances.ok()) return StoreError(instances.status());
  if (instances->empty()) return HttpResponse::Error(404, "no service " + name);
  const int64_t now = clock_.NowNs();
  std::string out = "{\"name\":";
  AppendJsonString(out, name);
  out += ",\"instances\":[";
  for (size_t i = 0; i < instances->size(); ++i) {
    if (i) out += ',';
    AppendInstanceJson(out, (*instances)[i], now, started_ns_);
  }
  out += "],\"signals\":";
  AppendSignalsJson(out, **lease, name, 60 * kNsPerSecond);
  out += "}";
  return HttpResponse::Json(200, std::move(out));
}

HttpResponse ControlPlane::PrometheusTargets(const HttpRequest& r) {
  Result<ReadLease> lease = AcquireReader();
  if (!lease.ok()) return StoreError(lease.status());
  Result<std::vector<Instance>> instances = Registry(**lease).Instances("");
  if (!instances.ok()) return StoreError(instances.status());
  return HttpResponse::Json(
      200, FormatTargetGroups(BuildPrometheusTargets(*instances, clock_.NowNs(), r.Header("host"), started_ns_)));
}

HttpResponse ControlPlane::IngestMetrics(const HttpRequest& r, bool seed_route) {
  const auto started = std::chrono::steady_clock::now();
  std::vector<MetricFamily> families;
  const bool json = seed_route || r.Header("content-type").find("json") != std::string::npos;
  if (json) {
    // The seed's push: {"service", "requests", "errors", "avg_latency_ms"}, cumulative.
    Result<Json::Value> body = ParseJson(r.body);
    if (!body.ok()) return HttpResponse::Error(400, body.status().message());
    const Json::Value& v = *body;
    if (!v.isObject() || !v["service"].isString() || !IsValidServiceName(v["service"].asString())) {
      return HttpResponse::Error(400, "expected {\"service\", \"requests\", \"errors\", \"avg_latency_ms\"} "
                                      "with a service name of letters, digits, '.', '-', '_'");
    }
    for (const char* key : {"requests", "errors", "avg_latency_ms"}) {
      if (!v[key].isNull() && (!v[key].isNumeric() || v[key].asDouble() < 0)) {
        return HttpResponse::Error(400, std::string(key) + " must be a non-negative number");
      }
    }
    const Labels labels = {{"service", v["service"].asString()}};
    families.push_back({"mesh_seed_requests_total", "Requests reported through the seed's JSON push",
                        MetricType::kCounter,
                        {{"mesh_seed_requests_total", labels, v["requests"].asDouble(), {}}}});
    families.push_back({"mesh_seed_errors_total", "Errors reported through the seed's JSON push",
                        MetricType::kCounter,
                        {{"mesh_seed_errors_total", labels, v["errors"].asDouble(), {}}}});
    // Stored and exposed in base units, as Prometheus names want (promtool refuses _ms).
    families.push_back({"mesh_seed_avg_latency_seconds",
                        "Average latency in seconds reported through the seed's JSON push (avg_latency_ms)",
                        MetricType::kGauge,
                        {{"mesh_seed_avg_latency_seconds", labels, v["avg_latency_ms"].asDouble() / 1000, {}}}});
  } else {
    if (r.Header("content-type").find("protobuf") != std::string::npos) {
      return HttpResponse::Error(415, "protobuf is not supported: push Prometheus text format 0.0.4");
    }
    Result<std::vector<MetricFamily>> parsed = ParsePrometheusText(r.body);
    if (!parsed.ok()) return HttpResponse::Error(400, parsed.status().message());
    if (Status s = CheckHistograms(*parsed); !s.ok()) return HttpResponse::Error(400, s.message());
    families = std::move(parsed).value();
    // Like a Pushgateway grouping key: ?service=&instance= label samples that carry none.
    for (const char* key : {"service", "instance"}) {
      const std::string& value = r.Query(key);
      if (value.empty()) continue;
      for (MetricFamily& f : families) {
        for (MetricSample& sample : f.samples) {
          if (!LabelValue(sample.labels, key).empty()) continue;
          sample.labels.emplace_back(key, value);
          std::sort(sample.labels.begin(), sample.labels.end());
        }
      }
    }
  }
  int64_t stored = 0;
  const int64_t now = clock_.NowNs();
  Status s = writer_->Submit([&](WriteContext& c) {
    Result<int64_t> n = MetricStore(c.store).InsertRows(families, now);
    if (n.ok()) stored = *n;
    return n.status();
  });
  if (!s.ok()) return StoreError(s);
  own_.samples->Inc(static_cast<double>(stored));
  CountIngest(own_, "samples", 0, started);
  if (seed_route) return HttpResponse::Json(200, "{\"status\":\"recorded\"}");
  return HttpResponse::Json(200, "{\"samples\":" + std::to_string(stored) + "}");
}

HttpResponse ControlPlane::Exposition(const HttpRequest& r) {
  std::vector<MetricFamily> families = registry_.Collect();
  Result<ReadLease> lease = AcquireReader();
  if (!lease.ok()) return StoreError(lease.status());
  const int64_t now = clock_.NowNs();

  MetricFamily up{"mesh_instance_up", "1 when the instance heartbeats within its TTL", MetricType::kGauge, {}};
  if (Result<std::vector<Instance>> instances = Registry(**lease).Instances(""); instances.ok()) {
    for (const Instance& i : *instances) {
      up.samples.push_back({"mesh_instance_up",
                            {{"instance", i.host + ":" + std::to_string(i.port)}, {"service", i.service}},
                            IsHealthy(i, now, started_ns_) ? 1.0 : 0.0, {}});
    }
  }
  families.push_back(std::move(up));

  MetricFamily bytes{"mesh_store_bytes", "Size of the SQLite store file", MetricType::kGauge, {}};
  if (Result<int64_t> size = StoreSizeBytes(**lease); size.ok()) {
    bytes.samples.push_back({"mesh_store_bytes", {}, static_cast<double>(*size), {}});
  }
  families.push_back(std::move(bytes));

  // What proxies and services pushed, as a Pushgateway would show it: the latest value of each
  // series seen in the last five minutes. Names meshd uses itself are not repeated.
  std::vector<std::string> own_names;
  for (const MetricFamily& f : families) own_names.push_back(f.name);
  if (Result<std::vector<MetricFamily>> pushed =
          MetricStore(**lease).Latest(now - 5LL * 60 * kNsPerSecond);
      pushed.ok()) {
    for (MetricFamily& f : *pushed) {
      if (std::find(own_names.begin(), own_names.end(), f.name) == own_names.end()) {
        families.push_back(std::move(f));
      }
    }
  }
  // Prometheus asks for OpenMetrics first; promtool and curl get the 0.0.4 text.
  auto exposed = ExposeMetrics(families, r.Header("accept"));
  HttpResponse response;
  response.content_type = std::string(exposed.content_type);
  response.body = std::move(exposed.body);
  return response;
}

void ControlPlane::AppendSignalsJson(std::string& out, Store& store, const std::string& service,
                                     int64_t window_ns) {
  Result<GoldenSignals> g = MetricStore(store).Signals(service, window_ns, clock_.NowNs());
  if (!g.ok()) {
    out += "null";
    return;
  }
  out += "{\"requests\":" + std::to_string(g->requests) +
         ",\"rps\":" + FormatMetricValue(g->requests_per_second) +
         ",\"error_percent\":" + FormatMetricValue(g->error_percent) +
         ",\"p50_ms\":" + OptionalNumber(g->p50_seconds ? std::optional<double>(*g->p50_seconds * 1e3) : std::nullopt) +
         ",\"p95_ms\":" + OptionalNumber(g->p95_seconds ? std::optional<double>(*g->p95_seconds * 1e3) : std::nullopt) +
         ",\"p99_ms\":" + OptionalNumber(g->p99_seconds ? std::optional<double>(*g->p99_seconds * 1e3) : std::nullopt) + "}";
}

HttpResponse ControlPlane::Signals(const HttpRequest& r) {
  int64_t window = 60 * kNsPerSecond;
  if (!r.Query("window").empty()) {
    Result<int64_t> w = ParseDuration(r.Query("window"));
    // Bounded so that window x history stays a sane amount of work (and of int64 nanoseconds).
    if (!w.ok() || *w <= 0 || *w > 86400 * kNsPerSecond) {
      return HttpResponse::Error(400, "parameter window: expected a duration from 1s to 24h, like 1m");
    }
    window = *w;
  }
  int64_t history = 0;
  if (!r.Query("history").empty()) {
    const std::string& v = r.Query("history");
    const auto res = std::from_chars(v.data(), v.data() + v.size(), history);
    if (res.ec != std::errc() || res.ptr != v.data() + v.size() || history < 0 || history > 240) {
      return HttpResponse::Error(400, "parameter history: expected 0..240 points");
    }
  }
  const int64_t now = clock_.NowNs();
  Result<ReadLease> lease = AcquireReader();
  if (!lease.ok()) return StoreError(lease.status());
  std::vector<std::string> services;
  if (!r.Query("service").empty()) {
    services.push_back(r.Query("service"));
  } else {
    Result<std::vector<std::string>> with_metrics = ServicesWithMetrics(**lease);
    if (!with_metrics.ok()) return StoreError(with_metrics.status());
    services = std::move(with_metrics).value();
  }
  std::string out = "{\"window_seconds\":" + FormatMetricValue(static_cast<double>(window) / 1e9) +
                    ",\"services\":[";
  for (size_t i = 0; i < services.size(); ++i) {
    if (i) out += ',';
    out += "{\"service\":";
    AppendJsonString(out, services[i]);
    out += ",\"signals\":";
    AppendSignalsJson(out, **lease, services[i], window);
    if (history > 0) {
      // One point per window, oldest first, for sparklines.
      out += ",\"history\":[";
      MetricStore metrics(**lease);
      for (int64_t k = history - 1; k >= 0; --k) {
        const int64_t end = now - k * window;
        Result<GoldenSignals> g = metrics.Signals(services[i], window, end);
        if (k != history - 1) out += ',';
        if (!g.ok()) {
          out += "null";
          continue;
        }
        out += "{\"t\":\"" + FormatRfc3339(end) + "\",\"rps\":" + FormatMetricValue(g->requests_per_second) +
               ",\"error_percent\":" + FormatMetricValue(g->error_percent) + ",\"p99_ms\":" +
               OptionalNumber(g->p99_seconds ? std::optional<double>(*g->p99_seconds * 1e3) : std::nullopt) + "}";
      }
      out += ']';
    }
    out += '}';
  }
  out += "]}";
  return HttpResponse::Json(200, std::move(out));
}

// meshstat --server: the report BuildReport computes on the file, over [since, until) (default:
// the last hour up to now), as JSON that meshstat renders in any of its formats.
HttpResponse ControlPlane::GetReport(const HttpRequest& r) {
  Result<std::pair<int64_t, int64_t>> window = WindowParams(r);
  if (!window.ok()) return HttpResponse::Error(400, window.status().message());
  ReportQuery query{window->first, window->second, r.Query("service")};
  if (query.until_ns == INT64_MAX) query.until_ns = clock_.NowNs();
  if (query.until_ns <= query.since_ns) return HttpResponse::Error(400, "parameter until must be after since");
  Result<ReadLease> lease = AcquireReader();
  if (!lease.ok()) return StoreError(lease.status());
  Result<Report> report = BuildReport(**lease, query);
  if (!report.ok()) return StoreError(report.status());
  return HttpResponse::Json(200, EncodeReportJson(*report));
}

// POST /v1/alerts/check {"rules": <rules document>, "at": "<Unix seconds>",
// "repeat_interval_ns": N, "external_url": "...", "alertmanager": "URL", "webhook": "URL"}:
// the round meshalert check runs on a file, run here on the store (notifications included, as
// meshd reaches the receivers), its states committed through the writer.
HttpResponse ControlPlane::CheckAlerts(const HttpRequest& r) {
  Result<AlertCheckRequest> request = ParseAlertCheckRequest(r.body, clock_.NowNs());
  if (!request.ok()) return HttpResponse::Error(400, request.status().message());
  Result<std::vector<AlertRule>> rules = ParseAlertRules(request->rules_json);
  if (!rules.ok()) return HttpResponse::Error(400, rules.status().message());
  const AlertCheckOptions options{request->at_ns, request->repeat_interval_ns, request->external_url};
  CurlHttpClient http(10000);
  std::vector<std::unique_ptr<AlertSink>> owned;
  for (const char* key : {"alertmanager", "webhook"}) {
    const std::string& url = std::string(key) == "alertmanager" ? request->alertmanager : request->webhook;
    if (url.empty()) continue;
    if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
      return HttpResponse::Error(400, std::string(key) + ": expected an http(s) URL");
    }
    if (std::string(key) == "alertmanager") owned.push_back(std::make_unique<AlertmanagerSink>(http, url));
    else owned.push_back(std::make_unique<WebhookSink>(http, url, options.external_url));
  }
  std::vector<AlertSink*> sinks;
  for (auto& sink : owned) sinks.push_back(sink.get());

  Result<AlertCheckReport> report = [&]() -> Result<AlertCheckReport> {
    Result<ReadLease> lease = AcquireReader();
    if (!lease.ok()) return lease.status();
    StoreSignalSource source(**lease);
    AlertStore alerts(**lease);
    return AlertEngine(source, alerts, sinks).Check(*rules, options);
  }();
  if (!report.ok()) return StoreError(report.status());
  if (Status s = writer_->Submit([&](WriteContext& c) { return AlertStore(c.store).Save(report->alerts, report->events); });
      !s.ok()) {
    return StoreError(s);
  }
  return HttpResponse::Json(200, AlertCheckReportJson(*report));
}

HttpResponse ControlPlane::ListAlerts(const HttpRequest&) {
  Result<ReadLease> lease = AcquireReader();
  if (!lease.ok()) return StoreError(lease.status());
  Result<std::vector<StoredAlert>> alerts = AlertStore(**lease).Load({});
  if (!alerts.ok()) return StoreError(alerts.status());
  return HttpResponse::Json(200, StoredAlertsJson(*alerts));
}

HttpResponse ControlPlane::AlertHistory(const HttpRequest& r) {
  Result<std::pair<int64_t, int64_t>> window = WindowParams(r);
  if (!window.ok()) return HttpResponse::Error(400, window.status().message());
  Result<size_t> limit = LimitParam(r);
  if (!limit.ok()) return HttpResponse::Error(400, limit.status().message());
  Result<ReadLease> lease = AcquireReader();
  if (!lease.ok()) return StoreError(lease.status());
  Result<std::vector<AlertEvent>> events =
      AlertStore(**lease).History({window->first, window->second, r.Query("rule"), *limit});
  if (!events.ok()) return StoreError(events.status());
  return HttpResponse::Json(200, AlertEventsJson(*events));
}

HttpResponse ControlPlane::ListSilences(const HttpRequest& r) {
  int64_t at = clock_.NowNs();
  if (!r.Query("at").empty()) {
    Result<int64_t> t = ParseTimeSpec(r.Query("at"), at);
    if (!t.ok()) return HttpResponse::Error(400, "parameter at: " + t.status().message());
    at = *t;
  }
  Result<ReadLease> lease = AcquireReader();
  if (!lease.ok()) return StoreError(lease.status());
  Result<std::vector<Silence>> silences = AlertStore(**lease).Silences(at, r.Query("all") == "true");
  if (!silences.ok()) return StoreError(silences.status());
  return HttpResponse::Json(200, SilencesJson(*silences));
}

HttpResponse ControlPlane::AddSilence(const HttpRequest& r) {
  Result<std::vector<Silence>> parsed = ParseSilences("[" + r.body + "]");
  if (!parsed.ok() || parsed->size() != 1) {
    return HttpResponse::Error(400, "expected one silence: {\"rule\",\"service\",\"starts_at\",\"ends_at\",\"comment\"}");
  }
  Silence silence = parsed->front();
  if (silence.rule.empty() || silence.service.empty() || silence.comment.empty()) {
    return HttpResponse::Error(400, "rule, service and comment are required");
  }
  if (silence.starts_ns == 0) silence.starts_ns = clock_.NowNs();
  if (silence.ends_ns <= silence.starts_ns) return HttpResponse::Error(400, "ends_at must be after starts_at");
  if (silence.created_by.empty()) silence.created_by = "unknown";
  Status s = writer_->Submit([&](WriteContext& c) -> Status {
    Result<int64_t> id = AlertStore(c.store).AddSilence(silence);
    if (id.ok()) silence.id = *id;
    return id.status();
  });
  if (!s.ok()) return StoreError(s);
  return HttpResponse::Json(201, SilenceJson(silence));
}

HttpResponse ControlPlane::ExpireSilence(const HttpRequest& r) {
  const std::string& text = r.PathParam("id");
  int64_t id = 0;
  const auto res = std::from_chars(text.data(), text.data() + text.size(), id);
  if (res.ec != std::errc() || res.ptr != text.data() + text.size() || id <= 0) {
    return HttpResponse::Error(400, "silence id must be a positive integer");
  }
  const int64_t now = clock_.NowNs();
  Status s = writer_->Submit([&](WriteContext& c) { return AlertStore(c.store).ExpireSilence(id, now); });
  if (s.code() == Status::Code::kNotFound) return HttpResponse::Error(404, s.message());
  if (s.code() == Status::Code::kInvalidArgument) return HttpResponse::Error(400, s.message());
  if (!s.ok()) return StoreError(s);
  return HttpResponse::Json(200, "{\"expired\":" + std::to_string(id) + "}");
}

}  // namespace mesh
