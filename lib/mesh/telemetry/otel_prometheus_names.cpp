#include "mesh/telemetry/otel_prometheus_names.h"

#include <cctype>
#include <utility>

namespace mesh {
namespace {

bool IsNameChar(char c, bool colon_allowed) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || (colon_allowed && c == ':');
}

// Invalid characters as '_', runs of '_' as one, no '_' at either end.
std::string Sanitized(std::string_view text, bool colon_allowed) {
  std::string out;
  for (char c : text) {
    const char keep = IsNameChar(c, colon_allowed) ? c : '_';
    if (keep == '_' && (out.empty() || out.back() == '_')) continue;
    out += keep;
  }
  while (!out.empty() && out.back() == '_') out.pop_back();
  return out;
}

// The specification's table of UCUM units to Prometheus words.
std::string_view UnitWord(std::string_view unit) {
  static constexpr std::pair<std::string_view, std::string_view> kUnits[] = {
      {"d", "days"},         {"h", "hours"},         {"min", "minutes"},     {"s", "seconds"},
      {"ms", "milliseconds"}, {"us", "microseconds"}, {"ns", "nanoseconds"},  {"By", "bytes"},
      {"KiBy", "kibibytes"}, {"MiBy", "mebibytes"},  {"GiBy", "gibibytes"},  {"TiBy", "tibibytes"},
      {"KBy", "kilobytes"},  {"MBy", "megabytes"},   {"GBy", "gigabytes"},   {"TBy", "terabytes"},
      {"m", "meters"},       {"V", "volts"},         {"A", "amperes"},       {"J", "joules"},
      {"W", "watts"},        {"g", "grams"},         {"Cel", "celsius"},     {"Hz", "hertz"},
      {"%", "percent"},
  };
  for (const auto& [ucum, word] : kUnits) {
    if (unit == ucum) return word;
  }
  return {};
}

// The denominator of "x/y" in the singular, as the specification names it.
std::string_view PerUnitWord(std::string_view unit) {
  static constexpr std::pair<std::string_view, std::string_view> kUnits[] = {
      {"s", "second"}, {"m", "minute"}, {"h", "hour"}, {"d", "day"},
      {"w", "week"},   {"mo", "month"}, {"y", "year"},
  };
  for (const auto& [ucum, word] : kUnits) {
    if (unit == ucum) return word;
  }
  return {};
}

std::string WordFor(std::string_view unit, bool per) {
  const std::string_view known = per ? PerUnitWord(unit) : UnitWord(unit);
  if (!known.empty()) return std::string(known);
  return Sanitized(unit, false);
}

// The unit as a name suffix: "" when it has none.
std::string UnitSuffix(std::string_view unit, PrometheusNameKind kind) {
  // Annotations in braces ("{request}", "By{packet}") carry no unit.
  std::string bare;
  int depth = 0;
  for (char c : unit) {
    if (c == '{') ++depth;
    else if (c == '}' && depth > 0) --depth;
    else if (depth == 0) bare += c;
  }
  if (bare.empty()) return {};
  if (bare == "1") return kind == PrometheusNameKind::kGauge ? "ratio" : "";
  const size_t slash = bare.find('/');
  if (slash == std::string::npos) return WordFor(bare, false);
  const std::string first = WordFor(std::string_view(bare).substr(0, slash), false);
  const std::string second = WordFor(std::string_view(bare).substr(slash + 1), true);
  if (second.empty()) return first;
  return first.empty() ? "per_" + second : first + "_per_" + second;
}

bool HasWord(const std::string& name, const std::string& word) {
  // As a whole '_'-separated part of the name, so that "bytes" is not found in "megabytes".
  size_t at = name.find(word);
  while (at != std::string::npos) {
    const bool starts = at == 0 || name[at - 1] == '_';
    const size_t end = at + word.size();
    const bool ends = end == name.size() || name[end] == '_';
    if (starts && ends) return true;
    at = name.find(word, at + 1);
  }
  return false;
}

}  // namespace

std::string PrometheusMetricName(std::string_view otel_name, std::string_view unit, PrometheusNameKind kind) {
  std::string name = Sanitized(otel_name, true);
  if (name.empty()) return {};
  if (std::isdigit(static_cast<unsigned char>(name.front()))) name.insert(0, "_");
  if (kind == PrometheusNameKind::kCounter && name.size() > 6 && name.ends_with("_total")) {
    name.resize(name.size() - 6);  // added back last, after the unit
  }
  const std::string suffix = UnitSuffix(unit, kind);
  if (!suffix.empty() && !HasWord(name, suffix)) name += "_" + suffix;
  if (kind == PrometheusNameKind::kCounter) name += "_total";
  return name;
}

std::string PrometheusLabelName(std::string_view key) {
  std::string out;
  out.reserve(key.size());
  for (char c : key) out += IsNameChar(c, false) ? c : '_';
  if (out.empty()) return out;
  if (std::isdigit(static_cast<unsigned char>(out.front()))) return "key_" + out;
  if (out.starts_with("__")) return "key" + out;
  return out;
}

}  // namespace mesh
