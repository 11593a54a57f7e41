#include "mesh/span_store.h"

#include <algorithm>
#include <cctype>
#include <set>

#include "mesh/sqlite_db.h"

namespace mesh {
namespace {

constexpr const char* kSpanColumns =
    "trace_id, span_id, parent_span_id, trace_state, service, name, kind, start_ns, "
    "duration_ns, status, status_message, attributes, events, resource, scope";

Span ReadSpan(const Statement& s) {
  Span span;
  span.trace_id = s.ColumnText(0);
  span.span_id = s.ColumnText(1);
  span.parent_span_id = s.ColumnText(2);
  span.trace_state = s.ColumnText(3);
  span.service = s.ColumnText(4);
  span.name = s.ColumnText(5);
  span.kind = static_cast<SpanKind>(std::clamp<int64_t>(s.ColumnInt64(6), 0, 5));
  span.start_ns = s.ColumnInt64(7);
  span.duration_ns = s.ColumnInt64(8);
  span.status = static_cast<SpanStatus>(std::clamp<int64_t>(s.ColumnInt64(9), 0, 2));
  span.status_message = s.ColumnText(10);
  span.attributes = s.ColumnText(11);
  span.events = s.ColumnText(12);
  span.resource = s.ColumnText(13);
  span.scope = s.ColumnText(14);
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
                                        ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
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
                      "LIMIT 2",
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
      return Status::InvalidArgument("trace id prefix '" + id +
                                     "' matches several traces; give more digits");
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
  SqlQuery q;
  q.sql = "SELECT trace_id, max(start_ns) AS newest FROM spans WHERE 1";
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
  if (f.since_ns) {
    q.sql += " AND start_ns >= ?";
    q.params.emplace_back(*f.since_ns);
  }
  if (f.until_ns) {
    q.sql += " AND start_ns < ?";
    q.params.emplace_back(*f.until_ns);
  }
  q.sql += " GROUP BY trace_id ORDER BY newest DESC LIMIT ?";
  q.params.emplace_back(static_cast<int64_t>(limit));
  Result<Statement> stmt = PrepareQuery(store_.db(), q);
  if (!stmt.ok()) return stmt.status();
  std::vector<std::string> ids;
  while (true) {
    Result<bool> row = stmt->Step();
    if (!row.ok()) return row.status().WithContext("cannot read " + store_.path());
    if (!*row) break;
    ids.push_back(stmt->ColumnText(0));
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

}  // namespace mesh
