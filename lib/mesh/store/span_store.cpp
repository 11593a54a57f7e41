#include "mesh/store/span_store.h"

#include <algorithm>
#include <cctype>
#include <set>

#include "mesh/store/sqlite_db.h"

namespace mesh {
namespace {

constexpr const char* kSpanColumns =
    "trace_id, span_id, parent_span_id, trace_state, service, name, kind, start_ns, "
    "duration_ns, status, status_message, attributes, events, resource, scope, links, scope_version, "
    "scope_attributes";

// The kSpanColumns of a row, from column `first` on.
Span ReadSpan(const Statement& s, int first = 0) {
  Span span;
  span.trace_id = s.ColumnText(first + 0);
  span.span_id = s.ColumnText(first + 1);
  span.parent_span_id = s.ColumnText(first + 2);
  span.trace_state = s.ColumnText(first + 3);
  span.service = s.ColumnText(first + 4);
  span.name = s.ColumnText(first + 5);
  span.kind = static_cast<SpanKind>(std::clamp<int64_t>(s.ColumnInt64(first + 6), 0, 5));
  span.start_ns = s.ColumnInt64(first + 7);
  span.duration_ns = s.ColumnInt64(first + 8);
  span.status = static_cast<SpanStatus>(std::clamp<int64_t>(s.ColumnInt64(first + 9), 0, 2));
  span.status_message = s.ColumnText(first + 10);
  span.attributes = s.ColumnText(first + 11);
  span.events = s.ColumnText(first + 12);
  span.resource = s.ColumnText(first + 13);
  span.scope = s.ColumnText(first + 14);
  span.links = s.ColumnText(first + 15);
  span.scope_version = s.ColumnText(first + 16);
  span.scope_attributes = s.ColumnText(first + 17);
  return span;
}

Result<std::vector<Span>> FetchSpans(Db& db, const SqlQuery& query) {
  Result<Statement> stmt = PrepareQuery(db, query);
  if (!stmt.ok()) return stmt.status();
  std::vector<Span> spans;
  while (true) {
    Result<bool> row = stmt->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    spans.push_back(ReadSpan(*stmt));
  }
  return spans;
}

bool IsHexPrefix(const std::string& s) {
  if (s.empty() || s.size() > 32) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
  });
}

}  // namespace

SpanStore::SpanStore(Store& store) : store_(store) {}
SpanStore::~SpanStore() = default;

