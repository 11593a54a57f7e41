#include "mesh/http/gzip.h"

#include <zlib.h>

#include <vector>

namespace mesh {

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
    out.append(buffer.data(), produced);
    if (rc == Z_OK && zs.avail_in == 0 && produced == 0) {
      inflateEnd(&zs);
      return Status::InvalidArgument("compressed body is truncated");
    }
  }
  inflateEnd(&zs);
  return out;
}

}  // namespace mesh
