// Http2ServerSession: the server side of one HTTP/2 connection (RFC 9113) over nghttp2, with no
// I/O of its own: bytes read from the peer go in through Receive(), bytes to write come out of
// TakeOutput(), so that an Asio socket (AsioHttp2Server), a TLS stream or a test's memory drive it
// alike. nghttp2 frames, multiplexes the streams and keeps flow control (a window is reopened as
// the session consumes the bytes). Each request's body is buffered in its stream, bounded by
// Options::max_body_bytes; the request is handed over once whole, or at once when its body
// outgrows the bound (the rest of it is then read and dropped). Answers may come later, in any
// order, each with trailers if it has any.
//
// gRPC deadlines: a request with content-type application/grpc* and a grpc-timeout header has a
// deadline, that long after its headers arrived (Options::clock's monotonic time). Once it passes
// unanswered, ExpireDeadlines() answers the call DEADLINE_EXCEEDED (grpc-status 4) and a later
// Respond() to it is ignored; the request callback gets the deadline so that work not begun by
// then is not begun. A malformed grpc-timeout (not 1-8 digits then H, M, S, m, u or n) gets
// INVALID_ARGUMENT (grpc-status 3) and never reaches the callback.
//
// Not thread-safe: one thread (the connection's) calls every member. No exception leaves an
// nghttp2 callback: a callback that fails ends the connection with a protocol error.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mesh/base/clock.h"
#include "mesh/base/status.h"
#include "mesh/http/http_message.h"

namespace mesh {

struct Http2Response {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;   // names lowercase
  std::string body;
  std::vector<std::pair<std::string, std::string>> trailers;  // none: the body ends the stream
};

class Http2ServerSession {
 public:
  struct Options {
    size_t max_body_bytes = 8 << 20;       // per request
    uint32_t max_concurrent_streams = 100;  // SETTINGS_MAX_CONCURRENT_STREAMS
    const Clock* clock = nullptr;           // for gRPC deadlines; nullptr: SystemClock
  };
  // A request whose headers and body arrived (path without its query, headers lowercase,
  // :authority as "host", and the raw `:path` and `:scheme` kept under those names for a proxy),
  // or whose body outgrew the bound (`body_too_large`, body empty).
  // `deadline_ns`: the gRPC call's deadline on the clock's monotonic time, nullopt for none.
  using RequestCallback = std::function<void(int32_t stream_id, HttpRequest request, bool body_too_large,
                                             std::optional<int64_t> deadline_ns)>;

  // The session starts by queueing the server's SETTINGS. Errors: IOError when nghttp2 cannot
  // allocate one.
  static Result<std::unique_ptr<Http2ServerSession>> Create(const Options& options, RequestCallback on_request);
  ~Http2ServerSession();
  Http2ServerSession(const Http2ServerSession&) = delete;
  Http2ServerSession& operator=(const Http2ServerSession&) = delete;

  // Feeds bytes read from the peer. Errors: InvalidArgument when nghttp2 cannot go on at all (a
  // bad client preface, a flood of frames, a callback that failed); the connection should then
  // write TakeOutput() and close. Other protocol errors (a malformed frame) are answered by
  // nghttp2 itself with a GOAWAY, after which WantsIo() turns false.
  Status Receive(std::string_view bytes);
  // What to write to the peer now (may be empty).
  std::string TakeOutput();
  // Answers stream `stream_id`; ignored when the stream is gone (reset by the peer, say) or was
  // answered already (its deadline passed).
  void Respond(int32_t stream_id, Http2Response response);
  // Resets stream `stream_id` (RST_STREAM with `error_code`, an RFC 9113 §7 code): a request
  // whose answer cannot come. Ignored when the stream is gone.
  void Reset(int32_t stream_id, uint32_t error_code);
  // Called when the client resets (or the connection loses) a stream handed over and not yet
  // answered: its answer is no longer wanted.
  void OnCancel(std::function<void(int32_t stream_id)> on_cancel);
  // Answers DEADLINE_EXCEEDED every call whose deadline is not after now.
  void ExpireDeadlines();
  // The earliest deadline of a call not answered yet (monotonic ns), for the caller's timer.
  std::optional<int64_t> NextDeadlineNs() const;
  // False once the session has nothing more to read or write (GOAWAY exchanged, peer done).
  bool WantsIo() const;
  // Ends the session: queues a GOAWAY, after which WantsIo() turns false once it is written.
  void Shutdown();

  struct Impl;

 private:
  Http2ServerSession() = default;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mesh
