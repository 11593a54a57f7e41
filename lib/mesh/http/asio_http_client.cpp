#include "mesh/http/asio_http_client.h"

#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http.hpp>
#include <atomic>
#include <chrono>
#include <exception>
#include <functional>
#include <optional>
#include <string_view>

#include "mesh/http/http_message.h"
#include "mesh/http/http_url.h"

namespace mesh {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using Done = std::function<void(beast::error_code)>;

// Beast's default is 8 KiB; meshd's heads are small, but curl took up to 100 KiB.
constexpr uint32_t kMaxHeadBytes = 64 << 10;

// One connection: TCP, with TLS on top for https://.
struct Connection {
  explicit Connection(asio::io_context& io) : socket(io) {}
  template <typename F>
  void WithStream(F&& f) {
    if (tls) {
      f(*tls);
    } else {
      f(socket);
    }
  }

  tcp::socket socket;
  std::optional<ssl::stream<tcp::socket&>> tls;
  std::string key;  // scheme and authority, once connected
};

}  // namespace

struct AsioHttpClient::Impl {
  std::chrono::milliseconds timeout;
  size_t max_response_bytes;
  asio::io_context io{1};
  // Made for the first https:// URL: creating it initialises OpenSSL and loads its config,
  // which meshproxy without TLS to meshd has no use for.
  std::unique_ptr<ssl::context> tls_context;
  std::shared_ptr<const ClientTls> tls_source;
  std::shared_ptr<const ClientTlsOptions> tls_options;  // what tls_context was made from
  std::unique_ptr<Connection> connection;
  beast::flat_buffer buffer;
  std::chrono::steady_clock::time_point deadline;
  std::atomic<bool> cancelled{false};  // Cancel: no call goes on

  // Runs the operation `start` begins until it calls its Done or the call's deadline passes.
  // On the deadline the socket is closed so that the operation ends (aborted), and its
  // handlers run before this returns: they use the caller's buffers. A resolve cannot be
  // aborted: its handler uses only state it shares, and runs whenever the resolve ends.
  beast::error_code Await(const std::function<void(Done)>& start) {
    auto result = std::make_shared<std::optional<beast::error_code>>();
    start([result](beast::error_code ec) { *result = ec; });
    io.restart();
    while (!*result && io.run_one_until(deadline) > 0) {
    }
    if (*result) return **result;
    if (connection) {
      beast::error_code ignored;
      connection->socket.close(ignored);
    }
    io.restart();
    io.poll();
    return asio::error::timed_out;
  }

  void Close() {
    connection.reset();
    buffer.clear();
  }

  std::string Describe(beast::error_code ec) const {
    if (ec == asio::error::timed_out)
      return "timed out after " + std::to_string(timeout.count()) + " ms";
    if (ec == http::error::body_limit)
      return "answer larger than " + std::to_string(max_response_bytes) + " bytes";
    if (ec == http::error::header_limit)
      return "answer head larger than " + std::to_string(kMaxHeadBytes) + " bytes";
    std::string what = ec.message();
    if (connection && connection->tls) {
      const long verify = SSL_get_verify_result(connection->tls->native_handle());
      if (verify != X509_V_OK)
        what += std::string(" (") + X509_verify_cert_error_string(verify) + ")";
    }
    return what;
  }

  Status MakeTlsContext() {
    try {
      auto context = std::make_unique<ssl::context>(ssl::context::tls_client);
      beast::error_code ec;
      static const ClientTlsOptions kSystemTrust;
      const ClientTlsOptions& options = tls_options ? *tls_options : kSystemTrust;
      if (options.ca_pem.empty()) {
        context->set_default_verify_paths(ec);
        if (ec) return Status::IOError("cannot load the system's CA certificates: " + ec.message());
      } else {
        context->add_certificate_authority(asio::buffer(options.ca_pem), ec);
        if (ec) return Status::InvalidArgument("the CA to trust is not a PEM certificate: " + ec.message());
      }
      if (!options.certificate_pem.empty()) {
        context->use_certificate_chain(asio::buffer(options.certificate_pem), ec);
        if (!ec) context->use_private_key(asio::buffer(options.private_key_pem), ssl::context::pem, ec);
        if (ec || SSL_CTX_check_private_key(context->native_handle()) != 1) {
          return Status::InvalidArgument("the client certificate and key do not load or do not match");
        }
      }
      context->set_verify_mode(options.verify_server ? ssl::verify_peer : ssl::verify_none);
      tls_context = std::move(context);
      return Status::Ok();
    } catch (const std::exception& e) {  // asio's context constructor throws
      return Status::IOError(std::string("cannot set up TLS: ") + e.what());
    }
  }

