// What a proxy needs for mTLS: its certificate (PEM, leaf first), its private key, the mesh CA
// it trusts, and the trust domain whose SPIFFE IDs it accepts. Plain data; the workload
// identity (workload_identity.h) fetches and renews it, the data plane (http_proxy.h) uses it.
#pragma once

#include <string>

namespace mesh {

struct TlsCredentials {
  std::string certificate_pem;
  std::string private_key_pem;
  std::string ca_pem;
  std::string trust_domain;
};

}  // namespace mesh
