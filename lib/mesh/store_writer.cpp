#include "mesh/store_writer.h"

#include <exception>

#include "mesh/sqlite_db.h"

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

}  // namespace

StoreWriter::StoreWriter(std::unique_ptr<Store> store)
    : store_(std::move(store)), logs_(*store_), spans_(*store_), thread_([this] { Run(); }) {}

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

void StoreWriter::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    work_cv_.notify_one();
  }
  // Several threads may call Stop at once (a signal handler's path and a destructor): one joins.
  std::call_once(joined_, [this] { thread_.join(); });
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
      if (stopping_) {
        // Leave a compact store behind: fold the WAL back into the database file.
        db.Exec("PRAGMA wal_checkpoint(TRUNCATE)");
        return;
      }
      continue;
    }
    std::deque<std::shared_ptr<Pending>> batch;
    batch.swap(queue_);
    lock.unlock();

    // `open` is the group's transaction; a job error that makes SQLite abandon it (a full disk,
    // an I/O error) fails the jobs after it too, and the jobs before it, which were in it.
    Status open = db.Exec("BEGIN IMMEDIATE");
    for (auto& p : batch) {
      if (!open.ok()) {
        p->result = open;
        continue;
      }
      if (Status s = db.Exec("SAVEPOINT job"); !s.ok()) {
        p->result = s;
        continue;
      }
      p->result = RunGuarded([&] { return p->job(context); });
      if (p->result.ok()) {
        db.Exec("RELEASE job");
        continue;
      }
      if (sqlite3_get_autocommit(db.raw())) {
        open = p->result;  // SQLite rolled the whole transaction back
        continue;
      }
      db.Exec("ROLLBACK TO job");
      db.Exec("RELEASE job");
    }
    Status committed = open.ok() ? db.Exec("COMMIT") : open;
    if (!committed.ok()) {
      if (!sqlite3_get_autocommit(db.raw())) db.Exec("ROLLBACK");
      for (auto& p : batch) {
        if (p->result.ok()) p->result = committed.WithContext("cannot commit to " + store_->path());
      }
    }
    lock.lock();
    for (auto& p : batch) p->done = true;
    done_cv_.notify_all();
  }
}

}  // namespace mesh
