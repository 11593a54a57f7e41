#include "mesh/proxy/advertised_address.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace mesh {

Result<std::string> KernelDefaultRoute::Lookup(bool ipv6) const {
  const int fd = socket(ipv6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return Status::NotFound(std::string("no socket of that family: ") + std::strerror(errno));
  // TEST-NET-3 and the IPv6 documentation prefix: only a default route reaches them, and a
  // UDP connect sends nothing.
  sockaddr_storage remote{};
  socklen_t remote_len = 0;
  if (ipv6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&remote);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(9);
    inet_pton(AF_INET6, "2001:db8::1", &a->sin6_addr);
    remote_len = sizeof(sockaddr_in6);
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&remote);
    a->sin_family = AF_INET;
    a->sin_port = htons(9);
    inet_pton(AF_INET, "203.0.113.1", &a->sin_addr);
    remote_len = sizeof(sockaddr_in);
  }
  sockaddr_storage local{};
  socklen_t local_len = sizeof local;
  const bool routed = connect(fd, reinterpret_cast<sockaddr*>(&remote), remote_len) == 0 &&
                      getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_len) == 0;
  const int error = errno;
  close(fd);
  if (!routed)
    return Status::NotFound(std::string("no default route (") + std::strerror(error) + ")");
  char text[INET6_ADDRSTRLEN] = {};
  const void* address =
      ipv6 ? static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(&local)->sin6_addr)
           : static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(&local)->sin_addr);
  if (inet_ntop(ipv6 ? AF_INET6 : AF_INET, address, text, sizeof text) == nullptr) {
    return Status::IOError(std::string("inet_ntop: ") + std::strerror(errno));
  }
  return std::string(text);
}

Status ValidateAdvertise(const std::string& advertise) {
  Result<HostPort> hp = ParseHostPort(advertise);
  if (!hp.ok()) return hp.status().WithContext("--advertise");
  if (!IsNumericHost(hp->host) || IsWildcardHost(hp->host)) {
    return Status::InvalidArgument(
        "--advertise '" + advertise +
        "': expected the IP address other proxies reach this one at (not a name, not "
        "0.0.0.0 or ::), e.g. 10.0.0.5:15001 or [2001:db8::5]:15001");
  }
  return Status::Ok();
}

Result<HostPort> AdvertisedAddress(const std::string& advertise, const HostPort& listen,
                                   int bound_port, const DefaultRouteAddress& route) {
  if (!advertise.empty()) {
    if (Status s = ValidateAdvertise(advertise); !s.ok()) return s;
    HostPort hp = *ParseHostPort(advertise);
    if (hp.port == 0) hp.port = bound_port;
    return hp;
  }
  if (!IsWildcardHost(listen.host)) return HostPort{listen.host, bound_port};
  const bool ipv6 = listen.host == "::";
  Result<std::string> local = route.Lookup(ipv6);
  if (!local.ok()) {
    return Status::NotFound(
        "listening on " + FormatHostPort({listen.host, bound_port}) +
        " and this host's address is unknown: " + local.status().message() +
        "; give --advertise HOST:PORT, the address other proxies reach this one at");
  }
  return HostPort{*local, bound_port};
}

}  // namespace mesh
