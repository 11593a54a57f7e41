// CurlHttpClient: HttpClient on libcurl, for meshd and the CLIs (meshproxy uses AsioHttpClient
// so as not to load libcurl). It keeps one connection alive across calls; it is not thread-safe
// (use one per thread).
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "mesh/http/http_client.h"

namespace mesh {

class CurlHttpClient : public HttpClient {
 public:
  explicit CurlHttpClient(long timeout_ms = 10000);
  ~CurlHttpClient() override;
  Result<HttpClientResponse> Send(
      const std::string& method, const std::string& url, const std::string& body,
      const std::vector<std::pair<std::string, std::string>>& headers) override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mesh
