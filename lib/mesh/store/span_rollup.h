// Span roll-ups: per-minute and per-hour aggregates of the spans table (per service and
// operation: spans, errors, duration histogram; per caller -> callee edge: calls, errors, the
// callee's duration histogram), so that the dashboard's long windows read a few rows per
// operation and edge instead of every span (schema 13: span_rollup_ops, span_rollup_edges,
// span_rollup_state).
//
// Which spans are rolled up is a watermark on spans.id, not on time: RollUpSpans adds the spans
// with ids above it (in id order, a batch at a time) into the buckets of their start minute and
// hour, then raises it, in one write transaction. A late span (one starting in an hour already
// rolled up) has a new id, so it is rolled up like any other; until it is, readers count it raw.
// A call (child span of another service under its parent) is rolled up once both spans are
// there, by whichever of the two came last, in the bucket of the child's start.
// QuerySpanTallies reads a window as: the rolled-up hours and minutes inside it, the spans
// above the watermark inside those, and the partial minutes at its ends raw; the sum is what
// reading every span of the window would give, exactly (same histogram buckets, same max).
// SQLite reuses the ids of the newest rows once they are deleted: PruneBefore lowers the
// watermark to the largest id left (everything above it is gone), so a reused id is above it
// too. The watermark is read in the reader's snapshot. Not thread-safe: one call at a time per Store.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "mesh/base/status.h"
#include "mesh/store/store.h"
#include "mesh/telemetry/span_stats.h"

namespace mesh {

// A batch holds the write lock: 20,000 spans took 1.2 s on a loaded 2-core machine (load 14).
inline constexpr int64_t kRollUpBatchSpans = 10'000;

// Spans and calls of a window, summed.
struct SpanTallies {
  struct Tally {
    int64_t errors = 0;
    DurationHistogram durations;  // its count is the number of spans (or calls)
  };
  std::map<std::pair<std::string, std::string>, Tally> ops;    // (service, operation)
  std::map<std::pair<std::string, std::string>, Tally> edges;  // (caller, callee)
};

// How QuerySpanTallies reads a window: each piece raw from spans, or from the roll-up of one
// width (whole minutes or hours), in time order, covering [since, until) exactly once.
struct WindowPiece {
  int64_t width_s = 0;  // 0: raw spans; 60 or 3600: the roll-up of that width
  int64_t since_ns = 0;
  int64_t until_ns = 0;
  bool operator==(const WindowPiece&) const = default;
};
std::vector<WindowPiece> SplitWindow(int64_t since_ns, int64_t until_ns);

// Rolls up to `batch` spans above the watermark, in one write transaction (none of the
// caller's may be open). Returns how many were rolled up (0: caught up). Errors: the store's,
// after which nothing changed.
Result<int64_t> RollUpSpans(Store& store, int64_t batch = kRollUpBatchSpans);

// What a caller needs of the tallies: decoding roll-up histograms is most of a long window's
// cost, so only the operations and edges asked for are decoded.
struct TallyScope {
  std::string service;             // non-empty: only its operations, and the edges to or from it
  bool operation_durations = true;  // false: operations are listed with empty tallies
};

// The spans that started in [since, until) and the calls to them, by operation and edge. Reads
// inside the caller's read transaction, if one is open. Errors: the store's, or Corruption for a
// damaged roll-up row.
Result<SpanTallies> QuerySpanTallies(Store& store, int64_t since_ns, int64_t until_ns, const TallyScope& scope = {});

// The statements, for the EXPLAIN QUERY PLAN test: every one reads by an index.
std::vector<SqlQuery> SpanRollupQueriesForPlanCheck();

}  // namespace mesh
