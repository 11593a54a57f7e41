#include "mesh/proxy/meshd_trust.h"

#include "mesh/base/json_text.h"
#include "mesh/security/x509.h"

namespace mesh {

Result<std::string> FetchPinnedMeshdCa(HttpClient& client, const std::string& meshd_url, const std::string& pin) {
  const std::string url = meshd_url + "/v1/ca";
  Result<HttpClientResponse> r = client.Send("GET", url, "", {});
  if (!r.ok()) return Status::IOError("cannot fetch meshd's CA: " + r.status().message());
  if (r->status != 200) return Status::IOError(url + " answered " + std::to_string(r->status) + ", not the CA");
  Result<Json::Value> answer = ParseJson(r->body);
  if (!answer.ok() || !answer->isObject() || !(*answer)["ca_pem"].isString()) {
    return Status::IOError(url + " did not answer {\"ca_pem\": ...}");
  }
  const std::string bundle = (*answer)["ca_pem"].asString();
  constexpr std::string_view kEnd = "-----END CERTIFICATE-----";
  const size_t end = bundle.find(kEnd);
  if (end == std::string::npos) return Status::IOError(url + " answered no PEM certificate");
  const std::string first = bundle.substr(0, end + kEnd.size()) + "\n";
  Result<CertificateInfo> info = InspectCertificate(first);
  if (!info.ok() || !info->is_ca) return Status::IOError(url + " answered a certificate that is not a CA");
  Result<std::string> hash = PublicKeyHash(first);
  if (!hash.ok()) return hash.status();
  if (*hash != pin) {
    return Status::InvalidArgument("meshd's CA does not match --meshd-ca-hash: " + url + " has " + *hash +
                                   ", expected " + pin + " (not meshd, or another meshd's CA)");
  }
  return first;
}

}  // namespace mesh
