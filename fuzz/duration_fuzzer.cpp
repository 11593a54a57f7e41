// Fuzz target: the time and duration text every CLI flag and query parameter takes
// (ParseDuration, ParseRfc3339, ParseTimeSpec), with the round trips the tools rely on:
// FormatDuration's output parses back to nearly the same duration, FormatRfc3339 and
// FormatUnixSeconds back to exactly the same time.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "fuzz_check.h"
#include "mesh/base/time_format.h"

namespace {

// A fixed "now" (2025-11-25T13:00:00Z): ParseTimeSpec of a duration counts back from it.
constexpr int64_t kNowNs = 1'764'075'600'000'000'000;

// How far FormatDuration may round: three significant digits below a minute, whole seconds
// below an hour, whole minutes above.
int64_t FormatDurationSlack(int64_t ns) {
  if (ns >= 3600'000'000'000) return 60'000'000'000;
  if (ns >= 60'000'000'000) return 1'000'000'000;
  return ns / 200 + 1;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  if (const mesh::Result<int64_t> duration = mesh::ParseDuration(text); duration.ok()) {
    FUZZ_CHECK(*duration >= 0);
    const mesh::Result<int64_t> again = mesh::ParseDuration(mesh::FormatDuration(*duration));
    FUZZ_CHECK(again.ok());
    FUZZ_CHECK(std::llabs(*again - *duration) <= FormatDurationSlack(*duration));
  }

  if (const mesh::Result<int64_t> time = mesh::ParseRfc3339(text); time.ok()) {
    const mesh::Result<int64_t> again = mesh::ParseRfc3339(mesh::FormatRfc3339(*time));
    FUZZ_CHECK(again.ok());
    FUZZ_CHECK(*again == *time);
  }

  if (const mesh::Result<int64_t> time = mesh::ParseTimeSpec(text, kNowNs); time.ok() && *time >= 0) {
    const mesh::Result<int64_t> again = mesh::ParseTimeSpec(mesh::FormatUnixSeconds(*time), kNowNs);
    FUZZ_CHECK(again.ok());
    FUZZ_CHECK(*again == *time);
  }
  return 0;
}
