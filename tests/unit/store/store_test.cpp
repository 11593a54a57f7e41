#include "mesh/store/store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "mesh/store/log_store.h"
#include "mesh/store/sqlite_db.h"
#include "raw_sqlite.h"
#include "test_support.h"

namespace mesh {
namespace store_store_test {

using ::testing::HasSubstr;

// The first column of the first row of `sql`, as text.
std::string QueryRaw(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  std::string out;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK &&
      sqlite3_step(stmt) == SQLITE_ROW && sqlite3_column_text(stmt, 0) != nullptr) {
    out = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return out;
}

class StoreTest : public ::testing::Test {
 protected:
  Result<std::unique_ptr<Store>> Open(const std::string& path, int target = 0, bool create = true) {
    return Store::Open(
        {.path = path, .create_if_missing = create, .target_schema_version = target});
  }
  std::unique_ptr<Store> OpenOrDie(const std::string& path, int target = 0) {
    Result<std::unique_ptr<Store>> s = Open(path, target);
    EXPECT_TRUE(s.ok()) << s.status().message();
    return s.ok() ? std::move(s).value() : nullptr;
  }

  testing::TempDir dir_;
};

TEST_F(StoreTest, OpenCreatesMissingFoldersAndTheFile) {
  const std::string path = dir_.File("a/b/c/mesh.db");
  std::unique_ptr<Store> store = OpenOrDie(path);
  ASSERT_NE(store, nullptr);
  EXPECT_TRUE(std::filesystem::is_directory(dir_.File("a/b/c")));
  EXPECT_TRUE(std::filesystem::is_regular_file(path));
  EXPECT_EQ(store->path(), path);
  EXPECT_FALSE(store->read_only());
}

mode_t ModeOf(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 ? (st.st_mode & 07777) : 07777;
}

TEST_F(StoreTest, NewStoreAndItsWalFilesAreOwnerOnlyWhateverTheUmask) {
  const mode_t saved = umask(0);
  const std::string path = dir_.File("mesh.db");
  std::unique_ptr<Store> store = OpenOrDie(path);
  umask(saved);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->db().Exec("CREATE TABLE t (x)").ok());  // makes the -wal and -shm files
  for (const char* suffix : {"", "-wal", "-shm"}) {
    EXPECT_EQ(ModeOf(path + suffix), 0600u) << suffix;
  }
}

TEST_F(StoreTest, OpeningForWritingTightensAStoreOthersCanReadAndSaysSo) {
  const std::string path = dir_.File("mesh.db");
  ASSERT_NE(OpenOrDie(path), nullptr);
  ASSERT_EQ(chmod(path.c_str(), 0644), 0);
  std::vector<std::string> warnings;
  Result<std::unique_ptr<Store>> reader =
      Store::Open({.path = path, .read_only = true, .warn = [&](const std::string& w) { warnings.push_back(w); }});
  ASSERT_TRUE(reader.ok());
  EXPECT_EQ(ModeOf(path), 0644u);  // a reader changes nothing
  EXPECT_TRUE(warnings.empty());
  Result<std::unique_ptr<Store>> writer =
      Store::Open({.path = path, .warn = [&](const std::string& w) { warnings.push_back(w); }});
  ASSERT_TRUE(writer.ok());
  // The reader's -wal and -shm took the store's 0644: all three are tightened, each said.
  for (const char* suffix : {"", "-wal", "-shm"}) {
    if (std::filesystem::exists(path + suffix)) {
      EXPECT_EQ(ModeOf(path + suffix), 0600u) << suffix;
    }
  }
  ASSERT_FALSE(warnings.empty());
  EXPECT_EQ(warnings[0], path + " was mode 0644 (readable beyond its owner): now 0600");
}

TEST_F(StoreTest, NewStoreIsAtTheLatestSchemaVersion) {
  std::unique_ptr<Store> store = OpenOrDie(dir_.File("mesh.db"));
  ASSERT_NE(store, nullptr);
  EXPECT_GE(Store::LatestSchemaVersion(), 2);
  EXPECT_EQ(store->schema_version(), Store::LatestSchemaVersion());
  EXPECT_EQ(QueryRaw(dir_.File("mesh.db"), "SELECT max(version) FROM schema_version"),
            std::to_string(Store::LatestSchemaVersion()));
}

TEST_F(StoreTest, TurnsOnWriteAheadLogging) {
  std::unique_ptr<Store> store = OpenOrDie(dir_.File("mesh.db"));
  EXPECT_EQ(QueryRaw(dir_.File("mesh.db"), "PRAGMA journal_mode"), "wal");
}

// Four `meshlog ingest` processes starting on a new store at once: while one switches it to
// WAL the others must wait for it rather than fail with "database is locked".
TEST_F(StoreTest, OpenWaitsForAnotherConnectionHoldingTheWriteLockOfANewStore) {
  const std::string path = dir_.File("mesh.db");
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "BEGIN IMMEDIATE; CREATE TABLE held (x)", nullptr, nullptr, nullptr),
            SQLITE_OK);
  std::thread release([other] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    sqlite3_exec(other, "COMMIT", nullptr, nullptr, nullptr);
  });
  Result<std::unique_ptr<Store>> store = Open(path);
  release.join();
  sqlite3_close(other);
  ASSERT_TRUE(store.ok()) << store.status().message();
  EXPECT_EQ(QueryRaw(path, "PRAGMA journal_mode"), "wal");
  EXPECT_EQ((*store)->schema_version(), Store::LatestSchemaVersion());
}

