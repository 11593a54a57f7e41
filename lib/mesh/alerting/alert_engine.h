// AlertEngine: one evaluation round of a set of rules (what `meshalert check` runs once and
// `meshalert watch` runs in a loop): for each rule, each matching service's signal is measured,
// its alert advanced through the state machine (alert_state.h) from the state stored by the
// previous round; then notifications owed (transitions, repeats and earlier failed
// deliveries) go to the sinks, unless a silence covers the alert. The engine only reads the
// store: the caller saves the round's alerts and events (AlertStateStore::Save) in its write
// transaction.
//
// Monitoring-plugin status per alert: a firing alert is its severity (critical 2, warning 1,
// info 0), no data is UNKNOWN (3), anything else OK (0); silenced alerts are OK. The round's
// exit code is the worst of them, CRITICAL > WARNING > UNKNOWN > OK.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "mesh/alerting/alert_notifier.h"
#include "mesh/alerting/alert_records.h"
#include "mesh/alerting/alert_rule.h"
#include "mesh/alerting/alert_state.h"
#include "mesh/alerting/alert_state_store.h"
#include "mesh/alerting/signal_source.h"

namespace mesh {

enum PluginStatus { kStatusOk = 0, kStatusWarning = 1, kStatusCritical = 2, kStatusUnknown = 3 };
std::string_view PluginStatusName(int status);  // "OK", "WARNING", "CRITICAL", "UNKNOWN"
// The worse of two statuses: CRITICAL > WARNING > UNKNOWN > OK.
int WorseStatus(int a, int b);

struct AlertResult {
  std::string rule;
  std::string service;  // the rule's pattern when no service matched
  Severity severity = Severity::kWarning;
  AlertState state;
  AlertTransition transition = AlertTransition::kNone;
  std::optional<double> value;
  std::string summary;  // "error_rate 7.3% > 5%"
  bool silenced = false;
  int status = kStatusOk;
  std::string notify_error;  // this round's failed delivery, if any
};

struct AlertCheckOptions {
  int64_t at_ns = 0;
  // Re-notify a still-firing alert this long after its last notification (0: transitions only).
  int64_t repeat_interval_ns = 0;
  // Base of each alert's generatorURL (the dashboard), e.g. meshd's URL; "" for none.
  std::string external_url;
};

struct AlertCheckReport {
  std::vector<AlertResult> results;
  int exit_code = kStatusOk;
  int notifications_sent = 0;
  int notifications_failed = 0;
  // To save: every evaluated alert's new state, and the round's events.
  std::vector<StoredAlert> alerts;
  std::vector<AlertEvent> events;
};

class AlertEngine {
 public:
  AlertEngine(SignalSource& source, AlertStateStore& store, std::vector<AlertSink*> sinks)
      : source_(source), store_(store), sinks_(std::move(sinks)) {}

  Result<AlertCheckReport> Check(const std::vector<AlertRule>& rules, const AlertCheckOptions& options);

 private:
  Result<std::vector<std::string>> ServicesOf(const AlertRule& rule, const std::vector<StoredAlert>& stored);
  void Deliver(const std::vector<AlertRule>& rules, const AlertCheckOptions& options, AlertCheckReport& report);

  SignalSource& source_;
  AlertStateStore& store_;
  std::vector<AlertSink*> sinks_;
};

// What an alert says (labels, filled-in annotations, times), for notifications.
AlertNotice MakeNotice(const AlertRule& rule, const StoredAlert& alert, const std::string& external_url);

}  // namespace mesh
