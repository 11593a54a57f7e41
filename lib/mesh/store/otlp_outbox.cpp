#include "mesh/store/otlp_outbox.h"

#include "mesh/store/sqlite_db.h"

namespace mesh {
namespace {

size_t SignalIndex(int64_t signal) { return signal >= 0 && signal < 3 ? static_cast<size_t>(signal) : 0; }

// Runs a DELETE ... RETURNING signal and counts the rows it removed per signal.
Status DeleteCounting(Db& db, const SqlQuery& query, OtlpSignalCounts& counts) {
  Result<Statement> stmt = PrepareQuery(db, query);
  if (!stmt.ok()) return stmt.status();
  while (true) {
    Result<bool> row = stmt->Step();
    if (!row.ok()) return row.status();
    if (!*row) return Status::Ok();
    ++counts[SignalIndex(stmt->ColumnInt64(0))];
  }
}

}  // namespace

SqlQuery OtlpOutbox::ReadyQuery(OtlpSignal signal, int64_t limit) {
  return {"SELECT id, body FROM otlp_outbox WHERE signal = ? AND ready = 1 ORDER BY id LIMIT ?",
          {static_cast<int64_t>(signal), limit}};
}

SqlQuery OtlpOutbox::SettledQuery(int64_t settled_before_ns, int64_t limit) {
  return {"SELECT trace_id, keep FROM otlp_outbox_traces WHERE decided_ns = 0 AND last_ns < ? ORDER BY last_ns LIMIT ?",
          {settled_before_ns, limit}};
}

SqlQuery OtlpOutbox::KeepQuery(const std::string& trace_id) {
  return {"UPDATE otlp_outbox SET ready = 1 WHERE trace_id = ? AND ready = 0", {trace_id}};
}

Result<OtlpOutboxEnqueued> OtlpOutbox::Enqueue(const std::vector<OtlpOutboxItem>& items, int64_t now_ns) {
  Db& db = store_.db();
  Result<Statement> insert =
      db.Prepare("INSERT INTO otlp_outbox (signal, enqueued_ns, ready, trace_id, body) VALUES (?,?,?,?,?)");
  if (!insert.ok()) return insert.status();
  // The trace's last arrival and keep flag, and its decision if one was taken.
  Result<Statement> trace = db.Prepare(
      "INSERT INTO otlp_outbox_traces (trace_id, last_ns, keep) VALUES (?,?,?) ON CONFLICT(trace_id) DO UPDATE "
      "SET last_ns = excluded.last_ns, keep = max(keep, excluded.keep) RETURNING decided_ns, kept");
  if (!trace.ok()) return trace.status();
  OtlpOutboxEnqueued enqueued;
  for (const OtlpOutboxItem& item : items) {
    bool ready = true;
    if (item.signal == OtlpSignal::kTraces) {
      trace->Bind(1, item.trace_id);
      trace->Bind(2, now_ns);
      trace->Bind(3, int64_t{item.keep});
      Result<bool> row = trace->Step();
      if (!row.ok()) return row.status();
      const bool decided = *row && trace->ColumnInt64(0) > 0;
      const bool kept = *row && trace->ColumnInt64(1) != 0;
      while (*row) row = trace->Step();  // run the statement to its end before reusing it
      trace->Reset();
      if (!row.ok()) return row.status();
      if (decided && !kept) {
        ++enqueued.sampled_out;
        continue;
      }
      ready = decided;
    }
    insert->Bind(1, static_cast<int64_t>(item.signal));
    insert->Bind(2, now_ns);
    insert->Bind(3, int64_t{ready});
    insert->BindOptionalStatic(4, item.trace_id);
    insert->BindBlob(5, item.body);
    Result<bool> r = insert->Step();
    insert->Reset();
    if (!r.ok()) return r.status();
    ++enqueued.items;
  }
  return enqueued;
}

Result<std::vector<SettledTrace>> OtlpOutbox::Settled(int64_t settled_before_ns, int64_t limit) {
  Result<Statement> select = PrepareQuery(store_.db(), SettledQuery(settled_before_ns, limit));
  if (!select.ok()) return select.status();
  std::vector<SettledTrace> traces;
  while (true) {
    Result<bool> row = select->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    traces.push_back({select->ColumnText(0), select->ColumnInt64(1) != 0});
  }
  return traces;
}

Result<int64_t> OtlpOutbox::Decide(const std::string& trace_id, bool kept, int64_t now_ns) {
  Db& db = store_.db();
  Status s = kept ? ExecQuery(db, KeepQuery(trace_id))
                  : ExecQuery(db, {"DELETE FROM otlp_outbox WHERE trace_id = ? AND ready = 0", {trace_id}});
  if (!s.ok()) return s;
  const int64_t removed = kept ? 0 : db.Changes();
  // decided_ns is never 0 for a decision, whatever the clock says.
  if (Status d = ExecQuery(db, {"UPDATE otlp_outbox_traces SET decided_ns = max(?, 1), kept = ? WHERE trace_id = ?",
                                {now_ns, int64_t{kept}, trace_id}});
      !d.ok()) {
    return d;
  }
  return removed;
}

Status OtlpOutbox::ForgetDecisions(int64_t decided_before_ns) {
  return ExecQuery(store_.db(),
                   {"DELETE FROM otlp_outbox_traces WHERE decided_ns > 0 AND decided_ns < ?", {decided_before_ns}});
}

Result<OtlpOutboxTrim> OtlpOutbox::Trim(int64_t max_items, int64_t min_enqueued_ns) {
  Db& db = store_.db();
  OtlpOutboxTrim trim;
  // Enqueue times grow with ids (bar a step of the wall clock): only the front batch is looked at.
  if (Status s = DeleteCounting(db,
                                {"DELETE FROM otlp_outbox WHERE id IN (SELECT id FROM otlp_outbox ORDER BY id LIMIT ?) "
                                 "AND enqueued_ns < ? RETURNING signal",
                                 {kTrimBatch, min_enqueued_ns}},
                                trim.too_old);
      !s.ok()) {
    return s;
  }
  // Rows leave out of order (a trace's spans when it is decided), so the bound is found by
  // counting back from the newest rather than from the ends of the id range.
  if (Status s = DeleteCounting(db,
                                {"DELETE FROM otlp_outbox WHERE id <= (SELECT id FROM otlp_outbox ORDER BY id DESC "
                                 "LIMIT 1 OFFSET ?) RETURNING signal",
                                 {max_items}},
                                trim.over_size);
      !s.ok()) {
    return s;
  }
  return trim;
}

Result<std::vector<OtlpOutboxRow>> OtlpOutbox::Ready(OtlpSignal signal, int64_t limit) {
  Result<Statement> select = PrepareQuery(store_.db(), ReadyQuery(signal, limit));
  if (!select.ok()) return select.status();
  std::vector<OtlpOutboxRow> rows;
  while (true) {
    Result<bool> row = select->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    rows.push_back({select->ColumnInt64(0), select->ColumnText(1)});
  }
  return rows;
}

Status OtlpOutbox::Remove(const std::vector<int64_t>& ids) {
  Result<Statement> remove = store_.db().Prepare("DELETE FROM otlp_outbox WHERE id = ?");
  if (!remove.ok()) return remove.status();
  for (int64_t id : ids) {
    remove->Bind(1, id);
    Result<bool> r = remove->Step();
    remove->Reset();
    if (!r.ok()) return r.status();
  }
  return Status::Ok();
}

Result<OtlpOutboxState> OtlpOutbox::State() {
  Result<Statement> select = PrepareQuery(
      store_.db(), {"SELECT signal, count(*), min(enqueued_ns) FROM otlp_outbox GROUP BY signal", {}});
  if (!select.ok()) return select.status();
  OtlpOutboxState state;
  while (true) {
    Result<bool> row = select->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    const size_t i = SignalIndex(select->ColumnInt64(0));
    state.items[i] = select->ColumnInt64(1);
    state.oldest_enqueued_ns[i] = select->ColumnInt64(2);
  }
  return state;
}

}  // namespace mesh
