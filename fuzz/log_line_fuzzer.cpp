// Fuzz target: the line parser of `meshlog ingest` (LogLineParser), each input read as a JSON,
// a logfmt and a text line (every text log format), and in auto mode.
//
// Invariants: the parser never fails and keeps the line (a record always comes back), with
// clean UTF-8, valid ids and attributes that are a JSON object; the record's JSON form (what
// meshlog prints and meshd stores) is one JSON object naming each of its own fields once, and
// reading that JSON back gives the same record, so meshlog's output can be piped into
// `meshlog ingest` again.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "fuzz_check.h"
#include "mesh/base/clock.h"
#include "mesh/base/json_scan.h"
#include "mesh/base/trace_id.h"
#include "mesh/base/utf8.h"
#include "mesh/telemetry/log_line_parser.h"
#include "mesh/telemetry/log_record.h"

namespace {

class FixedClock : public mesh::Clock {
 public:
  int64_t NowNs() const override { return 1'764'075'600'000'000'000; }  // 2025-11-25T13:00:00Z
};

auto Fields(const mesh::LogRecord& r) {
  return std::tie(r.ts_ns, r.service, r.level, r.message, r.trace_id, r.span_id, r.attributes);
}

void CheckRecord(const mesh::LogRecord& r, const mesh::LogRecord& defaults) {
  FUZZ_CHECK(mesh::IsCleanUtf8(r.service) && mesh::IsCleanUtf8(r.message) && mesh::IsCleanUtf8(r.attributes));
  FUZZ_CHECK(r.trace_id.empty() || mesh::IsValidTraceId(r.trace_id));
  FUZZ_CHECK(r.span_id.empty() || mesh::IsValidSpanId(r.span_id));
  std::vector<mesh::JsonMember> members;
  FUZZ_CHECK(r.attributes.empty() || mesh::ScanJsonObject(r.attributes, members).ok());

  const std::string json = mesh::ToJson(r);
  FUZZ_CHECK(mesh::ScanJsonObject(json, members).ok());
  for (std::string_view field : {"timestamp", "level", "service", "message", "trace_id", "span_id"}) {
    int count = 0;
    for (const mesh::JsonMember& m : members) {
      count += (m.key_escaped ? mesh::UnescapeJsonString(m.key) == field : m.key == field) ? 1 : 0;
    }
    FUZZ_CHECK(count <= 1);
  }
  const mesh::Result<mesh::LogRecord> back = mesh::LogRecordFromJson(json, defaults);
  FUZZ_CHECK(back.ok());
  FUZZ_CHECK(Fields(*back) == Fields(r));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const FixedClock clock;
  const std::string_view line(reinterpret_cast<const char*>(data), size);
  for (mesh::InputFormat format : {mesh::InputFormat::kJson, mesh::InputFormat::kLogfmt,
                                   mesh::InputFormat::kText, mesh::InputFormat::kAuto,
                                   mesh::InputFormat::kJournal}) {
    mesh::LogLineParser parser({.format = format, .service = "fuzz", .default_level = mesh::LogLevel::kInfo},
                               clock);
    const mesh::LogRecord record = parser.Parse(line);
    FUZZ_CHECK(parser.counters().records == 1);
    mesh::LogRecord defaults;
    defaults.ts_ns = clock.NowNs();
    defaults.service = "fuzz";
    CheckRecord(record, defaults);
  }
  return 0;
}
