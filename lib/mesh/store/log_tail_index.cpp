#include "mesh/store/log_tail_index.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "mesh/store/sqlite_db.h"

namespace mesh {
namespace {

// Contentless: the records stay in the store; the tail file holds only what finds them.
constexpr const char* kTailSchema = R"sql(
  CREATE VIRTUAL TABLE IF NOT EXISTS tail_fts USING fts5(message, content='');
  CREATE TABLE IF NOT EXISTS tail_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    from_id INTEGER NOT NULL,
    through_id INTEGER NOT NULL,
    through_ts_ns INTEGER NOT NULL,
    through_message TEXT NOT NULL
  );
)sql";

Result<std::unique_ptr<Db>> OpenTail(const std::string& path) {
  // Index entries are as sensitive as the records: owner-only, like the store.
  const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Status::IOError("cannot create " + path + ": " + std::strerror(errno));
  close(fd);
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                                 nullptr);
  auto db = std::make_unique<Db>(raw);
  if (rc != SQLITE_OK) return Status::IOError("cannot open " + path + ": " + sqlite3_errmsg(raw));
  sqlite3_busy_timeout(raw, 30000);
  if (Status s = EnableWal(*db, std::chrono::seconds(30)); !s.ok()) return s;
  db->Exec("PRAGMA synchronous=NORMAL");
  if (Status s = db->Exec(kTailSchema); !s.ok()) return s;
  return db;
}

}  // namespace

std::string LogTailIndexPath(const std::string& store_path) { return store_path + "-fts"; }

std::optional<LogTailIndexState> ReadValidTailState(Db& db, const std::string& tail_schema,
                                                   int64_t indexed_through) {
  Result<Statement> stmt = db.Prepare(
      "SELECT t.from_id, t.through_id, t.through_ts_ns, t.through_message FROM " + tail_schema +
      ".tail_state AS t JOIN logs ON logs.id = t.through_id AND logs.ts_ns = t.through_ts_ns "
      "AND logs.message = t.through_message");
  if (!stmt.ok()) return std::nullopt;
  Result<bool> row = stmt->Step();
  if (!row.ok() || !*row) return std::nullopt;
  LogTailIndexState state{stmt->ColumnInt64(0), stmt->ColumnInt64(1), stmt->ColumnInt64(2),
                          stmt->ColumnText(3)};
  // Built from what logs_fts lacked when it started: logs_fts only ever grows, so a tail that
  // starts past it was made for another store.
  if (state.from_id > indexed_through || state.through_id <= state.from_id) return std::nullopt;
  return state;
}

LogTailIndexer::LogTailIndexer(std::unique_ptr<Db> db, Options options)
    : db_(std::move(db)), options_(options) {}

LogTailIndexer::~LogTailIndexer() { Stop(); }

Result<std::unique_ptr<LogTailIndexer>> LogTailIndexer::Open(const std::string& store_path,
                                                             Options options) {
  Result<std::unique_ptr<Db>> db = OpenTail(LogTailIndexPath(store_path));
  if (!db.ok()) return db.status().WithContext("cannot open the tail index of " + store_path);
  if (Status s = ExecQuery(**db, {"ATTACH DATABASE ? AS store", {store_path}}); !s.ok()) {
    return s.WithContext("cannot open the tail index of " + store_path);
  }
  return std::unique_ptr<LogTailIndexer>(new LogTailIndexer(std::move(db).value(), options));
}

Result<int64_t> LogTailIndexer::Backlog() {
  Db& db = *db_;
  Result<int64_t> indexed = QueryInt64(db, {"SELECT indexed_through FROM store.logs_fts_state", {}});
  if (!indexed.ok()) return indexed.status();
  int64_t covered = *indexed;
  if (std::optional<LogTailIndexState> tail = ReadValidTailState(db, "main", *indexed)) {
    covered = std::max(covered, tail->through_id);
  }
  // By id, not count(*): O(1), and ids only ever rise (a gap merely overstates the backlog).
  Result<int64_t> last = QueryInt64(db, {"SELECT coalesce(max(id), 0) FROM store.logs", {}});
  if (!last.ok()) return last.status();
  return std::max<int64_t>(0, *last - covered);
}

