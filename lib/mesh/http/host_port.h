// HostPort: a network address as the command lines write it, "host:port" or "[v6]:port", taken
// apart and put back together. An IPv6 host is kept without its brackets and must be written
// with them (a bare "::1:80" is ambiguous). Pure functions; a plain value.
#pragma once

#include <string>
#include <string_view>

#include "mesh/base/status.h"

namespace mesh {

struct HostPort {
  std::string host;  // a name, an IPv4 address, or an IPv6 address without brackets
  int port = 0;
};

// "host:port" or "[v6]:port" with a numeric port 0..65535 (0: any free port). Errors:
// InvalidArgument naming the text: no host, no or a bad port, an IPv6 host without brackets,
// brackets around something that is not an IPv6 address.
Result<HostPort> ParseHostPort(std::string_view text);

// "host:port", the host in brackets when it is an IPv6 address.
std::string FormatHostPort(const HostPort& address);

// 0.0.0.0 or ::, the addresses that mean "every interface" to bind and nothing to a caller.
bool IsWildcardHost(std::string_view host);

// Whether `host` is a numeric IPv4 or IPv6 address (no brackets), what a proxy can dial
// without a resolver.
bool IsNumericHost(std::string_view host);

}  // namespace mesh
