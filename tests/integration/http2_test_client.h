// Http2TestClient: the client side of an HTTP/2 connection over nghttp2, for tests: requests go
// in with Submit(), bytes to the server come out of TakeOutput(), the server's bytes go back in
// through Receive(); each stream's reply (status, headers, body, trailers, reset) is kept. It
// drives an Http2ServerSession in memory (unit tests) or a real server over a socket (Exchange).
// Not thread-safe.
#pragma once

#include <nghttp2/nghttp2.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mesh::test_support {

class Http2TestClient {
 public:
  struct Reply {
    int status = 0;
    std::map<std::string, std::string> headers;
    std::string body;
    std::map<std::string, std::string> trailers;
    bool closed = false;
    uint32_t error_code = 0;  // of the stream's close: 0 NO_ERROR, else RST_STREAM's code
  };

  Http2TestClient() {
    nghttp2_session_callbacks* cb = nullptr;
    nghttp2_session_callbacks_new(&cb);
    nghttp2_session_callbacks_set_on_header_callback(cb, &OnHeader);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, &OnData);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, &OnClose);
    nghttp2_session_client_new(&session_, cb, this);
    nghttp2_session_callbacks_del(cb);
    nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, nullptr, 0);
  }
  ~Http2TestClient() { nghttp2_session_del(session_); }
  Http2TestClient(const Http2TestClient&) = delete;
  Http2TestClient& operator=(const Http2TestClient&) = delete;

  // A request; `headers` after the pseudo-headers. Returns the stream id (< 0: nghttp2's error).
  int32_t Submit(const std::string& method, const std::string& path,
                 const std::vector<std::pair<std::string, std::string>>& headers, std::string body) {
    std::vector<std::pair<std::string, std::string>> all = {
        {":method", method}, {":scheme", "http"}, {":authority", "localhost"}, {":path", path}};
    all.insert(all.end(), headers.begin(), headers.end());
    std::vector<nghttp2_nv> nv;
    for (auto& [n, v] : all) {
      nv.push_back({reinterpret_cast<uint8_t*>(n.data()), reinterpret_cast<uint8_t*>(v.data()), n.size(), v.size(),
                    NGHTTP2_NV_FLAG_NONE});
    }
    bodies_.push_back(Body{std::move(body), 0});
    nghttp2_data_provider provider{};
    provider.source.ptr = &bodies_.back();
    provider.read_callback = &ReadBody;
    return nghttp2_submit_request(session_, nullptr, nv.data(), nv.size(), &provider, this);
  }

  std::string TakeOutput() {
    std::string out;
    const uint8_t* data = nullptr;
    for (ssize_t n; (n = nghttp2_session_mem_send(session_, &data)) > 0;) out.append(reinterpret_cast<const char*>(data), n);
    return out;
  }
  // False when the server's bytes break the protocol.
  bool Receive(std::string_view bytes) {
    return nghttp2_session_mem_recv(session_, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()) >= 0;
  }
  const Reply& reply(int32_t stream_id) { return replies_[stream_id]; }

  // Over a connected socket: writes what is pending and reads until `stream_id` closed, the
  // connection ended, or the deadline passed. True when the stream closed.
  bool Exchange(int fd, int32_t stream_id, std::chrono::milliseconds deadline = std::chrono::seconds(20)) {
    return Exchange(
        [fd](std::string_view out) {
          for (size_t sent = 0; sent < out.size();) {
            const ssize_t n = ::send(fd, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
            if (n <= 0) return false;
            sent += static_cast<size_t>(n);
          }
          return true;
        },
        [fd](char* buf, size_t size) {
          pollfd p{fd, POLLIN, 0};
          if (::poll(&p, 1, 100) <= 0) return ssize_t{-2};  // nothing yet
          return ::recv(fd, buf, size, 0);
        },
        stream_id, deadline);
  }
  // The same over any transport: `send` writes all of its bytes (false: failed); `receive`
  // reads some (> 0), says nothing came yet (-2), or that the connection ended (0, or < 0).
  bool Exchange(const std::function<bool(std::string_view)>& send, const std::function<ssize_t(char*, size_t)>& receive,
                int32_t stream_id, std::chrono::milliseconds deadline) {
    const auto until = std::chrono::steady_clock::now() + deadline;
    while (!replies_[stream_id].closed && std::chrono::steady_clock::now() < until) {
      if (!send(TakeOutput())) return false;
      char buf[16384];
      const ssize_t n = receive(buf, sizeof buf);
      if (n == -2) continue;
      if (n <= 0 || !Receive(std::string_view(buf, static_cast<size_t>(n)))) break;
    }
    return replies_[stream_id].closed;
  }

 private:
  struct Body {
    std::string bytes;
    size_t sent;
  };
  static Http2TestClient& Of(void* p) { return *static_cast<Http2TestClient*>(p); }
  static ssize_t ReadBody(nghttp2_session*, int32_t, uint8_t* buf, size_t length, uint32_t* flags,
                          nghttp2_data_source* source, void*) {
    Body& b = *static_cast<Body*>(source->ptr);
    const size_t n = std::min(length, b.bytes.size() - b.sent);
    std::copy_n(b.bytes.data() + b.sent, n, buf);
    b.sent += n;
    if (b.sent == b.bytes.size()) *flags |= NGHTTP2_DATA_FLAG_EOF;
    return static_cast<ssize_t>(n);
  }
  static int OnHeader(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name, size_t namelen,
                      const uint8_t* value, size_t valuelen, uint8_t, void* user) {
    Reply& r = Of(user).replies_[frame->hd.stream_id];
    const std::string n(reinterpret_cast<const char*>(name), namelen);
    const std::string v(reinterpret_cast<const char*>(value), valuelen);
    if (n == ":status") {
      r.status = std::stoi(v);
    } else if (frame->headers.cat == NGHTTP2_HCAT_RESPONSE) {
      r.headers[n] = v;
    } else {
      r.trailers[n] = v;
    }
    return 0;
  }
  static int OnData(nghttp2_session*, uint8_t, int32_t stream_id, const uint8_t* data, size_t len, void* user) {
    Of(user).replies_[stream_id].body.append(reinterpret_cast<const char*>(data), len);
    return 0;
  }
  static int OnClose(nghttp2_session*, int32_t stream_id, uint32_t error_code, void* user) {
    Reply& r = Of(user).replies_[stream_id];
    r.closed = true;
    r.error_code = error_code;
    return 0;
  }

  nghttp2_session* session_ = nullptr;
  std::deque<Body> bodies_;  // nghttp2 holds pointers into it: a deque never moves its elements
  std::map<int32_t, Reply> replies_;
};

}  // namespace mesh::test_support
