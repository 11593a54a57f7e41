#include "mesh/security/spiffe_id.h"

namespace mesh {
namespace {

constexpr std::string_view kScheme = "spiffe://";
constexpr std::string_view kServicePath = "/service/";

bool IsDigitOrLower(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

}  // namespace

Status ValidateTrustDomain(std::string_view trust_domain) {
  if (trust_domain.empty() || trust_domain.size() > 255) {
    return Status::InvalidArgument("trust domain must be 1 to 255 characters");
  }
  for (char c : trust_domain) {
    if (!IsDigitOrLower(c) && c != '.' && c != '-' && c != '_') {
      return Status::InvalidArgument("trust domain '" + std::string(trust_domain) +
                                     "' may only hold a-z, 0-9, '.', '-' and '_'");
    }
  }
  return Status::Ok();
}

Status ValidateServiceName(std::string_view service) {
  if (service.empty() || service.size() > 128) {
    return Status::InvalidArgument("service name must be 1 to 128 characters");
  }
  for (char c : service) {
    if (!IsDigitOrLower(c) && !(c >= 'A' && c <= 'Z') && c != '.' && c != '-' && c != '_') {
      return Status::InvalidArgument("service name '" + std::string(service) +
                                     "' may only hold letters, digits, '.', '-' and '_'");
    }
  }
  return Status::Ok();
}

std::string FormatSpiffeId(const ServiceIdentity& identity) {
  return std::string(kScheme) + identity.trust_domain + std::string(kServicePath) + identity.service;
}

Result<ServiceIdentity> ParseSpiffeId(std::string_view uri) {
  const std::string quoted = "'" + std::string(uri.substr(0, 300)) + "'";
  if (uri.substr(0, kScheme.size()) != kScheme) {
    return Status::InvalidArgument(quoted + " is not a spiffe:// URI");
  }
  const std::string_view rest = uri.substr(kScheme.size());
  const size_t slash = rest.find('/');
  if (slash == std::string_view::npos || rest.substr(slash, kServicePath.size()) != kServicePath) {
    return Status::InvalidArgument(quoted + " does not name a service (spiffe://<domain>/service/<name>)");
  }
  ServiceIdentity id{std::string(rest.substr(0, slash)), std::string(rest.substr(slash + kServicePath.size()))};
  if (Status s = ValidateTrustDomain(id.trust_domain); !s.ok()) return s.WithContext(quoted);
  if (Status s = ValidateServiceName(id.service); !s.ok()) return s.WithContext(quoted);
  return id;
}

}  // namespace mesh
