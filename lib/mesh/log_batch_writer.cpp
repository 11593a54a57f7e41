#include "mesh/log_batch_writer.h"

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

void LogBatchWriter::Run() {
  std::unique_lock lock(mu_);
  // Index when the writer has nothing to commit: under a steady trickle that keeps searches
  // current, and under bulk load it only uses time the writer would spend waiting.
  bool index_caught_up = !options_.index_when_idle;
  while (true) {
    const bool woke = work_cv_.wait_for(lock, options_.flush_interval, [&] {
      return !ready_.empty() || flush_requested_ || closing_ || !index_caught_up;
    });
    // A partial batch goes out on flush, on close, or when it has waited an interval.
    if (!filling_.empty() && (!woke || flush_requested_ || closing_)) {
      ready_.push_back(std::move(filling_));
      filling_ = {};
    }
    flush_requested_ = false;
    if (ready_.empty()) {
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
    // Commit everything that is ready, up to a few batches, in one transaction.
    std::vector<LogRecord> batch = std::move(ready_.front());
    ready_.pop_front();
    while (!ready_.empty() && batch.size() < 4 * options_.batch_records) {
      std::move(ready_.front().begin(), ready_.front().end(), std::back_inserter(batch));
      ready_.pop_front();
    }
    lock.unlock();
    Status s = error_.ok() ? destination_.Insert(batch) : error_;
    lock.lock();
    if (s.ok()) {
      counters_.committed += batch.size();
      ++counters_.transactions;
    } else if (error_.ok()) {
      error_ = s;
    }
    queued_ -= batch.size();
    space_cv_.notify_all();
  }
}

}  // namespace mesh
