#include "mesh/http_server.h"

#include <strings.h>

#include <civetweb.h>

#include <cctype>
#include <cstring>
#include <exception>
#include <vector>

#include "mesh/gzip.h"

namespace mesh {

struct HttpServer::Impl {
  Options options;
  HttpHandler handler;
  mg_context* ctx = nullptr;
};

namespace {

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
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Entity";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    case 507: return "Insufficient Storage";
    default: return "";
  }
}

void Send(mg_connection* conn, const HttpResponse& r, bool head) {
  std::string head_text = "HTTP/1.1 " + std::to_string(r.status) + " " + ReasonPhrase(r.status) +
                          "\r\nContent-Type: " + r.content_type +
                          "\r\nContent-Length: " + std::to_string(r.body.size()) +
                          "\r\nCache-Control: no-store\r\n";
  for (const auto& [name, value] : r.headers) head_text += name + ": " + value + "\r\n";
  head_text += "\r\n";
  mg_write(conn, head_text.data(), head_text.size());
  if (!head && !r.body.empty()) mg_write(conn, r.body.data(), r.body.size());
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
  HttpRequest request;
  request.method = info->request_method ? info->request_method : "";
  request.path = info->local_uri ? info->local_uri : "/";
  if (info->query_string) request.query = ParseQueryString(info->query_string);
  request.remote_addr = info->remote_addr;
  for (int i = 0; i < info->num_headers; ++i) {
    std::string name = info->http_headers[i].name;
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    request.headers[name] = info->http_headers[i].value;
  }
  const bool head = request.method == "HEAD";
  // Two differing Content-Length headers leave the body's end ambiguous (request smuggling):
  // refuse rather than pick one (RFC 9112 section 6.3).
  std::string content_length;
  for (int i = 0; i < info->num_headers; ++i) {
    if (strcasecmp(info->http_headers[i].name, "Content-Length") != 0) continue;
    if (!content_length.empty() && content_length != info->http_headers[i].value) {
      HttpResponse ambiguous = HttpResponse::Error(400, "conflicting Content-Length headers");
      ambiguous.headers.emplace_back("Connection", "close");
      Send(conn, ambiguous, head);
      return 400;
    }
    content_length = info->http_headers[i].value;
  }
  if (!ReadBody(conn, info, impl->options.max_body_bytes, &request.body)) {
    HttpResponse too_large = HttpResponse::Error(
        413, "request body larger than " + std::to_string(impl->options.max_body_bytes) + " bytes");
    // The rest of the body was not read: the connection cannot carry another request.
    too_large.headers.emplace_back("Connection", "close");
    Send(conn, too_large, head);
    return 413;
  }
  if (info->content_length > 0 && request.body.size() < static_cast<size_t>(info->content_length)) {
    // The client closed before sending the body it announced: a truncated request, not a request.
    HttpResponse truncated = HttpResponse::Error(
        400, "request body shorter than its Content-Length (" + std::to_string(request.body.size()) + " of " +
                 std::to_string(info->content_length) + " bytes)");
    truncated.headers.emplace_back("Connection", "close");
    Send(conn, truncated, head);
    return 400;
  }
  // Compressed bodies (OTLP exporters may gzip) are inflated here, up to 8x the body limit,
  // so that handlers only ever see plain bodies.
  const std::string encoding = request.Header("content-encoding");
  if (!encoding.empty() && encoding != "identity") {
    HttpResponse refused;
    if (encoding == "gzip" || encoding == "deflate" || encoding == "x-gzip") {
      Result<std::string> plain = Inflate(request.body, 8 * impl->options.max_body_bytes);
      if (plain.ok()) {
        request.body = std::move(plain).value();
        request.headers.erase("content-encoding");
      } else {
        const bool too_big = plain.status().code() == Status::Code::kUnsupported;
        refused = HttpResponse::Error(too_big ? 413 : 400, plain.status().message());
      }
    } else {
      refused = HttpResponse::Error(415, "unsupported Content-Encoding '" + encoding +
                                             "' (use gzip, deflate or none)");
    }
    if (refused.status != 200) {
      Send(conn, refused, head);
      return refused.status;
    }
  }
  HttpResponse response = impl->handler(request);
  Send(conn, response, head);
  return response.status;
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
  const char* mg_options[] = {"listening_ports", options.listen.c_str(),
                              "num_threads", threads.c_str(),
                              "enable_keep_alive", "yes",
                              "keep_alive_timeout_ms", "5000",
                              "tcp_nodelay", "1",
                              "request_timeout_ms", timeout.c_str(),
                              "max_request_size", "65536",
                              nullptr};
  mg_callbacks callbacks;
  std::memset(&callbacks, 0, sizeof callbacks);
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
    mg_stop(impl_->ctx);
    impl_->ctx = nullptr;
  }
}

HttpServer::~HttpServer() { Stop(); }

}  // namespace mesh
