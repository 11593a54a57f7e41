// Store: the one SQLite file every mesh tool shares (logs now; spans, metrics and the registry
// as they arrive). Opening it creates the folder and the file when asked, turns on WAL and a
// busy timeout, and runs forward schema migrations inside write transactions, so several
// processes may open and write the same file at once.
//
// A Store is one connection: use it from one thread at a time (open one per thread).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "mesh/base/status.h"

namespace mesh {

class Db;

// A parameterised SQL statement; values bind in order to its '?' placeholders.
struct SqlQuery {
  using Value = std::variant<int64_t, std::string>;
  std::string sql;
  std::vector<Value> params;
};

class Store {
 public:
  struct Options {
    std::string path;
    // When false, a missing file is NotFound instead of being created.
    bool create_if_missing = true;
    // Stop migrating at this version (0: the latest). Tests use it to build old databases.
    int target_schema_version = 0;
    // Open for reading only, even when the file is writable (meshd's query connections, which
    // must never take the write lock from its writer).
    bool read_only = false;
    // Told why the store's permissions were tightened (see Open); nothing is said when unset.
    std::function<void(const std::string&)> warn = nullptr;
  };

  // The store holds what services logged and traced, often sensitive: a new store file is
  // created mode 0600 whatever the umask, and SQLite gives its -wal and -shm files the store's
  // mode. Opening an existing store for writing tightens a store, -wal or -shm file that group
  // or others may access to 0600 and says so through Options::warn.
  // Errors: NotFound (no file and !create_if_missing), IOError (cannot create the folder or
  // file), Corruption (not a SQLite database), Unsupported (made by a newer mesh).
  static Result<std::unique_ptr<Store>> Open(const Options& options);
  ~Store();

  const std::string& path() const { return path_; }
  int schema_version() const { return schema_version_; }
  bool read_only() const;
  static int LatestSchemaVersion();
  // SQLite's automatic checkpoint interval on every connection: 64 MiB of WAL rather than
  // 4 MiB, since each checkpoint copies (and syncs) the hot index pages again, which dominated
  // bulk writes.
  static constexpr int kWalAutocheckpointFrames = 16384;

  // The plan SQLite would use for `query`, one line per step ("SEARCH logs USING INDEX ...").
  Result<std::vector<std::string>> ExplainQueryPlan(const SqlQuery& query);

  // The connection, for the library's store concepts (LogStore, ...). Db is internal.
  Db& db() { return *db_; }

 private:
  Store(std::string path, std::unique_ptr<Db> db);
  Status Migrate(int target);

  std::string path_;
  std::unique_ptr<Db> db_;
  int schema_version_ = 0;
};

// Where the store lives: `flag` when set, else $MESH_DB, else $XDG_DATA_HOME/mesh/mesh.db,
// else $HOME/.local/share/mesh/mesh.db.
std::string ResolveStorePath(const std::string& flag,
                             const std::function<const char*(const char*)>& getenv);

}  // namespace mesh
