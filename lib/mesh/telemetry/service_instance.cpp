#include "mesh/telemetry/service_instance.h"

#include <algorithm>

namespace mesh {

bool IsHealthy(const Instance& instance, int64_t now_ns, int64_t up_since_ns) {
  return now_ns - std::max(instance.heartbeat_ns, up_since_ns) <= instance.ttl_ns;
}

}  // namespace mesh
