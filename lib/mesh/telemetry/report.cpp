#include "mesh/telemetry/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

#include "mesh/base/json_text.h"
#include "mesh/base/text_table.h"
#include "mesh/base/time_format.h"
#include "mesh/base/utf8.h"
#include "mesh/telemetry/metric_sample.h"
#include "mesh/telemetry/prometheus_text.h"

namespace mesh {
namespace {

constexpr int64_t kNsPerSecond = 1'000'000'000;

// --- text helpers ---------------------------------------------------------------------------

std::string Printf(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

// A window's length as a user would type it: "1h", "15m", "1h30m", "90s" ("2.5s" below a
// second's precision).
std::string WindowText(int64_t ns) {
  if (ns <= 0 || ns % kNsPerSecond != 0) return FormatDuration(ns);
  int64_t s = ns / kNsPerSecond;
  std::string out;
  for (const auto& [unit, size] : {std::pair{"d", int64_t{86400}}, std::pair{"h", int64_t{3600}},
                                   std::pair{"m", int64_t{60}}, std::pair{"s", int64_t{1}}}) {
    if (s >= size) {
      out += std::to_string(s / size) + unit;
      s %= size;
    }
  }
  return out;
}

std::string Latency(const std::optional<double>& seconds) {
  if (!seconds) return "-";
  return FormatDuration(std::llround(*seconds * 1e9));
}

std::string SpanPercent(int64_t errors, int64_t count) {
  return Printf("%.2f",
                count ? 100.0 * static_cast<double>(errors) / static_cast<double>(count) : 0.0);
}

std::string Title(const Report& r) {
  return FormatRfc3339(r.since_ns) + " to " + FormatRfc3339(r.until_ns) + " (" +
         WindowText(r.until_ns - r.since_ns) + ")";
}

bool AnyOperations(const Report& r) {
  return std::any_of(r.services.begin(), r.services.end(),
                     [](const ServiceReport& s) { return !s.slowest.empty(); });
}
bool AnyErrors(const Report& r) {
  return std::any_of(r.services.begin(), r.services.end(),
                     [](const ServiceReport& s) { return !s.top_errors.empty(); });
}

constexpr const char* kNoData = "no metrics, spans or error logs in this window\n";
constexpr const char* kOperationsTitle =
    "slowest operations (spans, by p99; at most 5 per service)";
constexpr const char* kErrorsTitle =
    "top errors (log records at level error and above, by count; at most 5 per service)";

std::vector<std::vector<std::string>> SignalRows(const Report& r) {
  std::vector<std::vector<std::string>> rows = {
      {"SERVICE", "RPS", "REQUESTS", "ERROR %", "P50", "P95", "P99", "MAX IN-FLIGHT"}};
  for (const ServiceReport& s : r.services) {
    if (!s.has_metrics) {
      rows.push_back({ClipCell(TableCell(s.service)), "-", "-", "-", "-", "-", "-", "-"});
      continue;
    }
    rows.push_back({ClipCell(TableCell(s.service)), Printf("%.2f", s.signals.requests_per_second),
                    std::to_string(s.signals.requests), Printf("%.2f", s.signals.error_percent),
                    Latency(s.signals.p50_seconds), Latency(s.signals.p95_seconds),
                    Latency(s.signals.p99_seconds),
                    s.max_in_flight ? FormatMetricValue(*s.max_in_flight) : "-"});
  }
  return rows;
}

// --- Markdown -------------------------------------------------------------------------------

std::string MarkdownCell(const std::string& text) {
  std::string out;
  for (char c : TableCell(text)) {
    if (c == '|')
      out += "\\|";
    else
      out += c;
  }
  return out;
}

std::string MarkdownTable(const std::vector<std::vector<std::string>>& rows,
                          const std::vector<bool>& numeric) {
  std::string out;
  for (size_t i = 0; i < rows.size(); ++i) {
    out += "|";
    for (const std::string& cell : rows[i]) out += " " + cell + " |";
    out += "\n";
    if (i == 0) {
      out += "|";
      for (size_t c = 0; c < rows[0].size(); ++c)
        out += c < numeric.size() && numeric[c] ? "---:|" : "---|";
      out += "\n";
    }
  }
  return out;
}

// --- JSON -----------------------------------------------------------------------------------

void AppendOptional(std::string& out, const std::optional<double>& v) {
  if (v)
    AppendJsonDouble(out, *v);
  else
    out += "null";
}

Status Malformed(const std::string& what) {
  return Status::InvalidArgument("malformed report: " + what);
}

bool GetInt(const Json::Value& v, const char* key, int64_t& out) {
  if (!v[key].isInt64()) return false;
  out = v[key].asInt64();
  return true;
}
bool GetDouble(const Json::Value& v, const char* key, double& out) {
  if (!v[key].isNumeric()) return false;
  out = v[key].asDouble();
  return true;
}
bool GetOptional(const Json::Value& v, const char* key, std::optional<double>& out) {
  if (v[key].isNull()) {
    out.reset();
    return true;
  }
  if (!v[key].isNumeric()) return false;
  out = v[key].asDouble();
  return true;
}
bool GetString(const Json::Value& v, const char* key, std::string& out) {
  if (!v[key].isString()) return false;
  out = v[key].asString();
  return true;
}

// --- Prometheus -----------------------------------------------------------------------------

struct PromFamilies {
  std::vector<MetricFamily> families;
  std::map<std::string, size_t> index;

  void Add(const std::string& name, const std::string& help, Labels labels, double value) {
    auto it = index.find(name);
    if (it == index.end()) {
      it = index.emplace(name, families.size()).first;
      families.push_back({name, help, MetricType::kGauge, {}});
    }
    for (auto& [k, v] : labels) v = SanitizedUtf8(v);
    std::sort(labels.begin(), labels.end());
    families[it->second].samples.push_back({name, std::move(labels), value, {}});
  }
};

}  // namespace

std::string EncodeReportJson(const Report& report) {
  std::string out = "{\"since\":\"" + FormatRfc3339(report.since_ns) + "\",\"until\":\"" +
                    FormatRfc3339(report.until_ns) +
                    "\",\"since_ns\":" + std::to_string(report.since_ns) +
                    ",\"until_ns\":" + std::to_string(report.until_ns) + ",\"window_seconds\":";
  AppendJsonDouble(out, static_cast<double>(report.until_ns - report.since_ns) / 1e9);
  out += ",\"services\":[";
  for (size_t i = 0; i < report.services.size(); ++i) {
    const ServiceReport& s = report.services[i];
    if (i) out += ',';
    out += "{\"service\":";
    AppendJsonString(out, SanitizedUtf8(s.service));
    out += ",\"metrics\":";
    out += s.has_metrics ? "true" : "false";
    out += ",\"requests\":" + std::to_string(s.signals.requests) + ",\"requests_per_second\":";
    AppendJsonDouble(out, s.signals.requests_per_second);
    out += ",\"error_percent\":";
    AppendJsonDouble(out, s.signals.error_percent);
    out += ",\"p50_seconds\":";
    AppendOptional(out, s.signals.p50_seconds);
    out += ",\"p95_seconds\":";
    AppendOptional(out, s.signals.p95_seconds);
    out += ",\"p99_seconds\":";
    AppendOptional(out, s.signals.p99_seconds);
    out += ",\"max_in_flight\":";
    AppendOptional(out, s.max_in_flight);
    out +=
        ",\"spans\":" + std::to_string(s.spans) + ",\"error_logs\":" + std::to_string(s.error_logs);
    out += ",\"slowest_operations\":[";
    for (size_t j = 0; j < s.slowest.size(); ++j) {
      const SlowOperation& op = s.slowest[j];
      if (j) out += ',';
      out += "{\"operation\":";
      AppendJsonString(out, SanitizedUtf8(op.operation));
      out += ",\"count\":" + std::to_string(op.count) + ",\"errors\":" + std::to_string(op.errors) +
             ",\"p50_ns\":" + std::to_string(op.p50_ns) +
             ",\"p95_ns\":" + std::to_string(op.p95_ns) +
             ",\"p99_ns\":" + std::to_string(op.p99_ns) + "}";
    }
    out += "],\"top_errors\":[";
    for (size_t j = 0; j < s.top_errors.size(); ++j) {
      const ErrorMessageCount& e = s.top_errors[j];
      if (j) out += ',';
      out += "{\"message\":";
      AppendJsonString(out, SanitizedUtf8(e.message));
      out += ",\"count\":" + std::to_string(e.count) + ",\"last\":\"" + FormatRfc3339(e.last_ns) +
             "\",\"last_ns\":" + std::to_string(e.last_ns) + "}";
    }
    out += "]}";
  }
  out += "]}";
  return out;
}

Result<Report> DecodeReportJson(std::string_view json) {
  Result<Json::Value> doc = ParseJson(json);
  if (!doc.ok()) return doc.status();
  const Json::Value& v = *doc;
  if (!v.isObject()) return Malformed("not an object");
  Report r;
  if (!GetInt(v, "since_ns", r.since_ns) || !GetInt(v, "until_ns", r.until_ns)) {
    return Malformed("no since_ns/until_ns");
  }
  if (!v["services"].isArray()) return Malformed("no services array");
  for (const Json::Value& s : v["services"]) {
    if (!s.isObject()) return Malformed("a service is not an object");
    ServiceReport sr;
    if (!s["metrics"].isBool())
      return Malformed("service " + s["service"].asString() + " lacks metrics");
    sr.has_metrics = s["metrics"].asBool();
    if (!GetString(s, "service", sr.service) || !GetInt(s, "requests", sr.signals.requests) ||
        !GetDouble(s, "requests_per_second", sr.signals.requests_per_second) ||
        !GetDouble(s, "error_percent", sr.signals.error_percent) ||
        !GetOptional(s, "p50_seconds", sr.signals.p50_seconds) ||
        !GetOptional(s, "p95_seconds", sr.signals.p95_seconds) ||
        !GetOptional(s, "p99_seconds", sr.signals.p99_seconds) ||
        !GetOptional(s, "max_in_flight", sr.max_in_flight) || !GetInt(s, "spans", sr.spans) ||
        !GetInt(s, "error_logs", sr.error_logs) || !s["slowest_operations"].isArray() ||
        !s["top_errors"].isArray()) {
      return Malformed("service " + s["service"].asString() + " lacks a field or has a wrong type");
    }
    for (const Json::Value& o : s["slowest_operations"]) {
      SlowOperation op;
      if (!o.isObject() || !GetString(o, "operation", op.operation) ||
          !GetInt(o, "count", op.count) || !GetInt(o, "errors", op.errors) ||
          !GetInt(o, "p50_ns", op.p50_ns) || !GetInt(o, "p95_ns", op.p95_ns) ||
          !GetInt(o, "p99_ns", op.p99_ns)) {
        return Malformed("an operation of service " + sr.service);
      }
      sr.slowest.push_back(std::move(op));
    }
    for (const Json::Value& e : s["top_errors"]) {
      ErrorMessageCount m;
      if (!e.isObject() || !GetString(e, "message", m.message) || !GetInt(e, "count", m.count) ||
          !GetInt(e, "last_ns", m.last_ns)) {
        return Malformed("an error message of service " + sr.service);
      }
      sr.top_errors.push_back(std::move(m));
    }
    r.services.push_back(std::move(sr));
  }
  return r;
}

std::string RenderSignalsTable(const Report& r) {
  std::string out = "services " + Title(r) + "\n\n";
  if (r.services.empty()) return out + kNoData;
  return out + TextTable(SignalRows(r));
}

std::string RenderReportTable(const Report& r) {
  std::string out = "services " + Title(r) + "\n\n";
  if (r.services.empty()) return out + kNoData;
  out += TextTable(SignalRows(r));
  out += std::string("\n") + kOperationsTitle + "\n\n";
  if (!AnyOperations(r)) {
    out += "no spans in this window\n";
  } else {
    std::vector<std::vector<std::string>> rows = {
        {"SERVICE", "OPERATION", "SPANS", "ERROR %", "P50", "P95", "P99"}};
    for (const ServiceReport& s : r.services) {
      for (const SlowOperation& op : s.slowest) {
        rows.push_back({ClipCell(TableCell(s.service)), ClipCell(TableCell(op.operation)),
                        std::to_string(op.count), SpanPercent(op.errors, op.count),
                        FormatDuration(op.p50_ns), FormatDuration(op.p95_ns),
                        FormatDuration(op.p99_ns)});
      }
    }
    out += TextTable(rows);
  }
  out += std::string("\n") + kErrorsTitle + "\n\n";
  if (!AnyErrors(r)) {
    out += "no error logs in this window\n";
  } else {
    std::vector<std::vector<std::string>> rows = {{"SERVICE", "COUNT", "LAST", "MESSAGE"}};
    for (const ServiceReport& s : r.services) {
      for (const ErrorMessageCount& e : s.top_errors) {
        rows.push_back({ClipCell(TableCell(s.service)), std::to_string(e.count),
                        FormatRfc3339(e.last_ns), ClipCell(TableCell(e.message), 80)});
      }
    }
    out += TextTable(rows);
  }
  return out;
}

std::string RenderReportJson(const Report& report) { return EncodeReportJson(report) + "\n"; }

std::string RenderReportCsv(const Report& r, bool header) {
  std::string out;
  if (header) out += std::string(kReportCsvHeader) + "\n";
  const std::string prefix = FormatRfc3339(r.until_ns) + "," +
                             FormatMetricValue(static_cast<double>(r.until_ns - r.since_ns) / 1e9) +
                             ",";
  const auto ms = [](const std::optional<double>& seconds) {
    return seconds ? Printf("%.3f", *seconds * 1e3) : std::string();
  };
  const auto ns_ms = [](int64_t ns) { return Printf("%.3f", static_cast<double>(ns) / 1e6); };
  for (const ServiceReport& s : r.services) {
    const std::string service = CsvField(SanitizedUtf8(s.service));
    if (!s.has_metrics) {
      out += prefix + "service," + service + ",,,,,,,,\n";
      continue;
    }
    out += prefix + "service," + service + ",," + std::to_string(s.signals.requests) + "," +
           Printf("%.4f", s.signals.requests_per_second) + "," +
           Printf("%.3f", s.signals.error_percent) + "," + ms(s.signals.p50_seconds) + "," +
           ms(s.signals.p95_seconds) + "," + ms(s.signals.p99_seconds) + "," +
           (s.max_in_flight ? FormatMetricValue(*s.max_in_flight) : "") + "\n";
  }
  for (const ServiceReport& s : r.services) {
    const std::string service = CsvField(SanitizedUtf8(s.service));
    for (const SlowOperation& op : s.slowest) {
      out += prefix + "operation," + service + "," + CsvField(SanitizedUtf8(op.operation)) + "," +
             std::to_string(op.count) + ",," +
             Printf("%.3f", op.count ? 100.0 * static_cast<double>(op.errors) /
                                           static_cast<double>(op.count)
                                     : 0.0) +
             "," + ns_ms(op.p50_ns) + "," + ns_ms(op.p95_ns) + "," + ns_ms(op.p99_ns) + ",\n";
    }
  }
  for (const ServiceReport& s : r.services) {
    const std::string service = CsvField(SanitizedUtf8(s.service));
    for (const ErrorMessageCount& e : s.top_errors) {
      out += prefix + "error," + service + "," + CsvField(SanitizedUtf8(e.message)) + "," +
             std::to_string(e.count) + ",,,,,,\n";
    }
  }
  return out;
}

std::string RenderReportPrometheus(const Report& r) {
  PromFamilies p;
  p.Add("meshstat_window_seconds", "Length of the report's window", {},
        static_cast<double>(r.until_ns - r.since_ns) / 1e9);
  p.Add("meshstat_report_end_timestamp_seconds", "End of the report's window, Unix seconds", {},
        static_cast<double>(r.until_ns) / 1e9);
  for (const ServiceReport& s : r.services) {
    if (!s.has_metrics) continue;
    p.Add("meshstat_requests_per_second", "Requests served per second over the window",
          {{"service", s.service}}, s.signals.requests_per_second);
    p.Add("meshstat_requests", "Requests served in the window", {{"service", s.service}},
          static_cast<double>(s.signals.requests));
    p.Add("meshstat_error_ratio", "Share of the requests answered with a 5xx status (0 to 1)",
          {{"service", s.service}}, s.signals.error_percent / 100);
  }
  // One family per quantile: a "quantile" label belongs to summaries only.
  for (const auto& [q, field] :
       {std::pair{"50", &GoldenSignals::p50_seconds}, std::pair{"95", &GoldenSignals::p95_seconds},
        std::pair{"99", &GoldenSignals::p99_seconds}}) {
    for (const ServiceReport& s : r.services) {
      if (const std::optional<double>& v = s.signals.*field; v) {
        p.Add(std::string("meshstat_request_duration_p") + q + "_seconds",
              std::string("Request latency, ") + q +
                  "th percentile over the window, from the histogram buckets",
              {{"service", s.service}}, *v);
      }
    }
  }
  for (const ServiceReport& s : r.services) {
    if (s.max_in_flight) {
      p.Add("meshstat_requests_in_flight_max",
            "Highest number of requests in flight one instance reported in the window",
            {{"service", s.service}}, *s.max_in_flight);
    }
  }
  for (const ServiceReport& s : r.services) {
    p.Add("meshstat_spans", "Spans started in the window", {{"service", s.service}},
          static_cast<double>(s.spans));
  }
  for (const auto& [q, field] :
       {std::pair{"50", &SlowOperation::p50_ns}, std::pair{"95", &SlowOperation::p95_ns},
        std::pair{"99", &SlowOperation::p99_ns}}) {
    for (const ServiceReport& s : r.services) {
      for (const SlowOperation& op : s.slowest) {
        p.Add(std::string("meshstat_operation_duration_p") + q + "_seconds",
              std::string("Span duration, ") + q +
                  "th percentile, of the slowest operations (at most 5 per service, by p99)",
              {{"service", s.service}, {"operation", op.operation}},
              static_cast<double>(op.*field) / 1e9);
      }
    }
  }
  for (const ServiceReport& s : r.services) {
    for (const SlowOperation& op : s.slowest) {
      p.Add("meshstat_operation_spans", "Spans of the slowest operations in the window",
            {{"service", s.service}, {"operation", op.operation}}, static_cast<double>(op.count));
    }
  }
  for (const ServiceReport& s : r.services) {
    p.Add("meshstat_error_logs", "Log records at level error and above in the window",
          {{"service", s.service}}, static_cast<double>(s.error_logs));
  }
  for (const ServiceReport& s : r.services) {
    for (const ErrorMessageCount& e : s.top_errors) {
      p.Add("meshstat_error_log_messages",
            "Log records of the most frequent error messages (at most 5 per service)",
            {{"service", s.service}, {"message", e.message}}, static_cast<double>(e.count));
    }
  }
  return FormatPrometheusText(p.families);
}

std::string RenderReportMarkdown(const Report& r) {
  std::string out = "# meshstat report\n\n" + Title(r) + "\n\n## Golden signals\n\n";
  if (r.services.empty()) return out + kNoData;
  std::vector<std::vector<std::string>> signal_rows = SignalRows(r);
  signal_rows[0] = {"service", "rps", "requests", "error %", "p50", "p95", "p99", "max in-flight"};
  for (size_t i = 1; i < signal_rows.size(); ++i)
    signal_rows[i][0] = MarkdownCell(r.services[i - 1].service);
  out += MarkdownTable(signal_rows, {false, true, true, true, true, true, true, true});
  out += "\n## Slowest operations\n\nBy p99 span duration, at most 5 per service.\n\n";
  if (!AnyOperations(r)) {
    out += "No spans in this window.\n";
  } else {
    std::vector<std::vector<std::string>> rows = {
        {"service", "operation", "spans", "error %", "p50", "p95", "p99"}};
    for (const ServiceReport& s : r.services) {
      for (const SlowOperation& op : s.slowest) {
        rows.push_back({MarkdownCell(s.service), MarkdownCell(op.operation),
                        std::to_string(op.count), SpanPercent(op.errors, op.count),
                        FormatDuration(op.p50_ns), FormatDuration(op.p95_ns),
                        FormatDuration(op.p99_ns)});
      }
    }
    out += MarkdownTable(rows, {false, false, true, true, true, true, true});
  }
  out +=
      "\n## Top errors\n\nLog records at level error and above, by count, at most 5 per "
      "service.\n\n";
  if (!AnyErrors(r)) {
    out += "No error logs in this window.\n";
  } else {
    std::vector<std::vector<std::string>> rows = {{"service", "count", "last", "message"}};
    for (const ServiceReport& s : r.services) {
      for (const ErrorMessageCount& e : s.top_errors) {
        rows.push_back({MarkdownCell(s.service), std::to_string(e.count), FormatRfc3339(e.last_ns),
                        MarkdownCell(e.message)});
      }
    }
    out += MarkdownTable(rows, {false, true, false, false});
  }
  return out;
}

}  // namespace mesh