TEST_F(StoreTest, MissingFileIsNotFoundWhenCreationIsOff) {
  const std::string path = dir_.File("sub/mesh.db");
  Result<std::unique_ptr<Store>> s = Open(path, 0, /*create=*/false);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), Status::Code::kNotFound);
  EXPECT_THAT(s.status().message(), HasSubstr(path));
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_FALSE(std::filesystem::exists(dir_.File("sub")));
}

TEST_F(StoreTest, EmptyPathIsInvalidArgument) {
  Result<std::unique_ptr<Store>> s = Open("");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), Status::Code::kInvalidArgument);
}

TEST_F(StoreTest, DirectoryPathIsRejected) {
  Result<std::unique_ptr<Store>> s = Open(dir_.path());
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), Status::Code::kInvalidArgument);
  EXPECT_THAT(s.status().message(), HasSubstr("is a directory"));
}

TEST_F(StoreTest, AFileInTheWayOfTheFolderIsIOError) {
  testing::WriteFile(dir_.File("blocker"), "x");
  Result<std::unique_ptr<Store>> s = Open(dir_.File("blocker/sub/mesh.db"));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), Status::Code::kIOError);
  EXPECT_THAT(s.status().message(), HasSubstr("blocker"));
}

TEST_F(StoreTest, NonSqliteFileIsCorruptionAndLeftUntouched) {
  std::string text;
  for (int i = 0; i < 200; ++i) text += "this is a text file, not a database\n";
  for (const std::string& content : {text, std::string("tiny text file, well past 16 bytes\n")}) {
    const std::string path = dir_.File("notes.txt");
    testing::WriteFile(path, content);
    Result<std::unique_ptr<Store>> s = Open(path);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.status().code(), Status::Code::kCorruption) << s.status().message();
    EXPECT_THAT(s.status().message(), HasSubstr("not a mesh database"));
    EXPECT_EQ(testing::ReadFile(path), content);
  }
}

TEST_F(StoreTest, AnEmptyExistingFileBecomesANewStore) {
  const std::string path = dir_.File("empty.db");
  testing::WriteFile(path, "");
  std::unique_ptr<Store> store = OpenOrDie(path);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->schema_version(), Store::LatestSchemaVersion());
}

TEST_F(StoreTest, NewerSchemaVersionIsUnsupported) {
  const std::string path = dir_.File("mesh.db");
  OpenOrDie(path).reset();
  ExecRaw(path, "UPDATE schema_version SET version = " +
                    std::to_string(Store::LatestSchemaVersion() + 1));
  Result<std::unique_ptr<Store>> s = Open(path);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), Status::Code::kUnsupported);
  EXPECT_THAT(s.status().message(), HasSubstr("upgrade mesh"));
}

