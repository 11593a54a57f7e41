#include "mesh/alerting/alert_records.h"

#include "mesh/alerting/alert_rule.h"

namespace mesh {

bool Silence::Matches(const std::string& rule_name, const std::string& service_name, int64_t at_ns) const {
  return at_ns >= starts_ns && at_ns < ends_ns && GlobMatch(rule, rule_name) && GlobMatch(service, service_name);
}

}  // namespace mesh
