#include "mesh/telemetry/prometheus_text.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <optional>

namespace mesh {
namespace {

bool IsNameStart(char c, bool colon) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon && c == ':');
}
bool IsNameChar(char c, bool colon) { return IsNameStart(c, colon) || (c >= '0' && c <= '9'); }

void AppendEscaped(std::string& out, std::string_view s, bool quote) {
  for (char c : s) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else if (quote && c == '"') out += "\\\"";
    else out += c;
  }
}

// OpenMetrics writes timestamps in seconds, the 0.0.4 format in milliseconds.
void AppendSample(std::string& out, const MetricSample& s, bool openmetrics = false) {
  out += s.name;
  // An empty value is no label at all to Prometheus: left out, the series reads the same and
  // the line is what it was before the label existed (client_service on plaintext traffic).
  bool first = true;
  for (const auto& [name, value] : s.labels) {
    if (value.empty()) continue;
    out += first ? '{' : ',';
    first = false;
    out += name;
    out += "=\"";
    AppendEscaped(out, value, true);
    out += '"';
  }
  if (!first) out += '}';
  out += ' ';
  out += FormatMetricValue(s.value);
  if (s.timestamp_ms && openmetrics) {
    out += ' ' + std::to_string(*s.timestamp_ms / 1000) + '.';
    const std::string millis = std::to_string(1000 + std::abs(*s.timestamp_ms % 1000));
    out += millis.substr(1);
  } else if (s.timestamp_ms) {
    out += ' ' + std::to_string(*s.timestamp_ms);
  }
  out += '\n';
}

// The family a sample belongs to: histogram and summary series carry a suffix.
std::string FamilyOf(const std::string& sample_name,
                     const std::map<std::string, MetricType>& types) {
  for (std::string_view suffix : {"_bucket", "_sum", "_count"}) {
    if (sample_name.size() > suffix.size() &&
        sample_name.compare(sample_name.size() - suffix.size(), suffix.size(), suffix) == 0) {
      const std::string base = sample_name.substr(0, sample_name.size() - suffix.size());
      auto it = types.find(base);
      if (it != types.end() &&
          (it->second == MetricType::kHistogram || it->second == MetricType::kSummary)) {
        return base;
      }
    }
  }
  return sample_name;
}

class LineParser {
 public:
  LineParser(std::string_view line, size_t number) : s_(line), line_(number) {}

  Status Error(const std::string& what) const {
    return Status::InvalidArgument("line " + std::to_string(line_) + ": " + what);
  }

