#include "mesh/proxy/http_proxy.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
// GCC 12 with sanitizers reports a false maybe-uninitialized inside Beast's parser.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#pragma GCC diagnostic pop
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "mesh/base/json_text.h"
#include "mesh/base/trace_id.h"
#include "mesh/telemetry/traceparent.h"
#include "raw_connection.h"

namespace mesh {
namespace proxy_http_proxy_test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

constexpr size_t kChunk = 64 * 1024;
constexpr auto kIoTimeout = 10s;

auto Redirect(beast::error_code& ec) { return asio::redirect_error(asio::use_awaitable, ec); }

std::string Lower(beast::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Bodies of any size are compared by length and FNV-1a hash, never held whole.
struct BodyDigest {
  uint64_t size = 0;
  uint64_t hash = 14695981039346656037ull;
  void Add(const char* data, size_t n) {
    for (size_t i = 0; i < n; ++i) {
      hash = (hash ^ static_cast<unsigned char>(data[i])) * 1099511628211ull;
    }
    size += n;
  }
  bool operator==(const BodyDigest&) const = default;
};

// A deterministic byte stream for large bodies.
void FillPattern(uint64_t offset, char* out, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    out[i] = static_cast<char>(((offset + i) * 2654435761ull) >> 13);
  }
}

BodyDigest PatternDigest(uint64_t size) {
  BodyDigest digest;
  std::vector<char> chunk(kChunk);
  for (uint64_t offset = 0; offset < size; offset += kChunk) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(kChunk, size - offset));
    FillPattern(offset, chunk.data(), n);
    digest.Add(chunk.data(), n);
  }
  return digest;
}

std::string HexSize(size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  do {
    out.insert(out.begin(), kHex[n % 16]);
    n /= 16;
  } while (n > 0);
  return out;
}

// What the test upstream received.
struct Seen {
  std::string method;
  std::string target;
  std::multimap<std::string, std::string> headers;  // lowercase names
  BodyDigest body;

  bool Has(const std::string& name) const { return headers.count(name) > 0; }
  std::string Header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
};

// An HTTP/1.1 upstream on 127.0.0.1:0 with its own I/O thread. Routes:
//   /status/N      answers status N
//   /slow/MS       answers 200 after MS milliseconds
//   /download/N    answers N pattern bytes, chunked
//   /close         closes the connection without answering
//   /then-close    answers 200 (keep-alive) and closes the connection right after
//   /hop           answers with hop-by-hop headers
//   /upgrade       answers 101 with the request's Upgrade and "hello\n" in the same write, then
//                  echoes every byte back until the proxy half-closes, and closes
//   /trickle/N/MS  answers N chunks "tick\n", one every MS milliseconds
//   /stall         answers one chunk "tick\n", then nothing for 5 s, then ends
//   anything else  answers 200 "ok"
// With force_status set, every request gets that status instead.
class TestUpstream {
 public:
  TestUpstream() : acceptor_(ioc_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    asio::co_spawn(ioc_, Accept(), [](std::exception_ptr) {});
    thread_ = std::thread([this] { ioc_.run(); });
  }
  ~TestUpstream() {
    ioc_.stop();
    thread_.join();
  }

  Endpoint endpoint() const { return {"127.0.0.1", acceptor_.local_endpoint().port(), ""}; }
  int accepts() const { return accepts_.load(); }
  // Connections accepted and not yet closed by the other side.
  int open_connections() const { return open_.load(); }
  void force_status(int status) { force_status_.store(status); }
  std::vector<Seen> seen() const {
    std::lock_guard<std::mutex> lock(mu_);
    return seen_;
  }
  Seen last() const {
    std::lock_guard<std::mutex> lock(mu_);
    return seen_.empty() ? Seen() : seen_.back();
  }

 private:
  asio::awaitable<void> Accept() {
    for (;;) {
      beast::error_code ec;
      tcp::socket socket = co_await acceptor_.async_accept(Redirect(ec));
      if (ec) co_return;
      ++accepts_;
      asio::co_spawn(ioc_, Serve(std::move(socket)), [](std::exception_ptr) {});
    }
  }

  asio::awaitable<void> Serve(tcp::socket socket) {
    ++open_;
    struct Closed {
      std::atomic<int>& open;
      ~Closed() { --open; }
    } closed{open_};
    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buffer;
    std::vector<char> chunk(kChunk);
    for (;;) {
      beast::error_code ec;
      http::request_parser<http::buffer_body> parser;
      parser.body_limit(std::numeric_limits<std::uint64_t>::max());
      co_await http::async_read_header(stream, buffer, parser, Redirect(ec));
      if (ec) co_return;
      Seen seen;
      seen.method = std::string(parser.get().method_string());
      seen.target = std::string(parser.get().target());
      for (const auto& field : parser.get()) {
        seen.headers.emplace(Lower(field.name_string()), std::string(field.value()));
      }
      while (!parser.is_done()) {
        parser.get().body().data = chunk.data();
        parser.get().body().size = chunk.size();
        co_await http::async_read_some(stream, buffer, parser, Redirect(ec));
        if (ec == http::error::need_buffer) ec = {};
        if (ec) co_return;
        seen.body.Add(chunk.data(), chunk.size() - parser.get().body().size);
      }
      {
        std::lock_guard<std::mutex> lock(mu_);
        seen_.push_back(seen);
      }
      const bool keep_alive = parser.keep_alive();
      if (seen.target == "/upgrade") {
        co_await Echo(stream, buffer, seen.Header("upgrade"));
        co_return;
      }
      if (!co_await Answer(stream, seen, keep_alive) || !keep_alive) co_return;
    }
  }

  asio::awaitable<bool> Answer(beast::tcp_stream& stream, const Seen& seen, bool keep_alive) {
    beast::error_code ec;
    const std::string path = seen.target.substr(0, seen.target.find('?'));
    const bool close_after = path == "/then-close";
    http::response<http::string_body> res{http::status::ok, 11};
    res.body() = "ok";
    if (force_status_.load() != 0) {
      res.result(force_status_.load());
      res.body() = "forced";
    } else if (path == "/close") {
      co_return false;
    } else if (path.rfind("/slow/", 0) == 0) {
      asio::steady_timer wait(ioc_, std::chrono::milliseconds(std::stoi(path.substr(6))));
      co_await wait.async_wait(Redirect(ec));
      res.body() = "slow";
    } else if (path.rfind("/status/", 0) == 0) {
      res.result(std::stoi(path.substr(8)));
      res.body() = "status " + path.substr(8);
    } else if (path.rfind("/download/", 0) == 0) {
      co_return co_await Download(stream, std::stoull(path.substr(10)), keep_alive);
    } else if (path.rfind("/trickle/", 0) == 0) {
      const size_t slash = path.find('/', 9);
      co_return co_await Trickle(stream, std::stoi(path.substr(9, slash - 9)),
                                 std::chrono::milliseconds(std::stoi(path.substr(slash + 1))), {});
    } else if (path == "/stall") {
      co_return co_await Trickle(stream, 1, {}, 5s);
    } else if (path == "/hop") {
      res.set(http::field::connection, "X-Up-Hop");
      res.set("X-Up-Hop", "1");
      res.set(http::field::keep_alive, "timeout=5");
      res.set("X-Up-End", "1");
    }
    res.set("X-Upstream", "yes");
    res.keep_alive(keep_alive);
    res.prepare_payload();
    http::response_serializer<http::string_body> sr{res};
    if (seen.method == "HEAD") {
      co_await http::async_write_header(stream, sr, Redirect(ec));
    } else {
      co_await http::async_write(stream, sr, Redirect(ec));
    }
    co_return !ec && !close_after;
  }

  asio::awaitable<void> Echo(beast::tcp_stream& stream, beast::flat_buffer& buffer, const std::string& upgrade) {
    beast::error_code ec;
    const std::string head = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: " + upgrade +
                             "\r\nConnection: Upgrade\r\nX-Up-End: 1\r\n\r\nhello\n";
    co_await asio::async_write(stream, asio::buffer(head), Redirect(ec));
    if (!ec && buffer.size() > 0) co_await asio::async_write(stream, buffer.data(), Redirect(ec));
    std::array<char, 4096> chunk;
    while (!ec) {
      const size_t n = co_await stream.async_read_some(asio::buffer(chunk), Redirect(ec));
      if (!ec) co_await asio::async_write(stream, asio::buffer(chunk.data(), n), Redirect(ec));
    }
  }

  // `n` chunks "tick\n", `every` apart, then `silence` before the last chunk.
  asio::awaitable<bool> Trickle(beast::tcp_stream& stream, int n, std::chrono::milliseconds every,
                                std::chrono::milliseconds silence) {
    beast::error_code ec;
    static constexpr std::string_view kHead = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    co_await asio::async_write(stream, asio::buffer(kHead), Redirect(ec));
    for (int i = 0; i < n && !ec; ++i) {
      if (i > 0) {
        asio::steady_timer wait(ioc_, every);
        co_await wait.async_wait(Redirect(ec));
      }
      co_await asio::async_write(stream, asio::buffer("5\r\ntick\n\r\n", 10), Redirect(ec));
    }
    asio::steady_timer wait(ioc_, silence);
    co_await wait.async_wait(Redirect(ec));
    if (!ec) co_await asio::async_write(stream, asio::buffer("0\r\n\r\n", 5), Redirect(ec));
    co_return !ec;
  }

  asio::awaitable<bool> Download(beast::tcp_stream& stream, uint64_t size, bool keep_alive) {
    beast::error_code ec;
    std::string head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n";
    if (!keep_alive) head += "Connection: close\r\n";
    head += "\r\n";
    co_await asio::async_write(stream, asio::buffer(head), Redirect(ec));
    std::vector<char> chunk(kChunk);
    for (uint64_t offset = 0; offset < size && !ec; offset += kChunk) {
      const size_t n = static_cast<size_t>(std::min<uint64_t>(kChunk, size - offset));
      FillPattern(offset, chunk.data(), n);
      const std::string prefix = HexSize(n) + "\r\n";
      const std::array<asio::const_buffer, 3> parts{
          asio::buffer(prefix), asio::buffer(chunk.data(), n), asio::buffer("\r\n", 2)};
      co_await asio::async_write(stream, parts, Redirect(ec));
    }
    if (!ec) co_await asio::async_write(stream, asio::buffer("0\r\n\r\n", 5), Redirect(ec));
    co_return !ec;
  }

  asio::io_context ioc_;
  tcp::acceptor acceptor_;
  std::thread thread_;
  std::atomic<int> accepts_{0};
  std::atomic<int> open_{0};
  std::atomic<int> force_status_{0};
  mutable std::mutex mu_;
  std::vector<Seen> seen_;
};

// An upstream that answers every request in full ("answer to <target>"), then sends bytes no
// request asked for: a whole second answer, "stray answer", as an upstream writing past its
// Content-Length or a buggy keep-alive would. `apart`: those bytes go a millisecond after the
// answer, in a write of their own (else in the same write).
class OverSendingUpstream {
 public:
  explicit OverSendingUpstream(bool apart)
      : apart_(apart), acceptor_(ioc_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    asio::co_spawn(ioc_, Accept(), [](std::exception_ptr) {});
    thread_ = std::thread([this] { ioc_.run(); });
  }
  ~OverSendingUpstream() {
    ioc_.stop();
    thread_.join();
  }
  Endpoint endpoint() const { return {"127.0.0.1", acceptor_.local_endpoint().port(), ""}; }
  int extras_sent() const { return extras_sent_.load(); }
  int accepts() const { return accepts_.load(); }

