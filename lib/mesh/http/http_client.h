// HttpClient: the control plane's HTTP client, behind an interface so that callers can be
// tested with a fake. A transport failure (refused, timed out, bad URL) is an error Status; any
// HTTP answer, 5xx included, is a response: the caller decides what it means.
//
// Implementations: CurlHttpClient (http_curl/, libcurl) serves meshd and the CLIs; meshproxy
// uses AsioHttpClient (asio_http_client.h) so as not to load libcurl.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "mesh/base/status.h"

namespace mesh {

struct HttpClientResponse {
  int status = 0;
  std::string body;
};

class HttpClient {
 public:
  virtual ~HttpClient() = default;
  virtual Result<HttpClientResponse> Send(
      const std::string& method, const std::string& url, const std::string& body,
      const std::vector<std::pair<std::string, std::string>>& headers) = 0;
};

}  // namespace mesh