  Result<MetricSample> Sample() {
    MetricSample sample;
    const size_t start = p_;
    while (p_ < s_.size() && IsNameChar(s_[p_], true)) ++p_;
    sample.name = std::string(s_.substr(start, p_ - start));
    if (!IsValidMetricName(sample.name)) return Error("invalid metric name");
    SkipSpace();
    if (Peek('{')) {
      ++p_;
      std::vector<std::string> names;  // every label named, empty ones too: duplicates are errors
      while (true) {
        SkipSpace();
        if (Peek('}')) {
          ++p_;
          break;
        }
        const size_t ls = p_;
        while (p_ < s_.size() && IsNameChar(s_[p_], false)) ++p_;
        std::string label(s_.substr(ls, p_ - ls));
        if (!IsValidLabelName(label)) return Error("invalid label name");
        SkipSpace();
        if (!Peek('=')) return Error("expected '=' after label " + label);
        ++p_;
        SkipSpace();
        if (!Peek('"')) return Error("expected a quoted value for label " + label);
        ++p_;
        std::string value;
        bool closed = false;
        while (p_ < s_.size()) {
          const char c = s_[p_++];
          if (c == '"') {
            closed = true;
            break;
          }
          if (c == '\\' && p_ < s_.size()) {
            const char e = s_[p_++];
            if (e == 'n') value += '\n';
            else if (e == '\\' || e == '"') value += e;
            else return Error("invalid escape in the value of label " + label);
            continue;
          }
          value += c;
        }
        if (!closed) return Error("unterminated value of label " + label);
        if (std::find(names.begin(), names.end(), label) != names.end()) return Error("duplicate label " + label);
        names.push_back(label);
        // An empty value is the same as no label, to Prometheus and here: one series, one form.
        if (!value.empty()) sample.labels.emplace_back(std::move(label), std::move(value));
        SkipSpace();
        if (Peek(',')) {
          ++p_;
          continue;
        }
        if (Peek('}')) {
          ++p_;
          break;
        }
        return Error("expected ',' or '}' in labels");
      }
    }
    SkipSpace();
    const size_t vs = p_;
    while (p_ < s_.size() && s_[p_] != ' ' && s_[p_] != '\t') ++p_;
    const std::string value_text(s_.substr(vs, p_ - vs));
    if (value_text.empty()) return Error("missing value");
    if (value_text == "NaN") sample.value = std::nan("");
    else if (value_text == "+Inf" || value_text == "Inf") sample.value = INFINITY;
    else if (value_text == "-Inf") sample.value = -INFINITY;
    else {
      char* end = nullptr;
      sample.value = std::strtod(value_text.c_str(), &end);
      if (end != value_text.c_str() + value_text.size() || std::isnan(sample.value) ||
          std::isinf(sample.value)) {
        return Error("invalid value '" + value_text + "'");
      }
    }
    SkipSpace();
    if (p_ < s_.size()) {
      const size_t ts = p_;
      while (p_ < s_.size() && s_[p_] != ' ' && s_[p_] != '\t') ++p_;
      int64_t t = 0;
      const auto r = std::from_chars(s_.data() + ts, s_.data() + p_, t);
      // Milliseconds that still fit in int64 nanoseconds (years 1678..2262).
      constexpr int64_t kMaxMs = INT64_MAX / 1'000'000;
      if (r.ec != std::errc() || r.ptr != s_.data() + p_ || t > kMaxMs || t < -kMaxMs) {
        return Error("invalid timestamp");
      }
      sample.timestamp_ms = t;
      SkipSpace();
      if (p_ < s_.size()) return Error("unexpected text after the timestamp");
    }
    std::sort(sample.labels.begin(), sample.labels.end());
    return sample;
  }

 private:
  bool Peek(char c) const { return p_ < s_.size() && s_[p_] == c; }
  void SkipSpace() {
    while (p_ < s_.size() && (s_[p_] == ' ' || s_[p_] == '\t')) ++p_;
  }
  std::string_view s_;
  size_t line_;
  size_t p_ = 0;
};

}  // namespace

std::string_view MetricTypeName(MetricType type) {
  switch (type) {
    case MetricType::kCounter: return "counter";
    case MetricType::kGauge: return "gauge";
    case MetricType::kHistogram: return "histogram";
    case MetricType::kSummary: return "summary";
    case MetricType::kUntyped: return "untyped";
  }
  return "untyped";
}

std::string LabelsText(const Labels& labels) {
  std::string out = "{";
  for (size_t i = 0; i < labels.size(); ++i) {
    if (i) out += ',';
    out += labels[i].first;
    out += "=\"";
    AppendEscaped(out, labels[i].second, true);
    out += '"';
  }
  out += '}';
  return out;
}

const std::string& LabelValue(const Labels& labels, std::string_view name) {
  static const std::string kEmpty;
  for (const auto& [k, v] : labels) {
    if (k == name) return v;
  }
  return kEmpty;
}