 private:
  asio::awaitable<void> Accept() {
    for (;;) {
      beast::error_code ec;
      tcp::socket socket = co_await acceptor_.async_accept(Redirect(ec));
      if (ec) co_return;
      ++accepts_;
      socket.set_option(tcp::no_delay(true));
      asio::co_spawn(ioc_, Serve(std::move(socket)), [](std::exception_ptr) {});
    }
  }
  asio::awaitable<void> Serve(tcp::socket socket) {
    static constexpr std::string_view kStray = "HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\nstray answer";
    beast::flat_buffer buffer;
    for (;;) {
      beast::error_code ec;
      http::request<http::empty_body> req;
      co_await http::async_read(socket, buffer, req, Redirect(ec));
      if (ec) co_return;
      const std::string body = "answer to " + std::string(req.target());
      std::string answer = "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
      if (!apart_) answer += kStray;
      co_await asio::async_write(socket, asio::buffer(answer), Redirect(ec));
      if (apart_ && !ec) {
        asio::steady_timer pause(ioc_, 1ms);
        co_await pause.async_wait(Redirect(ec));
        co_await asio::async_write(socket, asio::buffer(kStray), Redirect(ec));
      }
      if (ec) co_return;
      ++extras_sent_;
    }
  }

  const bool apart_;
  asio::io_context ioc_;
  tcp::acceptor acceptor_;
  std::thread thread_;
  std::atomic<int> extras_sent_{0};
  std::atomic<int> accepts_{0};
};

struct Call {
  std::string method = "GET";
  std::string target = "/";
  std::string host = "127.0.0.1";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;              // sent with Content-Length when not empty
  uint64_t chunked_pattern = 0;  // when > 0: that many pattern bytes, chunked
  uint64_t length_pattern = 0;   // when > 0: that many pattern bytes, with Content-Length
  std::chrono::milliseconds pause_before_reading{0};  // lets the proxy fill the socket buffers
};

struct Reply {
  std::string error;  // transport failure, else empty
  int status = 0;
  std::map<std::string, std::string> headers;  // lowercase names
  std::string body;                            // kept when small
  BodyDigest digest;

  std::string Header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
};

// A client connection to the proxy, kept alive across Send calls. Blocking, with a 10 s bound
// on every operation.
class Client {
 public:
  explicit Client(int port) : port_(port), stream_(ioc_) {}

  Reply Send(const Call& call) { return Run(Exchange(call)); }

  // True when the proxy closes the connection (rather than keeping it open) within 5 s.
  bool PeerCloses() { return Run(WaitForClose()); }

 private:
  template <class T>
  T Run(asio::awaitable<T> task) {
    std::optional<T> out;
    asio::co_spawn(ioc_, std::move(task), [&out](std::exception_ptr e, T value) {
      if (!e) out = std::move(value);
    });
    ioc_.restart();
    ioc_.run();
    return out.value_or(T{});
  }

  asio::awaitable<Reply> Exchange(Call call) {
    Reply reply;
    beast::error_code ec;
    if (!stream_.socket().is_open()) {
      stream_.expires_after(kIoTimeout);
      co_await stream_.async_connect(
          tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<uint16_t>(port_)),
          Redirect(ec));
      if (ec) {
        reply.error = "connect: " + ec.message();
        co_return reply;
      }
    }
    std::string head = call.method + " " + call.target + " HTTP/1.1\r\nHost: " + call.host + "\r\n";
    for (const auto& [name, value] : call.headers) head += name + ": " + value + "\r\n";
    if (call.chunked_pattern > 0) {
      head += "Transfer-Encoding: chunked\r\n";
    } else if (call.length_pattern > 0) {
      head += "Content-Length: " + std::to_string(call.length_pattern) + "\r\n";
    } else if (!call.body.empty()) {
      head += "Content-Length: " + std::to_string(call.body.size()) + "\r\n";
    }
    head += "\r\n" + call.body;
    stream_.expires_after(kIoTimeout);
    co_await asio::async_write(stream_, asio::buffer(head), Redirect(ec));
    const uint64_t pattern = std::max(call.chunked_pattern, call.length_pattern);
    std::vector<char> chunk(kChunk);
    for (uint64_t offset = 0; offset < pattern && !ec; offset += kChunk) {
      const size_t n = static_cast<size_t>(std::min<uint64_t>(kChunk, pattern - offset));
      FillPattern(offset, chunk.data(), n);
      stream_.expires_after(kIoTimeout);
      if (call.chunked_pattern > 0) {
        const std::string prefix = HexSize(n) + "\r\n";
        const std::array<asio::const_buffer, 3> parts{
            asio::buffer(prefix), asio::buffer(chunk.data(), n), asio::buffer("\r\n", 2)};
        co_await asio::async_write(stream_, parts, Redirect(ec));
      } else {
        co_await asio::async_write(stream_, asio::buffer(chunk.data(), n), Redirect(ec));
      }
    }
    if (!ec && call.chunked_pattern > 0) {
      co_await asio::async_write(stream_, asio::buffer("0\r\n\r\n", 5), Redirect(ec));
    }
    if (ec) {
      reply.error = "write: " + ec.message();
      co_return reply;
    }

    if (call.pause_before_reading.count() > 0) {
      asio::steady_timer pause(ioc_, call.pause_before_reading);
      co_await pause.async_wait(Redirect(ec));
    }
    http::response_parser<http::buffer_body> parser;
    parser.body_limit(std::numeric_limits<std::uint64_t>::max());
    parser.skip(call.method == "HEAD");
    stream_.expires_after(kIoTimeout);
    co_await http::async_read_header(stream_, buffer_, parser, Redirect(ec));
    if (ec) {
      reply.error = "read header: " + ec.message();
      co_return reply;
    }
    reply.status = parser.get().result_int();
    for (const auto& field : parser.get()) {
      reply.headers[Lower(field.name_string())] = std::string(field.value());
    }
    while (!parser.is_done()) {
      parser.get().body().data = chunk.data();
      parser.get().body().size = chunk.size();
      stream_.expires_after(kIoTimeout);
      co_await http::async_read_some(stream_, buffer_, parser, Redirect(ec));
      if (ec == http::error::need_buffer) ec = {};
      if (ec) {
        reply.error = "read body: " + ec.message();
        co_return reply;
      }
      const size_t n = chunk.size() - parser.get().body().size;
      reply.digest.Add(chunk.data(), n);
      if (reply.body.size() < (1 << 20)) reply.body.append(chunk.data(), n);
    }
    co_return reply;
  }

  asio::awaitable<bool> WaitForClose() {
    beast::error_code ec;
    char byte;
    stream_.expires_after(5s);
    co_await stream_.async_read_some(asio::buffer(&byte, 1), Redirect(ec));
    co_return ec == asio::error::eof || ec == asio::error::connection_reset;
  }

  int port_;
  asio::io_context ioc_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
};

Reply Get(int port, const std::string& target,
          std::vector<std::pair<std::string, std::string>> headers = {}) {
  Client client(port);
  return client.Send({.target = target, .headers = std::move(headers)});
}

// Writes raw bytes on a fresh connection and returns everything the proxy answers until it
// closes (or 10 s pass).
std::string RawExchange(int port, const std::string& bytes) {
  asio::io_context ioc;
  std::string answer;
  auto task = [&]() -> asio::awaitable<void> {
    beast::tcp_stream stream(ioc);
    beast::error_code ec;
    stream.expires_after(kIoTimeout);
    co_await stream.async_connect(
        tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<uint16_t>(port)),
        Redirect(ec));
    if (!ec) co_await asio::async_write(stream, asio::buffer(bytes), Redirect(ec));
    std::array<char, 4096> buf;
    while (!ec) {
      const size_t n = co_await stream.async_read_some(asio::buffer(buf), Redirect(ec));
      answer.append(buf.data(), n);
    }
  };
  asio::co_spawn(ioc, task(), [](std::exception_ptr) {});
  ioc.run();
  return answer;
}

// A port where connecting is refused for the rest of the run: a socket stays bound to it
// without listening, so that no other socket (the proxy's own listeners included) can be
// given the port in the meantime.
int ClosedPort() {
  static asio::io_context ioc;
  static std::vector<std::unique_ptr<tcp::socket>> held;
  auto socket = std::make_unique<tcp::socket>(ioc);
  socket->open(tcp::v4());
  socket->bind(tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  const int port = socket->local_endpoint().port();
  held.push_back(std::move(socket));
  return port;
}

bool WaitFor(const std::function<bool()>& condition) {
  const auto until = std::chrono::steady_clock::now() + 5s;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(2ms);
  }
  return true;
}

// Endpoint number `attempt` of a fixed list (the last one repeats); records every report.
class ScriptedUpstreams : public UpstreamSelector {
 public:
  explicit ScriptedUpstreams(std::vector<Endpoint> by_attempt)
      : by_attempt_(std::move(by_attempt)) {}
  Result<Endpoint> Pick(std::string_view service, int attempt) override {
    std::lock_guard<std::mutex> lock(mu_);
    services_.emplace_back(service);
    return by_attempt_[std::min<size_t>(attempt, by_attempt_.size() - 1)];
  }
  void Report(const Endpoint& endpoint, AttemptOutcome outcome, int64_t) override {
    std::lock_guard<std::mutex> lock(mu_);
    reports_.emplace_back(endpoint, outcome);
  }
  void Started(const Endpoint&) override { ++started_; }

  std::vector<std::pair<Endpoint, AttemptOutcome>> reports() const {
    std::lock_guard<std::mutex> lock(mu_);
    return reports_;
  }
  std::vector<std::string> services() const {
    std::lock_guard<std::mutex> lock(mu_);
    return services_;
  }
  int started() const { return started_.load(); }

 private:
  std::vector<Endpoint> by_attempt_;
  mutable std::mutex mu_;
  std::vector<std::pair<Endpoint, AttemptOutcome>> reports_;
  std::vector<std::string> services_;
  std::atomic<int> started_{0};
};

class NoUpstream : public UpstreamSelector {
 public:
  Result<Endpoint> Pick(std::string_view, int) override {
    return Status::IOError("no healthy instance of api");
  }
  void Report(const Endpoint&, AttemptOutcome, int64_t) override {}
};

// A proxy in front of a selector, collecting completion records.
class Proxy {
 public:
  explicit Proxy(std::shared_ptr<UpstreamSelector> upstreams,
                 const std::function<void(HttpProxy::Options&)>& tweak = {}) {
    HttpProxy::Options options;
    options.listen_port = 0;
    options.threads = 2;
    options.service = "api";
    options.upstreams = std::move(upstreams);
    options.on_complete = [this](const ProxiedRequest& r) {
      std::lock_guard<std::mutex> lock(mu_);
      records_.push_back(r);
    };
    if (tweak) tweak(options);
    auto started = HttpProxy::Start(std::move(options));
    EXPECT_TRUE(started.ok()) << started.status().ToString();
    if (started.ok()) proxy_ = std::move(started.value());
  }

  HttpProxy& operator*() { return *proxy_; }
  HttpProxy* operator->() { return proxy_.get(); }
  int port() const { return proxy_->port(); }

  // The first n completion records, once there are n (empty after 5 s without).
  std::vector<ProxiedRequest> Records(size_t n) {
    EXPECT_TRUE(WaitFor([&] {
      std::lock_guard<std::mutex> lock(mu_);
      return records_.size() >= n;
    })) << "fewer than " << n << " completion records after 5 s";
    std::lock_guard<std::mutex> lock(mu_);
    return records_.size() >= n ? records_ : std::vector<ProxiedRequest>();
  }

