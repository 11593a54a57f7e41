// Which service may call which: meshd's authorization policy, a JSON file, enforced by every
// inbound meshproxy running with mTLS (the caller is the SPIFFE identity of its certificate).
//
//   {"allow": [
//     {"from": "frontend", "to": "orders"},
//     {"from": ["orders", "billing"], "to": "payments", "methods": ["POST"], "paths": ["/charge"]},
//     {"from": "*", "to": "catalog", "methods": ["GET", "HEAD"]}
//   ]}
//
// A call is allowed when one rule matches all of: the caller ("*": any mesh identity), the
// callee ("*": any), the method (absent: any) and a path prefix (absent: any). Nothing else is
// allowed once a policy exists; with no policy at all, every identified caller is allowed (the
// mesh's default until a policy is written). Path prefixes match by whole segments ("/api" is
// not a prefix of "/apiadmin"; "/api*" opts into characters) and never match an ambiguous path
// ("/public/..;/admin", "%2F", "%25", ...): see policy_path.h. Immutable once parsed:
// thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "mesh/base/status.h"
#include "mesh/security/policy_path.h"

namespace mesh {

struct PolicyRule {
  std::vector<std::string> from;  // service names, or "*"
  std::vector<std::string> to;
  std::vector<std::string> methods;        // upper case; empty: any
  std::vector<PathPrefix> paths;           // empty: any
};

struct PolicyDecision {
  bool allowed = true;
  std::string reason;  // when denied: said to the caller and logged
  // Denied because the path is ambiguous (and some rule would have judged it by its path).
  bool ambiguous_path = false;
};

class AuthorizationPolicy {
 public:
  // Errors: InvalidArgument naming the rule and field ("allow[2].methods: ..."); unknown fields
  // are errors, so that a typo cannot silently widen or narrow access.
  static Result<AuthorizationPolicy> Parse(std::string_view json);

  // `caller` is the calling service ("" when the caller is not identified: never allowed).
  PolicyDecision Check(std::string_view caller, std::string_view callee, std::string_view method,
                       std::string_view path) const;

  const std::vector<PolicyRule>& rules() const { return rules_; }

 private:
  std::vector<PolicyRule> rules_;
};

}  // namespace mesh
