// AsioHttp2Server: an HTTP/2 server on Boost.Asio, one Http2ServerSession per connection: h2c
// with prior knowledge (the client starts with the HTTP/2 preface; no HTTP/1.1 Upgrade), or, with
// Options::tls, TLS whose ALPN must pick "h2". Each request, once its body arrived (bounded by
// max_body_bytes; a larger one reaches the handler with `body_too_large` set and no body), runs the
// handler on one of Options::threads handler threads, so a handler that blocks (on SQLite) stalls
// no connection; its Http2Response is written back on the connection's stream, trailers included.
// Streams are multiplexed, up to max_concurrent_streams per connection. A gRPC call's grpc-timeout
// is kept (Http2ServerSession): a timer answers it DEADLINE_EXCEEDED when it passes, and a call
// whose deadline passed while it waited for a handler thread is never handed to the handler.
//
// Bounds: at most max_connections connections (more wait in the listen backlog); a connection
// idle for idle_timeout_ms (no byte read, no request being handled) is closed, as is one whose
// TLS handshake takes longer; a protocol error closes the connection after its GOAWAY.
// Over TLS, a client certificate is asked for and optional; one presented must chain to
// tls->client_ca_pem, and its first spiffe:// URI SAN is the requests' peer_spiffe_id.
//
// Threads: one I/O thread owns every connection and session; handlers run on the handler threads
// and must be thread-safe. Stop() (or the destructor) stops accepting, waits for running handlers,
// closes every connection and joins the threads; call it from one thread, not from a handler.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "mesh/base/status.h"
#include "mesh/http/http_message.h"
#include "mesh/http2/http2_server_session.h"

namespace mesh {

class AsioHttp2Server {
 public:
  struct Options {
    std::string listen = "127.0.0.1:0";  // numeric host:port ([v6]:port); port 0 picks one
    int threads = 4;                      // handler threads
    size_t max_connections = 256;
    size_t max_body_bytes = 8 << 20;      // per request
    uint32_t max_concurrent_streams = 100;
    int idle_timeout_ms = 60000;
    struct Tls {
      std::string certificate_pem;  // leaf first
      std::string private_key_pem;
      std::string client_ca_pem;    // what a client certificate must chain to
    };
    std::optional<Tls> tls = std::nullopt;  // none: h2c
  };
  // Must not throw (a throw answers 500 with no body); runs on a handler thread.
  using Handler = std::function<Http2Response(const HttpRequest& request, bool body_too_large)>;

  // Errors: InvalidArgument (a listen address that is not numeric host:port, TLS material that
  // does not load), IOError (port in use, ...).
  static Result<std::unique_ptr<AsioHttp2Server>> Start(const Options& options, Handler handler);
  ~AsioHttp2Server();
  AsioHttp2Server(const AsioHttp2Server&) = delete;
  AsioHttp2Server& operator=(const AsioHttp2Server&) = delete;

  int port() const { return port_; }
  void Stop();

  // Saturation, for /metrics: the connections open now, the handler threads, and how long they
  // have been inside handlers in total (BusyTime). Any thread.
  struct Usage {
    size_t connections = 0;
    int handler_threads = 0;
    int64_t handler_busy_ns = 0;
  };
  Usage usage() const;

  struct Impl;

 private:
  AsioHttp2Server() = default;
  std::unique_ptr<Impl> impl_;
  int port_ = 0;
};

}  // namespace mesh
