#include "mesh/base/text_table.h"

#include <algorithm>
#include <string_view>

#include "mesh/base/terminal_text.h"

namespace mesh {

std::string TableCell(const std::string& text) { return TerminalSafe(text); }

std::string ClipCell(const std::string& text, size_t columns) {
  size_t seen = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) == 0x80) continue;
    if (seen++ == columns - 1) return i + 1 < text.size() ? text.substr(0, i) + "…" : text;
  }
  return text;
}

size_t DisplayColumns(const std::string& text) {
  return static_cast<size_t>(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

std::string TextTable(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    widths.resize(std::max(widths.size(), row.size()));
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], DisplayColumns(TerminalSafe(row[i])));
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      // TerminalSafe leaves escaped text as it is: callers that clip escape first (TableCell).
      const std::string cell = TerminalSafe(row[i]);
      line += cell;
      if (i + 1 < row.size()) line.append(widths[i] - DisplayColumns(cell) + 2, ' ');
    }
    out += line + "\n";
  }
  return out;
}

std::string CsvField(const std::string& text) {
  bool quote = false;
  for (size_t i = 0; i < text.size() && !quote; ++i) {
    quote = text[i] == ',' || text[i] == '"' || TerminalUnsafeLength(std::string_view(text).substr(i)) > 0;
  }
  if (!quote) return text;
  std::string out = "\"";
  for (char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

}  // namespace mesh
