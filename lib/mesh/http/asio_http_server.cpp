#include "mesh/http/asio_http_server.h"
#include "mesh/http/verified_peer.h"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cctype>
#include <charconv>
#include <chrono>
#include <exception>
#include <limits>
#include <mutex>
#include <optional>
#include <set>
#include <string_view>
#include <thread>
#include <variant>
#include <vector>

#include "mesh/http/deferred_response.h"
#include "mesh/base/busy_time.h"
#include "mesh/http/http_message.h"

namespace mesh {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Strand = asio::strand<asio::io_context::executor_type>;
using RequestParser = http::request_parser<http::string_body>;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

// HttpServer's limit (civetweb keeps 64 headers and drops the rest), kept so that either server
// refuses the same requests.
constexpr size_t kMaxHeaders = 63;
// Before closing a connection, read what the client still sends for a while: closing a socket
// with unread input resets it, and the client could lose the refusal just written.
constexpr auto kLingerTimeout = std::chrono::seconds(1);
constexpr size_t kLingerBytes = 256 << 10;
constexpr std::string_view kBadVersion =
    "request refused before routing: Bad HTTP version (HTTP/1.1 and HTTP/1.0 only)";

auto Redirect(beast::error_code& ec) { return asio::redirect_error(asio::use_awaitable, ec); }

// Beast 1.74 speaks boost::string_view.
std::string_view Sv(beast::string_view s) { return {s.data(), s.size()}; }

bool IsParseError(const beast::error_code& ec) {
  return ec.category() == http::make_error_code(http::error::bad_method).category() &&
         ec != http::error::end_of_stream && ec != http::error::partial_message;
}

bool SaysClose(const HttpResponse& r) {
  return std::any_of(r.headers.begin(), r.headers.end(), [](const auto& header) {
    return beast::iequals(header.first, "Connection") && beast::iequals(header.second, "close");
  });
}

HttpResponse Refusal(int status, std::string_view message) {
  HttpResponse refused = HttpResponse::Error(status, message);
  refused.headers.emplace_back("Connection", "close");
  return refused;
}

// The head HttpServer writes: status line, Content-Type, Content-Length, Cache-Control, then
// the handler's headers. An unsafe header turns the whole answer into a 500.
std::string ResponseHead(HttpResponse& r) {
  if (!HasSafeHeaders(r)) {
    r = HttpResponse::Error(
        500, "the handler built an invalid response header (a CR, LF or NUL, or a bad name)");
  }
  const http::status status = http::int_to_status(static_cast<unsigned>(r.status));
  const std::string_view reason =
      status == http::status::unknown ? "" : Sv(http::obsolete_reason(status));
  std::string head = "HTTP/1.1 " + std::to_string(r.status) + " " + std::string(reason) +
                     "\r\nContent-Type: " + r.content_type +
                     "\r\nContent-Length: " + std::to_string(r.body.size()) +
                     "\r\nCache-Control: no-store\r\n";
  for (const auto& [name, value] : r.headers) head += name + ": " + value + "\r\n";
  return head + "\r\n";
}

// RFC 3986 section 5.2.4 on the still-encoded path: "." segments go, ".." removes the segment
// before it and never climbs above the root. Backslashes count as slashes, as civetweb has it.
std::string RemoveDotSegments(std::string raw) {
  std::replace(raw.begin(), raw.end(), '\\', '/');
  std::vector<std::string_view> kept;
  bool ends_in_dir = false;
  const std::string_view path(raw);
  for (size_t start = 1;;) {  // path[0] is '/'
    const size_t end = path.find('/', start);
    const std::string_view segment =
        path.substr(start, end == std::string_view::npos ? end : end - start);
    const bool dot = segment == ".", dot_dot = segment == "..";
    if (dot_dot && !kept.empty()) kept.pop_back();
    if (!dot && !dot_dot) kept.push_back(segment);
    if (end == std::string_view::npos) {
      ends_in_dir = dot || dot_dot;
      break;
    }
    start = end + 1;
  }
  std::string out;
  for (std::string_view segment : kept) out.append("/").append(segment);
  if (ends_in_dir || out.empty()) out += '/';
  return out;
}

// The request as the handler sees it, body aside, or the refusal it gets instead.
std::variant<HttpRequest, HttpResponse> ReadHead(const http::request<http::string_body>& head,
                                                 size_t head_bytes,
                                                 const AsioHttpServer::Options& limits) {
  if (head.version() != 10 && head.version() != 11) {
    return Refusal(505, kBadVersion);
  }
  const std::string_view target = Sv(head.target());
  if (target.size() > limits.max_url_bytes) {
    return Refusal(414, "request target (path and query) longer than " +
                            std::to_string(limits.max_url_bytes) + " bytes");
  }
  if (static_cast<size_t>(std::distance(head.begin(), head.end())) > kMaxHeaders) {
    return Refusal(431, "more than " + std::to_string(kMaxHeaders) + " request headers");
  }
  if (head_bytes > limits.max_header_bytes) {
    return Refusal(431, "request line and headers larger than " +
                            std::to_string(limits.max_header_bytes) + " bytes");
  }
  // An absolute-form target is a request for a proxy, and this is not one.
  if (target.empty() || target.front() != '/') {
    return Refusal(400, "the request target must be a path starting with '/'");
  }
  HttpRequest request;
  request.method = std::string(Sv(head.method_string()));
  const size_t question = target.find('?');
  Result<std::string> path = DecodeRequestPath(RemoveDotSegments(std::string(target.substr(0, question))));
  if (!path.ok()) return Refusal(400, path.status().message());
  request.path = std::move(path).value();
  if (question != std::string_view::npos)
    request.query = ParseQueryString(target.substr(question + 1));
  for (const auto& field : head) {
    std::string name(Sv(field.name_string()));
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    request.headers[name] = std::string(Sv(field.value()));
  }
  // A body framed both ways is ambiguous (request smuggling): a proxy in front may have honoured
  // the other framing.
  if (head.count(http::field::content_length) > 0 &&
      head.count(http::field::transfer_encoding) > 0) {
    return Refusal(400, "both Transfer-Encoding and Content-Length: the body's end is ambiguous");
  }
  // Beast reads a body whose Transfer-Encoding does not end in chunked as empty, and would take
  // its bytes for the next request (RFC 9112 section 6.3: refuse and close).
  if (head.count(http::field::transfer_encoding) > 0 && !head.chunked()) {
    return Refusal(400, "a Transfer-Encoding that does not end in chunked: the body's end is unknown");
  }
  return request;
}

HttpResponse CallHandler(const HttpHandler& handler, const HttpRequest& request) {
  try {
    return handler(request);
  } catch (const std::exception& e) {
    return HttpResponse::Error(500, std::string("internal error: ") + e.what());
  } catch (...) {
    return HttpResponse::Error(500, "internal error");
  }
}

Result<tcp::endpoint> ParseListen(const std::string& listen) {
  const size_t colon = listen.rfind(':');
  const auto invalid = [&](const std::string& why) {
    return Status::InvalidArgument("invalid listen address '" + listen + "': " + why +
                                   " (expected host:port, e.g. 127.0.0.1:9000)");
  };
  if (colon == std::string::npos || colon + 1 == listen.size()) return invalid("no port");
  int port = -1;
  const char* first = listen.data() + colon + 1;
  const char* last = listen.data() + listen.size();
  if (auto [end, ec] = std::from_chars(first, last, port);
      ec != std::errc() || end != last || port < 0 || port > 65535) {
    return invalid("the port is not a number in 0..65535");
  }
  std::string host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  if (host.empty()) host = "0.0.0.0";
  if (host == "localhost") host = "127.0.0.1";
  beast::error_code ec;
  const asio::ip::address address = asio::ip::make_address(host, ec);
  if (ec) return invalid("the host is not a numeric address");
  return tcp::endpoint(address, static_cast<unsigned short>(port));
}

Result<std::unique_ptr<asio::ssl::context>> MakeTlsContext(const AsioHttpServer::Options::Tls& tls) {
  auto ctx = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
  beast::error_code ec;
  ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                       asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                       asio::ssl::context::no_tlsv1_1,
                   ec);
  if (!ec) ctx->use_certificate_chain(asio::buffer(tls.certificate_pem), ec);
  if (!ec) ctx->use_private_key(asio::buffer(tls.private_key_pem), asio::ssl::context::pem, ec);
  if (!ec) ctx->add_certificate_authority(asio::buffer(tls.client_ca_pem), ec);
  if (ec) return Status::InvalidArgument("TLS: " + ec.message());
  if (SSL_CTX_check_private_key(ctx->native_handle()) != 1) {
    return Status::InvalidArgument("TLS: the private key is not the certificate's");
  }
  // Asked for, not required: tokens still work over TLS; one presented must verify.
  ctx->set_verify_mode(asio::ssl::verify_peer);
  // OpenSSL refuses to resume a session with client certificates outside a named context.
  static constexpr unsigned char kSessionContext[] = "mesh-http";
  SSL_CTX_set_session_id_context(ctx->native_handle(), kSessionContext, sizeof(kSessionContext) - 1);
  return ctx;
}

}  // namespace

