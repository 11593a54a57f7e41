#include "mesh/http/http_router.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <string>
#include <thread>
#include <vector>

#include "mesh/base/json_text.h"

namespace mesh {
namespace http_http_router_test {

HttpRequest Request(std::string method, std::string path) {
  HttpRequest r;
  r.method = std::move(method);
  r.path = std::move(path);
  return r;
}

// A handler that answers with its name and the captured parameters, to see which route ran.
HttpHandler Echo(std::string name) {
  return [name](const HttpRequest& r) {
    std::string body = name;
    for (const auto& [k, v] : r.path_params) body += " " + k + "=" + v;
    HttpResponse response = HttpResponse::Json(200, body);
    response.headers.emplace_back("X-Route", name);
    return response;
  };
}

std::string ErrorMessage(const HttpResponse& r) {
  Result<Json::Value> body = ParseJson(r.body);
  if (!body.ok() || !body->isObject()) return "<not a JSON object: " + r.body + ">";
  return (*body)["error"].asString();
}

// A zlib stream, the body of "Content-Encoding: deflate".
std::string Deflated(const std::string& plain) {
  uLongf size = compressBound(plain.size());
  std::string out(size, '\0');
  compress(reinterpret_cast<Bytef*>(out.data()), &size,
           reinterpret_cast<const Bytef*>(plain.data()), plain.size());
  out.resize(size);
  return out;
}

HttpRequest Compressed(std::string path, std::string body) {
  HttpRequest r = Request("POST", std::move(path));
  r.headers["content-encoding"] = "deflate";
  r.body = std::move(body);
  return r;
}

std::string HeaderValue(const HttpResponse& r, const std::string& name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return "<absent>";
}

TEST(HttpRouter, ExactPathRunsItsHandler) {
  HttpRouter router;
  router.Add("GET", "/healthz", Echo("health"));
  router.Add("GET", "/v1/services", Echo("services"));
  const HttpResponse r = router.Handle(Request("GET", "/v1/services"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "services");
}

TEST(HttpRouter, BracedSegmentsCapturePathParams) {
  HttpRouter router;
  router.Add("POST", "/v1/instances/{id}/heartbeat", Echo("heartbeat"));
  router.Add("GET", "/v1/traces/{trace}/spans/{span}", Echo("span"));
  EXPECT_EQ(router.Handle(Request("POST", "/v1/instances/api-1/heartbeat")).body,
            "heartbeat id=api-1");
  EXPECT_EQ(router.Handle(Request("GET", "/v1/traces/4bf9/spans/00f0")).body,
            "span span=00f0 trace=4bf9");
}

TEST(HttpRouter, ParamsOfAnEarlierNonMatchingRouteDoNotLeak) {
  HttpRouter router;
  router.Add("GET", "/v1/{kind}/x", Echo("first"));
  router.Add("GET", "/v1/{name}/y", Echo("second"));
  EXPECT_EQ(router.Handle(Request("GET", "/v1/logs/y")).body, "second name=logs");
}

TEST(HttpRouter, ParamsTheCallerSetAreReplaced) {
  HttpRouter router;
  router.Add("GET", "/v1/instances/{id}", Echo("instance"));
  HttpRequest r = Request("GET", "/v1/instances/a");
  r.path_params["stale"] = "x";
  EXPECT_EQ(router.Handle(r).body, "instance id=a");
}

TEST(HttpRouter, SegmentCountMustMatch) {
  HttpRouter router;
  router.Add("GET", "/v1/instances/{id}", Echo("instance"));
  EXPECT_EQ(router.Handle(Request("GET", "/v1/instances")).status, 404);
  EXPECT_EQ(router.Handle(Request("GET", "/v1/instances/a/b")).status, 404);
  EXPECT_EQ(router.Handle(Request("GET", "/v1/instances/a")).status, 200);
}

TEST(HttpRouter, EmptySegmentsAndTrailingSlashesAreIgnored) {
  HttpRouter router;
  router.Add("GET", "/v1/traces", Echo("traces"));
  EXPECT_EQ(router.Handle(Request("GET", "/v1/traces/")).body, "traces");
  EXPECT_EQ(router.Handle(Request("GET", "//v1//traces")).body, "traces");
}

TEST(HttpRouter, RoutesAreTriedInTheOrderTheyWereAdded) {
  HttpRouter router;
  router.Add("GET", "/v1/traces/search", Echo("search"));
  router.Add("GET", "/v1/traces/{id}", Echo("trace"));
  EXPECT_EQ(router.Handle(Request("GET", "/v1/traces/search")).body, "search");
  EXPECT_EQ(router.Handle(Request("GET", "/v1/traces/abc")).body, "trace id=abc");
}

TEST(HttpRouter, UnknownPathIs404JsonError) {
  HttpRouter router;
  router.Add("GET", "/v1/services", Echo("services"));
  const HttpResponse r = router.Handle(Request("GET", "/v1/nope"));
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(ErrorMessage(r), "no route for /v1/nope");
  EXPECT_EQ(HeaderValue(r, "Allow"), "<absent>");
}

TEST(HttpRouter, EmptyRouterAnswers404) {
  const HttpRouter router;
  EXPECT_EQ(router.Handle(Request("GET", "/")).status, 404);
}

TEST(HttpRouter, KnownPathWithOtherMethodIs405WithAllow) {
  HttpRouter router;
  router.Add("GET", "/v1/instances/{id}", Echo("get"));
  router.Add("DELETE", "/v1/instances/{id}", Echo("delete"));
  router.Add("POST", "/v1/instances", Echo("register"));
  const HttpResponse r = router.Handle(Request("PUT", "/v1/instances/a"));
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(HeaderValue(r, "Allow"), "GET, DELETE");
  EXPECT_EQ(ErrorMessage(r), "method PUT not allowed on /v1/instances/a (allowed: GET, DELETE)");
}

TEST(HttpRouter, AllowNamesEachMethodOnce) {
  HttpRouter router;
  router.Add("GET", "/v1/traces/search", Echo("search"));
  router.Add("GET", "/v1/traces/{id}", Echo("trace"));
  const HttpResponse r = router.Handle(Request("POST", "/v1/traces/search"));
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(HeaderValue(r, "Allow"), "GET");
}

TEST(HttpRouter, LaterRouteWithTheRightMethodWinsOver405) {
  HttpRouter router;
  router.Add("GET", "/v1/logs", Echo("read"));
  router.Add("POST", "/v1/logs", Echo("write"));
  EXPECT_EQ(router.Handle(Request("POST", "/v1/logs")).body, "write");
}

TEST(HttpRouter, HeadIsServedByGetWithEmptyBody) {
  HttpRouter router;
  router.Add("GET", "/v1/services", Echo("services"));
  const HttpResponse r = router.Handle(Request("HEAD", "/v1/services"));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "");
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(HeaderValue(r, "X-Route"), "services");
}

TEST(HttpRouter, HeadOnAPathWithoutGetIs405) {
  HttpRouter router;
  router.Add("POST", "/v1/traces", Echo("ingest"));
  const HttpResponse r = router.Handle(Request("HEAD", "/v1/traces"));
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(HeaderValue(r, "Allow"), "POST");
}

TEST(HttpRouter, GetIsNotServedByAHeadRoute) {
  HttpRouter router;
  router.Add("HEAD", "/ping", Echo("ping"));
  EXPECT_EQ(router.Handle(Request("GET", "/ping")).status, 405);
}

// A guard that refuses every route but the ones named, and records what it saw.
struct RecordingGuard {
  std::vector<std::string> seen;  // "METHOD pattern" per call
  std::vector<std::string> open;  // patterns let through

