// OtlpOutbox: what meshd still owes an OTLP receiver (meshd --export-otlp), in the store. Each
// span, log record and metric data point is one row holding the OTLP protobuf request that
// carries it alone, enqueued in the transaction that stores it, so that an item acknowledged to
// its producer is in the outbox whatever happens next (receiver down, meshd restarted).
//
// Spans wait for their trace's tail-sampling decision: a trace is settled once no span of it has
// been enqueued for the settle time; the caller decides (Decide) and its spans become ready to
// send or are removed. The decision is remembered (ForgetDecisions bounds how long) so that a
// span arriving later follows it. Logs and metric points are ready at once.
//
// Not thread-safe: one OtlpOutbox per Store connection; writes inside the writer's jobs.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "mesh/store/store.h"
#include "mesh/telemetry/otlp_signal.h"

namespace mesh {

struct OtlpOutboxItem {
  OtlpSignal signal = OtlpSignal::kTraces;
  std::string body;      // an Export*ServiceRequest holding this one item
  std::string trace_id;  // spans: the trace, for its sampling decision
  bool keep = false;     // spans: an error or slow span (its trace is kept whatever the rate)
};

struct OtlpOutboxRow {
  int64_t id = 0;
  std::string body;
};

struct SettledTrace {
  std::string trace_id;
  bool keep = false;  // an error or slow span was seen
};

// Per signal (indexed by OtlpSignal).
using OtlpSignalCounts = std::array<int64_t, 3>;

struct OtlpOutboxEnqueued {
  int64_t items = 0;
  int64_t sampled_out = 0;  // spans of a trace already decided against, left out
};

struct OtlpOutboxTrim {
  OtlpSignalCounts too_old{};
  OtlpSignalCounts over_size{};
};

struct OtlpOutboxState {
  OtlpSignalCounts items{};
  std::array<int64_t, 3> oldest_enqueued_ns{};  // 0 when that signal has none
};

class OtlpOutbox {
 public:
  explicit OtlpOutbox(Store& store) : store_(store) {}

  // Enqueues inside the caller's transaction. A span of a decided trace is ready at once when the
  // trace was kept and left out (counted in sampled_out) when it was not.
  Result<OtlpOutboxEnqueued> Enqueue(const std::vector<OtlpOutboxItem>& items, int64_t now_ns);

  // Undecided traces with no span enqueued since settled_before_ns, oldest first, at most `limit`.
  Result<std::vector<SettledTrace>> Settled(int64_t settled_before_ns, int64_t limit);
  // Records the decision: the trace's waiting spans become ready (kept) or are removed. Returns
  // how many spans it removed.
  Result<int64_t> Decide(const std::string& trace_id, bool kept, int64_t now_ns);
  // Forgets decisions taken before decided_before_ns (a span of such a trace arriving later
  // starts a new decision).
  Status ForgetDecisions(int64_t decided_before_ns);

  // Drops what the bounds no longer allow: items enqueued before min_enqueued_ns (at most
  // kTrimBatch per call, oldest first), then the oldest beyond max_items.
  Result<OtlpOutboxTrim> Trim(int64_t max_items, int64_t min_enqueued_ns);
  static constexpr int64_t kTrimBatch = 10'000;

  // The oldest `limit` ready items of `signal`, oldest first.
  Result<std::vector<OtlpOutboxRow>> Ready(OtlpSignal signal, int64_t limit);
  // Removes these items (sent, or refused by the receiver).
  Status Remove(const std::vector<int64_t>& ids);

  // Items queued (waiting spans included) and the oldest's enqueue time, per signal.
  Result<OtlpOutboxState> State();

  // The queries of Ready, Settled and Decide (kept), for their plans' tests: each must seek an index.
  static SqlQuery ReadyQuery(OtlpSignal signal, int64_t limit);
  static SqlQuery SettledQuery(int64_t settled_before_ns, int64_t limit);
  static SqlQuery KeepQuery(const std::string& trace_id);

 private:
  Store& store_;
};

}  // namespace mesh
