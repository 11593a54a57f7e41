// meshd_connections: what a running meshd still answers while many connections sit on it, the
// probe of bench/meshd_connections.sh (docs/benchmarks.md).
//   meshd_connections PORT KEPT IDLE TRICKLING SECONDS
// Holds three kinds of connection for SECONDS: KEPT keep-alive connections that each send
// GET /healthz every 2 s and wait for the answer (a sidecar refreshing discovery), IDLE ones that
// connect and send nothing, and TRICKLING ones that send a never-ending request head a byte a
// second (a slow or hostile client). Meanwhile, four times a second, a fresh connection asks
// GET /healthz and another registers an instance (POST /v1/register), each given 10 s.
// Prints one line: the kept connections' requests answered of those sent, the probes'
// latencies (median, worst) and failures, and how many idle and trickling connections meshd
// closed. Raw sockets on 127.0.0.1, no mesh library: the probe must not depend on the code it
// measures.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// A connect that a full listen backlog leaves hanging gives up after 10 s (SO_SNDTIMEO bounds
// connect on Linux), so that a server that cannot take more connections shows as failures.
int Connect(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  const timeval limit{10, 0};
  if (fd >= 0) setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd >= 0 && connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) return fd;
  if (fd >= 0) close(fd);
  return -1;
}

bool SendAll(int fd, const std::string& data) {
  for (size_t done = 0; done < data.size();) {
    const ssize_t n = send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

// Reads until `until` says the reply is whole, the server closes, or the deadline; the status.
template <typename Whole>
int ReadStatus(int fd, Clock::time_point deadline, Whole until) {
  std::string all;
  char buf[16384];
  while (!until(all)) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    pollfd p{fd, POLLIN, 0};
    if (left.count() <= 0 || poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
    const ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    all.append(buf, static_cast<size_t>(n));
  }
  return all.rfind("HTTP/1.", 0) == 0 && all.size() > 12 ? std::atoi(all.c_str() + 9) : 0;
}

// One request on a fresh connection that the server closes after answering; status and time.
std::pair<int, double> Probe(int port, const std::string& request) {
  const auto start = Clock::now();
  const int fd = Connect(port);
  int status = 0;
  if (fd >= 0 && SendAll(fd, request)) {
    status = ReadStatus(fd, start + 10s, [](const std::string&) { return false; });
  }
  if (fd >= 0) close(fd);
  return {status, std::chrono::duration<double, std::milli>(Clock::now() - start).count()};
}

double Percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[static_cast<size_t>(q * static_cast<double>(v.size() - 1))];
}

// Whether the server has closed fd (end of stream or reset), reading away what it sent.
bool ClosedByPeer(int fd, std::string* received) {
  char buf[16384];
  for (;;) {
    const ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n == 0) return true;
    if (n < 0) return errno != EAGAIN && errno != EWOULDBLOCK;
    if (received) received->append(buf, static_cast<size_t>(n));
  }
}

