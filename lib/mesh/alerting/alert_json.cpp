#include "mesh/alerting/alert_json.h"

#include <json/value.h>

#include "mesh/base/json_text.h"
#include "mesh/base/time_format.h"

namespace mesh {
namespace {

// A small builder for flat objects: keeps the encoders one line per field.
class ObjectWriter {
 public:
  ObjectWriter& Str(const char* key, std::string_view v) {
    Key(key);
    AppendJsonString(out_, v);
    return *this;
  }
  ObjectWriter& StrOrNull(const char* key, std::string_view v) {
    if (v.empty()) return Raw(key, "null");
    return Str(key, v);
  }
  ObjectWriter& Int(const char* key, int64_t v) { return Raw(key, std::to_string(v)); }
  ObjectWriter& Bool(const char* key, bool v) { return Raw(key, v ? "true" : "false"); }
  ObjectWriter& Num(const char* key, const std::optional<double>& v) {
    Key(key);
    if (v) AppendJsonDouble(out_, *v);
    else out_ += "null";
    return *this;
  }
  ObjectWriter& Time(const char* key, int64_t ns) {
    if (ns == 0) return Raw(key, "null");
    return Str(key, FormatRfc3339(ns));
  }
  ObjectWriter& Raw(const char* key, std::string_view json) {
    Key(key);
    out_ += json;
    return *this;
  }
  std::string Done() { return out_ + "}"; }

 private:
  void Key(const char* key) {
    out_ += out_.size() > 1 ? ",\"" : "\"";
    out_ += key;
    out_ += "\":";
  }
  std::string out_ = "{";
};

// Reads fields of one object; the first problem is kept and reported once.
class ObjectReader {
 public:
  explicit ObjectReader(const Json::Value& v) : v_(v) {}
  std::string Str(const char* key) { return v_[key].isString() ? v_[key].asString() : std::string(); }
  int64_t Int(const char* key) { return v_[key].isIntegral() ? v_[key].asInt64() : 0; }
  bool Bool(const char* key) { return v_[key].isBool() && v_[key].asBool(); }
  std::optional<double> Num(const char* key) {
    if (v_[key].isNumeric()) return v_[key].asDouble();
    return std::nullopt;
  }
  int64_t Time(const char* key) {
    if (!v_[key].isString()) return 0;
    Result<int64_t> t = ParseRfc3339(v_[key].asString());
    if (!t.ok()) {
      if (error_.ok()) error_ = Status::Corruption(std::string("field ") + key + ": " + t.status().message());
      return 0;
    }
    return *t;
  }
  const Status& error() const { return error_; }

 private:
  const Json::Value& v_;
  Status error_;
};

AlertPhase ParsePhase(const std::string& s) {
  if (s == "firing") return AlertPhase::kFiring;
  if (s == "pending") return AlertPhase::kPending;
  return AlertPhase::kInactive;
}

AlertTransition ParseTransition(const std::string& s) {
  for (AlertTransition t : {AlertTransition::kPending, AlertTransition::kFiring, AlertTransition::kResolved,
                            AlertTransition::kCancelled}) {
    if (TransitionName(t) == s) return t;
  }
  return AlertTransition::kNone;
}

Severity ParseSeverity(const std::string& s) {
  if (s == "critical") return Severity::kCritical;
  if (s == "info") return Severity::kInfo;
  return Severity::kWarning;
}

int ParseStatus(const std::string& s) {
  for (int status : {kStatusOk, kStatusWarning, kStatusCritical}) {
    if (PluginStatusName(status) == s) return status;
  }
  return kStatusUnknown;
}

void WriteState(ObjectWriter& w, const AlertState& s) {
  w.Str("state", AlertPhaseName(s.phase))
      .Num("value", s.last_value)
      .Time("active_since", s.active_since_ns)
      .Time("fired_at", s.fired_at_ns)
      .Time("quiet_since", s.quiet_since_ns)
      .Time("resolved_at", s.resolved_at_ns)
      .Time("evaluated_at", s.last_eval_ns);
}

AlertState ReadState(ObjectReader& r) {
  AlertState s;
  s.phase = ParsePhase(r.Str("state"));
  s.last_value = r.Num("value");
  s.active_since_ns = r.Time("active_since");
  s.fired_at_ns = r.Time("fired_at");
  s.quiet_since_ns = r.Time("quiet_since");
  s.resolved_at_ns = r.Time("resolved_at");
  s.last_eval_ns = r.Time("evaluated_at");
  return s;
}

constexpr std::pair<AlertSinkBit, const char*> kSinkNames[] = {
    {kSinkAlertmanager, "alertmanager"}, {kSinkWebhook, "webhook"}, {kSinkExec, "exec"}};

template <typename T, typename Read>
Result<std::vector<T>> ParseArray(std::string_view json, const char* what, Read read) {
  Result<Json::Value> doc = ParseJson(json);
  if (!doc.ok()) return Status::Corruption(std::string(what) + ": " + doc.status().message());
  if (!doc->isArray()) return Status::Corruption(std::string(what) + ": expected an array");
  std::vector<T> out;
  for (const Json::Value& v : *doc) {
    if (!v.isObject()) return Status::Corruption(std::string(what) + ": expected objects");
    ObjectReader r(v);
    out.push_back(read(r, v));
    if (!r.error().ok()) return r.error().WithContext(what);
  }
  return out;
}

template <typename T, typename Encode>
std::string ArrayJson(const std::vector<T>& items, Encode encode) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) out += (i ? "," : "") + encode(items[i]);
  return out + "]";
}

}  // namespace

