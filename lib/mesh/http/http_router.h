// HttpRouter: maps a method and a path pattern ("/v1/instances/{id}/heartbeat") to a handler.
// An unknown path answers 404 and a known path with another method 405 (with an Allow
// header), both as JSON errors. A guard, when set, sees each request that matched a route
// before its handler and may answer in its place (meshd's bearer-token checks). A compressed
// body (Content-Encoding gzip or deflate) is inflated only after that, once the route exists and
// the guard let it through, within the limits SetBodyInflation gave (without them: 415); the
// handler sees the plain body. Routes, guard and limits are set before serving; Handle is then
// thread-safe.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "mesh/http/gzip.h"
#include "mesh/http/http_message.h"

namespace mesh {

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

// A route as it was added: its method and its pattern, e.g. {"POST", "/v1/instances/{id}"}.
struct HttpRoute {
  std::string method;
  std::string pattern;
};

// Answers in place of the handler (e.g. 401) or returns nothing to let the handler run.
using HttpGuard = std::function<std::optional<HttpResponse>(const HttpRequest&, const HttpRoute&)>;

class HttpRouter {
 public:
  void Add(std::string method, std::string pattern, HttpHandler handler);
  // Replaces the guard; it runs for every matched route (a HEAD answered by a GET route sees the
  // GET route).
  void SetGuard(HttpGuard guard);
  // Lets routes take compressed bodies, inflated within `limits` (413 past them).
  void SetBodyInflation(InflateLimits limits);
  // Runs the matching handler with request.path_params filled in.
  HttpResponse Handle(HttpRequest request) const;
  // Every route, in the order added.
  std::vector<HttpRoute> Routes() const;

 private:
  struct Route {
    HttpRoute route;
    std::vector<std::string> segments;  // "{name}" segments capture
    HttpHandler handler;
  };
  // Inflates a compressed body in place, or the answer to send instead.
  std::optional<HttpResponse> Inflate(HttpRequest& request) const;
  static bool Match(const Route& route, const std::vector<std::string>& path,
                    std::map<std::string, std::string>* params);
  std::vector<Route> routes_;
  HttpGuard guard_;
  std::optional<InflateLimits> inflation_;
};

}  // namespace mesh
