// WalCheckpointer: copies a store's write-ahead log back into the database file from its own
// connection and thread, so that the store's single writer never stalls on a checkpoint.
//
// Why: with SQLite's automatic checkpoint, the commit that crosses the threshold copies the
// whole WAL into the database and syncs both files on the writer's thread; under OTLP ingest
// that was half of the writer's commit time. Install() turns the writer connection's automatic
// checkpoint off and has each of its commits report the WAL's size instead; past
// `frames_threshold` the checkpointer thread runs a PASSIVE checkpoint (it never blocks the
// writer). A checkpoint only lets the WAL start over when it catches up with the writer, which
// a thread racing a busy writer never does: so once the thread has copied the bulk, the
// writer's next commit copies the few frames appended meanwhile. Should the thread fall behind
// anyway, the writer checkpoints itself once the WAL reaches `frames_limit`: the file's size
// stays bounded (should the thread still be copying then, the writer waits for it).
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include "mesh/base/status.h"
#include "mesh/store/store.h"

struct sqlite3;

namespace mesh {

class WalCheckpointer {
 public:
  struct Options {
    int frames_threshold = 16384;  // 64 MiB of 4 KiB pages
    int frames_limit = 65536;      // 256 MiB
  };

  // Opens a second connection to `writer`'s file and starts the thread. `writer` must outlive
  // the checkpointer and be used by one thread (its commits call back into the checkpointer).
  static Result<std::unique_ptr<WalCheckpointer>> Install(Store& writer, Options options);
  ~WalCheckpointer();  // stops the thread; restores the writer's automatic checkpoint

  // Checkpoints run so far by the thread, and by the writer (the remainders, and at the limit).
  int64_t background_checkpoints() const;
  int64_t writer_checkpoints() const;

 private:
  WalCheckpointer(Store& writer, std::unique_ptr<Store> own, Options options);
  static int OnCommit(void* self, sqlite3* db, const char* schema, int frames);
  void Run();

  Store& writer_;
  std::unique_ptr<Store> own_;
  Options options_;
  mutable std::mutex mu_;
  std::condition_variable wake_;    // the thread: a pass is due
  std::condition_variable copied_;  // the writer: the thread's pass is over
  // kIdle → (WAL past the threshold) kCopying on the thread → kCopied → the writer's next
  // commit copies the remainder → kIdle.
  enum class Phase { kIdle, kCopying, kCopied };
  Phase phase_ = Phase::kIdle;
  bool stopping_ = false;
  int64_t background_checkpoints_ = 0;
  int64_t writer_checkpoints_ = 0;
  std::thread thread_;
};

}  // namespace mesh
