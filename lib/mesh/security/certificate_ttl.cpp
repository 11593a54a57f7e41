#include "mesh/security/certificate_ttl.h"

#include <string>

#include "mesh/base/time_format.h"

namespace mesh {

Result<int64_t> ParseCertTtl(std::string_view text) {
  Result<int64_t> ns = ParseDuration(text);
  if (!ns.ok()) return ns.status();
  if (*ns < kMinCertTtlNs || *ns > kMaxCertTtlNs) {
    return Status::InvalidArgument("certificate lifetime " + std::string(text) +
                                   " is outside 10s..30d (what meshd issues)");
  }
  return ns;
}

}  // namespace mesh
