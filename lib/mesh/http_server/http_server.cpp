#include "mesh/http_server/http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <civetweb.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstring>
#include <exception>
#include <string_view>
#include <thread>
#include <vector>

#include "mesh/http/http_message.h"

namespace mesh {

struct HttpServer::Impl {
  Options options;
  HttpHandler handler;
  mg_context* ctx = nullptr;
};

namespace {

// civetweb keeps the first MG_MAX_HEADERS (64) headers of a request and silently drops the
// rest, a Content-Length or Transfer-Encoding among them: a request that fills the array may
// have lost some, so only fewer are accepted.
constexpr int kMaxHeaders = MG_MAX_HEADERS - 1;

const char* ReasonPhrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Entity";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    case 507: return "Insufficient Storage";
    default: return "";
  }
}

void Send(mg_connection* conn, const HttpResponse& r, bool head) {
  if (!HasSafeHeaders(r)) {
    Send(conn, HttpResponse::Error(500, "the handler built an invalid response header (a CR, LF or NUL, or a bad name)"),
         head);
    return;
  }
  std::string head_text = "HTTP/1.1 " + std::to_string(r.status) + " " + ReasonPhrase(r.status) +
                          "\r\nContent-Type: " + r.content_type +
                          "\r\nContent-Length: " + std::to_string(r.body.size()) +
                          "\r\nCache-Control: no-store\r\n";
  for (const auto& [name, value] : r.headers) {
    head_text += name + ": " + value + "\r\n";
    // civetweb must close the connection too: otherwise it would read (and discard) the rest of
    // a refused body, however long, and wait for another request.
    if (strcasecmp(name.c_str(), "Connection") == 0 && strcasecmp(value.c_str(), "close") == 0) {
      mg_disable_connection_keep_alive(conn);
    }
  }
  head_text += "\r\n";
  mg_write(conn, head_text.data(), head_text.size());
  if (!head && !r.body.empty()) mg_write(conn, r.body.data(), r.body.size());
}

// Answers a request refused before its handler, and closes the connection: what is left of the
// request on it (a body, the headers past the limit) is not read.
int Refuse(mg_connection* conn, int status, std::string_view message, bool head) {
  HttpResponse refused = HttpResponse::Error(status, message);
  refused.headers.emplace_back("Connection", "close");
  Send(conn, refused, head);
  return status;
}

size_t Length(const char* s) { return s ? std::strlen(s) : 0; }

// The request target: path and query, as sent.
size_t TargetBytes(const mg_request_info* info) {
  return Length(info->request_uri) + (info->query_string ? 1 + Length(info->query_string) : 0);
}

// The request line and headers as an HTTP/1.1 client sent them (give or take optional spaces):
// "METHOD target HTTP/1.1\r\n", "Name: value\r\n" each, "\r\n".
size_t HeadBytes(const mg_request_info* info) {
  size_t n = Length(info->request_method) + 1 + TargetBytes(info) + 11 + 2;
  for (int i = 0; i < info->num_headers; ++i) {
    n += Length(info->http_headers[i].name) + 2 + Length(info->http_headers[i].value) + 2;
  }
  return n;
}

// Reads the whole body, up to `limit` bytes; false when it is larger.
bool ReadBody(mg_connection* conn, const mg_request_info* info, size_t limit, std::string* body) {
  if (info->content_length > 0 && static_cast<size_t>(info->content_length) > limit) return false;
  // On the heap: civetweb's worker threads have 100 KiB stacks, with no room for big buffers.
  std::vector<char> buf(16 << 10);
  while (true) {
    const int n = mg_read(conn, buf.data(), buf.size());
    if (n <= 0) break;
    if (body->size() + static_cast<size_t>(n) > limit) return false;
    body->append(buf.data(), static_cast<size_t>(n));
  }
  return true;
}

