// RawConnection: a client connection on raw sockets to a port on 127.0.0.1, for the streaming
// tests of the proxy (unit) and of meshproxy (integration).
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace mesh::test_support {

// A raw client connection (POSIX calls, each read bounded by 10 s), for what an HTTP client
// cannot do: speak another protocol after a 101.
class RawConnection {
 public:
  explicit RawConnection(int port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const timeval bound{10, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &bound, sizeof bound);
    connected_ = ::connect(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~RawConnection() { ::close(fd_); }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool connected() const { return connected_; }
  bool Write(std::string_view bytes) {
    return ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size());
  }
  void HalfClose() { ::shutdown(fd_, SHUT_WR); }
  // Everything received so far, once `needle` is in it (or the peer closed, or 10 s passed).
  const std::string& ReadUntil(std::string_view needle) {
    while (received_.find(needle) == std::string::npos && ReadSome()) {
    }
    return received_;
  }
  // Everything received so far, once it is `n` bytes long (or the peer closed, or 10 s passed).
  const std::string& ReadAtLeast(size_t n) {
    while (received_.size() < n && ReadSome()) {
    }
    return received_;
  }
  // Whether the peer closed (end of file) within 10 s of the last byte.
  bool ReadToEnd() {
    while (ReadSome()) {
    }
    return eof_;
  }
  const std::string& received() const { return received_; }

 private:
  bool ReadSome() {
    char buf[4096];
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n > 0) received_.append(buf, static_cast<size_t>(n));
    eof_ = n == 0;
    return n > 0;
  }
  int fd_;
  bool connected_ = false;
  bool eof_ = false;
  std::string received_;
};

}  // namespace mesh::test_support
