// A real HTTP server on a loopback port serving meshd's identity and policy endpoints
// (SecurityApi) over a real CertificateAuthority and real scoped tokens (tokens()), for the
// suites of their clients.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "mesh/controlplane/security_api.h"
#include "mesh/http/http_router.h"
#include "mesh/http_server/http_server.h"
#include "mesh/security/certificate_authority.h"
#include "scoped_tokens.h"

namespace mesh::testing {

class IdentityServer {
 public:
  IdentityServer(const Clock& clock, SecurityApi::Options options) : tokens_(clock) {
    Result<CertificateAuthority> ca = CertificateAuthority::Create("mesh.test", clock.NowNs());
    EXPECT_TRUE(ca.ok());
    ca_pem_ = ca->certificate_pem();
    Result<std::unique_ptr<SecurityApi>> api = SecurityApi::Create(std::move(ca).value(), std::move(options), clock, tokens_.access());
    EXPECT_TRUE(api.ok()) << api.status().message();
    api_ = std::move(api).value();
    api_->AddRoutes(router_);
    Result<std::unique_ptr<HttpServer>> server =
        HttpServer::Start({.listen = "127.0.0.1:0", .threads = 4}, [this](const HttpRequest& r) { return router_.Handle(r); });
    EXPECT_TRUE(server.ok());
    server_ = std::move(server).value();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(server_->port()); }
  const std::string& ca_pem() const { return ca_pem_; }
  void Stop() { server_->Stop(); }
  ScopedTokens& tokens() { return tokens_; }

 private:
  ScopedTokens tokens_;
  std::string ca_pem_;
  std::unique_ptr<SecurityApi> api_;
  HttpRouter router_;
  std::unique_ptr<HttpServer> server_;
};

}  // namespace mesh::testing
