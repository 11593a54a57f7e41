#include "mesh/alerting/alert_rule.h"

#include <json/value.h>

#include <cmath>
#include <cstdio>
#include <set>

#include "mesh/base/json_text.h"
#include "mesh/base/time_format.h"
#include "mesh/telemetry/prometheus_text.h"

namespace mesh {
namespace {

constexpr std::string_view kPlaceholders[] = {"service", "value", "threshold", "rule",
                                              "severity", "signal", "unit"};
constexpr int64_t kMaxWindowNs = 7 * 86400 * 1'000'000'000LL;

// Parses one rule; `where` names it in errors.
class RuleParser {
 public:
  RuleParser(const Json::Value& v, std::string where) : v_(v), where_(std::move(where)) {}

  Result<AlertRule> Parse() {
    static const std::set<std::string> kKnown = {
        "name", "signal", "level", "metric", "aggregate", "match", "service", "window", "op",
        "threshold", "for", "keep_firing_for", "resolve_threshold", "severity", "no_data", "labels",
        "annotations"};
    for (const std::string& key : v_.getMemberNames()) {
      if (!kKnown.count(key)) return Fail(key, "unknown field");
    }
    AlertRule rule;
    rule.name = v_["name"].asString();
    if (Status s = ParseSignal(rule); !s.ok()) return s;
    if (v_.isMember("service")) {
      if (!v_["service"].isString() || v_["service"].asString().empty()) {
        return Fail("service", "expected a service name or glob, like \"api\" or \"pay*\"");
      }
      rule.service = v_["service"].asString();
    }
    if (Status s = ParseDurationField("window", rule.window_ns, true); !s.ok()) return s;
    if (Status s = ParseDurationField("for", rule.for_ns, false); !s.ok()) return s;
    if (Status s = ParseDurationField("keep_firing_for", rule.keep_firing_for_ns, false); !s.ok()) return s;
    if (Status s = ParseCondition(rule); !s.ok()) return s;
    if (v_.isMember("severity")) {
      const std::string sev = v_["severity"].isString() ? v_["severity"].asString() : "";
      if (sev == "info") rule.severity = Severity::kInfo;
      else if (sev == "warning") rule.severity = Severity::kWarning;
      else if (sev == "critical") rule.severity = Severity::kCritical;
      else return Fail("severity", "expected info, warning or critical");
    }
    if (v_.isMember("no_data")) {
      const std::string no_data = v_["no_data"].isString() ? v_["no_data"].asString() : "";
      if (no_data != "ok" && no_data != "unknown") return Fail("no_data", "expected ok or unknown");
      rule.no_data_ok = no_data == "ok";
    }
    if (Status s = ParseStringMap("labels", true, rule.labels); !s.ok()) return s;
    for (const auto& [k, v] : rule.labels) {
      if (k == "alertname" || k == "service" || k == "severity") {
        return Fail("labels", "label \"" + k + "\" is set by meshalert itself");
      }
    }
    if (Status s = ParseStringMap("annotations", false, rule.annotations); !s.ok()) return s;
    for (const auto& [k, text] : rule.annotations) {
      if (Status s = CheckTemplate(k, text); !s.ok()) return s;
    }
    return rule;
  }

 private:
  Status Fail(std::string_view field, std::string_view message) const {
    return Status::InvalidArgument(where_ + ": field \"" + std::string(field) + "\": " + std::string(message));
  }

