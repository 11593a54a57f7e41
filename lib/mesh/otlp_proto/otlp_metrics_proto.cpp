#include "mesh/otlp_proto/otlp_metrics_proto.h"

#include <google/protobuf/arena.h>
#include <google/protobuf/util/json_util.h>
#include <opentelemetry/proto/collector/metrics/v1/metrics_service.pb.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <optional>
#include <cstdint>
#include <string>
#include <utility>

#include "mesh/base/base64.h"
#include "mesh/base/json_depth.h"
#include "mesh/base/json_text.h"
#include "mesh/base/utf8.h"
#include "mesh/otlp_proto/otlp_proto_parse.h"
#include "mesh/telemetry/prometheus_text.h"

namespace mesh {
namespace {

namespace pb = google::protobuf;
namespace common = opentelemetry::proto::common::v1;
namespace metrics = opentelemetry::proto::metrics::v1;
namespace collector_metrics = opentelemetry::proto::collector::metrics::v1;

void AppendAnyValueJson(std::string& out, const common::AnyValue& v);

void AppendKeyValuesJson(std::string& out, const pb::RepeatedPtrField<common::KeyValue>& list) {
  out += '{';
  for (const common::KeyValue& kv : list) {
    if (out.back() != '{') out += ',';
    AppendJsonString(out, kv.key());
    out += ':';
    AppendAnyValueJson(out, kv.value());
  }
  out += '}';
}

// A nested value as JSON; nesting is bounded by libprotobuf's recursion limit.
void AppendAnyValueJson(std::string& out, const common::AnyValue& v) {
  switch (v.value_case()) {
    case common::AnyValue::kStringValue:
      AppendJsonString(out, v.string_value());
      return;
    case common::AnyValue::kBytesValue:
      AppendJsonString(out, Base64Encode(v.bytes_value()));
      return;
    case common::AnyValue::kIntValue:
      out += std::to_string(v.int_value());
      return;
    case common::AnyValue::kDoubleValue:
      if (std::isfinite(v.double_value())) AppendJsonDouble(out, v.double_value());
      else AppendJsonString(out, FormatMetricValue(v.double_value()));
      return;
    case common::AnyValue::kBoolValue:
      out += v.bool_value() ? "true" : "false";
      return;
    case common::AnyValue::kArrayValue:
      out += '[';
      for (const common::AnyValue& element : v.array_value().values()) {
        if (out.back() != '[') out += ',';
        AppendAnyValueJson(out, element);
      }
      out += ']';
      return;
    case common::AnyValue::kKvlistValue:
      AppendKeyValuesJson(out, v.kvlist_value().values());
      return;
    case common::AnyValue::VALUE_NOT_SET:
      break;
  }
  out += "null";
}

// An attribute value as label text (the compatibility specification's rule): a string as it
// is, anything else as JSON.
std::string LabelText(const common::AnyValue& v) {
  switch (v.value_case()) {
    case common::AnyValue::kStringValue:
      return v.string_value();
    case common::AnyValue::kBytesValue:
      return Base64Encode(v.bytes_value());
    case common::AnyValue::kDoubleValue:
      return FormatMetricValue(v.double_value());
    case common::AnyValue::VALUE_NOT_SET:
      return {};
    default: {
      std::string out;
      AppendAnyValueJson(out, v);
      return out;
    }
  }
}

std::vector<std::pair<std::string, std::string>> Attributes(const pb::RepeatedPtrField<common::KeyValue>& list) {
  std::vector<std::pair<std::string, std::string>> out;
  out.reserve(static_cast<size_t>(list.size()));
  for (const common::KeyValue& kv : list) out.emplace_back(kv.key(), LabelText(kv.value()));
  return out;
}

std::string ResourceString(const pb::RepeatedPtrField<common::KeyValue>& attributes, std::string_view key) {
  for (const common::KeyValue& kv : attributes) {
    if (kv.key() == key && kv.value().value_case() == common::AnyValue::kStringValue) {
      return kv.value().string_value();
    }
  }
  return {};
}

OtlpTemporality TemporalityOf(metrics::AggregationTemporality t) {
  if (t == metrics::AGGREGATION_TEMPORALITY_DELTA) return OtlpTemporality::kDelta;
  if (t == metrics::AGGREGATION_TEMPORALITY_CUMULATIVE) return OtlpTemporality::kCumulative;
  return OtlpTemporality::kUnspecified;
}

// A time past int64 (no real clock) reads as not given.
int64_t TimeNs(uint64_t t) { return t > uint64_t{INT64_MAX} ? 0 : static_cast<int64_t>(t); }

bool NoRecordedValue(uint32_t flags) { return (flags & metrics::DATA_POINT_FLAGS_NO_RECORDED_VALUE_MASK) != 0; }

template <typename Point>
OtlpMetricPoint PointBase(const Point& p) {
  OtlpMetricPoint out;
  out.attributes = Attributes(p.attributes());
  out.time_ns = TimeNs(p.time_unix_nano());
  return out;
}

OtlpMetrics FromRequest(const collector_metrics::ExportMetricsServiceRequest& request) {
  OtlpMetrics out;
  const auto reject = [&out](int64_t n, std::string why) {
    if (n <= 0) return;
    if (out.rejected == 0) out.first_error = std::move(why);
    out.rejected += n;
  };
  for (const metrics::ResourceMetrics& rm : request.resource_metrics()) {
    std::string service = ResourceString(rm.resource().attributes(), "service.name");
    if (service.empty()) service = "unknown_service";
    const std::string instance = ResourceString(rm.resource().attributes(), "service.instance.id");
    for (const metrics::ScopeMetrics& sm : rm.scope_metrics()) {
      for (const metrics::Metric& m : sm.metrics()) {
        OtlpMetric metric{service, instance, m.name(), m.description(), m.unit(), {}, {}, false, {}};
        const auto numbers = [&](const pb::RepeatedPtrField<metrics::NumberDataPoint>& points) {
          for (const metrics::NumberDataPoint& p : points) {
            if (NoRecordedValue(p.flags())) continue;
            if (p.value_case() == metrics::NumberDataPoint::VALUE_NOT_SET) {
              reject(1, "metric '" + SanitizedUtf8(m.name()) + "': a data point without asDouble or asInt");
              continue;
            }
            OtlpMetricPoint point = PointBase(p);
            point.value = p.value_case() == metrics::NumberDataPoint::kAsInt ? static_cast<double>(p.as_int())
                                                                              : p.as_double();
            metric.points.push_back(std::move(point));
          }
        };
        switch (m.data_case()) {
          case metrics::Metric::kGauge:
            metric.kind = OtlpMetricKind::kGauge;
            numbers(m.gauge().data_points());
            break;
          case metrics::Metric::kSum:
            metric.kind = OtlpMetricKind::kSum;
            metric.temporality = TemporalityOf(m.sum().aggregation_temporality());
            metric.monotonic = m.sum().is_monotonic();
            numbers(m.sum().data_points());
            break;
          case metrics::Metric::kHistogram:
            metric.kind = OtlpMetricKind::kHistogram;
            metric.temporality = TemporalityOf(m.histogram().aggregation_temporality());
            for (const metrics::HistogramDataPoint& p : m.histogram().data_points()) {
              if (NoRecordedValue(p.flags())) continue;
              OtlpMetricPoint point = PointBase(p);
              point.count = p.count();
              if (p.has_sum()) point.sum = p.sum();
              point.bounds.assign(p.explicit_bounds().begin(), p.explicit_bounds().end());
              point.bucket_counts.assign(p.bucket_counts().begin(), p.bucket_counts().end());
              metric.points.push_back(std::move(point));
            }
            break;
          case metrics::Metric::kSummary:
            metric.kind = OtlpMetricKind::kSummary;
            for (const metrics::SummaryDataPoint& p : m.summary().data_points()) {
              if (NoRecordedValue(p.flags())) continue;
              OtlpMetricPoint point = PointBase(p);
              point.count = p.count();
              point.sum = p.sum();
              for (const auto& q : p.quantile_values()) point.quantiles.emplace_back(q.quantile(), q.value());
              metric.points.push_back(std::move(point));
            }
            break;
          case metrics::Metric::kExponentialHistogram:
            reject(m.exponential_histogram().data_points_size(),
                   "metric '" + SanitizedUtf8(m.name()) +
                       "': exponential histograms are not stored (meshd keeps explicit-bucket histograms: "
                       "configure the SDK's explicit bucket histogram aggregation)");
            continue;
          case metrics::Metric::DATA_NOT_SET:
            continue;
        }
        out.metrics.push_back(std::move(metric));
      }
    }
  }
  return out;
}

}  // namespace

Result<OtlpMetrics> DecodeOtlpMetricsProto(std::string_view body) {
  pb::Arena arena;
  auto* request = pb::Arena::CreateMessage<collector_metrics::ExportMetricsServiceRequest>(&arena);
  if (Status s = ParseOtlpProto(body, *request, "OTLP ExportMetricsServiceRequest"); !s.ok()) return s;
  return FromRequest(*request);
}

Result<OtlpMetrics> DecodeOtlpMetricsJson(std::string_view body) {
  if (Status s = CheckJsonDepth(body); !s.ok()) return s;
  pb::Arena arena;
  auto* request = pb::Arena::CreateMessage<collector_metrics::ExportMetricsServiceRequest>(&arena);
  pb::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  const pb::util::Status parsed = pb::util::JsonStringToMessage(pb::StringPiece(body.data(), body.size()), request, options);
  if (!parsed.ok()) {
    return Status::InvalidArgument("not an OTLP/JSON ExportMetricsServiceRequest: " +
                                   SanitizedUtf8(parsed.message().ToString().substr(0, 200)));
  }
  return FromRequest(*request);
}

std::string OtlpMetricsProtoResponse(int64_t rejected, const std::string& first_error) {
  collector_metrics::ExportMetricsServiceResponse response;
  if (rejected > 0) {
    response.mutable_partial_success()->set_rejected_data_points(rejected);
    response.mutable_partial_success()->set_error_message(SanitizedUtf8(first_error));
  }
  return response.SerializeAsString();
}

namespace {

// A point's place: its resource (service, instance) and attributes, from a sample's labels less
// `skip` (le or quantile).
struct PointKey {
  std::string service;
  std::string instance;
  Labels attributes;
  bool operator==(const PointKey&) const = default;
};

PointKey KeyOf(const Labels& labels, std::string_view skip) {
  PointKey key;
  for (const auto& [name, value] : labels) {
    if (name == "service") key.service = value;
    else if (name == "instance") key.instance = value;
    else if (name != skip) key.attributes.emplace_back(name, value);
  }
  return key;
}

uint64_t TimeOf(const MetricSample& s, int64_t now_ns) {
  const int64_t ns = s.timestamp_ms ? *s.timestamp_ms * 1'000'000 : now_ns;
  return static_cast<uint64_t>(std::max<int64_t>(ns, 0));
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// A request holding one metric of one resource: the caller fills its single data point.
metrics::Metric& NewPointRequest(collector_metrics::ExportMetricsServiceRequest& request, const MetricFamily& f,
                                 const PointKey& key) {
  metrics::ResourceMetrics* rm = request.add_resource_metrics();
  for (const auto& [attribute, value] : {std::pair<const char*, const std::string&>{"service.name", key.service},
                                         {"service.instance.id", key.instance}}) {
    if (value.empty()) continue;
    common::KeyValue* kv = rm->mutable_resource()->add_attributes();
    kv->set_key(attribute);
    kv->mutable_value()->set_string_value(value);
  }
  metrics::ScopeMetrics* sm = rm->add_scope_metrics();
  sm->mutable_scope()->set_name("meshd");
  metrics::Metric* m = sm->add_metrics();
  m->set_name(f.name);
  m->set_description(f.help);
  return *m;
}

template <typename Point>
void SetAttributes(Point& p, const Labels& attributes) {
  for (const auto& [name, value] : attributes) {
    common::KeyValue* kv = p.add_attributes();
    kv->set_key(name);
    kv->mutable_value()->set_string_value(value);
  }
}

// The points of a histogram or summary family, one per label set less `skip`, in order of
// first appearance.
struct GroupedPoint {
  PointKey key;
  uint64_t time = 0;
  std::vector<std::pair<double, double>> parts;  // (le or quantile, value)
  std::optional<double> sum;
  std::optional<double> count;
};

std::vector<GroupedPoint> Group(const MetricFamily& f, std::string_view skip, std::string_view part_suffix,
                                int64_t now_ns) {
  std::vector<GroupedPoint> points;
  for (const MetricSample& s : f.samples) {
    PointKey key = KeyOf(s.labels, skip);
    auto found = std::find_if(points.begin(), points.end(), [&](const GroupedPoint& p) { return p.key == key; });
    if (found == points.end()) {
      found = points.insert(points.end(), GroupedPoint{});
      found->key = std::move(key);
      found->time = TimeOf(s, now_ns);
    }
    if (EndsWith(s.name, "_sum")) {
      found->sum = s.value;
    } else if (EndsWith(s.name, "_count")) {
      found->count = s.value;
    } else if (part_suffix.empty() || EndsWith(s.name, part_suffix)) {
      const std::string& bound = LabelValue(s.labels, skip);
      double at = INFINITY;
      if (bound != "+Inf") {
        char* end = nullptr;
        at = std::strtod(bound.c_str(), &end);
        if (bound.empty() || end != bound.c_str() + bound.size() || std::isnan(at)) continue;
      }
      found->parts.emplace_back(at, s.value);
    }
  }
  return points;
}

}  // namespace

std::vector<OtlpEncodedPoint> EncodeOtlpMetricPointsProto(const std::vector<MetricFamily>& families,
                                                          int64_t now_ns) {
  std::vector<OtlpEncodedPoint> out;
  const auto emit = [&](const collector_metrics::ExportMetricsServiceRequest& request, const std::string& service) {
    out.push_back({service, request.SerializeAsString()});
  };
  for (const MetricFamily& f : families) {
    if (f.type == MetricType::kHistogram) {
      for (GroupedPoint& g : Group(f, "le", "_bucket", now_ns)) {
        collector_metrics::ExportMetricsServiceRequest request;
        metrics::Histogram* h = NewPointRequest(request, f, g.key).mutable_histogram();
        h->set_aggregation_temporality(metrics::AGGREGATION_TEMPORALITY_CUMULATIVE);
        metrics::HistogramDataPoint* p = h->add_data_points();
        p->set_time_unix_nano(g.time);
        SetAttributes(*p, g.key.attributes);
        std::sort(g.parts.begin(), g.parts.end());
        double below = 0;  // cumulative bucket counts become per-bucket counts
        for (const auto& [le, cumulative] : g.parts) {
          if (!std::isinf(le)) p->add_explicit_bounds(le);
          p->add_bucket_counts(static_cast<uint64_t>(std::max(cumulative - below, 0.0)));
          below = std::max(cumulative, below);
        }
        const double count = g.count.value_or(below);
        if (g.parts.empty() || !std::isinf(g.parts.back().first)) {
          p->add_bucket_counts(static_cast<uint64_t>(std::max(count - below, 0.0)));
        }
        p->set_count(static_cast<uint64_t>(std::max(count, 0.0)));
        if (g.sum) p->set_sum(*g.sum);
        emit(request, g.key.service);
      }
    } else if (f.type == MetricType::kSummary) {
      for (GroupedPoint& g : Group(f, "quantile", "", now_ns)) {
        collector_metrics::ExportMetricsServiceRequest request;
        metrics::SummaryDataPoint* p = NewPointRequest(request, f, g.key).mutable_summary()->add_data_points();
        p->set_time_unix_nano(g.time);
        SetAttributes(*p, g.key.attributes);
        for (const auto& [quantile, value] : g.parts) {
          metrics::SummaryDataPoint::ValueAtQuantile* q = p->add_quantile_values();
          q->set_quantile(quantile);
          q->set_value(value);
        }
        p->set_count(static_cast<uint64_t>(std::max(g.count.value_or(0), 0.0)));
        p->set_sum(g.sum.value_or(0));
        emit(request, g.key.service);
      }
    } else {
      for (const MetricSample& s : f.samples) {
        const PointKey key = KeyOf(s.labels, "");
        collector_metrics::ExportMetricsServiceRequest request;
        metrics::Metric& m = NewPointRequest(request, f, key);
        m.set_name(s.name);
        metrics::NumberDataPoint* p = nullptr;
        if (f.type == MetricType::kCounter) {
          metrics::Sum* sum = m.mutable_sum();
          sum->set_is_monotonic(true);
          sum->set_aggregation_temporality(metrics::AGGREGATION_TEMPORALITY_CUMULATIVE);
          p = sum->add_data_points();
        } else {
          p = m.mutable_gauge()->add_data_points();
        }
        p->set_time_unix_nano(TimeOf(s, now_ns));
        p->set_as_double(s.value);
        SetAttributes(*p, key.attributes);
        emit(request, key.service);
      }
    }
  }
  return out;
}

}  // namespace mesh
