// Db and Statement: a thin RAII layer over the SQLite C API, internal to the library (the
// public Store header only forward-declares Db). Errors come back as Status values carrying
// SQLite's own message. A Db is one connection: use it from one thread at a time.
#pragma once

#include <sqlite3.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

#include "mesh/base/status.h"
#include "mesh/store/store.h"

namespace mesh {

class Statement {
 public:
  Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  Statement(Statement&& other) noexcept : db_(other.db_), stmt_(other.stmt_) { other.stmt_ = nullptr; }
  Statement& operator=(Statement&&) = delete;
  Statement(const Statement&) = delete;
  ~Statement() { sqlite3_finalize(stmt_); }

  // Parameters are 1-based, as in SQLite.
  void Bind(int index, int64_t value) { sqlite3_bind_int64(stmt_, index, value); }
  void Bind(int index, std::string_view text) {
    sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
  }
  // Binds the text without copying it: it must outlive the next Step().
  void BindStatic(int index, std::string_view text) {
    sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_STATIC);
  }
  void BindBlob(int index, std::string_view bytes) {
    sqlite3_bind_blob(stmt_, index, bytes.data(), static_cast<int>(bytes.size()), SQLITE_TRANSIENT);
  }
  void BindNull(int index) { sqlite3_bind_null(stmt_, index); }
  void BindDouble(int index, double value) { sqlite3_bind_double(stmt_, index, value); }
  // Binds NULL for an empty string, the text otherwise (without copying).
  void BindOptionalStatic(int index, std::string_view text) {
    if (text.empty()) BindNull(index);
    else BindStatic(index, text);
  }

  // true: a row is ready; false: done. Errors carry SQLite's message.
  Result<bool> Step() {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    // A constraint the data breaks will break again on every retry: bad input, not a
    // transient failure (an HTTP caller answers 400, not 503).
    if ((rc & 0xFF) == SQLITE_CONSTRAINT) return Status::InvalidArgument(sqlite3_errmsg(db_));
    return Status::IOError(sqlite3_errmsg(db_));
  }
  void Reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }

  int64_t ColumnInt64(int col) const { return sqlite3_column_int64(stmt_, col); }
  double ColumnDouble(int col) const { return sqlite3_column_double(stmt_, col); }
  bool ColumnIsNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  bool ColumnIsText(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_TEXT; }
  std::string ColumnText(int col) const {
    const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
    if (text == nullptr) return {};
    return std::string(text, static_cast<size_t>(sqlite3_column_bytes(stmt_, col)));
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_;
};

class Db {
 public:
  explicit Db(sqlite3* db) : db_(db) {}
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;
  ~Db() { sqlite3_close_v2(db_); }

  Status Exec(const char* sql) {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
      std::string msg = err ? err : sqlite3_errmsg(db_);
      sqlite3_free(err);
      return Status::IOError(msg);
    }
    return Status::Ok();
  }

  Result<Statement> Prepare(std::string_view sql) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr) !=
        SQLITE_OK) {
      return Status::IOError(sqlite3_errmsg(db_));
    }
    return Statement(db_, stmt);
  }

  bool ReadOnly() const { return sqlite3_db_readonly(db_, "main") == 1; }
  int64_t Changes() const { return sqlite3_changes64(db_); }
  sqlite3* raw() { return db_; }

 private:
  sqlite3* db_;
};

// Runs fn inside BEGIN IMMEDIATE ... COMMIT, rolling back when fn (or the commit) fails.
template <typename Fn>
Status InWriteTransaction(Db& db, Fn fn) {
  if (Status s = db.Exec("BEGIN IMMEDIATE"); !s.ok()) return s;
  Status s = fn();
  if (s.ok()) s = db.Exec("COMMIT");
  if (!s.ok()) db.Exec("ROLLBACK");
  return s;
}

// Prepares query.sql and binds its parameters in order.
inline Result<Statement> PrepareQuery(Db& db, const SqlQuery& query) {
  Result<Statement> stmt = db.Prepare(query.sql);
  if (!stmt.ok()) return stmt;
  int index = 1;
  for (const SqlQuery::Value& v : query.params) {
    if (const int64_t* n = std::get_if<int64_t>(&v)) stmt->Bind(index++, *n);
    else stmt->Bind(index++, std::get<std::string>(v));
  }
  return stmt;
}

// Runs a statement that returns no rows (or whose rows do not matter).
inline Status ExecQuery(Db& db, const SqlQuery& query) {
  Result<Statement> stmt = PrepareQuery(db, query);
  if (!stmt.ok()) return stmt.status();
  Result<bool> row = stmt->Step();
  return row.ok() ? Status::Ok() : row.status();
}

// The first column of the first row as an integer; 0 when there is no row.
inline Result<int64_t> QueryInt64(Db& db, const SqlQuery& query) {
  Result<Statement> stmt = PrepareQuery(db, query);
  if (!stmt.ok()) return stmt.status();
  Result<bool> row = stmt->Step();
  if (!row.ok()) return row.status();
  return *row ? stmt->ColumnInt64(0) : 0;
}

// Switches the connection to WAL, waiting up to `patience` for other connections doing the
// same. The switch reads the header and then upgrades to a write lock; SQLite never calls the
// busy handler for that upgrade (two such upgrades would deadlock), so when several processes
// open a new store together all but one get SQLITE_BUSY at once, whatever busy_timeout says.
inline Status EnableWal(Db& db, std::chrono::milliseconds patience) {
  constexpr std::chrono::milliseconds kPause{5};
  for (auto waited = std::chrono::milliseconds{0};; waited += kPause) {
    Status s = db.Exec("PRAGMA journal_mode=WAL");
    if (s.ok() || (sqlite3_errcode(db.raw()) & 0xFF) != SQLITE_BUSY || waited >= patience) return s;
    std::this_thread::sleep_for(kPause);
  }
}

}  // namespace mesh