int HandleRequestUnguarded(mg_connection* conn, HttpServer::Impl* impl) {
  const mg_request_info* info = mg_get_request_info(conn);
  const HttpServer::Options& limits = impl->options;
  HttpRequest request;
  request.method = info->request_method ? info->request_method : "";
  const bool head = request.method == "HEAD";
  if (TargetBytes(info) > limits.max_url_bytes) {
    return Refuse(conn, 414, "request target (path and query) longer than " +
                                 std::to_string(limits.max_url_bytes) + " bytes", head);
  }
  if (info->num_headers > kMaxHeaders) {
    return Refuse(conn, 431, "more than " + std::to_string(kMaxHeaders) + " request headers", head);
  }
  if (HeadBytes(info) > limits.max_header_bytes) {
    return Refuse(conn, 431, "request line and headers larger than " +
                                 std::to_string(limits.max_header_bytes) + " bytes", head);
  }
  Result<std::string> path = DecodeRequestPath(info->local_uri ? info->local_uri : "/");
  if (!path.ok()) return Refuse(conn, 400, path.status().message(), head);
  request.path = std::move(path).value();
  if (info->query_string) request.query = ParseQueryString(info->query_string);
  request.remote_addr = info->remote_addr;
  for (int i = 0; i < info->num_headers; ++i) {
    std::string name = info->http_headers[i].name;
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    request.headers[name] = info->http_headers[i].value;
  }
  // Two differing Content-Length headers leave the body's end ambiguous (request smuggling):
  // refuse rather than pick one (RFC 9112 section 6.3).
  std::string content_length;
  for (int i = 0; i < info->num_headers; ++i) {
    if (strcasecmp(info->http_headers[i].name, "Content-Length") != 0) continue;
    if (!content_length.empty() && content_length != info->http_headers[i].value) {
      return Refuse(conn, 400, "conflicting Content-Length headers", head);
    }
    content_length = info->http_headers[i].value;
  }
  // Likewise a body framed both ways: a proxy in front may have honoured the other one.
  if (!content_length.empty() && !request.Header("transfer-encoding").empty()) {
    return Refuse(conn, 400, "both Transfer-Encoding and Content-Length: the body's end is ambiguous", head);
  }
  if (!ReadBody(conn, info, limits.max_body_bytes, &request.body)) {
    return Refuse(conn, 413, "request body larger than " + std::to_string(limits.max_body_bytes) + " bytes", head);
  }
  if (info->content_length > 0 && request.body.size() < static_cast<size_t>(info->content_length)) {
    // The client closed before sending the body it announced: a truncated request, not a request.
    return Refuse(conn, 400,
                  "request body shorter than its Content-Length (" + std::to_string(request.body.size()) +
                      " of " + std::to_string(info->content_length) + " bytes)",
                  head);
  }
  HttpResponse response = impl->handler(request);
  Send(conn, response, head);
  return response.status;
}

// What civetweb refuses before a handler runs (a malformed or oversized head, a timeout) gets
// the same JSON errors as the rest of the API instead of civetweb's text page.
int AnswerCivetwebError(mg_connection* conn, int status, const char* message) {
  try {
    std::string text = std::string("request refused before routing: ") + (message ? message : ReasonPhrase(status));
    // civetweb 1.15 says "Malformed message" both for a control character in the head and for a
    // head that overflows its buffer (sized at twice max_header_bytes).
    if (message && std::strcmp(message, "Malformed message") == 0) {
      const auto* impl = static_cast<const HttpServer::Impl*>(mg_get_user_data(mg_get_context(conn)));
      text += " (a control character in the request line or headers, or more than " +
              std::to_string(2 * impl->options.max_header_bytes) + " bytes of them)";
    }
    Refuse(conn, status, text, false);
  } catch (...) {
    return 1;  // civetweb's own error page, then
  }
  return 0;
}

// No exception may unwind into civetweb: anything thrown while reading, handling or answering
// (memory exhaustion included) becomes a 500.
int HandleRequest(mg_connection* conn, void* data) {
  try {
    return HandleRequestUnguarded(conn, static_cast<HttpServer::Impl*>(data));
  } catch (const std::exception& e) {
    Send(conn, HttpResponse::Error(500, std::string("internal error: ") + e.what()), false);
  } catch (...) {
    Send(conn, HttpResponse::Error(500, "internal error"), false);
  }
  return 500;
}

