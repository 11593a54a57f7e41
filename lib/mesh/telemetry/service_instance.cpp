#include "mesh/telemetry/service_instance.h"

namespace mesh {

bool IsHealthy(const Instance& instance, int64_t now_ns) {
  return now_ns - instance.heartbeat_ns <= instance.ttl_ns;
}

}  // namespace mesh
