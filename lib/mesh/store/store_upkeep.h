// Store upkeep: meshd's periodic housekeeping of its store, run by the single writer when it is
// idle. PruneBefore forgets what is older than the retention, a bounded batch per table per
// call, so that no pass holds the write lock for long (meshd calls it again on its next idle
// turn); CheckpointPassive copies the WAL back into the database file without waiting for
// readers. Not thread-safe: use the store's writer connection, one thread at a time.
#pragma once

#include <cstdint>

#include "mesh/base/status.h"
#include "mesh/store/store.h"

namespace mesh {

inline constexpr int64_t kPruneBatchRows = 5000;

// In one write transaction (so no transaction of the caller's may be open), deletes up to
// `batch` of the oldest rows before `cutoff_ns` from each of: logs (and their full-text index
// entries), spans (lowering the span roll-up's watermark to the largest id left), metric
// samples, alert events; every span roll-up bucket and every silence that ended before the
// cutoff; and up to `batch` metric series left without samples. Alert states stay. Errors: IOError
// from the store, after which nothing was deleted.
Status PruneBefore(Store& store, int64_t cutoff_ns, int64_t batch = kPruneBatchRows);

// A PASSIVE checkpoint: copies what it can of the WAL without blocking readers or the writer.
// Errors: IOError from the store (a busy database is not one).
Status CheckpointPassive(Store& store);

}  // namespace mesh
