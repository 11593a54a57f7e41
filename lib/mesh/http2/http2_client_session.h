// Http2ClientSession: the client side of one HTTP/2 connection (RFC 9113) over nghttp2, with no
// I/O of its own, like Http2ServerSession: bytes read from the server go in through Receive(),
// bytes to write come out of TakeOutput(). Many requests share the connection, each on its own
// stream; nghttp2 frames them and keeps flow control. A request goes with its whole body and
// trailers; its answer is handed over once whole (body bounded by Options::max_body_bytes, the
// stream reset past it), trailers included, or with the reason there is none: the stream reset
// (RST_STREAM's code), refused before any processing (REFUSED_STREAM, or above a GOAWAY's last
// stream: safe to send again elsewhere), or the connection gone.
//
// Not thread-safe: one thread (the connection's) calls every member, and the callback runs
// inside Receive(), Reset() or the destructor. No exception leaves an nghttp2 callback.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mesh/base/status.h"
#include "mesh/http2/http2_server_session.h"

namespace mesh {

struct Http2Request {
  std::string method = "GET";
  std::string scheme = "http";
  std::string authority;
  std::string path = "/";  // with its query
  std::vector<std::pair<std::string, std::string>> headers;   // names lowercase, no pseudo-headers
  std::string body;
  std::vector<std::pair<std::string, std::string>> trailers;  // none: the body ends the stream
};

// Why a stream has no answer.
struct Http2StreamFailure {
  enum class Kind {
    kRefused,  // never processed by the server (REFUSED_STREAM, or after its GOAWAY): may go again
    kReset,    // reset by the server with `error_code`
    kTooLarge,  // the answer's body outgrew max_body_bytes: reset by us
    kClosed,    // the connection ended first
  };
  Kind kind = Kind::kClosed;
  uint32_t error_code = 0;  // RST_STREAM / GOAWAY code
};

class Http2ClientSession {
 public:
  struct Options {
    size_t max_body_bytes = 8 << 20;  // per answer
  };
  // Exactly once per submitted stream (unless Reset() by the caller first): `response` when the
  // answer came whole, else `failure`.
  using ResponseCallback =
      std::function<void(int32_t stream_id, Http2Response* response, const Http2StreamFailure* failure)>;

  // The session starts by queueing the client preface and SETTINGS. Errors: IOError when nghttp2
  // cannot allocate one.
  static Result<std::unique_ptr<Http2ClientSession>> Create(const Options& options, ResponseCallback on_response);
  // Streams still open get kClosed.
  ~Http2ClientSession();
  Http2ClientSession(const Http2ClientSession&) = delete;
  Http2ClientSession& operator=(const Http2ClientSession&) = delete;

  // Queues a request on a new stream. Errors: Unsupported when the session takes no new stream
  // (GOAWAY received, stream ids used up, session ending), InvalidArgument for a header nghttp2
  // refuses.
  Result<int32_t> Submit(Http2Request request);
  // Cancels a stream (RST_STREAM CANCEL); its callback does not run.
  void Reset(int32_t stream_id);
  // Feeds bytes read from the server. Errors: InvalidArgument when the connection cannot go on.
  Status Receive(std::string_view bytes);
  std::string TakeOutput();
  // Whether a new request may go on this connection now: no GOAWAY received, below the server's
  // SETTINGS_MAX_CONCURRENT_STREAMS.
  bool Accepting() const;
  size_t open_streams() const;
  bool WantsIo() const;
  // Queues a GOAWAY; open streams finish first.
  void Shutdown();

  struct Impl;

 private:
  Http2ClientSession() = default;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mesh
