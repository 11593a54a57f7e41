#include "mesh/token_file.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace mesh {

Result<std::string> ReadTokenFile(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    return Status::IOError("cannot read token file " + path + ": " + std::strerror(errno));
  }
  if ((st.st_mode & 077) != 0) {
    return Status::InvalidArgument("token file " + path +
                                   " is readable by group or others (chmod 600 " + path + ")");
  }
  std::ifstream in(path);
  if (!in) return Status::IOError("cannot read token file " + path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::string token = buffer.str();
  const size_t start = token.find_first_not_of(" \t\r\n");
  const size_t end = token.find_last_not_of(" \t\r\n");
  if (start == std::string::npos) return Status::InvalidArgument("token file " + path + " is empty");
  return token.substr(start, end - start + 1);
}

}  // namespace mesh
