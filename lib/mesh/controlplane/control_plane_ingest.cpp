// ControlPlane: the ingest routes: OTLP/HTTP traces, logs and metrics (JSON and protobuf), Zipkin v2 spans,
// Prometheus text and the seed's JSON metrics push.
#include "mesh/controlplane/control_plane.h"

#include <charconv>
#include <map>
#include <optional>
#include <string>

#include "mesh/base/json_tape.h"
#include "mesh/base/json_text.h"
#include "mesh/controlplane/control_plane_internal.h"
#include "mesh/otlp_proto/otlp_metrics_proto.h"
#include "mesh/otlp_proto/otlp_proto.h"
#include "mesh/store/metric_store.h"
#include "mesh/store/otlp_outbox.h"
#include "mesh/store/remote_write_outbox.h"
#include "mesh/telemetry/otlp.h"
#include "mesh/telemetry/prometheus_text.h"
#include "mesh/telemetry/zipkin.h"

namespace mesh {

using namespace control_plane_internal;

namespace {

// OTLP answers in the content type it was sent (protobuf or JSON); errors are JSON either way.
HttpResponse OtlpAnswer(bool protobuf, std::string body) {
  HttpResponse response = HttpResponse::Json(200, std::move(body));
  if (protobuf) response.content_type = kOtlpProtobufContentType;
  return response;
}

// The seed's push, {"service": ..., "requests": ...}, shares /v1/metrics and application/json
// with OTLP/JSON: it is told apart by its top-level "service" member, which OTLP has not.
bool IsSeedPush(const HttpRequest& r) {
  JsonTape t;
  return t.Parse(r.body).ok() && t.node(t.root()).kind == JsonKind::kObject &&
         t.Member(t.root(), "service") != JsonTape::kNone;
}

}  // namespace

Status ControlPlane::StoreSpans(const std::vector<Span>& spans) {
  if (spans.empty()) return Status::Ok();
  // Encoded before the writer's turn, so that export costs the single writer only the inserts.
  const std::vector<OtlpOutboxItem> exported =
      otlp_export_ ? OtlpSpanItems(options_.export_otlp.policy, spans) : std::vector<OtlpOutboxItem>{};
  const int64_t now = clock_.NowNs();
  int64_t sampled_out = 0;
  Status s = writer_->Submit([&](WriteContext& c) {
    if (Status st = c.spans.InsertRows(spans).status(); !st.ok()) return st;
    // In the same transaction: what the producer is told was stored is queued for export too.
    return EnqueueForExport(c, exported, now, &sampled_out);
  });
  if (s.ok()) CountSampledOut(sampled_out);
  return s;
}

HttpResponse ControlPlane::IngestTraces(const HttpRequest& r) {
  const bool protobuf = IsProtobuf(r);
  const auto started = std::chrono::steady_clock::now();
  Result<OtlpTraces> decoded = protobuf ? DecodeOtlpTracesProto(r.body) : DecodeOtlpTraces(r.body);
  if (!decoded.ok()) return HttpResponse::Error(400, decoded.status().message());
  if (Status s = StoreSpans(decoded->spans); !s.ok()) return StoreError(s);
  own_.spans->Inc(static_cast<double>(decoded->spans.size()));
  CountIngest(own_, "spans", decoded->rejected, started);
  return OtlpAnswer(protobuf, protobuf ? OtlpTracesProtoResponse(*decoded) : OtlpTracesResponse(*decoded));
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
  if (Status s = StoreSpans(decoded->spans); !s.ok()) return StoreError(s);
  own_.spans->Inc(static_cast<double>(decoded->spans.size()));
  CountIngest(own_, "spans", 0, started);
  return HttpResponse::Json(202, "{}");
}

HttpResponse ControlPlane::IngestLogs(const HttpRequest& r) {
  const bool protobuf = IsProtobuf(r);
  const auto started = std::chrono::steady_clock::now();
  Result<OtlpLogs> decoded = protobuf ? DecodeOtlpLogsProto(r.body) : DecodeOtlpLogs(r.body);
  if (!decoded.ok()) return HttpResponse::Error(400, decoded.status().message());
  const int64_t now = clock_.NowNs();
  for (LogRecord& rec : decoded->records) {
    if (rec.ts_ns == 0) rec.ts_ns = now;
  }
  if (!decoded->records.empty()) {
    // Encoded before the writer's turn, so that export costs the single writer only the inserts.
    const std::vector<OtlpOutboxItem> exported =
        otlp_export_ ? OtlpLogItems(options_.export_otlp.policy, decoded->records) : std::vector<OtlpOutboxItem>{};
    int64_t unused = 0;
    Status s = writer_->Submit([&](WriteContext& c) {
      if (Status st = c.logs.InsertRows(decoded->records); !st.ok()) return st;
      // In the same transaction: what the producer is told was stored is queued for export too.
      return EnqueueForExport(c, exported, now, &unused);
    });
    if (!s.ok()) return StoreError(s);
  }
  own_.logs->Inc(static_cast<double>(decoded->records.size()));
  CountIngest(own_, "logs", decoded->rejected, started);
  return OtlpAnswer(protobuf, protobuf ? OtlpLogsProtoResponse(*decoded) : OtlpLogsResponse(*decoded));
}

HttpResponse ControlPlane::IngestMetrics(const HttpRequest& r, bool seed_route) {
  const bool json = seed_route || r.Header("content-type").find("json") != std::string::npos;
  if (!seed_route && (IsProtobuf(r) || (json && !IsSeedPush(r)))) return IngestOtlpMetrics(r);
  const auto started = std::chrono::steady_clock::now();
  std::vector<MetricFamily> families;
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
  if (std::optional<HttpResponse> refused = StoreMetrics(families, &stored)) return *refused;
  CountIngest(own_, "samples", 0, started);
  if (seed_route) return HttpResponse::Json(200, "{\"status\":\"recorded\"}");
  return HttpResponse::Json(200, "{\"samples\":" + std::to_string(stored) + "}");
}

HttpResponse ControlPlane::IngestOtlpMetrics(const HttpRequest& r) {
  const bool protobuf = IsProtobuf(r);
  const auto started = std::chrono::steady_clock::now();
  Result<OtlpMetrics> decoded = protobuf ? DecodeOtlpMetricsProto(r.body) : DecodeOtlpMetricsJson(r.body);
  if (!decoded.ok()) return HttpResponse::Error(400, decoded.status().message());
  // Mapped, stored and committed under one lock: two exports of a delta series add up, and an
  // export that is not stored (refused, store error) adds nothing, so its retry counts once.
  std::lock_guard lock(otlp_metrics_mu_);
  OtlpMetricMapper::Mapped mapped = otlp_metrics_.Map(*decoded);
  int64_t stored = 0;
  if (std::optional<HttpResponse> refused = StoreMetrics(mapped.families, &stored)) return *refused;
  otlp_metrics_.Commit(mapped);
  const int64_t rejected = decoded->rejected + mapped.rejected;
  const std::string& why = decoded->rejected > 0 ? decoded->first_error : mapped.first_error;
  CountIngest(own_, "samples", rejected, started);
  return OtlpAnswer(protobuf, protobuf ? OtlpMetricsProtoResponse(rejected, why) : OtlpMetricsResponse(rejected, why));
}

std::optional<HttpResponse> ControlPlane::StoreMetrics(const std::vector<MetricFamily>& families, int64_t* stored) {
  const std::map<std::string, int64_t> by_service = DistinctSeriesByService(families);
  int64_t push_series = 0;
  for (const auto& [service, n] : by_service) push_series += n;
  if (std::optional<SeriesRefusal> refused =
          CheckSeriesPerPush(by_service, options_.series_limits)) {
    return RefuseSeries(*refused, push_series);
  }
  std::optional<SeriesRefusal> over;
  const int64_t now = clock_.NowNs();
  const std::vector<OtlpOutboxItem> exported =
      otlp_export_ ? OtlpMetricItems(options_.export_otlp.policy, families, now) : std::vector<OtlpOutboxItem>{};
  int64_t unused = 0;
  // On the writer's thread, so that two pushes of one service cannot both pass the bound. The
  // store is counted only for services this push adds series to: a steady push adds none.
  Status s = writer_->Submit([&](WriteContext& c) {
    MetricStore metrics(c.store);
    over.reset();
    Result<std::map<std::string, int64_t>> fresh = metrics.NewSeriesByService(families);
    if (!fresh.ok()) return fresh.status();
    Status counted;
    over = CheckSeriesPerService(*fresh, options_.series_limits,
                                 [&](const std::string& service) -> int64_t {
                                   Result<int64_t> n = metrics.SeriesCount(service);
                                   if (!n.ok()) counted = n.status();
                                   return n.ok() ? *n : 0;
                                 });
    if (!counted.ok()) return counted;
    if (over) return Status::Ok();  // nothing written: the refusal is an answer, not a failed job
    Result<int64_t> n = metrics.InsertRows(families, now);
    if (!n.ok()) return n.status();
    *stored = *n;
    // In the same transaction: what the producer is told was stored is queued for export too.
    if (remote_write_) {
      if (Status st = RemoteWriteOutbox(c.store).Enqueue(families, now).status(); !st.ok()) return st;
    }
    return EnqueueForExport(c, exported, now, &unused);
  });
  if (!s.ok()) return StoreError(s);
  if (over) return RefuseSeries(*over, push_series);
  own_.samples->Inc(static_cast<double>(*stored));
  return std::nullopt;
}

HttpResponse ControlPlane::RefuseSeries(const SeriesRefusal& refusal, int64_t push_series) {
  if (auto c = own_.series_refused->WithLabels({refusal.reason}); c.ok()) {
    (*c)->Inc(static_cast<double>(push_series));
  }
  return SeriesRefusalResponse(refusal);
}

}  // namespace mesh
