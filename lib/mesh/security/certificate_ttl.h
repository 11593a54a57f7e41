// The lifetimes meshd issues workload certificates for, whoever asks: the certificate API
// (a request's "ttl"), meshd's --cert-ttl default and meshproxy's --cert-ttl / cert_ttl. Short
// lifetimes are for tests and drills (renewal at two thirds still leaves seconds); past 30 days
// a stolen key stays useful too long. Pure, thread-safe.
#pragma once

#include <cstdint>
#include <string_view>

#include "mesh/base/status.h"

namespace mesh {

constexpr int64_t kMinCertTtlNs = 10LL * 1'000'000'000;
constexpr int64_t kMaxCertTtlNs = 30LL * 24 * 3600 * 1'000'000'000;

// A lifetime such as "24h", within [10s, 30d]. Errors: InvalidArgument saying the range.
Result<int64_t> ParseCertTtl(std::string_view text);

}  // namespace mesh
