#include "mesh/store/store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <mutex>

#include "mesh/store/sqlite_db.h"

namespace mesh {
namespace {

// Forward migrations: kMigrations[i] takes a database from version i to version i + 1.
// Never edit a released step; append a new one.
constexpr const char* kMigrations[] = {
    // 1: log records. AUTOINCREMENT keeps ids increasing even after retention empties the
    // table, which follow cursors and the full-text watermark rely on.
    R"sql(
    CREATE TABLE logs (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      ts_ns INTEGER NOT NULL,
      service TEXT NOT NULL,
      level INTEGER NOT NULL,
      message TEXT NOT NULL,
      trace_id TEXT,
      span_id TEXT,
      attributes TEXT
    );
    CREATE INDEX logs_service_ts ON logs(service, ts_ns, level);
    CREATE INDEX logs_ts ON logs(ts_ns);
    CREATE INDEX logs_trace ON logs(trace_id) WHERE trace_id IS NOT NULL;
    )sql",
    // 2: full-text index on messages, fed off the ingest path in batches; logs_fts_state
    // records how far (by id) it has been fed.
    R"sql(
    CREATE VIRTUAL TABLE logs_fts USING fts5(message, content='logs', content_rowid='id');
    CREATE TABLE logs_fts_state (
      id INTEGER PRIMARY KEY CHECK (id = 1),
      indexed_through INTEGER NOT NULL
    );
    INSERT INTO logs_fts_state VALUES (1, 0);
    )sql",
    // 3: spans. (trace_id, span_id) is unique so that re-sent or re-imported spans are not
    // stored twice; it is also the index a trace is read by. No AUTOINCREMENT: nothing reads
    // spans by cursor, and it would cost a sqlite_sequence update per insert.
    R"sql(
    CREATE TABLE spans (
      id INTEGER PRIMARY KEY,
      trace_id TEXT NOT NULL,
      span_id TEXT NOT NULL,
      parent_span_id TEXT,
      trace_state TEXT,
      service TEXT NOT NULL,
      name TEXT NOT NULL,
      kind INTEGER NOT NULL,
      start_ns INTEGER NOT NULL,
      duration_ns INTEGER NOT NULL,
      status INTEGER NOT NULL,
      status_message TEXT,
      attributes TEXT,
      events TEXT,
      resource TEXT,
      scope TEXT
    );
    CREATE UNIQUE INDEX spans_trace_span ON spans(trace_id, span_id);
    CREATE INDEX spans_service_start ON spans(service, start_ns);
    CREATE INDEX spans_start ON spans(start_ns);
    )sql",
    // 4: the service registry; it lives in the store so that it survives a meshd restart.
    R"sql(
    CREATE TABLE instances (
      id TEXT PRIMARY KEY,
      service TEXT NOT NULL,
      host TEXT NOT NULL,
      port INTEGER NOT NULL,
      meta TEXT,
      registered_ns INTEGER NOT NULL,
      heartbeat_ns INTEGER NOT NULL,
      ttl_ns INTEGER NOT NULL
    );
    CREATE INDEX instances_service ON instances(service);
    )sql",
    // 5: metrics in the Prometheus model. A series is a name and a canonical label set; the
    // service label is copied into its own column so per-service queries use an index.
    R"sql(
    CREATE TABLE metric_series (
      id INTEGER PRIMARY KEY,
      name TEXT NOT NULL,
      labels TEXT NOT NULL,
      type TEXT NOT NULL,
      help TEXT NOT NULL DEFAULT '',
      service TEXT NOT NULL,
      UNIQUE (name, labels)
    );
    CREATE INDEX metric_series_service ON metric_series(service, name);
    CREATE TABLE metric_samples (
      series_id INTEGER NOT NULL,
      ts_ns INTEGER NOT NULL,
      value REAL NOT NULL
    );
    CREATE INDEX metric_samples_series_ts ON metric_samples(series_id, ts_ns);
    CREATE INDEX metric_samples_ts ON metric_samples(ts_ns);
    )sql",
    // 6: span durations in the per-service index, so that `list --service S --min-duration D`
    // filters on the index alone instead of reading every span of the service from the table.
    R"sql(
    DROP INDEX spans_service_start;
    CREATE INDEX spans_service_start ON spans(service, start_ns, duration_ns);
    )sql",
    // 7: alerting. One row per alert (a rule applied to one service) carries its state between
    // separate `meshalert check` runs; events are its history; silences mute notifications.
    R"sql(
    CREATE TABLE alert_states (
      rule TEXT NOT NULL,
      service TEXT NOT NULL,
      phase INTEGER NOT NULL,
      severity TEXT NOT NULL,
      active_since_ns INTEGER NOT NULL,
      fired_at_ns INTEGER NOT NULL,
      quiet_since_ns INTEGER NOT NULL,
      resolved_at_ns INTEGER NOT NULL,
      last_eval_ns INTEGER NOT NULL,
      last_value REAL,
      pending_sinks INTEGER NOT NULL,
      notified_ns INTEGER NOT NULL,
      notify_error TEXT,
      PRIMARY KEY (rule, service)
    ) WITHOUT ROWID;
    CREATE TABLE alert_events (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      ts_ns INTEGER NOT NULL,
      rule TEXT NOT NULL,
      service TEXT NOT NULL,
      event TEXT NOT NULL,
      severity TEXT NOT NULL,
      value REAL,
      detail TEXT
    );
    CREATE INDEX alert_events_ts ON alert_events(ts_ns);
    CREATE TABLE alert_silences (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      rule TEXT NOT NULL,
      service TEXT NOT NULL,
      starts_ns INTEGER NOT NULL,
      ends_ns INTEGER NOT NULL,
      comment TEXT NOT NULL,
      created_by TEXT NOT NULL
    );
    CREATE INDEX alert_silences_ends ON alert_silences(ends_ns);
    )sql",
    // 8: sample values in the per-series index, so that reading a series over a window (the
    // golden signals of meshstat, meshalert, the dashboard) never seeks into the table: a day
    // of 50 services' request series went from 1.85 s to 0.38 s to read (docs/benchmarks.md).
    R"sql(
    DROP INDEX metric_samples_series_ts;
    CREATE INDEX metric_samples_series_ts ON metric_samples(series_id, ts_ns, value);
    )sql",
    // 9: scoped bootstrap tokens (`meshd token create`): one service each, the secret kept as
    // its SHA-256 only. expires_ns 0: never; uses_left -1: unlimited; revoked_ns 0: in force.
    R"sql(
    CREATE TABLE join_tokens (
      id TEXT PRIMARY KEY,
      service TEXT NOT NULL,
      secret_sha256 TEXT NOT NULL,
      created_ns INTEGER NOT NULL,
      expires_ns INTEGER NOT NULL,
      uses_left INTEGER NOT NULL,
      revoked_ns INTEGER NOT NULL DEFAULT 0,
      last_used_ns INTEGER NOT NULL DEFAULT 0
    ) WITHOUT ROWID;
    )sql",
    // 10: span links (OTLP), a JSON array as Span::links holds it; NULL for none.
    R"sql(
    ALTER TABLE spans ADD COLUMN links TEXT;
    )sql",
    // 11: the instrumentation scope's version and attributes (OTLP scope.version, a JSON
    // object as Span::scope_attributes holds it); NULL when none were sent.
    R"sql(
    ALTER TABLE spans ADD COLUMN scope_version TEXT;
    ALTER TABLE spans ADD COLUMN scope_attributes TEXT;
    )sql",
    // 12: the remote-write outbox (meshd --remote-write): each stored sample, written in the
    // transaction that stores it, until the receiver took it. Self-contained (name and labels,
    // not a series id) so that retention of metric_series never loses a queued sample.
    // AUTOINCREMENT: ids only grow, so the order sent is the order received.
    R"sql(
    CREATE TABLE remote_write_outbox (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      enqueued_ns INTEGER NOT NULL,
      name TEXT NOT NULL,
      labels TEXT NOT NULL,
      ts_ms INTEGER NOT NULL,
      value REAL NOT NULL
    );
    )sql",
    // 13: span roll-ups (span_rollup.h): per minute (width_s 60) and hour (3600), per service
    // and operation and per caller -> callee edge, the spans' count, errors and duration
    // histogram (DurationHistogram::Encode); rolled_through_id is the last spans.id added in.
    // An existing store starts at 0 and is rolled up in the background.
    R"sql(
    CREATE TABLE span_rollup_ops (
      width_s INTEGER NOT NULL,
      start_ns INTEGER NOT NULL,
      service TEXT NOT NULL,
      name TEXT NOT NULL,
      count INTEGER NOT NULL,
      errors INTEGER NOT NULL,
      durations TEXT NOT NULL,
      PRIMARY KEY (width_s, start_ns, service, name)
    ) WITHOUT ROWID;
    CREATE TABLE span_rollup_edges (
      width_s INTEGER NOT NULL,
      start_ns INTEGER NOT NULL,
      caller TEXT NOT NULL,
      callee TEXT NOT NULL,
      count INTEGER NOT NULL,
      errors INTEGER NOT NULL,
      durations TEXT NOT NULL,
      PRIMARY KEY (width_s, start_ns, caller, callee)
    ) WITHOUT ROWID;
    CREATE TABLE span_rollup_state (rolled_through_id INTEGER NOT NULL);
    INSERT INTO span_rollup_state VALUES (0);
    )sql",
    // 14: the OTLP export outbox (meshd --export-otlp): each span, log record and metric data point as the
    // OTLP protobuf request that carries it alone, written in the transaction that stores it. A
    // span waits (ready 0) for its trace's tail-sampling decision, taken in otlp_outbox_traces
    // once no span of the trace has arrived for the settle time; the decision is kept a while so
    // that a late span follows it.
    R"sql(
    CREATE TABLE otlp_outbox (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      signal INTEGER NOT NULL,
      enqueued_ns INTEGER NOT NULL,
      ready INTEGER NOT NULL,
      trace_id TEXT,
      body BLOB NOT NULL
    );
    CREATE INDEX otlp_outbox_ready ON otlp_outbox(signal, id) WHERE ready = 1;
    CREATE INDEX otlp_outbox_waiting ON otlp_outbox(trace_id) WHERE ready = 0;
    CREATE TABLE otlp_outbox_traces (
      trace_id TEXT PRIMARY KEY,
      last_ns INTEGER NOT NULL,
      keep INTEGER NOT NULL,
      decided_ns INTEGER NOT NULL DEFAULT 0,
      kept INTEGER NOT NULL DEFAULT 0
    ) WITHOUT ROWID;
    CREATE INDEX otlp_outbox_traces_waiting ON otlp_outbox_traces(last_ns) WHERE decided_ns = 0;
    CREATE INDEX otlp_outbox_traces_decided ON otlp_outbox_traces(decided_ns) WHERE decided_ns > 0;
    )sql",
};
constexpr int kLatestVersion = static_cast<int>(std::size(kMigrations));

