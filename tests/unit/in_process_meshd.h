// InProcessMeshd: meshd's real control plane (store, routes) served as meshd serves it
// (AsioHttpServer, /healthz answered inline, meshd's idle timeout) on 127.0.0.1 and a free port
// inside the test process, for suites of meshd's clients. Stop() takes it down (to test
// outages); Restart() serves the same store on the same port again, which is held meanwhile
// (bound, not listening: clients are refused) so that no other test process can take it. Options other than the
// store path (bearer tokens) are meshd's as given, except the retention: suites store data with
// fixed dates, so unless a test sets one, nothing may age out (as in the integration fixture).
// meshd reads time from `clock` (fake time for fixtures at fixed dates; it must outlive this).
// Not thread-safe: one test thread drives it.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "../integration/free_port.h"
#include "mesh/base/clock.h"
#include "mesh/controlplane/control_plane.h"
#include "mesh/http/asio_http_server.h"
#include "mesh/http/http_client.h"
#include "mesh/http/http_router.h"
#include "mesh/http_curl/curl_http_client.h"

namespace mesh::testing {

class InProcessMeshd {
 public:
  static constexpr int64_t kLongRetentionNs = 36500LL * 86400 * 1'000'000'000;

  explicit InProcessMeshd(std::string db_path, ControlPlane::Options options = {},
                          const Clock& clock = SystemClock::Instance())
      : options_(std::move(options)), clock_(clock) {
    options_.db_path = std::move(db_path);
    if (options_.retention_ns == ControlPlane::Options{}.retention_ns) options_.retention_ns = kLongRetentionNs;
    Serve("127.0.0.1:0");
  }
  ~InProcessMeshd() { TakeDown(); }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int port() const { return port_; }

  void Stop() {
    TakeDown();
    hold_ = std::make_unique<test_support::PortHold>(port_);
    EXPECT_TRUE(hold_->held()) << "port " << port_ << " was taken as meshd stopped";
  }
  void Restart() {
    Serve("127.0.0.1:" + std::to_string(port_));
    hold_.reset();
  }

  HttpClientResponse Request(const std::string& method, const std::string& path,
                             const std::string& body = "",
                             std::vector<std::pair<std::string, std::string>> headers = {}) const {
    CurlHttpClient client;
    if (std::none_of(headers.begin(), headers.end(), [](const auto& h) { return h.first == "Content-Type"; })) {
      headers.emplace_back("Content-Type", "application/json");
    }
    Result<HttpClientResponse> r = client.Send(method, url() + path, body, headers);
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? *r : HttpClientResponse{};
  }

  // The routes meshd serves, as its router holds them.
  std::vector<HttpRoute> Routes() const { return router_->Routes(); }

 private:
  void TakeDown() {
    server_.reset();
    if (plane_) plane_->Stop();
    plane_.reset();
    router_.reset();
  }

  void Serve(const std::string& listen) {
    Result<std::unique_ptr<ControlPlane>> plane = ControlPlane::Open(options_, clock_);
    ASSERT_TRUE(plane.ok()) << plane.status().message();
    plane_ = std::move(plane).value();
    router_ = std::make_unique<HttpRouter>();
    plane_->AddRoutes(*router_);
    HttpRouter* router = router_.get();
    AsioHttpServer::Options server_options{
        .listen = listen, .threads = 4, .max_connections = 1024, .keep_alive_timeout_ms = 60000};
    server_options.answers_inline = &ControlPlane::AnswersWithoutTheStore;
    Result<std::unique_ptr<AsioHttpServer>> server =
        AsioHttpServer::Start(server_options, [router](const HttpRequest& r) { return router->Handle(r); });
    ASSERT_TRUE(server.ok()) << server.status().message();
    server_ = std::move(server).value();
    port_ = server_->port();
  }

  ControlPlane::Options options_;
  const Clock& clock_;
  std::unique_ptr<ControlPlane> plane_;
  std::unique_ptr<HttpRouter> router_;
  std::unique_ptr<AsioHttpServer> server_;
  std::unique_ptr<test_support::PortHold> hold_;  // while stopped
  int port_ = 0;
};

}  // namespace mesh::testing
