#include "mesh/telemetry/span_stats.h"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <unordered_map>

#include "mesh/base/json_text.h"

namespace mesh {
namespace {

// Log-linear buckets: values below 32 have one bucket each; above, each power of two is cut
// into 32 equal sub-buckets, so a bucket is at most 1/32 of its lower bound wide.
constexpr int kSubBits = 5;
constexpr int64_t kSub = int64_t{1} << kSubBits;

int BucketOf(int64_t v) {
  if (v < kSub) return static_cast<int>(v);
  const int exponent = 63 - std::countl_zero(static_cast<uint64_t>(v));  // v >= 2^exponent
  const int shift = exponent - kSubBits;
  const int64_t sub = (v >> shift) - kSub;  // 0..31
  return static_cast<int>((shift + 1) * kSub + sub);
}

// The largest value that falls in bucket b.
int64_t UpperBound(int b) {
  if (b < kSub) return b;
  const int shift = b / static_cast<int>(kSub) - 1;
  const int64_t sub = b % kSub;
  const uint64_t lower = static_cast<uint64_t>(kSub + sub) << shift;
  const uint64_t upper = lower + ((uint64_t{1} << shift) - 1);
  return upper > static_cast<uint64_t>(INT64_MAX) ? INT64_MAX : static_cast<int64_t>(upper);
}

}  // namespace

void DurationHistogram::Add(int64_t duration_ns) {
  const int64_t v = std::max<int64_t>(duration_ns, 0);
  ++buckets_[BucketOf(v)];
  ++count_;
  max_ = std::max(max_, v);
}

int64_t DurationHistogram::Quantile(double q) const {
  if (count_ == 0) return 0;
  q = std::clamp(q, 0.0, 1.0);
  // The rank of the q-quantile, 1-based: the smallest value with at least q of the count at or
  // below it.
  const auto rank = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(q * static_cast<double>(count_))));
  int64_t seen = 0;
  for (const auto& [bucket, n] : buckets_) {
    seen += n;
    if (seen >= rank) return std::min(UpperBound(bucket), max_);
  }
  return max_;
}

void DurationHistogram::Merge(const DurationHistogram& other) {
  for (const auto& [bucket, n] : other.buckets_) buckets_[bucket] += n;
  count_ += other.count_;
  max_ = std::max(max_, other.max_);
}

std::string DurationHistogram::Encode() const {
  std::string out = std::to_string(max_) + ";";
  for (const auto& [bucket, n] : buckets_) {
    if (out.back() != ';') out += ',';
    out += std::to_string(bucket) + ":" + std::to_string(n);
  }
  return out;
}

Result<DurationHistogram> DurationHistogram::Decode(std::string_view text) {
  const auto number = [](std::string_view digits, int64_t& out) {
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), out);
    return ec == std::errc() && end == digits.data() + digits.size() && out >= 0;
  };
  const auto bad = [&] { return Status::InvalidArgument("bad duration histogram: " + std::string(text.substr(0, 64))); };
  DurationHistogram h;
  const size_t semi = text.find(';');
  if (semi == std::string_view::npos || !number(text.substr(0, semi), h.max_) || text.back() == ',') return bad();
  constexpr int64_t kMaxBucket = 64 * kSub;
  for (size_t at = semi + 1; at < text.size();) {
    const size_t end = std::min(text.find(',', at), text.size());
    const std::string_view pair = text.substr(at, end - at);
    const size_t colon = pair.find(':');
    int64_t bucket = 0, n = 0;
    if (colon == std::string_view::npos || !number(pair.substr(0, colon), bucket) || bucket >= kMaxBucket ||
        !number(pair.substr(colon + 1), n) || n == 0 || n > INT64_MAX - h.count_) {
      return bad();
    }
    h.buckets_[static_cast<int>(bucket)] += n;
    h.count_ += n;
    at = end + 1;
  }
  return h;
}

void SpanStats::AddSpan(const std::string& service, const std::string& operation,
                        int64_t duration_ns, bool error) {
  Op& op = ops_[{service, operation}];
  op.durations.Add(duration_ns);
  if (error) ++op.errors;
}

void SpanStats::AddCall(const std::string& caller, const std::string& callee, bool error) {
  EdgeStats& e = edges_[{caller, callee}];
  e.caller = caller;
  e.callee = callee;
  ++e.calls;
  if (error) ++e.errors;
}

void SpanStats::AddTrace(const std::vector<Span>& spans) {
  std::unordered_map<std::string_view, const Span*> by_id;
  for (const Span& s : spans) by_id.emplace(s.span_id, &s);
  for (const Span& s : spans) {
    const bool error = s.status == SpanStatus::kError;
    AddSpan(s.service, s.name, s.duration_ns, error);
    if (s.parent_span_id.empty()) continue;
    const auto parent = by_id.find(s.parent_span_id);
    if (parent != by_id.end() && parent->second->service != s.service) {
      AddCall(parent->second->service, s.service, error);
    }
  }
}

