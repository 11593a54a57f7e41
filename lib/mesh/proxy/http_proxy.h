// HttpProxy: meshproxy's data plane, an event-driven HTTP/1.1 reverse proxy (Boost.Asio +
// Boost.Beast, C++20 coroutines). One io_context per thread, each accepting on its own
// SO_REUSEPORT socket; upstream keep-alive connections pooled per thread; no thread per
// connection and no lock on the request path. Boost stays inside the .cpp (pimpl).
//
// Per request:
// - every method, path and query forwarded; end-to-end headers kept, hop-by-hop ones (RFC 9110
//   §7.6.1: Connection and the headers it names, Keep-Alive, Proxy-Connection, TE, Trailer,
//   Transfer-Encoding, Upgrade) removed; bodies streamed both ways without being buffered whole
//   (chunked or Content-Length), so memory stays bounded whatever the size;
// - X-Request-ID added when absent; X-Forwarded-For (appended) and X-Forwarded-Proto;
// - W3C Trace Context (telemetry/traceparent.h, tracestate.h): exactly one valid traceparent is
//   continued with its sampled flag unchanged, and its tracestate passed on checked and
//   normalised (dropped when invalid); none, an invalid one or two traceparent headers start a
//   new, sampled trace and drop tracestate. The upstream gets a traceparent naming the proxy's
//   own span; the answer carries X-Service-Name, X-Proxy-Version and X-Trace-ID. The record says
//   whether the request was sampled (an unsampled one gets no span);
// - the upstream's status passes through unchanged; refused/reset → 502, no answer head within
//   the head timeout (`request_timeout`, default 10 s, `x-mesh-timeout: 250ms` overrides) → 504,
//   no healthy instance → 503, each with a JSON body {"error":..,"service":..,"request_id":..}.
//   The head timeout runs from the request's arrival to the answer's head; a request body that
//   is still streaming holds it off (it restarts once the body is sent). Bodies then stream for as
//   long as bytes keep coming: a body (either way) or a tunnel silent for `stream_idle_timeout`
//   (default 60 s, `x-mesh-idle-timeout` overrides) is cut and counted (Envoy's `timeout` and
//   `stream_idle_timeout`), so that a server-sent-event stream of hours passes;
// - Upgrade (WebSocket): an HTTP/1.1 request with `Connection: upgrade` and an Upgrade header
//   goes upstream with both (the other hop-by-hop headers still dropped); a 101 answer is
//   relayed with them, the request completes (status 101, its span), and the connection becomes
//   a byte tunnel both ways until either side closes or nothing crosses it for the idle timeout
//   (bytes counted). Any other answer is an ordinary response. The policy applies to the
//   handshake. Over TLS, one side closing closes the tunnel (no TLS half-close);
// - retries: on connect failures (nothing sent yet), and for idempotent methods on 502/503/504
//   when the request had no body, while `may_retry` allows (the retry budget), with jittered
//   exponential backoff; a body already streamed is never retried;
// - malformed requests (bad request line, headers over 16 KiB, invalid Content-Length, CR/LF or
//   NUL in header values) → 400 JSON and the connection closed; the proxy lives on.
// - mTLS (Options::tls): inbound, every connection must complete a TLS handshake with a client
//   certificate from the mesh CA, and the caller's SPIFFE identity is checked by `authorize`
//   per request (403 JSON when denied); outbound, endpoints marked `tls` are reached over TLS
//   with our certificate, and must prove the SPIFFE identity of the service called. Outbound
//   never falls back to plaintext: an endpoint not marked `tls` is refused (never connected
//   to), counted, reported to the selector as a connect failure, and another is picked (up to 8
//   in one attempt); when none is left, 502 JSON naming the instance. A pooled TLS connection
//   carries requests only for the service its peer proved (the pool and the TLS session cache
//   are keyed by endpoint and identity).
//   UpdateTls() swaps the credentials for new connections; open ones keep theirs.
// - upstream keep-alive connections idle for longer than `upstream_idle_timeout` (30 s) are
//   closed. One on which bytes arrive that no request asked for (past the end of an answer,
//   or while it is pooled) is closed at once and counted, never read as the next answer. Over
//   mTLS only bytes read past an answer count: a record on an idle connection may be a session
//   ticket, and the peer is another meshproxy.
// - circuit breaking per upstream endpoint (Options::max_upstream_*; see UpstreamLimits): beyond
//   the requests in progress, or with the pending queue full while the connections are all
//   open, the answer is 503 JSON at once ("upstream overflow: ..."), counted, and nothing is
//   sent upstream; a request queued for a connection waits at most until its deadline (then
//   503 too). A connection that finishes while requests wait for one is closed rather than
//   pooled, so that its slot goes to the first of them (on whichever thread).
// - abandonment: while the proxy waits for an upstream's answer head, it watches the client's
//   socket. End of file or a reset there (a client that gives up, or half-closes: treated as
//   giving up, as nginx does) closes the upstream connection at once, so that the upstream sees
//   the request abandoned; recorded with status 499 (nginx's "client closed request"), reported
//   to the selector as a success (not the upstream's fault) with its time so far. A request
//   whose deadline passes gets 504 and its upstream connection is closed, never pooled.
// HTTP/2: each connection is told apart by its first bytes (the HTTP/2 client preface) or, over
// mTLS, by ALPN ("h2"); HTTP/1.x connections go the way described above. An HTTP/2 connection's
// streams (Http2ServerSession) each get the per-request behaviour above (ids, forwarding headers,
// trace context, policy, head timeout with grpc-timeout honoured, JSON errors, the record) and go
// on over HTTP/2 (Http2ClientSession): h2c to the app, h2 over mTLS with ALPN to the peer
// sidecar, one pooled connection per endpoint and worker multiplexing every stream. Trailers are
// carried, resets go both ways, a GOAWAY retires the upstream connection. Bodies are relayed
// whole per stream (bounded, 8 MiB): not yet streamed, so gRPC streaming calls are unsupported.
// A gRPC call's record carries its grpc-status.
// When a request ends, `on_complete` is handed its record (moved: no copy on the request path)
// on the I/O thread: it must only enqueue.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "mesh/base/status.h"
#include "mesh/proxy/upstream.h"
#include "mesh/security/authorization_policy.h"
#include "mesh/security/tls_credentials.h"

