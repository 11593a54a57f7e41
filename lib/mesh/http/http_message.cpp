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

}  // namespace mesh
