// RemoteWriteOutbox: the samples meshd still owes a remote-write receiver (meshd --remote-write),
// in the store. A push's samples are enqueued in the transaction that stores them, so that a
// sample acknowledged to its producer is in the outbox whatever happens next (receiver down,
// meshd restarted); the exporter removes them once the receiver has taken them. Rows only ever
// leave from the oldest end, so the queued ids are one contiguous range.
//
// Not thread-safe: one RemoteWriteOutbox per Store connection; writes inside the writer's jobs.
#pragma once

#include <cstdint>
#include <vector>

#include "mesh/store/store.h"
#include "mesh/telemetry/metric_sample.h"

namespace mesh {

struct OutboxSample {
  int64_t id = 0;
  int64_t enqueued_ns = 0;
  MetricSample sample;  // timestamp_ms always set
};

struct OutboxState {
  int64_t samples = 0;
  int64_t oldest_enqueued_ns = 0;  // 0 when empty
};

// What Trim dropped, by reason.
struct OutboxTrim {
  int64_t too_old = 0;
  int64_t over_size = 0;
};

class RemoteWriteOutbox {
 public:
  explicit RemoteWriteOutbox(Store& store) : store_(store) {}

  // Enqueues every sample of the families inside the caller's transaction (those without a
  // timestamp at now_ns, as MetricStore stores them). Returns how many.
  Result<int64_t> Enqueue(const std::vector<MetricFamily>& families, int64_t now_ns);

  // Drops what the bounds no longer allow: samples enqueued before min_enqueued_ns (at most
  // kTrimBatch per call, oldest first, so a call stays short), then the oldest beyond max_samples.
  Result<OutboxTrim> Trim(int64_t max_samples, int64_t min_enqueued_ns);
  static constexpr int64_t kTrimBatch = 10'000;

  // The oldest `limit` samples, oldest first. A row whose labels no longer parse (never written
  // by Enqueue) is skipped; RemoveThrough removes it with the rest.
  Result<std::vector<OutboxSample>> Oldest(int64_t limit);

  // Removes every sample with an id up to `id` (sent, or refused by the receiver).
  Status RemoveThrough(int64_t id);

  // How many samples are queued and since when: from the ends of the id range (two index seeks,
  // not a count over a million rows).
  Result<OutboxState> State();

 private:
  Store& store_;
};

}  // namespace mesh
