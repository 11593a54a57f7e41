#include "mesh/http/host_port.h"

#include <arpa/inet.h>

#include <charconv>

namespace mesh {

Result<HostPort> ParseHostPort(std::string_view text) {
  const auto invalid = [&](const std::string& why) {
    return Status::InvalidArgument("invalid address '" + std::string(text) + "': " + why +
                                   " (expected host:port, or [v6]:port for IPv6)");
  };
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return invalid("no port");
  std::string_view host = text.substr(0, colon);
  const std::string_view port = text.substr(colon + 1);
  HostPort hp;
  const auto r = std::from_chars(port.data(), port.data() + port.size(), hp.port);
  if (port.empty() || r.ec != std::errc() || r.ptr != port.data() + port.size() || hp.port < 0 ||
      hp.port > 65535) {
    return invalid("the port is not a number in 0..65535");
  }
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
    in6_addr ignored{};
    if (inet_pton(AF_INET6, std::string(host).c_str(), &ignored) != 1)
      return invalid("not an IPv6 address in brackets");
  } else if (host.find_first_of("[]") != std::string_view::npos) {
    return invalid("unbalanced brackets");
  } else if (host.find(':') != std::string_view::npos) {
    return invalid("an IPv6 address goes in brackets, e.g. [::1]:15001");
  }
  if (host.empty()) return invalid("no host");
  hp.host = std::string(host);
  return hp;
}

std::string FormatHostPort(const HostPort& a) {
  const bool v6 = a.host.find(':') != std::string::npos;
  return (v6 ? "[" + a.host + "]" : a.host) + ":" + std::to_string(a.port);
}

bool IsWildcardHost(std::string_view host) { return host == "0.0.0.0" || host == "::"; }

bool IsNumericHost(std::string_view host) {
  const std::string h(host);
  in_addr v4{};
  in6_addr v6{};
  return inet_pton(AF_INET, h.c_str(), &v4) == 1 || inet_pton(AF_INET6, h.c_str(), &v6) == 1;
}

}  // namespace mesh