std::string AlertResultJson(const AlertResult& a) {
  ObjectWriter w;
  w.Str("rule", a.rule).Str("service", a.service).Str("status", PluginStatusName(a.status));
  w.Str("severity", SeverityName(a.severity));
  WriteState(w, a.state);
  return w.StrOrNull("transition", TransitionName(a.transition))
      .Str("summary", a.summary)
      .Bool("silenced", a.silenced)
      .StrOrNull("notify_error", a.notify_error)
      .Done();
}

std::string StoredAlertJson(const StoredAlert& a) {
  ObjectWriter w;
  w.Str("rule", a.rule).Str("service", a.service).Str("severity", a.severity);
  WriteState(w, a.state);
  std::string pending = "[";
  for (const auto& [bit, name] : kSinkNames) {
    if (!(a.pending_sinks & bit)) continue;
    if (pending.size() > 1) pending += ',';
    AppendJsonString(pending, name);
  }
  pending += ']';
  return w.Raw("pending_notifications", pending)
      .Time("notified_at", a.notified_ns)
      .StrOrNull("notify_error", a.notify_error)
      .Done();
}

std::string AlertEventJson(const AlertEvent& e) {
  ObjectWriter w;
  return w.Int("id", e.id)
      .Time("time", e.ts_ns)
      .Str("rule", e.rule)
      .Str("service", e.service)
      .Str("event", e.event)
      .Str("severity", e.severity)
      .Num("value", e.value)
      .StrOrNull("detail", e.detail)
      .Done();
}

std::string SilenceJson(const Silence& s) {
  ObjectWriter w;
  return w.Int("id", s.id)
      .Str("rule", s.rule)
      .Str("service", s.service)
      .Time("starts_at", s.starts_ns)
      .Time("ends_at", s.ends_ns)
      .Str("comment", s.comment)
      .Str("created_by", s.created_by)
      .Done();
}

std::string StoredAlertsJson(const std::vector<StoredAlert>& alerts) { return ArrayJson(alerts, StoredAlertJson); }
std::string AlertEventsJson(const std::vector<AlertEvent>& events) { return ArrayJson(events, AlertEventJson); }
std::string SilencesJson(const std::vector<Silence>& silences) { return ArrayJson(silences, SilenceJson); }

std::string AlertCheckReportJson(const AlertCheckReport& report) {
  std::string results = "[";
  for (size_t i = 0; i < report.results.size(); ++i) {
    if (i) results += ',';
    results += AlertResultJson(report.results[i]);
  }
  results += ']';
  ObjectWriter w;
  return w.Int("exit_code", report.exit_code)
      .Int("sent", report.notifications_sent)
      .Int("failed", report.notifications_failed)
      .Raw("results", results)
      .Done();
}

