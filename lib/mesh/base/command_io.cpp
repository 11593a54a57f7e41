#include "mesh/base/command_io.h"

#include <cerrno>
#include <cstring>

#include "mesh/base/terminal_text.h"
#include "mesh/base/token_file.h"

namespace mesh {

Result<std::string> ResolveServer(const BackendOptions& o, const CommandIo& io) {
  std::string server = o.server;
  if (server.empty()) {
    const char* env = io.getenv("MESH_SERVER");
    if (env && *env) server = env;
  }
  if (!server.empty() && server.rfind("http://", 0) != 0 && server.rfind("https://", 0) != 0) {
    return Status::InvalidArgument("invalid server URL '" + server + "' (expected http://host:port)");
  }
  return server;
}

Result<std::string> ResolveToken(const BackendOptions& o, const CommandIo& io) {
  if (!o.token_file.empty()) return ReadTokenFile(o.token_file);
  const char* env = io.getenv("MESH_TOKEN");
  return std::string(env && *env ? env : "");
}

void PrintError(const char* tool, const CommandIo& io, std::string_view message) {
  std::fprintf(io.err, "%s: %s\n", tool, TerminalSafe(message).c_str());
}

int FailCommand(const char* tool, const CommandIo& io, const Status& status) {
  PrintError(tool, io, status.message());
  return status.code() == Status::Code::kInvalidArgument ? 2 : 1;
}

bool WriteOut(const CommandIo& io, const std::string& data) {
  if (data.empty()) return true;
  return std::fwrite(data.data(), 1, data.size(), io.out) == data.size() && std::fflush(io.out) == 0;
}

int WriteFailure(const char* tool, const CommandIo& io) {
  if (errno == EPIPE) return 0;
  std::fprintf(io.err, "%s: cannot write output: %s\n", tool, std::strerror(errno));
  return 1;
}

}  // namespace mesh
