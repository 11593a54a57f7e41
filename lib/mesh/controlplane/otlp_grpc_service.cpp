#include "mesh/controlplane/otlp_grpc_service.h"

#include <string>
#include <vector>

#include "mesh/base/json_scan.h"

namespace mesh {

namespace {

constexpr std::string_view kGrpcContentType = "application/grpc";

// Trailers-only is allowed for errors, but a HEADERS with the status then trailers is what every
// client reads, and what a call with a message looks like anyway.
Http2Response Answer(GrpcStatus status, std::string_view message, std::string body = "") {
  Http2Response out;
  out.headers = {{"content-type", std::string(kGrpcContentType)}, {"grpc-accept-encoding", "identity,gzip"}};
  out.body = std::move(body);
  out.trailers = GrpcStatusTrailers(status, message);
  return out;
}

// The {"error": "..."} text of a route's refusal, else the body itself (bounded).
std::string ErrorText(const HttpResponse& response) {
  std::vector<JsonMember> members;
  if (ScanJsonObject(response.body, members).ok()) {
    for (const JsonMember& m : members) {
      if (m.key == "error" && m.kind == JsonKind::kString) return StringValue(m);
    }
  }
  return response.body.substr(0, 512);
}

}  // namespace

GrpcStatus GrpcStatusOfHttp(int http_status) {
  if (http_status >= 200 && http_status < 300) return GrpcStatus::kOk;
  switch (http_status) {
    case 400:
    case 415:
    case 422: return GrpcStatus::kInvalidArgument;
    case 401: return GrpcStatus::kUnauthenticated;
    case 403: return GrpcStatus::kPermissionDenied;
    case 404:
    case 405: return GrpcStatus::kUnimplemented;
    case 413:
    case 429: return GrpcStatus::kResourceExhausted;
    case 502:
    case 503:
    case 504: return GrpcStatus::kUnavailable;
    default: return GrpcStatus::kInternal;
  }
}

std::string_view OtlpRouteOfGrpcMethod(std::string_view grpc_path) {
  if (grpc_path == "/opentelemetry.proto.collector.trace.v1.TraceService/Export") return "/v1/traces";
  if (grpc_path == "/opentelemetry.proto.collector.logs.v1.LogsService/Export") return "/v1/logs";
  if (grpc_path == "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export") return "/v1/metrics";
  return "";
}

Http2Response HandleOtlpGrpcCall(const HttpRequest& call, bool body_too_large, const HttpHandler& routes) {
  const std::string& content_type = call.Header("content-type");
  if (!content_type.starts_with(kGrpcContentType) ||
      (content_type.size() > kGrpcContentType.size() && content_type[kGrpcContentType.size()] != '+' &&
       content_type[kGrpcContentType.size()] != ';')) {
    Http2Response refused;
    refused.status = 415;
    refused.headers = {{"content-type", "text/plain"}};
    refused.body = "gRPC only: content-type must be application/grpc\n";
    return refused;
  }
  const std::string_view route = OtlpRouteOfGrpcMethod(call.path);
  if (call.method != "POST" || route.empty()) {
    return Answer(GrpcStatus::kUnimplemented, "unknown method " + call.path +
                                                  ": meshd serves the OTLP Trace, Logs and Metrics Export services");
  }
  if (body_too_large) return Answer(GrpcStatus::kResourceExhausted, "request message over meshd's --max-body");
  Result<GrpcMessage> message = DecodeUnaryGrpcMessage(call.body);
  if (!message.ok()) return Answer(GrpcStatus::kInvalidArgument, message.status().message());
  HttpRequest request;
  request.method = "POST";
  request.path = std::string(route);
  request.headers["content-type"] = "application/x-protobuf";
  request.headers["host"] = call.Header("host");
  if (!call.Header("authorization").empty()) request.headers["authorization"] = call.Header("authorization");
  if (message->compressed) {
    const std::string& encoding = call.Header("grpc-encoding");
    if (encoding != "gzip") {
      return Answer(GrpcStatus::kUnimplemented,
                    "message compressed with grpc-encoding '" + encoding + "': meshd accepts identity and gzip");
    }
    request.headers["content-encoding"] = "gzip";
  }
  request.body = std::move(message->payload);
  request.remote_addr = call.remote_addr;
  request.peer_spiffe_id = call.peer_spiffe_id;
  const HttpResponse response = routes(request);
  const GrpcStatus status = GrpcStatusOfHttp(response.status);
  if (status != GrpcStatus::kOk) return Answer(status, ErrorText(response));
  return Answer(GrpcStatus::kOk, "", EncodeGrpcMessage(response.body));
}

}  // namespace mesh
