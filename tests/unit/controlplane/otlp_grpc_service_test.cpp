#include "mesh/controlplane/otlp_grpc_service.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>

namespace mesh {
namespace controlplane_otlp_grpc_service_test {

constexpr char kTraceExport[] = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

HttpRequest Call(std::string path, std::string body, std::map<std::string, std::string> headers = {}) {
  HttpRequest r;
  r.method = "POST";
  r.path = std::move(path);
  r.headers = std::move(headers);
  r.headers.emplace("content-type", "application/grpc");
  r.body = std::move(body);
  return r;
}

// The routes, faked: records what they were asked and answers `answer`.
struct Routes {
  HttpResponse answer{.status = 200, .content_type = "application/x-protobuf", .body = std::string("\x12\x00", 2)};
  std::optional<HttpRequest> seen;
  HttpHandler handler() {
    return [this](const HttpRequest& r) {
      seen = r;
      return answer;
    };
  }
};

std::string Trailer(const Http2Response& r, const std::string& name) {
  for (const auto& [n, v] : r.trailers) {
    if (n == name) return v;
  }
  return "";
}

TEST(OtlpGrpcService, MapsEachExportMethodToItsRoute) {
  EXPECT_EQ(OtlpRouteOfGrpcMethod(kTraceExport), "/v1/traces");
  EXPECT_EQ(OtlpRouteOfGrpcMethod("/opentelemetry.proto.collector.logs.v1.LogsService/Export"), "/v1/logs");
  EXPECT_EQ(OtlpRouteOfGrpcMethod("/opentelemetry.proto.collector.metrics.v1.MetricsService/Export"), "/v1/metrics");
  EXPECT_EQ(OtlpRouteOfGrpcMethod("/opentelemetry.proto.collector.trace.v1.TraceService/Exports"), "");
  EXPECT_EQ(OtlpRouteOfGrpcMethod("/v1/traces"), "");
}

TEST(OtlpGrpcService, PassesTheMessageAndTokenToTheRouteAndFramesItsAnswer) {
  Routes routes;
  const Http2Response r = HandleOtlpGrpcCall(
      Call(kTraceExport, EncodeGrpcMessage("PROTO"), {{"authorization", "Bearer s3cret"}}), false, routes.handler());
  ASSERT_TRUE(routes.seen.has_value());
  EXPECT_EQ(routes.seen->path, "/v1/traces");
  EXPECT_EQ(routes.seen->method, "POST");
  EXPECT_EQ(routes.seen->Header("content-type"), "application/x-protobuf");
  EXPECT_EQ(routes.seen->Header("authorization"), "Bearer s3cret");
  EXPECT_EQ(routes.seen->Header("content-encoding"), "");
  EXPECT_EQ(routes.seen->body, "PROTO");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, EncodeGrpcMessage(std::string("\x12\x00", 2)));
  EXPECT_EQ(Trailer(r, "grpc-status"), "0");
}

TEST(OtlpGrpcService, AGzipMessageReachesTheRouteAsAGzipBody) {
  Routes routes;
  HandleOtlpGrpcCall(Call(kTraceExport, EncodeGrpcMessage("GZ", true), {{"grpc-encoding", "gzip"}}), false,
                     routes.handler());
  ASSERT_TRUE(routes.seen.has_value());
  EXPECT_EQ(routes.seen->Header("content-encoding"), "gzip");
  EXPECT_EQ(routes.seen->body, "GZ");
}

TEST(OtlpGrpcService, RefusesACompressionItDoesNotSpeakAsUnimplemented) {
  Routes routes;
  for (const char* encoding : {"", "identity", "deflate", "snappy"}) {
    const Http2Response r = HandleOtlpGrpcCall(
        Call(kTraceExport, EncodeGrpcMessage("x", true), {{"grpc-encoding", encoding}}), false, routes.handler());
    EXPECT_EQ(Trailer(r, "grpc-status"), "12") << encoding;
  }
  EXPECT_FALSE(routes.seen.has_value());
}

TEST(OtlpGrpcService, UnknownMethodIsUnimplementedWithoutTouchingTheRoutes) {
  Routes routes;
  const Http2Response r =
      HandleOtlpGrpcCall(Call("/grpc.health.v1.Health/Check", EncodeGrpcMessage("")), false, routes.handler());
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(Trailer(r, "grpc-status"), "12");
  EXPECT_FALSE(routes.seen.has_value());
}

TEST(OtlpGrpcService, MalformedFramingIsInvalidArgument) {
  Routes routes;
  const Http2Response r = HandleOtlpGrpcCall(Call(kTraceExport, std::string("\x00\x00\x00\x00\x09sho", 8)), false,
                                             routes.handler());
  EXPECT_EQ(Trailer(r, "grpc-status"), "3");
  EXPECT_FALSE(routes.seen.has_value());
}

TEST(OtlpGrpcService, AnOversizedCallIsResourceExhausted) {
  Routes routes;
  const Http2Response r = HandleOtlpGrpcCall(Call(kTraceExport, ""), true, routes.handler());
  EXPECT_EQ(Trailer(r, "grpc-status"), "8");
  EXPECT_FALSE(routes.seen.has_value());
}

TEST(OtlpGrpcService, ARequestThatIsNotGrpcGets415) {
  Routes routes;
  HttpRequest call = Call(kTraceExport, EncodeGrpcMessage("x"));
  for (const char* type : {"application/json", "application/grpcx", "", "text/plain"}) {
    call.headers["content-type"] = type;
    EXPECT_EQ(HandleOtlpGrpcCall(call, false, routes.handler()).status, 415) << type;
  }
  call.headers["content-type"] = "application/grpc+proto";
  EXPECT_EQ(Trailer(HandleOtlpGrpcCall(call, false, routes.handler()), "grpc-status"), "0");
}

TEST(OtlpGrpcService, TheRoutesRefusalBecomesItsGrpcStatusWithTheErrorText) {
  Routes routes;
  routes.answer = HttpResponse::Error(401, "missing bearer token: 100% sure");
  const Http2Response r = HandleOtlpGrpcCall(Call(kTraceExport, EncodeGrpcMessage("x")), false, routes.handler());
  EXPECT_EQ(Trailer(r, "grpc-status"), "16");
  EXPECT_EQ(Trailer(r, "grpc-message"), "missing bearer token: 100%25 sure");
  EXPECT_EQ(r.body, "");
}

TEST(OtlpGrpcService, HttpStatusesMapToTheGrpcCodesOtlpClientsRetryOnOrNot) {
  EXPECT_EQ(GrpcStatusOfHttp(200), GrpcStatus::kOk);
  EXPECT_EQ(GrpcStatusOfHttp(400), GrpcStatus::kInvalidArgument);
  EXPECT_EQ(GrpcStatusOfHttp(401), GrpcStatus::kUnauthenticated);
  EXPECT_EQ(GrpcStatusOfHttp(403), GrpcStatus::kPermissionDenied);
  EXPECT_EQ(GrpcStatusOfHttp(413), GrpcStatus::kResourceExhausted);
  EXPECT_EQ(GrpcStatusOfHttp(429), GrpcStatus::kResourceExhausted);
  EXPECT_EQ(GrpcStatusOfHttp(503), GrpcStatus::kUnavailable);
  EXPECT_EQ(GrpcStatusOfHttp(500), GrpcStatus::kInternal);
  EXPECT_EQ(GrpcStatusOfHttp(302), GrpcStatus::kInternal);
}

}  // namespace controlplane_otlp_grpc_service_test
}  // namespace mesh
