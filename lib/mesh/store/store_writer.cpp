#include "mesh/store/store_writer.h"

#include <exception>

#include "mesh/store/sqlite_db.h"

namespace mesh {
namespace {

// Jobs and the idle task run on the writer thread: an exception there (memory exhaustion in a
// third-party call) becomes the job's error instead of ending the process.
template <typename Fn>
Status RunGuarded(Fn fn) {
  try {
    return fn();
  } catch (const std::exception& e) {
    return Status::IOError(std::string("internal error: ") + e.what());
  } catch (...) {
    return Status::IOError("internal error");
  }
}

std::unique_ptr<WalCheckpointer> InstallCheckpointer(Store& store) {
  Result<std::unique_ptr<WalCheckpointer>> c = WalCheckpointer::Install(store, {});
  return c.ok() ? std::move(c).value() : nullptr;
}

}  // namespace

StoreWriter::StoreWriter(std::unique_ptr<Store> store)
    : store_(std::move(store)),
      checkpointer_(InstallCheckpointer(*store_)),
      logs_(*store_),
      spans_(*store_),
      thread_([this] { Run(); }) {}

StoreWriter::~StoreWriter() { Stop(); }

void StoreWriter::SetIdleTask(std::function<void(WriteContext&)> idle,
                              std::chrono::milliseconds every) {
  std::lock_guard lock(mu_);
  idle_ = std::move(idle);
  idle_every_ = every;
}

Status StoreWriter::Submit(Job job) {
  auto pending = std::make_shared<Pending>();
  pending->job = std::move(job);
  std::unique_lock lock(mu_);
  if (stopping_) return Status::Unsupported("the store writer is stopping");
  queue_.push_back(pending);
  work_cv_.notify_one();
  done_cv_.wait(lock, [&] { return pending->done; });
  return pending->result;
}

size_t StoreWriter::queued() {
  std::lock_guard lock(mu_);
  return queue_.size();
}

void StoreWriter::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    work_cv_.notify_one();
  }
  // Several threads may call Stop at once (a signal handler's path and a destructor): one joins.
  std::call_once(joined_, [this] {
    thread_.join();
    checkpointer_.reset();
    // Leave a compact store behind: fold the WAL back into the database file.
    store_->db().Exec("PRAGMA wal_checkpoint(TRUNCATE)");
  });
}

bool StoreWriter::CommitTogether(Db& db, WriteContext& context,
                                 std::deque<std::shared_ptr<Pending>>& batch) {
  if (!db.Exec("BEGIN IMMEDIATE").ok()) return false;
  for (auto& p : batch) {
    p->result = RunGuarded([&] { return p->job(context); });
    if (!p->result.ok()) {
      if (!sqlite3_get_autocommit(db.raw())) db.Exec("ROLLBACK");
      return false;
    }
  }
  if (db.Exec("COMMIT").ok()) return true;
  if (!sqlite3_get_autocommit(db.raw())) db.Exec("ROLLBACK");
  return false;
}

Status StoreWriter::CommitAlone(Db& db, WriteContext& context, Pending& p) {
  if (Status s = db.Exec("BEGIN IMMEDIATE"); !s.ok()) {
    return s.WithContext("cannot write to " + store_->path());
  }
  Status result = RunGuarded([&] { return p.job(context); });
  if (result.ok()) {
    result = db.Exec("COMMIT");
    if (!result.ok()) result = result.WithContext("cannot commit to " + store_->path());
  }
  if (!result.ok() && !sqlite3_get_autocommit(db.raw())) db.Exec("ROLLBACK");
  return result;
}

void StoreWriter::Run() {
  Db& db = store_->db();
  WriteContext context{*store_, logs_, spans_};
  std::unique_lock lock(mu_);
  auto last_idle = std::chrono::steady_clock::now();
  while (true) {
    const bool woke = work_cv_.wait_for(lock, idle_every_, [&] { return !queue_.empty() || stopping_; });
    // The idle task runs when jobs pause, and at least every ten intervals under sustained
    // load, so that retention and indexing never starve.
    const bool overdue = std::chrono::steady_clock::now() - last_idle >= 10 * idle_every_;
    if (idle_ && !stopping_ && ((!woke && queue_.empty()) || overdue)) {
      auto idle = idle_;
      lock.unlock();
      RunGuarded([&] {
        idle(context);
        return Status::Ok();
      });
      lock.lock();
      last_idle = std::chrono::steady_clock::now();
    }
    if (queue_.empty()) {
      if (stopping_) return;
      continue;
    }
    std::deque<std::shared_ptr<Pending>> batch;
    batch.swap(queue_);
    lock.unlock();

    // The group runs as one transaction. Should a job fail, the transaction is rolled back and
    // each job runs again in a transaction of its own, so that the failing one fails alone.
    // (Cheaper than a savepoint per job: SQLite copies every page a savepoint dirties into a
    // sub-journal, for a rollback that almost never comes.)
    if (!CommitTogether(db, context, batch)) {
      for (auto& p : batch) p->result = CommitAlone(db, context, *p);
    }
    lock.lock();
    for (auto& p : batch) p->done = true;
    done_cv_.notify_all();
  }
}

}  // namespace mesh
