// HttpRouter: maps a method and a path pattern ("/v1/instances/{id}/heartbeat") to a handler.
// An unknown path answers 404 and a known path with another method 405 (with an Allow
// header), both as JSON errors. Routes are added before serving; Handle is then thread-safe.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "mesh/http_message.h"

namespace mesh {

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

class HttpRouter {
 public:
  void Add(std::string method, std::string pattern, HttpHandler handler);
  // Runs the matching handler with request.path_params filled in.
  HttpResponse Handle(HttpRequest request) const;

 private:
  struct Route {
    std::string method;
    std::vector<std::string> segments;  // "{name}" segments capture
    HttpHandler handler;
  };
  static bool Match(const Route& route, const std::vector<std::string>& path,
                    std::map<std::string, std::string>* params);
  std::vector<Route> routes_;
};

}  // namespace mesh
