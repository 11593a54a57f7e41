// AlertStateStore: where alerting keeps its records (alert_records.h) between rounds: each
// alert's state, the history of events, and silences. Alerting owns the interface; the SQLite
// store implements it (store/alert_store.h), as the rules engine reads measurements through
// SignalSource. Implementations document their thread-safety and transactions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "mesh/alerting/alert_records.h"
#include "mesh/base/status.h"

namespace mesh {

class AlertStateStore {
 public:
  virtual ~AlertStateStore() = default;

  // The stored alerts of these rules (all of them when `rules` is empty), by rule then service.
  virtual Result<std::vector<StoredAlert>> Load(const std::vector<std::string>& rules) = 0;
  // Upserts the alerts and appends the events.
  virtual Status Save(const std::vector<StoredAlert>& alerts, const std::vector<AlertEvent>& events) = 0;
  // Events, oldest first, the newest `limit` of the window.
  virtual Result<std::vector<AlertEvent>> History(const AlertHistoryFilter& filter) = 0;

  // Returns the new silence's id. The caller validates it.
  virtual Result<int64_t> AddSilence(const Silence& silence) = 0;
  // Silences not yet over at at_ns (all of them, expired too, when include_expired), the
  // soonest to end first.
  virtual Result<std::vector<Silence>> Silences(int64_t at_ns, bool include_expired) = 0;
  // Ends a silence at at_ns. NotFound for an unknown id, InvalidArgument when already over.
  virtual Status ExpireSilence(int64_t id, int64_t at_ns) = 0;
};

}  // namespace mesh