Status MakeDirectories(const std::string& dir) {
  if (dir.empty()) return Status::Ok();
  struct stat st;
  if (stat(dir.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return Status::Ok();
    return Status::IOError("cannot create directory " + dir + ": a file is in the way");
  }
  const size_t slash = dir.find_last_of('/');
  if (slash != std::string::npos && slash > 0) {
    if (Status s = MakeDirectories(dir.substr(0, slash)); !s.ok()) return s;
  }
  if (mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
    return Status::IOError("cannot create directory " + dir + ": " + std::strerror(errno));
  }
  return Status::Ok();
}

// Creates the store file empty, owner-only (SQLite would create it 0644 less the umask).
Status CreateOwnerOnly(const std::string& path) {
  const int fd = open(path.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) return Status::Ok();  // another process made it first: tightened below
    return Status::IOError("cannot create " + path + ": " + std::strerror(errno));
  }
  const bool ok = fchmod(fd, 0600) == 0;  // open() applied the umask; 0600 is the point
  const int saved = errno;
  close(fd);
  if (!ok) return Status::IOError("cannot make " + path + " owner-only: " + std::strerror(saved));
  return Status::Ok();
}

// The store and its -wal and -shm files, owner-only: what group or others could read is
// tightened, and reported.
void TightenPermissions(const std::string& path,
                        const std::function<void(const std::string&)>& warn) {
  for (const std::string& file : {path, path + "-wal", path + "-shm"}) {
    struct stat st;
    if (stat(file.c_str(), &st) != 0 || (st.st_mode & 077) == 0) continue;
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    const bool tightened = chmod(file.c_str(), 0600) == 0;
    if (!warn) continue;
    warn(tightened ? file + " was mode " + mode + " (readable beyond its owner): now 0600"
                   : file + " is mode " + mode +
                         " (readable beyond its owner) and could not be made 0600: " +
                         std::strerror(errno));
  }
}

}  // namespace