struct AsioHttpServer::Impl {
  Impl(Options o, HttpHandler h) : options(std::move(o)), handler(std::move(h)) {}

  void SpawnAccept();
  asio::awaitable<void> Accept();
  asio::awaitable<void> Session(tcp::socket socket);
  // Serves requests until the connection is to close; `peer_spiffe_id` is the verified client
  // certificate's identity (TLS), put on every request.
  template <class Stream>
  asio::awaitable<void> Serve(Stream& stream, std::string peer_spiffe_id);
  // Runs the handler on a handler thread; the coroutine resumes on its own executor.
  asio::awaitable<HttpResponse> RunHandler(const HttpRequest& request);
  // Holds a deferred answer's connection until it is completed (its answer) or the client
  // leaves (nullopt), watching the socket meanwhile; no handler thread waits.
  template <class Stream>
  asio::awaitable<std::optional<HttpResponse>> AwaitDeferred(Stream& stream, beast::flat_buffer& buffer,
                                                             std::shared_ptr<DeferredResponse> deferred);
  template <class Stream>
  static asio::awaitable<void> Write(Stream& stream, HttpResponse response, bool head);
  static asio::awaitable<void> Linger(beast::tcp_stream& stream);
  void ConnectionEnded();

  const Options options;
  const HttpHandler handler;
  std::unique_ptr<asio::ssl::context> tls;  // null: plain HTTP
  std::atomic<size_t> connections{0};
  // Deferred answers awaited now: abandoned by Stop, so that none is delivered to a gone loop.
  std::mutex parked_mu;
  std::set<std::shared_ptr<DeferredResponse>> parked;
  BusyTime handler_busy{SystemClock::Instance()};

