#include "mesh/security/join_token.h"

#include <openssl/rand.h>

#include <algorithm>

namespace mesh {
namespace {

constexpr std::string_view kAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789";

bool IsTokenChar(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

// `n` characters of kAlphabet, each uniform: bytes of 252 and above (7 * 36) are drawn again,
// so that no character is likelier than another.
Result<std::string> RandomText(size_t n) {
  std::string out;
  unsigned char buffer[64];
  for (int rounds = 0; out.size() < n && rounds < 100; ++rounds) {
    if (RAND_bytes(buffer, sizeof(buffer)) != 1) return Status::IOError("no secure random bytes (RAND_bytes failed)");
    for (unsigned char b : buffer) {
      if (b >= 252 || out.size() == n) continue;
      out += kAlphabet[b % kAlphabet.size()];
    }
  }
  if (out.size() != n) return Status::IOError("no secure random bytes");
  return out;
}

}  // namespace

Result<JoinToken> GenerateJoinToken() {
  Result<std::string> id = RandomText(JoinToken::kIdLength);
  if (!id.ok()) return id.status();
  Result<std::string> secret = RandomText(JoinToken::kSecretLength);
  if (!secret.ok()) return secret.status();
  return JoinToken{*id, *secret};
}

Result<JoinToken> ParseJoinToken(std::string_view text) {
  const auto invalid = [] {
    return Status::InvalidArgument("not a scoped token (expected <6 of a-z0-9>.<32 of a-z0-9>, as `meshd token create` prints)");
  };
  if (text.size() != JoinToken::kIdLength + 1 + JoinToken::kSecretLength || text[JoinToken::kIdLength] != '.') {
    return invalid();
  }
  const std::string_view id = text.substr(0, JoinToken::kIdLength);
  const std::string_view secret = text.substr(JoinToken::kIdLength + 1);
  if (!std::all_of(id.begin(), id.end(), IsTokenChar) || !std::all_of(secret.begin(), secret.end(), IsTokenChar)) {
    return invalid();
  }
  return JoinToken{std::string(id), std::string(secret)};
}

}  // namespace mesh
