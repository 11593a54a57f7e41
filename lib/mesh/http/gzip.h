// Request body decompression: OTLP/HTTP exporters and collectors may send
// `Content-Encoding: gzip` (or deflate). Pure, thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "mesh/base/status.h"

namespace mesh {

// Inflates a gzip or zlib stream (the format is detected). Errors: InvalidArgument for a
// corrupt or truncated stream; Unsupported when the output would exceed max_output bytes
// (a decompression bomb stops there, never allocating more).
Result<std::string> Inflate(std::string_view compressed, size_t max_output);

}  // namespace mesh