  // A new connection to `url`'s host and port, in place of the kept one.
  Status Connect(const HttpUrl& url, const std::string& key, const std::string& full_url) {
    Close();
    if (url.tls && !tls_context) {
      if (Status s = MakeTlsContext(); !s.ok()) return s.WithContext(full_url);
    }
    connection = std::make_unique<Connection>(io);
    const auto fail = [&](beast::error_code ec) {
      Status s = Status::IOError("cannot reach " + full_url + ": " + Describe(ec));
      Close();
      return s;
    };
    std::vector<tcp::endpoint> endpoints;
    beast::error_code ec;
    const asio::ip::address address = asio::ip::make_address(url.host, ec);
    const bool is_address = !ec;
    if (is_address) {  // no resolver for an address: it would refuse ::1 on hosts without IPv6
                       // routes
      endpoints.emplace_back(address, static_cast<uint16_t>(url.port));
    } else {
      tcp::resolver resolver(io);
      auto found = std::make_shared<tcp::resolver::results_type>();
      ec = Await([&](Done done) {
        resolver.async_resolve(
            url.host, std::to_string(url.port),
            [done, found](beast::error_code e, tcp::resolver::results_type results) {
              *found = std::move(results);
              done(e);
            });
      });
      if (ec) return fail(ec);
      for (const auto& entry : *found) endpoints.push_back(entry.endpoint());
    }
    ec = Await([&](Done done) {
      asio::async_connect(connection->socket, endpoints,
                          [done](beast::error_code e, const tcp::endpoint&) { done(e); });
    });
    if (ec) return fail(ec);
    connection->socket.set_option(tcp::no_delay(true), ec);
    connection->socket.set_option(asio::socket_base::keep_alive(true), ec);
    if (url.tls) {
      connection->tls.emplace(connection->socket, *tls_context);
      SSL* ssl = connection->tls->native_handle();
      // SNI names hosts only; the certificate must name the host (or address) of the URL.
      const bool named =
          is_address ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), url.host.c_str()) == 1
                     : SSL_set_tlsext_host_name(ssl, url.host.c_str()) == 1 &&
                           SSL_set1_host(ssl, url.host.c_str()) == 1;
      if (!named) return fail(asio::error::invalid_argument);
      ec = Await([&](Done done) {
        connection->tls->async_handshake(ssl::stream_base::client,
                                         [done](beast::error_code e) { done(e); });
      });
      if (ec) return fail(ec);
    }
    connection->key = key;
    return Status::Ok();
  }

  // Sends `request` on the connection and reads the answer. `answered`: some of the answer
  // came, so the request must not be sent again.
  beast::error_code Exchange(http::request<http::string_body>& request,
                             HttpClientResponse& response, bool& answered) {
    buffer.clear();
    beast::error_code ec = Await([&](Done done) {
      connection->WithStream([&](auto& stream) {
        http::async_write(stream, request, [done](beast::error_code e, size_t) { done(e); });
      });
    });
    if (ec) return ec;
    http::response_parser<http::string_body> parser;
    parser.body_limit(max_response_bytes);
    parser.header_limit(kMaxHeadBytes);
    if (request.method() == http::verb::head) parser.skip(true);
    // The head first: Beast 1.74 misses a Content-Length over the body limit when it parses
    // head and body in one go, as http::async_read of a whole message does.
    ec = Await([&](Done done) {
      connection->WithStream([&](auto& stream) {
        http::async_read_header(stream, buffer, parser,
                                [done](beast::error_code e, size_t) { done(e); });
      });
    });
    answered = parser.got_some() || buffer.size() > 0;
    if (ec) return ec;
    if (!parser.is_done()) {  // a HEAD answer's Content-Length announces no body
      if (parser.content_length().value_or(0) > max_response_bytes) return http::error::body_limit;
      ec = Await([&](Done done) {
        connection->WithStream([&](auto& stream) {
          http::async_read(stream, buffer, parser,
                           [done](beast::error_code e, size_t) { done(e); });
        });
      });
      if (ec) return ec;
    }
    response.status = static_cast<int>(parser.get().result_int());
    response.body = std::move(parser.get().body());
    for (const auto& field : parser.get()) {
      response.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    // Bytes past the answer mean the connection is out of step: not kept.
    if (!parser.get().keep_alive() || buffer.size() > 0) Close();
    return {};
  }
};

