// ClientTls: what an HTTPS client trusts and presents, shared by every client of one process
// that talks to the same server (meshproxy's registry, telemetry, policy and certificate
// clients talk to meshd): a renewed client certificate is Set once and each client picks it up
// on its next call. Thread-safe.
#pragma once

#include <memory>
#include <mutex>
#include <string>

namespace mesh {

struct ClientTlsOptions {
  std::string ca_pem = "";           // "": the system's CAs (SSL_CERT_FILE, SSL_CERT_DIR apply)
  std::string certificate_pem = "";  // "": no client certificate
  std::string private_key_pem = "";
  // false only to fetch a CA whose key hash is then checked against a pin (meshproxy
  // --meshd-ca-hash): the server is not authenticated by the handshake.
  bool verify_server = true;
};

class ClientTls {
 public:
  explicit ClientTls(ClientTlsOptions options = {}) : current_(std::make_shared<const ClientTlsOptions>(std::move(options))) {}
  void Set(ClientTlsOptions options) {
    auto next = std::make_shared<const ClientTlsOptions>(std::move(options));
    std::lock_guard lock(mu_);
    current_ = std::move(next);
  }
  // A new pointer after each Set: clients compare it with the one they built their context from.
  std::shared_ptr<const ClientTlsOptions> Get() const {
    std::lock_guard lock(mu_);
    return current_;
  }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const ClientTlsOptions> current_;
};

}  // namespace mesh
