// AlertStore: alerting's memory in the SQLite store: each alert's state between separate
// `meshalert check` runs, the history of its transitions and notifications, and silences.
// Writes run inside the caller's write transaction (InWriteTransaction, or meshd's
// StoreWriter job), so that one check's states and events commit together or not at all.
//
// Not thread-safe: one AlertStore per Store connection.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "mesh/alerting/alert_state.h"
#include "mesh/base/status.h"
#include "mesh/store/store.h"

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

  bool Matches(const std::string& rule_name, const std::string& service_name, int64_t at_ns) const;
};

struct AlertHistoryFilter {
  int64_t since_ns = 0;
  int64_t until_ns = INT64_MAX;
  std::string rule;  // "" for every rule
  size_t limit = 1000;
};

class AlertStore {
 public:
  explicit AlertStore(Store& store) : store_(store) {}

  // The stored alerts of these rules (all of them when `rules` is empty), by rule then service.
  Result<std::vector<StoredAlert>> Load(const std::vector<std::string>& rules);
  // Upserts the alerts and appends the events.
  Status Save(const std::vector<StoredAlert>& alerts, const std::vector<AlertEvent>& events);
  // Events, oldest first, the newest `limit` of the window.
  Result<std::vector<AlertEvent>> History(const AlertHistoryFilter& filter);

  // Returns the new silence's id. The caller validates it.
  Result<int64_t> AddSilence(const Silence& silence);
  // Silences not yet over at at_ns (all of them, expired too, when include_expired), the
  // soonest to end first.
  Result<std::vector<Silence>> Silences(int64_t at_ns, bool include_expired);
  // Ends a silence now. NotFound for an unknown id, InvalidArgument when already over.
  Status ExpireSilence(int64_t id, int64_t at_ns);

 private:
  Store& store_;
};

}  // namespace mesh