 private:
  std::mutex mu_;
  std::vector<ProxiedRequest> records_;
  std::unique_ptr<HttpProxy> proxy_;
};

std::shared_ptr<UpstreamSelector> To(const TestUpstream& upstream) {
  return std::make_shared<FixedUpstream>(upstream.endpoint());
}

// An upstream that answers "/now" at once and holds "/hold" until Open() (then answers it and
// every later one at once), all keep-alive. It counts connections open at once and their peak,
// requests held, and connections whose peer closed while it held a request: the abandonments
// it could see (a real server would stop working on those).
class GatedUpstream {
 public:
  GatedUpstream() : acceptor_(ioc_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    asio::co_spawn(ioc_, Accept(), [](std::exception_ptr) {});
    thread_ = std::thread([this] { ioc_.run(); });
  }
  ~GatedUpstream() {
    ioc_.stop();
    thread_.join();
  }
  Endpoint endpoint() const { return {"127.0.0.1", acceptor_.local_endpoint().port(), ""}; }
  void Open() {
    asio::post(ioc_, [this] {
      open_ = true;
      for (asio::steady_timer* gate : held_) gate->cancel();
    });
  }
  int open_connections() const { return open_connections_.load(); }
  int peak_connections() const { return peak_connections_.load(); }
  int held() const { return held_count_.load(); }
  int abandoned() const { return abandoned_.load(); }
  int requests() const { return requests_.load(); }

 private:
  struct Watch {
    asio::steady_timer* gate = nullptr;
    bool peer_closed = false;
  };

  asio::awaitable<void> Accept() {
    for (;;) {
      beast::error_code ec;
      tcp::socket socket = co_await acceptor_.async_accept(Redirect(ec));
      if (ec) co_return;
      asio::co_spawn(ioc_, Serve(std::move(socket)), [](std::exception_ptr) {});
    }
  }

  asio::awaitable<void> Serve(tcp::socket socket) {
    const int now = ++open_connections_;
    for (int peak = peak_connections_.load(); now > peak && !peak_connections_.compare_exchange_weak(peak, now);) {
    }
    struct Closed {
      std::atomic<int>& open;
      ~Closed() { --open; }
    } closed{open_connections_};
    beast::flat_buffer buffer;
    for (;;) {
      beast::error_code ec;
      http::request<http::empty_body> req;
      co_await http::async_read(socket, buffer, req, Redirect(ec));
      if (ec) co_return;
      ++requests_;
      if (req.target() == "/hold" && !open_) {
        ++held_count_;
        asio::steady_timer gate(ioc_, 1h);
        held_.insert(&gate);
        auto watch = std::make_shared<Watch>(Watch{&gate});
        socket.async_wait(tcp::socket::wait_read, [this, watch, fd = socket.native_handle()](const beast::error_code& e) {
          if (e || watch->gate == nullptr) return;
          char byte;
          const ssize_t n = ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
          if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
            watch->peer_closed = true;
            ++abandoned_;
            watch->gate->cancel();
          }
        });
        co_await gate.async_wait(Redirect(ec));
        held_.erase(&gate);
        watch->gate = nullptr;
        --held_count_;
        socket.cancel(ec);
        if (watch->peer_closed) co_return;
      }
      const std::string answer = "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ndone";
      co_await asio::async_write(socket, asio::buffer(answer), Redirect(ec));
      if (ec) co_return;
    }
  }

  asio::io_context ioc_;
  tcp::acceptor acceptor_;
  std::thread thread_;
  bool open_ = false;                      // the I/O thread's
  std::set<asio::steady_timer*> held_;     // the I/O thread's
  std::atomic<int> open_connections_{0};
  std::atomic<int> peak_connections_{0};
  std::atomic<int> held_count_{0};
  std::atomic<int> abandoned_{0};
  std::atomic<int> requests_{0};
};

// `n` clients at once, each sending one GET `target` on a connection of its own, all from one
// thread; keeps each answer's status (0: none) and body.
class Burst {
 public:
  Burst(int port, int n, const std::string& target) : replies_(static_cast<size_t>(n)) {
    for (size_t i = 0; i < replies_.size(); ++i) {
      asio::co_spawn(ioc_, One(port, target, i), [](std::exception_ptr) {});
    }
    thread_ = std::thread([this] { ioc_.run(); });
  }
  ~Burst() { Wait(); }
  void Wait() {
    if (thread_.joinable()) thread_.join();
  }
  int Count(int status) const {
    std::lock_guard lock(mu_);
    return static_cast<int>(std::count_if(replies_.begin(), replies_.end(),
                                          [status](const auto& r) { return r.first == status; }));
  }
  std::string BodyOf(int status) const {
    std::lock_guard lock(mu_);
    for (const auto& [s, body] : replies_) {
      if (s == status) return body;
    }
    return "";
  }

 private:
  asio::awaitable<void> One(int port, std::string target, size_t i) {
    beast::tcp_stream stream(ioc_);
    beast::error_code ec;
    stream.expires_after(30s);
    co_await stream.async_connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<uint16_t>(port)),
                                  Redirect(ec));
    const std::string request = "GET " + target + " HTTP/1.1\r\nHost: api\r\n\r\n";
    if (!ec) co_await asio::async_write(stream, asio::buffer(request), Redirect(ec));
    beast::flat_buffer buffer;
    http::response<http::string_body> res;
    if (!ec) co_await http::async_read(stream, buffer, res, Redirect(ec));
    if (ec) co_return;
    std::lock_guard lock(mu_);
    replies_[i] = {res.result_int(), res.body()};
  }

  asio::io_context ioc_;
  mutable std::mutex mu_;
  std::vector<std::pair<int, std::string>> replies_;
  std::thread thread_;
};

// A raw client connection that sends one request and can then vanish.
class Abandoner {
 public:
  Abandoner(int port, const std::string& request) : socket_(ioc_) {
    socket_.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<uint16_t>(port)));
    asio::write(socket_, asio::buffer(request));
  }
  void HalfClose() { socket_.shutdown(tcp::socket::shutdown_send); }
  void Close() { socket_.close(); }
  // What the proxy answers until it closes the connection.
  std::string ReadToEnd() {
    std::string out;
    std::array<char, 4096> buf;
    beast::error_code ec;
    while (!ec) out.append(buf.data(), socket_.read_some(asio::buffer(buf), ec));
    return out;
  }

 private:
  asio::io_context ioc_;
  tcp::socket socket_;
};

// A raw client connection, for what the HTTP client above cannot do: speak another protocol
// after a 101.
using test_support::RawConnection;

constexpr std::string_view kUpgradeRequest =
    "GET /upgrade HTTP/1.1\r\nHost: api\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";

Json::Value ParseBody(const Reply& reply) {
  Result<Json::Value> json = ParseJson(reply.body);
  EXPECT_TRUE(json.ok()) << reply.body;
  return json.ok() ? *json : Json::Value();
}

TEST(HttpProxy, ForwardsEveryMethodWithPathAndQueryIntact) {
  TestUpstream upstream;
  Proxy proxy(To(upstream));
  for (const std::string method : {"GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"}) {
    Client client(proxy.port());
    const Reply reply = client.Send({.method = method, .target = "/a/b%20c?x=1&y=two"});
    EXPECT_EQ(reply.status, 200) << method << " " << reply.error;
    EXPECT_EQ(reply.body, method == "HEAD" ? "" : "ok") << method;
    EXPECT_EQ(upstream.last().method, method);
    EXPECT_EQ(upstream.last().target, "/a/b%20c?x=1&y=two");
  }
}

TEST(HttpProxy, HeadAnswerKeepsContentLengthWithoutBody) {
  TestUpstream upstream;
  Proxy proxy(To(upstream));
  Client client(proxy.port());
  const Reply head = client.Send({.method = "HEAD", .target = "/"});
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.Header("content-length"), "2");
  EXPECT_EQ(head.body, "");
  // The connection is still in step: a second request on it works.
  EXPECT_EQ(client.Send({.target = "/"}).body, "ok");
}

TEST(HttpProxy, UpstreamStatusPassesThroughUnchanged) {
  TestUpstream upstream;
  Proxy proxy(To(upstream));
  EXPECT_EQ(Get(proxy.port(), "/status/404").status, 404);
  EXPECT_EQ(Get(proxy.port(), "/status/500").status, 500);
  const Reply created = Get(proxy.port(), "/status/201");
  EXPECT_EQ(created.status, 201);
  EXPECT_EQ(created.body, "status 201");
  EXPECT_EQ(created.Header("x-upstream"), "yes");
}

TEST(HttpProxy, ForwardsEndToEndHeadersAndDropsHopByHopOnes) {
  TestUpstream upstream;
  Proxy proxy(To(upstream));
  const Reply reply = Get(proxy.port(), "/",
                          {{"Connection", "keep-alive, X-Secret"},
                           {"X-Secret", "1"},
                           {"Keep-Alive", "300"},
                           {"Proxy-Connection", "keep-alive"},
                           {"TE", "trailers"},
                           {"Trailer", "X-Checksum"},
                           {"Upgrade", "websocket"},
                           {"X-End", "kept"},
                           {"Authorization", "Bearer t"},
                           {"x-mesh-timeout", "5s"}});
  ASSERT_EQ(reply.status, 200) << reply.error;
  const Seen seen = upstream.last();
  EXPECT_EQ(seen.Header("x-end"), "kept");
  EXPECT_EQ(seen.Header("authorization"), "Bearer t");
  EXPECT_EQ(seen.Header("host"), "127.0.0.1");
  for (const char* gone : {"connection", "x-secret", "keep-alive", "proxy-connection", "te",
                           "trailer", "upgrade", "transfer-encoding", "x-mesh-timeout"}) {
    EXPECT_FALSE(seen.Has(gone)) << gone;
  }
}

TEST(HttpProxy, DropsHopByHopResponseHeaders) {
  TestUpstream upstream;
  Proxy proxy(To(upstream));
  const Reply reply = Get(proxy.port(), "/hop");
  ASSERT_EQ(reply.status, 200) << reply.error;
  EXPECT_EQ(reply.Header("x-up-end"), "1");
  EXPECT_EQ(reply.Header("x-up-hop"), "");
  EXPECT_EQ(reply.Header("keep-alive"), "");
  EXPECT_EQ(reply.Header("connection"), "");
}

TEST(HttpProxy, AddsRequestIdWhenAbsent) {
  TestUpstream upstream;
  Proxy proxy(To(upstream));
  ASSERT_EQ(Get(proxy.port(), "/").status, 200);
  const std::string id = upstream.last().Header("x-request-id");
  EXPECT_EQ(id.size(), 32u);
  EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos) << id;
  const auto records = proxy.Records(1);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].request_id, id);
}

TEST(HttpProxy, KeepsRequestIdWhenPresent) {
  TestUpstream upstream;
  Proxy proxy(To(upstream));
  ASSERT_EQ(Get(proxy.port(), "/", {{"X-Request-ID", "req-42"}}).status, 200);
  EXPECT_EQ(upstream.last().Header("x-request-id"), "req-42");
  EXPECT_EQ(upstream.last().headers.count("x-request-id"), 1u);
}

