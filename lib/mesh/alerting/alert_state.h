// The life of one alert (a rule applied to one service), as a pure state machine over
// evaluations: inactive -> pending (condition true, waiting out `for`) -> firing -> resolved
// (back to inactive). Prometheus's semantics, plus a resolve threshold (hysteresis) and
// keep_firing_for. The state is a plain value so that it can live in the store between two
// separate `meshalert check` runs: a cron job every minute behaves like a daemon.
//
// No data (the service sent nothing in the window) proves nothing: a pending alert goes back
// to inactive (its condition is no longer established), a firing alert stays firing until data
// shows it resolved. Pure functions, thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "mesh/alerting/alert_rule.h"

namespace mesh {

enum class AlertPhase { kInactive = 0, kPending = 1, kFiring = 2 };

struct AlertState {
  AlertPhase phase = AlertPhase::kInactive;
  int64_t active_since_ns = 0;      // when the condition was first seen true (pending/firing)
  int64_t fired_at_ns = 0;          // when it started firing (Alertmanager's startsAt)
  int64_t quiet_since_ns = 0;       // firing with the condition false since then (keep_firing_for)
  int64_t resolved_at_ns = 0;       // the last resolution (Alertmanager's endsAt)
  int64_t last_eval_ns = 0;
  std::optional<double> last_value;
};

enum class AlertTransition { kNone, kPending, kFiring, kResolved, kCancelled };

struct AlertStep {
  AlertState state;
  AlertTransition transition = AlertTransition::kNone;
};

// Advances `state` by one evaluation at `at_ns` that measured `value` (nullopt: no data).
AlertStep AdvanceAlert(const AlertRule& rule, const AlertState& state, std::optional<double> value,
                       int64_t at_ns);

std::string_view AlertPhaseName(AlertPhase phase);        // "inactive", "pending", "firing"
std::string_view TransitionName(AlertTransition transition);  // "", "pending", "firing", ...

}  // namespace mesh
