#include "mesh/http2/http2_server_session.h"

#include <nghttp2/nghttp2.h>

#include <limits>
#include <map>

#include "mesh/http2/grpc_framing.h"

namespace mesh {

namespace {

struct Stream {
  HttpRequest request;
  bool too_large = false;  // handed over already; the rest of the body is dropped
  bool handed_over = false;
  bool answered = false;   // Respond()ed, or expired: the rest of the body is dropped
  std::optional<int64_t> deadline_ns;
  std::string grpc_timeout;  // as sent (bounded), for the error's text
  std::string bad_timeout;  // a malformed grpc-timeout, answered INVALID_ARGUMENT
  Http2Response response;
  size_t sent = 0;  // of response.body
};

bool IsGrpc(const HttpRequest& request) { return request.Header("content-type").starts_with("application/grpc"); }

Http2Response GrpcError(GrpcStatus status, std::string_view message) {
  Http2Response out;
  out.headers = {{"content-type", "application/grpc"}};
  out.trailers = GrpcStatusTrailers(status, message);
  return out;
}

std::string_view View(const uint8_t* data, size_t size) { return {reinterpret_cast<const char*>(data), size}; }

nghttp2_nv Nv(const std::string& name, const std::string& value) {
  return {reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
          reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), name.size(), value.size(), NGHTTP2_NV_FLAG_NONE};
}

}  // namespace

struct Http2ServerSession::Impl {
  Options options;
  const Clock* clock = nullptr;
  RequestCallback on_request;
  std::function<void(int32_t)> on_cancel;
  nghttp2_session* session = nullptr;
  std::map<int32_t, Stream> streams;

  ~Impl() {
    if (session != nullptr) nghttp2_session_del(session);
  }

  Stream* Find(int32_t id) {
    auto it = streams.find(id);
    return it == streams.end() ? nullptr : &it->second;
  }

  void HandOver(int32_t id, Stream& s) {
    if (s.answered) return;
    if (!s.bad_timeout.empty()) {
      return Answer(id, s, GrpcError(GrpcStatus::kInvalidArgument,
                                     "grpc-timeout '" + s.bad_timeout +
                                         "' is malformed: 1 to 8 digits, then H, M, S, m, u or n"));
    }
    HttpRequest request = std::move(s.request);
    s.request = HttpRequest{};
    s.handed_over = true;
    on_request(id, std::move(request), s.too_large, s.deadline_ns);
  }

  // A gRPC call's deadline starts when its headers are in (the spec's timeout is relative).
  void StartDeadline(Stream& s) {
    if (!IsGrpc(s.request)) return;
    const std::string& timeout = s.request.Header("grpc-timeout");
    if (timeout.empty()) return;
    const std::optional<int64_t> ns = ParseGrpcTimeout(timeout);
    if (!ns) {
      s.bad_timeout = timeout.substr(0, 32);
      return;
    }
    s.grpc_timeout = timeout;
    const int64_t now = clock->MonotonicNs();
    s.deadline_ns = *ns > std::numeric_limits<int64_t>::max() - now ? std::numeric_limits<int64_t>::max() : now + *ns;
  }