TEST(HttpProxy, SetsForwardedForAndProto) {
  TestUpstream upstream;
  Proxy proxy(To(upstream));
  ASSERT_EQ(Get(proxy.port(), "/").status, 200);
  EXPECT_EQ(upstream.last().Header("x-forwarded-for"), "127.0.0.1");
  EXPECT_EQ(upstream.last().Header("x-forwarded-proto"), "http");
  ASSERT_EQ(Get(proxy.port(), "/", {{"X-Forwarded-For", "10.0.0.1"}}).status, 200);
  EXPECT_EQ(upstream.last().Header("x-forwarded-for"), "10.0.0.1, 127.0.0.1");
}

TEST(HttpProxy, ContinuesIncomingTraceWithItsOwnSpan) {
  TestUpstream upstream;
  Proxy proxy(To(upstream));
  const std::string trace = "4bf92f3577b34da6a3ce929d0e0e4736";
  const std::string caller_span = "00f067aa0ba902b7";
  const Reply reply =
      Get(proxy.port(), "/", {{"traceparent", "00-" + trace + "-" + caller_span + "-01"}});
  ASSERT_EQ(reply.status, 200) << reply.error;
  Result<TraceParent> sent = ParseTraceParent(upstream.last().Header("traceparent"));
  ASSERT_TRUE(sent.ok()) << upstream.last().Header("traceparent");
  EXPECT_EQ(sent->trace_id, trace);
  EXPECT_NE(sent->span_id, caller_span);
  EXPECT_EQ(reply.Header("x-trace-id"), trace);
  const auto records = proxy.Records(1);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].trace_id, trace);
  EXPECT_EQ(records[0].span_id, sent->span_id);
  EXPECT_EQ(records[0].parent_span_id, caller_span);
}

TEST(HttpProxy, StartsTraceWhenNoneOrAnInvalidOneComes) {
  TestUpstream upstream;
  Proxy proxy(To(upstream));
  for (const std::string incoming :
       {"", "00-00000000000000000000000000000000-00f067aa0ba902b7-01"}) {
    std::vector<std::pair<std::string, std::string>> headers;
    if (!incoming.empty()) headers.emplace_back("traceparent", incoming);
    const Reply reply = Get(proxy.port(), "/", headers);
    ASSERT_EQ(reply.status, 200) << reply.error;
    Result<TraceParent> sent = ParseTraceParent(upstream.last().Header("traceparent"));
    ASSERT_TRUE(sent.ok()) << upstream.last().Header("traceparent");
    EXPECT_TRUE(IsValidTraceId(sent->trace_id));
    EXPECT_EQ(reply.Header("x-trace-id"), sent->trace_id);
  }
  const auto records = proxy.Records(2);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[1].parent_span_id, "");
}

TEST(HttpProxy, AnswersCarryServiceNameVersionAndTraceId) {
  TestUpstream upstream;
  Proxy proxy(To(upstream));
  const Reply reply = Get(proxy.port(), "/");
  EXPECT_EQ(reply.Header("x-service-name"), "api");
  EXPECT_EQ(reply.Header("x-proxy-version"), MESH_VERSION);
  EXPECT_TRUE(IsValidTraceId(reply.Header("x-trace-id")));
}

TEST(HttpProxy, UpstreamDownGives502Json) {
  Proxy proxy(std::make_shared<FixedUpstream>(Endpoint{"127.0.0.1", ClosedPort(), ""}));
  const Reply reply = Get(proxy.port(), "/", {{"X-Request-ID", "r-1"}});
  EXPECT_EQ(reply.status, 502) << reply.error;
  EXPECT_EQ(reply.Header("content-type"), "application/json");
  EXPECT_EQ(reply.Header("x-service-name"), "api");
  const Json::Value body = ParseBody(reply);
  EXPECT_NE(body["error"].asString().find("cannot connect"), std::string::npos);
  EXPECT_EQ(body["service"].asString(), "api");
  EXPECT_EQ(body["request_id"].asString(), "r-1");
  const auto records = proxy.Records(1);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].status, 502);
  EXPECT_EQ(records[0].attempts, 1);
  EXPECT_FALSE(records[0].error.empty());
}

TEST(HttpProxy, UpstreamClosingWithoutAnswerGives502) {
  TestUpstream upstream;
  Proxy proxy(To(upstream));
  const Reply reply = Get(proxy.port(), "/close");
  EXPECT_EQ(reply.status, 502) << reply.error;
  EXPECT_EQ(ParseBody(reply)["service"].asString(), "api");
}

TEST(HttpProxy, SlowUpstreamGives504AtMeshTimeout) {
  TestUpstream upstream;
  Proxy proxy(To(upstream));
  const auto start = std::chrono::steady_clock::now();
  const Reply reply = Get(proxy.port(), "/slow/3000", {{"x-mesh-timeout", "200ms"}});
  EXPECT_EQ(reply.status, 504) << reply.error;
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  EXPECT_NE(ParseBody(reply)["error"].asString().find("in time"), std::string::npos);
}

TEST(HttpProxy, RequestTimeoutOptionGives504) {
  TestUpstream upstream;
  Proxy proxy(To(upstream), [](HttpProxy::Options& o) { o.request_timeout = 200ms; });
  EXPECT_EQ(Get(proxy.port(), "/slow/3000").status, 504);
  EXPECT_EQ(Get(proxy.port(), "/slow/1", {{"x-mesh-timeout", "5s"}}).status, 200);
}

TEST(HttpProxy, InvalidMeshTimeoutIs400) {
  TestUpstream upstream;
  Proxy proxy(To(upstream));
  const Reply reply = Get(proxy.port(), "/", {{"x-mesh-timeout", "soon"}});
  EXPECT_EQ(reply.status, 400);
  EXPECT_NE(ParseBody(reply)["error"].asString().find("x-mesh-timeout"), std::string::npos);
  EXPECT_EQ(upstream.seen().size(), 0u);
}

TEST(HttpProxy, SelectorErrorGives503Json) {
  Proxy proxy(std::make_shared<NoUpstream>());
  const Reply reply = Get(proxy.port(), "/");
  EXPECT_EQ(reply.status, 503);
  EXPECT_EQ(reply.Header("content-type"), "application/json");
  EXPECT_NE(ParseBody(reply)["error"].asString().find("no healthy instance of api"),
            std::string::npos);
}

// A selector whose services are being looked up: `slow` until Release(), every other one
// for its first `lookups` Resolving() calls; then found (at `endpoint`), `slow` never.
class DiscoveringUpstreams : public UpstreamSelector {
 public:
  DiscoveringUpstreams(Endpoint endpoint, int lookups) : endpoint_(std::move(endpoint)), lookups_left_(lookups) {}
  Result<Endpoint> Pick(std::string_view service, int) override {
    ++picks_;
    if (service == "slow" || lookups_left_.load() > 0) return Status::NotFound("no instance of " + std::string(service));
    return endpoint_;
  }
  bool Resolving(std::string_view service) override {
    if (service == "slow") {
      slow_waiting_ = true;
      return !released_.load();
    }
    return lookups_left_.fetch_sub(1) > 0;
  }
  void Report(const Endpoint&, AttemptOutcome, int64_t) override {}
  void Release() { released_ = true; }
  bool slow_waiting() const { return slow_waiting_.load(); }
  int picks() const { return picks_.load(); }

 private:
  const Endpoint endpoint_;
  std::atomic<int> lookups_left_;
  std::atomic<int> picks_{0};
  std::atomic<bool> slow_waiting_{false};
  std::atomic<bool> released_{false};
};

void Outbound(HttpProxy::Options& o) { o.direction = HttpProxy::Direction::kOutbound; }

TEST(HttpProxy, AFirstCallWaitsForDiscoveryInsteadOfAnswering503) {
  TestUpstream upstream;
  auto selector = std::make_shared<DiscoveringUpstreams>(upstream.endpoint(), 3);
  Proxy proxy(selector, Outbound);
  Client client(proxy.port());
  const Reply reply = client.Send({.target = "/first", .host = "orders"});
  EXPECT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(upstream.last().target, "/first");
  EXPECT_GE(selector->picks(), 2) << "asked again once discovery answered";
}

// Discovery's answer lands between the proxy's first Pick and its look at Resolving().
class AnsweredMeanwhile : public UpstreamSelector {
 public:
  explicit AnsweredMeanwhile(Endpoint endpoint) : endpoint_(std::move(endpoint)) {}
  Result<Endpoint> Pick(std::string_view, int) override {
    if (first_.exchange(false)) return Status::NotFound("not answered yet");
    return endpoint_;
  }
  bool Resolving(std::string_view) override { return false; }
  void Report(const Endpoint&, AttemptOutcome, int64_t) override {}

 private:
  const Endpoint endpoint_;
  std::atomic<bool> first_{true};
};

TEST(HttpProxy, AnAnswerThatLandsJustAfterTheFirstPickIsUsed) {
  TestUpstream upstream;
  Proxy proxy(std::make_shared<AnsweredMeanwhile>(upstream.endpoint()), Outbound);
  const Reply reply = Client(proxy.port()).Send({.target = "/", .host = "orders"});
  EXPECT_EQ(reply.status, 200) << reply.body;
}

TEST(HttpProxy, DiscoveryThatNeverAnswersEndsIn503AfterTheConnectTimeout) {
  auto selector = std::make_shared<DiscoveringUpstreams>(Endpoint{"127.0.0.1", 1, ""}, 0);
  Proxy proxy(selector, [](HttpProxy::Options& o) {
    Outbound(o);
    o.connect_timeout = std::chrono::milliseconds(100);
  });
  Client client(proxy.port());
  const Reply reply = client.Send({.target = "/", .host = "slow"});
  EXPECT_EQ(reply.status, 503);
  EXPECT_NE(ParseBody(reply)["error"].asString().find("no instance of slow"), std::string::npos) << reply.body;
}

TEST(HttpProxy, ARequestWaitingForDiscoveryDoesNotHoldUpTheIoThread) {
  TestUpstream upstream;
  auto selector = std::make_shared<DiscoveringUpstreams>(upstream.endpoint(), 0);
  Proxy proxy(selector, [](HttpProxy::Options& o) {
    Outbound(o);
    o.threads = 1;
    o.connect_timeout = std::chrono::minutes(5);  // only Release() ends the wait
  });
  Reply waiting;
  std::thread slow([&] { waiting = Client(proxy.port()).Send({.target = "/", .host = "slow"}); });
  ASSERT_TRUE(WaitFor([&] { return selector->slow_waiting(); }));
  const Reply fast = Client(proxy.port()).Send({.target = "/", .host = "orders"});
  EXPECT_EQ(fast.status, 200) << "served by the one I/O thread while the other request waits";
  selector->Release();
  slow.join();
  EXPECT_EQ(waiting.status, 503) << "released without an instance";
}

TEST(HttpProxy, OutboundPicksByHostNameWithoutPort) {
  TestUpstream upstream;
  auto selector = std::make_shared<ScriptedUpstreams>(std::vector<Endpoint>{upstream.endpoint()});
  Proxy proxy(selector,
              [](HttpProxy::Options& o) { o.direction = HttpProxy::Direction::kOutbound; });
  Client client(proxy.port());
  const Reply reply = client.Send({.target = "/", .host = "orders.internal:8080"});
  ASSERT_EQ(reply.status, 200) << reply.error;
  ASSERT_EQ(selector->services().size(), 1u);
  EXPECT_EQ(selector->services()[0], "orders.internal");
  EXPECT_EQ(upstream.last().Header("host"), "orders.internal:8080");
  const auto records = proxy.Records(1);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].authority, "orders.internal:8080");
}

