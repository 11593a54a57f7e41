// What the mesh command-line tools share: the process's edges (injectable for tests), where a
// command's data lives (a store file or a meshd), and how errors and output reach the user.
// Exit codes: 0 ok, 1 runtime failure, 2 usage error (InvalidArgument).
#pragma once

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <string_view>

#include "mesh/base/clock.h"
#include "mesh/base/status.h"

namespace mesh {

struct CommandIo {
  std::FILE* in = stdin;
  std::FILE* out = stdout;
  std::FILE* err = stderr;
  bool out_is_tty = false;
  std::function<const char*(const char*)> getenv = [](const char* name) { return std::getenv(name); };
  const Clock* clock = &SystemClock::Instance();
};

// Where data lives: the local store file, or a meshd (--server, $MESH_SERVER).
struct BackendOptions {
  std::string db;
  std::string server;
  std::string token_file;  // bearer token sent to meshd (reads and writes); else $MESH_TOKEN
};

// The meshd URL to use (--server, else $MESH_SERVER), or "" for the local store.
// Errors: InvalidArgument for a URL that is not http(s)://.
Result<std::string> ResolveServer(const BackendOptions& options, const CommandIo& io);
// The bearer token for meshd (--token-file, else $MESH_TOKEN), or "".
Result<std::string> ResolveToken(const BackendOptions& options, const CommandIo& io);

// Prints "<tool>: <message>" on stderr, the message TerminalSafe (terminal_text.h): it may
// echo stored data or a server's answer.
void PrintError(const char* tool, const CommandIo& io, std::string_view message);
// PrintError of the status's message; returns 2 for InvalidArgument, else 1.
int FailCommand(const char* tool, const CommandIo& io, const Status& status);
// Writes data to stdout; false when the reader went away (EPIPE) or the write failed.
bool WriteOut(const CommandIo& io, const std::string& data);
// The exit code after a failed write: a closed pipe (`| head`) is a normal way to stop (0).
int WriteFailure(const char* tool, const CommandIo& io);

}  // namespace mesh
