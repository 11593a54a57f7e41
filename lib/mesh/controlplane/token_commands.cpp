#include "mesh/controlplane/token_commands.h"

#include <filesystem>

#include "mesh/base/json_text.h"
#include "mesh/base/text_table.h"
#include "mesh/base/time_format.h"
#include "mesh/security/digest.h"
#include "mesh/security/join_token.h"
#include "mesh/security/spiffe_id.h"
#include "mesh/security/x509.h"
#include "mesh/store/join_token_store.h"

namespace mesh {
namespace {

constexpr const char* kTool = "meshd";
constexpr int64_t kSecondNs = 1'000'000'000;
constexpr int64_t kMaxTtlNs = 365LL * 24 * 3600 * kSecondNs;
constexpr int64_t kMaxUses = 1'000'000;

Result<std::unique_ptr<Store>> OpenExisting(const std::string& path) {
  Result<std::unique_ptr<Store>> store = Store::Open({.path = path, .create_if_missing = false});
  if (!store.ok() && store.status().code() == Status::Code::kNotFound) {
    return Status::IOError("no store at " + path + " (give meshd's --db, or create a token first)");
  }
  return store;
}

std::string TimeOrNever(int64_t ns, const char* zero) { return ns == 0 ? zero : FormatRfc3339(ns); }

// The CA hash when meshd's CA exists, else "".
std::string CaHashIfAny(const std::string& ca_dir) {
  Result<std::string> pem = ReadWholeFile(ca_dir + "/ca.crt");
  if (!pem.ok()) return "";
  Result<std::string> hash = PublicKeyHash(*pem);
  return hash.ok() ? *hash : "";
}

}  // namespace

int RunTokenCreate(const TokenCreateOptions& o, const CommandIo& io) {
  if (Status s = ValidateServiceName(o.service); !s.ok()) {
    return FailCommand(kTool, io, Status::InvalidArgument("--service: " + s.message()));
  }
  Result<int64_t> ttl = o.ttl == "0" ? Result<int64_t>(int64_t{0}) : ParseDuration(o.ttl);
  if (!ttl.ok()) return FailCommand(kTool, io, Status::InvalidArgument("--ttl: " + ttl.status().message()));
  if (*ttl != 0 && (*ttl < kSecondNs || *ttl > kMaxTtlNs)) {
    return FailCommand(kTool, io, Status::InvalidArgument("--ttl must be 0 (never expires) or in 1s..365d (got " + o.ttl + ")"));
  }
  if (o.uses < 0 || o.uses > kMaxUses) {
    return FailCommand(kTool, io, Status::InvalidArgument("--uses must be in 1..1000000"));
  }
  if (!o.output.empty() && o.output != "json") {
    return FailCommand(kTool, io, Status::InvalidArgument("-o must be json (or absent for the token alone)"));
  }
  Result<std::unique_ptr<Store>> store = Store::Open({.path = o.db_path});
  if (!store.ok()) return FailCommand(kTool, io, store.status());
  const int64_t now = io.clock->NowNs();
  JoinTokenRecord record;
  Result<JoinToken> token = Status::IOError("no token");
  // Ids are random: a taken one (one in two billion per existing token) is drawn again.
  for (int attempt = 0; attempt < 5; ++attempt) {
    token = GenerateJoinToken();
    if (!token.ok()) return FailCommand(kTool, io, token.status());
    record = {.id = token->id, .service = o.service, .secret_sha256 = Sha256Hex(token->secret), .created_ns = now,
              .expires_ns = *ttl == 0 ? 0 : now + *ttl,
              .uses_left = o.uses == 0 ? JoinTokenRecord::kUnlimitedUses : o.uses};
    Status added = JoinTokenStore(**store).Add(record);
    if (added.ok()) break;
    if (added.code() != Status::Code::kInvalidArgument || attempt == 4) return FailCommand(kTool, io, added);
  }
  const std::string ca_hash = CaHashIfAny(o.ca_dir);
  const std::string expires = TimeOrNever(record.expires_ns, "never");
  std::string out;
  if (o.output == "json") {
    out = "{\"id\":";
    AppendJsonString(out, record.id);
    out += ",\"token\":";
    AppendJsonString(out, token->ToString());
    out += ",\"service\":";
    AppendJsonString(out, record.service);
    out += ",\"expires\":";
    if (record.expires_ns == 0) out += "null";
    else AppendJsonString(out, expires);
    out += ",\"uses\":" + (o.uses == 0 ? std::string("null") : std::to_string(o.uses));
    out += ",\"ca_hash\":";
    if (ca_hash.empty()) out += "null";
    else AppendJsonString(out, ca_hash);
    out += "}\n";
  } else {
    out = token->ToString() + "\n";
  }
  std::string hint = "meshd: token " + record.id + " for service " + record.service + ", expires " + expires +
                     (o.uses == 0 ? "" : ", " + std::to_string(o.uses) + " use(s)") + "\n";
  if (!ca_hash.empty()) hint += "meshd: CA hash " + ca_hash + "\n";
  hint += "meshd: give it to the sidecar (file mode 0600): meshproxy --service " + record.service +
          " --token-file FILE --meshd URL" + (ca_hash.empty() ? "" : " [--meshd-ca-hash " + ca_hash + "]") + "\n";
  std::fputs(hint.c_str(), io.err);
  if (!WriteOut(io, out)) return WriteFailure(kTool, io);
  return 0;
}

int RunTokenList(const std::string& db_path, const std::string& output, const CommandIo& io) {
  if (!output.empty() && output != "json" && output != "table") {
    return FailCommand(kTool, io, Status::InvalidArgument("-o must be table or json"));
  }
  Result<std::unique_ptr<Store>> store = OpenExisting(db_path);
  if (!store.ok()) return FailCommand(kTool, io, store.status());
  Result<std::vector<JoinTokenRecord>> tokens = JoinTokenStore(**store).List();
  if (!tokens.ok()) return FailCommand(kTool, io, tokens.status());
  std::string out;
  if (output == "json") {
    out = "{\"tokens\":[";
    for (size_t i = 0; i < tokens->size(); ++i) {
      const JoinTokenRecord& t = (*tokens)[i];
      if (i) out += ',';
      out += "{\"id\":";
      AppendJsonString(out, t.id);
      out += ",\"service\":";
      AppendJsonString(out, t.service);
      out += ",\"created\":";
      AppendJsonString(out, FormatRfc3339(t.created_ns));
      const auto optional_time = [&](const char* key, int64_t ns) {
        out += std::string(",\"") + key + "\":";
        if (ns == 0) out += "null";
        else AppendJsonString(out, FormatRfc3339(ns));
      };
      optional_time("expires", t.expires_ns);
      out += ",\"uses_left\":" + (t.uses_left < 0 ? std::string("null") : std::to_string(t.uses_left));
      optional_time("last_used", t.last_used_ns);
      optional_time("revoked", t.revoked_ns);
      out += '}';
    }
    out += "]}\n";
  } else {
    std::vector<std::vector<std::string>> rows = {{"ID", "SERVICE", "CREATED", "EXPIRES", "USES LEFT", "LAST USED", "REVOKED"}};
    for (const JoinTokenRecord& t : *tokens) {
      rows.push_back({TableCell(t.id), TableCell(t.service), FormatRfc3339(t.created_ns), TimeOrNever(t.expires_ns, "never"),
                      t.uses_left < 0 ? "unlimited" : std::to_string(t.uses_left), TimeOrNever(t.last_used_ns, "-"),
                      TimeOrNever(t.revoked_ns, "-")});
    }
    out = TextTable(rows);
  }
  if (!WriteOut(io, out)) return WriteFailure(kTool, io);
  return 0;
}

int RunTokenRevoke(const std::string& db_path, const std::string& id, const CommandIo& io) {
  Result<std::unique_ptr<Store>> store = OpenExisting(db_path);
  if (!store.ok()) return FailCommand(kTool, io, store.status());
  if (Status s = JoinTokenStore(**store).Revoke(id, io.clock->NowNs()); !s.ok()) {
    // An unknown id is a runtime failure (1), not a usage error.
    return FailCommand(kTool, io, s.code() == Status::Code::kNotFound ? Status::IOError(s.message()) : s);
  }
  std::fprintf(io.err, "meshd: token %s revoked\n", id.c_str());
  return 0;
}

int RunCaHash(const std::string& ca_dir, const CommandIo& io) {
  Result<std::string> pem = ReadWholeFile(ca_dir + "/ca.crt");
  if (!pem.ok()) {
    return FailCommand(kTool, io, Status::IOError(pem.status().message() + " (meshd creates its CA on first start)"));
  }
  Result<std::string> hash = PublicKeyHash(*pem);
  if (!hash.ok()) return FailCommand(kTool, io, Status::IOError(hash.status().WithContext(ca_dir + "/ca.crt").message()));
  if (!WriteOut(io, *hash + "\n")) return WriteFailure(kTool, io);
  return 0;
}

}  // namespace mesh
