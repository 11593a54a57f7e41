#include "mesh/http/http_message.h"

#include <algorithm>
#include <cctype>

#include "mesh/base/json_text.h"

namespace mesh {
namespace {

const std::string& Lookup(const std::map<std::string, std::string>& m, const std::string& key) {
  static const std::string kEmpty;
  const auto it = m.find(key);
  return it == m.end() ? kEmpty : it->second;
}

}  // namespace

const std::string& HttpRequest::Header(const std::string& name) const { return Lookup(headers, name); }
const std::string& HttpRequest::Query(const std::string& name) const { return Lookup(query, name); }
const std::string& HttpRequest::PathParam(const std::string& name) const {
  return Lookup(path_params, name);
}

HttpResponse HttpResponse::Json(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

HttpResponse HttpResponse::Error(int status, std::string_view message) {
  std::string body = "{\"error\":";
  AppendJsonString(body, message);
  body += "}";
  return Json(status, std::move(body));
}

bool IsHttpToken(std::string_view text) {
  static constexpr std::string_view kSymbols = "!#$%&'*+-.^_`|~";
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || kSymbols.find(c) != std::string_view::npos;
  });
}

bool IsSafeHeaderValue(std::string_view value) {
  return value.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

bool HasSafeHeaders(const HttpResponse& response) {
  if (!IsSafeHeaderValue(response.content_type)) return false;
  return std::all_of(response.headers.begin(), response.headers.end(), [](const auto& header) {
    return IsHttpToken(header.first) && IsSafeHeaderValue(header.second);
  });
}

Result<std::string> DecodeRequestPath(std::string_view raw) {
  for (size_t i = 0; i + 2 < raw.size(); ++i) {
    if (raw[i] == '%' && raw[i + 1] == '2' && (raw[i + 2] == 'f' || raw[i + 2] == 'F')) {
      return Status::InvalidArgument("the request path contains an encoded '/' (%2F)");
    }
  }
  std::string path = UrlDecode(raw, /*plus_is_space=*/false);
  if (std::any_of(path.begin(), path.end(),
                  [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; })) {
    return Status::InvalidArgument("the request path contains a control character");
  }
  for (size_t start = 0; start <= path.size();) {
    size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    const std::string_view segment = std::string_view(path).substr(start, end - start);
    if (segment == "." || segment == "..") {
      return Status::InvalidArgument("the request path contains an encoded dot segment");
    }
    start = end + 1;
  }
  return path;
}

}  // namespace mesh
