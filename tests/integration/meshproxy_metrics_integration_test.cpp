// The golden-signal counters of a real meshproxy are exact at the highest rate this machine can
// drive through it: the test's own load generator counts the answers it got, and the sidecar's
// /metrics must say the same, while a telemetry queue far too small for that rate drops spans.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "mesh/http_curl/curl_http_client.h"
#include "meshd_fixture.h"
#include "subprocess.h"

namespace mesh {
namespace {

using namespace std::chrono_literals;
using test_support::MeshdProcess;
using test_support::Subprocess;

bool WriteAll(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

int Connect(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return -1;
  }
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

// A keep-alive HTTP/1.1 backend on 127.0.0.1:0 answering every request "200 ok", one thread per
// connection: light enough that the sidecar, not the backend, sets the pace.
class TinyBackend {
 public:
  TinyBackend() {
    listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(listen_fd_, 64) != 0 ||
        getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      return;
    }
    port_ = ntohs(a.sin_port);
    acceptor_ = std::thread([this] { Accept(); });
  }
  ~TinyBackend() {
    shutdown(listen_fd_, SHUT_RDWR);  // ends accept()
    if (acceptor_.joinable()) acceptor_.join();
    close(listen_fd_);
    std::lock_guard lock(mu_);
    for (const int fd : connections_) shutdown(fd, SHUT_RDWR);  // ends each read()
    for (std::thread& t : workers_) t.join();
    for (const int fd : connections_) close(fd);
  }
  int port() const { return port_; }

 private:
  void Accept() {
    while (true) {
      const int fd = accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) return;
      std::lock_guard lock(mu_);
      connections_.push_back(fd);
      workers_.emplace_back([fd] { Serve(fd); });
    }
  }
  static void Serve(int fd) {
    static const std::string kAnswer = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok";
    std::string pending;
    char chunk[16384];
    while (true) {
      const ssize_t n = read(fd, chunk, sizeof chunk);
      if (n <= 0) return;
      pending.append(chunk, static_cast<size_t>(n));
      // Requests without bodies (the generator's GETs): one answer per head.
      for (size_t end; (end = pending.find("\r\n\r\n")) != std::string::npos;) {
        pending.erase(0, end + 4);
        if (!WriteAll(fd, kAnswer)) return;
      }
    }
  }

  int listen_fd_ = -1;
  int port_ = 0;
  std::thread acceptor_;
  std::mutex mu_;
  std::vector<int> connections_;
  std::vector<std::thread> workers_;
};

struct LoadCount {
  int64_t answers = 0;  // complete HTTP responses received, whatever their status
  int64_t ok = 0;       // of which 200
  int64_t broken = 0;   // connections lost mid-exchange (their request may or may not count)
};

// Reads one response with a Content-Length body from `fd` into its status; false on a broken
// connection or a response this simple client cannot frame.
bool ReadResponse(int fd, std::string& buffer, int& status) {
  char chunk[16384];
  size_t head_end;
  while ((head_end = buffer.find("\r\n\r\n")) == std::string::npos) {
    const ssize_t n = read(fd, chunk, sizeof chunk);
    if (n <= 0) return false;
    buffer.append(chunk, static_cast<size_t>(n));
  }
  if (buffer.compare(0, 9, "HTTP/1.1 ") != 0) return false;
  status = std::atoi(buffer.c_str() + 9);
  std::smatch m;
  const std::string head = buffer.substr(0, head_end);
  if (!std::regex_search(head, m, std::regex("\r\n[Cc]ontent-[Ll]ength: *([0-9]+)"))) return false;
  const size_t total = head_end + 4 + std::stoul(m[1].str());
  while (buffer.size() < total) {
    const ssize_t n = read(fd, chunk, sizeof chunk);
    if (n <= 0) return false;
    buffer.append(chunk, static_cast<size_t>(n));
  }
  buffer.erase(0, total);
  return true;
}

// Closed-loop load: `connections` keep-alive connections, each sending its next GET as soon as
// the previous answer is in, until `enough` answers are in or `until`.
LoadCount DriveLoad(int port, int connections, int64_t enough, std::chrono::steady_clock::time_point until) {
  std::atomic<int64_t> answers{0}, ok{0}, broken{0};
  std::vector<std::thread> threads;
  for (int c = 0; c < connections; ++c) {
    threads.emplace_back([&] {
      const std::string request = "GET /load HTTP/1.1\r\nHost: load\r\n\r\n";
      int fd = -1;
      std::string buffer;
      while (answers.load() < enough && std::chrono::steady_clock::now() < until) {
        if (fd < 0 && (fd = Connect(port)) < 0) return;
        int status = 0;
        if (!WriteAll(fd, request) || !ReadResponse(fd, buffer, status)) {
          ++broken;
          close(fd);
          fd = -1;
          buffer.clear();
          continue;
        }
        ++answers;
        if (status == 200) ++ok;
      }
      if (fd >= 0) close(fd);
    });
  }
  for (std::thread& t : threads) t.join();
  return {answers.load(), ok.load(), broken.load()};
}

// The sum of a metric's samples whose line contains every one of `parts` (label pairs).
double MetricSum(const std::string& text, const std::string& name, const std::vector<std::string>& parts) {
  double sum = 0;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(start, end - start);
    start = end + 1;
    if (line.rfind(name + "{", 0) != 0 && line.rfind(name + " ", 0) != 0) continue;
    bool all = true;
    for (const std::string& p : parts) all = all && line.find(p) != std::string::npos;
    if (all) sum += std::stod(line.substr(line.rfind(' ') + 1));
  }
  return sum;
}

