#include "mesh/alerting/alert_state.h"

namespace mesh {

AlertStep AdvanceAlert(const AlertRule& rule, const AlertState& state, std::optional<double> value,
                       int64_t at_ns) {
  AlertStep step{state, AlertTransition::kNone};
  AlertState& next = step.state;
  next.last_eval_ns = at_ns;
  next.last_value = value;
  if (!value) {
    if (state.phase == AlertPhase::kPending) {
      next.phase = AlertPhase::kInactive;
      next.active_since_ns = 0;
      step.transition = AlertTransition::kCancelled;
    }
    return step;
  }
  // A firing alert with a resolve threshold stays on while the value is on the far side of it.
  const double bar = state.phase == AlertPhase::kFiring && rule.resolve_threshold ? *rule.resolve_threshold
                                                                                  : rule.threshold;
  const bool holds = Compare(rule.op, *value, bar);

  switch (state.phase) {
    case AlertPhase::kInactive:
      if (!holds) break;
      next.active_since_ns = at_ns;
      next.phase = AlertPhase::kPending;
      step.transition = AlertTransition::kPending;
      [[fallthrough]];
    case AlertPhase::kPending:
      if (!holds) {
        next.phase = AlertPhase::kInactive;
        next.active_since_ns = 0;
        step.transition = AlertTransition::kCancelled;
      } else if (at_ns - next.active_since_ns >= rule.for_ns) {
        next.phase = AlertPhase::kFiring;
        next.fired_at_ns = at_ns;
        next.quiet_since_ns = 0;
        step.transition = AlertTransition::kFiring;
      }
      break;
    case AlertPhase::kFiring:
      if (holds) {
        next.quiet_since_ns = 0;
        break;
      }
      if (next.quiet_since_ns == 0) next.quiet_since_ns = at_ns;
      if (at_ns - next.quiet_since_ns >= rule.keep_firing_for_ns) {
        next.phase = AlertPhase::kInactive;
        next.active_since_ns = 0;
        next.quiet_since_ns = 0;
        next.resolved_at_ns = at_ns;
        step.transition = AlertTransition::kResolved;
      }
      break;
  }
  return step;
}

std::string_view AlertPhaseName(AlertPhase phase) {
  switch (phase) {
    case AlertPhase::kInactive: return "inactive";
    case AlertPhase::kPending: return "pending";
    case AlertPhase::kFiring: return "firing";
  }
  return "?";
}

std::string_view TransitionName(AlertTransition transition) {
  switch (transition) {
    case AlertTransition::kNone: return "";
    case AlertTransition::kPending: return "pending";
    case AlertTransition::kFiring: return "firing";
    case AlertTransition::kResolved: return "resolved";
    case AlertTransition::kCancelled: return "cancelled";
  }
  return "?";
}

}  // namespace mesh
