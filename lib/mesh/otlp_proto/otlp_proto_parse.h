// Internal to otlp_proto: how every OTLP protobuf body is parsed, with libprotobuf's own error
// log silenced (a hostile body must not write to stderr). Thread-safe.
#pragma once

#include <string_view>

#include "mesh/base/status.h"

namespace google::protobuf {
class Message;
}  // namespace google::protobuf

namespace mesh {

// libprotobuf's default recursion limit, which ParseFromArray applies.
inline constexpr int kOtlpProtoRecursionLimit = 100;

// Parses `body` into `message`. Errors: InvalidArgument naming `what` was expected (truncated or
// malformed, a string that is not UTF-8, nested deeper than kOtlpProtoRecursionLimit).
Status ParseOtlpProto(std::string_view body, google::protobuf::Message& message, const char* what);

}  // namespace mesh
