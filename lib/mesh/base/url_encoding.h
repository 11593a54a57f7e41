// Percent-encoding (RFC 3986) and application/x-www-form-urlencoded query strings: pure
// functions on strings, below http so that the data model's codecs (log_api's query form of a
// LogFilter) can use them without depending on HTTP. Thread-safe: no state.
#pragma once

#include <map>
#include <string>
#include <string_view>

namespace mesh {

// Splits "a=1&b=x%20y" into decoded pairs ('+' is a space).
std::map<std::string, std::string> ParseQueryString(std::string_view query);
// Percent-encodes everything but unreserved characters (RFC 3986).
std::string UrlEncode(std::string_view text);
// Percent-decoding; malformed escapes are kept as they are.
std::string UrlDecode(std::string_view text, bool plus_is_space);

}  // namespace mesh
