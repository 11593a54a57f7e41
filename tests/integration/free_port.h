// FreePort: a port that was free on 127.0.0.1 a moment ago (the kernel's pick for port 0), for
// suites that must tell a process its port before it starts. Another process may take it in
// between: use it only where the program cannot report the port it bound itself.
//
// PortHold: keeps a loopback port bound, not listening, while the server that released it is
// away (an outage test), so that no other process's bind takes it before the server comes back
// on it. Connections meanwhile are refused, as to a closed port. Both sockets set SO_REUSEADDR
// (civetweb does), which lets the server bind and listen again while the hold still stands:
// release it once the server is back. PortHold(0) holds a port of the kernel's choice: an
// address where nothing listens, which no other suite can take. Not thread-safe.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>

namespace mesh::test_support {

inline int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
    port = ntohs(a.sin_port);
  }
  close(fd);
  return port;
}

class PortHold {
 public:
  explicit PortHold(int port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    if (fd_ < 0) return;
    const int on = 1;
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(port));
    // SO_REUSEADDR: the old server's connections may still be in TIME_WAIT on this port.
    if (setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) != 0 ||
        bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      Release();
      return;
    }
    socklen_t len = sizeof a;
    if (getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) == 0) port_ = ntohs(a.sin_port);
  }
  ~PortHold() { Release(); }
  PortHold(const PortHold&) = delete;
  PortHold& operator=(const PortHold&) = delete;

  // Whether the port is held (false: the bind failed, someone else has it).
  bool held() const { return fd_ >= 0; }
  int port() const { return port_; }
  void Release() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
  int port_ = 0;
};

}  // namespace mesh::test_support
