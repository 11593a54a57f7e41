// ExecRaw: runs SQL on a store file through the plain SQLite C API, outside the library, for
// tests that set up or inspect a store behind the library's back (an old schema, a tampered
// row, an index table the library keeps to itself).
#pragma once

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <string>

namespace mesh {

inline void ExecRaw(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  char* err = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
  const std::string message = err ? err : "";
  sqlite3_free(err);
  sqlite3_close(db);
  ASSERT_EQ(rc, SQLITE_OK) << message;
}

}  // namespace mesh