Store::Store(std::string path, std::unique_ptr<Db> db) : path_(std::move(path)), db_(std::move(db)) {}
Store::~Store() = default;

int Store::LatestSchemaVersion() { return kLatestVersion; }

bool Store::read_only() const { return db_->ReadOnly(); }

Result<std::unique_ptr<Store>> Store::Open(const Options& options) {
  const std::string& path = options.path;
  if (path.empty()) return Status::InvalidArgument("empty database path");
  struct stat st;
  const bool exists = stat(path.c_str(), &st) == 0;
  if (exists && S_ISDIR(st.st_mode)) {
    return Status::InvalidArgument("database path " + path + " is a directory");
  }
  if (!exists) {
    if (!options.create_if_missing) {
      return Status::NotFound("no store at " + path +
                              " (nothing stored there yet: pass --db or set $MESH_DB to the "
                              "store in use)");
    }
    const size_t slash = path.find_last_of('/');
    if (slash != std::string::npos) {
      if (Status s = MakeDirectories(path.substr(0, slash)); !s.ok()) return s;
    }
  }
  // A file we may not write is opened read-only, so reading commands still work on it (its
  // folder must stay writable: a WAL store needs its -shm file).
  const bool writable = !options.read_only && (!exists || access(path.c_str(), W_OK) == 0);
  const bool in_memory = path == ":memory:";
  if (writable && !in_memory) {
    if (!exists) {
      if (Status s = CreateOwnerOnly(path); !s.ok()) return s;
    }
    TightenPermissions(path, options.warn);
  }
  int flags = writable ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE : SQLITE_OPEN_READONLY;
  flags |= SQLITE_OPEN_NOMUTEX;
  // SQLite's memory statistics take a process-wide mutex on every allocation, which the
  // writer and the readers then contend on; nothing here reads them. Only possible before
  // SQLite initializes, hence once, before the first connection.
  static std::once_flag no_memory_statistics;
  std::call_once(no_memory_statistics, [] { sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); });
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  auto db = std::make_unique<Db>(raw);
  if (rc != SQLITE_OK) {
    return Status::IOError("cannot open " + path + ": " + sqlite3_errmsg(raw));
  }
  sqlite3_extended_result_codes(raw, 1);
  sqlite3_busy_timeout(raw, 30000);

  // The first read tells a database from any other file.
  if (Result<int64_t> probe = QueryInt64(*db, {"SELECT count(*) FROM sqlite_master", {}}); !probe.ok()) {
    const int code = sqlite3_errcode(raw) & 0xFF;
    if (code == SQLITE_NOTADB || code == SQLITE_CORRUPT) {
      return Status::Corruption(path + " is not a mesh database (" + probe.status().message() + ")");
    }
    return Status::IOError("cannot read " + path + ": " + probe.status().message());
  }
  if (writable) {
    if (Status s = EnableWal(*db, std::chrono::seconds(30)); !s.ok()) {
      return Status::IOError("cannot enable WAL on " + path + ": " + s.message());
    }
  }
  db->Exec("PRAGMA synchronous=NORMAL");
  // Index pages of a busy store do not fit the 2 MiB default: inserts then re-read pages.
  db->Exec("PRAGMA cache_size=-32768");
  sqlite3_wal_autocheckpoint(db->raw(), kWalAutocheckpointFrames);

  std::unique_ptr<Store> store(new Store(path, std::move(db)));
  const int target = options.target_schema_version > 0
                         ? std::min(options.target_schema_version, kLatestVersion)
                         : kLatestVersion;
  if (Status s = store->Migrate(target); !s.ok()) return s;
  return store;
}

