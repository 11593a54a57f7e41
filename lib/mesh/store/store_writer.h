// StoreWriter: the single writer of a store shared by many threads (meshd's request threads).
// Jobs submitted from any thread are committed together in one transaction by a background
// thread (group commit); should one fail, the others are committed without it. Submit returns
// once the job's transaction has committed: an HTTP 2xx sent after it means the data is on
// disk (in the WAL). WAL checkpoints run on a WalCheckpointer's thread, off the commit path.
// Thread-safe.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "mesh/store/log_store.h"
#include "mesh/store/span_store.h"
#include "mesh/store/store.h"
#include "mesh/store/wal_checkpointer.h"

namespace mesh {

// What a job may use: the writer's connection and the stores on it.
struct WriteContext {
  Store& store;
  LogStore& logs;
  SpanStore& spans;
};

class StoreWriter {
 public:
  using Job = std::function<Status(WriteContext&)>;

  // Takes ownership of a connection to the store. Should the checkpoint connection not open,
  // the writer keeps SQLite's automatic checkpoint.
  explicit StoreWriter(std::unique_ptr<Store> store);
  ~StoreWriter();  // Stop()

  // Runs job in the next transaction and waits for its commit. The job's own error, or the
  // commit's (a full disk: IOError), comes back; Unsupported once the writer is stopped.
  Status Submit(Job job);

  // Runs `idle` on the writer thread whenever it has had no job for `every`, and at least
  // every 10 x `every` under sustained load (retention, full-text indexing, checkpoints).
  // Set before the first Submit.
  void SetIdleTask(std::function<void(WriteContext&)> idle, std::chrono::milliseconds every);

  // Finishes queued jobs, checkpoints the WAL and stops the thread. Idempotent.
  void Stop();

  // Jobs submitted and not yet taken into a transaction (meshd's write queue depth).
  size_t queued();

 private:
  struct Pending {
    Job job;
    Status result;
    bool done = false;
  };
  void Run();
  // true when every job succeeded and the group committed.
  bool CommitTogether(Db& db, WriteContext& context, std::deque<std::shared_ptr<Pending>>& batch);
  Status CommitAlone(Db& db, WriteContext& context, Pending& p);

  std::unique_ptr<Store> store_;
  std::unique_ptr<WalCheckpointer> checkpointer_;
  LogStore logs_;
  SpanStore spans_;
  std::mutex mu_;
  std::condition_variable work_cv_;
  std::condition_variable done_cv_;
  std::deque<std::shared_ptr<Pending>> queue_;
  std::function<void(WriteContext&)> idle_;
  std::chrono::milliseconds idle_every_{1000};
  bool stopping_ = false;
  std::once_flag joined_;
  std::thread thread_;
};

}  // namespace mesh
