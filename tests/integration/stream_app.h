// A small app for the streaming tests, on 127.0.0.1:0, written on raw sockets (a thread per
// connection, bounded reads) so that it speaks exactly what the test needs. One request per
// connection. Routes:
//   /upgrade        101 Switching Protocols (Upgrade echoed), then echoes every byte back until
//                   the peer half-closes, and closes
//   /events/N/MS    a server-sent-event stream (chunked): N events "data: tick i", MS ms apart
//   /silent         one event, then nothing until the peer goes away
//   anything else   200 with the request head as the body
// Stopping (destruction) closes the listener and every connection and joins the threads.
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace mesh::test_support {

class StreamApp {
 public:
  StreamApp() {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(a);
    EXPECT_EQ(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), len), 0);
    EXPECT_EQ(::listen(listen_fd_, 64), 0);
    EXPECT_EQ(::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len), 0);
    port_ = ntohs(a.sin_port);
    acceptor_ = std::thread([this] { AcceptLoop(); });
  }
  ~StreamApp() {
    stopping_ = true;
    ::shutdown(listen_fd_, SHUT_RDWR);
    acceptor_.join();
    ::close(listen_fd_);
    {
      std::lock_guard lock(mu_);
      for (int fd : open_) ::shutdown(fd, SHUT_RDWR);
    }
    for (std::thread& t : connections_) t.join();
  }
  StreamApp(const StreamApp&) = delete;
  StreamApp& operator=(const StreamApp&) = delete;

  int port() const { return port_; }
  // The request heads received, in order.
  std::vector<std::string> heads() const {
    std::lock_guard lock(mu_);
    return heads_;
  }

 private:
  static constexpr int kMaxConnections = 64;

  void AcceptLoop() {
    while (!stopping_ && static_cast<int>(connections_.size()) < kMaxConnections) {
      const int fd = ::accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) return;
      std::lock_guard lock(mu_);
      open_.push_back(fd);
      connections_.emplace_back([this, fd] { Serve(fd); });
    }
  }

  static bool Send(int fd, const std::string& s) {
    return ::send(fd, s.data(), s.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(s.size());
  }
  // Waits up to `ms` for input; false on end of file or error (or stopping).
  bool Readable(int fd, int ms) {
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, ms) > 0 && !stopping_;
  }
  static std::string Chunk(const std::string& data) {
    char size[16];
    std::snprintf(size, sizeof size, "%zx\r\n", data.size());
    return size + data + "\r\n";
  }

  void Serve(int fd) {
    std::string in;
    char buf[4096];
    while (in.find("\r\n\r\n") == std::string::npos && in.size() < 65536 && Readable(fd, 10000)) {
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      in.append(buf, static_cast<size_t>(n));
    }
    const size_t end = in.find("\r\n\r\n");
    if (end != std::string::npos) {
      const std::string head = in.substr(0, end + 4);
      {
        std::lock_guard lock(mu_);
        heads_.push_back(head);
      }
      Answer(fd, head, in.substr(end + 4));
    }
    std::lock_guard lock(mu_);
    std::erase(open_, fd);
    ::close(fd);
  }

  void Answer(int fd, const std::string& head, const std::string& early) {
    const size_t sp = head.find(' ');
    const std::string target = head.substr(sp + 1, head.find(' ', sp + 1) - sp - 1);
    const std::string sse = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n";
    if (target == "/upgrade") {
      if (!Send(fd, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")) return;
      if (!early.empty() && !Send(fd, early)) return;
      char buf[16384];
      while (Readable(fd, 60000)) {
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0 || !Send(fd, std::string(buf, static_cast<size_t>(n)))) return;
      }
    } else if (target.rfind("/events/", 0) == 0) {
      const size_t slash = target.find('/', 8);
      const int n = std::stoi(target.substr(8, slash - 8));
      const int every_ms = std::stoi(target.substr(slash + 1));
      if (!Send(fd, sse)) return;
      for (int i = 0; i < n && !stopping_; ++i) {
        if (i > 0) std::this_thread::sleep_for(std::chrono::milliseconds(every_ms));
        if (!Send(fd, Chunk("data: tick " + std::to_string(i) + "\n\n"))) return;
      }
      Send(fd, "0\r\n\r\n");
    } else if (target == "/silent") {
      if (!Send(fd, sse) || !Send(fd, Chunk("data: tick 0\n\n"))) return;
      char buf[256];
      // Nothing more: waits for the proxy to give up (end of file), at most a minute.
      while (Readable(fd, 60000) && ::recv(fd, buf, sizeof buf, 0) > 0) {
      }
    } else {
      Send(fd, "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(head.size()) +
                   "\r\nConnection: close\r\n\r\n" + head);
    }
  }

  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread acceptor_;
  mutable std::mutex mu_;
  std::vector<int> open_;
  std::vector<std::thread> connections_;
  std::vector<std::string> heads_;
};

}  // namespace mesh::test_support
