// The layer check: reads a source tree and reports what goes against the architecture's
// direction (docs/architecture.md):
//   - each lib/mesh/<layer>/CMakeLists.txt declares the layer's dependencies in its
//     target_link_libraries(mesh_<layer> ...) call, the single source of truth; they must form
//     no cycle;
//   - a file of lib/mesh/<layer>/ includes "mesh/<L>/x.h" only when L is its own layer or one
//     its layer depends on, directly or not, and the header exists;
//   - cmd/<tool>/ includes only its executable's layer (MESH_TOOL_LAYER_<tool> in the top-level
//     CMakeLists.txt) and what that layer depends on;
//   - outside lib/mesh/store/, no file of lib/ or cmd/ includes <sqlite3.h> or
//     mesh/store/sqlite_db.h, or holds a string literal that reads as an SQL statement;
//   - outside lib/mesh/http2/, no file of lib/ or cmd/ includes an nghttp2/ header.
// Pure functions of the files they read; thread-safe.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace mesh::lint {

struct Violation {
  std::string path;  // relative to the checked root, '/'-separated
  int line = 1;
  std::string message;
};

// "path:line: message".
std::string FormatViolation(const Violation& v);

// Every violation under `root`, sorted by path and line; empty when the tree is clean. A file
// that cannot be read is itself a violation.
std::vector<Violation> CheckTree(const std::filesystem::path& root);

// ---- the pieces, exposed for their tests ---------------------------------------------------

struct StringLiteral {
  int line = 1;      // of the literal's opening quote
  std::string text;  // contents, escapes as written; adjacent literals ("a" "b") joined
};

struct ScannedSource {
  std::string code;                     // the text with comments blanked, newlines kept
  std::vector<StringLiteral> literals;  // string literals outside comments, in order
};

// Lexes C++ enough to tell comments, string literals (raw ones too), character literals and
// digit separators apart. Unterminated constructs end at the end of their line or the text.
ScannedSource ScanSource(std::string_view text);

// Whether a string literal's contents start with an SQL statement (SELECT, INSERT INTO,
// DELETE FROM, UPDATE t SET, CREATE TABLE/INDEX/VIRTUAL TABLE/..., PRAGMA), its keyword in upper or
// lower case: a Title-case "Select a service" is prose.
bool LooksLikeSql(std::string_view literal);

struct CMakeCommand {
  std::string name;  // lowercased, as CMake command names are case-insensitive
  std::vector<std::string> args;
  int line = 1;
};

// The commands of a CMake file, arguments split on whitespace, quotes removed, comments dropped.
std::vector<CMakeCommand> ParseCMake(std::string_view text);

}  // namespace mesh::lint