  Status ParseSignal(AlertRule& rule) {
    if (!v_["signal"].isString()) {
      return Fail("signal", "required: error_rate, request_rate, latency_p50|p90|p95|p99, log_rate, healthy_instances, saturation or metric");
    }
    rule.signal_text = v_["signal"].asString();
    AlertSignal& sig = rule.signal;
    const std::string& s = rule.signal_text;
    if (s == "error_rate") sig.kind = SignalKind::kErrorRate;
    else if (s == "request_rate") sig.kind = SignalKind::kRequestRate;
    else if (s == "latency_p50" || s == "latency_p90" || s == "latency_p95" || s == "latency_p99") {
      sig.kind = SignalKind::kLatency;
      sig.quantile = std::stod(s.substr(9)) / 100.0;
    } else if (s == "log_rate") sig.kind = SignalKind::kLogRate;
    else if (s == "metric") sig.kind = SignalKind::kMetric;
    else if (s == "healthy_instances") sig.kind = SignalKind::kHealthyInstances;
    else if (s == "saturation") sig.kind = SignalKind::kSaturation;
    else return Fail("signal", "unknown signal \"" + s + "\": expected error_rate, request_rate, latency_p50|p90|p95|p99, log_rate, healthy_instances, saturation or metric");

    if (v_.isMember("level")) {
      if (sig.kind != SignalKind::kLogRate) return Fail("level", "only for the log_rate signal");
      std::optional<LogLevel> level =
          v_["level"].isString() ? ParseLogLevel(v_["level"].asString()) : std::nullopt;
      if (!level) return Fail("level", "expected debug, info, warn, error or fatal");
      sig.level = *level;
    }
    const bool metric = sig.kind == SignalKind::kMetric;
    for (const char* field : {"aggregate", "match"}) {
      if (v_.isMember(field) && !metric) return Fail(field, "only for the metric signal");
    }
    if (v_.isMember("metric") && !metric) return Fail("metric", "only for the metric signal");
    if (!metric) return Status::Ok();
    if (!v_["metric"].isString() || !IsValidMetricName(v_["metric"].asString())) {
      return Fail("metric", "required for the metric signal: a stored series name, like process_cpu_seconds_total");
    }
    sig.metric = v_["metric"].asString();
    if (v_.isMember("aggregate")) {
      const std::string a = v_["aggregate"].isString() ? v_["aggregate"].asString() : "";
      if (a == "avg") sig.aggregate = MetricAggregate::kAvg;
      else if (a == "min") sig.aggregate = MetricAggregate::kMin;
      else if (a == "max") sig.aggregate = MetricAggregate::kMax;
      else if (a == "sum") sig.aggregate = MetricAggregate::kSum;
      else if (a == "rate") sig.aggregate = MetricAggregate::kRate;
      else return Fail("aggregate", "expected avg, min, max, sum or rate");
    }
    return ParseStringMap("match", true, sig.match);
  }

