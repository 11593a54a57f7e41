// Store info: small read-only facts about the store that meshd shows on its own pages: the
// file's size (its /metrics) and the services with metric series (GET /v1/signals). Not
// thread-safe: one Store connection, one thread at a time.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "mesh/base/status.h"
#include "mesh/store/store.h"

namespace mesh {

// The database's size in bytes (pages in use or free, WAL excluded). Errors: IOError.
Result<int64_t> StoreSizeBytes(Store& store);

// The distinct non-empty service labels of the metric series, sorted. Errors: IOError.
Result<std::vector<std::string>> ServicesWithMetrics(Store& store);

}  // namespace mesh