  // What Stop destroys once the threads are joined: the acceptor and timer, then the io_context,
  // which destroys the coroutines suspended on it and so closes their sockets.
  struct Loop {
    asio::io_context ioc;
    Strand accept_strand{asio::make_strand(ioc)};
    tcp::acceptor acceptor{accept_strand};
    // Cancelled when a connection ends, to wake an accept loop that waits for a free slot.
    asio::steady_timer slot_freed{accept_strand};
    std::vector<std::thread> threads;
    // Declared after the io_context, so destroyed before it: a handler's answer still queued
    // holds its connection's coroutine, whose socket belongs to the io_context.
    std::unique_ptr<asio::thread_pool> handlers;
  };
  std::unique_ptr<Loop> loop;
};

void AsioHttpServer::Impl::SpawnAccept() {
  // An accept loop that ended on an exception (an allocation, a timer) starts again, so that
  // the port never silently stops accepting; it ends for good once the acceptor is closed.
  asio::co_spawn(loop->accept_strand, Accept(), [this](std::exception_ptr failed) {
    if (failed && loop->acceptor.is_open()) SpawnAccept();
  });
}

asio::awaitable<void> AsioHttpServer::Impl::Accept() {
  Loop& l = *loop;
  for (;;) {
    beast::error_code ec;
    // Past max_connections, new clients wait in the listen backlog rather than being refused.
    while (connections.load() >= options.max_connections) {
      l.slot_freed.expires_at(asio::steady_timer::time_point::max());
      co_await l.slot_freed.async_wait(Redirect(ec));
    }
    tcp::socket socket = co_await l.acceptor.async_accept(asio::make_strand(l.ioc), Redirect(ec));
    if (ec) {
      if (!l.acceptor.is_open()) co_return;
      // Out of descriptors or similar: pause instead of spinning.
      asio::steady_timer pause(l.accept_strand, std::chrono::milliseconds(50));
      co_await pause.async_wait(Redirect(ec));
      continue;
    }
    ++connections;
    const auto executor = socket.get_executor();
    // Nothing may escape a connection into the io_context: whatever it throws ends it here.
    asio::co_spawn(executor, Session(std::move(socket)),
                   [this](std::exception_ptr) { ConnectionEnded(); });
  }
}

