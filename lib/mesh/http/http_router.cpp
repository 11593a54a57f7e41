#include "mesh/http/http_router.h"

namespace mesh {
namespace {

std::vector<std::string> Split(const std::string& path) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '/') {
      ++i;
      continue;
    }
    const size_t end = path.find('/', i);
    out.push_back(path.substr(i, end - i));
    i = end == std::string::npos ? path.size() : end;
  }
  return out;
}

}  // namespace

void HttpRouter::Add(std::string method, std::string pattern, HttpHandler handler) {
  std::vector<std::string> segments = Split(pattern);
  routes_.push_back({{std::move(method), std::move(pattern)}, std::move(segments), std::move(handler)});
}

void HttpRouter::SetGuard(HttpGuard guard) { guard_ = std::move(guard); }

void HttpRouter::SetBodyInflation(InflateLimits limits) { inflation_ = std::move(limits); }

std::optional<HttpResponse> HttpRouter::Inflate(HttpRequest& request) const {
  const std::string& encoding = request.Header("content-encoding");
  // A header without a body (a GET, say) has nothing to inflate.
  if (encoding.empty() || encoding == "identity" || request.body.empty()) return std::nullopt;
  if (!inflation_) {
    return HttpResponse::Error(
        415, "Content-Encoding '" + encoding + "': this server takes no compressed request bodies");
  }
  return InflateRequestBody(request, *inflation_);
}

std::vector<HttpRoute> HttpRouter::Routes() const {
  std::vector<HttpRoute> out;
  for (const Route& r : routes_) out.push_back(r.route);
  return out;
}

bool HttpRouter::Match(const Route& route, const std::vector<std::string>& path,
                       std::map<std::string, std::string>* params) {
  if (route.segments.size() != path.size()) return false;
  for (size_t i = 0; i < path.size(); ++i) {
    const std::string& seg = route.segments[i];
    if (seg.size() > 2 && seg.front() == '{' && seg.back() == '}') {
      if (path[i].empty()) return false;
      (*params)[seg.substr(1, seg.size() - 2)] = path[i];
    } else if (seg != path[i]) {
      return false;
    }
  }
  return true;
}

HttpResponse HttpRouter::Handle(HttpRequest request) const {
  const std::vector<std::string> path = Split(request.path);
  std::string allowed;
  for (const Route& route : routes_) {
    std::map<std::string, std::string> params;
    if (!Match(route, path, &params)) continue;
    const std::string& method = route.route.method;
    const bool head_as_get = request.method == "HEAD" && method == "GET";
    if (method != request.method && !head_as_get) {
      if (allowed.find(method) == std::string::npos) {
        allowed += allowed.empty() ? method : ", " + method;
      }
      continue;
    }
    request.path_params = std::move(params);
    std::optional<HttpResponse> refused;
    if (guard_) refused = guard_(request, route.route);
    // Only now: a body nobody may send costs its compressed bytes, never their inflation.
    if (!refused) refused = Inflate(request);
    HttpResponse response = refused ? std::move(*refused) : route.handler(request);
    if (head_as_get) response.body.clear();
    return response;
  }
  if (!allowed.empty()) {
    HttpResponse r = HttpResponse::Error(405, "method " + request.method + " not allowed on " +
                                                  request.path + " (allowed: " + allowed + ")");
    r.headers.emplace_back("Allow", allowed);
    return r;
  }
  return HttpResponse::Error(404, "no route for " + request.path);
}

}  // namespace mesh