Status CheckHistograms(const std::vector<MetricFamily>& families) {
  for (const MetricFamily& f : families) {
    if (f.type != MetricType::kHistogram) continue;
    // Per label set (le aside): whether it has buckets, its +Inf bucket, its _count.
    struct Series {
      bool buckets = false;
      std::optional<double> inf;
      std::optional<double> count;
    };
    std::map<std::string, Series> series;
    for (const MetricSample& s : f.samples) {
      Labels without_le;
      bool is_inf = false;
      for (const auto& [k, v] : s.labels) {
        if (k == "le") is_inf = v == "+Inf" || v == "Inf";
        else without_le.emplace_back(k, v);
      }
      Series& entry = series[LabelsText(without_le)];
      if (s.name == f.name + "_bucket") {
        entry.buckets = true;
        if (is_inf) entry.inf = s.value;
      } else if (s.name == f.name + "_count") {
        entry.count = s.value;
      }
    }
    for (const auto& [labels, entry] : series) {
      if ((entry.buckets || entry.count) && !entry.inf) {
        return Status::InvalidArgument("histogram " + f.name + labels + " has no le=\"+Inf\" bucket");
      }
      if (entry.inf && entry.count && *entry.inf != *entry.count) {
        return Status::InvalidArgument("histogram " + f.name + labels + ": le=\"+Inf\" bucket " +
                                       FormatMetricValue(*entry.inf) + " differs from _count " +
                                       FormatMetricValue(*entry.count));
      }
    }
  }
  return Status::Ok();
}

Result<Labels> ParseLabelsText(std::string_view text) {
  const std::string line = "x" + std::string(text) + " 0";
  Result<MetricSample> sample = LineParser(line, 1).Sample();
  if (!sample.ok()) return sample.status();
  return std::move(sample->labels);
}

bool IsValidMetricName(std::string_view name) {
  if (name.empty() || !IsNameStart(name[0], true)) return false;
  for (char c : name) {
    if (!IsNameChar(c, true)) return false;
  }
  return true;
}

bool IsValidLabelName(std::string_view name) {
  if (name.empty() || !IsNameStart(name[0], false)) return false;
  for (char c : name) {
    if (!IsNameChar(c, false)) return false;
  }
  return true;
}

std::string FormatMetricValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, value);
  return std::string(buf, r.ptr);
}

std::string FormatPrometheusText(const std::vector<MetricFamily>& families) {
  std::string out;
  for (const MetricFamily& f : families) {
    if (!f.help.empty()) {
      out += "# HELP " + f.name + ' ';
      AppendEscaped(out, f.help, false);
      out += '\n';
    }
    out += "# TYPE " + f.name + ' ' + std::string(MetricTypeName(f.type)) + '\n';
    for (const MetricSample& s : f.samples) AppendSample(out, s);
  }
  return out;
}

std::string FormatOpenMetricsText(const std::vector<MetricFamily>& families) {
  std::string out;
  for (const MetricFamily& f : families) {
    const auto has_total = [](const std::string& n) { return n.size() > 6 && n.compare(n.size() - 6, 6, "_total") == 0; };
    std::string name = f.name;
    if (f.type == MetricType::kCounter && has_total(name)) name.resize(name.size() - 6);
    out += "# TYPE " + name + ' ' +
           (f.type == MetricType::kUntyped ? std::string("unknown") : std::string(MetricTypeName(f.type))) + '\n';
    if (!f.help.empty()) {
      out += "# HELP " + name + ' ';
      AppendEscaped(out, f.help, true);
      out += '\n';
    }
    for (const MetricSample& s : f.samples) {
      if (f.type != MetricType::kCounter || has_total(s.name)) {
        AppendSample(out, s, true);
        continue;
      }
      MetricSample total = s;  // a counter's samples carry the suffix in OpenMetrics
      total.name += "_total";
      AppendSample(out, total, true);
    }
  }
  out += "# EOF\n";
  return out;
}

