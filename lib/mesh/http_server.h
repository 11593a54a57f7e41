// HttpServer: an HTTP/1.1 server (civetweb, a worker thread per connection) that turns each
// request into an HttpRequest, calls one handler, and writes its HttpResponse. Bodies over
// max_body_bytes get 413 before the handler runs; chunked request bodies are accepted. A
// handler that throws gets 500: no exception crosses into civetweb. The handler must be
// thread-safe. Stop() (or the destructor) stops accepting and waits for in-flight requests.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "mesh/http_router.h"
#include "mesh/status.h"

namespace mesh {

class HttpServer {
 public:
  struct Options {
    std::string listen = "127.0.0.1:9000";  // host:port; port 0 picks a free one
    int threads = 16;
    size_t max_body_bytes = 8 << 20;
    int request_timeout_ms = 30000;
  };

  // Errors: InvalidArgument (bad listen address), IOError (port in use, ...).
  static Result<std::unique_ptr<HttpServer>> Start(const Options& options, HttpHandler handler);
  ~HttpServer();

  int port() const { return port_; }
  void Stop();

  struct Impl;

 private:
  HttpServer() = default;
  std::unique_ptr<Impl> impl_;
  int port_ = 0;
};

}  // namespace mesh