struct Kept {
  int fd = -1;
  bool waiting = false;  // a request sent and not yet answered
  bool closed = false;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 6) {
    std::fprintf(stderr, "usage: meshd_connections PORT KEPT IDLE TRICKLING SECONDS\n");
    return 2;
  }
  const int port = std::atoi(argv[1]);
  const int kept_count = std::atoi(argv[2]), idle_count = std::atoi(argv[3]);
  const int trickle_count = std::atoi(argv[4]);
  const auto run_for = std::chrono::seconds(std::atoi(argv[5]));
  rlimit limit{};
  getrlimit(RLIMIT_NOFILE, &limit);
  limit.rlim_cur = limit.rlim_max;
  setrlimit(RLIMIT_NOFILE, &limit);

  std::vector<Kept> kept;
  std::vector<int> idle, trickling;
  for (int i = 0; i < kept_count; ++i) kept.push_back({Connect(port)});
  for (int i = 0; i < idle_count; ++i) idle.push_back(Connect(port));
  for (int i = 0; i < trickle_count; ++i) {
    const int fd = Connect(port);
    if (fd >= 0) SendAll(fd, "GET /v1/services HTTP/1.1\r\nHost: meshd\r\nX-Slow: ");
    trickling.push_back(fd);
  }
  const auto end = Clock::now() + run_for;
  std::atomic<bool> done = false;
  size_t kept_sent = 0, kept_answered = 0;
  int trickle_closed = 0;
  std::vector<char> trickle_cut(trickling.size(), 0);
  // Every 2 s: collect the kept connections' answers, ask again on those answered, and send
  // each trickling connection one more byte a second.
  std::thread background([&] {
    for (int tick = 0; !done; ++tick) {
      if (tick % 2 == 0) {
        for (Kept& k : kept) {
          if (k.fd < 0 || k.closed) continue;
          std::string received;
          k.closed = ClosedByPeer(k.fd, &received);
          if (k.waiting && received.find("HTTP/1.1 200") != std::string::npos) {
            ++kept_answered;
            k.waiting = false;
          }
          if (!k.closed && !k.waiting) {
            k.waiting = SendAll(k.fd, "GET /healthz HTTP/1.1\r\nHost: meshd\r\n\r\n");
            kept_sent += k.waiting ? 1 : 0;
          }
        }
      }
      for (size_t i = 0; i < trickling.size(); ++i) {
        if (trickling[i] >= 0 && !trickle_cut[i] && (ClosedByPeer(trickling[i], nullptr) || !SendAll(trickling[i], "a"))) {
          trickle_cut[i] = 1;
          ++trickle_closed;
        }
      }
      for (int i = 0; i < 10 && !done; ++i) std::this_thread::sleep_for(100ms);
    }
  });

  std::vector<double> health_ms, register_ms;
  int health_failed = 0, register_failed = 0;
  for (int i = 0; Clock::now() < end; ++i) {
    const auto [status, ms] = Probe(port, "GET /healthz HTTP/1.1\r\nHost: meshd\r\nConnection: close\r\n\r\n");
    if (status == 200) health_ms.push_back(ms);
    else ++health_failed;
    const std::string body = "{\"service\":\"probe\",\"host\":\"127.0.0.1\",\"port\":" +
                             std::to_string(20000 + i % 10000) + ",\"ttl_seconds\":60}";
    const auto [reg_status, reg_ms] =
        Probe(port, "POST /v1/register HTTP/1.1\r\nHost: meshd\r\nContent-Type: application/json\r\n"
                    "Connection: close\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
    if (reg_status == 200) register_ms.push_back(reg_ms);
    else ++register_failed;
    std::this_thread::sleep_for(250ms);
  }
  done = true;
  background.join();
  int idle_closed = 0;
  for (int fd : idle) idle_closed += fd >= 0 && ClosedByPeer(fd, nullptr) ? 1 : 0;
  int kept_closed = 0;
  for (const Kept& k : kept) kept_closed += k.closed ? 1 : 0;
  for (const Kept& k : kept) close(k.fd);
  for (int fd : idle) close(fd);
  for (int fd : trickling) close(fd);
  std::printf(
      "kept=%d idle=%d trickling=%d %llds | kept: answered %zu of %zu sent, %d closed | "
      "healthz ok=%zu failed=%d p50=%.1fms max=%.1fms | register ok=%zu failed=%d p50=%.1fms "
      "max=%.1fms | closed by meshd: idle %d, trickling %d\n",
      kept_count, idle_count, trickle_count, static_cast<long long>(run_for.count()), kept_answered,
      kept_sent, kept_closed, health_ms.size(), health_failed, Percentile(health_ms, 0.5),
      Percentile(health_ms, 1.0), register_ms.size(), register_failed, Percentile(register_ms, 0.5),
      Percentile(register_ms, 1.0), idle_closed, trickle_closed);
  return 0;
}
