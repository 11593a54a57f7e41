#include "mesh/http/http_url.h"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace mesh {
namespace {

bool StartsWithNoCase(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() &&
         std::equal(prefix.begin(), prefix.end(), text.begin(), [](char p, char t) {
           return std::tolower(static_cast<unsigned char>(t)) == p;
         });
}

bool IsNameChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_';
}

bool IsIpv6Char(char c) {
  return std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.';
}

}  // namespace

std::string HttpUrl::Authority() const {
  std::string authority = host_is_ipv6() ? "[" + host + "]" : host;
  if (port != (tls ? 443 : 80)) authority += ":" + std::to_string(port);
  return authority;
}

Result<HttpUrl> ParseHttpUrl(std::string_view url) {
  const auto invalid = [&](const std::string& why) {
    return Status::InvalidArgument("invalid URL '" + std::string(url) + "': " + why);
  };
  // A space or control character would end the request line early, or start a header.
  if (std::any_of(url.begin(), url.end(), [](char c) {
        const auto byte = static_cast<unsigned char>(c);
        return byte <= 0x20 || byte >= 0x7f;
      })) {
    return invalid("a space, control or non-ASCII character");
  }
  HttpUrl parsed;
  std::string_view rest;
  if (StartsWithNoCase(url, "http://")) {
    rest = url.substr(7);
  } else if (StartsWithNoCase(url, "https://")) {
    parsed.tls = true;
    rest = url.substr(8);
  } else {
    return invalid("expected http://host[:port][/path] or https://...");
  }
  const size_t authority_end = std::min(rest.find_first_of("/?#"), rest.size());
  std::string_view authority = rest.substr(0, authority_end);
  std::string_view target = rest.substr(authority_end);
  if (authority.find('@') != std::string_view::npos) return invalid("user info is not supported");

  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return invalid("an IPv6 address without its closing ']'");
    const std::string_view host = authority.substr(1, close - 1);
    if (host.find(':') == std::string_view::npos ||
        !std::all_of(host.begin(), host.end(), IsIpv6Char)) {
      return invalid("a malformed IPv6 address");
    }
    parsed.host = std::string(host);
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty() && after.front() != ':')
      return invalid("unexpected text after the IPv6 address");
    if (!after.empty()) port = after.substr(1);
  } else {
    const size_t colon = authority.find(':');
    const std::string_view host = authority.substr(0, colon);
    if (host.empty()) return invalid("no host");
    if (!std::all_of(host.begin(), host.end(), IsNameChar)) return invalid("a malformed host name");
    parsed.host = std::string(host);
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  parsed.port = parsed.tls ? 443 : 80;
  if (!port.empty()) {  // "host:" is the default port (RFC 3986)
    const auto r = std::from_chars(port.data(), port.data() + port.size(), parsed.port);
    if (r.ec != std::errc() || r.ptr != port.data() + port.size() || parsed.port < 1 ||
        parsed.port > 65535) {
      return invalid("the port must be a number in 1..65535");
    }
  }

  target = target.substr(0, target.find('#'));  // the fragment is the client's own
  parsed.target =
      target.empty() || target.front() != '/' ? "/" + std::string(target) : std::string(target);
  return parsed;
}

}  // namespace mesh
