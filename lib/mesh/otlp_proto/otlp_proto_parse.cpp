#include "mesh/otlp_proto/otlp_proto_parse.h"

#include <google/protobuf/message.h>
#include <google/protobuf/stubs/logging.h>

#include <climits>
#include <mutex>
#include <string>

namespace mesh {

Status ParseOtlpProto(std::string_view body, google::protobuf::Message& message, const char* what) {
  static std::once_flag quiet;
  // libprotobuf logs an invalid UTF-8 string to stderr: a hostile body must not write there.
  std::call_once(quiet, [] { google::protobuf::SetLogHandler(nullptr); });
  // ParseFromArray bounds nesting by libprotobuf's default recursion limit.
  if (body.size() > static_cast<size_t>(INT_MAX) ||
      !message.ParseFromArray(body.data(), static_cast<int>(body.size()))) {
    return Status::InvalidArgument(std::string("not a protobuf ") + what +
                                   " (truncated or malformed, a string that is not UTF-8, or nested more "
                                   "than " + std::to_string(kOtlpProtoRecursionLimit) + " messages deep)");
  }
  return Status::Ok();
}

}  // namespace mesh
