// RunMeshproxy: the meshproxy process, wired from its parts. An inbound HttpProxy in front of
// the local service, an outbound one resolving other services through meshd's registry
// (DiscoveryUpstreams, retry budget), a RegistryClient that registers the inbound address and
// heartbeats, a TelemetryShipper for metrics, spans and access logs, and the admin port
// (civetweb): /metrics, /healthz, /ready, /config. Runs until SIGINT/SIGTERM, then stops
// accepting, drains in-flight requests for up to 10 s, deregisters, ships what is left and
// returns 0. SIGHUP reloads what can be (see ReloadOnSighup in the .cpp) and never stops it.
// Its own events are JSON lines on stderr.
#pragma once

#include <functional>

#include "mesh/base/command_io.h"
#include "mesh/proxy/proxy_config.h"

namespace mesh {

// Returns the exit code: 0 after a clean stop, 1 when a port cannot be bound or meshd's token
// cannot be read, 2 for an invalid configuration. `reread_config`, when set, reads the
// configuration again as main() did (the file under the same flags), for SIGHUP.
int RunMeshproxy(const ProxyConfig& config, const CommandIo& io,
                 const std::function<Result<ProxyConfig>()>& reread_config = {});

}  // namespace mesh
