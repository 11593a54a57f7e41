// RawHttp: sends bytes exactly as given to a server on 127.0.0.1 and reads what comes back, for
// tests of what HTTP clients would never send (curl normalizes "/../", refuses CR in headers and
// caps header counts). Reads until the server closes the connection or a deadline passes, so
// a test also learns whether the server hung up. Not thread-safe; one connection per call.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>

namespace mesh::testing {

struct RawReply {
  int status = 0;            // 0: no status line came back
  std::string head;          // status line and headers, up to the blank line
  std::string body;
  bool closed = false;       // the server closed the connection before the deadline
  size_t bytes_sent = 0;     // how much of the request the server took before closing
};

class RawConnection {
 public:
  explicit RawConnection(int port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      close(fd_);
      fd_ = -1;
    }
  }
  ~RawConnection() {
    if (fd_ >= 0) close(fd_);
  }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool connected() const { return fd_ >= 0; }

  // Sends what it can; false once the server stopped taking data (reset or closed).
  bool Send(const std::string& data) {
    size_t done = 0;
    while (done < data.size()) {
      const ssize_t n = send(fd_, data.data() + done, data.size() - done, MSG_NOSIGNAL);
      if (n <= 0) return false;
      done += static_cast<size_t>(n);
      sent_ += static_cast<size_t>(n);
    }
    return true;
  }

  // Reads until the server closes or `timeout` passes without it.
  RawReply Read(std::chrono::milliseconds timeout) { return ReadUntil(timeout, false); }
  // Reads one whole answer (its head and its Content-Length of body) on a kept connection, or
  // until the server closes or `timeout` passes.
  RawReply ReadOne(std::chrono::milliseconds timeout) { return ReadUntil(timeout, true); }

 private:
  static bool Whole(const std::string& all) {
    const size_t end = all.find("\r\n\r\n");
    if (end == std::string::npos) return false;
    const size_t at = all.find("\r\nContent-Length: ");
    if (at == std::string::npos || at > end) return true;
    return all.size() >= end + 4 + std::strtoul(all.c_str() + at + 18, nullptr, 10);
  }

  RawReply ReadUntil(std::chrono::milliseconds timeout, bool one) {
    RawReply reply;
    std::string all;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!one || !Whole(all)) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
      char buf[65536];
      const ssize_t n = recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) {  // an orderly close, or a reset after the answer
        reply.closed = true;
        break;
      }
      all.append(buf, static_cast<size_t>(n));
    }
    const size_t end = all.find("\r\n\r\n");
    reply.head = all.substr(0, end);
    if (end != std::string::npos) reply.body = all.substr(end + 4);
    if (all.rfind("HTTP/1.", 0) == 0 && all.size() > 12) reply.status = std::atoi(all.c_str() + 9);
    reply.bytes_sent = sent_;
    return reply;
  }

  int fd_ = -1;
  size_t sent_ = 0;
};

// One request on a fresh connection; the answer as read until the server closes (or 5 s).
inline RawReply RawHttp(int port, const std::string& request,
                        std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
  RawConnection c(port);
  if (!c.connected()) return {};
  c.Send(request);
  return c.Read(timeout);
}

}  // namespace mesh::testing
