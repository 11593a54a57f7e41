#include "mesh/store/metric_store.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <tuple>

#include "mesh/store/sample_value.h"
#include "mesh/store/sqlite_db.h"
#include "mesh/telemetry/prometheus_text.h"

namespace mesh {
namespace {

bool EndsWith(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

MetricType ParseType(const std::string& name) {
  if (name == "counter") return MetricType::kCounter;
  if (name == "gauge") return MetricType::kGauge;
  if (name == "histogram") return MetricType::kHistogram;
  if (name == "summary") return MetricType::kSummary;
  return MetricType::kUntyped;
}

// The family a stored series belongs to (histogram series carry a suffix).
std::string FamilyName(const std::string& series, MetricType type) {
  if (type == MetricType::kHistogram || type == MetricType::kSummary) {
    for (std::string_view suffix : {"_bucket", "_sum", "_count"}) {
      if (EndsWith(series, suffix)) return series.substr(0, series.size() - suffix.size());
    }
  }
  return series;
}

// Exposition order for a histogram: per label set, buckets by ascending le, then _sum, _count.
void SortHistogramSamples(MetricFamily& f) {
  const auto key = [&](const MetricSample& s) {
    Labels without_le;
    double le = 0;
    for (const auto& [k, v] : s.labels) {
      if (k == "le") le = v == "+Inf" ? INFINITY : std::strtod(v.c_str(), nullptr);
      else without_le.emplace_back(k, v);
    }
    const int kind = EndsWith(s.name, "_bucket") ? 0 : EndsWith(s.name, "_sum") ? 1 : 2;
    return std::make_tuple(LabelsText(without_le), kind, le);
  };
  std::stable_sort(f.samples.begin(), f.samples.end(),
                   [&](const MetricSample& a, const MetricSample& b) { return key(a) < key(b); });
}

}  // namespace

// `known` caches ids within one insert only: a transaction that rolls back takes new series
// with it, so ids must not outlive it.
Result<int64_t> MetricStore::SeriesId(const std::string& name, const Labels& labels,
                                      const MetricFamily& family, std::map<std::string, int64_t>& known) {
  const std::string labels_text = LabelsText(labels);
  const std::string key = name + labels_text;
  if (auto it = known.find(key); it != known.end()) return it->second;
  Db& db = store_.db();
  // A later push may bring the help text an earlier one lacked.
  Result<Statement> insert = PrepareQuery(
      db, {"INSERT INTO metric_series (name, labels, type, help, service) VALUES (?,?,?,?,?) "
           "ON CONFLICT (name, labels) DO UPDATE SET help = excluded.help "
           "WHERE excluded.help != '' AND excluded.help != metric_series.help",
           {name, labels_text, std::string(MetricTypeName(family.type)), family.help,
            LabelValue(labels, "service")}});
  if (!insert.ok()) return insert.status();
  if (Result<bool> r = insert->Step(); !r.ok()) return r.status();
  Result<Statement> select =
      PrepareQuery(db, {"SELECT id FROM metric_series WHERE name = ? AND labels = ?", {name, labels_text}});
  if (!select.ok()) return select.status();
  Result<bool> row = select->Step();
  if (!row.ok()) return row.status();
  if (!*row) return Status::IOError("series " + key + " vanished");
  const int64_t id = select->ColumnInt64(0);
  known[key] = id;
  return id;
}

Result<int64_t> MetricStore::InsertRows(const std::vector<MetricFamily>& families, int64_t now_ns) {
  Db& db = store_.db();
  Result<Statement> insert =
      db.Prepare("INSERT INTO metric_samples (series_id, ts_ns, value) VALUES (?,?,?)");
  if (!insert.ok()) return insert.status();
  std::map<std::string, int64_t> known;
  int64_t stored = 0;
  for (const MetricFamily& f : families) {
    for (const MetricSample& s : f.samples) {
      Result<int64_t> id = SeriesId(s.name, s.labels, f, known);
      if (!id.ok()) return id.status();
      insert->Bind(1, *id);
      insert->Bind(2, s.timestamp_ms ? *s.timestamp_ms * 1'000'000 : now_ns);
      BindSampleValue(*insert, 3, s.value);
      Result<bool> r = insert->Step();
      insert->Reset();
      if (!r.ok()) return r.status();
      ++stored;
    }
  }
  return stored;
}

Result<std::map<std::string, int64_t>> MetricStore::NewSeriesByService(
    const std::vector<MetricFamily>& families) {
  Result<Statement> select =
      store_.db().Prepare("SELECT 1 FROM metric_series WHERE name = ? AND labels = ?");
  if (!select.ok()) return select.status();
  std::map<std::string, int64_t> fresh;
  std::set<std::string> seen;
  for (const MetricFamily& f : families) {
    for (const MetricSample& s : f.samples) {
      const std::string labels_text = LabelsText(s.labels);
      if (!seen.insert(s.name + labels_text).second) continue;
      select->Bind(1, s.name);
      select->Bind(2, labels_text);
      Result<bool> row = select->Step();
      select->Reset();
      if (!row.ok()) return row.status();
      if (!*row) ++fresh[LabelValue(s.labels, "service")];
    }
  }
  return fresh;
}

Result<int64_t> MetricStore::SeriesCount(const std::string& service) {
  Result<Statement> count = PrepareQuery(
      store_.db(), {"SELECT COUNT(*) FROM metric_series WHERE service = ?", {service}});
  if (!count.ok()) return count.status();
  Result<bool> row = count->Step();
  if (!row.ok()) return row.status();
  return *row ? count->ColumnInt64(0) : 0;
}

Result<std::vector<MetricFamily>> MetricStore::Latest(int64_t since_ns) {
  // The newest sample per series: a correlated lookup on (series_id, ts_ns) for each series.
  Result<Statement> stmt = PrepareQuery(
      store_.db(),
      {"SELECT s.name, s.labels, s.type, s.help, "
       " (SELECT value FROM metric_samples m WHERE m.series_id = s.id ORDER BY ts_ns DESC LIMIT 1),"
       " (SELECT ts_ns FROM metric_samples m WHERE m.series_id = s.id ORDER BY ts_ns DESC LIMIT 1) AS ts "
       "FROM metric_series s WHERE ts >= ? ORDER BY s.name, s.labels",
       {since_ns}});
  if (!stmt.ok()) return stmt.status();
  std::vector<MetricFamily> families;
  std::map<std::string, size_t> index;
  while (true) {
    Result<bool> row = stmt->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    const std::string name = stmt->ColumnText(0);
    Result<Labels> labels = ParseLabelsText(stmt->ColumnText(1));
    if (!labels.ok()) continue;
    const MetricType type = ParseType(stmt->ColumnText(2));
    const std::string family = FamilyName(name, type);
    auto it = index.find(family);
    if (it == index.end()) {
      it = index.emplace(family, families.size()).first;
      families.push_back({family, "", type, {}});
    }
    if (families[it->second].help.empty()) families[it->second].help = stmt->ColumnText(3);
    families[it->second].samples.push_back({name, std::move(labels).value(), SampleValueAt(*stmt, 4), {}});
  }
  for (MetricFamily& f : families) {
    if (f.type == MetricType::kHistogram) SortHistogramSamples(f);
  }
  return families;
}

Result<std::vector<TimedValue>> MetricStore::Window(int64_t series_id, int64_t from_ns, int64_t to_ns) {
  // The last sample before the window is the baseline the first rise is measured from.
  Result<Statement> stmt = PrepareQuery(
      store_.db(),
      {"SELECT ts_ns, value FROM (SELECT ts_ns, value FROM metric_samples WHERE series_id = ?1 "
       "AND ts_ns < ?2 ORDER BY ts_ns DESC LIMIT 1) UNION ALL SELECT ts_ns, value FROM "
       "(SELECT ts_ns, value FROM metric_samples WHERE series_id = ?1 AND ts_ns >= ?2 AND "
       "ts_ns <= ?3 ORDER BY ts_ns)",
       {series_id, from_ns, to_ns}});
  if (!stmt.ok()) return stmt.status();
  std::vector<TimedValue> points;
  while (true) {
    Result<bool> row = stmt->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    points.push_back({stmt->ColumnInt64(0), SampleValueAt(*stmt, 1)});
  }
  return points;
}

Result<std::vector<TimedValue>> MetricStore::ThinnedWindow(int64_t series_id, int64_t from_ns, int64_t to_ns, int n) {
  Result<Statement> first = store_.db().Prepare(
      "SELECT ts_ns, value FROM metric_samples WHERE series_id = ?1 AND ts_ns >= ?2 AND ts_ns < ?3 "
      "AND typeof(value) != 'text' ORDER BY ts_ns LIMIT 1");
  if (!first.ok()) return first.status();
  Result<Statement> last = store_.db().Prepare(
      "SELECT ts_ns, value FROM metric_samples WHERE series_id = ?1 AND ts_ns >= ?2 AND ts_ns < ?3 "
      "AND typeof(value) != 'text' ORDER BY ts_ns DESC LIMIT 1");
  if (!last.ok()) return last.status();
  std::vector<TimedValue> points;
  const auto one = [&](Statement& stmt, int64_t since, int64_t until) -> Status {
    stmt.Reset();
    stmt.Bind(1, series_id);
    stmt.Bind(2, since);
    stmt.Bind(3, until);
    Result<bool> row = stmt.Step();
    if (!row.ok()) return row.status();
    if (*row && (points.empty() || points.back().ts_ns < stmt.ColumnInt64(0))) {
      points.push_back({stmt.ColumnInt64(0), stmt.ColumnDouble(1)});
    }
    return Status::Ok();
  };
  if (Status s = one(*last, INT64_MIN, from_ns); !s.ok()) return s;
  // Parts end inclusive at to_ns (as Window reads); bounds are exact integers.
  const int64_t span = to_ns - from_ns;
  for (int k = 0; k < n; ++k) {
    const int64_t since = from_ns + static_cast<int64_t>(static_cast<__int128>(span) * k / n);
    const int64_t until = k == n - 1 ? to_ns + 1 : from_ns + static_cast<int64_t>(static_cast<__int128>(span) * (k + 1) / n);
    if (Status s = one(*first, since, until); !s.ok()) return s;
    if (Status s = one(*last, since, until); !s.ok()) return s;
  }
  return points;
}

Result<GoldenSignals> MetricStore::Signals(const std::string& service, int64_t window_ns, int64_t now_ns) {
  Result<Statement> stmt = PrepareQuery(
      store_.db(), {"SELECT id, name, labels FROM metric_series WHERE service = ? AND name IN "
                    "('mesh_requests_total', 'mesh_request_duration_seconds_bucket', "
                    "'mesh_seed_requests_total', 'mesh_seed_errors_total')",
                    {service}});
  if (!stmt.ok()) return stmt.status();
  struct Series {
    int64_t id;
    std::string name;
    Labels labels;
  };
  std::vector<Series> series;
  while (true) {
    Result<bool> row = stmt->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    Result<Labels> labels = ParseLabelsText(stmt->ColumnText(2));
    if (labels.ok()) series.push_back({stmt->ColumnInt64(0), stmt->ColumnText(1), *labels});
  }
  double requests = 0, errors = 0, seed_requests = 0, seed_errors = 0;
  std::map<double, double> buckets;  // le -> increase, summed over instances
  const int64_t from = now_ns - window_ns;
  for (const Series& s : series) {
    // A service's signals are what it serves: its sidecar's calls to others (meshproxy's
    // direction="outbound" series) belong to the services it calls.
    if (LabelValue(s.labels, "direction") == "outbound") continue;
    Result<std::vector<TimedValue>> points = Window(s.id, from, now_ns);
    if (!points.ok()) return points.status();
    // A NaN counter sample counts no requests: skipped, so that one cannot blank a service's
    // signals (PromQL's increase() would answer NaN for the whole series).
    std::erase_if(*points, [](const TimedValue& p) { return std::isnan(p.value); });
    const double increase = CounterIncrease(*points);
    if (s.name == "mesh_requests_total") {
      requests += increase;
      if (LabelValue(s.labels, "code").rfind('5', 0) == 0) errors += increase;
    } else if (s.name == "mesh_request_duration_seconds_bucket") {
      const std::string& le = LabelValue(s.labels, "le");
      const double bound = le == "+Inf" ? INFINITY : std::strtod(le.c_str(), nullptr);
      buckets[bound] += increase;
    } else if (s.name == "mesh_seed_requests_total") {
      seed_requests += increase;
    } else {
      seed_errors += increase;
    }
  }
  if (requests == 0 && seed_requests > 0) {
    requests = seed_requests;
    errors = seed_errors;
  }
  GoldenSignals g;
  const double seconds = static_cast<double>(window_ns) / 1e9;
  g.requests = static_cast<int64_t>(std::llround(requests));
  g.requests_per_second = seconds > 0 ? requests / seconds : 0;
  g.error_percent = requests > 0 ? 100.0 * errors / requests : 0;
  std::vector<std::pair<double, double>> cumulative(buckets.begin(), buckets.end());
  if (!cumulative.empty() && std::isinf(cumulative.back().first)) {
    g.p50_seconds = HistogramQuantile(0.50, cumulative);
    g.p90_seconds = HistogramQuantile(0.90, cumulative);
    g.p95_seconds = HistogramQuantile(0.95, cumulative);
    g.p99_seconds = HistogramQuantile(0.99, cumulative);
  }
  return g;
}

SqlQuery MetricStore::SaturationSeriesQuery(const std::string& service) {
  std::string names;
  for (const char* name : kSaturationSeries) names += std::string(names.empty() ? "'" : ",'") + name + "'";
  return {"SELECT id, name, labels FROM metric_series WHERE service = ? AND name IN (" + names + ")", {service}};
}

Result<std::vector<InstanceSaturation>> MetricStore::Saturation(const std::string& service, int64_t window_ns,
                                                                int64_t now_ns) {
  Result<Statement> stmt = PrepareQuery(store_.db(), SaturationSeriesQuery(service));
  if (!stmt.ok()) return stmt.status();
  struct Series {
    int64_t id;
    std::string name;
    std::string instance;
  };
  std::vector<Series> series;
  while (true) {
    Result<bool> row = stmt->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    Result<Labels> labels = ParseLabelsText(stmt->ColumnText(2));
    if (labels.ok()) series.push_back({stmt->ColumnInt64(0), stmt->ColumnText(1), LabelValue(*labels, "instance")});
  }
  const int64_t from = now_ns - window_ns;
  const int n = kSaturationHistoryPoints;
  std::map<std::string, InstanceSaturation> by_instance;
  // A figure summed over series (the connections of both listeners): absent until one has it.
  const auto add = [](std::optional<double>& sum, const std::optional<double>& v) {
    if (v) sum = sum.value_or(0) + *v;
  };
  for (const Series& s : series) {
    Result<std::vector<TimedValue>> points =
        window_ns > kSaturationExactWindowNs ? ThinnedWindow(s.id, from, now_ns, n) : Window(s.id, from, now_ns);
    if (!points.ok()) return points.status();
    std::erase_if(*points, [](const TimedValue& p) { return std::isnan(p.value); });
    if (points->empty() || points->back().ts_ns < from) continue;  // nothing in the window
    InstanceSaturation& inst = by_instance[s.instance];
    if (inst.history.empty()) {
      inst.instance = s.instance;
      inst.history.resize(n);
      for (int k = 0; k < n; ++k) inst.history[k].end_ns = k == n - 1 ? now_ns : from + (window_ns / n) * (k + 1);
    }
    inst.last_sample_ns = std::max(inst.last_sample_ns, points->back().ts_ns);
    const double latest = points->back().value;
    if (s.name == "process_cpu_seconds_total") {
      inst.cpu_cores = CounterRate(*points);
      const std::vector<std::optional<double>> rates = RatePerBucket(*points, from, now_ns, n);
      for (int k = 0; k < n; ++k) inst.history[k].cpu_cores = rates[k];
      continue;
    }
    if (s.name == "mesh_worker_busy_seconds_total") {  // one series per pool: rates add up
      add(inst.busy_workers, CounterRate(*points));
      const std::vector<std::optional<double>> rates = RatePerBucket(*points, from, now_ns, n);
      for (int k = 0; k < n; ++k) add(inst.history[k].busy_workers, rates[k]);
      continue;
    }
    const std::vector<std::optional<TimedValue>> last = LastPerBucket(*points, from, now_ns, n);
    const auto bucketed = [&](std::optional<double> SaturationPoint::*field) {
      for (int k = 0; k < n; ++k) {
        if (last[k]) add(inst.history[k].*field, last[k]->value);
      }
    };
    if (s.name == "process_resident_memory_bytes") {
      inst.resident_bytes = latest;
      bucketed(&SaturationPoint::resident_bytes);
    } else if (s.name == "process_open_fds") {
      inst.open_fds = latest;
    } else if (s.name == "process_max_fds") {
      inst.max_fds = latest;
    } else if (s.name == "mesh_client_connections") {
      add(inst.connections, latest);
      bucketed(&SaturationPoint::connections);
    } else if (s.name == "mesh_telemetry_queue_depth") {
      add(inst.queue_depth, latest);
      bucketed(&SaturationPoint::queue_depth);
    } else if (s.name == "mesh_workers") {
      add(inst.workers, latest);
      bucketed(&SaturationPoint::workers);
    } else {
      add(inst.queue_capacity, latest);
    }
  }
  std::vector<InstanceSaturation> out;
  for (auto& [name, inst] : by_instance) {
    inst.worker_utilization = WorkerUtilization(inst.busy_workers, inst.workers);
    for (SaturationPoint& p : inst.history) p.worker_utilization = WorkerUtilization(p.busy_workers, p.workers);
    out.push_back(std::move(inst));
  }
  return out;
}

}  // namespace mesh
