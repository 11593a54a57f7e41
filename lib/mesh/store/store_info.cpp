#include "mesh/store/store_info.h"

#include "mesh/store/sqlite_db.h"

namespace mesh {

Result<int64_t> StoreSizeBytes(Store& store) {
  Result<Statement> size = store.db().Prepare(
      "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()");
  if (!size.ok()) return size.status();
  Result<bool> row = size->Step();
  if (!row.ok()) return row.status();
  if (!*row) return Status::IOError("no page count from " + store.path());
  return size->ColumnInt64(0);
}

Result<std::vector<std::string>> ServicesWithMetrics(Store& store) {
  Result<Statement> stmt = store.db().Prepare(
      "SELECT DISTINCT service FROM metric_series WHERE service != '' ORDER BY service");
  if (!stmt.ok()) return stmt.status();
  std::vector<std::string> services;
  while (true) {
    Result<bool> row = stmt->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    services.push_back(stmt->ColumnText(0));
  }
  return services;
}

}  // namespace mesh
