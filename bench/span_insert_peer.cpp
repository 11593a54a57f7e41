// span_insert_peer: the ceiling meshd's span ingest is measured against — the same spans
// inserted straight into the same SQLite table with one prepared statement, in transactions
// of one batch each, no HTTP and no JSON. Also builds large stores for the query benchmark.
//   span_insert_peer DB SPANS BATCH [TRACE_IDS_OUT]
// The schema comes from mesh::Store::Open (the real migrations); inserts use the raw C API.
#include <sqlite3.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "mesh/base/trace_id.h"
#include "mesh/store/store.h"

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: span_insert_peer DB SPANS BATCH [TRACE_IDS_OUT]\n");
    return 2;
  }
  const std::string path = argv[1];
  const long total = std::atol(argv[2]);
  const long batch = std::atol(argv[3]);
  {
    auto store = mesh::Store::Open({.path = path});
    if (!store.ok()) {
      std::fprintf(stderr, "span_insert_peer: %s\n", store.status().message().c_str());
      return 1;
    }
  }
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-32768", nullptr, nullptr, nullptr);
  sqlite3_stmt* insert = nullptr;
  sqlite3_prepare_v2(db,
                     "INSERT OR IGNORE INTO spans (trace_id, span_id, parent_span_id, service, name, kind, "
                     "start_ns, duration_ns, status, attributes, scope) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                     -1, &insert, nullptr);
  std::ofstream ids_out;
  if (argc > 4) ids_out.open(argv[4]);
  mesh::IdGenerator ids;
  const std::string attributes = R"({"http.method":"GET","http.status_code":200,"http.route":"/api/orders"})";
  const int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                          std::chrono::system_clock::now().time_since_epoch()).count();
  std::string trace, parent;
  const auto start = std::chrono::steady_clock::now();
  for (long done = 0; done < total;) {
    sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
    for (long i = 0; i < batch && done < total; ++i, ++done) {
      if (done % 10 == 0) {
        trace = ids.NewTraceId();
        parent.clear();
        if (ids_out && done % 1000 == 0) ids_out << trace << '\n';
      }
      const std::string id = ids.NewSpanId();
      const std::string service = "svc" + std::to_string(done % 4);
      sqlite3_bind_text(insert, 1, trace.data(), static_cast<int>(trace.size()), SQLITE_STATIC);
      sqlite3_bind_text(insert, 2, id.data(), static_cast<int>(id.size()), SQLITE_STATIC);
      if (parent.empty()) sqlite3_bind_null(insert, 3);
      else sqlite3_bind_text(insert, 3, parent.data(), static_cast<int>(parent.size()), SQLITE_STATIC);
      sqlite3_bind_text(insert, 4, service.data(), static_cast<int>(service.size()), SQLITE_STATIC);
      sqlite3_bind_text(insert, 5, "GET /api/orders", -1, SQLITE_STATIC);
      sqlite3_bind_int64(insert, 6, 2);
      sqlite3_bind_int64(insert, 7, now + done * 1000);
      sqlite3_bind_int64(insert, 8, 120'000'000);
      sqlite3_bind_int64(insert, 9, 0);
      sqlite3_bind_text(insert, 10, attributes.data(), static_cast<int>(attributes.size()), SQLITE_STATIC);
      sqlite3_bind_text(insert, 11, "otlp_load", -1, SQLITE_STATIC);
      if (sqlite3_step(insert) != SQLITE_DONE) {
        std::fprintf(stderr, "span_insert_peer: %s\n", sqlite3_errmsg(db));
        return 1;
      }
      sqlite3_reset(insert);
      if (parent.empty()) parent = id;
    }
    sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  sqlite3_finalize(insert);
  sqlite3_close(db);
  std::printf("spans=%ld seconds=%.3f spans_per_second=%.0f\n", total, seconds, total / seconds);
  return 0;
}
