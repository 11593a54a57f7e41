// Alert records: what alerting remembers between evaluation rounds (each alert's state and
// the sinks it still owes a notification), the history of transitions and deliveries, and
// silences. Plain values: the engine produces them, AlertStateStore keeps them, alert_json.h
// puts them on the wire. Thread-compatible, like any value.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "mesh/alerting/alert_state.h"

namespace mesh {

// Where notifications go; a stored alert owes a notification to each sink in its bit set.
enum AlertSinkBit : uint32_t {
  kSinkAlertmanager = 1,
  kSinkWebhook = 2,
  kSinkExec = 4,
};

struct StoredAlert {
  std::string rule;
  std::string service;
  std::string severity;  // the rule's, when last evaluated
  AlertState state;
  uint32_t pending_sinks = 0;  // sinks still owed the alert's current status
  int64_t notified_ns = 0;     // the last notification delivered
  std::string notify_error;    // why the last delivery failed, "" after a success
};

struct AlertEvent {
  int64_t id = 0;
  int64_t ts_ns = 0;
  std::string rule;
  std::string service;
  std::string event;  // pending, firing, resolved, cancelled, notified, notify_failed
  std::string severity;
  std::optional<double> value;
  std::string detail;
};

struct Silence {
  int64_t id = 0;
  std::string rule;     // a rule name or glob
  std::string service;  // a service name or glob; "*" for every service
  int64_t starts_ns = 0;
  int64_t ends_ns = 0;
  std::string comment;
  std::string created_by;

  // True when the silence covers this rule's alert for this service at at_ns: within
  // [starts, ends) and both globs match.
  bool Matches(const std::string& rule_name, const std::string& service_name, int64_t at_ns) const;
};

struct AlertHistoryFilter {
  int64_t since_ns = 0;
  int64_t until_ns = INT64_MAX;
  std::string rule;  // "" for every rule
  size_t limit = 1000;
};

}  // namespace mesh
