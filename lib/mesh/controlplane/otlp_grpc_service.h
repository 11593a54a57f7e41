// OtlpGrpcService: the OTLP/gRPC export services (opentelemetry.proto.collector.{trace,logs,
// metrics}.v1.{Trace,Logs,Metrics}Service/Export, unary) as an adapter onto meshd's HTTP routes:
// a call becomes POST /v1/traces, /v1/logs or /v1/metrics with its protobuf message as the body
// (Content-Encoding: gzip when the message is compressed with grpc-encoding gzip), so that the
// same token guard, body and inflation limits, decoders and store writes answer it; the HTTP
// answer becomes the gRPC one: the Export response message (partial success included) with
// grpc-status 0, or the status its HTTP code maps to (GrpcStatusOfHttp) with the error's text
// as grpc-message. Pure functions over the routes' handler; thread-safe when the handler is.
#pragma once

#include <string_view>

#include "mesh/http/http_message.h"
#include "mesh/http/http_router.h"
#include "mesh/http2/grpc_framing.h"
#include "mesh/http2/http2_server_session.h"

namespace mesh {

// 400/415/422: INVALID_ARGUMENT; 401: UNAUTHENTICATED; 403: PERMISSION_DENIED; 404/405:
// UNIMPLEMENTED; 413/429: RESOURCE_EXHAUSTED; 502/503/504: UNAVAILABLE; other codes >= 300: INTERNAL.
GrpcStatus GrpcStatusOfHttp(int http_status);

// The HTTP route an OTLP Export method is served by ("" for any other gRPC path).
std::string_view OtlpRouteOfGrpcMethod(std::string_view grpc_path);

// Answers one call. `body_too_large`: the request outgrew the HTTP/2 server's bound (its body is
// gone): RESOURCE_EXHAUSTED. A request that is not gRPC (no application/grpc content type) gets
// HTTP 415, as the gRPC protocol asks.
Http2Response HandleOtlpGrpcCall(const HttpRequest& call, bool body_too_large, const HttpHandler& routes);

}  // namespace mesh
