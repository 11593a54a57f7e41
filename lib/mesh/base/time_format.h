// Time and duration text: the formats every mesh CLI accepts and prints.
//
// Durations: one or more <number><unit> terms, e.g. "250ms", "15m", "1h30m", "1.5s", "7d";
// units ns, us (or µs), ms, s, m, h, d, w. Times: RFC 3339 ("2026-11-25T13:00:00Z",
// "...T13:00:00.5+01:00"), Unix seconds ("1764075600", "1764075600.25"), "now", or a
// duration meaning that long before now ("15m" as a --since). Pure functions, thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "mesh/base/status.h"

namespace mesh {

// Parses a duration into nanoseconds. Errors (InvalidArgument) name the offending text.
Result<int64_t> ParseDuration(std::string_view text);

// Parses an RFC 3339 timestamp into Unix nanoseconds. A space may replace the 'T'.
Result<int64_t> ParseRfc3339(std::string_view text);

// Parses a point in time for --since/--until: RFC 3339, Unix seconds, "now", or a duration
// before now_ns.
Result<int64_t> ParseTimeSpec(std::string_view text, int64_t now_ns);

// Formats Unix nanoseconds as RFC 3339 in UTC with a 'Z': fractional seconds keep their
// significant digits, at least milliseconds ("2026-11-25T13:17:45.120Z").
std::string FormatRfc3339(int64_t unix_ns);
// Unix seconds with nanoseconds ("1764075600.000000001"), which ParseTimeSpec reads back
// exactly: how the tools pass times to meshd. Negative times give "0".
std::string FormatUnixSeconds(int64_t unix_ns);

// Formats a duration for humans: "850us", "12.3ms", "1.25s", "3m20s".
std::string FormatDuration(int64_t ns);

}  // namespace mesh
