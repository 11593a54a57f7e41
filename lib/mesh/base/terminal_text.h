// Text from untrusted producers (stored log messages, attribute values, service and span names,
// alert labels, a server's error answer) made safe to print on a terminal. Every human output of
// every tool goes through it, so that stored data cannot move the cursor, clear the screen, set
// the window title, write the clipboard (OSC 52), overwrite a line with \r or reorder what the
// user reads with bidirectional overrides. Pure functions, thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace mesh {

// Appends text to out with invalid UTF-8 and NUL replaced by U+FFFD (utf8.h) and every character
// a terminal acts on escaped: \n, \r and \t as such; the other C0 controls and DEL as \xNN (so
// an ESC, and with it every escape sequence, is inert); the C1 controls U+0080-U+009F (U+009B is
// a CSI on some terminals) and the bidirectional embeddings, overrides and isolates
// (U+202A-U+202E, U+2066-U+2069) as \uNNNN. Everything else is copied as it is.
void AppendTerminalSafe(std::string& out, std::string_view text);

// The same, as a new string.
std::string TerminalSafe(std::string_view text);

// The length of the character at the start of text (valid UTF-8) that AppendTerminalSafe
// escapes, or 0 when it prints as it is. For writers with their own quoting (logfmt).
size_t TerminalUnsafeLength(std::string_view text);

// Appends the escape AppendTerminalSafe writes for the character of `length` bytes at the start
// of text (TerminalUnsafeLength's answer).
void AppendTerminalEscape(std::string& out, std::string_view text, size_t length);

}  // namespace mesh
