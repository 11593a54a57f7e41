// Fuzz target: what meshd and meshproxy read from a request's head and from peers before any
// handler runs, and the URLs and identities they act on:
//   - the request target: DecodeRequestPath (both servers) and ParseQueryString of the query,
//     then TraceFilterFromQuery (meshd's GET /v1/traces; log_filter covers GET /v1/logs);
//   - UrlDecode / UrlEncode (query values, registry and trace ids in paths);
//   - IsHttpToken / IsSafeHeaderValue (method and header checks);
//   - ParseHttpUrl (every URL a client opens: --server, webhook and Alertmanager URLs posted to
//     meshd's alert check);
//   - ParseSpiffeId (the URI SAN of a peer's certificate: the caller's identity for the policy).
//
// Invariants: a decoded path holds no control character and exactly the raw path's '/'s (no
// encoded '/' added a segment), and no "." or ".." segment the raw path did not spell out; a
// trace filter that parses gives a query (TraceFilterToQuery) that parses to the same query;
// UrlDecode(UrlEncode(x)) == x and UrlEncode's output is unreserved characters and escapes
// only; a URL that parses has a host, a port in 1..65535 and a target starting with '/', and
// its Authority() and target parse back to the same URL; a SPIFFE id that parses formats back
// to the same text.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "mesh/base/url_encoding.h"
#include "mesh/http/http_message.h"
#include "mesh/http/http_url.h"
#include "mesh/security/spiffe_id.h"
#include "mesh/telemetry/trace_api.h"

namespace {

constexpr int64_t kNow = 1'795'600'000'000'000'000;

bool HasDotSegment(std::string_view path) {
  size_t start = 0;
  while (start <= path.size()) {
    const size_t end = std::min(path.find('/', start), path.size());
    const std::string_view segment = path.substr(start, end - start);
    if (segment == "." || segment == "..") return true;
    start = end + 1;
  }
  return false;
}

void CheckRequestTarget(std::string_view target) {
  const size_t question = target.find('?');
  const std::string_view raw = target.substr(0, question);
  const mesh::Result<std::string> path = mesh::DecodeRequestPath(raw);
  if (path.ok()) {
    FUZZ_CHECK(std::none_of(path->begin(), path->end(), [](char c) {
      return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
    }));
    FUZZ_CHECK(std::count(path->begin(), path->end(), '/') == std::count(raw.begin(), raw.end(), '/'));
    FUZZ_CHECK(HasDotSegment(raw) || !HasDotSegment(*path));
  }
  if (question == std::string_view::npos) return;
  const std::map<std::string, std::string> query = mesh::ParseQueryString(target.substr(question + 1));
  for (const auto& [key, value] : query) {
    FUZZ_CHECK(mesh::UrlDecode(mesh::UrlEncode(key), false) == key);
    FUZZ_CHECK(mesh::UrlDecode(mesh::UrlEncode(value), true) == value);
  }
  const mesh::Result<mesh::TraceFilter> filter = mesh::TraceFilterFromQuery(query, kNow);
  if (!filter.ok()) return;
  const std::map<std::string, std::string> again = mesh::TraceFilterToQuery(*filter);
  const mesh::Result<mesh::TraceFilter> reparsed = mesh::TraceFilterFromQuery(again, kNow);
  FUZZ_CHECK(reparsed.ok());
  FUZZ_CHECK(mesh::TraceFilterToQuery(*reparsed) == again);
}

void CheckUrlEncoding(std::string_view text) {
  const std::string encoded = mesh::UrlEncode(text);
  FUZZ_CHECK(std::all_of(encoded.begin(), encoded.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~' || c == '%';
  }));
  FUZZ_CHECK(mesh::UrlDecode(encoded, false) == text);
  FUZZ_CHECK(mesh::UrlDecode(encoded, true) == text);
  (void)mesh::UrlDecode(text, true);
}

void CheckHttpUrl(std::string_view text) {
  const mesh::Result<mesh::HttpUrl> url = mesh::ParseHttpUrl(text);
  if (!url.ok()) return;
  FUZZ_CHECK(!url->host.empty());
  FUZZ_CHECK(url->port >= 1 && url->port <= 65535);
  FUZZ_CHECK(!url->target.empty() && url->target[0] == '/');
  const std::string again_text = (url->tls ? "https://" : "http://") + url->Authority() + url->target;
  const mesh::Result<mesh::HttpUrl> again = mesh::ParseHttpUrl(again_text);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(again->tls == url->tls && again->host == url->host && again->port == url->port &&
             again->target == url->target);
}

void CheckSpiffeId(std::string_view text) {
  const mesh::Result<mesh::ServiceIdentity> id = mesh::ParseSpiffeId(text);
  if (!id.ok()) return;
  FUZZ_CHECK(mesh::ValidateTrustDomain(id->trust_domain).ok());
  FUZZ_CHECK(mesh::ValidateServiceName(id->service).ok());
  FUZZ_CHECK(mesh::FormatSpiffeId(*id) == text);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  CheckRequestTarget(text);
  CheckUrlEncoding(text);
  CheckHttpUrl(text);
  CheckSpiffeId(text);
  if (mesh::IsHttpToken(text)) {
    FUZZ_CHECK(!text.empty() && mesh::IsSafeHeaderValue(text));
  }
  (void)mesh::IsSafeHeaderValue(text);
  return 0;
}