std::vector<OperationStats> SpanStats::Operations() const {
  std::vector<OperationStats> out;
  out.reserve(ops_.size());
  for (const auto& [key, op] : ops_) {
    OperationStats o;
    o.service = key.first;
    o.operation = key.second;
    o.count = op.durations.count();
    o.errors = op.errors;
    o.p50_ns = op.durations.Quantile(0.50);
    o.p95_ns = op.durations.Quantile(0.95);
    o.p99_ns = op.durations.Quantile(0.99);
    out.push_back(std::move(o));
  }
  return out;
}

std::vector<EdgeStats> SpanStats::Edges() const {
  std::vector<EdgeStats> out;
  out.reserve(edges_.size());
  for (const auto& [key, e] : edges_) out.push_back(e);
  return out;
}

namespace {

void AppendMs(std::string& out, int64_t ns) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6f", static_cast<double>(ns) / 1e6);
  out += buf;
}

int64_t MsToNs(const Json::Value& v) { return static_cast<int64_t>(std::llround(v.asDouble() * 1e6)); }

}  // namespace

std::string EncodeSpanStatsJson(const std::vector<OperationStats>& ops,
                                const std::vector<EdgeStats>& edges) {
  std::string out = "{\"operations\":[";
  for (size_t i = 0; i < ops.size(); ++i) {
    const OperationStats& o = ops[i];
    if (i) out += ',';
    out += "{\"service\":";
    AppendJsonString(out, o.service);
    out += ",\"operation\":";
    AppendJsonString(out, o.operation);
    out += ",\"count\":" + std::to_string(o.count) + ",\"errors\":" + std::to_string(o.errors);
    char rate[32];
    std::snprintf(rate, sizeof rate, "%.2f",
                  o.count ? 100.0 * static_cast<double>(o.errors) / static_cast<double>(o.count) : 0.0);
    out += ",\"error_rate\":";
    out += rate;
    out += ",\"p50_ms\":";
    AppendMs(out, o.p50_ns);
    out += ",\"p95_ms\":";
    AppendMs(out, o.p95_ns);
    out += ",\"p99_ms\":";
    AppendMs(out, o.p99_ns);
    out += '}';
  }
  out += "],\"edges\":[";
  for (size_t i = 0; i < edges.size(); ++i) {
    const EdgeStats& e = edges[i];
    if (i) out += ',';
    out += "{\"caller\":";
    AppendJsonString(out, e.caller);
    out += ",\"callee\":";
    AppendJsonString(out, e.callee);
    out += ",\"calls\":" + std::to_string(e.calls) + ",\"errors\":" + std::to_string(e.errors) + '}';
  }
  out += "]}";
  return out;
}

Status DecodeSpanStatsJson(std::string_view json, std::vector<OperationStats>& ops,
                           std::vector<EdgeStats>& edges) {
  Result<Json::Value> doc = ParseJson(json);
  if (!doc.ok()) return doc.status();
  // jsoncpp throws on a member lookup in anything but an object: check kinds first.
  const Status shape = Status::InvalidArgument("expected {\"operations\":[...],\"edges\":[...]}");
  if (!doc->isObject()) return shape;
  const Json::Value& o = (*doc)["operations"];
  const Json::Value& e = (*doc)["edges"];
  if (!o.isArray() || !e.isArray()) return shape;
  for (const Json::Value& v : o) {
    if (!v.isObject() || !v["service"].isString() || !v["operation"].isString() || !v["count"].isInt64() ||
        !v["errors"].isInt64() || !v["p50_ms"].isNumeric() || !v["p95_ms"].isNumeric() ||
        !v["p99_ms"].isNumeric()) {
      return Status::InvalidArgument("malformed operation in span statistics");
    }
    ops.push_back({v["service"].asString(), v["operation"].asString(), v["count"].asInt64(),
                   v["errors"].asInt64(), MsToNs(v["p50_ms"]), MsToNs(v["p95_ms"]),
                   MsToNs(v["p99_ms"])});
  }
  for (const Json::Value& v : e) {
    if (!v.isObject() || !v["caller"].isString() || !v["callee"].isString() || !v["calls"].isInt64() ||
        !v["errors"].isInt64()) {
      return Status::InvalidArgument("malformed edge in span statistics");
    }
    edges.push_back({v["caller"].asString(), v["callee"].asString(), v["calls"].asInt64(),
                     v["errors"].asInt64()});
  }
  return Status::Ok();
}

}  // namespace mesh
