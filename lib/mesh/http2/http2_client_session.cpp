#include "mesh/http2/http2_client_session.h"

#include <nghttp2/nghttp2.h>

#include <algorithm>
#include <map>

namespace mesh {

namespace {

struct Stream {
  Http2Request request;
  size_t sent = 0;  // of request.body
  Http2Response response;
  bool in_trailers = false;
  bool too_large = false;
};

std::string_view View(const uint8_t* data, size_t size) { return {reinterpret_cast<const char*>(data), size}; }

nghttp2_nv Nv(const std::string& name, const std::string& value) {
  return {reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
          reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), name.size(), value.size(), NGHTTP2_NV_FLAG_NONE};
}

}  // namespace

struct Http2ClientSession::Impl {
  Options options;
  ResponseCallback on_response;
  nghttp2_session* session = nullptr;
  std::map<int32_t, Stream> streams;
  bool goaway = false;

  ~Impl() {
    // Those left get their answer: the connection is gone.
    std::map<int32_t, Stream> left = std::move(streams);
    streams.clear();
    const Http2StreamFailure closed{.kind = Http2StreamFailure::Kind::kClosed};
    for (auto& entry : left) on_response(entry.first, nullptr, &closed);
    if (session != nullptr) nghttp2_session_del(session);
  }

  Stream* Find(int32_t id) {
    auto it = streams.find(id);
    return it == streams.end() ? nullptr : &it->second;
  }

  template <typename F>
  static int Guarded(F&& body) {
    try {
      return body();
    } catch (...) {
      return NGHTTP2_ERR_CALLBACK_FAILURE;
    }
  }

  static Impl& Of(void* user_data) { return *static_cast<Impl*>(user_data); }

  static int OnHeader(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name, size_t namelen,
                      const uint8_t* value, size_t valuelen, uint8_t, void* user_data) {
    return Guarded([&] {
      if (frame->hd.type != NGHTTP2_HEADERS) return 0;
      Stream* s = Of(user_data).Find(frame->hd.stream_id);
      if (s == nullptr) return 0;
      const std::string_view n = View(name, namelen), v = View(value, valuelen);
      if (n == ":status") {
        // An interim answer (1xx) is followed by the real one: that one's headers replace it.
        s->response.status = std::atoi(std::string(v).c_str());
        s->response.headers.clear();
        return 0;
      }
      if (!n.empty() && n[0] == ':') return 0;
      auto& into = s->in_trailers ? s->response.trailers : s->response.headers;
      into.emplace_back(n, v);
      return 0;
    });
  }

  static int OnBeginHeaders(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
    return Guarded([&] {
      if (frame->hd.type != NGHTTP2_HEADERS) return 0;
      Stream* s = Of(user_data).Find(frame->hd.stream_id);
      // Headers after a final answer's are its trailers.
      if (s != nullptr && frame->headers.cat == NGHTTP2_HCAT_HEADERS && s->response.status >= 200) {
        s->in_trailers = true;
      }
      return 0;
    });
  }

  static int OnDataChunk(nghttp2_session* session, uint8_t, int32_t stream_id, const uint8_t* data, size_t len,
                         void* user_data) {
    return Guarded([&] {
      Impl& self = Of(user_data);
      Stream* s = self.Find(stream_id);
      if (s == nullptr || s->too_large) return 0;
      if (s->response.body.size() + len > self.options.max_body_bytes) {
        s->too_large = true;
        nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, stream_id, NGHTTP2_CANCEL);
        return 0;
      }
      s->response.body.append(View(data, len));
      return 0;
    });
  }

  static int OnFrameRecv(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
    return Guarded([&] {
      if (frame->hd.type == NGHTTP2_GOAWAY) Of(user_data).goaway = true;
      return 0;
    });
  }

  static int OnStreamClose(nghttp2_session* session, int32_t stream_id, uint32_t error_code, void* user_data) {
    return Guarded([&] {
      Impl& self = Of(user_data);
      auto it = self.streams.find(stream_id);
      if (it == self.streams.end()) return 0;
      Stream s = std::move(it->second);
      self.streams.erase(it);
      Http2StreamFailure failure;
      if (s.too_large) {
        failure.kind = Http2StreamFailure::Kind::kTooLarge;
      } else if (error_code == NGHTTP2_NO_ERROR && s.response.status >= 200) {
        self.on_response(stream_id, &s.response, nullptr);
        return 0;
      } else if (error_code == NGHTTP2_REFUSED_STREAM ||
                 (s.response.status == 0 && self.goaway &&
                  stream_id > nghttp2_session_get_last_proc_stream_id(session))) {
        failure.kind = Http2StreamFailure::Kind::kRefused;
      } else {
        failure.kind = Http2StreamFailure::Kind::kReset;
      }
      failure.error_code = error_code;
      self.on_response(stream_id, nullptr, &failure);
      return 0;
    });
  }

  static ssize_t ReadBody(nghttp2_session* session, int32_t stream_id, uint8_t* buf, size_t length,
                          uint32_t* data_flags, nghttp2_data_source*, void* user_data) {
    try {
      Stream* s = Of(user_data).Find(stream_id);
      if (s == nullptr) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
      const std::string& body = s->request.body;
      const size_t n = std::min(length, body.size() - s->sent);
      std::copy_n(body.data() + s->sent, n, buf);
      s->sent += n;
      if (s->sent == body.size()) {
        *data_flags |= NGHTTP2_DATA_FLAG_EOF;
        if (!s->request.trailers.empty()) {
          std::vector<nghttp2_nv> nv;
          for (const auto& [name, value] : s->request.trailers) nv.push_back(Nv(name, value));
          if (nghttp2_submit_trailer(session, stream_id, nv.data(), nv.size()) == 0) {
            *data_flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
          }
        }
      }
      return static_cast<ssize_t>(n);
    } catch (...) {
      return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    }
  }
};

