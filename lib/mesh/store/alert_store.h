// AlertStore: alerting's memory in the SQLite store (alerting/alert_state_store.h): each
// alert's state between separate `meshalert check` runs, the history of its transitions and
// notifications, and silences. Writes run inside the caller's write transaction
// (InWriteTransaction, or meshd's StoreWriter job), so that one check's states and events
// commit together or not at all. CommittingAlertStore is the same for a caller that holds no
// transaction: each write commits in one of its own.
//
// Not thread-safe: one AlertStore per Store connection.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "mesh/alerting/alert_records.h"
#include "mesh/alerting/alert_state_store.h"
#include "mesh/base/status.h"
#include "mesh/store/store.h"

namespace mesh {

class AlertStore : public AlertStateStore {
 public:
  explicit AlertStore(Store& store) : store_(store) {}

  Result<std::vector<StoredAlert>> Load(const std::vector<std::string>& rules) override;
  Status Save(const std::vector<StoredAlert>& alerts, const std::vector<AlertEvent>& events) override;
  Result<std::vector<AlertEvent>> History(const AlertHistoryFilter& filter) override;
  Result<int64_t> AddSilence(const Silence& silence) override;
  Result<std::vector<Silence>> Silences(int64_t at_ns, bool include_expired) override;
  Status ExpireSilence(int64_t id, int64_t at_ns) override;

 private:
  Store& store_;
};

// An AlertStore whose writes each run in a write transaction of their own (all of a Save or
// none of it), for a caller such as meshalert on a local file that holds none. Reads are
// AlertStore's. Not thread-safe, like AlertStore.
class CommittingAlertStore : public AlertStateStore {
 public:
  explicit CommittingAlertStore(Store& store) : store_(store), alerts_(store) {}

  Result<std::vector<StoredAlert>> Load(const std::vector<std::string>& rules) override;
  Status Save(const std::vector<StoredAlert>& alerts, const std::vector<AlertEvent>& events) override;
  Result<std::vector<AlertEvent>> History(const AlertHistoryFilter& filter) override;
  Result<int64_t> AddSilence(const Silence& silence) override;
  Result<std::vector<Silence>> Silences(int64_t at_ns, bool include_expired) override;
  Status ExpireSilence(int64_t id, int64_t at_ns) override;

 private:
  Store& store_;
  AlertStore alerts_;
};

}  // namespace mesh
