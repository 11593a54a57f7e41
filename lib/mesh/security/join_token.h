// Scoped bootstrap tokens, "<id>.<secret>" (as kubeadm's): the id (6 characters of [a-z0-9])
// names the token in meshd's store and in `meshd token list`; the secret (32 characters of
// [a-z0-9], about 165 bits from RAND_bytes) proves it. meshd keeps only the secret's SHA-256,
// so that reading the store does not yield a usable token. Which service a token names is the
// store's record (store/join_token_store.h), not part of the string. Thread-safe (pure).
#pragma once

#include <string>
#include <string_view>

#include "mesh/base/status.h"

namespace mesh {

struct JoinToken {
  static constexpr size_t kIdLength = 6;
  static constexpr size_t kSecretLength = 32;
  std::string id;
  std::string secret;

  std::string ToString() const { return id + "." + secret; }
};

// A new token from the system's secure random source. Errors: IOError when it fails.
Result<JoinToken> GenerateJoinToken();
// Errors: InvalidArgument for anything but <6 [a-z0-9]>.<32 [a-z0-9]>.
Result<JoinToken> ParseJoinToken(std::string_view text);

}  // namespace mesh
