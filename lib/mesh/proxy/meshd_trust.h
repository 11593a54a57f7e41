// How a meshproxy comes to trust meshd over https:// from one hash (kubeadm's
// --discovery-token-ca-cert-hash): meshd's CA is fetched from GET /v1/ca over a connection
// that authenticates nothing, then kept only if the SHA-256 of its public key (x509.h's
// PublicKeyHash, what `meshd ca-hash` prints) is the pin. Only the first certificate of the
// answer is kept: a certificate appended by a man in the middle is not trusted with it.
#pragma once

#include <string>

#include "mesh/base/status.h"
#include "mesh/http/http_client.h"

namespace mesh {

// `client` must be one whose https:// calls do not verify the server (ClientTlsOptions with
// verify_server false): the hash is what authenticates the answer. Returns the CA certificate
// (PEM). Errors: IOError when meshd cannot be reached or answers other than 200 with a CA;
// InvalidArgument when the CA's hash is not `pin` (the message names both).
Result<std::string> FetchPinnedMeshdCa(HttpClient& client, const std::string& meshd_url, const std::string& pin);

}  // namespace mesh