  // A duration string ("90s", "1h30m") or a number of seconds.
  Status ParseDurationField(const char* field, int64_t& out, bool positive) {
    if (!v_.isMember(field)) return Status::Ok();
    const Json::Value& f = v_[field];
    int64_t ns = -1;
    if (f.isString()) {
      Result<int64_t> d = ParseDuration(f.asString());
      if (d.ok()) ns = *d;
    } else if (f.isNumeric() && std::isfinite(f.asDouble()) && f.asDouble() >= 0 &&
               f.asDouble() * 1e9 <= static_cast<double>(kMaxWindowNs)) {
      ns = static_cast<int64_t>(std::llround(f.asDouble() * 1e9));
    }
    if (ns < 0 || ns > kMaxWindowNs || (positive && ns == 0)) {
      return Fail(field, positive ? "expected a duration from 1s to 7d, like \"1m\""
                                  : "expected a duration up to 7d, like \"60s\" (or 0)");
    }
    if (positive && ns < 1'000'000'000) return Fail(field, "expected a duration from 1s to 7d, like \"1m\"");
    out = ns;
    return Status::Ok();
  }

  Status ParseCondition(AlertRule& rule) {
    const std::string op = v_["op"].isString() ? v_["op"].asString() : "";
    if (op == ">") rule.op = CompareOp::kGt;
    else if (op == "<") rule.op = CompareOp::kLt;
    else if (op == ">=") rule.op = CompareOp::kGe;
    else if (op == "<=") rule.op = CompareOp::kLe;
    else if (op == "==") rule.op = CompareOp::kEq;
    else if (op == "!=") rule.op = CompareOp::kNe;
    else return Fail("op", "required: one of > < >= <= == !=");
    if (!v_["threshold"].isNumeric() || !std::isfinite(v_["threshold"].asDouble())) {
      return Fail("threshold", "required: a number");
    }
    rule.threshold = v_["threshold"].asDouble();
    if (!v_.isMember("resolve_threshold")) return Status::Ok();
    const Json::Value& r = v_["resolve_threshold"];
    if (!r.isNumeric() || !std::isfinite(r.asDouble())) return Fail("resolve_threshold", "expected a number");
    if (rule.op == CompareOp::kEq || rule.op == CompareOp::kNe) {
      return Fail("resolve_threshold", "needs an ordering op (> < >= <=), not " + op);
    }
    const double resolve = r.asDouble();
    const bool above = rule.op == CompareOp::kGt || rule.op == CompareOp::kGe;
    if (above ? resolve > rule.threshold : resolve < rule.threshold) {
      return Fail("resolve_threshold", std::string("must be ") + (above ? "at most" : "at least") +
                                           " the threshold, so that the alert resolves on the quiet side of it");
    }
    rule.resolve_threshold = resolve;
    return Status::Ok();
  }

  Status ParseStringMap(const char* field, bool label_names,
                        std::vector<std::pair<std::string, std::string>>& out) {
    if (!v_.isMember(field)) return Status::Ok();
    const Json::Value& m = v_[field];
    if (!m.isObject()) return Fail(field, "expected an object of strings");
    for (const std::string& key : m.getMemberNames()) {
      if (!m[key].isString()) return Fail(field, "\"" + key + "\": expected a string");
      if (label_names && !IsValidLabelName(key)) {
        return Fail(field, "\"" + key + "\" is not a valid label name ([a-zA-Z_][a-zA-Z0-9_]*)");
      }
      out.emplace_back(key, m[key].asString());
    }
    return Status::Ok();
  }

  Status CheckTemplate(const std::string& key, std::string_view text) {
    for (size_t at = text.find("{{"); at != std::string_view::npos; at = text.find("{{", at + 2)) {
      const size_t end = text.find("}}", at + 2);
      if (end == std::string_view::npos) return Fail("annotations", "\"" + key + "\": unclosed {{");
      std::string_view name = text.substr(at + 2, end - at - 2);
      while (!name.empty() && name.front() == ' ') name.remove_prefix(1);
      while (!name.empty() && name.back() == ' ') name.remove_suffix(1);
      bool known = false;
      for (std::string_view p : kPlaceholders) known = known || p == name;
      if (!known) {
        return Fail("annotations", "\"" + key + "\": unknown placeholder {{" + std::string(name) +
                                       "}} (known: service, value, threshold, rule, severity, signal, unit)");
      }
    }
    return Status::Ok();
  }

  const Json::Value& v_;
  std::string where_;
};

bool MatchSet(std::string_view pattern, size_t& p, char c) {
  // pattern[p] is '['; on return p is just past ']'.
  size_t i = p + 1;
  const bool negate = i < pattern.size() && (pattern[i] == '!' || pattern[i] == '^');
  if (negate) ++i;
  bool matched = false;
  bool first = true;
  while (i < pattern.size() && (first || pattern[i] != ']')) {
    first = false;
    if (i + 2 < pattern.size() && pattern[i + 1] == '-' && pattern[i + 2] != ']') {
      matched = matched || (c >= pattern[i] && c <= pattern[i + 2]);
      i += 3;
    } else {
      matched = matched || c == pattern[i];
      ++i;
    }
  }
  p = i < pattern.size() ? i + 1 : i;
  return matched != negate;
}

}  // namespace

Result<std::vector<AlertRule>> ParseAlertRules(std::string_view json) {
  Result<Json::Value> doc = ParseJson(json);
  if (!doc.ok()) return Status::InvalidArgument("rules file: " + doc.status().message());
  const Json::Value* list = &*doc;
  if (doc->isObject()) {
    for (const std::string& key : doc->getMemberNames()) {
      if (key != "rules" && key != "defaults") {
        return Status::InvalidArgument("rules file: unknown field \"" + key + "\" (expected \"rules\" or \"defaults\")");
      }
    }
    if (doc->isMember("defaults") && !(*doc)["defaults"].isBool()) {
      return Status::InvalidArgument("rules file: field \"defaults\": expected true or false (whether the built-in rules apply)");
    }
    list = &(*doc)["rules"];
  }
  if (!list->isArray()) {
    return Status::InvalidArgument("rules file: expected {\"rules\": [...]} or an array of rules");
  }
  std::vector<AlertRule> rules;
  std::set<std::string> names;
  for (Json::ArrayIndex i = 0; i < list->size(); ++i) {
    const Json::Value& v = (*list)[i];
    std::string where = "rule #" + std::to_string(i + 1);
    if (!v.isObject()) return Status::InvalidArgument(where + ": expected an object");
    if (!v["name"].isString() || v["name"].asString().empty()) {
      return Status::InvalidArgument(where + ": field \"name\": required: a non-empty string");
    }
    const std::string name = v["name"].asString();
    for (unsigned char c : name) {
      if (c < 0x20 || c == 0x7f) return Status::InvalidArgument(where + ": field \"name\": control character");
    }
    where = "rule \"" + name + "\"";
    if (!names.insert(name).second) return Status::InvalidArgument(where + ": field \"name\": defined twice");
    Result<AlertRule> rule = RuleParser(v, where).Parse();
    if (!rule.ok()) return rule.status();
    rules.push_back(std::move(rule).value());
  }
  return rules;
}

bool Compare(CompareOp op, double value, double threshold) {
  switch (op) {
    case CompareOp::kGt: return value > threshold;
    case CompareOp::kLt: return value < threshold;
    case CompareOp::kGe: return value >= threshold;
    case CompareOp::kLe: return value <= threshold;
    case CompareOp::kEq: return value == threshold;
    case CompareOp::kNe: return value != threshold;
  }
  return false;
}

std::string_view CompareOpText(CompareOp op) {
  switch (op) {
    case CompareOp::kGt: return ">";
    case CompareOp::kLt: return "<";
    case CompareOp::kGe: return ">=";
    case CompareOp::kLe: return "<=";
    case CompareOp::kEq: return "==";
    case CompareOp::kNe: return "!=";
  }
  return "?";
}

std::string_view SeverityName(Severity severity) {
  switch (severity) {
    case Severity::kInfo: return "info";
    case Severity::kWarning: return "warning";
    case Severity::kCritical: return "critical";
  }
  return "?";
}

std::string_view SignalUnit(const AlertSignal& signal) {
  switch (signal.kind) {
    case SignalKind::kErrorRate: return "%";
    case SignalKind::kRequestRate: return "req/s";
    case SignalKind::kLatency: return "ms";
    case SignalKind::kLogRate: return "/s";
    case SignalKind::kHealthyInstances: return "";
    case SignalKind::kSaturation: return "/s";
    case SignalKind::kMetric: return signal.aggregate == MetricAggregate::kRate ? "/s" : "";
  }
  return "";
}

bool GlobMatch(std::string_view pattern, std::string_view text) {
  // Iterative with one backtrack point for the last '*': linear in practice, no recursion.
  size_t p = 0, t = 0;
  size_t star_p = std::string_view::npos, star_t = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star_p = p++;
      star_t = t;
      continue;
    }
    if (p < pattern.size()) {
      size_t next = p;
      bool ok;
      if (pattern[p] == '[') {
        ok = MatchSet(pattern, next, text[t]);
      } else {
        ok = pattern[p] == '?' || pattern[p] == text[t];
        ++next;
      }
      if (ok) {
        p = next;
        ++t;
        continue;
      }
    }
    if (star_p == std::string_view::npos) return false;
    p = star_p + 1;
    t = ++star_t;
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

std::string FormatAlertValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  // %.3f writes every integer digit: DBL_MAX takes 309 of them, plus sign, point and decimals.
  char buf[320];
  std::snprintf(buf, sizeof buf, "%.3f", value);
  std::string s = buf;
  while (!s.empty() && s.back() == '0') s.pop_back();
  if (!s.empty() && s.back() == '.') s.pop_back();
  if (s == "-0") s = "0";
  return s;
}

std::string ExpandTemplate(std::string_view text, const AlertRule& rule, const TemplateValues& values) {
  std::string out;
  size_t at = 0;
  while (at < text.size()) {
    const size_t open = text.find("{{", at);
    const size_t close = open == std::string_view::npos ? open : text.find("}}", open + 2);
    if (close == std::string_view::npos) break;
    out.append(text.substr(at, open - at));
    std::string_view name = text.substr(open + 2, close - open - 2);
    while (!name.empty() && name.front() == ' ') name.remove_prefix(1);
    while (!name.empty() && name.back() == ' ') name.remove_suffix(1);
    if (name == "service") out += values.service;
    else if (name == "value") out += values.value ? FormatAlertValue(*values.value) : "no data";
    else if (name == "threshold") out += FormatAlertValue(rule.threshold);
    else if (name == "rule") out += rule.name;
    else if (name == "severity") out += SeverityName(rule.severity);
    else if (name == "signal") out += rule.signal_text;
    else if (name == "unit") out += SignalUnit(rule.signal);
    else out.append(text.substr(open, close + 2 - open));
    at = close + 2;
  }
  out.append(text.substr(at));
  return out;
}

}  // namespace mesh
