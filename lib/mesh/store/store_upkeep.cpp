#include "mesh/store/store_upkeep.h"

#include <vector>

#include "mesh/store/sqlite_db.h"

namespace mesh {
namespace {
constexpr int64_t kSecondNs = 1'000'000'000;
}  // namespace

Status PruneBefore(Store& store, int64_t cutoff_ns, int64_t batch) {
  Db& db = store.db();
  return InWriteTransaction(db, [&]() -> Status {
    // The log rows to drop are chosen once, so that the full-text index forgets exactly the
    // indexed ones among them (an external-content FTS5 index must never be told to delete a
    // row it does not hold).
    const std::vector<SqlQuery> steps = {
        {"CREATE TEMP TABLE IF NOT EXISTS prune_ids (id INTEGER PRIMARY KEY)", {}},
        {"DELETE FROM temp.prune_ids", {}},
        {"INSERT INTO temp.prune_ids SELECT id FROM logs WHERE ts_ns < ? ORDER BY ts_ns LIMIT ?",
         {cutoff_ns, batch}},
        {"INSERT INTO logs_fts (logs_fts, rowid, message) SELECT 'delete', id, message FROM logs "
         "WHERE id IN (SELECT id FROM temp.prune_ids) "
         "AND id <= (SELECT indexed_through FROM logs_fts_state)",
         {}},
        {"DELETE FROM logs WHERE id IN (SELECT id FROM temp.prune_ids)", {}},
        {"DELETE FROM spans WHERE id IN (SELECT id FROM spans WHERE start_ns < ? ORDER BY start_ns "
         "LIMIT ?)",
         {cutoff_ns, batch}},
        // SQLite gives a new row the largest id + 1: with the newest spans gone, their ids come
        // back, so the roll-up watermark comes down to the largest id left (every span above it
        // is gone, so nothing is counted twice).
        {"UPDATE span_rollup_state SET rolled_through_id = "
         "min(rolled_through_id, coalesce((SELECT max(id) FROM spans), 0))",
         {}},
        // Roll-up buckets that ended before the cutoff (few rows: one per operation or edge).
        {"DELETE FROM span_rollup_ops WHERE width_s = 60 AND start_ns <= ?", {cutoff_ns - 60 * kSecondNs}},
        {"DELETE FROM span_rollup_ops WHERE width_s = 3600 AND start_ns <= ?", {cutoff_ns - 3600 * kSecondNs}},
        {"DELETE FROM span_rollup_edges WHERE width_s = 60 AND start_ns <= ?", {cutoff_ns - 60 * kSecondNs}},
        {"DELETE FROM span_rollup_edges WHERE width_s = 3600 AND start_ns <= ?", {cutoff_ns - 3600 * kSecondNs}},
        {"DELETE FROM metric_samples WHERE rowid IN (SELECT rowid FROM metric_samples WHERE "
         "ts_ns < ? ORDER BY ts_ns LIMIT ?)",
         {cutoff_ns, batch}},
        // Alert history and silences over for longer than the retention; alert states stay.
        {"DELETE FROM alert_events WHERE id IN (SELECT id FROM alert_events WHERE ts_ns < ? "
         "ORDER BY ts_ns LIMIT ?)",
         {cutoff_ns, batch}},
        {"DELETE FROM alert_silences WHERE ends_ns < ?", {cutoff_ns}},
        // Series whose samples are all gone, so that label sets pushed once do not stay forever.
        {"DELETE FROM metric_series WHERE id IN (SELECT id FROM metric_series s WHERE NOT EXISTS "
         "(SELECT 1 FROM metric_samples m WHERE m.series_id = s.id) LIMIT ?)",
         {batch}},
    };
    for (const SqlQuery& step : steps) {
      if (Status s = ExecQuery(db, step); !s.ok()) return s;
    }
    return Status::Ok();
  });
}

Status CheckpointPassive(Store& store) { return store.db().Exec("PRAGMA wal_checkpoint(PASSIVE)"); }

}  // namespace mesh
