#include "mesh/alerting/alert_manager.h"

#include "mesh/alerting/alert_engine.h"

namespace mesh {
namespace {

AlertNotice Notice(const AlertRule& rule, const std::string& service, const AlertState& state) {
  StoredAlert alert;
  alert.service = service;
  alert.state = state;
  return MakeNotice(rule, alert, "");
}

}  // namespace

Status AlertManager::AddRule(AlertRule rule) {
  std::lock_guard<std::mutex> lock(mu_);
  const std::string name = rule.name;
  if (name.empty()) return Status::InvalidArgument("a rule needs a name");
  if (!rules_.emplace(name, std::move(rule)).second) {
    return Status::InvalidArgument("rule \"" + name + "\" is already defined");
  }
  return Status::Ok();
}

Status AlertManager::AddRules(std::string_view json) {
  Result<std::vector<AlertRule>> rules = ParseAlertRules(json);
  if (!rules.ok()) return rules.status();
  std::lock_guard<std::mutex> lock(mu_);
  for (const AlertRule& r : *rules) {
    if (rules_.count(r.name)) return Status::InvalidArgument("rule \"" + r.name + "\" is already defined");
  }
  for (AlertRule& r : *rules) rules_.emplace(r.name, std::move(r));
  return Status::Ok();
}

void AlertManager::SetNotificationCallback(Callback callback) {
  std::lock_guard<std::mutex> lock(mu_);
  callback_ = std::move(callback);
}

Result<AlertTransition> AlertManager::CheckMetric(const std::string& rule_name, double value,
                                                  const std::string& service) {
  AlertNotice notice;
  Callback callback;
  AlertTransition transition;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto rule = rules_.find(rule_name);
    if (rule == rules_.end()) return Status::NotFound("no rule named \"" + rule_name + "\"");
    const std::string& who = service.empty() ? rule->second.service : service;
    AlertState& state = states_[{rule_name, who}];
    const AlertStep step = AdvanceAlert(rule->second, state, value, clock_.NowNs());
    state = step.state;
    transition = step.transition;
    if (transition != AlertTransition::kFiring && transition != AlertTransition::kResolved) return transition;
    notice = Notice(rule->second, who, state);
    callback = callback_;
  }
  if (callback) callback(notice);
  return transition;
}

std::vector<AlertNotice> AlertManager::ActiveAlerts() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<AlertNotice> out;
  for (const auto& [key, state] : states_) {
    if (state.phase == AlertPhase::kFiring) out.push_back(Notice(rules_.at(key.first), key.second, state));
  }
  return out;
}

}  // namespace mesh