// Tens of MiB through test code built without optimisation can take seconds, more on a loaded
// machine: these tests are about integrity, not the default 10 s request timeout.
void WithRoomForBigBodies(HttpProxy::Options& o) { o.request_timeout = std::chrono::minutes(2); }

TEST(HttpProxy, StreamsLargeChunkedUploadIntact) {
  TestUpstream upstream;
  Proxy proxy(To(upstream), WithRoomForBigBodies);
  constexpr uint64_t kSize = 64ull << 20;
  Client client(proxy.port());
  const Reply reply =
      client.Send({.method = "POST", .target = "/upload", .chunked_pattern = kSize});
  ASSERT_EQ(reply.status, 200) << reply.error;
  const Seen seen = upstream.last();
  EXPECT_EQ(seen.Header("transfer-encoding"), "chunked");
  EXPECT_TRUE(seen.body == PatternDigest(kSize));
  const auto records = proxy.Records(1);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].request_bytes, kSize);
}

TEST(HttpProxy, StreamsContentLengthUploadIntact) {
  TestUpstream upstream;
  Proxy proxy(To(upstream), WithRoomForBigBodies);
  constexpr uint64_t kSize = (8ull << 20) + 17;
  Client client(proxy.port());
  const Reply reply = client.Send({.method = "PUT", .target = "/upload", .length_pattern = kSize});
  ASSERT_EQ(reply.status, 200) << reply.error;
  const Seen seen = upstream.last();
  EXPECT_EQ(seen.Header("content-length"), std::to_string(kSize));
  EXPECT_FALSE(seen.Has("transfer-encoding"));
  EXPECT_TRUE(seen.body == PatternDigest(kSize));
}

TEST(HttpProxy, StreamsLargeChunkedDownloadIntact) {
  TestUpstream upstream;
  Proxy proxy(To(upstream), WithRoomForBigBodies);
  constexpr uint64_t kSize = (64ull << 20) + 5;
  Client client(proxy.port());
  const Reply reply = client.Send({.target = "/download/" + std::to_string(kSize)});
  ASSERT_EQ(reply.status, 200) << reply.error;
  EXPECT_EQ(reply.Header("transfer-encoding"), "chunked");
  EXPECT_TRUE(reply.digest == PatternDigest(kSize));
  const auto records = proxy.Records(1);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].response_bytes, kSize);
  // Still in step after a long chunked answer.
  EXPECT_EQ(client.Send({.target = "/"}).body, "ok");
}

// The proxy writes what the socket takes at once and waits for the rest: a client that does not
// read for a while makes both happen, and must still get every byte in order.
TEST(HttpProxy, AClientThatFallsBehindStillGetsEveryByteInOrder) {
  TestUpstream upstream;
  Proxy proxy(To(upstream), WithRoomForBigBodies);
  constexpr uint64_t kSize = (16ull << 20) + 3;
  Client client(proxy.port());
  const Reply reply = client.Send({.target = "/download/" + std::to_string(kSize), .pause_before_reading = 300ms});
  ASSERT_EQ(reply.status, 200) << reply.error;
  EXPECT_TRUE(reply.digest == PatternDigest(kSize));
  EXPECT_EQ(client.Send({.target = "/"}).body, "ok");
}

TEST(HttpProxy, RetriesConnectFailureWhenBudgetAllows) {
  TestUpstream live;
  const Endpoint dead{"127.0.0.1", ClosedPort(), "dead"};
  auto selector = std::make_shared<ScriptedUpstreams>(std::vector<Endpoint>{dead, live.endpoint()});
  Proxy proxy(selector, [](HttpProxy::Options& o) { o.may_retry = [] { return true; }; });
  const Reply reply = Get(proxy.port(), "/");
  EXPECT_EQ(reply.status, 200) << reply.error;
  // The last attempt is reported once its answer has gone out, maybe just after we read it.
  ASSERT_TRUE(WaitFor([&] { return selector->reports().size() >= 2; }));
  const auto reports = selector->reports();
  ASSERT_EQ(reports.size(), 2u);
  EXPECT_EQ(reports[0].first, dead);
  EXPECT_EQ(reports[0].second, AttemptOutcome::kConnectFailure);
  EXPECT_EQ(reports[1].second, AttemptOutcome::kSuccess);
  EXPECT_EQ(selector->started(), 2);
  const auto records = proxy.Records(1);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].attempts, 2);
  EXPECT_EQ(records[0].upstream, live.endpoint());
}

TEST(HttpProxy, DoesNotRetryConnectFailureWhenBudgetRefuses) {
  TestUpstream live;
  const Endpoint dead{"127.0.0.1", ClosedPort(), "dead"};
  auto selector = std::make_shared<ScriptedUpstreams>(std::vector<Endpoint>{dead, live.endpoint()});
  Proxy proxy(selector, [](HttpProxy::Options& o) { o.may_retry = [] { return false; }; });
  EXPECT_EQ(Get(proxy.port(), "/").status, 502);
  EXPECT_EQ(selector->reports().size(), 1u);
  EXPECT_EQ(live.seen().size(), 0u);
}

TEST(HttpProxy, StopsRetryingAtMaxAttempts) {
  const Endpoint dead{"127.0.0.1", ClosedPort(), "dead"};
  auto selector = std::make_shared<ScriptedUpstreams>(std::vector<Endpoint>{dead});
  Proxy proxy(selector, [](HttpProxy::Options& o) {
    o.max_attempts = 3;
    o.may_retry = [] { return true; };
  });
  EXPECT_EQ(Get(proxy.port(), "/").status, 502);
  EXPECT_EQ(selector->reports().size(), 3u);
}

TEST(HttpProxy, RetriesGetAnswered503) {
  TestUpstream failing;
  failing.force_status(503);
  TestUpstream live;
  auto selector = std::make_shared<ScriptedUpstreams>(
      std::vector<Endpoint>{failing.endpoint(), live.endpoint()});
  Proxy proxy(selector, [](HttpProxy::Options& o) { o.may_retry = [] { return true; }; });
  const Reply reply = Get(proxy.port(), "/");
  EXPECT_EQ(reply.status, 200) << reply.error;
  // The last attempt is reported once its answer has gone out, maybe just after we read it.
  ASSERT_TRUE(WaitFor([&] { return selector->reports().size() >= 2; }));
  const auto reports = selector->reports();
  ASSERT_EQ(reports.size(), 2u);
  EXPECT_EQ(reports[0].second, AttemptOutcome::kServerError);
  EXPECT_EQ(reports[1].second, AttemptOutcome::kSuccess);
}

TEST(HttpProxy, PassesLast503ThroughWhenAttemptsRunOut) {
  TestUpstream failing;
  failing.force_status(503);
  auto selector = std::make_shared<ScriptedUpstreams>(std::vector<Endpoint>{failing.endpoint()});
  Proxy proxy(selector, [](HttpProxy::Options& o) {
    o.max_attempts = 2;
    o.may_retry = [] { return true; };
  });
  const Reply reply = Get(proxy.port(), "/");
  EXPECT_EQ(reply.status, 503);
  EXPECT_EQ(reply.body, "forced");
  EXPECT_EQ(failing.seen().size(), 2u);
}

TEST(HttpProxy, DoesNotRetryPostWithBodyAnswered503) {
  TestUpstream failing;
  failing.force_status(503);
  TestUpstream live;
  auto selector = std::make_shared<ScriptedUpstreams>(
      std::vector<Endpoint>{failing.endpoint(), live.endpoint()});
  Proxy proxy(selector, [](HttpProxy::Options& o) { o.may_retry = [] { return true; }; });
  Client client(proxy.port());
  const Reply reply = client.Send({.method = "POST", .target = "/", .body = "payload"});
  EXPECT_EQ(reply.status, 503) << reply.error;
  ASSERT_TRUE(WaitFor([&] { return selector->reports().size() >= 1; }));  // reported after the answer
  EXPECT_EQ(selector->reports().size(), 1u);
  EXPECT_EQ(live.seen().size(), 0u);
}

TEST(HttpProxy, KeepAliveReusesOneUpstreamConnection) {
  TestUpstream upstream;
  Proxy proxy(To(upstream));
  Client client(proxy.port());
  EXPECT_EQ(client.Send({.target = "/one"}).status, 200);
  EXPECT_EQ(client.Send({.target = "/two"}).status, 200);
  EXPECT_EQ(client.Send({.method = "POST", .target = "/three", .body = "x"}).status, 200);
  EXPECT_EQ(upstream.seen().size(), 3u);
  EXPECT_EQ(upstream.accepts(), 1);
}

TEST(HttpProxy, ReconnectsWhenPooledConnectionWasClosedByUpstream) {
  TestUpstream upstream;
  Proxy proxy(To(upstream));
  Client client(proxy.port());
  EXPECT_EQ(client.Send({.target = "/then-close"}).status, 200);
  EXPECT_EQ(client.Send({.target = "/"}).status, 200);
  EXPECT_EQ(upstream.accepts(), 2);
}

// A POST cannot be replayed once sent: the pooled connection is checked before it carries one.
TEST(HttpProxy, ChecksAPooledConnectionBeforeItCarriesARequestThatCannotBeReplayed) {
  TestUpstream upstream;
  Proxy proxy(To(upstream));
  Client client(proxy.port());
  EXPECT_EQ(client.Send({.target = "/then-close"}).status, 200);
  ASSERT_TRUE(WaitFor([&] { return upstream.open_connections() == 0; }));
  EXPECT_EQ(client.Send({.method = "POST", .target = "/form", .body = "a=1"}).status, 200);
  EXPECT_EQ(client.Send({.method = "POST", .target = "/ping"}).status, 200);
  EXPECT_EQ(upstream.accepts(), 2);
  EXPECT_EQ(upstream.last().method, "POST");
}

TEST(HttpProxy, RetriesOnceOnFreshConnectionWhenPooledOneDropsTheRequest) {
  TestUpstream upstream;
  auto selector = std::make_shared<ScriptedUpstreams>(std::vector<Endpoint>{upstream.endpoint()});
  Proxy proxy(selector);
  Client client(proxy.port());
  EXPECT_EQ(client.Send({.target = "/"}).status, 200);
  EXPECT_EQ(upstream.accepts(), 1);
  // Pooled connection, then one fresh connection: both closed unanswered, within one attempt.
  EXPECT_EQ(client.Send({.target = "/close"}).status, 502);
  EXPECT_EQ(upstream.accepts(), 2);
  EXPECT_EQ(upstream.seen().size(), 3u);
  ASSERT_TRUE(WaitFor([&] { return selector->reports().size() >= 2; }));  // reported after the answer
  EXPECT_EQ(selector->reports().size(), 2u);
}

TEST(HttpProxy, HonoursConnectionClose) {
  TestUpstream upstream;
  Proxy proxy(To(upstream));
  Client client(proxy.port());
  const Reply reply = client.Send({.target = "/", .headers = {{"Connection", "close"}}});
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.Header("connection"), "close");
  EXPECT_TRUE(client.PeerCloses());
}

TEST(HttpProxy, Http10ClientIsAnsweredAndClosed) {
  TestUpstream upstream;
  Proxy proxy(To(upstream));
  const std::string answer = RawExchange(proxy.port(), "GET /old HTTP/1.0\r\n\r\n");
  EXPECT_EQ(answer.rfind("HTTP/1.1 200", 0), 0u) << answer;
  EXPECT_NE(answer.find("\r\n\r\nok"), std::string::npos) << answer;
  EXPECT_EQ(upstream.last().target, "/old");
}

