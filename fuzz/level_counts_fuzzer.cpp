// Fuzz target: the JSON answer of meshd's GET /v1/logs/stats as `meshlog stats --server` reads
// it (DecodeLevelCounts), untrusted input from the network. An answer is refused with
// InvalidArgument and no exception, or the counts it held encode to an answer that decodes to
// the same counts.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_check.h"
#include "mesh/telemetry/log_api.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const mesh::Result<std::vector<mesh::LevelCount>> counts = mesh::DecodeLevelCounts(text);
  if (!counts.ok()) {
    FUZZ_CHECK(counts.status().code() == mesh::Status::Code::kInvalidArgument);
    return 0;
  }
  const mesh::Result<std::vector<mesh::LevelCount>> again = mesh::DecodeLevelCounts(mesh::EncodeLevelCounts(*counts));
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(again->size() == counts->size());
  for (size_t i = 0; i < counts->size(); ++i) {
    FUZZ_CHECK((*again)[i].service == (*counts)[i].service);
    FUZZ_CHECK((*again)[i].level == (*counts)[i].level);
    FUZZ_CHECK((*again)[i].count == (*counts)[i].count);
  }
  return 0;
}
