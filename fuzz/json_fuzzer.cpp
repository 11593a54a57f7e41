// Fuzz target: the JSON parsers every request body, config file and meshd answer goes through
// (JsonTape, which ScanJsonObject and the OTLP and Zipkin decoders use; ParseJson, jsoncpp behind
// the depth check, which the registry, certificate, alert, config and policy parsers use).
//
// Invariants: the nesting bound is the same for all of them (json_depth.h): a document the tape
// or ParseJson accepts passes CheckJsonDepth, and one that fails CheckJsonDepth is refused by
// both; what ParseJson accepts prints (AppendJsonValue) as JSON that both parse again.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "mesh/base/json_depth.h"
#include "mesh/base/json_tape.h"
#include "mesh/base/json_text.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const bool shallow = mesh::CheckJsonDepth(text).ok();
  mesh::JsonTape tape;
  const bool tape_ok = tape.Parse(text).ok();
  const mesh::Result<Json::Value> value = mesh::ParseJson(text);
  FUZZ_CHECK(!tape_ok || shallow);
  FUZZ_CHECK(!value.ok() || shallow);
  if (value.ok()) {
    std::string printed;
    mesh::AppendJsonValue(printed, *value);
    FUZZ_CHECK(mesh::ParseJson(printed).ok());
    FUZZ_CHECK(tape.Parse(printed).ok());
  }
  return 0;
}
