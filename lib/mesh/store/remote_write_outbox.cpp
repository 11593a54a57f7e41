#include "mesh/store/remote_write_outbox.h"

#include "mesh/store/sample_value.h"
#include "mesh/store/sqlite_db.h"
#include "mesh/telemetry/prometheus_text.h"

namespace mesh {

Result<int64_t> RemoteWriteOutbox::Enqueue(const std::vector<MetricFamily>& families, int64_t now_ns) {
  Result<Statement> insert = store_.db().Prepare(
      "INSERT INTO remote_write_outbox (enqueued_ns, name, labels, ts_ms, value) VALUES (?,?,?,?,?)");
  if (!insert.ok()) return insert.status();
  int64_t enqueued = 0;
  for (const MetricFamily& f : families) {
    for (const MetricSample& s : f.samples) {
      insert->Bind(1, now_ns);
      insert->Bind(2, s.name);
      insert->Bind(3, LabelsText(s.labels));
      insert->Bind(4, s.timestamp_ms ? *s.timestamp_ms : now_ns / 1'000'000);
      BindSampleValue(*insert, 5, s.value);
      Result<bool> r = insert->Step();
      insert->Reset();
      if (!r.ok()) return r.status();
      ++enqueued;
    }
  }
  return enqueued;
}

Result<OutboxTrim> RemoteWriteOutbox::Trim(int64_t max_samples, int64_t min_enqueued_ns) {
  Db& db = store_.db();
  OutboxTrim trim;
  // Enqueue times grow with ids (bar a step of the wall clock), so the too old are at the front:
  // only the front batch is looked at.
  if (Status s = ExecQuery(db, {"DELETE FROM remote_write_outbox WHERE id IN (SELECT id FROM remote_write_outbox "
                                "ORDER BY id LIMIT ?) AND enqueued_ns < ?",
                                {kTrimBatch, min_enqueued_ns}});
      !s.ok()) {
    return s;
  }
  trim.too_old = db.Changes();
  if (Status s = ExecQuery(db, {"DELETE FROM remote_write_outbox WHERE id <= "
                                "(SELECT max(id) FROM remote_write_outbox) - ?",
                                {max_samples}});
      !s.ok()) {
    return s;
  }
  trim.over_size = db.Changes();
  return trim;
}

Result<std::vector<OutboxSample>> RemoteWriteOutbox::Oldest(int64_t limit) {
  Result<Statement> select = PrepareQuery(
      store_.db(), {"SELECT id, enqueued_ns, name, labels, ts_ms, value FROM remote_write_outbox ORDER BY id LIMIT ?",
                    {limit}});
  if (!select.ok()) return select.status();
  std::vector<OutboxSample> samples;
  while (true) {
    Result<bool> row = select->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    Result<Labels> labels = ParseLabelsText(select->ColumnText(3));
    if (!labels.ok()) continue;
    samples.push_back({select->ColumnInt64(0), select->ColumnInt64(1),
                       MetricSample{select->ColumnText(2), std::move(labels).value(), SampleValueAt(*select, 5),
                                    select->ColumnInt64(4)}});
  }
  return samples;
}

Status RemoteWriteOutbox::RemoveThrough(int64_t id) {
  return ExecQuery(store_.db(), {"DELETE FROM remote_write_outbox WHERE id <= ?", {id}});
}

Result<OutboxState> RemoteWriteOutbox::State() {
  Result<Statement> select = PrepareQuery(
      store_.db(), {"SELECT min(id), max(id), (SELECT enqueued_ns FROM remote_write_outbox ORDER BY id LIMIT 1) "
                    "FROM remote_write_outbox",
                    {}});
  if (!select.ok()) return select.status();
  Result<bool> row = select->Step();
  if (!row.ok()) return row.status();
  OutboxState state;
  if (*row && !select->ColumnIsNull(0)) {
    state.samples = select->ColumnInt64(1) - select->ColumnInt64(0) + 1;
    state.oldest_enqueued_ns = select->ColumnInt64(2);
  }
  return state;
}

}  // namespace mesh
