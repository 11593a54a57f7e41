// Fuzz target: the JSON codecs of meshd's API beyond the ingest formats (otlp, zipkin), every
// input given to each:
//   - what meshd reads: ParseAlertCheckRequest (POST /v1/alerts/check), ParseSilences
//     (POST /v1/silences);
//   - what the CLIs read from a meshd with --server, a remote and possibly hostile answer:
//     DecodeLogPage (meshlog), DecodeTraceList and DecodeSpanStatsJson (meshtrace),
//     DecodeReportJson (meshstat), ParseAlertCheckReport, ParseStoredAlerts, ParseAlertEvents
//     (meshalert).
//
// Invariant, for each codec: what decodes encodes to JSON that decodes again, and encoding that
// gives the same JSON (encode after decode is a fixed point: nothing is lost or invented on
// the second trip).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.h"
#include "mesh/alerting/alert_json.h"
#include "mesh/telemetry/log_api.h"
#include "mesh/telemetry/report.h"
#include "mesh/telemetry/span_stats.h"
#include "mesh/telemetry/trace_api.h"

namespace {

constexpr int64_t kNow = 1'795'600'000'000'000'000;

// Decodes `json`; when it decodes, its encoding must decode and encode to the same text.
template <typename Decode, typename Encode>
void CheckFixedPoint(const std::string& json, Decode decode, Encode encode) {
  auto first = decode(json);
  if (!first.ok()) return;
  const std::string once = encode(*first);
  auto second = decode(once);
  FUZZ_CHECK(second.ok());
  FUZZ_CHECK(encode(*second) == once);
}

struct StatsResult {
  std::vector<mesh::OperationStats> ops;
  std::vector<mesh::EdgeStats> edges;
  mesh::Status status;
  bool ok() const { return status.ok(); }
  const StatsResult& operator*() const { return *this; }
};

StatsResult DecodeStats(const std::string& json) {
  StatsResult r;
  r.status = mesh::DecodeSpanStatsJson(json, r.ops, r.edges);
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string json(reinterpret_cast<const char*>(data), size);
  CheckFixedPoint(
      json, [](const std::string& j) { return mesh::ParseAlertCheckRequest(j, kNow); },
      [](const mesh::AlertCheckRequest& r) { return mesh::AlertCheckRequestJson(r); });
  CheckFixedPoint(json, [](const std::string& j) { return mesh::ParseSilences(j); },
                  [](const std::vector<mesh::Silence>& s) { return mesh::SilencesJson(s); });
  CheckFixedPoint(json, [](const std::string& j) { return mesh::DecodeLogPage(j); },
                  [](const mesh::LogPage& p) { return mesh::EncodeLogPage(p.records, p.cursor); });
  CheckFixedPoint(json, [](const std::string& j) { return mesh::DecodeTraceList(j); },
                  [](const std::vector<mesh::TraceSummary>& t) { return mesh::EncodeTraceList(t); });
  CheckFixedPoint(json, DecodeStats, [](const StatsResult& s) { return mesh::EncodeSpanStatsJson(s.ops, s.edges); });
  CheckFixedPoint(json, [](const std::string& j) { return mesh::DecodeReportJson(j); },
                  [](const mesh::Report& r) { return mesh::EncodeReportJson(r); });
  CheckFixedPoint(json, [](const std::string& j) { return mesh::ParseAlertCheckReport(j); },
                  [](const mesh::AlertCheckReport& r) { return mesh::AlertCheckReportJson(r); });
  CheckFixedPoint(json, [](const std::string& j) { return mesh::ParseStoredAlerts(j); },
                  [](const std::vector<mesh::StoredAlert>& a) { return mesh::StoredAlertsJson(a); });
  CheckFixedPoint(json, [](const std::string& j) { return mesh::ParseAlertEvents(j); },
                  [](const std::vector<mesh::AlertEvent>& e) { return mesh::AlertEventsJson(e); });
  return 0;
}
