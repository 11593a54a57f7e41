#include "mesh/token_file.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string_view>

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

bool BearerTokenMatches(const std::string& authorization, const std::string& token) {
  constexpr std::string_view kBearer = "Bearer ";
  if (token.empty() || authorization.size() <= kBearer.size() || authorization.compare(0, kBearer.size(), kBearer) != 0) {
    return false;
  }
  const std::string_view given = std::string_view(authorization).substr(kBearer.size());
  unsigned char diff = given.size() == token.size() ? 0 : 1;
  const size_t longest = std::max(given.size(), token.size());
  for (size_t i = 0; i < longest; ++i) {
    const unsigned char x = i < given.size() ? static_cast<unsigned char>(given[i]) : 0;
    const unsigned char y = i < token.size() ? static_cast<unsigned char>(token[i]) : 0;
    diff |= x ^ y;
  }
  return diff == 0;
}

}  // namespace mesh
