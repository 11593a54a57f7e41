#include "mesh/controlplane/remote_write_exporter.h"

#include <random>

#include "mesh/otlp_proto/remote_write_proto.h"
#include "mesh/store/remote_write_outbox.h"

namespace mesh {

RemoteWriteExporter::RemoteWriteExporter(Options options, StoreWriter& writer, std::unique_ptr<HttpClient> client,
                                         const Clock& clock, Metrics metrics)
    : options_(std::move(options)), writer_(writer), client_(std::move(client)), clock_(clock), metrics_(metrics) {}

RemoteWriteExporter::~RemoteWriteExporter() { Stop(); }

void RemoteWriteExporter::Report(const std::string& message) {
  if (options_.report) options_.report(message);
}

RemoteWriteExporter::Outcome RemoteWriteExporter::SendOnce() {
  const int64_t now = clock_.NowNs();
  std::vector<OutboxSample> batch;
  OutboxTrim trim;
  OutboxState state;
  Status read = writer_.Submit([&](WriteContext& c) {
    RemoteWriteOutbox outbox(c.store);
    Result<OutboxTrim> trimmed = outbox.Trim(options_.max_samples, now - options_.max_age_ns);
    if (!trimmed.ok()) return trimmed.status();
    trim = *trimmed;
    Result<std::vector<OutboxSample>> oldest = outbox.Oldest(options_.batch_samples);
    if (!oldest.ok()) return oldest.status();
    batch = std::move(oldest).value();
    Result<OutboxState> st = outbox.State();
    if (!st.ok()) return st.status();
    state = *st;
    return Status::Ok();
  });
  if (!read.ok()) {
    Report("remote write: cannot read the outbox: " + read.message());
    return Outcome::kFailed;
  }
  metrics_.dropped_too_old->Inc(static_cast<double>(trim.too_old));
  metrics_.dropped_over_size->Inc(static_cast<double>(trim.over_size));
  metrics_.queue->Set(static_cast<double>(state.samples));
  metrics_.lag->Set(state.samples > 0 ? static_cast<double>(now - state.oldest_enqueued_ns) / 1e9 : 0);
  if (batch.empty()) return Outcome::kIdle;

  std::vector<MetricSample> samples;
  samples.reserve(batch.size());
  for (const OutboxSample& s : batch) samples.push_back(s.sample);
  std::vector<std::pair<std::string, std::string>> headers = RemoteWriteHeaders();
  headers.insert(headers.end(), options_.headers.begin(), options_.headers.end());
  Result<HttpClientResponse> answer = client_->Send("POST", options_.url, EncodeRemoteWriteRequest(samples), headers);
  if (!answer.ok() || answer->status == 429 || answer->status >= 500) {
    metrics_.failed->Inc();
    if (!failing_) {
      Report("remote write to " + options_.url + " failing, retrying with backoff: " +
             (answer.ok() ? "HTTP " + std::to_string(answer->status) + " " + answer->body.substr(0, 200)
                          : answer.status().message()));
    }
    failing_ = true;
    return Outcome::kFailed;
  }
  if (failing_) Report("remote write to " + options_.url + " recovered");
  failing_ = false;
  const bool taken = answer->status / 100 == 2;
  const int64_t through = batch.back().id;
  if (Status s = writer_.Submit([&](WriteContext& c) { return RemoteWriteOutbox(c.store).RemoveThrough(through); });
      !s.ok()) {
    // The batch stays queued and goes again: a receiver takes the same samples twice.
    Report("remote write: cannot remove a sent batch from the outbox: " + s.message());
    return Outcome::kFailed;
  }
  metrics_.queue->Set(static_cast<double>(std::max<int64_t>(0, state.samples - static_cast<int64_t>(batch.size()))));
  if (taken) {
    metrics_.sent->Inc(static_cast<double>(batch.size()));
    return Outcome::kSent;
  }
  metrics_.dropped_rejected->Inc(static_cast<double>(batch.size()));
  Report("remote write: " + options_.url + " refused " + std::to_string(batch.size()) + " samples (HTTP " +
         std::to_string(answer->status) + ", not retried): " + answer->body.substr(0, 300));
  return Outcome::kRejected;
}

void RemoteWriteExporter::Start() {
  thread_ = std::thread([this] { Run(); });
}

void RemoteWriteExporter::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void RemoteWriteExporter::Run() {
  std::mt19937_64 random(std::random_device{}());
  std::uniform_real_distribution<double> jitter(0.0, 1.0);
  RetryBackoff backoff(options_.backoff);
  while (true) {
    std::chrono::milliseconds wait{0};
    switch (SendOnce()) {
      case Outcome::kFailed: wait = backoff.NextDelay(jitter(random)); break;
      case Outcome::kIdle: backoff.Reset(); wait = options_.idle_poll; break;
      case Outcome::kSent:
      case Outcome::kRejected: backoff.Reset(); break;
    }
    std::unique_lock lock(mu_);
    if (stop_cv_.wait_for(lock, wait, [this] { return stopping_; })) return;
  }
}

}  // namespace mesh
