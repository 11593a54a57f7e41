// VerifiedPeerSpiffeId: the workload identity a TLS peer proved, for the servers that take client
// certificates (AsioHttpServer, AsioHttp2Server).
#pragma once

#include <openssl/ssl.h>

#include <string>

namespace mesh {

// The first spiffe:// URI SAN of the peer's certificate, once OpenSSL verified it; else "".
std::string VerifiedPeerSpiffeId(SSL* ssl);

}  // namespace mesh