Result<int64_t> LogTailIndexer::Step(int64_t max_rows) {
  Db& db = *db_;
  int64_t indexed = 0;
  // Deferred, so that only the tail file is locked for writing (BEGIN IMMEDIATE would lock
  // every attached database, the store included); the first statement takes that lock before
  // anything is read, so the transaction never has to upgrade a stale read.
  if (Status s = db.Exec("BEGIN; UPDATE main.tail_state SET id = id"); !s.ok()) {
    db.Exec("ROLLBACK");
    return s;
  }
  Status s = [&]() -> Status {
    Result<int64_t> store_indexed =
        QueryInt64(db, {"SELECT indexed_through FROM store.logs_fts_state", {}});
    if (!store_indexed.ok()) return store_indexed.status();
    std::optional<LogTailIndexState> tail = ReadValidTailState(db, "main", *store_indexed);
    if (!tail || tail->through_id <= *store_indexed) {
      // Nothing the store's index lacks (or not this store's): start again where it stops.
      if (Status e = db.Exec("INSERT INTO tail_fts(tail_fts) VALUES('delete-all'); "
                             "DELETE FROM tail_state");
          !e.ok()) {
        return e;
      }
      tail = LogTailIndexState{*store_indexed, *store_indexed, 0, ""};
    }
    Result<Statement> rows = db.Prepare(
        "SELECT id, ts_ns, message FROM store.logs WHERE id > ? ORDER BY id LIMIT ?");
    if (!rows.ok()) return rows.status();
    rows->Bind(1, tail->through_id);
    rows->Bind(2, max_rows);
    Result<Statement> insert = db.Prepare("INSERT INTO tail_fts(rowid, message) VALUES (?, ?)");
    if (!insert.ok()) return insert.status();
    while (true) {
      Result<bool> row = rows->Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      tail->through_id = rows->ColumnInt64(0);
      tail->through_ts_ns = rows->ColumnInt64(1);
      tail->through_message = rows->ColumnText(2);
      insert->Bind(1, tail->through_id);
      insert->BindStatic(2, tail->through_message);
      Result<bool> done = insert->Step();
      insert->Reset();
      if (!done.ok()) return done.status();
      ++indexed;
    }
    if (indexed == 0) return Status::Ok();
    return ExecQuery(db, {"INSERT OR REPLACE INTO tail_state VALUES (1, ?, ?, ?, ?)",
                          {tail->from_id, tail->through_id, tail->through_ts_ns,
                           tail->through_message}});
  }();
  if (s.ok()) s = db.Exec("COMMIT");
  if (!s.ok()) {
    db.Exec("ROLLBACK");
    return s.WithContext("cannot update the tail index");
  }
  return indexed;
}

Status LogTailIndexer::CatchUp(int64_t leave_at_most) {
  while (true) {
    Result<int64_t> backlog = Backlog();
    if (!backlog.ok()) return backlog.status();
    if (*backlog <= leave_at_most) return Status::Ok();
    Result<int64_t> n = Step(options_.batch_rows);
    if (!n.ok()) return n.status();
    if (*n == 0) return Status::Ok();
  }
}

void LogTailIndexer::Run() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    lock.unlock();
    Status s = CatchUp(options_.min_backlog - 1);
    lock.lock();
    if (!s.ok()) {
      error_ = s;
      return;
    }
    cv_.wait_for(lock, options_.poll, [&] { return stopping_; });
  }
}

void LogTailIndexer::Start() {
  std::lock_guard lock(mu_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { Run(); });
}

void LogTailIndexer::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

Status LogTailIndexer::Finish(int64_t leave_at_most) {
  Stop();
  if (!error_.ok()) return error_;
  return CatchUp(leave_at_most);
}

}  // namespace mesh
