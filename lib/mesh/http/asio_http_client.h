// AsioHttpClient: the HttpClient of meshproxy's calls to meshd, on Boost.Asio and Beast, so that
// the proxy does not load libcurl and the twenty libraries it brings. Same contract as
// CurlHttpClient: synchronous; the timeout bounds the whole call (resolve, connect, TLS
// handshake, send and receive); a transport failure (bad URL, refused, timed out, unreadable
// or oversized answer) is an error Status naming the URL, any HTTP answer is a response.
//
// It keeps one keep-alive connection, to the last scheme, host and port, and reuses it; a kept
// connection that fails before any byte of the answer (the server closed it meanwhile) is
// replaced once by a fresh one. https:// trusts the system's CAs (OpenSSL's default paths,
// so SSL_CERT_FILE and SSL_CERT_DIR apply), or exactly the CA UseTls gives, sends SNI and
// checks the host name (or IP address); UseTls may also give a client certificate to present. OpenSSL is set
// up only when the first https:// URL is used: plain HTTP never initialises it.
//
// Not thread-safe: one per thread, but for Cancel.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "mesh/http/client_tls.h"
#include "mesh/http/http_client.h"

namespace mesh {

class AsioHttpClient : public HttpClient {
 public:
  static constexpr size_t kMaxResponseBytes = size_t{256} << 20;

  // An answer whose body is larger than `max_response_bytes` is an IOError.
  explicit AsioHttpClient(long timeout_ms = 10000, size_t max_response_bytes = kMaxResponseBytes);
  ~AsioHttpClient() override;
  AsioHttpClient(const AsioHttpClient&) = delete;
  AsioHttpClient& operator=(const AsioHttpClient&) = delete;

  // What https:// calls trust and present, from the next call on; a change (a renewed
  // certificate Set on `tls`) closes the kept connection. A CA or a certificate that does not
  // load fails the next https:// call.
  void UseTls(std::shared_ptr<const ClientTls> tls);
  void SetTls(ClientTlsOptions options) { UseTls(std::make_shared<const ClientTls>(std::move(options))); }

  // From any thread: ends the call in progress, and fails every later one, with an IOError at
  // once; a long-poll's client is cancelled so that its thread stops without waiting out the call.
  void Cancel();

  // Errors: InvalidArgument for a URL that is not http(s)://host[:port][/target], a method
  // that is not a token or a header with a CR, LF or NUL; IOError for a transport failure.
  Result<HttpClientResponse> Send(
      const std::string& method, const std::string& url, const std::string& body,
      const std::vector<std::pair<std::string, std::string>>& headers) override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mesh
