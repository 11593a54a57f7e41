// UTF-8 hygiene for text that reaches the store or JSON output. Pure functions, thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace mesh {

// True when text is well-formed UTF-8 (no overlongs, surrogates or code points past U+10FFFF)
// and holds no NUL byte.
bool IsCleanUtf8(std::string_view text);

// Appends text to out with every ill-formed sequence and every NUL byte replaced by U+FFFD.
// Returns true when something was replaced.
bool AppendSanitizedUtf8(std::string& out, std::string_view text);

// text itself when it is clean, else a copy with the replacements above.
std::string SanitizedUtf8(std::string_view text);

}  // namespace mesh
