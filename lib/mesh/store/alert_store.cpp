#include "mesh/store/alert_store.h"

#include "mesh/store/sqlite_db.h"

namespace mesh {
namespace {

constexpr const char* kAlertColumns =
    "rule, service, severity, phase, active_since_ns, fired_at_ns, quiet_since_ns, resolved_at_ns, "
    "last_eval_ns, last_value, pending_sinks, notified_ns, notify_error";

StoredAlert ReadAlert(const Statement& s) {
  StoredAlert a;
  a.rule = s.ColumnText(0);
  a.service = s.ColumnText(1);
  a.severity = s.ColumnText(2);
  const int64_t phase = s.ColumnInt64(3);
  a.state.phase = phase == 2 ? AlertPhase::kFiring : phase == 1 ? AlertPhase::kPending : AlertPhase::kInactive;
  a.state.active_since_ns = s.ColumnInt64(4);
  a.state.fired_at_ns = s.ColumnInt64(5);
  a.state.quiet_since_ns = s.ColumnInt64(6);
  a.state.resolved_at_ns = s.ColumnInt64(7);
  a.state.last_eval_ns = s.ColumnInt64(8);
  if (!s.ColumnIsNull(9)) a.state.last_value = s.ColumnDouble(9);
  a.pending_sinks = static_cast<uint32_t>(s.ColumnInt64(10));
  a.notified_ns = s.ColumnInt64(11);
  a.notify_error = s.ColumnText(12);
  return a;
}

Silence ReadSilence(const Statement& s) {
  return {s.ColumnInt64(0), s.ColumnText(1), s.ColumnText(2), s.ColumnInt64(3),
          s.ColumnInt64(4), s.ColumnText(5), s.ColumnText(6)};
}

template <typename T, typename Read>
Result<std::vector<T>> ReadAll(Statement& stmt, Read read) {
  std::vector<T> out;
  while (true) {
    Result<bool> row = stmt.Step();
    if (!row.ok()) return row.status();
    if (!*row) return out;
    out.push_back(read(stmt));
  }
}

}  // namespace

Result<std::vector<StoredAlert>> AlertStore::Load(const std::vector<std::string>& rules) {
  const std::string select = std::string("SELECT ") + kAlertColumns + " FROM alert_states";
  if (rules.empty()) {
    Result<Statement> stmt = store_.db().Prepare(select + " ORDER BY rule, service");
    if (!stmt.ok()) return stmt.status();
    return ReadAll<StoredAlert>(*stmt, ReadAlert);
  }
  Result<Statement> stmt = store_.db().Prepare(select + " WHERE rule = ? ORDER BY service");
  if (!stmt.ok()) return stmt.status();
  std::vector<StoredAlert> out;
  for (const std::string& rule : rules) {
    stmt->Bind(1, rule);
    Result<std::vector<StoredAlert>> some = ReadAll<StoredAlert>(*stmt, ReadAlert);
    stmt->Reset();
    if (!some.ok()) return some.status();
    for (StoredAlert& a : *some) out.push_back(std::move(a));
  }
  return out;
}

Status AlertStore::Save(const std::vector<StoredAlert>& alerts, const std::vector<AlertEvent>& events) {
  Db& db = store_.db();
  {
    Result<Statement> upsert = db.Prepare(std::string("INSERT OR REPLACE INTO alert_states (") +
                                          kAlertColumns + ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)");
    if (!upsert.ok()) return upsert.status();
    for (const StoredAlert& a : alerts) {
      upsert->Bind(1, a.rule);
      upsert->Bind(2, a.service);
      upsert->Bind(3, a.severity);
      upsert->Bind(4, static_cast<int64_t>(a.state.phase));
      upsert->Bind(5, a.state.active_since_ns);
      upsert->Bind(6, a.state.fired_at_ns);
      upsert->Bind(7, a.state.quiet_since_ns);
      upsert->Bind(8, a.state.resolved_at_ns);
      upsert->Bind(9, a.state.last_eval_ns);
      if (a.state.last_value) upsert->BindDouble(10, *a.state.last_value);
      upsert->Bind(11, static_cast<int64_t>(a.pending_sinks));
      upsert->Bind(12, a.notified_ns);
      if (!a.notify_error.empty()) upsert->Bind(13, a.notify_error);
      Result<bool> r = upsert->Step();
      upsert->Reset();
      if (!r.ok()) return r.status();
    }
    Result<Statement> insert = db.Prepare(
        "INSERT INTO alert_events (ts_ns, rule, service, event, severity, value, detail) VALUES (?,?,?,?,?,?,?)");
    if (!insert.ok()) return insert.status();
    for (const AlertEvent& e : events) {
      insert->Bind(1, e.ts_ns);
      insert->Bind(2, e.rule);
      insert->Bind(3, e.service);
      insert->Bind(4, e.event);
      insert->Bind(5, e.severity);
      if (e.value) insert->BindDouble(6, *e.value);
      if (!e.detail.empty()) insert->Bind(7, e.detail);
      Result<bool> r = insert->Step();
      insert->Reset();
      if (!r.ok()) return r.status();
    }
  }
  return Status::Ok();
}

Result<std::vector<AlertEvent>> AlertStore::History(const AlertHistoryFilter& filter) {
  // Newest `limit` first from the ts index, then put back in time order.
  Result<Statement> stmt = PrepareQuery(
      store_.db(),
      {"SELECT * FROM (SELECT id, ts_ns, rule, service, event, severity, value, detail FROM alert_events "
       "WHERE ts_ns >= ? AND ts_ns < ? AND (? = '' OR rule = ?) ORDER BY ts_ns DESC, id DESC LIMIT ?) "
       "ORDER BY ts_ns, id",
       {filter.since_ns, filter.until_ns, filter.rule, filter.rule, static_cast<int64_t>(filter.limit)}});
  if (!stmt.ok()) return stmt.status();
  return ReadAll<AlertEvent>(*stmt, [](const Statement& s) {
    AlertEvent e{s.ColumnInt64(0), s.ColumnInt64(1), s.ColumnText(2), s.ColumnText(3),
                 s.ColumnText(4), s.ColumnText(5), std::nullopt, s.ColumnText(7)};
    if (!s.ColumnIsNull(6)) e.value = s.ColumnDouble(6);
    return e;
  });
}

Result<int64_t> AlertStore::AddSilence(const Silence& silence) {
  Db& db = store_.db();
  if (Status e = ExecQuery(db, {"INSERT INTO alert_silences (rule, service, starts_ns, ends_ns, comment, "
                                "created_by) VALUES (?,?,?,?,?,?)",
                                {silence.rule, silence.service, silence.starts_ns, silence.ends_ns,
                                 silence.comment, silence.created_by}});
      !e.ok()) {
    return e;
  }
  return static_cast<int64_t>(sqlite3_last_insert_rowid(db.raw()));
}

Result<std::vector<Silence>> AlertStore::Silences(int64_t at_ns, bool include_expired) {
  Result<Statement> stmt = PrepareQuery(
      store_.db(), {"SELECT id, rule, service, starts_ns, ends_ns, comment, created_by FROM alert_silences "
                    "WHERE ends_ns > ? ORDER BY ends_ns, id",
                    {include_expired ? INT64_MIN : at_ns}});
  if (!stmt.ok()) return stmt.status();
  return ReadAll<Silence>(*stmt, ReadSilence);
}

Status AlertStore::ExpireSilence(int64_t id, int64_t at_ns) {
  Db& db = store_.db();
  Result<int64_t> exists = QueryInt64(db, {"SELECT COUNT(*) FROM alert_silences WHERE id = ?", {id}});
  if (!exists.ok()) return exists.status();
  if (*exists == 0) return Status::NotFound("no silence with id " + std::to_string(id));
  Result<int64_t> ends = QueryInt64(db, {"SELECT ends_ns FROM alert_silences WHERE id = ?", {id}});
  if (!ends.ok()) return ends.status();
  if (*ends <= at_ns) return Status::InvalidArgument("silence " + std::to_string(id) + " is already over");
  return ExecQuery(db, {"UPDATE alert_silences SET ends_ns = ? WHERE id = ?", {at_ns, id}});
}

Result<std::vector<StoredAlert>> CommittingAlertStore::Load(const std::vector<std::string>& rules) {
  return alerts_.Load(rules);
}

Status CommittingAlertStore::Save(const std::vector<StoredAlert>& alerts, const std::vector<AlertEvent>& events) {
  return InWriteTransaction(store_.db(), [&] { return alerts_.Save(alerts, events); });
}

Result<std::vector<AlertEvent>> CommittingAlertStore::History(const AlertHistoryFilter& filter) {
  return alerts_.History(filter);
}

Result<int64_t> CommittingAlertStore::AddSilence(const Silence& silence) {
  int64_t id = 0;
  Status s = InWriteTransaction(store_.db(), [&]() -> Status {
    Result<int64_t> r = alerts_.AddSilence(silence);
    if (!r.ok()) return r.status();
    id = *r;
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return id;
}

Result<std::vector<Silence>> CommittingAlertStore::Silences(int64_t at_ns, bool include_expired) {
  return alerts_.Silences(at_ns, include_expired);
}

Status CommittingAlertStore::ExpireSilence(int64_t id, int64_t at_ns) {
  return InWriteTransaction(store_.db(), [&] { return alerts_.ExpireSilence(id, at_ns); });
}

}  // namespace mesh