Status Store::Migrate(int target) {
  Db& db = *db_;
  const auto read_version = [&]() -> Result<int64_t> {
    Result<int64_t> has_table = QueryInt64(db, {"SELECT count(*) FROM sqlite_master WHERE type='table' AND name='schema_version'", {}});
    if (!has_table.ok() || *has_table == 0) return has_table;
    return QueryInt64(db, {"SELECT max(version) FROM schema_version", {}});
  };
  Result<int64_t> version = read_version();
  if (!version.ok()) return version.status().WithContext("cannot read schema of " + path_);
  if (*version > kLatestVersion) {
    return Status::Unsupported(path_ + " has schema version " + std::to_string(*version) +
                               ", newer than this build supports (" +
                               std::to_string(kLatestVersion) + "); upgrade mesh");
  }
  if (*version >= target) {
    schema_version_ = static_cast<int>(*version);
    return Status::Ok();
  }
  if (db.ReadOnly()) {
    return Status::IOError(path_ + " needs a schema upgrade but is read-only; open it once "
                                   "with write access");
  }
  // Another process may be migrating too: re-read the version inside the write transaction.
  Status s = InWriteTransaction(db, [&]() -> Status {
    if (Status e = db.Exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
        !e.ok()) {
      return e;
    }
    Result<int64_t> current = QueryInt64(db, {"SELECT coalesce(max(version), 0) FROM schema_version", {}});
    if (!current.ok()) return current.status();
    for (int v = static_cast<int>(*current); v < target; ++v) {
      if (Status e = db.Exec(kMigrations[v]); !e.ok()) {
        return e.WithContext("migration to schema version " + std::to_string(v + 1));
      }
    }
    if (*current < target) {
      if (Status e = db.Exec("DELETE FROM schema_version"); !e.ok()) return e;
      Result<Statement> insert = db.Prepare("INSERT INTO schema_version VALUES (?)");
      if (!insert.ok()) return insert.status();
      insert->Bind(1, static_cast<int64_t>(target));
      if (Result<bool> r = insert->Step(); !r.ok()) return r.status();
    }
    schema_version_ = std::max<int>(static_cast<int>(*current), target);
    return Status::Ok();
  });
  return s.WithContext("cannot migrate " + path_);
}

Result<std::vector<std::string>> Store::ExplainQueryPlan(const SqlQuery& query) {
  SqlQuery explain = query;
  explain.sql = "EXPLAIN QUERY PLAN " + query.sql;
  Result<Statement> stmt = PrepareQuery(*db_, explain);
  if (!stmt.ok()) return stmt.status();
  std::vector<std::string> lines;
  while (true) {
    Result<bool> row = stmt->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    lines.push_back(stmt->ColumnText(3));
  }
  return lines;
}

std::string ResolveStorePath(const std::string& flag,
                             const std::function<const char*(const char*)>& getenv) {
  if (!flag.empty()) return flag;
  const char* env = getenv("MESH_DB");
  if (env && *env) return env;
  const char* xdg = getenv("XDG_DATA_HOME");
  if (xdg && *xdg) return std::string(xdg) + "/mesh/mesh.db";
  const char* home = getenv("HOME");
  return std::string(home && *home ? home : ".") + "/.local/share/mesh/mesh.db";
}

}  // namespace mesh
