// SpanStore: spans in the SQLite store. Inserting a span that is already stored (same trace
// and span id) is a no-op, so retried exports and re-imports never duplicate. Reads are by
// trace id (an index lookup) or by time window with filters.
//
// Not thread-safe: one SpanStore per Store connection, used from one thread at a time.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "mesh/store/store.h"
#include "mesh/telemetry/span.h"
#include "mesh/telemetry/span_stats.h"
#include "mesh/telemetry/trace_query.h"

namespace mesh {

class Statement;

class SpanStore {
 public:
  explicit SpanStore(Store& store);
  ~SpanStore();

  // Stores the spans; the caller owns the transaction (see StoreWriter) or none is open and
  // each statement commits alone. Returns how many were new.
  Result<int64_t> InsertRows(const std::vector<Span>& spans);
  // Same, in one transaction of its own.
  Result<int64_t> Insert(const std::vector<Span>& spans);

  // Every span of the trace, by start time. A `prefix` shorter than 32 digits matches when it
  // names exactly one trace. Errors: NotFound, InvalidArgument (ambiguous prefix: the message
  // lists up to 10 candidates).
  Result<std::vector<Span>> GetTrace(const std::string& trace_id_or_prefix);

  // The newest traces with a span matching the filter, newest first (by their newest matching
  // span). Reads spans newest first and stops at `limit` traces.
  Result<std::vector<TraceSummary>> ListTraces(const TraceFilter& filter, size_t limit);

  // Feeds `stats` with the spans that started in [since, until) and the calls between
  // services among them (a child's parent may have started earlier).
  Status CollectStats(int64_t since_ns, int64_t until_ns, SpanStats& stats);

  // Spans that started in [since, until), in storage order, after the cursor `after` (0: from
  // the start). `next` is the cursor of the last span returned.
  struct Page {
    std::vector<Span> spans;
    int64_t next = 0;
  };
  Result<Page> ScanSpans(int64_t since_ns, int64_t until_ns, int64_t after, size_t limit);

 private:
  Store& store_;
  std::unique_ptr<Statement> insert_;
};

}  // namespace mesh