TEST(MeshproxyMetrics, CountsEveryRequestExactlyAtTheMachinesMaxRateWhileATinyQueueDropsSpans) {
  char tmpl[] = "/tmp/meshproxy-metrics-it-XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  {
    MeshdProcess meshd(dir + "/mesh.db");
    ASSERT_TRUE(meshd.ready());
    TinyBackend backend;
    ASSERT_NE(backend.port(), 0);
    Subprocess proxy({MESHPROXY_BIN, "--service", "load", "--service-port", std::to_string(backend.port()),
                      "--listen", "127.0.0.1:0", "--outbound", "", "--admin", "127.0.0.1:0", "--meshd", meshd.url(),
                      "--threads", "2", "--telemetry-queue", "16"});
    ASSERT_TRUE(proxy.WaitForStderr("meshproxy listening", 10s)) << proxy.err();
    int ports[2] = {0, 0};
    const std::string log = proxy.err();
    for (int k = 0; k < 2; ++k) {
      std::smatch bound;
      const std::string key = k == 0 ? "inbound" : "admin";
      ASSERT_TRUE(std::regex_search(log, bound, std::regex("\"" + key + "\":\"http://127\\.0\\.0\\.1:([0-9]+)"))) << log;
      ports[k] = std::stoi(bound[1].str());
    }
    const auto metrics = [&] {
      CurlHttpClient client(15000);
      Result<HttpClientResponse> r = client.Send("GET", "http://127.0.0.1:" + std::to_string(ports[1]) + "/metrics", "", {});
      return r.ok() ? r->body : std::string();
    };

    // Four closed-loop connections keep the two cores busy: the machine's max rate. A count of
    // answers rather than a duration: a sanitized build on a busy machine is ten times slower.
    constexpr int64_t kEnough = 2000;
    const auto started = std::chrono::steady_clock::now();
    const LoadCount sent = DriveLoad(ports[0], 4, kEnough, started + 60s);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    ASSERT_GE(sent.answers, kEnough) << "in " << seconds << " s";
    EXPECT_EQ(sent.ok, sent.answers);
    EXPECT_EQ(sent.broken, 0);

    // A request is counted once its answer is relayed; the last ones may still be finishing.
    double counted = -1;
    std::string text;
    for (int attempt = 0; attempt < 100; ++attempt) {
      text = metrics();
      counted = MetricSum(text, "mesh_requests_total", {"direction=\"inbound\""});
      if (counted >= static_cast<double>(sent.answers)) break;
      std::this_thread::sleep_for(100ms);
    }
    EXPECT_EQ(counted, static_cast<double>(sent.answers)) << text;
    EXPECT_EQ(MetricSum(text, "mesh_requests_total", {"code=\"200\"", "direction=\"inbound\""}), counted);
    EXPECT_EQ(MetricSum(text, "mesh_request_duration_seconds_count", {"direction=\"inbound\""}), counted);
    const double spans_dropped = MetricSum(text, "mesh_telemetry_dropped_total", {"kind=\"spans\""});
    EXPECT_GT(spans_dropped, 0) << "a 16-record queue kept up with the load: the test proves nothing";
    std::printf("[ figures  ] %lld requests in %.2f s (%.0f req/s) through meshproxy --threads 2: counted %.0f, "
                "spans dropped %.0f, logs dropped %.0f\n",
                static_cast<long long>(sent.answers), seconds, static_cast<double>(sent.answers) / seconds, counted,
                spans_dropped, MetricSum(text, "mesh_telemetry_dropped_total", {"kind=\"logs\""}));
    proxy.Signal(SIGTERM);
    proxy.Wait(20s);
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace mesh