TEST_F(StoreTest, TargetSchemaVersionStopsMigrating) {
  const std::string path = dir_.File("mesh.db");
  std::unique_ptr<Store> store = OpenOrDie(path, /*target=*/1);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->schema_version(), 1);
  EXPECT_EQ(QueryRaw(path, "SELECT count(*) FROM sqlite_master WHERE name = 'logs'"), "1");
  EXPECT_EQ(QueryRaw(path, "SELECT count(*) FROM sqlite_master WHERE name = 'logs_fts'"), "0");
}

TEST_F(StoreTest, OpeningAnUpToDateStoreAtALowerTargetKeepsItsVersion) {
  const std::string path = dir_.File("mesh.db");
  OpenOrDie(path).reset();
  std::unique_ptr<Store> store = OpenOrDie(path, /*target=*/1);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->schema_version(), Store::LatestSchemaVersion());
}

TEST_F(StoreTest, MigratesAVersion1StoreAndKeepsItsRows) {
  const std::string path = dir_.File("old/mesh.db");
  {
    std::unique_ptr<Store> v1 = OpenOrDie(path, /*target=*/1);
    ASSERT_NE(v1, nullptr);
    ASSERT_EQ(v1->schema_version(), 1);
  }
  // A row written by the version-1 schema, without the library.
  ExecRaw(path,
          "INSERT INTO logs (ts_ns, service, level, message, trace_id, span_id, attributes) "
          "VALUES (1764075600000000000, 'legacy', 17, 'written before full-text search', "
          "'4bf92f3577b34da6a3ce929d0e0e4736', NULL, '{\"k\":1}')");

  std::unique_ptr<Store> store = OpenOrDie(path);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->schema_version(), Store::LatestSchemaVersion());

  LogStore logs(*store);
  Result<std::vector<LogRecord>> tail = logs.Tail({}, 10);
  ASSERT_TRUE(tail.ok()) << tail.status().message();
  ASSERT_EQ(tail->size(), 1u);
  const LogRecord& r = tail->front();
  EXPECT_EQ(r.ts_ns, 1'764'075'600'000'000'000);
  EXPECT_EQ(r.service, "legacy");
  EXPECT_EQ(r.level, LogLevel::kError);
  EXPECT_EQ(r.message, "written before full-text search");
  EXPECT_EQ(r.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(r.span_id, "");
  EXPECT_EQ(r.attributes, "{\"k\":1}");

  // The old row is not in the new full-text index yet, and search still finds it.
  EXPECT_EQ(*logs.PendingIndexRows(), 1);
  Result<std::vector<LogRecord>> found = logs.Search("\"full-text search\"", {}, 10, false);
  ASSERT_TRUE(found.ok()) << found.status().message();
  ASSERT_EQ(found->size(), 1u);
  EXPECT_EQ(found->front().id, r.id);
  EXPECT_EQ(*logs.CountMatches("written", {}), 1);
}

TEST_F(StoreTest, ReopeningKeepsTheVersionAndData) {
  const std::string path = dir_.File("mesh.db");
  {
    std::unique_ptr<Store> store = OpenOrDie(path);
    LogStore logs(*store);
    LogRecord r;
    r.service = "s";
    r.message = "kept";
    ASSERT_TRUE(logs.Insert({r}).ok());
  }
  std::unique_ptr<Store> store = OpenOrDie(path);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->schema_version(), Store::LatestSchemaVersion());
  EXPECT_EQ(QueryRaw(path, "SELECT count(*) FROM schema_version"), "1");
  LogStore logs(*store);
  EXPECT_EQ(logs.Tail({}, 10)->size(), 1u);
}

