#include "mesh/http/verified_peer.h"

#include <openssl/x509v3.h>

#include <string_view>

namespace mesh {

std::string VerifiedPeerSpiffeId(SSL* ssl) {
  X509* cert = SSL_get0_peer_certificate(ssl);
  if (cert == nullptr || SSL_get_verify_result(ssl) != X509_V_OK) return "";
  auto* names = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  std::string found;
  for (int i = 0; names != nullptr && i < sk_GENERAL_NAME_num(names) && found.empty(); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    if (name->type != GEN_URI) continue;
    const std::string_view uri(reinterpret_cast<const char*>(ASN1_STRING_get0_data(name->d.uniformResourceIdentifier)),
                               static_cast<size_t>(ASN1_STRING_length(name->d.uniformResourceIdentifier)));
    if (uri.starts_with("spiffe://")) found = uri;
  }
  GENERAL_NAMES_free(names);
  return found;
}

}  // namespace mesh