// The upstream gets HTTP/1.1, where Host is mandatory (RFC 9112 §3.2): nginx answers 400 without.
TEST(HttpProxy, RequestWithoutHostReachesTheUpstreamWithOne) {
  TestUpstream upstream;
  Proxy proxy(To(upstream));
  const std::string answer = RawExchange(proxy.port(), "GET /no-host HTTP/1.0\r\n\r\n");
  EXPECT_EQ(answer.rfind("HTTP/1.1 200", 0), 0u) << answer;
  EXPECT_EQ(upstream.last().Header("host"), "127.0.0.1:" + std::to_string(upstream.endpoint().port));
}

TEST(HttpProxy, Http10ClientGetsChunkedBodyUntilClose) {
  TestUpstream upstream;
  Proxy proxy(To(upstream));
  const std::string answer = RawExchange(proxy.port(), "GET /download/100000 HTTP/1.0\r\n\r\n");
  const size_t end_of_header = answer.find("\r\n\r\n");
  ASSERT_NE(end_of_header, std::string::npos) << answer.substr(0, 200);
  EXPECT_EQ(answer.substr(0, end_of_header).find("chunked"), std::string::npos);
  const std::string body = answer.substr(end_of_header + 4);
  BodyDigest digest;
  digest.Add(body.data(), body.size());
  EXPECT_TRUE(digest == PatternDigest(100000));
}

TEST(HttpProxy, AnswersExpectContinueItself) {
  TestUpstream upstream;
  Proxy proxy(To(upstream));
  const std::string answer =
      RawExchange(proxy.port(),
                  "POST /e HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3\r\n"
                  "Connection: close\r\n\r\nabc");
  EXPECT_EQ(answer.rfind("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200", 0), 0u) << answer;
  EXPECT_FALSE(upstream.last().Has("expect"));
  EXPECT_EQ(upstream.last().body.size, 3u);
}

void ExpectRefusedThenServesNext(const std::string& request) {
  TestUpstream upstream;
  Proxy proxy(To(upstream));
  const std::string answer = RawExchange(proxy.port(), request);
  EXPECT_EQ(answer.rfind("HTTP/1.1 400", 0), 0u) << answer.substr(0, 200);
  EXPECT_NE(answer.find("application/json"), std::string::npos);
  EXPECT_NE(answer.find("\"service\":\"api\""), std::string::npos);
  EXPECT_EQ(upstream.seen().size(), 0u);
  EXPECT_EQ(Get(proxy.port(), "/").status, 200);
  const auto records = proxy.Records(1);
  ASSERT_FALSE(records.empty());
  EXPECT_EQ(records[0].status, 400);
}

TEST(HttpProxy, GarbageRequestLineIs400AndProxyLivesOn) {
  ExpectRefusedThenServesNext("\x01\x02 garbage \xff\r\n\r\n");
}

TEST(HttpProxy, HeaderOver16KiBIs400AndProxyLivesOn) {
  ExpectRefusedThenServesNext("GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(20 * 1024, 'a') +
                              "\r\n\r\n");
}

TEST(HttpProxy, NonNumericContentLengthIs400AndProxyLivesOn) {
  ExpectRefusedThenServesNext("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n");
}

TEST(HttpProxy, BareCarriageReturnInHeaderIs400AndProxyLivesOn) {
  ExpectRefusedThenServesNext("GET / HTTP/1.1\r\nHost: x\r\nX-Bad: a\rb\r\n\r\n");
}

TEST(HttpProxy, NulInHeaderValueIs400AndProxyLivesOn) {
  static constexpr char kRequest[] = "GET / HTTP/1.1\r\nHost: x\r\nX-Bad: a\0b\r\n\r\n";
  ExpectRefusedThenServesNext(std::string(kRequest, sizeof(kRequest) - 1));
}

TEST(HttpProxy, TransferEncodingNotEndingInChunkedIs400AndProxyLivesOn) {
  ExpectRefusedThenServesNext(
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n");
}

TEST(HttpProxy, ClientVanishingMidDownloadDoesNotHurtTheProxy) {
  TestUpstream upstream;
  Proxy proxy(To(upstream));
  {
    asio::io_context ioc;
    tcp::socket socket(ioc);
    socket.connect(
        tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<uint16_t>(proxy.port())));
    const std::string request = "GET /download/33554432 HTTP/1.1\r\nHost: x\r\n\r\n";
    asio::write(socket, asio::buffer(request));
    std::array<char, 1024> some;
    socket.read_some(asio::buffer(some));
  }
  const auto records = proxy.Records(1);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].status, 200);
  EXPECT_LT(records[0].response_bytes, 33554432u);
  EXPECT_EQ(Get(proxy.port(), "/").status, 200);
}

TEST(HttpProxy, CountsInFlightRequests) {
  TestUpstream upstream;
  Proxy proxy(To(upstream));
  EXPECT_EQ(proxy->in_flight(), 0);
  std::thread slow([&] { EXPECT_EQ(Get(proxy.port(), "/slow/500").status, 200); });
  EXPECT_TRUE(WaitFor([&] { return proxy->in_flight() == 1; }));
  slow.join();
  EXPECT_TRUE(WaitFor([&] { return proxy->in_flight() == 0; }));
}

TEST(HttpProxy, StopDrainsInFlightRequest) {
  TestUpstream upstream;
  Proxy proxy(To(upstream));
  Reply reply;
  std::thread slow([&] { reply = Get(proxy.port(), "/slow/300"); });
  ASSERT_TRUE(WaitFor([&] { return proxy->in_flight() == 1; }));
  proxy->Stop(5000ms);
  slow.join();
  EXPECT_EQ(reply.status, 200) << reply.error;
  EXPECT_EQ(proxy->in_flight(), 0);
  EXPECT_FALSE(Get(proxy.port(), "/").error.empty());
}

TEST(HttpProxy, StopClosesWhatIsStillInFlightAfterTheDrain) {
  TestUpstream upstream;
  Proxy proxy(To(upstream));
  Reply reply;
  std::thread slow([&] { reply = Get(proxy.port(), "/slow/3000"); });
  ASSERT_TRUE(WaitFor([&] { return proxy->in_flight() == 1; }));
  proxy->Stop(50ms);
  slow.join();
  EXPECT_EQ(reply.status, 0);
  EXPECT_FALSE(reply.error.empty());
  EXPECT_EQ(proxy->in_flight(), 0);
}

