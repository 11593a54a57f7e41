// The JSON forms of alerting's records: check results, stored alert states, history events and
// silences. `meshalert ... --output json` prints them one object per line, and meshd's
// /v1/alerts API answers with them, so a remote meshalert decodes exactly what a local one
// would have printed. Times are RFC 3339; absent times and values are null.
#pragma once

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

// {"exit_code":..,"sent":..,"failed":..,"results":[..]}
std::string AlertCheckReportJson(const AlertCheckReport& report);

Result<AlertCheckReport> ParseAlertCheckReport(std::string_view json);
// Arrays of the objects above.
Result<std::vector<StoredAlert>> ParseStoredAlerts(std::string_view json);
Result<std::vector<AlertEvent>> ParseAlertEvents(std::string_view json);
Result<std::vector<Silence>> ParseSilences(std::string_view json);

}  // namespace mesh
