#include "mesh/http/http_message.h"

#include <gtest/gtest.h>

#include <string>

#include "mesh/base/json_text.h"

namespace mesh {
namespace http_http_message_test {

TEST(HttpRequest, AccessorsReturnEmptyForAbsentNames) {
  HttpRequest r;
  r.headers["content-type"] = "application/json";
  r.query["limit"] = "10";
  r.path_params["id"] = "abc";
  EXPECT_EQ(r.Header("content-type"), "application/json");
  EXPECT_EQ(r.Header("authorization"), "");
  EXPECT_EQ(r.Query("limit"), "10");
  EXPECT_EQ(r.Query("since"), "");
  EXPECT_EQ(r.PathParam("id"), "abc");
  EXPECT_EQ(r.PathParam("name"), "");
}

TEST(IsHttpToken, TakesNamesAndMethodsAndRefusesSeparatorsAndEmptiness) {
  EXPECT_TRUE(IsHttpToken("X-Request-ID"));
  EXPECT_TRUE(IsHttpToken("M-SEARCH"));
  EXPECT_TRUE(IsHttpToken("!#$%&'*+-.^_`|~09azAZ"));
  EXPECT_FALSE(IsHttpToken(""));
  EXPECT_FALSE(IsHttpToken("Bad Name"));
  EXPECT_FALSE(IsHttpToken("Name:"));
  EXPECT_FALSE(IsHttpToken("a\r\nb"));
  EXPECT_FALSE(IsHttpToken("caf\xc3\xa9"));
}

TEST(IsSafeHeaderValue, RefusesWhatWouldEndTheLineOrStartAnother) {
  EXPECT_TRUE(IsSafeHeaderValue("text/plain; charset=utf-8"));
  EXPECT_TRUE(IsSafeHeaderValue(""));
  EXPECT_FALSE(IsSafeHeaderValue("a\r\nSet-Cookie: x=1"));
  EXPECT_FALSE(IsSafeHeaderValue("a\nb"));
  EXPECT_FALSE(IsSafeHeaderValue(std::string_view("a\0b", 3)));
}

TEST(HttpResponse, JsonSetsStatusBodyAndJsonContentType) {
  const HttpResponse r = HttpResponse::Json(201, R"({"ok":true})");
  EXPECT_EQ(r.status, 201);
  EXPECT_EQ(r.body, R"({"ok":true})");
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_TRUE(r.headers.empty());
}

TEST(HttpResponse, ErrorIsAJsonObjectWithTheMessage) {
  const HttpResponse r = HttpResponse::Error(400, "bad \"level\"\nline\\2 \xc3\xa9");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.content_type, "application/json");
  Result<Json::Value> body = ParseJson(r.body);
  ASSERT_TRUE(body.ok()) << r.body;
  ASSERT_TRUE(body->isObject());
  EXPECT_EQ(body->size(), 1u);
  EXPECT_EQ((*body)["error"].asString(), "bad \"level\"\nline\\2 \xc3\xa9");
}

TEST(HttpResponse, ErrorWithEmptyMessageIsStillValidJson) {
  const HttpResponse r = HttpResponse::Error(500, "");
  EXPECT_EQ(r.body, R"({"error":""})");
}

TEST(DecodeRequestPath, DecodesOnceAndRefusesWhatDecodingWouldAdd) {
  EXPECT_EQ(*DecodeRequestPath("/v1/services/a%20b"), "/v1/services/a b");
  EXPECT_EQ(*DecodeRequestPath("/%2541"), "/%41");  // once: %25 becomes '%', no second pass
  EXPECT_EQ(*DecodeRequestPath("/"), "/");
  for (const auto& [raw, why] : std::vector<std::pair<std::string, std::string>>{
           {"/a%2fb", "an encoded '/' (%2F)"},
           {"/a%2F..%2Fb", "an encoded '/' (%2F)"},
           {"/%2e%2e/etc/passwd", "an encoded dot segment"},
           {"/x/%2E", "an encoded dot segment"},
           {"/x%00", "a control character"},
           {"/x%0d%0aSet-Cookie:%20a=b", "a control character"},
           {"/x%7f", "a control character"}}) {
    const Result<std::string> path = DecodeRequestPath(raw);
    ASSERT_FALSE(path.ok()) << raw;
    EXPECT_EQ(path.status().code(), Status::Code::kInvalidArgument) << raw;
    EXPECT_EQ(path.status().message(), "the request path contains " + why) << raw;
  }
}

TEST(HasSafeHeaders, RefusesAnyHeaderOrContentTypeThatCouldSplitTheResponse) {
  HttpResponse r = HttpResponse::Json(200, "{}");
  r.headers.emplace_back("X-Trace-ID", "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_TRUE(HasSafeHeaders(r));
  HttpResponse value = r;
  value.headers.emplace_back("Location", "/a\r\nSet-Cookie: x=1");
  EXPECT_FALSE(HasSafeHeaders(value));
  HttpResponse name = r;
  name.headers.emplace_back("Bad Name", "v");
  EXPECT_FALSE(HasSafeHeaders(name));
  HttpResponse type = r;
  type.content_type = std::string("text/plain\0", 11);
  EXPECT_FALSE(HasSafeHeaders(type));
}

}  // namespace
}  // namespace mesh
