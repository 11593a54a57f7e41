// Fuzz target: the query string of meshd's GET /v1/logs and /v1/logs/stats, untrusted input
// from the network (ParseQueryString, then LogFilterFromQuery). A query is refused with
// InvalidArgument, or its filter survives the trip a client makes: LogFilterToQuery, then the
// same decoding, gives the same filter (times before 1970 travel as 0).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "mesh/base/url_encoding.h"
#include "mesh/telemetry/log_api.h"

namespace {

// A fixed "now" (2025-11-25T13:00:00Z): relative times ("15m") count back from it.
constexpr int64_t kNowNs = 1'764'075'600'000'000'000;

std::optional<int64_t> OnTheWire(std::optional<int64_t> t) {
  if (t) return std::max<int64_t>(*t, 0);
  return t;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const mesh::Result<mesh::LogFilter> filter = mesh::LogFilterFromQuery(mesh::ParseQueryString(text), kNowNs);
  if (!filter.ok()) {
    FUZZ_CHECK(filter.status().code() == mesh::Status::Code::kInvalidArgument);
    return 0;
  }
  const mesh::Result<mesh::LogFilter> again =
      mesh::LogFilterFromQuery(mesh::ParseQueryString(mesh::LogFilterToQuery(*filter)), kNowNs);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(again->services == filter->services);
  FUZZ_CHECK(again->min_level == filter->min_level);
  FUZZ_CHECK(again->since_ns == OnTheWire(filter->since_ns));
  FUZZ_CHECK(again->until_ns == OnTheWire(filter->until_ns));
  FUZZ_CHECK(again->trace_id == filter->trace_id);
  FUZZ_CHECK(again->grep == filter->grep);
  FUZZ_CHECK(again->max_cursor == filter->max_cursor);
  return 0;
}