  void Answer(int32_t stream_id, Stream& s, Http2Response response) {
    s.answered = true;
    s.request.body.clear();
    s.response = std::move(response);
    s.sent = 0;
    const std::string status = std::to_string(s.response.status);
    const std::string status_name = ":status";
    std::vector<nghttp2_nv> nv{Nv(status_name, status)};
    for (const auto& [name, value] : s.response.headers) nv.push_back(Nv(name, value));
    nghttp2_data_provider body{};
    body.read_callback = &Impl::ReadBody;
    if (nghttp2_submit_response(session, stream_id, nv.data(), nv.size(), &body) != 0) {
      nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, stream_id, NGHTTP2_INTERNAL_ERROR);
    }
  }

  // Every callback runs its body through Guarded: an exception (bad_alloc, one from the request
  // callback) becomes nghttp2's callback failure, which ends the connection.
  template <typename F>
  static int Guarded(F&& body) {
    try {
      return body();
    } catch (...) {
      return NGHTTP2_ERR_CALLBACK_FAILURE;
    }
  }

  static Impl& Of(void* user_data) { return *static_cast<Impl*>(user_data); }

  static int OnBeginHeaders(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
    return Guarded([&] {
      if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
        Of(user_data).streams.try_emplace(frame->hd.stream_id);
      }
      return 0;
    });
  }

  static int OnHeader(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name, size_t namelen,
                      const uint8_t* value, size_t valuelen, uint8_t, void* user_data) {
    return Guarded([&] {
      Stream* s = Of(user_data).Find(frame->hd.stream_id);
      if (s == nullptr || s->too_large) return 0;  // trailers of a request are read and ignored below
      const std::string_view n = View(name, namelen), v = View(value, valuelen);
      HttpRequest& r = s->request;
      if (frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;  // request trailers: gRPC sends none
      if (n == ":method") {
        r.method = v;
      } else if (n == ":path") {
        r.path = v.substr(0, v.find('?'));
        r.headers[":path"] = v;
      } else if (n == ":scheme") {
        r.headers[":scheme"] = v;
      } else if (n == ":authority") {
        r.headers["host"] = v;
      } else if (!n.empty() && n[0] != ':') {
        std::string& slot = r.headers[std::string(n)];
        slot = slot.empty() ? std::string(v) : slot + ", " + std::string(v);
      }
      return 0;
    });
  }

  static int OnDataChunk(nghttp2_session*, uint8_t, int32_t stream_id, const uint8_t* data, size_t len,
                         void* user_data) {
    return Guarded([&] {
      Impl& self = Of(user_data);
      Stream* s = self.Find(stream_id);
      if (s == nullptr || s->too_large || s->answered) return 0;
      if (s->request.body.size() + len > self.options.max_body_bytes) {
        s->too_large = true;
        s->request.body.clear();
        s->request.body.shrink_to_fit();
        self.HandOver(stream_id, *s);
        return 0;
      }
      s->request.body.append(View(data, len));
      return 0;
    });
  }

  static int OnFrameRecv(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
    return Guarded([&] {
      const bool request_frame = frame->hd.type == NGHTTP2_DATA || frame->hd.type == NGHTTP2_HEADERS;
      if (!request_frame) return 0;
      Impl& self = Of(user_data);
      Stream* s = self.Find(frame->hd.stream_id);
      if (s != nullptr && frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
        self.StartDeadline(*s);
      }
      if ((frame->hd.flags & NGHTTP2_FLAG_END_STREAM) == 0) return 0;
      if (s != nullptr && !s->too_large) self.HandOver(frame->hd.stream_id, *s);
      return 0;
    });
  }

  static int OnStreamClose(nghttp2_session*, int32_t stream_id, uint32_t, void* user_data) {
    return Guarded([&] {
      Impl& self = Of(user_data);
      auto it = self.streams.find(stream_id);
      if (it == self.streams.end()) return 0;
      const bool cancelled = it->second.handed_over && !it->second.answered;
      self.streams.erase(it);
      if (cancelled && self.on_cancel) self.on_cancel(stream_id);
      return 0;
    });
  }

  static ssize_t ReadBody(nghttp2_session* session, int32_t stream_id, uint8_t* buf, size_t length,
                          uint32_t* data_flags, nghttp2_data_source*, void* user_data) {
    try {
      Stream* s = Of(user_data).Find(stream_id);
      if (s == nullptr) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
      const std::string& body = s->response.body;
      const size_t n = std::min(length, body.size() - s->sent);
      std::copy_n(body.data() + s->sent, n, buf);
      s->sent += n;
      if (s->sent == body.size()) {
        *data_flags |= NGHTTP2_DATA_FLAG_EOF;
        if (!s->response.trailers.empty()) {
          std::vector<nghttp2_nv> nv;
          for (const auto& [name, value] : s->response.trailers) nv.push_back(Nv(name, value));
          if (nghttp2_submit_trailer(session, stream_id, nv.data(), nv.size()) == 0) {
            *data_flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
          }
        }
      }
      return static_cast<ssize_t>(n);
    } catch (...) {
      return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;  // resets this stream only
    }
  }
};

