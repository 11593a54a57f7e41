#include "mesh/store/log_batch_writer.h"

namespace mesh {

LogBatchWriter::LogBatchWriter(LogDestination& destination, Options options)
    : destination_(destination), options_(options) {
  filling_.reserve(options_.batch_records);
  thread_ = std::thread([this] { Run(); });
}

LogBatchWriter::~LogBatchWriter() { Close(); }

Status LogBatchWriter::Append(LogRecord record) {
  std::unique_lock lock(mu_);
  space_cv_.wait(lock, [&] { return queued_ < options_.max_queued || !error_.ok() || closing_; });
  if (!error_.ok()) return error_;
  if (closing_) return Status::IOError("log writer is closed");
  filling_.push_back(std::move(record));
  ++queued_;
  ++appended_;
  // A full queue goes to the writer even as a partial batch (max_queued < batch_records):
  // otherwise the appenders now waiting for room would wait out the flush interval.
  if (filling_.size() >= options_.batch_records || queued_ >= options_.max_queued) {
    ready_.push_back(std::move(filling_));
    filling_ = {};
    filling_.reserve(options_.batch_records);
    work_cv_.notify_one();
  }
  return Status::Ok();
}

Status LogBatchWriter::Flush() {
  std::unique_lock lock(mu_);
  const uint64_t target = appended_;
  flush_requested_ = true;
  work_cv_.notify_one();
  space_cv_.wait(lock, [&] { return counters_.committed >= target || !error_.ok(); });
  return error_;
}

Status LogBatchWriter::Close() {
  {
    std::unique_lock lock(mu_);
    if (!thread_.joinable()) return error_;
    closing_ = true;
    work_cv_.notify_one();
    space_cv_.notify_all();
  }
  thread_.join();
  std::unique_lock lock(mu_);
  return error_;
}

LogBatchWriter::Counters LogBatchWriter::counters() const {
  std::unique_lock lock(mu_);
  return counters_;
}

void LogBatchWriter::CommitGroup(std::unique_lock<std::mutex>& lock, size_t rows) {
  lock.unlock();
  Status s = destination_.EndGroup();
  lock.lock();
  if (s.ok()) {
    counters_.committed += rows;
    ++counters_.transactions;
  } else if (error_.ok()) {
    error_ = s;
  }
  space_cv_.notify_all();
}

void LogBatchWriter::Run() {
  // How long an open group waits for the next batch before committing what it has.
  constexpr std::chrono::milliseconds kGroupLinger{20};
  std::unique_lock lock(mu_);
  // Index when the writer has nothing to commit: under a steady trickle that keeps searches
  // current, and under bulk load it only uses time the writer would spend waiting.
  bool index_caught_up = !options_.index_when_idle;
  bool group_open = false;
  size_t group_rows = 0;
  std::chrono::steady_clock::time_point group_start;
  while (true) {
    const bool woke = work_cv_.wait_for(lock, group_open ? kGroupLinger : options_.flush_interval, [&] {
      return !ready_.empty() || flush_requested_ || closing_ || (!group_open && !index_caught_up);
    });
    // A partial batch goes out on flush, on close, or when it has waited an interval.
    if (!filling_.empty() && (!woke || flush_requested_ || closing_)) {
      ready_.push_back(std::move(filling_));
      filling_ = {};
    }
    const bool flushing = flush_requested_;
    flush_requested_ = false;
    if (ready_.empty()) {
      if (group_open) {
        group_open = false;
        CommitGroup(lock, group_rows);
        continue;
      }
      if (closing_) return;
      if (!index_caught_up) {
        lock.unlock();
        Result<int64_t> n = destination_.IndexPending(options_.index_batch);
        lock.lock();
        // Indexing only speeds up later searches (they cover unindexed records too), so a
        // failure here is not a write error: it is retried after the next commit.
        if (n.ok()) counters_.indexed += *n;
        index_caught_up = !n.ok() || *n < options_.index_batch;
      }
      continue;
    }
    index_caught_up = !options_.index_when_idle;
    std::vector<LogRecord> batch = std::move(ready_.front());
    ready_.pop_front();
    while (!ready_.empty() && batch.size() < 4 * options_.batch_records) {
      std::move(ready_.front().begin(), ready_.front().end(), std::back_inserter(batch));
      ready_.pop_front();
    }
    lock.unlock();
    Status s = error_;
    if (s.ok() && !group_open) {
      s = destination_.BeginGroup();
      group_open = s.ok();
      group_rows = 0;
      group_start = std::chrono::steady_clock::now();
    }
    if (s.ok()) s = destination_.Insert(batch);
    if (!s.ok() && group_open) {
      destination_.AbortGroup();
      group_open = false;
    }
    lock.lock();
    queued_ -= batch.size();
    if (s.ok()) counters_.written += batch.size();
    space_cv_.notify_all();
    if (!s.ok()) {
      if (error_.ok()) error_ = s;
      continue;
    }
    group_rows += batch.size();
    if (flushing || closing_ || group_rows >= options_.max_group_records ||
        std::chrono::steady_clock::now() - group_start >= options_.max_group_time) {
      group_open = false;
      CommitGroup(lock, group_rows);
    }
  }
}

}  // namespace mesh
