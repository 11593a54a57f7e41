#include "mesh/http/gzip.h"

#include <zlib.h>

#include <algorithm>
#include <vector>

#include "mesh/base/json_text.h"

namespace mesh {

Result<std::string> Gzip(std::string_view plain) {
  z_stream zs{};
  // 16 + MAX_WBITS: a gzip header and trailer rather than zlib's.
  if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    return Status::IOError("cannot initialise zlib");
  }
  std::string out(deflateBound(&zs, static_cast<uLong>(plain.size())), '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(plain.data()));
  zs.avail_in = static_cast<uInt>(plain.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  // deflateBound is room enough for one Z_FINISH call.
  const int rc = deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) return Status::IOError("gzip: cannot compress the body");
  return out;
}

Result<std::string> Inflate(std::string_view compressed, size_t max_output) {
  z_stream zs{};
  // 32 + MAX_WBITS: accept both gzip and zlib headers.
  if (inflateInit2(&zs, 32 + MAX_WBITS) != Z_OK) return Status::IOError("cannot initialise zlib");
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data()));
  zs.avail_in = static_cast<uInt>(compressed.size());
  std::string out;
  // On the heap: this runs on HTTP worker threads whose 100 KiB stacks have no room for it (a
  // 64 KiB array here ran past the guard page into the next worker's thread-local storage).
  std::vector<char> buffer(64 << 10);
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    zs.next_out = reinterpret_cast<Bytef*>(buffer.data());
    zs.avail_out = static_cast<uInt>(buffer.size());
    rc = inflate(&zs, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      inflateEnd(&zs);
      return Status::InvalidArgument(rc == Z_BUF_ERROR ? "compressed body is truncated"
                                                       : "compressed body is corrupt");
    }
    const size_t produced = buffer.size() - zs.avail_out;
    if (out.size() + produced > max_output) {
      inflateEnd(&zs);
      return Status::Unsupported("decompressed body larger than " + std::to_string(max_output) + " bytes");
    }
    // Grown by doubling up to max_output, never past it: the string's capacity is what the
    // bound promises, not twice that. (Into a fresh string: reserve() on this one would round
    // up to twice its capacity.)
    if (out.size() + produced > out.capacity()) {
      std::string grown;
      grown.reserve(std::min(max_output, std::max(2 * out.capacity(), out.size() + produced)));
      grown.append(out);
      out.swap(grown);
    }
    out.append(buffer.data(), produced);
    if (rc == Z_OK && zs.avail_in == 0 && produced == 0) {
      inflateEnd(&zs);
      return Status::InvalidArgument("compressed body is truncated");
    }
  }
  inflateEnd(&zs);
  return out;
}

namespace {

HttpResponse TooLarge(const std::string& message, const std::string& bound, size_t limit) {
  std::string body = "{\"error\":";
  AppendJsonString(body, message);
  body += ",\"bound\":";
  AppendJsonString(body, bound);
  body += ",\"limit\":" + std::to_string(limit) + "}";
  return HttpResponse::Json(413, std::move(body));
}

}  // namespace

std::optional<HttpResponse> InflateRequestBody(HttpRequest& request, const InflateLimits& limits) {
  const std::string encoding = request.Header("content-encoding");
  if (encoding.empty() || encoding == "identity") return std::nullopt;
  if (encoding != "gzip" && encoding != "deflate" && encoding != "x-gzip") {
    return HttpResponse::Error(
        415, "unsupported Content-Encoding '" + encoding + "' (use gzip, deflate or none)");
  }
  if (request.body.empty()) {
    request.headers.erase("content-encoding");
    return std::nullopt;
  }
  // Saturating: a ratio times a large body must not wrap around to a small bound.
  const size_t by_ratio =
      request.body.size() > limits.max_bytes / std::max<size_t>(limits.max_ratio, 1)
          ? limits.max_bytes
          : std::max(limits.ratio_floor_bytes, limits.max_ratio * request.body.size());
  const bool ratio_binds = by_ratio < limits.max_bytes;
  Result<std::string> plain = Inflate(request.body, std::min(by_ratio, limits.max_bytes));
  if (!plain.ok()) {
    if (plain.status().code() != Status::Code::kUnsupported) {
      return HttpResponse::Error(400, plain.status().message());
    }
    if (ratio_binds) {
      return TooLarge("the " + encoding + " body inflates to more than " +
                          std::to_string(limits.max_ratio) + " times its " +
                          std::to_string(request.body.size()) + " compressed bytes (" +
                          limits.max_ratio_name + " " + std::to_string(limits.max_ratio) + ")",
                      limits.max_ratio_name, limits.max_ratio);
    }
    return TooLarge("the " + encoding + " body inflates to more than " +
                        std::to_string(limits.max_bytes) + " bytes (" + limits.max_bytes_name +
                        " " + std::to_string(limits.max_bytes) + ")",
                    limits.max_bytes_name, limits.max_bytes);
  }
  request.body = std::move(plain).value();
  request.headers.erase("content-encoding");
  return std::nullopt;
}

}  // namespace mesh