Result<std::unique_ptr<Http2ClientSession>> Http2ClientSession::Create(const Options& options,
                                                                      ResponseCallback on_response) {
  std::unique_ptr<Http2ClientSession> out(new Http2ClientSession());
  out->impl_ = std::make_unique<Impl>();
  Impl& impl = *out->impl_;
  impl.options = options;
  impl.on_response = std::move(on_response);
  nghttp2_session_callbacks* callbacks = nullptr;
  if (nghttp2_session_callbacks_new(&callbacks) != 0) return Status::IOError("nghttp2: out of memory");
  nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks, &Impl::OnBeginHeaders);
  nghttp2_session_callbacks_set_on_header_callback(callbacks, &Impl::OnHeader);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, &Impl::OnDataChunk);
  nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, &Impl::OnFrameRecv);
  nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, &Impl::OnStreamClose);
  const int rv = nghttp2_session_client_new(&impl.session, callbacks, &impl);
  nghttp2_session_callbacks_del(callbacks);
  if (rv != 0) return Status::IOError(std::string("nghttp2: ") + nghttp2_strerror(rv));
  if (nghttp2_submit_settings(impl.session, NGHTTP2_FLAG_NONE, nullptr, 0) != 0) {
    return Status::IOError("nghttp2: cannot queue SETTINGS");
  }
  return out;
}

Http2ClientSession::~Http2ClientSession() = default;

Result<int32_t> Http2ClientSession::Submit(Http2Request request) {
  if (!Accepting()) return Status::Unsupported("HTTP/2 connection takes no new stream");
  const std::string method = ":method", scheme = ":scheme", authority = ":authority", path = ":path";
  std::vector<nghttp2_nv> nv{Nv(method, request.method), Nv(scheme, request.scheme), Nv(path, request.path)};
  if (!request.authority.empty()) nv.push_back(Nv(authority, request.authority));
  for (const auto& [name, value] : request.headers) nv.push_back(Nv(name, value));
  const bool has_body = !request.body.empty() || !request.trailers.empty();
  nghttp2_data_provider body{};
  body.read_callback = &Impl::ReadBody;
  const int32_t id = nghttp2_submit_request(impl_->session, nullptr, nv.data(), nv.size(), has_body ? &body : nullptr,
                                            nullptr);
  if (id < 0) return Status::InvalidArgument(std::string("HTTP/2 request: ") + nghttp2_strerror(id));
  impl_->streams[id].request = std::move(request);
  return id;
}

void Http2ClientSession::Reset(int32_t stream_id) {
  if (impl_->streams.erase(stream_id) == 0) return;
  nghttp2_submit_rst_stream(impl_->session, NGHTTP2_FLAG_NONE, stream_id, NGHTTP2_CANCEL);
}

Status Http2ClientSession::Receive(std::string_view bytes) {
  const ssize_t rv =
      nghttp2_session_mem_recv(impl_->session, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  if (rv < 0) return Status::InvalidArgument(std::string("HTTP/2: ") + nghttp2_strerror(static_cast<int>(rv)));
  return Status::Ok();
}

std::string Http2ClientSession::TakeOutput() {
  std::string out;
  for (;;) {
    const uint8_t* data = nullptr;
    const ssize_t n = nghttp2_session_mem_send(impl_->session, &data);
    if (n <= 0) break;
    out.append(reinterpret_cast<const char*>(data), static_cast<size_t>(n));
  }
  return out;
}

bool Http2ClientSession::Accepting() const {
  if (impl_->goaway || !WantsIo()) return false;
  if (nghttp2_session_check_request_allowed(impl_->session) == 0) return false;
  const uint32_t limit =
      nghttp2_session_get_remote_settings(impl_->session, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
  return impl_->streams.size() < limit;
}

size_t Http2ClientSession::open_streams() const { return impl_->streams.size(); }

bool Http2ClientSession::WantsIo() const {
  return nghttp2_session_want_read(impl_->session) != 0 || nghttp2_session_want_write(impl_->session) != 0;
}

void Http2ClientSession::Shutdown() { nghttp2_session_terminate_session(impl_->session, NGHTTP2_NO_ERROR); }

}  // namespace mesh
