// JoinTokenStore: meshd's scoped bootstrap tokens (`meshd token create`), one service each, kept
// in the store so that `meshd token revoke` in another process takes effect on a running meshd.
// Only the SHA-256 of a token's secret is stored (security/join_token.h makes and parses the
// token; this class never sees the secret).
//
// Not thread-safe: one JoinTokenStore per Store connection.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "mesh/store/store.h"

namespace mesh {

struct JoinTokenRecord {
  static constexpr int64_t kUnlimitedUses = -1;
  std::string id;
  std::string service;
  std::string secret_sha256;
  int64_t created_ns = 0;
  int64_t expires_ns = 0;  // 0: never
  int64_t uses_left = kUnlimitedUses;
  int64_t revoked_ns = 0;  // 0: in force
  int64_t last_used_ns = 0;

  // Why the token grants nothing at `now_ns`: "revoked", "expired", "used_up", or "" when it is
  // in force. The reasons are the label values of meshd's refusal counter.
  std::string RefusalAt(int64_t now_ns) const;
};

class JoinTokenStore {
 public:
  explicit JoinTokenStore(Store& store) : store_(store) {}

  // Errors: InvalidArgument when the id is taken (ids are random: try another).
  Status Add(const JoinTokenRecord& record);
  // The token's record, or nullopt for an unknown id.
  Result<std::optional<JoinTokenRecord>> Find(const std::string& id);
  // Every token, newest first.
  Result<std::vector<JoinTokenRecord>> List();
  // Errors: NotFound for an unknown id. Revoking twice keeps the first time.
  Status Revoke(const std::string& id, int64_t now_ns);
  // Records a use at `now_ns`, taking one of the uses left when the token has a count.
  // Errors: NotFound for an unknown id; InvalidArgument when the token is revoked or has no use
  // left (checked in the same statement, so that two meshd threads cannot spend the last use twice).
  Status RecordUse(const std::string& id, int64_t now_ns, bool spend);

 private:
  Store& store_;
};

}  // namespace mesh
