// HttpUrl: an http:// or https:// URL taken apart for a client that opens its own connection:
// scheme, host (a DNS name, an IPv4 address, or an IPv6 address written in brackets), port
// (the scheme's default when absent) and the request target (path and query; "/" when absent,
// the fragment dropped). A plain value; ParseHttpUrl is a pure function.
#pragma once

#include <string>
#include <string_view>

#include "mesh/base/status.h"

namespace mesh {

struct HttpUrl {
  bool tls = false;    // https://
  std::string host;    // without the brackets of an IPv6 address
  int port = 0;        // 1..65535
  std::string target;  // "/path?query"

  bool host_is_ipv6() const { return host.find(':') != std::string::npos; }
  // The Host header's value: the host (IPv6 in brackets) and the port unless it is the default.
  std::string Authority() const;
};

// Errors: InvalidArgument naming the URL and what is wrong with it: another scheme, user info,
// an empty or malformed host, a port outside 1..65535, a space or control character anywhere.
Result<HttpUrl> ParseHttpUrl(std::string_view url);

}  // namespace mesh
