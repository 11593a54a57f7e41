// The JSON forms of alerting's records: check results, stored alert states, history events and
// silences. `meshalert ... --output json` prints them one object per line, and meshd's
// /v1/alerts API answers with them, so a remote meshalert decodes exactly what a local one
// would have printed. Times are RFC 3339; absent times and values are null. Also the body of
// POST /v1/alerts/check, which meshalert check --server sends. Pure functions, thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "mesh/alerting/alert_engine.h"
#include "mesh/alerting/alert_records.h"
#include "mesh/base/status.h"

namespace mesh {

std::string AlertResultJson(const AlertResult& result);
std::string StoredAlertJson(const StoredAlert& alert);
std::string AlertEventJson(const AlertEvent& event);
std::string SilenceJson(const Silence& silence);

// Arrays of the objects above: the answers of GET /v1/alerts, /v1/alerts/history, /v1/silences.
std::string StoredAlertsJson(const std::vector<StoredAlert>& alerts);
std::string AlertEventsJson(const std::vector<AlertEvent>& events);
std::string SilencesJson(const std::vector<Silence>& silences);

// {"exit_code":..,"sent":..,"failed":..,"results":[..]}
std::string AlertCheckReportJson(const AlertCheckReport& report);

Result<AlertCheckReport> ParseAlertCheckReport(std::string_view json);
// Arrays of the objects above.
Result<std::vector<StoredAlert>> ParseStoredAlerts(std::string_view json);
Result<std::vector<AlertEvent>> ParseAlertEvents(std::string_view json);
Result<std::vector<Silence>> ParseSilences(std::string_view json);

// What a remote check asks meshd to run: the rules (a rules document's JSON, as
// ParseAlertRules reads it), when, and where meshd sends the notifications.
struct AlertCheckRequest {
  std::string rules_json;
  int64_t at_ns = 0;
  int64_t repeat_interval_ns = 0;  // 0: transitions only
  std::string external_url;
  std::string alertmanager;  // "" for none
  std::string webhook;       // "" for none
};
// {"rules":..,"at":"<unix s>","repeat_interval_ns":..,"external_url":..,"alertmanager":..,
//  "webhook":..}
std::string AlertCheckRequestJson(const AlertCheckRequest& request);
// A missing "at" is now_ns; missing strings are "". Errors (InvalidArgument): not a JSON
// object, "at: <why>", a repeat_interval_ns that is not a non-negative integer. The rules are
// only copied here: ParseAlertRules judges them.
Result<AlertCheckRequest> ParseAlertCheckRequest(std::string_view json, int64_t now_ns);

}  // namespace mesh
