// SPIFFE IDs of mesh services: spiffe://<trust-domain>/service/<name>. The URI SAN of every
// certificate meshd's CA issues, and how a proxy knows who is calling.
#pragma once

#include <string>
#include <string_view>

#include "mesh/base/status.h"

namespace mesh {

struct ServiceIdentity {
  std::string trust_domain;
  std::string service;
  bool operator==(const ServiceIdentity&) const = default;
};

// A trust domain is lower-case letters, digits, '.', '-' and '_' (the SPIFFE spec's set),
// 1 to 255 characters. Errors: InvalidArgument saying what is wrong.
Status ValidateTrustDomain(std::string_view trust_domain);
// A service name as the registry knows it: letters, digits, '.', '-' and '_', 1 to 128.
Status ValidateServiceName(std::string_view service);

std::string FormatSpiffeId(const ServiceIdentity& identity);
// Errors: InvalidArgument for anything but spiffe://<trust-domain>/service/<name>.
Result<ServiceIdentity> ParseSpiffeId(std::string_view uri);

}  // namespace mesh
