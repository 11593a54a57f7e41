// AlertManager: the seed's in-process alerting API on top of the same rules and state machine
// as meshalert. A program feeds it measurements (CheckMetric) instead of the store being
// queried; it keeps each alert's state in memory and calls the notification callback when an
// alert starts firing or resolves, with the same AlertNotice meshalert sends to Alertmanager.
//
//   mesh::AlertManager alerts;
//   alerts.AddRules(R"([{"name":"queue_full","signal":"metric","metric":"queue_depth",
//                       "op":">","threshold":1000,"for":"30s","severity":"critical"}])");
//   alerts.SetNotificationCallback([](const mesh::AlertNotice& n) { ... });
//   alerts.CheckMetric("queue_full", depth);
//
// Thread-safe. The callback runs on the calling thread, outside the lock, so it may call back
// into the AlertManager.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mesh/alerting/alert_notifier.h"
#include "mesh/alerting/alert_rule.h"
#include "mesh/alerting/alert_state.h"
#include "mesh/base/clock.h"
#include "mesh/base/status.h"

namespace mesh {

class AlertManager {
 public:
  using Callback = std::function<void(const AlertNotice&)>;

  explicit AlertManager(const Clock& clock = SystemClock::Instance()) : clock_(clock) {}

  // InvalidArgument for a name already in use.
  Status AddRule(AlertRule rule);
  // Adds every rule of a rules document (see alert_rule.h); all or none.
  Status AddRules(std::string_view json);
  void SetNotificationCallback(Callback callback);

  // One measurement of the rule's signal for `service` (default: the rule's service field) at
  // the clock's now. Returns the alert's transition; NotFound for an unknown rule.
  Result<AlertTransition> CheckMetric(const std::string& rule_name, double value, const std::string& service = "");

  // The alerts currently firing, by rule then service.
  std::vector<AlertNotice> ActiveAlerts() const;

 private:
  const Clock& clock_;
  mutable std::mutex mu_;
  std::map<std::string, AlertRule> rules_;
  std::map<std::pair<std::string, std::string>, AlertState> states_;
  Callback callback_;
};

}  // namespace mesh