AsioHttpClient::AsioHttpClient(long timeout_ms, size_t max_response_bytes)
    : impl_(std::make_unique<Impl>()) {
  impl_->timeout = std::chrono::milliseconds(timeout_ms);
  impl_->max_response_bytes = max_response_bytes;
}

void AsioHttpClient::Cancel() {
  impl_->cancelled = true;
  // Runs on the calling Send's own loop, between its operations: closing the socket aborts the
  // one pending (a call not yet connected fails at its first step on a closed socket).
  asio::post(impl_->io, [impl = impl_.get()] {
    if (!impl->connection) return;
    beast::error_code ignored;
    impl->connection->socket.close(ignored);
  });
}

AsioHttpClient::~AsioHttpClient() = default;

void AsioHttpClient::UseTls(std::shared_ptr<const ClientTls> tls) {
  impl_->tls_source = std::move(tls);
  impl_->tls_options.reset();
  impl_->tls_context.reset();
  impl_->Close();
}

Result<HttpClientResponse> AsioHttpClient::Send(
    const std::string& method, const std::string& url, const std::string& body,
    const std::vector<std::pair<std::string, std::string>>& headers) {
  Result<HttpUrl> parsed = ParseHttpUrl(url);
  if (!parsed.ok()) return parsed.status();
  if (!IsHttpToken(method))
    return Status::InvalidArgument("invalid HTTP method '" + method + "' for " + url);
  http::request<http::string_body> request;
  request.method_string(method);
  request.target(parsed->target);
  request.version(11);
  request.set(http::field::host, parsed->Authority());
  for (const auto& [name, value] : headers) {
    if (!IsHttpToken(name) || !IsSafeHeaderValue(value)) {
      return Status::InvalidArgument("invalid header '" + name + "' for " + url);
    }
    if (beast::iequals(name, "host")) {
      request.set(http::field::host, value);  // the caller's Host wins, as with curl
    } else {
      request.insert(name, value);
    }
  }
  if (method != "GET" || !body.empty()) request.content_length(body.size());
  request.body() = body;

  Impl& d = *impl_;
  d.deadline = std::chrono::steady_clock::now() + d.timeout;
  const std::string key = (parsed->tls ? "https://" : "http://") + parsed->Authority();
  if (parsed->tls && d.tls_source) {
    // A renewed client certificate: a new context, and no connection made with the old one.
    if (std::shared_ptr<const ClientTlsOptions> now = d.tls_source->Get(); now != d.tls_options) {
      d.tls_options = std::move(now);
      d.tls_context.reset();
      d.Close();
    }
  }
  while (true) {
    if (d.cancelled) return Status::IOError("call to " + url + " cancelled");
    const bool reused = d.connection && d.connection->key == key;
    if (!reused) {
      if (Status s = d.Connect(*parsed, key, url); !s.ok()) return s;
    }
    HttpClientResponse response;
    bool answered = false;
    const beast::error_code ec = d.Exchange(request, response, answered);
    if (!ec) return response;
    const std::string what = d.Describe(ec);
    d.Close();
    // The server may close a kept connection at any time; a request it never answered is
    // sent again, once, on a fresh one.
    if (!reused || answered || ec == asio::error::timed_out) {
      return Status::IOError("request to " + url + " failed: " + what);
    }
  }
}

}  // namespace mesh
