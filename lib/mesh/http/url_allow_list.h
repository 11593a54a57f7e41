// UrlAllowList: the http(s) URLs a program may be made to send to on someone else's behalf
// (meshd posting alerts to the webhook and Alertmanager URLs in a check request), as a list of
// URL prefixes. A URL is allowed when one entry has its scheme, host (case-insensitive) and port
// (the scheme's default when absent) and the entry's path is a prefix of the URL's path on a
// segment boundary ("/hooks" allows "/hooks" and "/hooks/a", not "/hooks-admin"). URLs are
// compared parsed, never as strings: user info ("http://am:9093@evil/") is refused, as are dot
// segments and encoded dots in the path (a client would resolve them past the prefix). An empty
// list allows nothing. A plain value; thread-safe to read.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "mesh/base/status.h"
#include "mesh/http/http_url.h"

namespace mesh {

class UrlAllowList {
 public:
  UrlAllowList() = default;
  // Errors: InvalidArgument naming an entry that is not an http(s) URL without user info,
  // query or dot segments.
  static Result<UrlAllowList> Parse(const std::vector<std::string>& prefixes);

  // The URL to send to: `url` rebuilt from its parsed parts, so that the client sending cannot
  // read it differently from this check. Errors: InvalidArgument saying why `url` is not
  // allowed (not a URL, or under no entry).
  Result<std::string> Allow(std::string_view url) const;
  bool empty() const { return entries_.empty(); }

 private:
  std::vector<HttpUrl> entries_;  // host lowercased, target the path
};

}  // namespace mesh