void AsioHttpServer::Impl::ConnectionEnded() {
  // Decremented before the wake-up is posted: the accept loop, on its strand, either sees the
  // free slot before it waits or is woken by the cancel.
  --connections;
  asio::post(loop->accept_strand, [this] { loop->slot_freed.cancel(); });
}

asio::awaitable<void> AsioHttpServer::Impl::Session(tcp::socket socket) {
  if (!tls) {
    beast::tcp_stream stream(std::move(socket));
    co_await Serve(stream, "");
    co_await Linger(stream);
    co_return;
  }
  TlsStream stream(beast::tcp_stream(std::move(socket)), *tls);
  beast::error_code ec;
  stream.next_layer().expires_after(std::chrono::milliseconds(options.header_timeout_ms));
  co_await stream.async_handshake(asio::ssl::stream_base::server, Redirect(ec));
  if (ec) co_return;  // not TLS, a client certificate that does not verify, too slow
  co_await Serve(stream, VerifiedPeerSpiffeId(stream.native_handle()));
  co_await Linger(stream.next_layer());
}

template <class Stream>
asio::awaitable<void> AsioHttpServer::Impl::Serve(Stream& stream, std::string peer_spiffe_id) {
  beast::error_code ec;
  beast::tcp_stream& tcp_layer = beast::get_lowest_layer(stream);
  tcp_layer.socket().set_option(tcp::no_delay(true), ec);
  const tcp::endpoint remote = tcp_layer.socket().remote_endpoint(ec);
  const std::string client = ec ? std::string() : remote.address().to_string();
  const auto request_timeout = std::chrono::milliseconds(options.request_timeout_ms);
  const auto header_timeout =
      std::min(std::chrono::milliseconds(options.header_timeout_ms), request_timeout);
  beast::flat_buffer buffer;
  for (bool first = true;; first = false) {
    // Between requests only the first byte of the next one is awaited, for the idle timeout;
    // from that byte (from the accept, for a first request) the head and the whole request
    // have fixed deadlines, which no trickle of bytes pushes back.
    if (!first && buffer.size() == 0) {
      tcp_layer.expires_after(std::chrono::milliseconds(options.keep_alive_timeout_ms));
      buffer.commit(co_await stream.async_read_some(buffer.prepare(16 << 10), Redirect(ec)));
      if (ec) co_return;  // idle too long, or the client left
    }
    const auto started = std::chrono::steady_clock::now();
    RequestParser parser;
    // Room for twice the limit, so that a head over it is still parsed and gets its precise 414
    // or 431 (HttpServer's civetweb buffer is sized the same way).
    parser.header_limit(static_cast<uint32_t>(
        std::min<size_t>(2 * options.max_header_bytes, std::numeric_limits<uint32_t>::max())));
    parser.body_limit(options.max_body_bytes);
    tcp_layer.expires_at(started + header_timeout);
    const size_t head_bytes =
        co_await http::async_read_header(stream, buffer, parser, Redirect(ec));
    if (ec == http::error::header_limit) {
      co_return co_await Write(
          stream,
          Refusal(431, "request line and headers larger than " +
                           std::to_string(options.max_header_bytes) + " bytes"),
          false);
    }
    if (ec == http::error::body_limit) {  // a Content-Length over the limit
      co_return co_await Write(stream,
                               Refusal(413, "request body larger than " +
                                                std::to_string(options.max_body_bytes) + " bytes"),
                               false);
    }
    if (ec == http::error::bad_version) {  // Beast reads only HTTP/1.x
      co_return co_await Write(stream, Refusal(505, kBadVersion), false);
    }
    if (IsParseError(ec)) {
      co_return co_await Write(
          stream,
          Refusal(400, "request refused before routing: malformed request (" + ec.message() + ")"),
          false);
    }
    if (ec) co_return;  // the client left, or was too slow: nobody to answer
    const auto deadline = started + request_timeout;
    const bool head = parser.get().method() == http::verb::head;
    std::variant<HttpRequest, HttpResponse> read = ReadHead(parser.get(), head_bytes, options);
    if (auto* refused = std::get_if<HttpResponse>(&read))
      co_return co_await Write(stream, std::move(*refused), head);
    HttpRequest& request = std::get<HttpRequest>(read);
    request.remote_addr = client;
    request.peer_spiffe_id = peer_spiffe_id;
    if (!parser.is_done()) {
      tcp_layer.expires_at(deadline);
      if (beast::iequals(parser.get()[http::field::expect], "100-continue")) {
        constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
        co_await asio::async_write(stream, asio::buffer(kContinue), Redirect(ec));
        if (ec) co_return;
      }
      co_await http::async_read(stream, buffer, parser, Redirect(ec));
      if (ec == http::error::body_limit) {
        co_return co_await Write(
            stream,
            Refusal(413, "request body larger than " + std::to_string(options.max_body_bytes) +
                             " bytes"),
            head);
      }
      if (ec == beast::error::timeout) co_return;
      if (ec) {
        // Cut short or malformed (a bad chunk): not a request.
        co_return co_await Write(
            stream, Refusal(400, "request body incomplete or malformed (" + ec.message() + ")"),
            head);
      }
    }
    request.body = std::move(parser.get().body());
    HttpResponse response;
    if (options.answers_inline && options.answers_inline(request)) {
      response = CallHandler(handler, request);
    } else {
      response = co_await RunHandler(request);
    }
    if (response.deferred) {
      std::optional<HttpResponse> answer = co_await AwaitDeferred(stream, buffer, std::move(response.deferred));
      if (!answer) co_return;  // the client left
      response = std::move(*answer);
    }
    const bool keep_alive = parser.get().keep_alive() && !SaysClose(response);
    // The answer gets a timeout of its own: a slow handler must not leave it none.
    tcp_layer.expires_after(request_timeout);
    co_await Write(stream, std::move(response), head);
    if (!keep_alive || !tcp_layer.socket().is_open()) co_return;
  }
}

