#include "mesh/controlplane/otlp_exporter.h"

#include <algorithm>
#include <random>

#include "mesh/http/gzip.h"
#include "mesh/otlp_proto/otlp_proto.h"
#include "mesh/store/otlp_outbox.h"

namespace mesh {

OtlpExporter::OtlpExporter(Options options, StoreWriter& writer, std::unique_ptr<HttpClient> client,
                           const Clock& clock, std::array<ExportMetrics, 3> metrics)
    : options_(std::move(options)), writer_(writer), client_(std::move(client)), clock_(clock), metrics_(metrics) {
  while (!options_.url.empty() && options_.url.back() == '/') options_.url.pop_back();
}

OtlpExporter::~OtlpExporter() { Stop(); }

void OtlpExporter::Report(const std::string& message) {
  if (options_.report) options_.report(message);
}

OtlpExporter::Outcome OtlpExporter::SendOnce() {
  const int64_t now = clock_.NowNs();
  int64_t sampled_out = 0;
  OtlpOutboxTrim trim;
  OtlpOutboxState state;
  Status upkeep = writer_.Submit([&](WriteContext& c) {
    OtlpOutbox outbox(c.store);
    sampled_out = 0;
    Result<std::vector<SettledTrace>> settled =
        outbox.Settled(now - options_.settle_ns, options_.decisions_per_round);
    if (!settled.ok()) return settled.status();
    for (const SettledTrace& t : *settled) {
      const bool keep = t.keep || options_.policy.SampledIn(t.trace_id);
      Result<int64_t> removed = outbox.Decide(t.trace_id, keep, now);
      if (!removed.ok()) return removed.status();
      sampled_out += *removed;
    }
    if (Status s = outbox.ForgetDecisions(now - options_.remember_decisions_ns); !s.ok()) return s;
    Result<OtlpOutboxTrim> trimmed = outbox.Trim(options_.max_items, now - options_.max_age_ns);
    if (!trimmed.ok()) return trimmed.status();
    trim = *trimmed;
    Result<OtlpOutboxState> st = outbox.State();
    if (!st.ok()) return st.status();
    state = *st;
    return Status::Ok();
  });
  if (!upkeep.ok()) {
    Report("OTLP export: cannot read the outbox: " + upkeep.message());
    return Outcome::kFailed;
  }
  metrics_[static_cast<size_t>(OtlpSignal::kTraces)].dropped_sampled_out->Inc(static_cast<double>(sampled_out));
  for (size_t i = 0; i < metrics_.size(); ++i) {
    metrics_[i].dropped_too_old->Inc(static_cast<double>(trim.too_old[i]));
    metrics_[i].dropped_over_size->Inc(static_cast<double>(trim.over_size[i]));
    metrics_[i].queue->Set(static_cast<double>(state.items[i]));
    metrics_[i].lag->Set(state.items[i] > 0 ? static_cast<double>(now - state.oldest_enqueued_ns[i]) / 1e9 : 0);
  }
  Outcome outcome = Outcome::kIdle;
  for (OtlpSignal signal : kOtlpSignals) {
    switch (SendBatch(signal)) {
      case Sent::kFailed: return Outcome::kFailed;
      case Sent::kTaken: outcome = Outcome::kSent; break;
      case Sent::kNothing: break;
    }
  }
  return outcome;
}

OtlpExporter::Sent OtlpExporter::SendBatch(OtlpSignal signal) {
  const std::string name(OtlpSignalName(signal));
  ExportMetrics& m = metrics_[static_cast<size_t>(signal)];
  std::vector<OtlpOutboxRow> batch;
  if (Status s = writer_.Submit([&](WriteContext& c) {
        Result<std::vector<OtlpOutboxRow>> rows = OtlpOutbox(c.store).Ready(signal, options_.batch_items);
        if (!rows.ok()) return rows.status();
        batch = std::move(rows).value();
        return Status::Ok();
      });
      !s.ok()) {
    Report("OTLP export: cannot read the " + name + " outbox: " + s.message());
    return Sent::kFailed;
  }
  if (batch.empty()) return Sent::kNothing;

  // Each row is a request of one item; their concatenation is one request of them all
  // (protobuf appends repeated fields of concatenated messages).
  std::string body;
  for (const OtlpOutboxRow& row : batch) body += row.body;
  Result<std::string> gzipped = Gzip(body);
  if (!gzipped.ok()) {
    Report("OTLP export: " + gzipped.status().message());
    return Sent::kFailed;
  }
  std::vector<std::pair<std::string, std::string>> headers = {
      {"Content-Type", std::string(kOtlpProtobufContentType)}, {"Content-Encoding", "gzip"}};
  headers.insert(headers.end(), options_.headers.begin(), options_.headers.end());
  const std::string url = options_.url + "/v1/" + name;
  Result<HttpClientResponse> answer = client_->Send("POST", url, *gzipped, headers);
  if (!answer.ok() || answer->status == 429 || answer->status >= 500) {
    m.failed->Inc();
    if (!failing_) {
      Report("OTLP export to " + url + " failing, retrying with backoff: " +
             (answer.ok() ? "HTTP " + std::to_string(answer->status) + " " + answer->body.substr(0, 200)
                          : answer.status().message()));
    }
    failing_ = true;
    return Sent::kFailed;
  }
  if (failing_) Report("OTLP export to " + options_.url + " recovered");
  failing_ = false;

  const auto n = static_cast<int64_t>(batch.size());
  int64_t rejected = n;
  std::string why = "HTTP " + std::to_string(answer->status) + ", not retried: " + answer->body.substr(0, 300);
  if (answer->status / 100 == 2) {
    // A receiver that answers something other than the protobuf response took the batch whole.
    Result<OtlpExportAnswer> partial = DecodeOtlpExportResponse(signal, answer->body);
    rejected = partial.ok() ? std::clamp<int64_t>(partial->rejected, 0, n) : 0;
    if (partial.ok()) why = "partial success: " + partial->error_message.substr(0, 300);
  }
  std::vector<int64_t> ids;
  ids.reserve(batch.size());
  for (const OtlpOutboxRow& row : batch) ids.push_back(row.id);
  if (Status s = writer_.Submit([&](WriteContext& c) { return OtlpOutbox(c.store).Remove(ids); }); !s.ok()) {
    // The batch stays queued and goes again: the receiver takes the same items twice.
    Report("OTLP export: cannot remove a sent batch from the outbox: " + s.message());
    return Sent::kFailed;
  }
  m.queue->Set(std::max(0.0, m.queue->Value() - static_cast<double>(n)));
  m.sent->Inc(static_cast<double>(n - rejected));
  if (rejected > 0) {
    m.dropped_rejected->Inc(static_cast<double>(rejected));
    Report("OTLP export: " + url + " refused " + std::to_string(rejected) + " of " + std::to_string(n) + " " +
           name + " (" + why + ")");
  }
  return Sent::kTaken;
}

void OtlpExporter::Start() {
  thread_ = std::thread([this] { Run(); });
}

void OtlpExporter::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void OtlpExporter::Run() {
  std::mt19937_64 random(std::random_device{}());
  std::uniform_real_distribution<double> jitter(0.0, 1.0);
  RetryBackoff backoff(options_.backoff);
  while (true) {
    std::chrono::milliseconds wait{0};
    switch (SendOnce()) {
      case Outcome::kFailed: wait = backoff.NextDelay(jitter(random)); break;
      case Outcome::kIdle: backoff.Reset(); wait = options_.idle_poll; break;
      case Outcome::kSent: backoff.Reset(); break;
    }
    std::unique_lock lock(mu_);
    if (stop_cv_.wait_for(lock, wait, [this] { return stopping_; })) return;
  }
}

}  // namespace mesh
