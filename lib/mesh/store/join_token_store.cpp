#include "mesh/store/join_token_store.h"

#include "mesh/store/sqlite_db.h"

namespace mesh {
namespace {

constexpr const char* kColumns =
    "SELECT id, service, secret_sha256, created_ns, expires_ns, uses_left, revoked_ns, last_used_ns FROM join_tokens";

JoinTokenRecord ReadRecord(const Statement& s) {
  JoinTokenRecord r;
  r.id = s.ColumnText(0);
  r.service = s.ColumnText(1);
  r.secret_sha256 = s.ColumnText(2);
  r.created_ns = s.ColumnInt64(3);
  r.expires_ns = s.ColumnInt64(4);
  r.uses_left = s.ColumnInt64(5);
  r.revoked_ns = s.ColumnInt64(6);
  r.last_used_ns = s.ColumnInt64(7);
  return r;
}

}  // namespace

std::string JoinTokenRecord::RefusalAt(int64_t now_ns) const {
  if (revoked_ns != 0) return "revoked";
  if (expires_ns != 0 && now_ns >= expires_ns) return "expired";
  if (uses_left == 0) return "used_up";
  return "";
}

Status JoinTokenStore::Add(const JoinTokenRecord& r) {
  Db& db = store_.db();
  if (Status s = ExecQuery(db, {"INSERT OR IGNORE INTO join_tokens (id, service, secret_sha256, created_ns, "
                                "expires_ns, uses_left, revoked_ns, last_used_ns) VALUES (?,?,?,?,?,?,?,?)",
                                {r.id, r.service, r.secret_sha256, r.created_ns, r.expires_ns, r.uses_left,
                                 r.revoked_ns, r.last_used_ns}});
      !s.ok()) {
    return s;
  }
  if (db.Changes() == 0) return Status::InvalidArgument("token id " + r.id + " is taken");
  return Status::Ok();
}

Result<std::optional<JoinTokenRecord>> JoinTokenStore::Find(const std::string& id) {
  Result<Statement> stmt = PrepareQuery(store_.db(), {std::string(kColumns) + " WHERE id = ?", {id}});
  if (!stmt.ok()) return stmt.status();
  Result<bool> row = stmt->Step();
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<JoinTokenRecord>();
  return std::optional<JoinTokenRecord>(ReadRecord(*stmt));
}

Result<std::vector<JoinTokenRecord>> JoinTokenStore::List() {
  Result<Statement> stmt = PrepareQuery(store_.db(), {std::string(kColumns) + " ORDER BY created_ns DESC, id", {}});
  if (!stmt.ok()) return stmt.status();
  std::vector<JoinTokenRecord> out;
  while (true) {
    Result<bool> row = stmt->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    out.push_back(ReadRecord(*stmt));
  }
  return out;
}

Status JoinTokenStore::Revoke(const std::string& id, int64_t now_ns) {
  Db& db = store_.db();
  if (Status s = ExecQuery(db, {"UPDATE join_tokens SET revoked_ns = CASE WHEN revoked_ns = 0 THEN ? ELSE revoked_ns END "
                                "WHERE id = ?",
                                {now_ns, id}});
      !s.ok()) {
    return s;
  }
  if (db.Changes() == 0) return Status::NotFound("no token " + id + " (see meshd token list)");
  return Status::Ok();
}

Status JoinTokenStore::RecordUse(const std::string& id, int64_t now_ns, bool spend) {
  Db& db = store_.db();
  if (Status s = ExecQuery(db, {"UPDATE join_tokens SET last_used_ns = ?, uses_left = CASE WHEN ? AND uses_left > 0 "
                                "THEN uses_left - 1 ELSE uses_left END WHERE id = ? AND revoked_ns = 0 AND uses_left <> 0",
                                {now_ns, int64_t{spend ? 1 : 0}, id}});
      !s.ok()) {
    return s;
  }
  if (db.Changes() > 0) return Status::Ok();
  Result<std::optional<JoinTokenRecord>> record = Find(id);
  if (!record.ok()) return record.status();
  if (!*record) return Status::NotFound("no token " + id);
  return Status::InvalidArgument("token " + id + " is " + ((*record)->revoked_ns != 0 ? "revoked" : "used up"));
}

}  // namespace mesh
