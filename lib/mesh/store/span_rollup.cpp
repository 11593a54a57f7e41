#include "mesh/store/span_rollup.h"

#include <functional>
#include <limits>
#include <tuple>

#include "mesh/store/sqlite_db.h"

namespace mesh {
namespace {

constexpr int64_t kSecondNs = 1'000'000'000;
constexpr int64_t kWidthsS[] = {60, 3600};
constexpr int64_t kErrorStatus = static_cast<int64_t>(SpanStatus::kError);
constexpr int64_t kNoLimit = std::numeric_limits<int64_t>::max();
// Windows this close to the ends of time are read raw, so that rounding cannot overflow.
constexpr int64_t kSafeNs = std::numeric_limits<int64_t>::max() - 2 * 3600 * kSecondNs;

int64_t FloorTo(int64_t t, int64_t width_ns) {
  int64_t q = t / width_ns;
  if (t % width_ns != 0 && t < 0) --q;
  return q * width_ns;
}
int64_t CeilTo(int64_t t, int64_t width_ns) {
  const int64_t floor = FloorTo(t, width_ns);
  return floor == t ? t : floor + width_ns;
}

// Spans: (service, name, start_ns, duration_ns, status). Edges: (caller, callee, child start,
// child status, child duration).
// The spans and calls that started in [?1, ?2), by the start-time index.
constexpr const char* kRawSpansSql =
    "SELECT service, name, start_ns, duration_ns, status FROM spans WHERE start_ns >= ?1 AND start_ns < ?2";
constexpr const char* kRawEdgesSql =
    "SELECT p.service, c.service, c.start_ns, c.status, c.duration_ns FROM spans c "
    "JOIN spans p ON p.trace_id = c.trace_id AND p.span_id = c.parent_span_id "
    "WHERE c.start_ns >= ?1 AND c.start_ns < ?2 AND c.parent_span_id IS NOT NULL AND p.service != c.service";
// The spans with ids in (?3, ?4] that started in [?1, ?2), by id (the + keeps SQLite off the
// start-time index: the ids above the watermark are few, a window's spans many).
constexpr const char* kNewSpansSql =
    "SELECT service, name, start_ns, duration_ns, status FROM spans "
    "WHERE id > ?3 AND id <= ?4 AND +start_ns >= ?1 AND +start_ns < ?2";
// The calls whose later span (child or parent) has an id in (?3, ?4] and whose other span's id
// is at most ?4, the child started in [?1, ?2): each call once, when its second span arrives.
constexpr const char* kNewEdgesSql =
    "SELECT p.service, c.service, c.start_ns, c.status, c.duration_ns FROM spans c "
    "JOIN spans p ON p.trace_id = c.trace_id AND p.span_id = c.parent_span_id "
    "WHERE c.id > ?3 AND c.id <= ?4 AND p.id <= ?4 AND +c.start_ns >= ?1 AND +c.start_ns < ?2 "
    "AND c.parent_span_id IS NOT NULL AND p.service != c.service "
    "UNION ALL "
    "SELECT p.service, c.service, c.start_ns, c.status, c.duration_ns FROM spans p "
    "JOIN spans c ON c.trace_id = p.trace_id AND c.parent_span_id = p.span_id "
    "WHERE p.id > ?3 AND p.id <= ?4 AND c.id <= ?3 AND +c.start_ns >= ?1 AND +c.start_ns < ?2 "
    "AND c.service != p.service";
constexpr const char* kRolledOpsSql =
    "SELECT service, name, errors, durations FROM span_rollup_ops "
    "WHERE width_s = ?1 AND start_ns >= ?2 AND start_ns < ?3";
constexpr const char* kRolledEdgesSql =
    "SELECT caller, callee, errors, durations FROM span_rollup_edges "
    "WHERE width_s = ?1 AND start_ns >= ?2 AND start_ns < ?3";
constexpr const char* kWatermarkSql = "SELECT rolled_through_id FROM span_rollup_state";

template <typename Row>
Status ForEachRow(Store& store, const SqlQuery& query, Row&& row) {
  Result<Statement> stmt = PrepareQuery(store.db(), query);
  if (!stmt.ok()) return stmt.status();
  while (true) {
    Result<bool> more = stmt->Step();
    if (!more.ok()) return more.status().WithContext("cannot read " + store.path());
    if (!*more) return Status::Ok();
    if (Status s = row(*stmt); !s.ok()) return s;
  }
}

void Count(SpanTallies::Tally& tally, int64_t status, int64_t duration_ns) {
  if (status == kErrorStatus) ++tally.errors;
  tally.durations.Add(duration_ns);
}

bool OpInScope(const TallyScope& scope, const std::string& service) {
  return scope.service.empty() || service == scope.service;
}
bool EdgeInScope(const TallyScope& scope, const std::string& caller, const std::string& callee) {
  return scope.service.empty() || caller == scope.service || callee == scope.service;
}

// Adds the spans and calls of `spans_sql` and `edges_sql` (with `params`) to `into`.
Status AddSpanRows(Store& store, const char* spans_sql, const char* edges_sql,
                   const std::vector<SqlQuery::Value>& params, const TallyScope& scope, SpanTallies& into) {
  Status s = ForEachRow(store, {spans_sql, params}, [&](const Statement& row) {
    const std::string service = row.ColumnText(0);
    if (!OpInScope(scope, service)) return Status::Ok();
    SpanTallies::Tally& tally = into.ops[{service, row.ColumnText(1)}];
    if (scope.operation_durations) Count(tally, row.ColumnInt64(4), row.ColumnInt64(3));
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return ForEachRow(store, {edges_sql, params}, [&](const Statement& row) {
    const std::string caller = row.ColumnText(0), callee = row.ColumnText(1);
    if (EdgeInScope(scope, caller, callee)) Count(into.edges[{caller, callee}], row.ColumnInt64(3), row.ColumnInt64(4));
    return Status::Ok();
  });
}

Status AddRolledRows(Store& store, const char* sql, const WindowPiece& piece, bool decode,
                     const std::function<bool(const std::string&, const std::string&)>& in_scope,
                     std::map<std::pair<std::string, std::string>, SpanTallies::Tally>& into) {
  return ForEachRow(store, {sql, {piece.width_s, piece.since_ns, piece.until_ns}}, [&](const Statement& row) {
    const std::string first = row.ColumnText(0), second = row.ColumnText(1);
    if (!in_scope(first, second)) return Status::Ok();
    SpanTallies::Tally& tally = into[{first, second}];
    if (!decode) return Status::Ok();
    Result<DurationHistogram> durations = DurationHistogram::Decode(row.ColumnText(3));
    if (!durations.ok()) return Status::Corruption(durations.status().message() + " in " + store.path());
    tally.errors += row.ColumnInt64(2);
    tally.durations.Merge(*durations);
    return Status::Ok();
  });
}

// A batch's spans and calls, by (width, bucket start, first name, second name).
using BucketKey = std::tuple<int64_t, int64_t, std::string, std::string>;
using Buckets = std::map<BucketKey, SpanTallies::Tally>;

void CountInBuckets(Buckets& buckets, std::string first, std::string second, int64_t start_ns, int64_t status,
                    int64_t duration_ns) {
  for (int64_t width_s : kWidthsS) {
    Count(buckets[{width_s, FloorTo(start_ns, width_s * kSecondNs), first, second}], status, duration_ns);
  }
}

// Merges each bucket into its stored row.
Status WriteBuckets(Store& store, const char* table, const char* first, const char* second, const Buckets& buckets) {
  const std::string key = std::string("width_s = ?1 AND start_ns = ?2 AND ") + first + " = ?3 AND " + second + " = ?4";
  Result<Statement> read = store.db().Prepare(std::string("SELECT errors, durations FROM ") + table + " WHERE " + key);
  if (!read.ok()) return read.status();
  Result<Statement> write = store.db().Prepare(std::string("INSERT OR REPLACE INTO ") + table + " (width_s, start_ns, " +
                                               first + ", " + second + ", count, errors, durations) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)");
  if (!write.ok()) return write.status();
  for (const auto& [bucket, tally] : buckets) {
    const auto& [width_s, start_ns, a, b] = bucket;
    SpanTallies::Tally merged = tally;
    read->Reset();
    read->Bind(1, width_s);
    read->Bind(2, start_ns);
    read->BindStatic(3, a);
    read->BindStatic(4, b);
    Result<bool> found = read->Step();
    if (!found.ok()) return found.status();
    if (*found) {
      Result<DurationHistogram> stored = DurationHistogram::Decode(read->ColumnText(1));
      if (!stored.ok()) return Status::Corruption(stored.status().message() + " in " + store.path());
      merged.errors += read->ColumnInt64(0);
      merged.durations.Merge(*stored);
    }
    write->Reset();
    write->Bind(1, width_s);
    write->Bind(2, start_ns);
    write->BindStatic(3, a);
    write->BindStatic(4, b);
    write->Bind(5, merged.durations.count());
    write->Bind(6, merged.errors);
    write->Bind(7, merged.durations.Encode());
    if (Result<bool> done = write->Step(); !done.ok()) return done.status();
  }
  return Status::Ok();
}

}  // namespace

std::vector<WindowPiece> SplitWindow(int64_t since_ns, int64_t until_ns) {
  if (since_ns >= until_ns) return {};
  if (since_ns < -kSafeNs || until_ns > kSafeNs) return {{0, since_ns, until_ns}};
  const int64_t minute = 60 * kSecondNs, hour = 3600 * kSecondNs;
  const int64_t m0 = CeilTo(since_ns, minute), m1 = FloorTo(until_ns, minute);
  if (m0 >= m1) return {{0, since_ns, until_ns}};
  std::vector<WindowPiece> pieces;
  if (since_ns < m0) pieces.push_back({0, since_ns, m0});
  const int64_t h0 = CeilTo(m0, hour), h1 = FloorTo(m1, hour);
  if (h0 < h1) {
    if (m0 < h0) pieces.push_back({60, m0, h0});
    pieces.push_back({3600, h0, h1});
    if (h1 < m1) pieces.push_back({60, h1, m1});
  } else {
    pieces.push_back({60, m0, m1});
  }
  if (m1 < until_ns) pieces.push_back({0, m1, until_ns});
  return pieces;
}

Result<int64_t> RollUpSpans(Store& store, int64_t batch) {
  int64_t rolled = 0;
  Status s = InWriteTransaction(store.db(), [&]() -> Status {
    Result<int64_t> from = QueryInt64(store.db(), {kWatermarkSql, {}});
    if (!from.ok()) return from.status();
    Result<int64_t> through = QueryInt64(
        store.db(), {"SELECT coalesce(max(id), ?1) FROM (SELECT id FROM spans WHERE id > ?1 ORDER BY id LIMIT ?2)",
                     {*from, batch}});
    if (!through.ok()) return through.status();
    if (*through == *from) return Status::Ok();
    const std::vector<SqlQuery::Value> params = {std::numeric_limits<int64_t>::min(), kNoLimit, *from, *through};
    Buckets ops, edges;
    Status read = ForEachRow(store, {kNewSpansSql, params}, [&](const Statement& row) {
      ++rolled;
      CountInBuckets(ops, row.ColumnText(0), row.ColumnText(1), row.ColumnInt64(2), row.ColumnInt64(4), row.ColumnInt64(3));
      return Status::Ok();
    });
    if (read.ok()) {
      read = ForEachRow(store, {kNewEdgesSql, params}, [&](const Statement& row) {
        CountInBuckets(edges, row.ColumnText(0), row.ColumnText(1), row.ColumnInt64(2), row.ColumnInt64(3), row.ColumnInt64(4));
        return Status::Ok();
      });
    }
    if (read.ok()) read = WriteBuckets(store, "span_rollup_ops", "service", "name", ops);
    if (read.ok()) read = WriteBuckets(store, "span_rollup_edges", "caller", "callee", edges);
    if (read.ok()) read = ExecQuery(store.db(), {"UPDATE span_rollup_state SET rolled_through_id = ?1", {*through}});
    return read;
  });
  if (!s.ok()) return s.WithContext("cannot roll up the spans of " + store.path());
  return rolled;
}

Result<SpanTallies> QuerySpanTallies(Store& store, int64_t since_ns, int64_t until_ns, const TallyScope& scope) {
  const auto op_in_scope = [&](const std::string& service, const std::string&) { return OpInScope(scope, service); };
  const auto edge_in_scope = [&](const std::string& caller, const std::string& callee) {
    return EdgeInScope(scope, caller, callee);
  };
  SpanTallies tallies;
  Result<int64_t> watermark = QueryInt64(store.db(), {kWatermarkSql, {}});
  if (!watermark.ok()) return watermark.status().WithContext("cannot read " + store.path());
  int64_t rolled_since = kNoLimit, rolled_until = std::numeric_limits<int64_t>::min();
  for (const WindowPiece& piece : SplitWindow(since_ns, until_ns)) {
    Status s;
    if (piece.width_s == 0) {
      s = AddSpanRows(store, kRawSpansSql, kRawEdgesSql, {piece.since_ns, piece.until_ns}, scope, tallies);
    } else {
      rolled_since = std::min(rolled_since, piece.since_ns);
      rolled_until = std::max(rolled_until, piece.until_ns);
      s = AddRolledRows(store, kRolledOpsSql, piece, scope.operation_durations, op_in_scope, tallies.ops);
      if (s.ok()) s = AddRolledRows(store, kRolledEdgesSql, piece, true, edge_in_scope, tallies.edges);
    }
    if (!s.ok()) return s;
  }
  // What the roll-ups do not hold yet inside their pieces.
  if (rolled_since < rolled_until) {
    Status s = AddSpanRows(store, kNewSpansSql, kNewEdgesSql, {rolled_since, rolled_until, *watermark, kNoLimit}, scope,
                           tallies);
    if (!s.ok()) return s;
  }
  return tallies;
}

std::vector<SqlQuery> SpanRollupQueriesForPlanCheck() {
  const std::vector<SqlQuery::Value> window = {int64_t{0}, int64_t{1}, int64_t{0}, kNoLimit};
  return {{kRawSpansSql, {int64_t{0}, int64_t{1}}},
          {kRawEdgesSql, {int64_t{0}, int64_t{1}}},
          {kNewSpansSql, window},
          {kNewEdgesSql, window},
          {kRolledOpsSql, {int64_t{60}, int64_t{0}, int64_t{1}}},
          {kRolledEdgesSql, {int64_t{60}, int64_t{0}, int64_t{1}}},
          {kWatermarkSql, {}}};
}

}  // namespace mesh
