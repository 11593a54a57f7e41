// Zipkin v2 JSON decoding (POST /api/v2/spans): a JSON array of spans with hex ids (64-bit
// trace ids are widened to 128 bits with leading zeros), kind CLIENT|SERVER|PRODUCER|
// CONSUMER, timestamp and duration in microseconds, localEndpoint.serviceName, string tags
// (an "error" tag marks the span as failed) and annotations (which become events). The
// endpoints' other fields become attributes, as the OpenTelemetry Collector names them:
// remoteEndpoint serviceName, ipv4 or ipv6, port as peer.service, net.peer.ip, net.peer.port;
// localEndpoint ipv4 or ipv6, port as net.host.ip, net.host.port (a tag of the same name wins).
// Encoding puts those attributes back into the endpoints. Invalid
// spans are rejected one by one and counted. Pure, thread-safe.
#pragma once

#include <string_view>

#include "mesh/telemetry/otlp.h"

namespace mesh {

// Errors: InvalidArgument when the body is not a JSON array.
Result<OtlpTraces> DecodeZipkinSpans(std::string_view json);

// Encodes spans as a Zipkin v2 JSON array: timestamps and durations in microseconds (rounded
// down; a non-zero duration stays at least 1), string tags (non-string attribute values as
// their JSON text), events as annotations, an error span tagged "error" with its message, kind
// INTERNAL/UNSPECIFIED without a kind. Zipkin cannot carry everything (nanoseconds, typed
// attributes, resource, scope, trace state): DecodeZipkinSpans of the output keeps ids,
// parent links, services, names, kinds, error status and times to the microsecond.
std::string EncodeZipkinSpans(const std::vector<Span>& spans);

}  // namespace mesh
