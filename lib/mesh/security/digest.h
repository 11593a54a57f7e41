// SHA-256 as lowercase hex: how meshd stores a scoped token's secret, and the CA's public-key
// hash a sidecar pins (x509.h's PublicKeyHash). Thread-safe (pure).
#pragma once

#include <string>
#include <string_view>

namespace mesh {

std::string Sha256Hex(std::string_view data);

}  // namespace mesh