// The address Stop connects to: the listen host, or loopback for a wildcard; false when the host
// is not a numeric address.
bool WakeAddress(const std::string& listen, int port, sockaddr_storage* addr, socklen_t* len) {
  std::string host = listen.substr(0, listen.rfind(':'));
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host.empty() || host == "0.0.0.0" || host == "localhost") host = "127.0.0.1";
  if (host == "::") host = "::1";
  std::memset(addr, 0, sizeof *addr);
  auto* v4 = reinterpret_cast<sockaddr_in*>(addr);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(addr);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(port));
    *len = sizeof *v4;
    return true;
  }
  if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(port));
    *len = sizeof *v6;
    return true;
  }
  return false;
}

}  // namespace

Result<std::unique_ptr<HttpServer>> HttpServer::Start(const Options& options, HttpHandler handler) {
  const size_t colon = options.listen.rfind(':');
  if (colon == std::string::npos || colon + 1 == options.listen.size()) {
    return Status::InvalidArgument("invalid listen address '" + options.listen +
                                   "' (expected host:port, e.g. 127.0.0.1:9000)");
  }
  mg_init_library(0);
  std::unique_ptr<HttpServer> server(new HttpServer());
  server->impl_ = std::make_unique<Impl>();
  server->impl_->options = options;
  server->impl_->handler = std::move(handler);

  const std::string threads = std::to_string(options.threads);
  const std::string timeout = std::to_string(options.request_timeout_ms);
  // civetweb's buffer for the request head has room for twice the limit, so that a head over
  // the limit reaches HandleRequest and gets its precise 431 (or 414) rather than civetweb's
  // "malformed" 400.
  const std::string head_buffer = std::to_string(2 * options.max_header_bytes);
  const char* mg_options[] = {"listening_ports", options.listen.c_str(),
                              "num_threads", threads.c_str(),
                              "enable_keep_alive", "yes",
                              "keep_alive_timeout_ms", "5000",
                              "tcp_nodelay", "1",
                              "request_timeout_ms", timeout.c_str(),
                              "max_request_size", head_buffer.c_str(),
                              // The path stays percent-encoded for DecodeRequestPath to check.
                              "decode_url", "no",
                              nullptr};
  mg_callbacks callbacks;
  std::memset(&callbacks, 0, sizeof callbacks);
  callbacks.http_error = AnswerCivetwebError;
  mg_init_data init;
  std::memset(&init, 0, sizeof init);
  init.callbacks = &callbacks;
  init.user_data = server->impl_.get();
  init.configuration_options = mg_options;
  char error_text[256] = "";
  mg_error_data error;
  std::memset(&error, 0, sizeof error);
  error.text = error_text;
  error.text_buffer_size = sizeof error_text;
  server->impl_->ctx = mg_start2(&init, &error);
  if (server->impl_->ctx == nullptr) {
    return Status::IOError("cannot listen on " + options.listen + ": " +
                           (error_text[0] ? error_text : "civetweb failed to start"));
  }
  mg_set_request_handler(server->impl_->ctx, "/", HandleRequest, server->impl_.get());
  mg_server_port ports[4];
  std::memset(ports, 0, sizeof ports);
  const int n = mg_get_server_ports(server->impl_->ctx, 4, ports);
  server->port_ = n > 0 ? ports[0].port : 0;
  return server;
}

void HttpServer::Stop() {
  if (impl_ && impl_->ctx) {
    // civetweb's master thread polls the listening socket 2 s at a time and sees mg_stop's flag
    // only when poll returns: connecting to it while mg_stop waits ends that wait at once.
    std::atomic<bool> stopped{false};
    std::thread waker;
    sockaddr_storage addr;
    socklen_t len = 0;
    if (port_ > 0 && WakeAddress(impl_->options.listen, port_, &addr, &len)) {
      waker = std::thread([&] {
        while (!stopped) {
          const int fd = socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
          if (fd >= 0) {
            (void)connect(fd, reinterpret_cast<const sockaddr*>(&addr), len);
            close(fd);
          }
          std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
      });
    }
    mg_stop(impl_->ctx);
    stopped = true;
    if (waker.joinable()) waker.join();
    impl_->ctx = nullptr;
  }
}

HttpServer::~HttpServer() { Stop(); }

}  // namespace mesh
