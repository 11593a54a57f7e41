// Fuzz target: a meshalert rules file (ParseAlertRules), then what the engine does with each
// rule's text: annotation templates expanded (ExpandTemplate), the service glob matched
// (GlobMatch).
//
// Invariants: a parsed rule is within the documented bounds (window 1s..7d, for and
// keep_firing_for 0..7d, a finite threshold), and FormatAlertValue, which templates print the
// threshold and value with, reads back to within its 3 decimals.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "mesh/alerting/alert_rule.h"

namespace {

constexpr int64_t kSecondNs = 1'000'000'000;
constexpr int64_t kWeekNs = 7 * 86400 * kSecondNs;

void CheckFormattedValue(double value) {
  const std::string text = mesh::FormatAlertValue(value);
  const double back = std::strtod(text.c_str(), nullptr);
  // Half of the last printed decimal, plus the double's own rounding for large values.
  FUZZ_CHECK(std::fabs(back - value) <= 0.0005 + std::fabs(value) * 1e-15);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view json(reinterpret_cast<const char*>(data), size);
  const mesh::Result<std::vector<mesh::AlertRule>> rules = mesh::ParseAlertRules(json);
  if (!rules.ok()) return 0;
  for (const mesh::AlertRule& rule : *rules) {
    FUZZ_CHECK(!rule.name.empty());
    FUZZ_CHECK(rule.window_ns >= kSecondNs && rule.window_ns <= kWeekNs);
    FUZZ_CHECK(rule.for_ns >= 0 && rule.for_ns <= kWeekNs);
    FUZZ_CHECK(rule.keep_firing_for_ns >= 0 && rule.keep_firing_for_ns <= kWeekNs);
    FUZZ_CHECK(std::isfinite(rule.threshold));
    CheckFormattedValue(rule.threshold);
    if (rule.resolve_threshold) CheckFormattedValue(*rule.resolve_threshold);

    mesh::GlobMatch(rule.service, rule.name);
    const mesh::TemplateValues values{.service = rule.name, .value = rule.threshold};
    for (const auto& [name, text] : rule.annotations) mesh::ExpandTemplate(text, rule, values);
  }
  return 0;
}
