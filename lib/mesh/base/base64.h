// Base64 (RFC 4648) as the OTLP JSON mapping uses it for bytesValue: pure functions on
// strings. Thread-safe: no state.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace mesh {

// Standard alphabet, with padding (what protojson writes).
std::string Base64Encode(std::string_view bytes);
// What protojson reads: the standard or the URL-safe alphabet, padding optional. nullopt for
// anything else (a stray character, a length no encoding has, padding in the middle, bits
// left over in the last character).
std::optional<std::string> Base64Decode(std::string_view text);

}  // namespace mesh
