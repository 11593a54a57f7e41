#include "mesh/store/registry.h"

#include "mesh/store/sqlite_db.h"

namespace mesh {

Status Registry::Upsert(const Instance& i) {
  return ExecQuery(store_.db(),
             {"INSERT INTO instances (id, service, host, port, meta, registered_ns, heartbeat_ns, "
              "ttl_ns) VALUES (?,?,?,?,?,?,?,?) ON CONFLICT(id) DO UPDATE SET "
              "service=excluded.service, host=excluded.host, port=excluded.port, "
              "meta=excluded.meta, heartbeat_ns=excluded.heartbeat_ns, ttl_ns=excluded.ttl_ns",
              {i.id, i.service, i.host, static_cast<int64_t>(i.port), i.meta, i.registered_ns,
               i.heartbeat_ns, i.ttl_ns}});
}

Status Registry::Heartbeat(const std::string& id, int64_t now_ns) {
  Db& db = store_.db();
  if (Status s = ExecQuery(db, {"UPDATE instances SET heartbeat_ns = ? WHERE id = ?", {now_ns, id}}); !s.ok()) {
    return s;
  }
  if (db.Changes() == 0) return Status::NotFound("no instance " + id + " (register it again)");
  return Status::Ok();
}

Status Registry::Remove(const std::string& id) {
  Db& db = store_.db();
  if (Status s = ExecQuery(db, {"DELETE FROM instances WHERE id = ?", {id}}); !s.ok()) return s;
  if (db.Changes() == 0) return Status::NotFound("no instance " + id);
  return Status::Ok();
}

Result<std::optional<std::string>> Registry::ServiceOf(const std::string& id) {
  Result<Statement> stmt = PrepareQuery(store_.db(), {"SELECT service FROM instances WHERE id = ?", {id}});
  if (!stmt.ok()) return stmt.status();
  Result<bool> row = stmt->Step();
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<std::string>();
  return std::optional<std::string>(stmt->ColumnText(0));
}

Result<std::vector<Instance>> Registry::Instances(const std::string& service) {
  SqlQuery q{"SELECT id, service, host, port, meta, registered_ns, heartbeat_ns, ttl_ns FROM "
             "instances",
             {}};
  if (!service.empty()) {
    q.sql += " WHERE service = ?";
    q.params.emplace_back(service);
  }
  q.sql += " ORDER BY service, host, port";
  Result<Statement> stmt = PrepareQuery(store_.db(), q);
  if (!stmt.ok()) return stmt.status();
  std::vector<Instance> out;
  while (true) {
    Result<bool> row = stmt->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    Instance i;
    i.id = stmt->ColumnText(0);
    i.service = stmt->ColumnText(1);
    i.host = stmt->ColumnText(2);
    i.port = static_cast<int>(stmt->ColumnInt64(3));
    i.meta = stmt->ColumnText(4);
    i.registered_ns = stmt->ColumnInt64(5);
    i.heartbeat_ns = stmt->ColumnInt64(6);
    i.ttl_ns = stmt->ColumnInt64(7);
    out.push_back(std::move(i));
  }
  return out;
}

}  // namespace mesh