TEST(HttpProxy, StartFailsOnPortTakenByAnotherListener) {
  asio::io_context ioc;
  tcp::acceptor taken(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  HttpProxy::Options options;
  options.listen_port = taken.local_endpoint().port();
  options.upstreams = std::make_shared<FixedUpstream>(Endpoint{"127.0.0.1", 1, ""});
  auto started = HttpProxy::Start(std::move(options));
  ASSERT_FALSE(started.ok());
  EXPECT_EQ(started.status().code(), Status::Code::kIOError);
  EXPECT_NE(started.status().message().find("cannot listen on 127.0.0.1:"), std::string::npos);
}

TEST(HttpProxy, StartRejectsMissingSelectorAndBadAddress) {
  HttpProxy::Options options;
  options.listen_port = 0;
  EXPECT_EQ(HttpProxy::Start(options).status().code(), Status::Code::kInvalidArgument);
  options.upstreams = std::make_shared<FixedUpstream>(Endpoint{"127.0.0.1", 1, ""});
  options.listen_host = "not-an-ip";
  EXPECT_EQ(HttpProxy::Start(options).status().code(), Status::Code::kInvalidArgument);
}

TEST(HttpProxy, ClosesUpstreamConnectionsLeftIdlePastTheIdleTimeout) {
  TestUpstream upstream;
  Proxy proxy(To(upstream), [](HttpProxy::Options& o) {
    o.threads = 1;
    o.upstream_idle_timeout = 300ms;
  });
  Client client(proxy.port());
  ASSERT_EQ(client.Send({}).status, 200);
  ASSERT_EQ(client.Send({}).status, 200);
  EXPECT_EQ(upstream.accepts(), 1) << "a pooled connection carries the second request";
  EXPECT_EQ(upstream.open_connections(), 1);
  // Idle past the timeout, the pooled connection is closed by the proxy (not just skipped).
  EXPECT_TRUE(WaitFor([&] { return upstream.open_connections() == 0; }));
  ASSERT_EQ(client.Send({}).status, 200);
  EXPECT_EQ(upstream.accepts(), 2);
}

// Issue 26: bytes an upstream sends past the end of an answer were left on the pooled
// connection and read by the next GET as its answer (127 of 200 callers got another's body).
TEST(HttpProxy, BytesAnUpstreamSendsAfterAnIdleConnectionsAnswerAreNeverTheNextAnswer) {
  OverSendingUpstream upstream(/*apart=*/true);
  Proxy proxy(std::make_shared<FixedUpstream>(upstream.endpoint()));
  Client client(proxy.port());
  int mismatches = 0;
  for (int i = 0; i < 100; ++i) {
    const std::string target = "/req/" + std::to_string(i);
    const Reply reply = client.Send({.target = target});
    EXPECT_EQ(reply.status, 200) << reply.error;
    if (reply.body != "answer to " + target) ++mismatches;
    // The stray bytes reach the pooled connection before the next request would take it.
    ASSERT_TRUE(WaitFor([&] { return upstream.extras_sent() > i; }));
  }
  EXPECT_EQ(mismatches, 0);
  EXPECT_TRUE(WaitFor([&] { return proxy->counters().upstream_stray_bytes == 100; }))
      << proxy->counters().upstream_stray_bytes;
  EXPECT_EQ(upstream.accepts(), 100) << "no connection carries a second request";
}

TEST(HttpProxy, BytesPastTheAnswerInTheSameWriteNeverReachAnotherCaller) {
  OverSendingUpstream upstream(/*apart=*/false);
  Proxy proxy(std::make_shared<FixedUpstream>(upstream.endpoint()));
  std::atomic<int> mismatches{0}, failures{0};
  std::vector<std::thread> callers;
  for (int c = 0; c < 4; ++c) {
    callers.emplace_back([&, c] {
      Client client(proxy.port());
      for (int i = 0; i < 25; ++i) {
        const std::string target = "/caller/" + std::to_string(c) + "/req/" + std::to_string(i);
        const Reply reply = client.Send({.target = target});
        if (reply.status != 200) ++failures;
        if (reply.body != "answer to " + target) ++mismatches;
      }
    });
  }
  for (std::thread& t : callers) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(mismatches.load(), 0);
  EXPECT_TRUE(WaitFor([&] { return proxy->counters().upstream_stray_bytes == 100; }))
      << proxy->counters().upstream_stray_bytes;
}

// Issue 26, 7c: the answer in flight when the drain starts is the connection's last one.
TEST(HttpProxy, TheAnswerInFlightWhenTheDrainStartsSaysConnectionClose) {
  TestUpstream upstream;
  Proxy proxy(To(upstream));
  Reply reply;
  bool closed = false;
  std::thread slow([&] {
    Client client(proxy.port());
    reply = client.Send({.target = "/slow/300"});
    closed = client.PeerCloses();
  });
  ASSERT_TRUE(WaitFor([&] { return proxy->in_flight() == 1; }));
  proxy->Stop(5000ms);
  slow.join();
  EXPECT_EQ(reply.status, 200) << reply.error;
  EXPECT_EQ(reply.Header("connection"), "close");
  EXPECT_TRUE(closed);
}

TEST(HttpProxy, ClosesConnectionsBeyondItsLimitCountsThemAndServesAgainOnceOneEnds) {
  TestUpstream upstream;
  std::mutex mu;
  std::vector<std::string> warnings;
  Proxy proxy(To(upstream), [&](HttpProxy::Options& o) {
    o.max_client_connections = 2;
    o.warn = [&](const std::string& w) {
      std::lock_guard lock(mu);
      warnings.push_back(w);
    };
  });
  auto first = std::make_unique<Client>(proxy.port());
  Client second(proxy.port());
  ASSERT_EQ(first->Send({}).status, 200);
  ASSERT_EQ(second.Send({}).status, 200);
  EXPECT_EQ(proxy->counters().client_connections, 2);
  for (int i = 0; i < 3; ++i) {
    Client over(proxy.port());
    const Reply refused = over.Send({});
    EXPECT_EQ(refused.status, 0) << "closed without an answer";
    EXPECT_FALSE(refused.error.empty());
  }
  EXPECT_TRUE(WaitFor([&] { return proxy->counters().client_connections_refused == 3; }));
  {
    std::lock_guard lock(mu);
    ASSERT_EQ(warnings.size(), 1u) << "one line per 10 s, however many are refused";
    EXPECT_NE(warnings[0].find("client connection limit 2 reached"), std::string::npos) << warnings[0];
  }
  EXPECT_EQ(second.Send({}).status, 200) << "the connections within the limit are still served";
  first.reset();
  ASSERT_TRUE(WaitFor([&] { return proxy->counters().client_connections == 1; }));
  EXPECT_EQ(Get(proxy.port(), "/").status, 200);
  EXPECT_EQ(upstream.seen().size(), 4u) << "no refused connection reached the upstream";
}

// Issue 26.4: a burst toward a slow upstream. The upstream holds every answer; the proxy opens
// the connection limit, queues the pending limit, and answers everyone else 503 at once: all of
// them arrive while the upstream has answered nothing. Once it answers, the queued requests get
// the connections that finish (on whichever proxy thread they wait).
TEST(HttpProxy, ABurstTowardASlowUpstreamOpensAtMostTheConnectionLimitAndAnswersTheRest503AtOnce) {
  GatedUpstream upstream;
  Proxy proxy(std::make_shared<FixedUpstream>(upstream.endpoint()), [](HttpProxy::Options& o) {
    o.max_upstream_connections = 8;
    o.max_upstream_pending = 4;
  });
  constexpr int kClients = 400;
  Burst burst(proxy.port(), kClients, "/hold");
  ASSERT_TRUE(WaitFor([&] { return burst.Count(503) == kClients - 12; })) << burst.Count(503);
  EXPECT_EQ(upstream.held(), 8);
  EXPECT_EQ(upstream.peak_connections(), 8);
  EXPECT_EQ(upstream.requests(), 8) << "nothing of the refused requests reached the upstream";
  const HttpProxy::Counters refused = proxy->counters();
  EXPECT_EQ(refused.upstream_overflow_pending, kClients - 12);
  EXPECT_EQ(refused.upstream_overflow_requests, 0);
  EXPECT_EQ(refused.upstream_overflow_connections, 0);
  const std::string error = ParseJson(burst.BodyOf(503))->get("error", "").asString();
  EXPECT_NE(error.find("upstream overflow: 8 connections open to 127.0.0.1:"), std::string::npos) << error;
  EXPECT_NE(error.find("4 requests waiting"), std::string::npos) << error;

  upstream.Open();
  burst.Wait();
  EXPECT_EQ(burst.Count(200), 12) << "the queued requests are served once connections finish";
  EXPECT_EQ(burst.Count(503), kClients - 12);
  EXPECT_EQ(upstream.requests(), 12);
}

TEST(HttpProxy, BeyondMaxUpstreamRequestsTheAnswerIs503AtOnceAndCounted) {
  GatedUpstream upstream;
  Proxy proxy(std::make_shared<FixedUpstream>(upstream.endpoint()),
              [](HttpProxy::Options& o) { o.max_upstream_requests = 5; });
  constexpr int kClients = 200;
  Burst burst(proxy.port(), kClients, "/hold");
  ASSERT_TRUE(WaitFor([&] { return burst.Count(503) == kClients - 5; })) << burst.Count(503);
  EXPECT_EQ(upstream.held(), 5);
  EXPECT_EQ(proxy->counters().upstream_overflow_requests, kClients - 5);
  const std::string error = ParseJson(burst.BodyOf(503))->get("error", "").asString();
  EXPECT_NE(error.find("upstream overflow: 5 requests in progress to 127.0.0.1:"), std::string::npos) << error;
  upstream.Open();
  burst.Wait();
  EXPECT_EQ(burst.Count(200), 5);
  EXPECT_EQ(upstream.requests(), 5);
}

TEST(HttpProxy, ARequestQueuedForAConnectionGets503WhenItsDeadlinePassesFirst) {
  GatedUpstream upstream;
  Proxy proxy(std::make_shared<FixedUpstream>(upstream.endpoint()), [](HttpProxy::Options& o) {
    o.max_upstream_connections = 1;
    o.max_upstream_pending = 1;
  });
  Abandoner holding(proxy.port(), "GET /hold HTTP/1.1\r\nHost: api\r\n\r\n");
  ASSERT_TRUE(WaitFor([&] { return upstream.held() == 1; }));
  const Reply reply = Get(proxy.port(), "/now", {{"x-mesh-timeout", "200ms"}});
  EXPECT_EQ(reply.status, 503);
  EXPECT_NE(ParseBody(reply)["error"].asString().find("freed in time"), std::string::npos) << reply.body;
  EXPECT_EQ(proxy->counters().upstream_overflow_connections, 1);
  EXPECT_EQ(upstream.requests(), 1);
}

// With one connection allowed and two threads, the connection a request left idle on one thread
// is closed when a request on the other thread waits for one: each fresh client connection may
// land on either thread, and every request is served long before its deadline would pass.
TEST(HttpProxy, AConnectionIdleOnAnotherThreadIsClosedForARequestWaitingForOne) {
  TestUpstream upstream;
  Proxy proxy(To(upstream), [](HttpProxy::Options& o) {
    o.threads = 2;
    o.max_upstream_connections = 1;
    o.max_upstream_pending = 1;
    o.request_timeout = 3s;
  });
  for (int i = 0; i < 20; ++i) {
    const Reply reply = Get(proxy.port(), "/");
    ASSERT_EQ(reply.status, 200) << "request " << i << ": " << reply.body;
  }
  EXPECT_EQ(proxy->counters().upstream_overflow_connections, 0);
  EXPECT_TRUE(WaitFor([&] { return upstream.open_connections() <= 1; }));
}

// Issue 26.4: clients that give up while the upstream works. The upstream sees each connection
// closed (it can stop working), the slots come back, and the next request is served at once
// even though the abandoned ones were never answered.
TEST(HttpProxy, AClientThatGoesAwayClosesItsUpstreamConnectionAndFreesItsSlot) {
  GatedUpstream upstream;
  Proxy proxy(std::make_shared<FixedUpstream>(upstream.endpoint()), [](HttpProxy::Options& o) {
    o.max_upstream_connections = 2;
    o.max_upstream_pending = 1;
  });
  {
    Abandoner first(proxy.port(), "GET /hold HTTP/1.1\r\nHost: api\r\n\r\n");
    Abandoner second(proxy.port(), "GET /hold HTTP/1.1\r\nHost: api\r\n\r\n");
    ASSERT_TRUE(WaitFor([&] { return upstream.held() == 2; }));
    first.Close();
    second.Close();
  }
  ASSERT_TRUE(WaitFor([&] { return upstream.abandoned() == 2; })) << "the upstream saw its connections closed";
  EXPECT_TRUE(WaitFor([&] { return upstream.open_connections() == 0; }));
  EXPECT_EQ(proxy->counters().upstream_abandoned, 2);
  const Reply next = Get(proxy.port(), "/now", {{"x-mesh-timeout", "5s"}});
  EXPECT_EQ(next.status, 200) << next.body;
  const std::vector<ProxiedRequest> records = proxy.Records(3);
  ASSERT_EQ(records.size(), 3u);
  int abandoned = 0;
  for (const ProxiedRequest& r : records) {
    if (r.status == 499) {
      ++abandoned;
      EXPECT_NE(r.error.find("client went away"), std::string::npos) << r.error;
    }
  }
  EXPECT_EQ(abandoned, 2);
}

// A client that half-closes after its request is taken as gone (as nginx does by default).
TEST(HttpProxy, AClientHalfClosingAfterItsRequestIsTakenAsGone) {
  GatedUpstream upstream;
  Proxy proxy(std::make_shared<FixedUpstream>(upstream.endpoint()));
  Abandoner client(proxy.port(), "GET /hold HTTP/1.1\r\nHost: api\r\n\r\n");
  ASSERT_TRUE(WaitFor([&] { return upstream.held() == 1; }));
  client.HalfClose();
  EXPECT_EQ(client.ReadToEnd(), "") << "closed without an answer";
  EXPECT_TRUE(WaitFor([&] { return upstream.abandoned() == 1; }));
}

TEST(HttpProxy, APassedDeadlineGives504AndClosesTheUpstreamConnection) {
  GatedUpstream upstream;
  Proxy proxy(std::make_shared<FixedUpstream>(upstream.endpoint()), [](HttpProxy::Options& o) {
    o.max_upstream_connections = 1;
  });
  const Reply reply = Get(proxy.port(), "/hold", {{"x-mesh-timeout", "200ms"}});
  EXPECT_EQ(reply.status, 504);
  EXPECT_TRUE(WaitFor([&] { return upstream.abandoned() == 1; })) << "the upstream saw its connection closed";
  EXPECT_EQ(Get(proxy.port(), "/now").status, 200) << "the connection slot came back";
}

TEST(HttpProxy, AnUpgradeBecomesATunnelBothWaysAfterThe101) {
  TestUpstream upstream;
  Proxy proxy(To(upstream));
  RawConnection client(proxy.port());
  ASSERT_TRUE(client.connected());
  // "early" follows the request head at once: it must reach the upstream after the handshake.
  ASSERT_TRUE(client.Write(std::string(kUpgradeRequest) + "\r\nearly"));
  const std::string head = client.ReadUntil("hello\nearly");
  EXPECT_EQ(head.rfind("HTTP/1.1 101 ", 0), 0u) << head;
  EXPECT_NE(head.find("Upgrade: websocket\r\n"), std::string::npos) << head;
  EXPECT_NE(head.find("Connection: Upgrade\r\n"), std::string::npos) << head;
  EXPECT_NE(head.find("X-Up-End: 1\r\n"), std::string::npos) << head;
  EXPECT_NE(head.find("hello\nearly"), std::string::npos) << head;
  // The upstream got the handshake with the headers that make it one.
  const Seen seen = upstream.last();
  EXPECT_EQ(seen.Header("upgrade"), "websocket");
  EXPECT_EQ(seen.Header("connection"), "Upgrade");
  EXPECT_EQ(seen.Header("sec-websocket-key"), "dGhlIHNhbXBsZSBub25jZQ==");
  // The record is the handshake's, there before the tunnel ends.
  const auto records = proxy.Records(1);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].status, 101);
  EXPECT_TRUE(records[0].error.empty()) << records[0].error;

  ASSERT_TRUE(client.Write("ping"));
  EXPECT_NE(client.ReadUntil("earlyping").find("earlyping"), std::string::npos) << client.received();
  // The client's half-close reaches the upstream, which closes: so does the proxy.
  client.HalfClose();
  EXPECT_TRUE(client.ReadToEnd());
  EXPECT_TRUE(WaitFor([&] { return proxy->counters().tunnel_bytes_to_upstream == 9; }))
      << proxy->counters().tunnel_bytes_to_upstream;
  const HttpProxy::Counters c = proxy->counters();
  EXPECT_EQ(c.tunnels, 1);
  EXPECT_EQ(c.tunnel_bytes_to_client, static_cast<int64_t>(std::string_view("hello\nearlyping").size()));
  EXPECT_EQ(c.stream_idle_timeouts, 0);
  EXPECT_TRUE(WaitFor([&] { return proxy->in_flight() == 0; }));
}

