// Fuzz target: what every human output of the CLIs prints stored text through (issue 18: stored
// data comes from untrusted producers): TerminalSafe, TableCell and TextTable, logfmt's
// AppendLogfmtPair (meshlog -o logfmt and pretty) with ParseLogfmt reading it back, CsvField.
//
// Invariants: TerminalSafe output holds no C0 control, DEL, C1 control or bidi override, is
// valid UTF-8 and is a fixed point of TerminalSafe; a table line holds none either; a logfmt
// pair holds none, parses to exactly one pair, and its value reads back as the (UTF-8
// repaired) input; a CSV field is the text itself or quoted, with quotes doubled.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "mesh/base/terminal_text.h"
#include "mesh/base/text_table.h"
#include "mesh/base/utf8.h"
#include "mesh/telemetry/logfmt.h"

namespace {

bool TerminalInert(std::string_view text, bool allow_newline) {
  for (size_t i = 0; i < text.size(); ++i) {
    if (allow_newline && text[i] == '\n') continue;
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c == 0x7f || mesh::TerminalUnsafeLength(text.substr(i)) > 0) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const std::string safe = mesh::TerminalSafe(text);
  FUZZ_CHECK(TerminalInert(safe, false));
  FUZZ_CHECK(mesh::IsCleanUtf8(safe));
  FUZZ_CHECK(mesh::TerminalSafe(safe) == safe);
  FUZZ_CHECK(TerminalInert(mesh::TextTable({{"A", text}, {text, mesh::ClipCell(mesh::TableCell(text), 8)}}), true));

  // Split the input: a key before the first '\x01', the value after it.
  const size_t cut = text.find('\x01');
  const std::string key = cut == std::string::npos ? "k" : text.substr(0, cut);
  const std::string value = cut == std::string::npos ? text : text.substr(cut + 1);
  std::string line;
  mesh::AppendLogfmtPair(line, key, value);
  FUZZ_CHECK(TerminalInert(line, false));
  line += " end=1";
  const mesh::Result<mesh::LogfmtPairs> pairs = mesh::ParseLogfmt(line);
  FUZZ_CHECK(pairs.ok());
  FUZZ_CHECK(pairs->size() == 2 && pairs->back().first == "end");
  FUZZ_CHECK(pairs->front().second == mesh::SanitizedUtf8(value));

  const std::string field = mesh::CsvField(text);
  if (field != text) {
    FUZZ_CHECK(field.size() >= 2 && field.front() == '"' && field.back() == '"');
    std::string unquoted;
    for (size_t i = 1; i + 1 < field.size(); ++i) {
      unquoted += field[i];
      if (field[i] == '"') ++i;  // a doubled quote
    }
    FUZZ_CHECK(unquoted == text);
  }
  return 0;
}
