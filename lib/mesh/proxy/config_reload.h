// ConfigReload: what meshproxy makes of its configuration file on SIGHUP. The file is read again
// under the same command-line flags (flags still win) and checked as at start. Every setting
// is bound at start to a socket, a thread pool, a meshd client or a credential, so none is
// swapped inside the running process: a bad new configuration is refused with its reason (the
// running one stays), and a good one is compared with the running one, setting by setting, so
// that the log can say which changes wait for the next start. Pure.
#pragma once

#include <string>
#include <vector>

#include "mesh/base/status.h"
#include "mesh/proxy/proxy_config.h"

namespace mesh {

struct ConfigReview {
  Status refused;                    // not ok: the file cannot be read, parsed or validated
  std::vector<std::string> changed;  // the file's names of the settings that differ, in order
};

// `reread` is the file read again (or the error reading it gave).
ConfigReview ReviewReloadedConfig(const ProxyConfig& running, const Result<ProxyConfig>& reread);

}  // namespace mesh
