// Fuzz target: CombineTraceState on any header lines (the input split at '\n'). A list that is
// accepted must be the normal form the proxy forwards: at most 32 members, none empty, no
// whitespace around a member, each key once; and passing it on again (one line) must give it back
// unchanged, so that a chain of proxies does not keep rewriting the header.
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.h"
#include "mesh/telemetry/tracestate.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  std::vector<std::string_view> lines;
  for (size_t at = 0;;) {
    const size_t end = input.find('\n', at);
    lines.push_back(input.substr(at, end == std::string_view::npos ? std::string_view::npos : end - at));
    if (end == std::string_view::npos) break;
    at = end + 1;
  }
  const mesh::Result<std::string> combined = mesh::CombineTraceState(lines);
  if (!combined.ok()) return 0;
  const std::string& list = *combined;
  std::set<std::string_view> keys;
  size_t members = 0;
  for (size_t at = 0; !list.empty();) {
    const size_t end = std::min(list.find(',', at), list.size());
    const std::string_view member = std::string_view(list).substr(at, end - at);
    FUZZ_CHECK(!member.empty());
    FUZZ_CHECK(member.front() != ' ' && member.front() != '\t' && member.back() != ' ' && member.back() != '\t');
    const size_t eq = member.find('=');
    FUZZ_CHECK(eq != std::string_view::npos && eq > 0 && eq + 1 < member.size());
    FUZZ_CHECK(keys.insert(member.substr(0, eq)).second);
    ++members;
    if (end == list.size()) break;
    at = end + 1;
  }
  FUZZ_CHECK(members <= mesh::kMaxTraceStateMembers);
  const std::string_view again_lines[] = {list};
  const mesh::Result<std::string> again = mesh::CombineTraceState(again_lines);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(*again == list);
  return 0;
}