Result<AlertCheckReport> ParseAlertCheckReport(std::string_view json) {
  Result<Json::Value> doc = ParseJson(json);
  if (!doc.ok()) return Status::Corruption("check report: " + doc.status().message());
  if (!doc->isObject() || !(*doc)["results"].isArray()) return Status::Corruption("check report: expected {\"results\": [...]}");
  AlertCheckReport report;
  ObjectReader top(*doc);
  report.exit_code = static_cast<int>(top.Int("exit_code"));
  report.notifications_sent = static_cast<int>(top.Int("sent"));
  report.notifications_failed = static_cast<int>(top.Int("failed"));
  for (const Json::Value& v : (*doc)["results"]) {
    // jsoncpp throws when a non-object is read by key.
    if (!v.isObject()) return Status::Corruption("check report: expected objects in results");
    ObjectReader r(v);
    AlertResult a;
    a.rule = r.Str("rule");
    a.service = r.Str("service");
    a.status = ParseStatus(r.Str("status"));
    a.severity = ParseSeverity(r.Str("severity"));
    a.state = ReadState(r);
    a.value = a.state.last_value;
    a.transition = ParseTransition(r.Str("transition"));
    a.summary = r.Str("summary");
    a.silenced = r.Bool("silenced");
    a.notify_error = r.Str("notify_error");
    if (!r.error().ok()) return r.error().WithContext("check report");
    report.results.push_back(std::move(a));
  }
  return report;
}

Result<std::vector<StoredAlert>> ParseStoredAlerts(std::string_view json) {
  return ParseArray<StoredAlert>(json, "alerts", [](ObjectReader& r, const Json::Value& v) {
    StoredAlert a;
    a.rule = r.Str("rule");
    a.service = r.Str("service");
    a.severity = r.Str("severity");
    a.state = ReadState(r);
    for (const Json::Value& name : v["pending_notifications"]) {
      for (const auto& [bit, known] : kSinkNames) {
        if (name.isString() && name.asString() == known) a.pending_sinks |= bit;
      }
    }
    a.notified_ns = r.Time("notified_at");
    a.notify_error = r.Str("notify_error");
    return a;
  });
}

Result<std::vector<AlertEvent>> ParseAlertEvents(std::string_view json) {
  return ParseArray<AlertEvent>(json, "events", [](ObjectReader& r, const Json::Value&) {
    return AlertEvent{r.Int("id"),     r.Time("time"),     r.Str("rule"),  r.Str("service"),
                      r.Str("event"), r.Str("severity"), r.Num("value"), r.Str("detail")};
  });
}

Result<std::vector<Silence>> ParseSilences(std::string_view json) {
  return ParseArray<Silence>(json, "silences", [](ObjectReader& r, const Json::Value&) {
    return Silence{r.Int("id"), r.Str("rule"), r.Str("service"), r.Time("starts_at"),
                   r.Time("ends_at"), r.Str("comment"), r.Str("created_by")};
  });
}

std::string AlertCheckRequestJson(const AlertCheckRequest& request) {
  ObjectWriter w;
  return w.Raw("rules", request.rules_json)
      .Str("at", FormatUnixSeconds(request.at_ns))
      .Int("repeat_interval_ns", request.repeat_interval_ns)
      .Str("external_url", request.external_url)
      .Str("alertmanager", request.alertmanager)
      .Str("webhook", request.webhook)
      .Done();
}

Result<AlertCheckRequest> ParseAlertCheckRequest(std::string_view json, int64_t now_ns) {
  Result<Json::Value> body = ParseJson(json);
  if (!body.ok()) return Status::InvalidArgument(body.status().message());
  if (!body->isObject()) return Status::InvalidArgument("expected a JSON object");
  AlertCheckRequest request;
  AppendJsonValue(request.rules_json, (*body)["rules"]);
  request.at_ns = now_ns;
  if ((*body)["at"].isString()) {
    Result<int64_t> at = ParseTimeSpec((*body)["at"].asString(), now_ns);
    if (!at.ok()) return Status::InvalidArgument("at: " + at.status().message());
    request.at_ns = *at;
  }
  const Json::Value& repeat = (*body)["repeat_interval_ns"];
  if (!repeat.isNull() && (!repeat.isInt64() || repeat.asInt64() < 0)) {
    return Status::InvalidArgument("repeat_interval_ns must be a non-negative integer");
  }
  request.repeat_interval_ns = repeat.isNull() ? 0 : repeat.asInt64();
  ObjectReader r(*body);
  request.external_url = r.Str("external_url");
  request.alertmanager = r.Str("alertmanager");
  request.webhook = r.Str("webhook");
  return request;
}

}  // namespace mesh
