#include "mesh/store/wal_checkpointer.h"

#include "mesh/store/sqlite_db.h"

namespace mesh {

Result<std::unique_ptr<WalCheckpointer>> WalCheckpointer::Install(Store& writer, Options options) {
  if (writer.read_only()) return Status::InvalidArgument("a read-only store has no WAL to checkpoint");
  if (options.frames_threshold < 1 || options.frames_limit < options.frames_threshold) {
    return Status::InvalidArgument("WAL checkpoint limit below its threshold");
  }
  Result<std::unique_ptr<Store>> own = Store::Open({.path = writer.path(), .create_if_missing = false});
  if (!own.ok()) return own.status().WithContext("cannot open a checkpoint connection");
  std::unique_ptr<WalCheckpointer> checkpointer(
      new WalCheckpointer(writer, std::move(own).value(), options));
  // Replaces SQLite's automatic checkpoint, which is itself a WAL hook.
  sqlite3_wal_hook(writer.db().raw(), &WalCheckpointer::OnCommit, checkpointer.get());
  return checkpointer;
}

WalCheckpointer::WalCheckpointer(Store& writer, std::unique_ptr<Store> own, Options options)
    : writer_(writer), own_(std::move(own)), options_(options), thread_([this] { Run(); }) {}

WalCheckpointer::~WalCheckpointer() {
  sqlite3_wal_autocheckpoint(writer_.db().raw(), Store::kWalAutocheckpointFrames);
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_one();
  copied_.notify_one();
  thread_.join();
}

int64_t WalCheckpointer::background_checkpoints() const {
  std::lock_guard lock(mu_);
  return background_checkpoints_;
}

int64_t WalCheckpointer::writer_checkpoints() const {
  std::lock_guard lock(mu_);
  return writer_checkpoints_;
}

int WalCheckpointer::OnCommit(void* self, sqlite3* db, const char* schema, int frames) {
  auto* c = static_cast<WalCheckpointer*>(self);
  {
    std::unique_lock lock(c->mu_);
    if (frames >= c->options_.frames_limit) {
      // The thread has not caught up: wait for its pass (two checkpoints cannot run at once),
      // then copy the rest. This is the back-pressure that bounds the WAL.
      c->copied_.wait(lock, [&] { return c->phase_ != Phase::kCopying || c->stopping_; });
    } else if (c->phase_ != Phase::kCopied) {
      if (frames >= c->options_.frames_threshold && c->phase_ == Phase::kIdle) {
        c->phase_ = Phase::kCopying;
        c->wake_.notify_one();
      }
      return SQLITE_OK;
    }
    // The thread copied most of the WAL while the writer went on appending: the writer copies
    // the few frames appended meanwhile, which lets its next transaction start the WAL over.
    c->phase_ = Phase::kIdle;
    ++c->writer_checkpoints_;
  }
  sqlite3_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
  return SQLITE_OK;
}

void WalCheckpointer::Run() {
  std::unique_lock lock(mu_);
  while (true) {
    wake_.wait(lock, [&] { return phase_ == Phase::kCopying || stopping_; });
    if (stopping_) return;
    lock.unlock();
    // PASSIVE never waits for the writer or readers: it copies what no reader still needs.
    sqlite3_wal_checkpoint_v2(own_->db().raw(), nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    lock.lock();
    ++background_checkpoints_;
    phase_ = Phase::kCopied;
    copied_.notify_one();
  }
}

}  // namespace mesh