namespace mesh {

struct ProxiedRequest {
  std::string method;
  std::string target;     // path and query as received
  std::string authority;  // Host header (outbound: the service called)
  int status = 0;         // sent to the client (502/503/504 for proxy errors)
  std::string error;      // why the proxy answered itself, else empty
  int64_t start_ns = 0;   // wall clock
  int64_t duration_ns = 0;
  int attempts = 0;
  Endpoint upstream;      // the last endpoint tried
  std::string request_id;
  std::string trace_id;
  std::string span_id;         // the proxy's span
  std::string parent_span_id;  // the caller's span, when a traceparent came in
  std::string client_address;
  uint64_t request_bytes = 0;
  uint64_t response_bytes = 0;
  std::string client_service;  // inbound mTLS: the caller's service, from its certificate
  bool denied = false;         // refused by the authorization policy (403)
  bool ambiguous_path = false;  // denied: the path was ambiguous (see security/policy_path.h)
  bool sampled = true;         // the trace's sampled flag as passed on: false gets no span
  // A gRPC call (HTTP/2, content-type application/grpc...): its outcome, the upstream's
  // grpc-status (from its trailers, or a trailers-only answer); -1 when not gRPC or none came.
  int grpc_status = -1;
};

class HttpProxy {
 public:
  enum class Direction { kInbound, kOutbound };

