// Text output helpers shared by the CLIs' table and CSV renderers: cells made safe to print
// (store values are untrusted), clipped cells, left-aligned columns, RFC 4180 CSV fields.
// Pure functions, thread-safe.
#pragma once

#include <string>
#include <vector>

namespace mesh {

// A cell of a text table: TerminalSafe (terminal_text.h): invalid UTF-8 replaced, control
// characters, C1 controls and bidirectional overrides escaped.
std::string TableCell(const std::string& text);

// At most `columns` code points of a cell, with an ellipsis when cut.
std::string ClipCell(const std::string& text, size_t columns = 60);

// Display width of UTF-8 text (one column per code point: what a table needs here).
size_t DisplayColumns(const std::string& text);

// Rows of cells as left-aligned columns separated by two spaces, one line per row. Every cell
// is printed TerminalSafe, whether or not the caller escaped it (escaping is idempotent).
std::string TextTable(const std::vector<std::vector<std::string>>& rows);

// A CSV field: quoted when it holds a comma, a quote, a line break (RFC 4180) or any other
// character a terminal acts on (TerminalUnsafeLength). CSV is a machine format: the data stays
// exact, but a field that could act on a terminal when the file is shown is always quoted.
std::string CsvField(const std::string& text);

}  // namespace mesh
