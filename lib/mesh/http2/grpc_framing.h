// gRPC over HTTP/2, the pure parts (the "gRPC over HTTP2" protocol document): a message's
// 5-byte prefix (a compressed flag and a big-endian length), the grpc-timeout header, the
// status codes and the grpc-status / grpc-message trailers, grpc-message's percent-encoding.
// No I/O; every function is thread-safe. Input is untrusted: errors are values, never throws.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mesh/base/status.h"

namespace mesh {

// The status codes of gRPC (grpc/doc/statuscodes.md), as sent in grpc-status.
enum class GrpcStatus : int {
  kOk = 0,
  kCancelled = 1,
  kUnknown = 2,
  kInvalidArgument = 3,
  kDeadlineExceeded = 4,
  kNotFound = 5,
  kAlreadyExists = 6,
  kPermissionDenied = 7,
  kResourceExhausted = 8,
  kFailedPrecondition = 9,
  kAborted = 10,
  kOutOfRange = 11,
  kUnimplemented = 12,
  kInternal = 13,
  kUnavailable = 14,
  kDataLoss = 15,
  kUnauthenticated = 16,
};

struct GrpcMessage {
  bool compressed = false;  // the flag: the message is in the call's grpc-encoding
  std::string payload;
};

// The length-prefixed message as it goes on the wire.
std::string EncodeGrpcMessage(std::string_view payload, bool compressed = false);

// The one message of a unary call's request body. Errors: InvalidArgument when the body is not
// exactly one whole message (empty, a prefix cut short, a length past the end, bytes after it,
// a flag other than 0 or 1). The body's size is bounded by whoever buffered it.
Result<GrpcMessage> DecodeUnaryGrpcMessage(std::string_view body);

// grpc-timeout ("1-8 digits" then H, M, S, m, u or n) in nanoseconds, saturated at INT64_MAX;
// nullopt when malformed.
std::optional<int64_t> ParseGrpcTimeout(std::string_view value);

// grpc-message's encoding: bytes outside printable ASCII 0x20-0x7E, and '%', as %XX (upper hex).
std::string PercentEncodeGrpcMessage(std::string_view text);
// Its inverse; a '%' not followed by two hex digits is kept as it is (as the spec asks of a
// receiver).
std::string PercentDecodeGrpcMessage(std::string_view text);

// The trailers that end a call: grpc-status, and grpc-message when `message` is not empty.
std::vector<std::pair<std::string, std::string>> GrpcStatusTrailers(GrpcStatus status, std::string_view message);

}  // namespace mesh