asio::awaitable<HttpResponse> AsioHttpServer::Impl::RunHandler(const HttpRequest& request) {
  // The request lives in the suspended coroutine's frame until the answer resumes it.
  co_return co_await asio::async_initiate<decltype(asio::use_awaitable), void(HttpResponse)>(
      [this, &request](auto resume) {
        asio::post(*loop->handlers, [this, &request, resume = std::move(resume)]() mutable {
          HttpResponse response;
          {
            BusyTime::Scope busy(handler_busy);
            response = CallHandler(handler, request);
          }
          const auto executor = asio::get_associated_executor(resume);
          asio::post(executor, [resume = std::move(resume), response = std::move(response)]() mutable {
            resume(std::move(response));
          });
        });
      },
      asio::use_awaitable);
}

namespace {
// What a parked connection waits for, changed only on the connection's strand.
struct ParkedConnection {
  explicit ParkedConnection(const asio::any_io_executor& executor) : wake(executor) {}
  asio::steady_timer wake;  // cancelled at each event
  std::optional<HttpResponse> answer;
  bool reading = true;
  beast::error_code read_error;
};
}  // namespace

template <class Stream>
asio::awaitable<std::optional<HttpResponse>> AsioHttpServer::Impl::AwaitDeferred(
    Stream& stream, beast::flat_buffer& buffer, std::shared_ptr<DeferredResponse> deferred) {
  const asio::any_io_executor executor = co_await asio::this_coro::executor;
  auto parked = std::make_shared<ParkedConnection>(executor);
  {
    std::lock_guard lock(parked_mu);
    this->parked.insert(deferred);
  }
  deferred->OnComplete([parked, executor](HttpResponse answer) {
    asio::post(executor, [parked, answer = std::move(answer)]() mutable {
      parked->answer = std::move(answer);
      parked->wake.cancel();
    });
  });
  // A read while parked tells a client that left (EOF, reset) from one still waiting; bytes it
  // brings (a pipelined request) stay in the buffer for the next turn.
  beast::tcp_stream& tcp_layer = beast::get_lowest_layer(stream);
  tcp_layer.expires_never();
  stream.async_read_some(buffer.prepare(16 << 10), [parked, &buffer](beast::error_code ec, size_t n) {
    buffer.commit(n);
    parked->reading = false;
    parked->read_error = ec;
    parked->wake.cancel();
  });
  bool read_cancelled = false;
  beast::error_code ec;
  for (;;) {
    const bool client_left = !parked->reading && parked->read_error && parked->read_error != asio::error::operation_aborted;
    if (parked->answer && !parked->reading) break;
    if (client_left && !parked->answer) break;
    if (parked->answer && !read_cancelled) {
      read_cancelled = true;
      tcp_layer.cancel();  // ends the read, whose handler wakes this loop once more
    }
    parked->wake.expires_at(asio::steady_timer::time_point::max());
    co_await parked->wake.async_wait(Redirect(ec));
  }
  {
    std::lock_guard lock(parked_mu);
    this->parked.erase(deferred);
  }
  if (!parked->answer) {
    deferred->Abandon();
    co_return std::nullopt;
  }
  co_return std::move(parked->answer);
}

