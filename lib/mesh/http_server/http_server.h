// HttpServer: an HTTP/1.1 server (civetweb, a worker thread per connection) that turns each
// request into an HttpRequest, calls one handler, and writes its HttpResponse. Requests over the
// limits in Options are refused before the handler runs, each with a JSON error: a body over
// max_body_bytes 413 (a chunked body is cut off there, not read to its end), a request target
// over max_url_bytes 414, more than 63 headers or a head over max_header_bytes 431. A path
// with an encoded '/', an encoded dot segment or a control character gets 400. The connection
// is closed after each of these. What civetweb refuses itself (a malformed head, or one larger
// than twice max_header_bytes, which it cannot tell apart) also gets a JSON error and a close.
// A handler that throws gets 500: no exception crosses into civetweb; a response header with a
// CR, LF or NUL is never written (500 instead). A body reaches the handler as it was sent,
// compressed or not, as with AsioHttpServer. The handler must be thread-safe. Stop() (or
// the destructor) stops accepting and waits for in-flight requests.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "mesh/base/status.h"
#include "mesh/http/http_router.h"

namespace mesh {

class HttpServer {
 public:
  struct Options {
    std::string listen = "127.0.0.1:9000";  // host:port; port 0 picks a free one
    int threads = 16;
    size_t max_body_bytes = 8 << 20;
    size_t max_header_bytes = 64 << 10;  // request line and headers, as HTTP/1.1 sends them
    size_t max_url_bytes = 8 << 10;      // the request target: path and query
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
