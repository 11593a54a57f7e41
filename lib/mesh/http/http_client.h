// HttpClient: the control plane's HTTP client, behind an interface so that callers can be
// tested with a fake. A transport failure (refused, timed out, bad URL) is an error Status; any
// HTTP answer, 5xx included, is a response: the caller decides what it means.
//
// Implementations: CurlHttpClient (http_curl/, libcurl) serves meshd and the CLIs; meshproxy
// uses AsioHttpClient (asio_http_client.h) so as not to load libcurl.
#pragma once

#include <algorithm>
#include <cctype>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mesh/base/status.h"

namespace mesh {

struct HttpClientResponse {
  int status = 0;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // as received, in order

  // The first header named `name` (any case), or "".
  std::string Header(std::string_view name) const {
    for (const auto& [key, value] : headers) {
      if (key.size() == name.size() &&
          std::equal(key.begin(), key.end(), name.begin(), [](char a, char b) {
            return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
          })) {
        return value;
      }
    }
    return "";
  }
};

class HttpClient {
 public:
  virtual ~HttpClient() = default;
  virtual Result<HttpClientResponse> Send(
      const std::string& method, const std::string& url, const std::string& body,
      const std::vector<std::pair<std::string, std::string>>& headers) = 0;
};

}  // namespace mesh