template <class Stream>
asio::awaitable<void> AsioHttpServer::Impl::Write(Stream& stream, HttpResponse response, bool head) {
  const std::string text = ResponseHead(response);
  std::array<asio::const_buffer, 2> pieces{asio::buffer(text), asio::buffer(response.body)};
  beast::error_code ec;
  // A HEAD answer announces the body's length without the body.
  co_await asio::async_write(stream, head ? std::array{pieces[0], asio::const_buffer()} : pieces,
                             Redirect(ec));
  if (ec) beast::get_lowest_layer(stream).socket().close(ec);
}

asio::awaitable<void> AsioHttpServer::Impl::Linger(beast::tcp_stream& stream) {
  beast::error_code ec;
  if (!stream.socket().is_open()) co_return;
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  if (ec) co_return;
  stream.expires_after(kLingerTimeout);
  std::array<char, 16 << 10> sink;
  for (size_t drained = 0; drained < kLingerBytes;) {
    drained += co_await stream.async_read_some(asio::buffer(sink), Redirect(ec));
    if (ec) break;
  }
  stream.socket().close(ec);
}

Result<std::unique_ptr<AsioHttpServer>> AsioHttpServer::Start(const Options& options,
                                                              HttpHandler handler) {
  Result<tcp::endpoint> at = ParseListen(options.listen);
  if (!at.ok()) return at.status();
  if (options.threads < 1 || options.io_threads < 1 || options.max_connections < 1) {
    return Status::InvalidArgument(
        "an HTTP server needs at least one handler thread, one I/O thread and one connection");
  }
  std::unique_ptr<AsioHttpServer> server(new AsioHttpServer());
  server->impl_ = std::make_unique<Impl>(options, std::move(handler));
  Impl& impl = *server->impl_;
  if (options.tls) {
    Result<std::unique_ptr<asio::ssl::context>> tls = MakeTlsContext(*options.tls);
    if (!tls.ok()) return tls.status();
    impl.tls = std::move(tls).value();
  }
  impl.loop = std::make_unique<Impl::Loop>();
  tcp::acceptor& acceptor = impl.loop->acceptor;
  beast::error_code ec;
  acceptor.open(at->protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(*at, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return Status::IOError("cannot listen on " + options.listen + ": " + ec.message());
  server->port_ = acceptor.local_endpoint(ec).port();
  impl.loop->handlers = std::make_unique<asio::thread_pool>(static_cast<size_t>(options.threads));
  impl.SpawnAccept();
  for (int i = 0; i < options.io_threads; ++i) {
    // Whatever escapes a handler must not end the process (meshproxy runs this server):
    // the io_context goes on after it.
    impl.loop->threads.emplace_back([&ioc = impl.loop->ioc] {
      for (;;) {
        try {
          ioc.run();
          return;
        } catch (...) {
        }
      }
    });
  }
  return server;
}

void AsioHttpServer::Stop() {
  if (!impl_ || !impl_->loop) return;
  impl_->loop->ioc.stop();
  for (std::thread& t : impl_->loop->threads) t.join();
  // A deferred answer completed from now on is dropped (its connection closes below).
  {
    std::lock_guard lock(impl_->parked_mu);
    for (const std::shared_ptr<DeferredResponse>& deferred : impl_->parked) deferred->Abandon();
    impl_->parked.clear();
  }
  // Handlers not yet started never run; one running is waited for. (No pool: Start failed.)
  if (impl_->loop->handlers) {
    impl_->loop->handlers->stop();
    impl_->loop->handlers->join();
  }
  // Destroying the io_context destroys the coroutines suspended on it, and with them their
  // sockets: every connection closes now, idle or mid-request.
  impl_->loop.reset();
}

AsioHttpServer::Usage AsioHttpServer::usage() const {
  return {.connections = impl_->connections.load(),
          .handler_threads = impl_->options.threads,
          .handler_busy_ns = impl_->handler_busy.TotalNs()};
}

AsioHttpServer::~AsioHttpServer() { Stop(); }

}  // namespace mesh
