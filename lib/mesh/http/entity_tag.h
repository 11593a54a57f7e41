// Entity tags (RFC 9110 §8.8.3) and If-None-Match (§13.1.2): whether a client's cached copy is
// still the current one, so that a GET can answer 304 with no body. Comparison is weak (W/
// prefixes ignored), as If-None-Match asks.
#pragma once

#include <string>
#include <string_view>

namespace mesh {

// A weak entity tag, W/"opaque", for `opaque` made of characters allowed in one (no '"').
std::string WeakEntityTag(std::string_view opaque);

// True when the If-None-Match header value `header` names `etag` (weakly) or is "*" and
// `exists`. A malformed list matches nothing (the full answer is sent).
bool IfNoneMatchHits(std::string_view header, std::string_view etag, bool exists);

}  // namespace mesh