Exposition ExposeMetrics(const std::vector<MetricFamily>& families, std::string_view accept) {
  // Each media range of the header, with its q parameter: "type/subtype;version=1.0.0;q=0.75".
  bool openmetrics = false;
  while (!accept.empty() && !openmetrics) {
    const size_t comma = accept.find(',');
    std::string_view range = accept.substr(0, comma);
    accept = comma == std::string_view::npos ? std::string_view() : accept.substr(comma + 1);
    range.remove_prefix(std::min(range.find_first_not_of(' '), range.size()));
    if (range.rfind("application/openmetrics-text", 0) != 0) continue;
    const size_t q = range.find("q=");
    openmetrics = q == std::string_view::npos || std::strtod(std::string(range.substr(q + 2)).c_str(), nullptr) > 0;
  }
  if (openmetrics) return {kOpenMetricsContentType, FormatOpenMetricsText(families)};
  return {kPrometheusContentType, FormatPrometheusText(families)};
}

Result<std::vector<MetricFamily>> ParsePrometheusText(std::string_view text) {
  std::map<std::string, MetricType> types;
  std::map<std::string, std::string> helps;
  std::vector<MetricFamily> families;
  std::map<std::string, size_t> index;
  size_t number = 0;
  while (!text.empty()) {
    ++number;
    const size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const size_t first = line.find_first_not_of(" \t");
    if (first == std::string_view::npos) continue;
    line.remove_prefix(first);
    if (line[0] == '#') {
      // "# TYPE name type" and "# HELP name text"; other comments are ignored.
      std::string_view rest = line.substr(1);
      rest.remove_prefix(std::min(rest.find_first_not_of(' '), rest.size()));
      const bool is_type = rest.rfind("TYPE ", 0) == 0;
      const bool is_help = rest.rfind("HELP ", 0) == 0;
      if (!is_type && !is_help) continue;
      rest.remove_prefix(5);
      const size_t sp = rest.find(' ');
      const std::string name(rest.substr(0, sp));
      const std::string_view value = sp == std::string_view::npos ? "" : rest.substr(sp + 1);
      if (!IsValidMetricName(name)) {
        return Status::InvalidArgument("line " + std::to_string(number) + ": invalid metric name in " +
                                       (is_type ? "TYPE" : "HELP"));
      }
      if (is_type) {
        static const std::map<std::string_view, MetricType> kTypes = {
            {"counter", MetricType::kCounter},     {"gauge", MetricType::kGauge},
            {"histogram", MetricType::kHistogram}, {"summary", MetricType::kSummary},
            {"untyped", MetricType::kUntyped}};
        auto it = kTypes.find(value);
        if (it == kTypes.end()) {
          return Status::InvalidArgument("line " + std::to_string(number) + ": unknown type '" +
                                         std::string(value) + "'");
        }
        if (types.count(name)) {
          return Status::InvalidArgument("line " + std::to_string(number) + ": second TYPE for " + name);
        }
        // As Prometheus does: the family's earlier samples were grouped untyped, and a
        // histogram's or summary's later series would join them, unlike in the text we write.
        if (index.count(name)) {
          return Status::InvalidArgument("line " + std::to_string(number) + ": TYPE for " + name +
                                         " after its samples");
        }
        types[name] = it->second;
      } else {
        // HELP escapes backslash and newline (as FormatPrometheusText writes it): decode them,
        // or help text read back and exposed again would gain a backslash on every pass.
        std::string help;
        for (size_t i = 0; i < value.size(); ++i) {
          const bool escape = value[i] == '\\' && i + 1 < value.size() &&
                              (value[i + 1] == '\\' || value[i + 1] == 'n');
          if (escape) help += value[++i] == 'n' ? '\n' : '\\';
          else help += value[i];
        }
        helps[name] = std::move(help);
      }
      continue;
    }
    Result<MetricSample> sample = LineParser(line, number).Sample();
    if (!sample.ok()) return sample.status();
    const std::string family = FamilyOf(sample->name, types);
    auto it = index.find(family);
    if (it == index.end()) {
      MetricFamily f;
      f.name = family;
      f.type = types.count(family) ? types[family] : MetricType::kUntyped;
      f.help = helps.count(family) ? helps[family] : "";
      it = index.emplace(family, families.size()).first;
      families.push_back(std::move(f));
    }
    families[it->second].samples.push_back(std::move(sample).value());
  }
  return families;
}

}  // namespace mesh
