// The address a meshproxy registers with meshd, the one other proxies dial: --advertise when
// given, else the listen address when it names one interface, else (a wildcard listen) the
// address of the interface holding the default route. The choice is a pure function; the
// kernel is asked through DefaultRouteAddress, which tests replace. Thread-safe (no state).
#pragma once

#include <string>

#include "mesh/base/status.h"
#include "mesh/http/host_port.h"

namespace mesh {

// Which local address the kernel would send from towards the rest of the network.
class DefaultRouteAddress {
 public:
  virtual ~DefaultRouteAddress() = default;
  // The source address of the default route (IPv6 when `ipv6`). Errors: NotFound when there is
  // no such route.
  virtual Result<std::string> Lookup(bool ipv6) const = 0;
};

// Asks the kernel: a UDP socket connected to a documentation address (nothing is sent), then
// its local address.
class KernelDefaultRoute : public DefaultRouteAddress {
 public:
  Result<std::string> Lookup(bool ipv6) const override;
};

// The address to register. `advertise`: the flag, "" when not given (a port of 0 in it means
// the port bound); `listen`: the inbound listen address; `bound_port`: the port it got.
// Errors: InvalidArgument for a bad --advertise; NotFound, asking for --advertise, when the
// listen address is a wildcard and the host has no default route.
Result<HostPort> AdvertisedAddress(const std::string& advertise, const HostPort& listen,
                                   int bound_port, const DefaultRouteAddress& route);

// Checks an --advertise value: host:port or [v6]:port, a numeric address that is not a
// wildcard (proxies dial it without a resolver). Errors: InvalidArgument saying so.
Status ValidateAdvertise(const std::string& advertise);

}  // namespace mesh
