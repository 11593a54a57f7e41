#include "mesh/http/url_allow_list.h"

#include <algorithm>
#include <cctype>

namespace mesh {
namespace {

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// A path a client would send as written: no "." or ".." segment, literal or percent-encoded
// (curl resolves them), so that a prefix check on the text is a check on what is requested.
bool HasDotSegments(std::string_view path) {
  const std::string lower = Lower(std::string(path));
  if (lower.find("%2e") != std::string::npos) return true;
  for (size_t start = 0; start <= lower.size();) {
    size_t end = lower.find('/', start);
    if (end == std::string::npos) end = lower.size();
    const std::string_view segment = std::string_view(lower).substr(start, end - start);
    if (segment == "." || segment == "..") return true;
    start = end + 1;
  }
  return false;
}

std::string_view PathOf(std::string_view target) { return target.substr(0, target.find('?')); }

bool UnderPrefix(std::string_view path, std::string_view prefix) {
  if (path.substr(0, prefix.size()) != prefix) return false;
  return path.size() == prefix.size() || prefix.back() == '/' || path[prefix.size()] == '/';
}

}  // namespace

Result<UrlAllowList> UrlAllowList::Parse(const std::vector<std::string>& prefixes) {
  UrlAllowList list;
  for (const std::string& prefix : prefixes) {
    Result<HttpUrl> url = ParseHttpUrl(prefix);
    if (!url.ok()) return url.status();
    if (url->target.find('?') != std::string::npos || HasDotSegments(url->target)) {
      return Status::InvalidArgument(
          "allowed URL prefix '" + prefix +
          "': expected scheme://host[:port][/path], without a query or dot segments");
    }
    url->host = Lower(url->host);
    list.entries_.push_back(std::move(url).value());
  }
  return list;
}

Result<std::string> UrlAllowList::Allow(std::string_view text) const {
  Result<HttpUrl> url = ParseHttpUrl(text);
  if (!url.ok()) return url.status();
  if (HasDotSegments(PathOf(url->target))) {
    return Status::InvalidArgument("URL '" + std::string(text) + "' has a dot segment in its path");
  }
  const std::string host = Lower(url->host);
  const bool allowed = std::any_of(entries_.begin(), entries_.end(), [&](const HttpUrl& entry) {
    return entry.tls == url->tls && entry.host == host && entry.port == url->port &&
           UnderPrefix(PathOf(url->target), entry.target);
  });
  if (allowed)
    return std::string(url->tls ? "https://" : "http://") + url->Authority() + url->target;
  return Status::InvalidArgument("URL '" + std::string(text) + "' is under no allowed prefix" +
                                 (entries_.empty() ? " (none is configured)" : ""));
}

}  // namespace mesh