  struct Options {
    std::string listen_host = "127.0.0.1";
    int listen_port = 15001;  // 0: any free port (see port())
    int threads = 0;          // 0: one per core
    Direction direction = Direction::kInbound;
    std::string service;      // our own service: X-Service-Name, JSON errors
    std::shared_ptr<UpstreamSelector> upstreams;
    // The head timeout: until the answer's head (x-mesh-timeout overrides per request).
    std::chrono::milliseconds request_timeout{10000};
    // The longest silence within a body being relayed, either way, or a tunnel
    // (x-mesh-idle-timeout overrides per request).
    std::chrono::milliseconds stream_idle_timeout{60000};
    std::chrono::milliseconds connect_timeout{2000};
    int max_attempts = 3;                 // first try included
    // Pooled upstream connections idle this long are closed.
    std::chrono::milliseconds upstream_idle_timeout{30000};
    std::function<bool()> may_retry;      // the retry budget; unset: never retry
    std::function<void(ProxiedRequest&&)> on_complete;
    // Client connections open at once on this listener. Beyond it a new connection is accepted
    // and closed at once, counted and logged (rate-limited), so that descriptors stay for the
    // upstream connections of the clients being served. 0: no limit.
    int64_t max_client_connections = 0;
    // Circuit-breaker thresholds per upstream endpoint "host:port", shared by the threads; 0: no
    // limit. Requests in progress (waiting for a connection included), connections open (busy
    // or pooled), and requests waiting for a connection.
    int64_t max_upstream_requests = 0;
    int64_t max_upstream_connections = 0;
    int64_t max_upstream_pending = 0;
    // Called from the I/O threads, at most every 10 s per kind, when connections are refused or
    // cannot be accepted, or (mTLS) a plaintext endpoint is refused. Unset: counted only.
    std::function<void(const std::string& warning)> warn;
    // mTLS; unset: plaintext both ways.
    std::optional<TlsCredentials> tls;
    // Inbound with tls: whether the identified caller may make this request (when not, the
    // reason goes to the caller in the 403). Called on the I/O threads: fast, no blocking.
    // Unset: every caller may.
    std::function<PolicyDecision(std::string_view caller, std::string_view method, std::string_view target)>
        authorize;
  };

  // Binds (errors: IOError naming the address; InvalidArgument for unusable TLS credentials)
  // and starts the threads.
  static Result<std::unique_ptr<HttpProxy>> Start(Options options);
  ~HttpProxy();  // Stop(0)

  int port() const;
  // Stops accepting, lets in-flight requests finish for up to `drain`, then closes everything.
  void Stop(std::chrono::milliseconds drain);
  int64_t in_flight() const;
  // New connections use these credentials from now on. Errors: InvalidArgument when OpenSSL
  // refuses them (the old ones stay). Only for a proxy started with tls.
  Status UpdateTls(const TlsCredentials& credentials);
  // Inbound connections refused at the TLS handshake (no, expired or foreign certificate).
  int64_t tls_handshake_failures() const;

  // Totals since Start, for the metrics. Thread-safe.
  struct Counters {
    // Upstream connections discarded because bytes came that no request asked for (an upstream
    // writing past the end of its answer): found after an answer, or while pooled.
    int64_t upstream_stray_bytes = 0;
    int64_t client_connections = 0;          // open now
    int64_t client_connections_refused = 0;  // closed at once: over max_client_connections
    int64_t accept_failures = 0;             // accept() failed (out of descriptors, say)
    // Requests answered 503 by the circuit breaker: over max_upstream_requests; queue full
    // (max_upstream_pending); no connection freed before the deadline (max_upstream_connections).
    int64_t upstream_overflow_requests = 0;
    int64_t upstream_overflow_pending = 0;
    int64_t upstream_overflow_connections = 0;
    // Upstream connections closed because the client went away before the answer came.
    int64_t upstream_abandoned = 0;
    // Outbound with tls: endpoints refused because the registry does not mark them mTLS (never
    // sent anything), and TLS upstreams whose certificate names another service than the one
    // called (closed after the handshake).
    int64_t upstream_tls_refused_plaintext = 0;
    int64_t upstream_tls_identity_mismatches = 0;
    // Bodies or tunnels cut because nothing came for the stream idle timeout.
    int64_t stream_idle_timeouts = 0;
    // Upgraded connections (101) turned into tunnels, and the bytes they carried each way.
    int64_t tunnels = 0;
    int64_t tunnel_bytes_to_upstream = 0;
    int64_t tunnel_bytes_to_client = 0;
    // The I/O threads, and the CPU time they used (ThreadCpuClocks: busy, not waiting for I/O).
    int64_t io_threads = 0;
    int64_t io_busy_ns = 0;
  };
  Counters counters() const;

 private:
  struct Impl;
  explicit HttpProxy(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace mesh
