#include "mesh/alerting/alert_engine.h"

#include <algorithm>
#include <map>
#include <set>

namespace mesh {
namespace {

bool IsGlob(const std::string& pattern) { return pattern.find_first_of("*?[") != std::string::npos; }

std::string SignalLabel(const AlertRule& rule) {
  if (rule.signal.kind != SignalKind::kMetric) return rule.signal_text;
  static const char* kAggregates[] = {"avg", "min", "max", "sum", "rate"};
  return std::string(kAggregates[static_cast<int>(rule.signal.aggregate)]) + "(" + rule.signal.metric + ")";
}

std::string Summary(const AlertRule& rule, const std::optional<double>& value, const AlertState& state) {
  const std::string unit(SignalUnit(rule.signal));
  std::string s = SignalLabel(rule);
  if (!value) return s + ": no data";
  s += " " + FormatAlertValue(*value) + unit + " ";
  const std::string op(CompareOpText(rule.op));
  // The line names the rule's threshold; a firing alert held by its resolve threshold
  // (hysteresis) says which bar holds it.
  if (state.phase == AlertPhase::kFiring && !Compare(rule.op, *value, rule.threshold)) {
    if (rule.resolve_threshold && Compare(rule.op, *value, *rule.resolve_threshold)) {
      return s + op + " " + FormatAlertValue(*rule.resolve_threshold) + unit + " (the resolve threshold; fires " +
             op + " " + FormatAlertValue(rule.threshold) + unit + ")";
    }
    return s + "(firing kept until keep_firing_for passes)";
  }
  s += Compare(rule.op, *value, rule.threshold) ? op : "not " + op;
  return s + " " + FormatAlertValue(rule.threshold) + unit;
}

int StatusOf(const AlertRule& rule, const AlertState& state, const std::optional<double>& value, bool silenced) {
  if (state.phase == AlertPhase::kFiring && !silenced) {
    switch (rule.severity) {
      case Severity::kCritical: return kStatusCritical;
      case Severity::kWarning: return kStatusWarning;
      case Severity::kInfo: return kStatusOk;
    }
  }
  return value || silenced || rule.no_data_ok ? kStatusOk : kStatusUnknown;
}

int Rank(int status) {
  switch (status) {
    case kStatusCritical: return 3;
    case kStatusWarning: return 2;
    case kStatusUnknown: return 1;
    default: return 0;
  }
}

}  // namespace

std::string_view PluginStatusName(int status) {
  switch (status) {
    case kStatusOk: return "OK";
    case kStatusWarning: return "WARNING";
    case kStatusCritical: return "CRITICAL";
    default: return "UNKNOWN";
  }
}

int WorseStatus(int a, int b) { return Rank(a) >= Rank(b) ? a : b; }

AlertNotice MakeNotice(const AlertRule& rule, const StoredAlert& alert, const std::string& external_url) {
  AlertNotice n;
  n.rule = rule.name;
  n.service = alert.service;
  n.firing = alert.state.phase == AlertPhase::kFiring;
  n.labels = {{"alertname", rule.name}, {"service", alert.service}, {"severity", std::string(SeverityName(rule.severity))}};
  n.labels.insert(n.labels.end(), rule.labels.begin(), rule.labels.end());
  std::sort(n.labels.begin(), n.labels.end());
  const TemplateValues values{alert.service, alert.state.last_value};
  for (const auto& [key, text] : rule.annotations) n.annotations.emplace_back(key, ExpandTemplate(text, rule, values));
  std::sort(n.annotations.begin(), n.annotations.end());
  n.starts_at_ns = alert.state.fired_at_ns;
  n.ends_at_ns = alert.state.resolved_at_ns;
  n.value = alert.state.last_value;
  if (!external_url.empty()) n.generator_url = external_url + "/dashboard";
  return n;
}

Result<std::vector<std::string>> AlertEngine::ServicesOf(const AlertRule& rule, const std::vector<StoredAlert>& stored) {
  if (!IsGlob(rule.service)) return std::vector<std::string>{rule.service};
  Result<std::vector<std::string>> known = source_.Services(rule.signal);
  if (!known.ok()) return known.status();
  std::set<std::string> services;
  for (const std::string& s : *known) {
    if (GlobMatch(rule.service, s)) services.insert(s);
  }
  // An active alert of a service that stopped reporting is still evaluated (as no data), so
  // that it neither vanishes nor resolves unseen.
  for (const StoredAlert& a : stored) {
    if (a.rule == rule.name && a.state.phase != AlertPhase::kInactive && GlobMatch(rule.service, a.service)) {
      services.insert(a.service);
    }
  }
  return std::vector<std::string>(services.begin(), services.end());
}

Result<AlertCheckReport> AlertEngine::Check(const std::vector<AlertRule>& rules, const AlertCheckOptions& options) {
  std::vector<std::string> names;
  for (const AlertRule& r : rules) names.push_back(r.name);
  Result<std::vector<StoredAlert>> stored = store_.Load(names);
  if (!stored.ok()) return stored.status();
  std::map<std::pair<std::string, std::string>, const StoredAlert*> previous;
  for (const StoredAlert& a : *stored) previous[{a.rule, a.service}] = &a;
  Result<std::vector<Silence>> silences = store_.Silences(options.at_ns, false);
  if (!silences.ok()) return silences.status();
  uint32_t configured = 0;
  for (const AlertSink* sink : sinks_) configured |= sink->bit();

  const int64_t at = options.at_ns;
  AlertCheckReport report;
  std::vector<StoredAlert>& alerts = report.alerts;
  std::vector<AlertEvent>& events = report.events;
  for (const AlertRule& rule : rules) {
    Result<std::vector<std::string>> services = ServicesOf(rule, *stored);
    if (!services.ok()) return services.status();
    if (services->empty()) {
      AlertResult none{rule.name, rule.service, rule.severity, {}, AlertTransition::kNone, std::nullopt,
                       SignalLabel(rule) + ": no data (no service matches \"" + rule.service + "\")",
                       false, rule.no_data_ok ? kStatusOk : kStatusUnknown, ""};
      report.results.push_back(std::move(none));
      continue;
    }
    for (const std::string& service : *services) {
      StoredAlert a;
      if (auto it = previous.find({rule.name, service}); it != previous.end()) a = *it->second;
      a.rule = rule.name;
      a.service = service;
      a.severity = std::string(SeverityName(rule.severity));
      Result<std::optional<double>> value = source_.Measure(rule.signal, service, rule.window_ns, at);
      if (!value.ok()) return value.status();
      const AlertStep step = AdvanceAlert(rule, a.state, *value, at);
      a.state = step.state;
      if (step.transition == AlertTransition::kFiring || step.transition == AlertTransition::kResolved) {
        a.pending_sinks |= configured;
      } else if (a.state.phase == AlertPhase::kFiring && options.repeat_interval_ns > 0 &&
                 at - a.notified_ns >= options.repeat_interval_ns) {
        a.pending_sinks |= configured;
      }
      if (step.transition != AlertTransition::kNone) {
        events.push_back({0, at, rule.name, service, std::string(TransitionName(step.transition)), a.severity, *value, ""});
      }
      const bool silenced = std::any_of(silences->begin(), silences->end(),
                                        [&](const Silence& s) { return s.Matches(rule.name, service, at); });
      report.results.push_back({rule.name, service, rule.severity, a.state, step.transition, *value,
                                Summary(rule, *value, a.state), silenced, StatusOf(rule, a.state, *value, silenced), ""});
      alerts.push_back(std::move(a));
    }
  }
  Deliver(rules, options, report);
  for (const AlertResult& r : report.results) report.exit_code = WorseStatus(report.exit_code, r.status);
  return report;
}

void AlertEngine::Deliver(const std::vector<AlertRule>& rules, const AlertCheckOptions& options,
                          AlertCheckReport& report) {
  std::vector<StoredAlert>& alerts = report.alerts;
  std::vector<AlertResult>& results = report.results;
  std::vector<AlertEvent>& events = report.events;
  std::map<std::string, const AlertRule*> by_name;
  for (const AlertRule& r : rules) by_name[r.name] = &r;
  // results and alerts share an order, except for the rules that matched no service.
  std::map<std::pair<std::string, std::string>, AlertResult*> result_of;
  for (AlertResult& r : results) result_of[{r.rule, r.service}] = &r;
  for (AlertSink* sink : sinks_) {
    std::vector<StoredAlert*> owed;
    std::vector<AlertNotice> notices;
    for (StoredAlert& a : alerts) {
      AlertResult* result = result_of[{a.rule, a.service}];
      if (!(a.pending_sinks & sink->bit()) || result->silenced) continue;
      owed.push_back(&a);
      notices.push_back(MakeNotice(*by_name[a.rule], a, options.external_url));
    }
    if (owed.empty()) continue;
    const Status s = sink->Deliver(notices);
    for (size_t i = 0; i < owed.size(); ++i) {
      StoredAlert& a = *owed[i];
      const std::string status = notices[i].firing ? "firing" : "resolved";
      if (s.ok()) {
        a.pending_sinks &= ~static_cast<uint32_t>(sink->bit());
        a.notified_ns = options.at_ns;
        a.notify_error.clear();
        events.push_back({0, options.at_ns, a.rule, a.service, "notified", a.severity, a.state.last_value,
                          sink->name() + ": " + status});
      } else {
        a.notify_error = sink->name() + ": " + s.message();
        result_of[{a.rule, a.service}]->notify_error = a.notify_error;
        events.push_back({0, options.at_ns, a.rule, a.service, "notify_failed", a.severity, a.state.last_value,
                          a.notify_error});
      }
    }
    (s.ok() ? report.notifications_sent : report.notifications_failed) += static_cast<int>(owed.size());
  }
}

}  // namespace mesh
