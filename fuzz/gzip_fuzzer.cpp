// Fuzz target: Inflate, which meshd runs on every gzip or deflate request body (Content-Encoding,
// OTLP exporters) before its handlers see it: a corrupt, truncated or hostile stream, or a
// decompression bomb.
//
// Invariants: the output bound holds (never more than max_output bytes); the bound only cuts
// output: a stream that inflates within a small bound inflates to the same text within a large
// one; one refused as too large by a small bound never inflates within it under a large one; a
// stream corrupt within the small bound is corrupt under the large one.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "mesh/http/gzip.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view stream(reinterpret_cast<const char*>(data), size);
  constexpr size_t kSmall = 1024;
  constexpr size_t kLarge = 64 * 1024;
  const mesh::Result<std::string> small = mesh::Inflate(stream, kSmall);
  const mesh::Result<std::string> large = mesh::Inflate(stream, kLarge);
  if (small.ok()) {
    FUZZ_CHECK(small->size() <= kSmall);
    FUZZ_CHECK(large.ok() && *large == *small);
  } else if (small.status().code() == mesh::Status::Code::kUnsupported) {
    FUZZ_CHECK(!large.ok() || large->size() > kSmall);
  } else {
    FUZZ_CHECK(!large.ok());  // corrupt within the first kSmall bytes of output
  }
  if (large.ok()) FUZZ_CHECK(large->size() <= kLarge);
  return 0;
}