  HttpGuard Make() {
    return [this](const HttpRequest& r, const HttpRoute& route) -> std::optional<HttpResponse> {
      seen.push_back(route.method + " " + route.pattern);
      for (const std::string& p : open) {
        if (p == route.pattern) return std::nullopt;
      }
      return HttpResponse::Error(401, "guarded " + r.path);
    };
  }
};

TEST(HttpRouter, GuardAnswersInsteadOfTheHandler) {
  HttpRouter router;
  RecordingGuard guard{.open = {"/healthz"}};
  router.SetGuard(guard.Make());
  bool handler_ran = false;
  router.Add("POST", "/v1/instances/{id}", [&](const HttpRequest&) {
    handler_ran = true;
    return HttpResponse::Json(200, "{}");
  });
  router.Add("GET", "/healthz", Echo("health"));
  const HttpResponse refused = router.Handle(Request("POST", "/v1/instances/api-1"));
  EXPECT_EQ(refused.status, 401);
  EXPECT_EQ(ErrorMessage(refused), "guarded /v1/instances/api-1");
  EXPECT_FALSE(handler_ran);
  EXPECT_EQ(router.Handle(Request("GET", "/healthz")).body, "health");
  EXPECT_EQ(guard.seen, (std::vector<std::string>{"POST /v1/instances/{id}", "GET /healthz"}));
}

TEST(HttpRouter, GuardSeesTheGetRouteThatAnswersAHead) {
  HttpRouter router;
  RecordingGuard guard;
  router.SetGuard(guard.Make());
  router.Add("GET", "/v1/services", Echo("services"));
  EXPECT_EQ(router.Handle(Request("HEAD", "/v1/services")).status, 401);
  EXPECT_EQ(guard.seen, std::vector<std::string>{"GET /v1/services"});
}

TEST(HttpRouter, GuardDoesNotRunForUnknownPathsOrWrongMethods) {
  HttpRouter router;
  RecordingGuard guard;
  router.SetGuard(guard.Make());
  router.Add("POST", "/v1/traces", Echo("ingest"));
  EXPECT_EQ(router.Handle(Request("GET", "/nowhere")).status, 404);
  EXPECT_EQ(router.Handle(Request("DELETE", "/v1/traces")).status, 405);
  EXPECT_TRUE(guard.seen.empty());
}

TEST(HttpRouter, GuardCoversRoutesAddedAfterIt) {
  HttpRouter router;
  RecordingGuard guard;
  router.SetGuard(guard.Make());
  router.Add("POST", "/v1/later", Echo("later"));
  EXPECT_EQ(router.Handle(Request("POST", "/v1/later")).status, 401);
}

TEST(HttpRouter, InflatesACompressedBodyForTheHandler) {
  HttpRouter router;
  router.SetBodyInflation({.max_bytes = 1 << 20});
  std::string seen;
  router.Add("POST", "/v1/logs", [&](const HttpRequest& r) {
    seen = r.body + "|" + r.Header("content-encoding");
    return HttpResponse::Json(200, "{}");
  });
  EXPECT_EQ(router.Handle(Compressed("/v1/logs", Deflated("plain records"))).status, 200);
  EXPECT_EQ(seen, "plain records|");
}

TEST(HttpRouter, InflatesNothingBeforeTheRouteAndTheGuardAcceptedIt) {
  // A corrupt stream answers 400 once inflated: a 404, 405 or 401 proves it never was.
  HttpRouter router;
  router.SetBodyInflation({.max_bytes = 1 << 20});
  RecordingGuard guard{.open = {"/open"}};
  router.SetGuard(guard.Make());
  bool handler_ran = false;
  const auto handler = [&](const HttpRequest&) {
    handler_ran = true;
    return HttpResponse::Json(200, "{}");
  };
  router.Add("POST", "/v1/traces", handler);
  router.Add("POST", "/open", handler);
  EXPECT_EQ(router.Handle(Compressed("/nowhere", "not deflate")).status, 404);
  HttpRequest wrong_method = Compressed("/v1/traces", "not deflate");
  wrong_method.method = "PUT";
  EXPECT_EQ(router.Handle(wrong_method).status, 405);
  EXPECT_EQ(router.Handle(Compressed("/v1/traces", "not deflate")).status, 401);
  EXPECT_EQ(router.Handle(Compressed("/open", "not deflate")).status, 400);
  EXPECT_FALSE(handler_ran);
}

TEST(HttpRouter, CompressedBodyPastTheRatioOrTheSizeIs413NamingTheBound) {
  HttpRouter router;
  router.SetBodyInflation({.max_bytes = 1 << 20,
                           .max_ratio = 100,
                           .max_bytes_name = "--max-body",
                           .max_ratio_name = "--max-inflate-ratio"});
  bool handler_ran = false;
  router.Add("POST", "/v1/metrics", [&](const HttpRequest&) {
    handler_ran = true;
    return HttpResponse::Json(200, "{}");
  });
  // 4 MiB of zeros deflate to about 4 KiB: past 100 x 4 KiB long before the 1 MiB size bound.
  const HttpResponse ratio =
      router.Handle(Compressed("/v1/metrics", Deflated(std::string(4 << 20, '\0'))));
  EXPECT_EQ(ratio.status, 413);
  Result<Json::Value> body = ParseJson(ratio.body);
  ASSERT_TRUE(body.ok()) << ratio.body;
  EXPECT_EQ((*body)["bound"].asString(), "--max-inflate-ratio");
  EXPECT_EQ((*body)["limit"].asInt(), 100);
  EXPECT_NE((*body)["error"].asString().find("100 times"), std::string::npos) << ratio.body;
  // Random-ish text compresses far less than 100:1: the size bound is the one it meets.
  std::string text;
  for (uint32_t x = 1; text.size() < (2 << 20);) {
    x = x * 1103515245 + 12345;
    text += std::to_string(x >> 8) + ",";
  }
  const HttpResponse size = router.Handle(Compressed("/v1/metrics", Deflated(text)));
  EXPECT_EQ(size.status, 413);
  body = ParseJson(size.body);
  ASSERT_TRUE(body.ok()) << size.body;
  EXPECT_EQ((*body)["bound"].asString(), "--max-body");
  EXPECT_EQ((*body)["limit"].asInt(), 1 << 20);
  EXPECT_FALSE(handler_ran);
}

TEST(HttpRouter, RefusesCompressedBodiesWhenNotToldHowFarToInflate) {
  HttpRouter router;
  router.Add("POST", "/x", Echo("x"));
  router.Add("GET", "/y", Echo("y"));
  EXPECT_EQ(router.Handle(Compressed("/x", Deflated("hello"))).status, 415);
  HttpRequest no_body = Request("GET", "/y");
  no_body.headers["content-encoding"] = "gzip";
  EXPECT_EQ(router.Handle(no_body).status, 200);  // nothing to inflate
}

TEST(HttpRouter, RoutesListsMethodAndPatternInTheOrderAdded) {
  HttpRouter router;
  router.Add("GET", "/healthz", Echo("health"));
  router.Add("DELETE", "/v1/instances/{id}", Echo("deregister"));
  const std::vector<HttpRoute> routes = router.Routes();
  ASSERT_EQ(routes.size(), 2u);
  EXPECT_EQ(routes[0].method, "GET");
  EXPECT_EQ(routes[0].pattern, "/healthz");
  EXPECT_EQ(routes[1].method, "DELETE");
  EXPECT_EQ(routes[1].pattern, "/v1/instances/{id}");
}

TEST(HttpRouter, HandleIsSafeFromSeveralThreads) {
  HttpRouter router;
  router.Add("GET", "/v1/instances/{id}", Echo("instance"));
  std::vector<std::thread> threads;
  std::vector<int> wrong(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 500; ++i) {
        const std::string id = std::to_string(t) + "-" + std::to_string(i);
        if (router.Handle(Request("GET", "/v1/instances/" + id)).body != "instance id=" + id) {
          ++wrong[t];
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  for (int w : wrong) EXPECT_EQ(w, 0);
}

}  // namespace
}  // namespace mesh