Result<std::unique_ptr<Http2ServerSession>> Http2ServerSession::Create(const Options& options,
                                                                      RequestCallback on_request) {
  std::unique_ptr<Http2ServerSession> out(new Http2ServerSession());
  out->impl_ = std::make_unique<Impl>();
  Impl& impl = *out->impl_;
  impl.options = options;
  impl.clock = options.clock != nullptr ? options.clock : &SystemClock::Instance();
  impl.on_request = std::move(on_request);
  nghttp2_session_callbacks* callbacks = nullptr;
  if (nghttp2_session_callbacks_new(&callbacks) != 0) return Status::IOError("nghttp2: out of memory");
  nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks, &Impl::OnBeginHeaders);
  nghttp2_session_callbacks_set_on_header_callback(callbacks, &Impl::OnHeader);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, &Impl::OnDataChunk);
  nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, &Impl::OnFrameRecv);
  nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, &Impl::OnStreamClose);
  const int rv = nghttp2_session_server_new(&impl.session, callbacks, &impl);
  nghttp2_session_callbacks_del(callbacks);
  if (rv != 0) return Status::IOError(std::string("nghttp2: ") + nghttp2_strerror(rv));
  const nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, options.max_concurrent_streams}};
  if (nghttp2_submit_settings(impl.session, NGHTTP2_FLAG_NONE, settings, 1) != 0) {
    return Status::IOError("nghttp2: cannot queue SETTINGS");
  }
  return out;
}

Http2ServerSession::~Http2ServerSession() = default;

Status Http2ServerSession::Receive(std::string_view bytes) {
  const ssize_t rv =
      nghttp2_session_mem_recv(impl_->session, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  if (rv < 0) return Status::InvalidArgument(std::string("HTTP/2: ") + nghttp2_strerror(static_cast<int>(rv)));
  return Status::Ok();
}

std::string Http2ServerSession::TakeOutput() {
  std::string out;
  for (;;) {
    const uint8_t* data = nullptr;
    const ssize_t n = nghttp2_session_mem_send(impl_->session, &data);
    if (n <= 0) break;  // nothing more, or a fatal error: WantsIo() then says to close
    out.append(reinterpret_cast<const char*>(data), static_cast<size_t>(n));
  }
  return out;
}

void Http2ServerSession::Respond(int32_t stream_id, Http2Response response) {
  Stream* s = impl_->Find(stream_id);
  if (s == nullptr || s->answered) return;
  impl_->Answer(stream_id, *s, std::move(response));
}

void Http2ServerSession::ExpireDeadlines() {
  const int64_t now = impl_->clock->MonotonicNs();
  for (auto& [id, s] : impl_->streams) {
    if (s.answered || !s.deadline_ns || *s.deadline_ns > now) continue;
    impl_->Answer(id, s, GrpcError(GrpcStatus::kDeadlineExceeded,
                                   "deadline exceeded: grpc-timeout " + s.grpc_timeout +
                                       " passed before the answer"));
  }
}

std::optional<int64_t> Http2ServerSession::NextDeadlineNs() const {
  std::optional<int64_t> next;
  for (const auto& [id, s] : impl_->streams) {
    if (!s.answered && s.deadline_ns && (!next || *s.deadline_ns < *next)) next = s.deadline_ns;
  }
  return next;
}

void Http2ServerSession::Reset(int32_t stream_id, uint32_t error_code) {
  Stream* s = impl_->Find(stream_id);
  if (s == nullptr) return;
  s->answered = true;  // no answer is wanted from whoever resets it
  nghttp2_submit_rst_stream(impl_->session, NGHTTP2_FLAG_NONE, stream_id, error_code);
}

void Http2ServerSession::OnCancel(std::function<void(int32_t stream_id)> on_cancel) {
  impl_->on_cancel = std::move(on_cancel);
}

bool Http2ServerSession::WantsIo() const {
  return nghttp2_session_want_read(impl_->session) != 0 || nghttp2_session_want_write(impl_->session) != 0;
}

void Http2ServerSession::Shutdown() {
  nghttp2_session_terminate_session(impl_->session, NGHTTP2_NO_ERROR);
}

}  // namespace mesh