Result<int64_t> SpanStore::InsertRows(const std::vector<Span>& spans) {
  Db& db = store_.db();
  if (!insert_) {
    Result<Statement> stmt = db.Prepare(std::string("INSERT OR IGNORE INTO spans (") +
                                        kSpanColumns +
                                        ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
    if (!stmt.ok()) return stmt.status();
    insert_ = std::make_unique<Statement>(std::move(stmt).value());
  }
  Statement& s = *insert_;
  int64_t added = 0;
  for (const Span& span : spans) {
    s.BindStatic(1, span.trace_id);
    s.BindStatic(2, span.span_id);
    s.BindOptionalStatic(3, span.parent_span_id);
    s.BindOptionalStatic(4, span.trace_state);
    s.BindStatic(5, span.service);
    s.BindStatic(6, span.name);
    s.Bind(7, static_cast<int64_t>(span.kind));
    s.Bind(8, span.start_ns);
    s.Bind(9, span.duration_ns);
    s.Bind(10, static_cast<int64_t>(span.status));
    s.BindOptionalStatic(11, span.status_message);
    s.BindOptionalStatic(12, span.attributes);
    s.BindOptionalStatic(13, span.events);
    s.BindOptionalStatic(14, span.resource);
    s.BindOptionalStatic(15, span.scope);
    s.BindOptionalStatic(16, span.links);
    s.BindOptionalStatic(17, span.scope_version);
    s.BindOptionalStatic(18, span.scope_attributes);
    Result<bool> step = s.Step();
    s.Reset();
    if (!step.ok()) return step.status();
    added += db.Changes();
  }
  return added;
}

Result<int64_t> SpanStore::Insert(const std::vector<Span>& spans) {
  int64_t added = 0;
  Status s = InWriteTransaction(store_.db(), [&]() -> Status {
    Result<int64_t> n = InsertRows(spans);
    if (!n.ok()) return n.status();
    added = *n;
    return Status::Ok();
  });
  if (!s.ok()) return s.WithContext("cannot write spans to " + store_.path());
  return added;
}

Result<std::vector<Span>> SpanStore::GetTrace(const std::string& id_or_prefix) {
  // Ids are stored lowercase (OTLP decoding lowercases them); accept them as users paste them.
  std::string id = id_or_prefix;
  for (char& c : id) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (!IsHexPrefix(id)) {
    return Status::InvalidArgument("invalid trace id '" + id + "' (expected lowercase hex)");
  }
  std::string trace_id = id;
  if (id.size() < 32) {
    // A prefix is a range on the (trace_id, span_id) index: [prefix, prefix + 'g').
    Result<Statement> stmt = PrepareQuery(
        store_.db(), {"SELECT DISTINCT trace_id FROM spans WHERE trace_id >= ? AND trace_id < ? "
                      "LIMIT 10",
                      {id, id + "g"}});
    if (!stmt.ok()) return stmt.status();
    std::vector<std::string> found;
    while (true) {
      Result<bool> row = stmt->Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      found.push_back(stmt->ColumnText(0));
    }
    if (found.size() > 1) {
      std::string candidates;
      for (const std::string& t : found) candidates += "\n  " + t;
      return Status::InvalidArgument("trace id prefix '" + id + "' matches " +
                                     (found.size() == 10 ? "10 or more" : std::to_string(found.size())) +
                                     " traces; give more digits:" + candidates);
    }
    if (found.empty()) return Status::NotFound("trace " + id + " not found in " + store_.path());
    trace_id = found.front();
  }
  Result<std::vector<Span>> spans = FetchSpans(
      store_.db(), {std::string("SELECT ") + kSpanColumns +
                        " FROM spans WHERE trace_id = ? ORDER BY start_ns, span_id",
                    {trace_id}});
  if (!spans.ok()) return spans.status().WithContext("cannot read " + store_.path());
  if (spans->empty()) return Status::NotFound("trace " + id + " not found in " + store_.path());
  return spans;
}

Result<std::vector<TraceSummary>> SpanStore::ListTraces(const TraceFilter& f, size_t limit) {
  // Newest matching spans first, on the (service, start_ns) or (start_ns) index; the first
  // `limit` distinct traces met are the answer, so the scan stops early instead of grouping
  // every span of the window.
  SqlQuery q;
  q.sql = "SELECT trace_id FROM spans WHERE 1";
  if (!f.service.empty()) {
    q.sql += " AND service = ?";
    q.params.emplace_back(f.service);
  }
  if (!f.operation.empty()) {
    q.sql += " AND name = ?";
    q.params.emplace_back(f.operation);
  }
  if (f.min_duration_ns) {
    q.sql += " AND duration_ns >= ?";
    q.params.emplace_back(*f.min_duration_ns);
  }
  if (f.max_duration_ns) {
    q.sql += " AND duration_ns <= ?";
    q.params.emplace_back(*f.max_duration_ns);
  }
  if (f.errors_only) q.sql += " AND status = 2";
  if (f.attribute) {
    // A span attribute or a resource attribute, its value compared as text: a JSON boolean
    // reads as true/false (json_each gives 1/0), a number as JSON writes it.
    const std::string matches =
        ") WHERE key = ? AND CASE type WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' "
        "ELSE CAST(value AS TEXT) END = ?)";
    q.sql += " AND (EXISTS (SELECT 1 FROM json_each(spans.attributes" + matches +
             " OR EXISTS (SELECT 1 FROM json_each(spans.resource" + matches + ")";
    for (int column = 0; column < 2; ++column) {
      q.params.emplace_back(f.attribute->key);
      q.params.emplace_back(f.attribute->value);
    }
  }
  if (!f.trace_id_prefix.empty()) {
    // A range on the (trace_id, span_id) index, as GetTrace's prefix.
    q.sql += " AND trace_id >= ? AND trace_id < ?";
    q.params.emplace_back(f.trace_id_prefix);
    q.params.emplace_back(f.trace_id_prefix + "g");
  }
  if (f.since_ns) {
    q.sql += " AND start_ns >= ?";
    q.params.emplace_back(*f.since_ns);
  }
  if (f.until_ns) {
    q.sql += " AND start_ns < ?";
    q.params.emplace_back(*f.until_ns);
  }
  q.sql += " ORDER BY start_ns DESC";
  Result<Statement> stmt = PrepareQuery(store_.db(), q);
  if (!stmt.ok()) return stmt.status();
  std::vector<std::string> ids;
  std::set<std::string> seen;
  while (ids.size() < limit) {
    Result<bool> row = stmt->Step();
    if (!row.ok()) return row.status().WithContext("cannot read " + store_.path());
    if (!*row) break;
    std::string id = stmt->ColumnText(0);
    if (seen.insert(id).second) ids.push_back(std::move(id));
  }
  std::vector<TraceSummary> out;
  for (const std::string& id : ids) {
    Result<std::vector<Span>> spans = GetTrace(id);
    if (!spans.ok()) continue;  // pruned between the two reads
    TraceSummary t;
    t.trace_id = id;
    t.span_count = static_cast<int64_t>(spans->size());
    int64_t end = 0;
    std::set<std::string> services;
    const Span* root = nullptr;
    std::set<std::string> span_ids;
    for (const Span& s : *spans) span_ids.insert(s.span_id);
    t.start_ns = spans->front().start_ns;
    for (const Span& s : *spans) {
      end = std::max(end, s.start_ns + s.duration_ns);
      services.insert(s.service);
      t.has_error = t.has_error || s.status == SpanStatus::kError;
      // The root is the earliest span without a parent, or whose parent never arrived.
      const bool parentless = s.parent_span_id.empty() || !span_ids.count(s.parent_span_id);
      if (parentless && root == nullptr) root = &s;
    }
    if (root == nullptr) root = &spans->front();
    t.duration_ns = end - t.start_ns;
    t.root_service = root->service;
    t.root_name = root->name;
    t.services.assign(services.begin(), services.end());
    out.push_back(std::move(t));
  }
  return out;
}

Status SpanStore::CollectStats(int64_t since_ns, int64_t until_ns, SpanStats& stats) {
  Result<Statement> ops = PrepareQuery(
      store_.db(), {"SELECT service, name, duration_ns, status FROM spans "
                    "WHERE start_ns >= ? AND start_ns < ?",
                    {since_ns, until_ns}});
  if (!ops.ok()) return ops.status();
  while (true) {
    Result<bool> row = ops->Step();
    if (!row.ok()) return row.status().WithContext("cannot read " + store_.path());
    if (!*row) break;
    stats.AddSpan(ops->ColumnText(0), ops->ColumnText(1), ops->ColumnInt64(2),
                  ops->ColumnInt64(3) == static_cast<int64_t>(SpanStatus::kError));
  }
  // Each child's parent by the (trace_id, span_id) index.
  Result<Statement> calls = PrepareQuery(
      store_.db(), {"SELECT p.service, c.service, c.status FROM spans c "
                    "JOIN spans p ON p.trace_id = c.trace_id AND p.span_id = c.parent_span_id "
                    "WHERE c.start_ns >= ? AND c.start_ns < ? AND c.parent_span_id IS NOT NULL "
                    "AND p.service != c.service",
                    {since_ns, until_ns}});
  if (!calls.ok()) return calls.status();
  while (true) {
    Result<bool> row = calls->Step();
    if (!row.ok()) return row.status().WithContext("cannot read " + store_.path());
    if (!*row) break;
    stats.AddCall(calls->ColumnText(0), calls->ColumnText(1),
                  calls->ColumnInt64(2) == static_cast<int64_t>(SpanStatus::kError));
  }
  return Status::Ok();
}

Result<SpanStore::Page> SpanStore::ScanSpans(int64_t since_ns, int64_t until_ns, int64_t after,
                                             size_t limit) {
  Result<Statement> stmt = PrepareQuery(
      store_.db(), {std::string("SELECT id, ") + kSpanColumns +
                        " FROM spans WHERE id > ? AND start_ns >= ? AND start_ns < ? "
                        "ORDER BY id LIMIT ?",
                    {after, since_ns, until_ns, static_cast<int64_t>(limit)}});
  if (!stmt.ok()) return stmt.status();
  Page page;
  page.next = after;
  while (true) {
    Result<bool> row = stmt->Step();
    if (!row.ok()) return row.status().WithContext("cannot read " + store_.path());
    if (!*row) break;
    page.next = stmt->ColumnInt64(0);
    page.spans.push_back(ReadSpan(*stmt, 1));
  }
  return page;
}

}  // namespace mesh
