// meshd's offline commands on its store and CA: `meshd token create|list|revoke` (scoped
// bootstrap tokens, security/join_token.h, kept hashed by store/join_token_store.h) and
// `meshd ca-hash`. They open the store file directly, so they work beside a running meshd
// (SQLite's WAL lets both write); a running meshd sees a revocation within a second.
// Exit codes: 0 ok, 1 runtime failure, 2 usage error.
#pragma once

#include <cstdint>
#include <string>

#include "mesh/base/command_io.h"

namespace mesh {

struct TokenCreateOptions {
  std::string db_path;
  std::string ca_dir;    // for the CA hash in the hint; no CA there: no hash
  std::string service;
  std::string ttl = "24h";  // "0": never expires
  int64_t uses = 0;         // 0: unlimited
  std::string output;       // "" (the token alone on stdout) or "json"
};

// Prints the token alone on stdout (or, -o json, {id, token, service, expires, uses, ca_hash})
// and a hint on stderr (id, service, expiry, the CA hash, meshproxy's flags).
int RunTokenCreate(const TokenCreateOptions& options, const CommandIo& io);
// Every token, newest first: id, service, created, expires, uses left, last used, revoked;
// never a secret (meshd does not have them). `output`: "" (a table) or "json".
int RunTokenList(const std::string& db_path, const std::string& output, const CommandIo& io);
// Revokes the token `id`: refused from the next request on. An unknown id is an error (1).
int RunTokenRevoke(const std::string& db_path, const std::string& id, const CommandIo& io);
// Prints "sha256:<hex>" of the CA certificate's public key (meshproxy --meshd-ca-hash).
int RunCaHash(const std::string& ca_dir, const CommandIo& io);

}  // namespace mesh
