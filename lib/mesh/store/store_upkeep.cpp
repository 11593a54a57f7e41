#include "mesh/store/store_upkeep.h"

#include <string>
#include <vector>

#include "mesh/store/sqlite_db.h"

namespace mesh {
namespace {

constexpr int64_t kSecondNs = 1'000'000'000;

// Deletes the `table` buckets of `width_s` that ended by the cutoff, at most 60 bucket starts.
SqlQuery RollupPrune(const std::string& table, int64_t width_s, int64_t cutoff_ns) {
  const std::string width = std::to_string(width_s);
  return {"DELETE FROM " + table + " WHERE width_s = " + width + " AND start_ns <= min(?1, coalesce((SELECT min(start_ns) FROM " +
              table + " WHERE width_s = " + width + "), 0) + ?2)",
          {cutoff_ns - width_s * kSecondNs, 59 * width_s * kSecondNs}};
}

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
        // Roll-up buckets that ended before the cutoff, the oldest 60 of each width per pass (a
        // minute holds one row per operation and edge; a shortened retention must not delete
        // days of them under one lock).
        RollupPrune("span_rollup_ops", 60, cutoff_ns),
        RollupPrune("span_rollup_ops", 3600, cutoff_ns),
        RollupPrune("span_rollup_edges", 60, cutoff_ns),
        RollupPrune("span_rollup_edges", 3600, cutoff_ns),
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