TEST_F(StoreTest, TwoConnectionsShareOneFile) {
  const std::string path = dir_.File("mesh.db");
  std::unique_ptr<Store> a = OpenOrDie(path);
  std::unique_ptr<Store> b = OpenOrDie(path);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  LogStore writer(*a);
  LogStore reader(*b);
  LogRecord r;
  r.service = "s";
  r.message = "shared";
  ASSERT_TRUE(writer.Insert({r}).ok());
  Result<std::vector<LogRecord>> seen = reader.Tail({}, 10);
  ASSERT_TRUE(seen.ok());
  ASSERT_EQ(seen->size(), 1u);
  EXPECT_EQ(seen->front().message, "shared");
}

TEST_F(StoreTest, ExplainQueryPlanDescribesEachStep) {
  std::unique_ptr<Store> store = OpenOrDie(dir_.File("mesh.db"));
  Result<std::vector<std::string>> plan =
      store->ExplainQueryPlan({"SELECT id FROM logs WHERE ts_ns >= ?", {int64_t{5}}});
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  ASSERT_FALSE(plan->empty());
  EXPECT_THAT(plan->front(), HasSubstr("logs_ts"));
}

TEST_F(StoreTest, ExplainQueryPlanReportsBadSql) {
  std::unique_ptr<Store> store = OpenOrDie(dir_.File("mesh.db"));
  Result<std::vector<std::string>> plan = store->ExplainQueryPlan({"SELECT nope FROM nowhere", {}});
  ASSERT_FALSE(plan.ok());
  EXPECT_THAT(plan.status().message(), HasSubstr("nowhere"));
}

// ---- ResolveStorePath ------------------------------------------------------------------------

using Vars = std::map<std::string, std::string>;

class FakeEnv {
 public:
  explicit FakeEnv(std::map<std::string, std::string> vars) : vars_(std::move(vars)) {}
  std::function<const char*(const char*)> Getenv() const {
    return [this](const char* name) -> const char* {
      auto it = vars_.find(name);
      return it == vars_.end() ? nullptr : it->second.c_str();
    };
  }

 private:
  std::map<std::string, std::string> vars_;
};

TEST(ResolveStorePath, FlagWinsOverEverything) {
  FakeEnv env(Vars{{"MESH_DB", "/env/mesh.db"}, {"XDG_DATA_HOME", "/xdg"}, {"HOME", "/home/u"}});
  EXPECT_EQ(ResolveStorePath("/flag/mesh.db", env.Getenv()), "/flag/mesh.db");
}

TEST(ResolveStorePath, MeshDbWinsOverXdgAndHome) {
  FakeEnv env(Vars{{"MESH_DB", "/env/mesh.db"}, {"XDG_DATA_HOME", "/xdg"}, {"HOME", "/home/u"}});
  EXPECT_EQ(ResolveStorePath("", env.Getenv()), "/env/mesh.db");
}

TEST(ResolveStorePath, XdgDataHomeWinsOverHome) {
  FakeEnv env(Vars{{"XDG_DATA_HOME", "/xdg"}, {"HOME", "/home/u"}});
  EXPECT_EQ(ResolveStorePath("", env.Getenv()), "/xdg/mesh/mesh.db");
}

TEST(ResolveStorePath, FallsBackToHome) {
  FakeEnv env(Vars{{"HOME", "/home/u"}});
  EXPECT_EQ(ResolveStorePath("", env.Getenv()), "/home/u/.local/share/mesh/mesh.db");
}

TEST(ResolveStorePath, EmptyVariablesCountAsUnset) {
  FakeEnv env(Vars{{"MESH_DB", ""}, {"XDG_DATA_HOME", ""}, {"HOME", "/home/u"}});
  EXPECT_EQ(ResolveStorePath("", env.Getenv()), "/home/u/.local/share/mesh/mesh.db");
}

TEST(ResolveStorePath, WithoutHomeUsesTheCurrentDirectory) {
  FakeEnv env(Vars{});
  EXPECT_EQ(ResolveStorePath("", env.Getenv()), "./.local/share/mesh/mesh.db");
}

}  // namespace
}  // namespace mesh
