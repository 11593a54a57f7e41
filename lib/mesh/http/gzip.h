// Request body decompression: OTLP/HTTP exporters and collectors may send
// `Content-Encoding: gzip` (or deflate). HttpRouter inflates a body only once its route and
// guard have accepted the request, so that an unauthenticated bomb costs its compressed bytes
// and nothing more. Pure, thread-safe.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "mesh/base/status.h"
#include "mesh/http/http_message.h"

namespace mesh {

// Inflates a gzip or zlib stream (the format is detected). Errors: InvalidArgument for a
// corrupt or truncated stream; Unsupported when the output would exceed max_output bytes
// (a decompression bomb stops there, never holding more than max_output bytes).
Result<std::string> Inflate(std::string_view compressed, size_t max_output);

// Compresses `plain` as one gzip stream (Content-Encoding: gzip), as meshd's exporters send
// their bodies. Errors: IOError when zlib cannot be initialised.
Result<std::string> Gzip(std::string_view plain);

// How far a compressed request body may grow. The ratio bound stops a small body from costing
// a large one's memory and parsing; it applies past ratio_floor_bytes, so that a small body
// that compresses very well (a few repeated records) is never refused for it.
struct InflateLimits {
  size_t max_bytes = 8 << 20;  // the inflated body: the same limit as a plain body
  size_t max_ratio = 100;      // inflated bytes per compressed byte
  size_t ratio_floor_bytes = 64 << 10;
  // How the 413 names the bounds, e.g. "--max-body" and "--max-inflate-ratio".
  std::string max_bytes_name = "max_bytes";
  std::string max_ratio_name = "max_ratio";
};

// Inflates a gzip or deflate request body in place within `limits`, so that handlers only ever
// see plain bodies (an empty body is left as it is). Returns the answer to send instead: 415
// for another Content-Encoding, 413 past a bound (JSON naming it: {"error", "bound", "limit"}),
// 400 for a corrupt stream.
std::optional<HttpResponse> InflateRequestBody(HttpRequest& request, const InflateLimits& limits);

}  // namespace mesh
