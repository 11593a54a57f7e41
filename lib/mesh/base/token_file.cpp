#include "mesh/base/token_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string_view>

namespace mesh {

Result<std::string> ReadTokenFile(const std::string& path) {
  // The mode is checked on the file that is read (fstat on the open descriptor), not on
  // whatever the path named a moment earlier.
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::IOError("cannot read token file " + path + ": " + std::strerror(errno));
  struct stat st;
  std::string token;
  const bool stat_ok = fstat(fd, &st) == 0;
  const bool private_file = stat_ok && (st.st_mode & 077) == 0;
  if (private_file) {
    char buf[4096];
    ssize_t n = 0;
    while ((n = read(fd, buf, sizeof buf)) > 0) token.append(buf, static_cast<size_t>(n));
    if (n < 0) {
      const int read_errno = errno;
      close(fd);
      return Status::IOError("cannot read token file " + path + ": " + std::strerror(read_errno));
    }
  }
  close(fd);
  if (!stat_ok) return Status::IOError("cannot read token file " + path);
  if (!private_file) {
    return Status::InvalidArgument("token file " + path +
                                   " is readable by group or others (chmod 600 " + path + ")");
  }
  const size_t start = token.find_first_not_of(" \t\r\n");
  const size_t end = token.find_last_not_of(" \t\r\n");
  if (start == std::string::npos) return Status::InvalidArgument("token file " + path + " is empty");
  token = token.substr(start, end - start + 1);
  // The token goes into an Authorization header: a CR, LF or NUL would split it.
  if (std::any_of(token.begin(), token.end(), [](char c) {
        return (static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f;
      })) {
    return Status::InvalidArgument("token file " + path +
                                   " holds a control character inside the token (one line expected)");
  }
  return token;
}

bool BearerTokenMatches(const std::string& authorization, const std::string& token) {
  constexpr std::string_view kBearer = "Bearer ";
  if (token.empty() || authorization.size() <= kBearer.size() || authorization.compare(0, kBearer.size(), kBearer) != 0) {
    return false;
  }
  return ConstantTimeEquals(std::string_view(authorization).substr(kBearer.size()), token);
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  const size_t longest = std::max(a.size(), b.size());
  for (size_t i = 0; i < longest; ++i) {
    const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    const unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff |= x ^ y;
  }
  return diff == 0;
}

}  // namespace mesh
