// AsioHttpServer: an HTTP/1.1 server on Boost.Asio/Beast that turns each request into an
// HttpRequest, calls one handler, and writes its HttpResponse; the server of meshd's API (a
// connection per sidecar, thousands of them) and of meshproxy's admin port. It keeps HttpServer's
// contract (http_server/), so either can serve the same handler: requests over the limits in
// Options are refused before the handler runs, each with a JSON error and a closed connection: a
// body over max_body_bytes 413 (a chunked body is cut off there, not read to its end), a request
// target over max_url_bytes 414, more than 63 headers or a head over max_header_bytes 431; a
// malformed head, an absolute-form target, or a path with an encoded '/', an encoded dot segment or
// a control character 400; an HTTP version other than 1.0 or 1.1 505. Literal dot segments are
// resolved before the handler sees the path. A request body reaches the handler as it was sent,
// compressed or not (HttpRouter inflates it once the route and its guard accepted the request);
// responses are written as the handler built them (no compression). A handler that throws gets 500,
// as does one that builds a header with a CR, LF or NUL. Connections are kept alive between
// requests.
//
// Deferred answers (a long-poll): a handler may return an HttpResponse with `deferred` set
// (DeferredResponse) instead of an answer. The connection is then held, with no handler thread
// and no timeout, until deferred->Complete() gives the answer, which is written as usual; a client
// that leaves meanwhile abandons it (the socket is read while parked), and so does Stop(). The
// party that parks requests bounds how many it parks.
//
// Threads: Options::io_threads read and write every connection and never run a handler, so a
// handler that blocks (on a database, say) stalls no other connection's reading or writing.
// Handlers run on Options::threads threads of their own, at most that many at once, and must be
// thread-safe; a request that Options::answers_inline picks is answered on the I/O thread
// itself, so that a cheap route (a health check) is answered even while every handler thread
// is busy; such a handler must never block.
//
// TLS (Options::tls): every connection is HTTPS with the given certificate. A client
// certificate is asked for but optional; one that is presented must chain to tls->client_ca_pem
// or the handshake fails, and its first spiffe:// URI SAN is the request's peer_spiffe_id. The
// handshake must end within header_timeout_ms of the accept; the first request's deadlines then
// count from the end of the handshake. The handshake runs on the I/O thread, so answers_inline
// routes (a health check) stay answered over TLS while every handler thread is busy.
//
// Slow and idle clients hold no thread, only one of max_connections slots. A request's head
// must arrive whole within header_timeout_ms of its first byte (of the accept, on a new
// connection), however the bytes trickle in, and the whole request within request_timeout_ms of
// the same instant; a kept connection may wait keep_alive_timeout_ms for the first byte of its
// next request. Past any of these the connection is closed without an answer. Once every slot
// is taken, new connections wait in the listen backlog. Stop() (or the destructor) stops
// accepting, lets a handler already running return, closes every connection, idle or not, and
// joins the threads. port() may be called from any thread; Stop() from one thread at a time,
// not from a handler.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "mesh/base/status.h"
#include "mesh/http/http_router.h"

namespace mesh {

class AsioHttpServer {
 public:
  struct Options {
    std::string listen = "127.0.0.1:9000";  // numeric host:port ([v6]:port); port 0 picks one
    int threads = 4;     // handler threads: at most this many handlers run at once
    int io_threads = 1;  // threads reading and writing connections
    size_t max_connections = 64;
    size_t max_body_bytes = 8 << 20;
    size_t max_header_bytes = 64 << 10;  // request line and headers, as the client sent them
    size_t max_url_bytes = 8 << 10;      // the request target: path and query
    int header_timeout_ms = 5000;        // a request's head, from its first byte (or the accept)
    int request_timeout_ms = 30000;      // a whole request, head and body, from the same instant;
                                         // and writing its answer
    int keep_alive_timeout_ms = 5000;    // a kept connection idle, waiting for a next request
    struct Tls {
      std::string certificate_pem;  // leaf first
      std::string private_key_pem;
      std::string client_ca_pem;    // what a client certificate must chain to
    };
    std::optional<Tls> tls = std::nullopt;  // none: plain HTTP
    // Requests whose handler never blocks, answered on the I/O thread (none if empty).
    std::function<bool(const HttpRequest&)> answers_inline = nullptr;
  };

  // Errors: InvalidArgument (a listen address that is not host:port with a numeric host, a bad
  // option, TLS material that does not load or a key that is not the certificate's), IOError (port in use, ...).
  static Result<std::unique_ptr<AsioHttpServer>> Start(const Options& options, HttpHandler handler);
  ~AsioHttpServer();
  AsioHttpServer(const AsioHttpServer&) = delete;
  AsioHttpServer& operator=(const AsioHttpServer&) = delete;

  // The port bound, the one picked when Options::listen asked for port 0.
  int port() const { return port_; }
  void Stop();

  // Saturation, for /metrics: the connections open now, the handler threads, and how long they
  // have been inside handlers in total (BusyTime: rate(busy) / threads is their utilisation;
  // answers_inline requests run on the I/O thread and are not counted). Any thread.
  struct Usage {
    size_t connections = 0;
    int handler_threads = 0;
    int64_t handler_busy_ns = 0;
  };
  Usage usage() const;

  struct Impl;

 private:
  AsioHttpServer() = default;
  std::unique_ptr<Impl> impl_;
  int port_ = 0;
};

}  // namespace mesh