TEST(HttpProxy, ASilentTunnelIsClosedAtTheIdleTimeoutAndCounted) {
  TestUpstream upstream;
  Proxy proxy(To(upstream));
  RawConnection client(proxy.port());
  ASSERT_TRUE(client.Write(std::string(kUpgradeRequest) + "x-mesh-idle-timeout: 200ms\r\n\r\n"));
  EXPECT_NE(client.ReadUntil("hello\n").find("101"), std::string::npos) << client.received();
  EXPECT_TRUE(client.ReadToEnd()) << "the proxy closes a tunnel nothing crosses";
  EXPECT_EQ(proxy->counters().stream_idle_timeouts, 1);
  EXPECT_EQ(proxy->counters().tunnels, 1);
}

TEST(HttpProxy, AnUpgradeAnsweredWithoutA101IsAnOrdinaryResponse) {
  TestUpstream upstream;
  Proxy proxy(To(upstream));
  Client client(proxy.port());
  const Reply refused =
      client.Send({.target = "/status/426", .headers = {{"Connection", "Upgrade"}, {"Upgrade", "websocket"}}});
  EXPECT_EQ(refused.status, 426) << refused.error;
  EXPECT_EQ(upstream.last().Header("upgrade"), "websocket");
  // The connection goes on as HTTP.
  EXPECT_EQ(client.Send({.target = "/"}).status, 200);
  EXPECT_EQ(proxy->counters().tunnels, 0);
}

TEST(HttpProxy, AnUpgradeHeaderWithoutConnectionUpgradeIsDroppedAsHopByHop) {
  TestUpstream upstream;
  Proxy proxy(To(upstream));
  EXPECT_EQ(Get(proxy.port(), "/", {{"Upgrade", "websocket"}}).status, 200);
  EXPECT_FALSE(upstream.last().Has("upgrade"));
  EXPECT_FALSE(upstream.last().Has("connection"));
}

TEST(HttpProxy, A101ToARequestThatAskedForNoUpgradeIs502) {
  TestUpstream upstream;
  Proxy proxy(To(upstream));
  const Reply reply = Get(proxy.port(), "/upgrade");
  EXPECT_EQ(reply.status, 502) << reply.error;
  EXPECT_NE(ParseBody(reply)["error"].asString().find("101"), std::string::npos) << reply.body;
  EXPECT_EQ(proxy->counters().tunnels, 0);
}

TEST(HttpProxy, AStreamLongerThanTheHeadTimeoutPassesWhileBytesKeepComing) {
  TestUpstream upstream;
  Proxy proxy(To(upstream), [](HttpProxy::Options& o) { o.request_timeout = 300ms; });
  // Eight chunks 100 ms apart: the body lasts twice the head timeout.
  const Reply reply = Get(proxy.port(), "/trickle/8/100");
  EXPECT_EQ(reply.status, 200) << reply.error;
  EXPECT_TRUE(reply.error.empty()) << reply.error;
  std::string ticks;
  for (int i = 0; i < 8; ++i) ticks += "tick\n";
  EXPECT_EQ(reply.body, ticks);
  EXPECT_EQ(proxy->counters().stream_idle_timeouts, 0);
}

TEST(HttpProxy, AStreamSilentForTheIdleTimeoutIsCutAndCounted) {
  TestUpstream upstream;
  Proxy proxy(To(upstream));
  const Reply reply = Get(proxy.port(), "/stall", {{"x-mesh-idle-timeout", "200ms"}});
  EXPECT_EQ(reply.status, 200);
  EXPECT_NE(reply.error, "") << "the body must end cut, not complete";
  EXPECT_EQ(reply.body, "tick\n");
  EXPECT_FALSE(upstream.last().Has("x-mesh-idle-timeout"));
  const auto records = proxy.Records(1);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_NE(records[0].error.find("idle timeout"), std::string::npos) << records[0].error;
  EXPECT_EQ(proxy->counters().stream_idle_timeouts, 1);
}

TEST(HttpProxy, TheStreamIdleTimeoutOptionCutsASilentStream) {
  TestUpstream upstream;
  Proxy proxy(To(upstream), [](HttpProxy::Options& o) { o.stream_idle_timeout = 200ms; });
  const Reply reply = Get(proxy.port(), "/stall");
  EXPECT_NE(reply.error, "");
  EXPECT_EQ(proxy->counters().stream_idle_timeouts, 1);
}

TEST(HttpProxy, InvalidIdleTimeoutIs400) {
  TestUpstream upstream;
  Proxy proxy(To(upstream));
  for (const std::string bad : {"soon", "0s", "-1s"}) {
    const Reply reply = Get(proxy.port(), "/", {{"x-mesh-idle-timeout", bad}});
    EXPECT_EQ(reply.status, 400) << bad;
    EXPECT_NE(ParseBody(reply)["error"].asString().find("x-mesh-idle-timeout"), std::string::npos) << reply.body;
  }
  EXPECT_EQ(upstream.seen().size(), 0u);
}

constexpr char kTrace[] = "4bf92f3577b34da6a3ce929d0e0e4736";
constexpr char kCallerSpan[] = "00f067aa0ba902b7";

TEST(HttpProxy, KeepsTheCallersSampledFlagAndMarksTheRecord) {
  TestUpstream upstream;
  Proxy proxy(To(upstream));
  // Each caller span names its request: records may be completed in either order (a request's
  // record is handed over after its answer went out, so the next one can overtake it).
  const std::map<std::string, std::string> caller_span_by_flags = {{"00", "00f067aa0ba902b7"},
                                                                    {"01", "00f067aa0ba902b8"}};
  for (const auto& [flags, caller_span] : caller_span_by_flags) {
    const std::string incoming = std::string("00-") + kTrace + "-" + caller_span + "-" + flags;
    ASSERT_EQ(Get(proxy.port(), "/", {{"traceparent", incoming}}).status, 200);
    const std::string sent = upstream.last().Header("traceparent");
    EXPECT_EQ(sent.substr(0, 36), std::string("00-") + kTrace + "-") << sent;
    EXPECT_EQ(sent.substr(53), flags) << sent;
  }
  const auto records = proxy.Records(2);
  ASSERT_EQ(records.size(), 2u);
  std::map<std::string, bool> sampled_by_caller_span;
  for (const ProxiedRequest& r : records) sampled_by_caller_span[r.parent_span_id] = r.sampled;
  EXPECT_EQ(sampled_by_caller_span, (std::map<std::string, bool>{{"00f067aa0ba902b7", false},
                                                                 {"00f067aa0ba902b8", true}}));
}

TEST(HttpProxy, ATraceItStartsIsSampled) {
  TestUpstream upstream;
  Proxy proxy(To(upstream));
  ASSERT_EQ(Get(proxy.port(), "/").status, 200);
  EXPECT_EQ(upstream.last().Header("traceparent").substr(53), "01");
  const auto records = proxy.Records(1);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_TRUE(records[0].sampled);
}

TEST(HttpProxy, PassesTracestateOnWithAContinuedTraceCombinedAndTrimmed) {
  TestUpstream upstream;
  Proxy proxy(To(upstream));
  const std::string incoming = std::string("00-") + kTrace + "-" + kCallerSpan + "-01";
  ASSERT_EQ(
      Get(proxy.port(), "/", {{"traceparent", incoming}, {"tracestate", "foo=1 , bar=2"}, {"tracestate", "baz=3"}})
          .status,
      200);
  const Seen seen = upstream.last();
  EXPECT_EQ(seen.headers.count("tracestate"), 1u);
  EXPECT_EQ(seen.Header("tracestate"), "foo=1,bar=2,baz=3");
}

TEST(HttpProxy, DropsTracestateWhenItRestartsTheTrace) {
  TestUpstream upstream;
  Proxy proxy(To(upstream));
  const std::vector<std::vector<std::pair<std::string, std::string>>> cases = {
      {{"tracestate", "foo=1"}},  // no traceparent
      {{"traceparent", std::string("00-") + kTrace + "-0000000000000000-01"}, {"tracestate", "foo=1"}},
      {{"traceparent", std::string("ff-") + kTrace + "-" + kCallerSpan + "-01"}, {"tracestate", "foo=1"}},
  };
  for (const auto& headers : cases) {
    ASSERT_EQ(Get(proxy.port(), "/", headers).status, 200);
    const Seen seen = upstream.last();
    EXPECT_FALSE(seen.Has("tracestate")) << headers[0].second;
    EXPECT_NE(seen.Header("traceparent").substr(3, 32), kTrace);
  }
}

TEST(HttpProxy, DropsAnInvalidTracestateButKeepsTheTrace) {
  TestUpstream upstream;
  Proxy proxy(To(upstream));
  const std::string incoming = std::string("00-") + kTrace + "-" + kCallerSpan + "-01";
  for (const std::string bad : {"foo=1,foo=2", "FOO=1", "foo=bar=baz"}) {
    ASSERT_EQ(Get(proxy.port(), "/", {{"traceparent", incoming}, {"tracestate", bad}}).status, 200);
    EXPECT_FALSE(upstream.last().Has("tracestate")) << bad;
    EXPECT_EQ(upstream.last().Header("traceparent").substr(3, 32), kTrace);
  }
}

TEST(HttpProxy, TwoTraceparentHeadersStartANewTrace) {
  TestUpstream upstream;
  Proxy proxy(To(upstream));
  const std::string one = std::string("00-") + kTrace + "-" + kCallerSpan + "-01";
  const std::string other = "00-12345678901234567890123456789012-1234567890123456-01";
  ASSERT_EQ(Get(proxy.port(), "/", {{"traceparent", one}, {"traceparent", other}, {"tracestate", "foo=1"}}).status,
            200);
  const Seen seen = upstream.last();
  EXPECT_EQ(seen.headers.count("traceparent"), 1u);
  const std::string trace = seen.Header("traceparent").substr(3, 32);
  EXPECT_NE(trace, kTrace);
  EXPECT_NE(trace, "12345678901234567890123456789012");
  EXPECT_FALSE(seen.Has("tracestate"));
  const auto records = proxy.Records(1);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].parent_span_id, "");
}

TEST(HttpProxy, ContinuesATraceOfAHigherVersionAndSendsVersion00) {
  TestUpstream upstream;
  Proxy proxy(To(upstream));
  const std::string future = std::string("cc-") + kTrace + "-" + kCallerSpan + "-01-what-the-future-will-be-like";
  ASSERT_EQ(Get(proxy.port(), "/", {{"traceparent", future}, {"tracestate", "foo=1"}}).status, 200);
  const Seen seen = upstream.last();
  EXPECT_EQ(seen.Header("traceparent").substr(0, 36), std::string("00-") + kTrace + "-");
  EXPECT_EQ(seen.Header("tracestate"), "foo=1");
}

}  // namespace
}  // namespace mesh
