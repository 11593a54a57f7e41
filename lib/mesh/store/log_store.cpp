#include "mesh/store/log_store.h"

#include <unistd.h>

#include <algorithm>
#include <optional>

#include "mesh/store/log_tail_index.h"
#include "mesh/store/sqlite_db.h"

namespace mesh {
namespace {

constexpr const char* kColumns =
    "logs.id, logs.ts_ns, logs.service, logs.level, logs.message, logs.trace_id, logs.span_id, "
    "logs.attributes";
constexpr const char* kPendingTable = "logs_pending_fts";

void AppendConditions(SqlQuery& q, const LogFilter& f, bool with_services) {
  if (with_services && f.services.size() == 1) {
    q.sql += " AND logs.service = ?";
    q.params.emplace_back(f.services.front());
  } else if (with_services && f.services.size() > 1) {
    q.sql += " AND logs.service IN (";
    for (size_t i = 0; i < f.services.size(); ++i) {
      q.sql += i ? ",?" : "?";
      q.params.emplace_back(f.services[i]);
    }
    q.sql += ')';
  }
  if (f.min_level) {
    q.sql += " AND logs.level >= ?";
    q.params.emplace_back(static_cast<int64_t>(*f.min_level));
  }
  if (f.since_ns) {
    q.sql += " AND logs.ts_ns >= ?";
    q.params.emplace_back(*f.since_ns);
  }
  if (f.until_ns) {
    q.sql += " AND logs.ts_ns < ?";
    q.params.emplace_back(*f.until_ns);
  }
  if (!f.trace_id.empty()) {
    q.sql += " AND logs.trace_id = ?";
    q.params.emplace_back(f.trace_id);
  }
  if (!f.grep.empty()) {
    q.sql += " AND instr(logs.message, ?) > 0";
    q.params.emplace_back(f.grep);
  }
  if (f.max_cursor) {
    q.sql += " AND logs.id <= ?";
    q.params.emplace_back(*f.max_cursor);
  }
}

bool HasRowConditions(const LogFilter& f) {
  return !f.services.empty() || f.min_level || f.since_ns || f.until_ns || !f.trace_id.empty() ||
         !f.grep.empty() || f.max_cursor;
}

LogRecord ReadRecord(const Statement& s) {
  LogRecord r;
  r.id = s.ColumnInt64(0);
  r.ts_ns = s.ColumnInt64(1);
  r.service = s.ColumnText(2);
  r.level = LevelFromSeverityNumber(static_cast<int>(s.ColumnInt64(3))).value_or(LogLevel::kInfo);
  r.message = s.ColumnText(4);
  r.trace_id = s.ColumnText(5);
  r.span_id = s.ColumnText(6);
  r.attributes = s.ColumnText(7);
  return r;
}

// FTS5 reports query syntax problems as ordinary errors; they are the user's, not the store's.
Status SearchError(const std::string& match, const Status& s) {
  const std::string& m = s.message();
  if (m.find("fts5") != std::string::npos || m.find("no such column") != std::string::npos ||
      m.find("unknown special query") != std::string::npos ||
      m.find("unterminated string") != std::string::npos) {
    return Status::InvalidArgument("invalid search query '" + match + "': " + m +
                                   " (use words, \"phrases\", prefix*, AND, OR, NOT)");
  }
  return s;
}

}  // namespace

SqlQuery BuildTailQuery(const LogFilter& filter, const std::string& service, size_t limit) {
  SqlQuery q;
  q.sql = std::string("SELECT ") + kColumns + " FROM logs WHERE 1";
  if (!service.empty()) {
    q.sql += " AND logs.service = ?";
    q.params.emplace_back(service);
  }
  AppendConditions(q, filter, /*with_services=*/false);
  q.sql += " ORDER BY logs.ts_ns DESC LIMIT ?";
  q.params.emplace_back(static_cast<int64_t>(limit));
  return q;
}

SqlQuery BuildAfterQuery(int64_t cursor, const LogFilter& filter, size_t limit) {
  SqlQuery q;
  q.sql = std::string("SELECT ") + kColumns + " FROM logs WHERE logs.id > ?";
  q.params.emplace_back(cursor);
  AppendConditions(q, filter, /*with_services=*/true);
  q.sql += " ORDER BY logs.id LIMIT ?";
  q.params.emplace_back(static_cast<int64_t>(limit));
  return q;
}

namespace {

// The name MATCH takes: FTS5 accepts the table's own name there, unqualified, not an alias.
std::string BareName(const std::string& table) {
  const size_t dot = table.rfind('.');
  return dot == std::string::npos ? table : table.substr(dot + 1);
}

}  // namespace

SqlQuery BuildSearchQuery(const std::string& fts_table, const std::string& match,
                          const LogFilter& filter, size_t limit, bool oldest_first,
                          int64_t after_id) {
  const std::string fts = BareName(fts_table);
  SqlQuery q;
  q.sql = std::string("SELECT ") + kColumns + " FROM " + fts_table + " JOIN logs ON logs.id = " +
          fts + ".rowid WHERE " + fts + " MATCH ?";
  q.params.emplace_back(match);
  if (after_id > 0) {
    q.sql += " AND " + fts + ".rowid > ?";
    q.params.emplace_back(after_id);
  }
  AppendConditions(q, filter, /*with_services=*/true);
  q.sql += " ORDER BY " + fts + ".rowid " + (oldest_first ? "ASC" : "DESC") + " LIMIT ?";
  q.params.emplace_back(static_cast<int64_t>(limit));
  return q;
}

SqlQuery BuildCountQuery(const std::string& fts_table, const std::string& match,
                         const LogFilter& filter, int64_t after_id, bool join_logs) {
  const std::string fts = BareName(fts_table);
  SqlQuery q;
  const bool join = join_logs || HasRowConditions(filter);
  q.sql = "SELECT count(*) FROM " + fts_table +
          (join ? " JOIN logs ON logs.id = " + fts + ".rowid" : "") + " WHERE " + fts + " MATCH ?";
  q.params.emplace_back(match);
  if (after_id > 0) {
    q.sql += " AND " + fts + ".rowid > ?";
    q.params.emplace_back(after_id);
  }
  if (join) AppendConditions(q, filter, /*with_services=*/true);
  return q;
}

SqlQuery BuildStatsQuery(const LogFilter& filter) {
  SqlQuery q;
  q.sql = "SELECT logs.service, logs.level, count(*) FROM logs WHERE 1";
  AppendConditions(q, filter, /*with_services=*/true);
  q.sql += " GROUP BY logs.service, logs.level ORDER BY logs.service, logs.level";
  return q;
}

LogStore::LogStore(Store& store) : store_(store) {}
LogStore::~LogStore() { EndRead(); }

Status LogStore::InsertRows(const std::vector<LogRecord>& records) {
  Db& db = store_.db();
  if (!insert_) {
    Result<Statement> stmt = db.Prepare(
        "INSERT INTO logs (ts_ns, service, level, message, trace_id, span_id, attributes) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)");
    if (!stmt.ok()) return stmt.status();
    insert_ = std::make_unique<Statement>(std::move(stmt).value());
  }
  Statement& s = *insert_;
  for (const LogRecord& r : records) {
    s.Bind(1, r.ts_ns);
    s.BindStatic(2, r.service);
    s.Bind(3, static_cast<int64_t>(r.level));
    s.BindStatic(4, r.message);
    s.BindOptionalStatic(5, r.trace_id);
    s.BindOptionalStatic(6, r.span_id);
    s.BindOptionalStatic(7, r.attributes);
    Result<bool> step = s.Step();
    s.Reset();
    if (!step.ok()) return step.status();
  }
  return Status::Ok();
}

Status LogStore::BeginGroup() {
  Status s = store_.db().Exec("BEGIN IMMEDIATE");
  in_group_ = s.ok();
  return s.WithContext("cannot write logs to " + store_.path());
}

Status LogStore::EndGroup() {
  if (!in_group_) return Status::Ok();
  in_group_ = false;
  Status s = store_.db().Exec("COMMIT");
  if (!s.ok()) store_.db().Exec("ROLLBACK");
  return s.WithContext("cannot write logs to " + store_.path());
}

void LogStore::AbortGroup() {
  if (!in_group_) return;
  in_group_ = false;
  store_.db().Exec("ROLLBACK");
}

Status LogStore::Insert(const std::vector<LogRecord>& records) {
  if (records.empty()) return Status::Ok();
  if (in_group_) return InsertRows(records).WithContext("cannot write logs to " + store_.path());
  Status status = InWriteTransaction(store_.db(), [&] { return InsertRows(records); });
  return status.WithContext("cannot write logs to " + store_.path());
}

Result<int64_t> LogStore::IndexPending(int64_t max_rows) {
  Db& db = store_.db();
  int64_t indexed = 0;
  Status s = InWriteTransaction(db, [&]() -> Status {
    Result<int64_t> from = QueryInt64(db, {"SELECT indexed_through FROM logs_fts_state", {}});
    if (!from.ok()) return from.status();
    Result<int64_t> through = QueryInt64(
        db, {"SELECT coalesce(max(id), ?1) FROM (SELECT id FROM logs WHERE id > ?1 ORDER BY id "
             "LIMIT ?2)",
             {*from, max_rows}});
    if (!through.ok()) return through.status();
    if (*through == *from) return Status::Ok();
    if (Status e = ExecQuery(db, {"INSERT INTO logs_fts (rowid, message) SELECT id, message "
                                  "FROM logs WHERE id > ? AND id <= ?",
                                  {*from, *through}});
        !e.ok()) {
      return e;
    }
    indexed = db.Changes();
    return ExecQuery(db, {"UPDATE logs_fts_state SET indexed_through = ?", {*through}});
  });
  if (!s.ok()) return s.WithContext("cannot update the full-text index of " + store_.path());
  return indexed;
}

Result<int64_t> LogStore::PendingIndexRows() {
  return QueryInt64(store_.db(),
                        {"SELECT count(*) FROM logs WHERE id > (SELECT indexed_through FROM "
                         "logs_fts_state)",
                         {}});
}

Result<std::vector<LogRecord>> LogStore::Fetch(const SqlQuery& query) {
  Result<Statement> stmt = PrepareQuery(store_.db(), query);
  if (!stmt.ok()) return stmt.status();
  std::vector<LogRecord> out;
  while (true) {
    Result<bool> row = stmt->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    out.push_back(ReadRecord(*stmt));
  }
  return out;
}

Result<std::vector<LogRecord>> LogStore::Tail(const LogFilter& filter, size_t limit) {
  // One indexed query per service, merged here: an IN list would make SQLite sort every
  // matching row instead of walking each service's (service, ts_ns) range backwards.
  std::vector<std::string> services = filter.services;
  if (services.empty()) services.emplace_back();
  std::vector<LogRecord> merged;
  for (const std::string& service : services) {
    Result<std::vector<LogRecord>> part = Fetch(BuildTailQuery(filter, service, limit));
    if (!part.ok()) return part.status().WithContext("cannot read " + store_.path());
    std::move(part->begin(), part->end(), std::back_inserter(merged));
  }
  std::sort(merged.begin(), merged.end(), [](const LogRecord& a, const LogRecord& b) {
    return a.ts_ns != b.ts_ns ? a.ts_ns > b.ts_ns : a.id > b.id;
  });
  if (merged.size() > limit) merged.resize(limit);
  std::reverse(merged.begin(), merged.end());
  return merged;
}

Result<std::vector<LogRecord>> LogStore::After(int64_t cursor, const LogFilter& filter,
                                               size_t limit) {
  Result<std::vector<LogRecord>> out = Fetch(BuildAfterQuery(cursor, filter, limit));
  if (!out.ok()) return out.status().WithContext("cannot read " + store_.path());
  return out;
}

Result<int64_t> LogStore::LatestCursor() {
  return QueryInt64(store_.db(), {"SELECT coalesce(max(id), 0) FROM logs", {}});
}

void LogStore::AttachTailIndex() {
  if (tail_attached_ || store_.path() == ":memory:") return;
  const std::string path = LogTailIndexPath(store_.path());
  // ATTACH would create a missing file on a writable connection: only an existing one.
  if (access(path.c_str(), F_OK) != 0) return;
  tail_attached_ = ExecQuery(store_.db(), {"ATTACH DATABASE ? AS tail", {path}}).ok();
}

Result<LogStore::Coverage> LogStore::ReadCoverage() {
  AttachTailIndex();
  Db& db = store_.db();
  Coverage c;
  Result<int64_t> indexed = QueryInt64(db, {"SELECT indexed_through FROM logs_fts_state", {}});
  if (!indexed.ok()) return indexed.status();
  c.indexed_through = *indexed;
  c.covered_through = *indexed;
  if (tail_attached_) {
    if (std::optional<LogTailIndexState> tail = ReadValidTailState(db, "tail", *indexed);
        tail && tail->through_id > *indexed) {
      c.tail_through = tail->through_id;
      c.covered_through = tail->through_id;
    }
  }
  Result<int64_t> last = QueryInt64(db, {"SELECT coalesce(max(id), 0) FROM logs", {}});
  if (!last.ok()) return last.status();
  c.uncovered = std::max<int64_t>(0, *last - c.covered_through);
  return c;
}

Result<int64_t> LogStore::RowsToIndexBeforeSearch() {
  if (store_.read_only()) return 0;
  Result<Coverage> c = ReadCoverage();
  if (!c.ok()) return c.status();
  return c->uncovered > kSearchTailRows ? c->uncovered : 0;
}

Result<std::vector<LogStore::SearchPart>> LogStore::PrepareSearch() {
  // More unindexed records than a temporary index copies quickly (an ingest with --no-index,
  // or without the tail index): index them for good, as later searches need them too.
  if (Result<int64_t> n = RowsToIndexBeforeSearch(); n.ok() && *n > 0) {
    while (true) {
      Result<int64_t> step = IndexPending(50'000);
      if (!step.ok() || *step == 0) break;  // a busy or failing writer: the temporary index covers it
    }
  }
  AttachTailIndex();  // not within the transaction: SQLite refuses that
  Db& db = store_.db();
  if (Status s = db.Exec("BEGIN"); !s.ok()) return s;
  in_read_ = true;
  Result<Coverage> c = ReadCoverage();
  if (!c.ok()) return c.status();
  // Newest records first; each part answers for ids the others do not.
  std::vector<SearchPart> parts;
  if (c->uncovered > 0) {
    // Dropped rather than emptied: an FTS5 DELETE re-reads and re-tokenizes every row.
    if (Status s = db.Exec(("DROP TABLE IF EXISTS temp." + std::string(kPendingTable) +
                            "; CREATE VIRTUAL TABLE temp." + kPendingTable + " USING fts5(message)")
                               .c_str());
        !s.ok()) {
      return s;
    }
    if (Status s = ExecQuery(db, {"INSERT INTO temp." + std::string(kPendingTable) +
                                      " (rowid, message) SELECT id, message FROM logs WHERE id > ?",
                                  {c->covered_through}});
        !s.ok()) {
      return s;
    }
    parts.push_back({kPendingTable, 0, false});
  }
  // The tail index may hold records logs_fts has since indexed, and records retention has
  // since deleted: it answers only past logs_fts, and always through a join with logs.
  if (c->tail_through > 0) parts.push_back({"tail.tail_fts", c->indexed_through, true});
  parts.push_back({"logs_fts", 0, false});
  return parts;
}

void LogStore::EndRead() {
  if (!in_read_) return;
  in_read_ = false;
  store_.db().Exec("COMMIT");
}

Result<std::vector<LogRecord>> LogStore::Search(const std::string& query, const LogFilter& filter,
                                                size_t limit, bool oldest_first) {
  // One read transaction: every part reads the same snapshot, so none misses or repeats a record.
  Result<std::vector<SearchPart>> parts = PrepareSearch();
  if (!parts.ok()) {
    EndRead();
    return parts.status().WithContext("cannot search " + store_.path());
  }
  if (oldest_first) std::reverse(parts->begin(), parts->end());
  std::vector<LogRecord> out;
  for (const SearchPart& part : *parts) {
    if (out.size() >= limit) break;
    Result<std::vector<LogRecord>> rows = Fetch(
        BuildSearchQuery(part.table, query, filter, limit - out.size(), oldest_first, part.after_id));
    if (!rows.ok()) {
      EndRead();
      return SearchError(query, rows.status());
    }
    std::move(rows->begin(), rows->end(), std::back_inserter(out));
  }
  EndRead();
  return out;
}

Result<int64_t> LogStore::CountMatches(const std::string& query, const LogFilter& filter) {
  Result<std::vector<SearchPart>> parts = PrepareSearch();
  if (!parts.ok()) {
    EndRead();
    return parts.status().WithContext("cannot search " + store_.path());
  }
  int64_t total = 0;
  for (const SearchPart& part : *parts) {
    Result<int64_t> n = QueryInt64(
        store_.db(), BuildCountQuery(part.table, query, filter, part.after_id, part.join_logs));
    if (!n.ok()) {
      EndRead();
      return SearchError(query, n.status());
    }
    total += *n;
  }
  EndRead();
  return total;
}

Result<std::vector<LevelCount>> LogStore::Stats(const LogFilter& filter) {
  Result<Statement> stmt = PrepareQuery(store_.db(), BuildStatsQuery(filter));
  if (!stmt.ok()) return stmt.status();
  std::vector<LevelCount> out;
  while (true) {
    Result<bool> row = stmt->Step();
    if (!row.ok()) return row.status().WithContext("cannot read " + store_.path());
    if (!*row) break;
    LevelCount c;
    c.service = stmt->ColumnText(0);
    c.level = LevelFromSeverityNumber(static_cast<int>(stmt->ColumnInt64(1))).value_or(LogLevel::kInfo);
    c.count = stmt->ColumnInt64(2);
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace mesh
