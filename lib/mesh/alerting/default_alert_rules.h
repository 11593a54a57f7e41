// The built-in alert rules (the golden signals: errors, latency, availability, saturation) and
// how they combine with a user's rules file: the file extends them, a rule of the same name
// replaces the built-in one, and `"defaults": false` in the file turns the built-ins off.
// With no file at all the built-ins alone apply, so `meshalert check --rule high_error_rate`
// works on a fresh install. Pure functions, thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mesh/alerting/alert_rule.h"
#include "mesh/base/status.h"

namespace mesh {

// The built-ins as a rules document ({"rules": [...]}), valid input for ParseAlertRules: what
// `meshalert rules --defaults` prints for a user to start a file from.
std::string_view DefaultAlertRulesJson();

struct EffectiveRules {
  std::vector<AlertRule> rules;   // built-ins first (in their order), then the file's additions
  std::vector<bool> built_in;     // per rule: it is a built-in, not overridden by the file
  std::string json;               // the same rules as a bare JSON array, e.g. for meshd's check
};

// The rules in force given a rules document, or none (nullopt: no file exists). Errors are
// ParseAlertRules' for the file's text.
Result<EffectiveRules> CombineWithDefaultRules(const std::optional<std::string>& file_text);

}  // namespace mesh
