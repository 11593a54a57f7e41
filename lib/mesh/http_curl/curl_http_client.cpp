#include "mesh/http_curl/curl_http_client.h"

#include <curl/curl.h>

#include <cstdlib>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>
#include <utility>

namespace mesh {
namespace {

constexpr size_t kMaxResponseBytes = 256 << 20;

size_t Collect(char* data, size_t size, size_t n, void* user) {
  auto* body = static_cast<std::string*>(user);
  const size_t bytes = size * n;
  if (body->size() + bytes > kMaxResponseBytes) return 0;  // aborts the transfer
  body->append(data, bytes);
  return bytes;
}

// One header line ("Name: value\r\n"); a status line starts a new answer's headers (an
// interim 1xx before the final one). No exception may cross this C callback: a failed
// allocation aborts the transfer.
size_t CollectHeader(char* data, size_t size, size_t n, void* user) {
  auto* headers = static_cast<std::vector<std::pair<std::string, std::string>>*>(user);
  const size_t bytes = size * n;
  std::string_view line(data, bytes);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  if (line.starts_with("HTTP/")) {
    headers->clear();
    return bytes;
  }
  const size_t colon = line.find(':');
  if (colon == std::string_view::npos || headers->size() >= 256) return bytes;
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  try {
    headers->emplace_back(std::string(line.substr(0, colon)), std::string(value));
  } catch (...) {
    return 0;
  }
  return bytes;
}

}  // namespace

struct CurlHttpClient::Impl {
  CURL* curl = nullptr;
  long timeout_ms = 10000;
};

CurlHttpClient::CurlHttpClient(long timeout_ms) : impl_(std::make_unique<Impl>()) {
  static std::once_flag init;
  std::call_once(init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  impl_->curl = curl_easy_init();
  impl_->timeout_ms = timeout_ms;
}

CurlHttpClient::~CurlHttpClient() {
  if (impl_->curl) curl_easy_cleanup(impl_->curl);
}

Result<HttpClientResponse> CurlHttpClient::Send(
    const std::string& method, const std::string& url, const std::string& body,
    const std::vector<std::pair<std::string, std::string>>& headers) {
  CURL* c = impl_->curl;
  if (c == nullptr) return Status::IOError("cannot initialise libcurl");
  curl_easy_reset(c);
  HttpClientResponse response;
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, impl_->timeout_ms);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, std::min(impl_->timeout_ms, 5000L));
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, Collect);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &response.body);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, CollectHeader);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &response.headers);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  // libcurl ignores OpenSSL's environment for its own compiled-in bundle: honour it as
  // AsioHttpClient does, so a CLI trusts meshd --tls's CA with SSL_CERT_FILE=ca.crt.
  for (auto [variable, option] : {std::pair{"SSL_CERT_FILE", CURLOPT_CAINFO}, std::pair{"SSL_CERT_DIR", CURLOPT_CAPATH}}) {
    if (const char* path = std::getenv(variable); path != nullptr && *path != '\0') curl_easy_setopt(c, option, path);
  }
  if (method == "GET") {
    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
  } else {
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method.c_str());
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  }
  curl_slist* list = nullptr;
  for (const auto& [name, value] : headers) list = curl_slist_append(list, (name + ": " + value).c_str());
  list = curl_slist_append(list, "Expect:");  // no 100-continue round trip
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
  const CURLcode rc = curl_easy_perform(c);
  curl_slist_free_all(list);
  if (rc != CURLE_OK) {
    return Status::IOError("cannot reach " + url + ": " + curl_easy_strerror(rc));
  }
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  response.status = static_cast<int>(status);
  return response;
}

}  // namespace mesh
