#include "mesh/proxy/http_proxy.h"

#include <openssl/ssl.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cerrno>
#include <charconv>
#include <exception>
#include <limits>
#include <mutex>
#include <optional>
#include <random>
#include <span>
#include <string_view>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "mesh/base/clock.h"
#include "mesh/base/json_text.h"
#include "mesh/base/time_format.h"
#include "mesh/base/thread_cpu_clocks.h"
#include "mesh/base/trace_id.h"
#include "mesh/base/utf8.h"
#include "mesh/http2/grpc_framing.h"
#include "mesh/http2/http2_client_session.h"
#include "mesh/http2/http2_server_session.h"
#include "mesh/proxy/upstream_limits.h"
#include "mesh/security/spiffe_id.h"
#include "mesh/security/x509_internal.h"
#include "mesh/telemetry/traceparent.h"
#include "mesh/telemetry/tracestate.h"

namespace mesh {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using std::chrono::steady_clock;
using SteadyTime = steady_clock::time_point;
using RequestParser = http::request_parser<http::buffer_body>;
using ResponseParser = http::response_parser<http::buffer_body>;
// Everything runs on its worker's io_context: naming that executor type, rather than the
// type-erased any_io_executor, spares the executor copies Asio makes per operation.
using Executor = asio::io_context::executor_type;
template <class T>
using Task = asio::awaitable<T, Executor>;
using Socket = asio::basic_stream_socket<tcp, Executor>;
using Acceptor = asio::basic_socket_acceptor<tcp, Executor>;
using Timer = asio::basic_waitable_timer<steady_clock, asio::wait_traits<steady_clock>, Executor>;
using TcpStream = beast::basic_stream<tcp, Executor>;
using TlsStream = beast::ssl_stream<TcpStream>;

// The header contract: request headers past 16 KiB are refused with 400.
constexpr uint32_t kRequestHeaderLimit = 16 * 1024;
// Upstream headers are trusted more, but must not grow the proxy's memory without bound either.
constexpr uint32_t kResponseHeaderLimit = 64 * 1024;
// How long a client connection may sit idle: between requests, or stalled mid-body.
constexpr auto kClientIdleTimeout = std::chrono::seconds(60);
// Bodies cross the proxy this many bytes at a time, which is what bounds memory per request.
constexpr size_t kRelayChunk = 16 * 1024;
// Relay chunks a worker keeps for the next bodies instead of freeing them: a chunk per body
// from malloc had glibc trim and fault the same pages in again, request after request.
constexpr size_t kSpareChunks = 32;
// Idle upstream connections kept per endpoint and thread; more are closed.
constexpr size_t kMaxIdlePerEndpoint = 64;
// Endpoints an mTLS proxy refuses (not marked mTLS) that one attempt skips before it gives up.
constexpr int kMaxPlaintextSkips = 8;
// Idle upstream connections are looked at this often (or twice per idle timeout if shorter) and
// closed once idle for Options::upstream_idle_timeout: before the upstream's own keep-alive
// timeout is likely to close them (ours toward clients is 60 s), and so that descriptors go back.
constexpr auto kIdleSweepEvery = std::chrono::milliseconds(5000);
constexpr auto kTlsHandshakeTimeout = std::chrono::seconds(10);
constexpr auto kBackoffBase = std::chrono::milliseconds(25);
// How often a request waiting for a service's first discovery answer looks again.
constexpr auto kDiscoveryPoll = std::chrono::milliseconds(5);
constexpr auto kBackoffCap = std::chrono::milliseconds(250);
// Before closing a client connection, read what the client still sends for a while: closing a
// socket with unread input resets it, and the client could lose the answer we just wrote.
constexpr auto kLingerTimeout = std::chrono::seconds(1);
constexpr size_t kLingerBytes = 256 * 1024;

// After a failed accept (out of descriptors: the connection stays in the backlog), the listener
// waits this long before trying again, instead of spinning.
constexpr auto kAcceptRetry = std::chrono::milliseconds(50);
// A warning about refused or failed connections is logged at most this often, with the count.
constexpr auto kWarnEvery = std::chrono::seconds(10);

using ReusePort = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;

// Beast 1.74 speaks boost::string_view.
std::string_view Sv(beast::string_view s) { return {s.data(), s.size()}; }

auto Redirect(beast::error_code& ec) { return asio::redirect_error(asio::use_awaitable_t<Executor>(), ec); }

bool IsParseError(const beast::error_code& ec) {
  return ec.category() == http::make_error_code(http::error::bad_method).category() &&
         ec != http::error::end_of_stream && ec != http::error::partial_message;
}

bool IsIdempotent(http::verb method) {
  switch (method) {
    case http::verb::get:
    case http::verb::head:
    case http::verb::put:
    case http::verb::delete_:
    case http::verb::options:
    case http::verb::trace:
      return true;
    default:
      return false;
  }
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool IEquals(std::string_view a, std::string_view b) {
  return beast::iequals(beast::string_view(a.data(), a.size()), beast::string_view(b.data(), b.size()));
}

// Whether the comma-separated `list` (a Connection header's value) names `name`.
bool ListNames(std::string_view list, std::string_view name) {
  while (!list.empty()) {
    const size_t comma = list.find(',');
    if (IEquals(Trim(list.substr(0, comma)), name)) return true;
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
  }
  return false;
}

// RFC 9110 §7.6.1: a message's headers meant for this connection only, including those its
// Connection headers name. Those are looked up once per message, not once per header.
class HopByHop {
 public:
  explicit HopByHop(const http::fields& fields) : connection_(fields.equal_range(http::field::connection)) {}
  bool operator()(const http::fields::value_type& f) const {
    switch (f.name()) {
      case http::field::connection:
      case http::field::keep_alive:
      case http::field::proxy_connection:
      case http::field::te:
      case http::field::trailer:
      case http::field::transfer_encoding:
      case http::field::upgrade:
        return true;
      default:
        break;
    }
    for (auto it = connection_.first; it != connection_.second; ++it) {
      if (ListNames(Sv(it->value()), Sv(f.name_string()))) return true;
    }
    return false;
  }

 private:
  std::pair<http::fields::const_iterator, http::fields::const_iterator> connection_;
};

bool NameIs(const http::fields::value_type& f, std::string_view name) {
  return IEquals(Sv(f.name_string()), name);
}

void AppendField(std::string& out, std::string_view name, std::string_view value) {
  out.append(name).append(": ").append(value).append("\r\n");
}

// The service a request names: its Host header without the port.
std::string_view HostName(std::string_view authority) {
  if (!authority.empty() && authority.front() == '[') {
    return authority.substr(0, authority.find(']') + 1);
  }
  return authority.substr(0, authority.find(':'));
}

void AppendStatusLine(std::string& out, unsigned code, std::string_view reason) {
  std::array<char, 4> digits;
  std::to_chars(digits.data(), digits.data() + digits.size(), code);
  out.append("HTTP/1.1 ").append(digits.data(), 3).append(" ").append(reason).append("\r\n");
}

// A TLS session resumes only toward the endpoint and the identity it was verified for.
std::string SessionKey(std::string_view endpoint, std::string_view identity) {
  std::string key(endpoint);
  key.append(" ").append(identity);
  return key;
}

// An endpoint as its errors name it: the registry's instance id, else its address.
std::string InstanceName(const Endpoint& e) {
  return e.instance_id.empty() ? e.host + ":" + std::to_string(e.port) : e.instance_id;
}

std::string ErrorJson(std::string_view error, std::string_view service,
                      std::string_view request_id) {
  std::string out = "{\"error\":";
  AppendJsonString(out, SanitizedUtf8(error));
  out += ",\"service\":";
  AppendJsonString(out, SanitizedUtf8(service));
  out += ",\"request_id\":";
  AppendJsonString(out, SanitizedUtf8(request_id));
  out += '}';
  return out;
}

// What a pooled connection holds while no request is on it. Anything but kNothing rules it out:
// end of file (the upstream closed it) or bytes no request asked for, which the next request
// would read as its answer (an upstream writing past its Content-Length).
enum class IdleState { kNothing, kClosed, kStrayBytes };
IdleState PeekIdle(int fd) {
  char byte;
  const ssize_t n = ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n > 0) return IdleState::kStrayBytes;
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) ? IdleState::kNothing : IdleState::kClosed;
}
IdleState PeekIdle(TcpStream& stream) { return PeekIdle(stream.socket().native_handle()); }
// Over TLS, bytes waiting may be a session ticket the server sent after its answer: only end of
// file rules the connection out.
IdleState PeekIdle(TlsStream& stream) {
  const IdleState s = PeekIdle(beast::get_lowest_layer(stream).socket().native_handle());
  return s == IdleState::kStrayBytes ? IdleState::kNothing : s;
}

// Watches a client's socket while the proxy waits for the upstream's answer: end of file or an
// error there means the client went away, and `abandon` runs at once (to close the upstream
// connection). A client that half-closes after its request is taken as gone too, as nginx does
// unless told otherwise: rare in HTTP/1.1, and the answer could not be told from an abandonment.
// Bytes from the client (a pipelined request, a TLS record) end the watch without a verdict. The
// watch ends with the object; its completion may run later and then does nothing.
class ClientWatch {
 public:
  ClientWatch(Socket& client, std::function<void()> abandon)
      : client_(client), state_(std::make_shared<State>(State{std::move(abandon)})) {
    const int fd = client.native_handle();
    client.async_wait(tcp::socket::wait_read, [state = state_, fd](const beast::error_code& ec) {
      if (!state->watching || ec || PeekIdle(fd) != IdleState::kClosed) return;
      state->client_gone = true;
      state->abandon();
    });
  }
  ~ClientWatch() {
    state_->watching = false;
    beast::error_code ignored;
    client_.cancel(ignored);
  }
  ClientWatch(const ClientWatch&) = delete;
  ClientWatch& operator=(const ClientWatch&) = delete;
  bool client_gone() const { return state_->client_gone; }

 private:
  struct State {
    std::function<void()> abandon;
    bool watching = true;
    bool client_gone = false;
  };
  Socket& client_;
  std::shared_ptr<State> state_;
};

// When a stream's next operation must be over: a deadline, or an idle timeout renewed before
// each operation (bodies, either way: the stream idle timeout).
struct Expiry {
  std::optional<SteadyTime> deadline;
  std::chrono::nanoseconds idle = kClientIdleTimeout;
  template <class Stream>
  void Arm(Stream& stream) const {
    if (deadline) {
      beast::get_lowest_layer(stream).expires_at(*deadline);
    } else {
      beast::get_lowest_layer(stream).expires_after(idle);
    }
  }
};

// One worker's spare relay chunks (only its thread touches them).
class ChunkPool {
 public:
  std::unique_ptr<char[]> Take() {
    if (spare_.empty()) return std::make_unique_for_overwrite<char[]>(kRelayChunk);
    std::unique_ptr<char[]> chunk = std::move(spare_.back());
    spare_.pop_back();
    return chunk;
  }
  void Give(std::unique_ptr<char[]> chunk) {
    if (chunk && spare_.size() < kSpareChunks) spare_.push_back(std::move(chunk));
  }

 private:
  std::vector<std::unique_ptr<char[]>> spare_;
};

// A chunk borrowed from the pool for one body, given back however the relay ends.
class BorrowedChunk {
 public:
  explicit BorrowedChunk(ChunkPool& pool) : pool_(pool) {}
  ~BorrowedChunk() { pool_.Give(std::move(chunk_)); }
  BorrowedChunk(const BorrowedChunk&) = delete;
  BorrowedChunk& operator=(const BorrowedChunk&) = delete;
  char* get() {
    if (!chunk_) chunk_ = pool_.Take();
    return chunk_.get();
  }

 private:
  ChunkPool& pool_;
  std::unique_ptr<char[]> chunk_;
};

enum class RelayFailure { kNone, kRead, kWrite };
struct RelayResult {
  RelayFailure failure = RelayFailure::kNone;
  beast::error_code ec;
};

// Writes to a plaintext stream what its socket takes at once, without waiting, and returns what
// is left (empty, nearly always). A write that completes this way costs one system call and no
// operation, handler, timer or trip through the event loop. Over TLS the engine writes records
// asynchronously: everything is left.
std::span<asio::const_buffer> WriteNow(TcpStream& out, std::span<asio::const_buffer> pieces, beast::error_code& ec) {
  size_t written = out.socket().write_some(pieces, ec);
  if (ec == asio::error::would_block) ec = {};
  while (!pieces.empty() && written >= pieces.front().size()) {
    written -= pieces.front().size();
    pieces = pieces.subspan(1);
  }
  if (!pieces.empty()) pieces.front() += written;
  return pieces;
}
std::span<asio::const_buffer> WriteNow(TlsStream&, std::span<asio::const_buffer> pieces, beast::error_code&) {
  return pieces;
}

// The write a relay step needs: at once when the socket takes it, else waiting under `expiry`.
template <class Out>
Task<beast::error_code> Write(Out& out, Expiry expiry, std::span<asio::const_buffer> pieces) {
  beast::error_code ec;
  pieces = WriteNow(out, pieces, ec);
  if (ec || pieces.empty()) co_return ec;
  expiry.Arm(out);
  co_await asio::async_write(out, pieces, Redirect(ec));
  co_return ec;
}

// Writes `head` (a message head we wrote, see WriteRequestHead and WriteResponseHead) to `out`,
// then streams the body `parser` still has to read from `in`, re-chunked when `chunked`;
// `bytes` counts the body bytes written. The head goes in the same write as the first body bytes
// when those are already buffered (one send, not two); otherwise it goes at once, so that the
// receiver is not kept waiting for a body to come.
template <bool kRequest, class In, class Out>
Task<RelayResult> RelayMessage(In& in, beast::flat_buffer& in_buffer, Expiry in_expiry,
                               http::parser<kRequest, http::buffer_body>& parser, Out& out,
                               Expiry out_expiry, std::string_view head, bool chunked,
                               ChunkPool& chunks, uint64_t& bytes) {
  static constexpr std::string_view kChunkEnd = "\r\n";
  static constexpr std::string_view kLastChunk = "0\r\n\r\n";
  static constexpr std::string_view kChunkEndAndLast = "\r\n0\r\n\r\n";
  RelayResult result;
  auto& body = parser.get().body();
  BorrowedChunk chunk(chunks);
  bool head_sent = false;
  for (;;) {
    size_t n = 0;
    if (!parser.is_done()) {
      if (!head_sent && in_buffer.size() == 0) {
        std::array<asio::const_buffer, 1> pieces{asio::buffer(head)};
        result.ec = co_await Write(out, out_expiry, pieces);
        if (result.ec) {
          result.failure = RelayFailure::kWrite;
          co_return result;
        }
        head_sent = true;
      }
      body.data = chunk.get();
      body.size = kRelayChunk;
      in_expiry.Arm(in);
      co_await http::async_read_some(in, in_buffer, parser, Redirect(result.ec));
      if (result.ec == http::error::need_buffer) result.ec = {};
      if (result.ec) {
        result.failure = RelayFailure::kRead;
        co_return result;
      }
      n = kRelayChunk - body.size;
      // Nothing to write yet: wait for bytes.
      if (n == 0 && !parser.is_done()) continue;
    }
    const bool last = parser.is_done();
    std::array<asio::const_buffer, 4> pieces;
    size_t count = 0;
    if (!head_sent) pieces[count++] = asio::buffer(head);
    std::array<char, 20> size_line;
    if (chunked && n > 0) {
      char* end = std::to_chars(size_line.data(), size_line.data() + 16, n, 16).ptr;
      *end++ = '\r';
      *end++ = '\n';
      pieces[count++] = asio::buffer(size_line.data(), static_cast<size_t>(end - size_line.data()));
    }
    if (n > 0) pieces[count++] = asio::buffer(chunk.get(), n);
    if (chunked) {
      const std::string_view tail = n > 0 ? (last ? kChunkEndAndLast : kChunkEnd) : (last ? kLastChunk : "");
      if (!tail.empty()) pieces[count++] = asio::buffer(tail);
    }
    if (count > 0) {
      result.ec = co_await Write(out, out_expiry, std::span(pieces.data(), count));
      if (result.ec) {
        result.failure = RelayFailure::kWrite;
        co_return result;
      }
    }
    head_sent = true;
    bytes += n;
    if (last) co_return result;
  }
}

// Idle keep-alive upstream connections of one kind by "host:port", each with when it went idle
// and the identity it was verified for (over TLS: the service its certificate proved; "" in
// plaintext). A connection is taken only for that identity: one opened to service A never
// carries a request for service B, even when B is registered at A's address now. A plaintext one is watched while idle (an outstanding wait for input): whatever arrives, end
// of file or bytes, closes it at once, so that nothing stray is left for a request to read as
// its answer, and a connection the upstream closed gives its descriptor back. Only its worker's
// thread touches a pool.
template <class Stream>
struct IdlePool {
  static constexpr bool kWatched = std::is_same_v<Stream, TcpStream>;
  struct Idle {
    std::unique_ptr<Stream> stream;
    ConnectionSlot slot;  // its count against the endpoint's connection limit
    SteadyTime since;
    uint64_t id = 0;  // tells a watch's completion whether its connection is still idle here
    std::string identity;
  };
  std::unordered_map<std::string, std::vector<Idle>> by_endpoint;
  uint64_t last_id = 0;
  // Connections discarded for bytes no request asked for (shared by the proxy's workers).
  std::atomic<int64_t>* stray_bytes = nullptr;

  struct Taken {
    std::unique_ptr<Stream> stream;
    ConnectionSlot slot;
  };
  // The most recently idled connection still open, or none. A plaintext one is always checked
  // (a system call, about 2 us): its watch sees input only once the event loop turns, and bytes
  // that came since would be the next request's answer. Over TLS, only with `check`: requests
  // that can be replayed go again on a fresh connection if the pooled one turns out closed.
  Taken Take(const std::string& key, std::string_view identity, SteadyTime now, std::chrono::milliseconds timeout,
             bool check) {
    auto it = by_endpoint.find(key);
    if (it == by_endpoint.end()) return {};
    std::vector<Idle>& list = it->second;
    for (size_t i = list.size(); i-- > 0;) {
      if (list[i].identity != identity) continue;
      Idle idle = std::move(list[i]);
      list.erase(list.begin() + static_cast<std::ptrdiff_t>(i));
      if (now - idle.since >= timeout) continue;
      if constexpr (kWatched) {
        beast::error_code ignored;
        idle.stream->socket().cancel(ignored);
        check = true;
      }
      if (!check || Usable(*idle.stream)) return {std::move(idle.stream), std::move(idle.slot)};
    }
    return {};
  }
  // Closes the connection to `key` idle for longest, if any: its slot goes to a request waiting
  // for a connection on another thread.
  void CloseOldest(const std::string& key) {
    auto it = by_endpoint.find(key);
    if (it != by_endpoint.end() && !it->second.empty()) it->second.erase(it->second.begin());
  }
  // Closes the idle connections to `key` the upstream has closed: when one turns out closed,
  // the upstream has often closed the others it had idle at the same time.
  void DropClosed(const std::string& key) {
    auto it = by_endpoint.find(key);
    if (it == by_endpoint.end()) return;
    std::erase_if(it->second, [this](const Idle& i) { return !Usable(*i.stream); });
  }
  void Put(const std::string& key, std::string_view identity, std::unique_ptr<Stream> stream, ConnectionSlot slot,
           SteadyTime now) {
    std::vector<Idle>& idle = by_endpoint[key];
    if (idle.size() >= kMaxIdlePerEndpoint) return;
    const uint64_t id = ++last_id;
    if constexpr (kWatched) {
      // Any completion but a cancellation (Take) means input or an error: the connection goes.
      stream->socket().async_wait(tcp::socket::wait_read, [this, key, id](const beast::error_code& ec) {
        if (ec != asio::error::operation_aborted) Discard(key, id);
      });
    }
    idle.push_back({std::move(stream), std::move(slot), now, id, std::string(identity)});
  }
  // Closes the connections idle for too long (oldest first in each list).
  void Sweep(SteadyTime now, std::chrono::milliseconds timeout) {
    for (auto it = by_endpoint.begin(); it != by_endpoint.end();) {
      std::vector<Idle>& idle = it->second;
      idle.erase(std::remove_if(idle.begin(), idle.end(),
                                [&](const Idle& i) { return now - i.since >= timeout; }),
                 idle.end());
      it = idle.empty() ? by_endpoint.erase(it) : std::next(it);
    }
  }

 private:
  bool Usable(Stream& stream) {
    const IdleState state = PeekIdle(stream);
    if (state == IdleState::kStrayBytes && stray_bytes != nullptr) ++*stray_bytes;
    return state == IdleState::kNothing;
  }
  // A watched connection saw input: close it (counted when bytes came, not end of file).
  void Discard(const std::string& key, uint64_t id) {
    auto it = by_endpoint.find(key);
    if (it == by_endpoint.end()) return;
    const auto idle = std::find_if(it->second.begin(), it->second.end(), [id](const Idle& i) { return i.id == id; });
    if (idle == it->second.end()) return;
    Usable(*idle->stream);  // for the count
    it->second.erase(idle);
  }
};

struct SessionFree {
  void operator()(SSL_SESSION* s) const { SSL_SESSION_free(s); }
};

// A copy of a connection's session, not the connection's own object: OpenSSL marks that one
// not resumable when the connection is freed without a TLS shutdown, which is how pooled
// connections end (idle sweep, a full pool, a client gone mid-exchange).
struct StoredSession {
  const SSL_SESSION* source = nullptr;  // what `copy` was made from: copy once per session
  std::unique_ptr<SSL_SESSION, SessionFree> copy;
};

// One pooled HTTP/2 connection to an upstream endpoint (h2c to the local app, h2 over mTLS to a
// peer sidecar), carrying many requests at once, each on its own stream. Its reader and writer
// coroutines own the socket; requests wait for their answer in `waits` (by stream id) and the
// writer sleeps on `wake` until the session has bytes to send.
struct H2Wait {
  explicit H2Wait(asio::io_context& ioc) : timer(ioc) {}
  Timer timer;
  std::optional<Http2Response> response;
  std::optional<Http2StreamFailure> failure;
  bool client_gone = false;
};

struct H2Upstream {
  explicit H2Upstream(asio::io_context& ioc) : wake(ioc) {}
  std::unique_ptr<Http2ClientSession> session;
  Timer wake;
  std::unordered_map<int32_t, H2Wait*> waits;
  ConnectionSlot slot;  // counted against max_upstream_connections while open
  bool closed = false;
  bool reader_done = false;
};

// One client connection speaking HTTP/2: its streams are handled by their own coroutines, which
// answer through `session` and wake the writer.
struct H2Client {
  explicit H2Client(asio::io_context& ioc) : wake(ioc) {}
  std::unique_ptr<Http2ServerSession> session;
  Timer wake;
  // Streams being handled, and how to tell each that its client reset it.
  std::unordered_map<int32_t, std::function<void()>> cancels;
  bool closed = false;
  bool reader_done = false;
};

constexpr std::string_view kHttp2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

// The request headers that are this hop's only (RFC 9113 §8.2.2 forbids them in HTTP/2), or that
// the proxy writes itself.
bool DroppedFromH2Request(std::string_view name, std::string_view value) {
  return name == "connection" || name == "keep-alive" || name == "proxy-connection" ||
         name == "transfer-encoding" || name == "upgrade" || name == "host" || name == "x-request-id" ||
         name == "x-forwarded-for" || name == "x-forwarded-proto" || name == "traceparent" ||
         name == "tracestate" || name == "x-mesh-timeout" || name == "x-mesh-idle-timeout" ||
         (name == "te" && value != "trailers") || (!name.empty() && name[0] == ':');
}

// ALPN on the inbound mTLS listener: "h2" when the caller offers it, else "http/1.1"; a caller
// offering neither (or no ALPN) gets HTTP/1.1 as before.
int SelectAlpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in, unsigned int inlen,
               void*) {
  static constexpr unsigned char kOurs[] = "\x02h2\x08http/1.1";
  unsigned char* selected = nullptr;
  if (SSL_select_next_proto(&selected, outlen, kOurs, sizeof(kOurs) - 1, in, inlen) != OPENSSL_NPN_NEGOTIATED) {
    return SSL_TLSEXT_ERR_NOACK;
  }
  *out = selected;
  return SSL_TLSEXT_ERR_OK;
}

// A gRPC answer's grpc-status: in its trailers, or in its headers when it has no body (a
// trailers-only answer); -1 when absent or not a number.
int GrpcStatusOf(const Http2Response& r) {
  for (const auto* fields : {&r.trailers, &r.headers}) {
    for (const auto& [name, value] : *fields) {
      if (name != "grpc-status") continue;
      int code = -1;
      const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), code);
      return ec == std::errc() && end == value.data() + value.size() && code >= 0 ? code : -1;
    }
  }
  return -1;
}

bool AlpnIsH2(SSL* ssl) {
  const unsigned char* proto = nullptr;
  unsigned int len = 0;
  SSL_get0_alpn_selected(ssl, &proto, &len);
  return len == 2 && proto[0] == 'h' && proto[1] == '2';
}

struct Worker {
  // Before the io_context: the coroutines it destroys give their chunks back on the way.
  ChunkPool chunks;
  asio::io_context ioc{1};
  Acceptor acceptor{ioc};
  // Only this worker's thread touches what follows, hence no lock.
  IdlePool<TcpStream> idle_plain;
  IdlePool<TlsStream> idle_tls;
  // The last TLS session per upstream endpoint and identity (SessionKey), to resume instead of a
  // full handshake.
  std::unordered_map<std::string, StoredSession> tls_sessions;
  std::mt19937_64 rng{std::random_device{}()};
  // The circuit-breaker counts of the endpoints this thread calls, found in the proxy's shared
  // map once: no lock per request.
  std::unordered_map<std::string, std::shared_ptr<EndpointCounts>> counts;
  // HTTP/2 upstream connections by endpoint and identity (SessionKey): one per endpoint, shared
  // by every HTTP/2 request this thread sends there.
  std::unordered_map<std::string, std::shared_ptr<H2Upstream>> h2_upstreams;
  std::thread thread;
};

// The TLS side of a proxy, per generation of credentials: a rotation makes a new one, and
// every connection keeps the generation it started with alive.
struct TlsContexts {
  // Asio wants them non-const to make a stream; they are not changed once made.
  mutable asio::ssl::context server{asio::ssl::context::tls_server};
  mutable asio::ssl::context client{asio::ssl::context::tls_client};
  std::string trust_domain;
};

Result<std::shared_ptr<const TlsContexts>> MakeTlsContexts(const TlsCredentials& c) {
  if (Status s = ValidateTrustDomain(c.trust_domain); !s.ok()) return s;
  auto t = std::make_shared<TlsContexts>();
  t->trust_domain = c.trust_domain;
  for (asio::ssl::context* ctx : {&t->server, &t->client}) {
    beast::error_code ec;
    ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                         asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                         asio::ssl::context::no_tlsv1_1,
                     ec);
    if (!ec) ctx->use_certificate_chain(asio::buffer(c.certificate_pem), ec);
    if (!ec) ctx->use_private_key(asio::buffer(c.private_key_pem), asio::ssl::context::pem, ec);
    if (!ec) ctx->add_certificate_authority(asio::buffer(c.ca_pem), ec);
    if (ec) return Status::InvalidArgument("TLS credentials: " + ec.message());
    if (SSL_CTX_check_private_key(ctx->native_handle()) != 1) {
      return Status::InvalidArgument(x509::OpenSslError("TLS credentials: the key is not the certificate's"));
    }
  }
  t->server.set_verify_mode(asio::ssl::verify_peer | asio::ssl::verify_fail_if_no_peer_cert);
  t->client.set_verify_mode(asio::ssl::verify_peer);
  // Resumed sessions skip the certificate exchange: OpenSSL only allows that (with client
  // certificates required) within a named session context.
  static constexpr unsigned char kSessionContext[] = "meshproxy";
  SSL_CTX_set_session_id_context(t->server.native_handle(), kSessionContext, sizeof(kSessionContext) - 1);
  SSL_CTX_set_alpn_select_cb(t->server.native_handle(), &SelectAlpn, nullptr);
  return std::shared_ptr<const TlsContexts>(std::move(t));
}

// The service named by the peer's verified certificate in our trust domain, or "".
std::string PeerService(TlsStream& stream, const std::string& trust_domain) {
  X509* cert = SSL_get0_peer_certificate(stream.native_handle());
  if (cert == nullptr) return "";
  Result<ServiceIdentity> id = ParseSpiffeId(x509::FirstSpiffeUri(cert));
  if (!id.ok() || id->trust_domain != trust_domain) return "";
  return id->service;
}

// One request's state, from its header to its completion record.
// The heads of one client connection's messages, written by hand into buffers the connection
// reuses: Beast's serializer, and setting fields on the parsed messages, allocated per header.
struct HeadBuffers {
  std::string request;   // toward the upstream
  std::string response;  // toward the client
};

// How an upstream's answer goes to the client.
struct ResponseFraming {
  bool keep_alive = false;  // the client connection may carry another request
  bool chunked = false;     // the body is re-chunked (its length is not known)
};

struct Exchange {
  HeadBuffers* heads = nullptr;
  ProxiedRequest record;
  SteadyTime started;
  SteadyTime deadline;  // for the answer's head
  std::chrono::nanoseconds head_timeout{0};
  std::chrono::nanoseconds idle_timeout{0};
  std::string tracestate;  // passed on with a continued trace; "" when none or dropped
  bool client_keep_alive = false;
  bool upgrade = false;    // asks to switch protocols (WebSocket)
  bool completed = false;  // the record was handed over (at a 101, before the tunnel)
  bool client_http10 = false;
  bool head = false;
  bool has_body = false;
  bool idempotent = false;
};

// How one attempt ended.
struct Attempt {
  AttemptOutcome outcome = AttemptOutcome::kSuccess;
  // Set when the attempt failed and another one is granted after this pause.
  std::optional<std::chrono::milliseconds> retry_after;
  // The client got the upstream's answer, or is gone: nothing more to say.
  bool answered = false;
  bool keep_alive = false;  // when answered: the client connection may carry another request
  http::status status = http::status::bad_gateway;  // when not answered: the proxy's own answer
  std::string error;
  // The selector was told the attempt started (then it hears how it ended), and when.
  bool started = false;
  SteadyTime started_at;
  uint32_t reset_code = 0;  // HTTP/2: the upstream reset the stream with this code (answered)
};

enum class Stage { kConnect, kSend, kReceive };

// One open client connection, counted against the listener's limit from its accept until its
// session ends (or is destroyed without having run, at shutdown).
class ClientSlot {
 public:
  explicit ClientSlot(std::atomic<int64_t>& open) : open_(&open) {}
  ClientSlot(ClientSlot&& other) noexcept : open_(std::exchange(other.open_, nullptr)) {}
  ClientSlot& operator=(ClientSlot&&) = delete;
  ~ClientSlot() {
    if (open_ != nullptr) --*open_;
  }

 private:
  std::atomic<int64_t>* open_;
};

// Events counted at once but logged at most every kWarnEvery, with how many happened since the
// last line: a flood of refused connections must not become a flood of log lines. Thread-safe.
class RateLimitedWarning {
 public:
  // Counts one event; calls `warn` with the count when a line is due.
  void Note(const std::function<void(const std::string&)>& warn, const std::string& what) {
    ++pending_;
    if (!warn) return;
    const int64_t now = steady_clock::now().time_since_epoch().count();
    int64_t last = last_.load();
    if (last != 0 && now - last < std::chrono::nanoseconds(kWarnEvery).count()) return;
    if (!last_.compare_exchange_strong(last, now)) return;
    warn(what + " (" + std::to_string(pending_.exchange(0)) + " since the last warning)");
  }

 private:
  std::atomic<int64_t> last_{0};
  std::atomic<int64_t> pending_{0};
};

class InFlight {
 public:
  explicit InFlight(std::atomic<int64_t>& counter) : counter_(counter) { ++counter_; }
  ~InFlight() { --counter_; }
  InFlight(const InFlight&) = delete;
  InFlight& operator=(const InFlight&) = delete;

 private:
  std::atomic<int64_t>& counter_;
};

Status Listen(Acceptor& acceptor, const tcp::endpoint& at) {
  beast::error_code ec;
  acceptor.open(at.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.set_option(ReusePort(true), ec);
  if (!ec) acceptor.bind(at, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Status::IOError("cannot listen on " + at.address().to_string() + ":" +
                           std::to_string(at.port()) + ": " + ec.message());
  }
  return Status::Ok();
}

}  // namespace

struct HttpProxy::Impl {
  explicit Impl(Options o)
      : options(std::move(o)),
        limits({.max_requests = options.max_upstream_requests,
                .max_connections = options.max_upstream_connections,
                .max_pending = options.max_upstream_pending}) {}

  Task<void> Accept(Worker& w);
  Task<void> Session(Worker& w, Socket socket, ClientSlot slot);
  Task<void> SweepIdle(Worker& w);
  template <class Client>
  Task<void> Serve(Worker& w, Client& client, const std::string& client_ip,
                              const std::string& peer_service, beast::flat_buffer& buffer);
  // HTTP/2 (see the header): one client connection, its streams each handled by HandleH2.
  template <class Client>
  Task<void> ServeH2(Worker& w, Client& client, const std::string& client_ip, const std::string& peer_service,
                     beast::flat_buffer& buffer);
  template <class Client>
  Task<void> ReadH2(Client& client, std::shared_ptr<H2Client> conn, beast::flat_buffer& buffer);
  Task<void> HandleH2(Worker& w, std::shared_ptr<H2Client> conn, int32_t stream_id, HttpRequest request,
                      bool too_large, std::string client_ip, std::string peer_service);
  // Sends `request` on a pooled HTTP/2 connection to `endpoint` (opened when none), and waits
  // for its answer until x.deadline or the client resets the stream.
  Task<Attempt> TryH2(Worker& w, std::function<void()>& on_cancel, Http2Request& request, Exchange& x,
                      const Endpoint& endpoint, const std::string& key, EndpointCounts& counts,
                      std::string_view service, std::optional<Http2Response>& answer);
  Task<std::shared_ptr<H2Upstream>> OpenH2(Worker& w, const Endpoint& endpoint, const std::string& key,
                                           ConnectionSlot slot, std::string_view service, SteadyTime deadline,
                                           std::string& error);
  template <class Upstream>
  Task<void> RunH2Upstream(Worker& w, std::unique_ptr<Upstream> upstream, std::shared_ptr<H2Upstream> conn,
                           std::string pool_key);
  void AnswerH2(H2Client& conn, int32_t stream_id, Exchange& x, int status, std::string error) const;
  std::vector<std::pair<std::string, std::string>> OwnH2Headers(const Exchange& x) const;
  template <class Client>
  Task<bool> Handle(Worker& w, Client& client, beast::flat_buffer& buffer, HeadBuffers& heads,
                               RequestParser& parser, const std::string& client_ip,
                               const std::string& peer_service);
  template <class Client>
  Task<bool> Forward(Worker& w, Client& client, beast::flat_buffer& buffer,
                                RequestParser& parser, Exchange& x);
  template <class Client, class Upstream>
  Task<Attempt> Try(Worker& w, Client& client, beast::flat_buffer& buffer,
                               RequestParser& parser, Exchange& x, int attempt,
                               const Endpoint& endpoint, const std::string& key, EndpointCounts& counts,
                               std::string_view service);
  // A connection slot toward `key`: at once under the limit, else after queuing until a slot
  // is given back or `deadline` passes. Empty when refused; `queue_full` says it was not queued.
  Task<ConnectionSlot> ReserveConnection(Worker& w, EndpointCounts& counts, const std::string& key,
                                         SteadyTime deadline, bool& queue_full);
  // Asks the other threads to close a connection to `key` they keep idle: its slot goes to a
  // request waiting for one.
  void ShedIdle(Worker& w, const std::string& key);
  std::shared_ptr<EndpointCounts> Counts(Worker& w, const std::string& key);
  Task<beast::error_code> Connect(TcpStream& upstream, const Endpoint& endpoint,
                                             SteadyTime deadline);
  // Connects and, over TLS, shakes hands and checks that the peer is `service`.
  Task<beast::error_code> Open(Worker& w, TcpStream& upstream, const Endpoint& endpoint,
                                          SteadyTime deadline, std::string_view service, std::string& error);
  Task<beast::error_code> Open(Worker& w, TlsStream& upstream, const Endpoint& endpoint,
                                          SteadyTime deadline, std::string_view service, std::string& error);
  // Relays bytes both ways between a client and an upstream that switched protocols, starting
  // with what each side already sent past the handshake, until both ends close, one fails, or
  // nothing crosses for `idle`.
  template <class Client, class Upstream>
  Task<void> Tunnel(Worker& w, Client& client, beast::flat_buffer& client_buffer, Upstream& upstream,
                    beast::flat_buffer& upstream_buffer, std::chrono::nanoseconds idle);
  template <class Client>
  Task<bool> AnswerError(Client& client, Exchange& x, http::status status,
                                    std::string error, bool body_consumed);
  template <class Client>
  Task<void> RefuseMalformed(Client& client, const beast::error_code& ec,
                                        const std::string& client_ip);

  std::unique_ptr<TcpStream> NewUpstream(Worker& w, std::type_identity<TcpStream>) const {
    return std::make_unique<TcpStream>(w.ioc);
  }
  std::unique_ptr<TlsStream> NewUpstream(Worker& w, std::type_identity<TlsStream>) const {
    return std::make_unique<TlsStream>(w.ioc, CurrentTls()->client);
  }
  IdlePool<TcpStream>& Pool(Worker& w, std::type_identity<TcpStream>) const { return w.idle_plain; }
  IdlePool<TlsStream>& Pool(Worker& w, std::type_identity<TlsStream>) const { return w.idle_tls; }
  void Idle(Worker& w, const std::string& key, std::string_view identity, std::unique_ptr<TcpStream> upstream,
            ConnectionSlot slot, const EndpointCounts& counts) const;
  void Idle(Worker& w, const std::string& key, std::string_view identity, std::unique_ptr<TlsStream> upstream,
            ConnectionSlot slot, const EndpointCounts& counts) const;
  // The identity a connection of this kind is verified for when it carries a request to
  // `service`: the service over TLS, none in plaintext.
  static std::string_view IdentityOf(std::type_identity<TcpStream>, std::string_view) { return {}; }
  static std::string_view IdentityOf(std::type_identity<TlsStream>, std::string_view service) { return service; }

  std::shared_ptr<const TlsContexts> CurrentTls() const {
    std::lock_guard lock(tls_mu);
    return tls;
  }

  void StartExchange(Exchange& x, const http::request_header<>& req,
                     const std::string& client_ip) const;
  void StartExchange(Exchange& x, const HttpRequest& req, const std::string& client_ip) const;
  // What both start from: the request id and trace context the request came with (traceparent
  // "" when absent or not exactly one; tracestate's lines looked at only for a valid one).
  template <class TraceStateLines>
  void StartExchange(Exchange& x, std::string_view request_id, std::string_view traceparent,
                     TraceStateLines tracestate_lines, const std::string& client_ip) const;
  void WriteRequestHead(std::string& out, const RequestParser& parser, const Exchange& x,
                        std::string_view default_host) const;
  ResponseFraming WriteResponseHead(std::string& out, const ResponseParser& parser, const Exchange& x) const;
  void WriteSwitchHead(std::string& out, const ResponseParser& parser, const Exchange& x) const;
  void AppendOwnHeaders(std::string& out, const Exchange& x, bool keep_alive) const;
  std::optional<std::chrono::milliseconds> RetryDelay(Worker& w, int attempt,
                                                      const Exchange& x) const;
  void Complete(Exchange& x) const;
  void Stop(std::chrono::milliseconds drain);

  const Options options;
  // Before the workers: their pooled connections give their slots back when destroyed.
  UpstreamLimits limits;
  std::atomic<int64_t> overflow_requests{0};
  std::atomic<int64_t> overflow_pending{0};
  std::atomic<int64_t> overflow_connections{0};
  std::atomic<int64_t> abandoned{0};
  std::atomic<int64_t> in_flight{0};
  std::atomic<int64_t> handshake_failures{0};
  std::atomic<int64_t> stray_bytes{0};
  std::atomic<int64_t> tls_refused_plaintext{0};
  std::atomic<int64_t> tls_identity_mismatches{0};
  std::atomic<int64_t> client_connections{0};
  std::atomic<int64_t> connections_refused{0};
  std::atomic<int64_t> accept_failures{0};
  std::atomic<int64_t> idle_timeouts{0};
  std::atomic<int64_t> tunnels{0};
  std::atomic<int64_t> tunnel_bytes_to_upstream{0};
  std::atomic<int64_t> tunnel_bytes_to_client{0};
  RateLimitedWarning refused_warning;
  RateLimitedWarning accept_warning;
  RateLimitedWarning plaintext_warning;
  std::atomic<bool> stopping{false};
  bool stopped = false;
  int port = 0;
  std::vector<std::unique_ptr<Worker>> workers;
  ThreadCpuClocks io_cpu;  // the workers' threads, added as they start
  // Read once per new connection (not per request): a mutex is cheap enough there.
  mutable std::mutex tls_mu;
  std::shared_ptr<const TlsContexts> tls;
};

namespace {

// Over TLS this drains the raw bytes: the records are not read, only kept from resetting.
Task<void> Linger(TcpStream& client) {
  beast::error_code ec;
  client.socket().shutdown(tcp::socket::shutdown_send, ec);
  client.expires_after(kLingerTimeout);
  std::array<char, 4096> sink;
  for (size_t total = 0; total < kLingerBytes && !ec;) {
    total += co_await client.async_read_some(asio::buffer(sink), Redirect(ec));
  }
}

template <class Upstream>
Task<beast::error_code> ReadResponseHeader(Upstream& upstream,
                                                      beast::flat_buffer& buffer,
                                                      std::optional<ResponseParser>& parser,
                                                      bool head, SteadyTime deadline) {
  beast::error_code ec;
  // Interim 1xx answers (103 Early Hints, a stray 100) precede the real one: skip them. A 101
  // is final: the connection speaks another protocol after it.
  do {
    parser.emplace();
    parser->header_limit(kResponseHeaderLimit);
    parser->body_limit(std::numeric_limits<std::uint64_t>::max());
    parser->skip(head);
    beast::get_lowest_layer(upstream).expires_at(deadline);
    co_await http::async_read_header(upstream, buffer, *parser, Redirect(ec));
  } while (!ec && parser->get().result_int() / 100 == 1 && parser->get().result_int() != 101);
  co_return ec;
}

}  // namespace

Task<void> HttpProxy::Impl::Accept(Worker& w) {
  const int64_t limit = options.max_client_connections;
  for (;;) {
    beast::error_code ec;
    Socket socket = co_await w.acceptor.async_accept(Redirect(ec));
    if (ec) {
      if (!w.acceptor.is_open()) co_return;
      // Out of descriptors or similar: the connection stays in the backlog; pause, not spin.
      ++accept_failures;
      accept_warning.Note(options.warn, "cannot accept client connections on port " + std::to_string(port) +
                                            ": " + ec.message());
      Timer pause(w.ioc, kAcceptRetry);
      co_await pause.async_wait(Redirect(ec));
      continue;
    }
    // Over the limit, the connection is closed at once, as Envoy's overload manager does: the
    // descriptors left are for the upstream connections of the clients already served.
    const int64_t open = client_connections.fetch_add(1);
    if (limit > 0 && open >= limit) {
      --client_connections;
      ++connections_refused;
      refused_warning.Note(options.warn, "client connection limit " + std::to_string(limit) + " reached on port " +
                                             std::to_string(port) + ": new connections closed");
      continue;  // `socket` closes here
    }
    // Nothing may escape a session into the io_context: whatever it throws ends it here.
    asio::co_spawn(w.ioc, Session(w, std::move(socket), ClientSlot(client_connections)), [](std::exception_ptr) {});
  }
}

// The slot, a parameter, lives in the coroutine's frame: the connection counts until the end.
Task<void> HttpProxy::Impl::Session(Worker& w, Socket socket, ClientSlot) {
  beast::error_code ec;
  socket.set_option(tcp::no_delay(true), ec);
  socket.non_blocking(true, ec);  // for WriteNow
  const tcp::endpoint remote = socket.remote_endpoint(ec);
  const std::string client_ip = ec ? std::string() : remote.address().to_string();
  const std::shared_ptr<const TlsContexts> contexts =
      options.tls && options.direction == Direction::kInbound ? CurrentTls() : nullptr;
  beast::flat_buffer buffer;
  if (!contexts) {
    TcpStream client(std::move(socket));
    // HTTP/2 with prior knowledge starts with its preface; anything else is HTTP/1.x. Bytes are
    // read only while they still match the preface, so a short HTTP/1.0 request is not waited on.
    bool h2 = false;
    for (bool more = true; more;) {
      const std::string_view got(static_cast<const char*>(buffer.data().data()), buffer.size());
      const size_t n = std::min(got.size(), kHttp2Preface.size());
      if (got.substr(0, n) != kHttp2Preface.substr(0, n)) break;
      if (n == kHttp2Preface.size()) {
        h2 = true;
        break;
      }
      client.expires_after(kClientIdleTimeout);
      const size_t read = co_await client.async_read_some(buffer.prepare(kHttp2Preface.size() - n), Redirect(ec));
      buffer.commit(read);
      more = !ec;
    }
    // A client that ends (or fails) within the preface's first bytes sent no request of either
    // kind: closed without an answer.
    if (h2) {
      co_await ServeH2(w, client, client_ip, "", buffer);
    } else if (!ec) {
      co_await Serve(w, client, client_ip, "", buffer);
    }
    co_await Linger(client);
    co_return;
  }
  TlsStream client(std::move(socket), contexts->server);
  beast::get_lowest_layer(client).expires_after(kTlsHandshakeTimeout);
  co_await client.async_handshake(asio::ssl::stream_base::server, Redirect(ec));
  if (ec) {
    // No certificate, a foreign or expired one, or not TLS at all: refused before any request.
    ++handshake_failures;
    co_return;
  }
  const std::string peer = PeerService(client, contexts->trust_domain);
  if (AlpnIsH2(client.native_handle())) {
    co_await ServeH2(w, client, client_ip, peer, buffer);
  } else {
    co_await Serve(w, client, client_ip, peer, buffer);
  }
  co_await Linger(beast::get_lowest_layer(client));
}

template <class Client>
Task<void> HttpProxy::Impl::Serve(Worker& w, Client& client, const std::string& client_ip,
                                             const std::string& peer_service, beast::flat_buffer& buffer) {
  beast::error_code ec;
  HeadBuffers heads;
  for (bool keep_alive = true; keep_alive && !stopping.load();) {
    RequestParser parser;
    parser.header_limit(kRequestHeaderLimit);
    parser.body_limit(std::numeric_limits<std::uint64_t>::max());
    beast::get_lowest_layer(client).expires_after(kClientIdleTimeout);
    co_await http::async_read_header(client, buffer, parser, Redirect(ec));
    if (ec) {
      if (IsParseError(ec)) co_await RefuseMalformed(client, ec, client_ip);
      break;
    }
    keep_alive = co_await Handle(w, client, buffer, heads, parser, client_ip, peer_service);
  }
}

Task<void> HttpProxy::Impl::SweepIdle(Worker& w) {
  Timer timer(w.ioc);
  const auto timeout = options.upstream_idle_timeout;
  const auto every = std::clamp(timeout / 2, std::chrono::milliseconds(10), kIdleSweepEvery);
  for (;;) {
    timer.expires_after(every);
    beast::error_code ec;
    co_await timer.async_wait(Redirect(ec));
    if (ec || stopping.load()) co_return;
    const SteadyTime now = steady_clock::now();
    w.idle_plain.Sweep(now, timeout);
    w.idle_tls.Sweep(now, timeout);
  }
}

template <class Client>
Task<void> HttpProxy::Impl::RefuseMalformed(Client& client, const beast::error_code& ec,
                                                       const std::string& client_ip) {
  Exchange x;
  StartExchange(x, http::request_header<>(), client_ip);
  co_await AnswerError(client, x, http::status::bad_request, "bad request: " + ec.message(), false);
  Complete(x);
}

void HttpProxy::Impl::StartExchange(Exchange& x, const http::request_header<>& req,
                                    const std::string& client_ip) const {
  // Two traceparent headers are invalid (W3C test suite: test_traceparent_duplicated).
  const auto [first, last] = req.equal_range("traceparent");
  const bool one = first != last && std::next(first) == last;
  StartExchange(x, Sv(req["X-Request-ID"]), one ? Sv(first->value()) : std::string_view(),
                [&req] {
                  std::vector<std::string_view> lines;
                  const auto [state_first, state_last] = req.equal_range("tracestate");
                  for (auto it = state_first; it != state_last; ++it) lines.push_back(Sv(it->value()));
                  return lines;
                },
                client_ip);
}

// HTTP/2 headers come joined with ", ": two traceparent headers make one invalid value.
void HttpProxy::Impl::StartExchange(Exchange& x, const HttpRequest& req, const std::string& client_ip) const {
  StartExchange(x, req.Header("x-request-id"), req.Header("traceparent"),
                [&req] {
                  std::vector<std::string_view> lines;
                  if (const std::string& state = req.Header("tracestate"); !state.empty()) lines.push_back(state);
                  return lines;
                },
                client_ip);
}

template <class TraceStateLines>
void HttpProxy::Impl::StartExchange(Exchange& x, std::string_view request_id, std::string_view traceparent,
                                    TraceStateLines tracestate_lines, const std::string& client_ip) const {
  x.started = steady_clock::now();
  x.head_timeout = options.request_timeout;
  x.idle_timeout = options.stream_idle_timeout;
  x.deadline = x.started + x.head_timeout;
  ProxiedRequest& r = x.record;
  r.start_ns = SystemClock::Instance().NowNs();
  r.client_address = client_ip;
  IdGenerator& ids = IdGenerator::ThreadLocal();
  r.request_id = request_id.empty() ? ids.NewTraceId() : std::string(request_id);
  // Most requests come without one: not parsing "" spares building an error per request.
  if (Result<TraceParent> parent = traceparent.empty() ? Status::InvalidArgument("") : ParseTraceParent(traceparent);
      parent.ok()) {
    r.trace_id = parent->trace_id;
    r.parent_span_id = parent->span_id;
    r.sampled = parent->sampled;
    // The caller's tracestate goes on with its trace, unless the list is invalid.
    if (std::vector<std::string_view> lines = tracestate_lines(); !lines.empty()) {
      if (Result<std::string> state = CombineTraceState(lines); state.ok()) x.tracestate = std::move(state).value();
    }
  } else {
    // A trace this proxy starts is sampled: its request is recorded as a span.
    r.trace_id = ids.NewTraceId();
  }
  r.span_id = ids.NewSpanId();
}

template <class Client>
Task<bool> HttpProxy::Impl::Handle(Worker& w, Client& client, beast::flat_buffer& buffer,
                                   HeadBuffers& heads, RequestParser& parser,
                                   const std::string& client_ip, const std::string& peer_service) {
  InFlight counted(in_flight);
  http::request<http::buffer_body>& req = parser.get();
  Exchange x;
  x.heads = &heads;
  StartExchange(x, req, client_ip);
  x.record.client_service = peer_service;
  x.record.method = Sv(req.method_string());
  x.record.target = Sv(req.target());
  x.record.authority = Sv(req[http::field::host]);
  x.client_keep_alive = parser.keep_alive() && !stopping.load();
  x.client_http10 = req.version() < 11;
  x.head = req.method() == http::verb::head;
  x.has_body = parser.chunked() || parser.content_length().value_or(0) > 0;
  x.idempotent = IsIdempotent(req.method());
  // RFC 9110 §7.8: Upgrade means something only with a Connection header naming it; HTTP/1.0
  // has no Upgrade.
  if (!x.client_http10 && req.count(http::field::upgrade) > 0) {
    const auto [first, last] = req.equal_range(http::field::connection);
    for (auto it = first; it != last && !x.upgrade; ++it) x.upgrade = ListNames(Sv(it->value()), "upgrade");
  }

  const std::array<std::pair<const char*, std::chrono::nanoseconds*>, 2> overrides{
      {{"x-mesh-timeout", &x.head_timeout}, {"x-mesh-idle-timeout", &x.idle_timeout}}};
  for (const auto& [name, timeout] : overrides) {
    const std::string_view value = Sv(req[name]);
    if (value.empty()) continue;
    Result<int64_t> ns = ParseDuration(value);
    if (!ns.ok() || *ns <= 0) {
      x.client_keep_alive = false;
      const std::string why = ns.ok() ? "must be positive" : ns.status().message();
      const bool keep = co_await AnswerError(client, x, http::status::bad_request,
                                             "invalid " + std::string(name) + ": " + why, false);
      Complete(x);
      co_return keep;
    }
    *timeout = std::chrono::nanoseconds(*ns);
  }
  x.deadline = x.started + x.head_timeout;

  // RFC 9112 §6.3: a Transfer-Encoding that does not end in chunked leaves the body's length
  // unknowable. Forwarded without it (it is hop-by-hop), the body would be read as the next
  // request: a desync. Refuse and close.
  if (req.count(http::field::transfer_encoding) > 0 && !parser.chunked()) {
    x.client_keep_alive = false;
    const bool keep = co_await AnswerError(client, x, http::status::bad_request,
                                           "bad request: Transfer-Encoding must end in chunked", false);
    Complete(x);
    co_return keep;
  }

  // Inbound over mTLS, the caller's identity is known: the policy decides before anything
  // reaches the service. The body is not read, so the connection closes after the answer.
  if (options.authorize && options.tls && options.direction == Direction::kInbound) {
    PolicyDecision decision = options.authorize(peer_service, x.record.method, x.record.target);
    if (!decision.allowed) {
      x.record.denied = true;
      x.record.ambiguous_path = decision.ambiguous_path;
      const bool keep =
          co_await AnswerError(client, x, http::status::forbidden, std::move(decision.reason), parser.is_done());
      Complete(x);
      co_return keep;
    }
  }

  // The proxy answers 100-continue itself (and strips Expect) so that the upstream never sees
  // an interim answer it would have to relay.
  const bool expects_continue = beast::iequals(req[http::field::expect], "100-continue");
  if (expects_continue && !x.client_http10 && !parser.is_done()) {
    static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    beast::error_code ec;
    beast::get_lowest_layer(client).expires_after(kClientIdleTimeout);
    co_await asio::async_write(client, asio::buffer(kContinue), Redirect(ec));
    if (ec) co_return false;
  }

  const bool keep = co_await Forward(w, client, buffer, parser, x);
  Complete(x);
  co_return keep;
}

// The request line and headers toward the upstream: end-to-end headers as received, then ours.
// Always HTTP/1.1 and keep-alive; a chunked body is re-chunked, a Content-Length one kept.
void HttpProxy::Impl::WriteRequestHead(std::string& out, const RequestParser& parser,
                                       const Exchange& x, std::string_view default_host) const {
  const http::request<http::buffer_body>& req = parser.get();
  const bool chunked = parser.chunked();
  out.clear();
  out.append(Sv(req.method_string())).append(" ").append(Sv(req.target())).append(" HTTP/1.1\r\n");
  bool has_host = false;
  const HopByHop hop_by_hop(req);
  for (const auto& f : req) {
    if (hop_by_hop(f) || f.name() == http::field::expect ||
        (chunked && f.name() == http::field::content_length) || NameIs(f, "X-Request-ID") ||
        NameIs(f, "X-Forwarded-For") || NameIs(f, "X-Forwarded-Proto") || NameIs(f, "traceparent") ||
        NameIs(f, "tracestate") || NameIs(f, "x-mesh-timeout") || NameIs(f, "x-mesh-idle-timeout")) {
      continue;
    }
    has_host = has_host || f.name() == http::field::host;
    AppendField(out, Sv(f.name_string()), Sv(f.value()));
  }
  // An HTTP/1.0 request may come without Host; the HTTP/1.1 one we send may not.
  if (!has_host) AppendField(out, "Host", default_host);
  AppendField(out, "X-Request-ID", x.record.request_id);
  out.append("X-Forwarded-For: ");
  const auto [first, last] = req.equal_range("X-Forwarded-For");
  for (auto it = first; it != last; ++it) out.append(Sv(it->value())).append(", ");
  out.append(x.record.client_address).append("\r\n");
  AppendField(out, "X-Forwarded-Proto", "http");
  out.append("traceparent: ");
  AppendTraceParent(out, x.record.trace_id, x.record.span_id, x.record.sampled);
  out.append("\r\n");
  if (!x.tracestate.empty()) AppendField(out, "tracestate", x.tracestate);
  if (x.upgrade) {
    const auto [first, last] = req.equal_range(http::field::upgrade);
    for (auto it = first; it != last; ++it) AppendField(out, "Upgrade", Sv(it->value()));
    out.append("Connection: Upgrade\r\n");
  }
  if (chunked) out.append("Transfer-Encoding: chunked\r\n");
  out.append("\r\n");
}

template <class Client>
Task<bool> HttpProxy::Impl::Forward(Worker& w, Client& client, beast::flat_buffer& buffer,
                                               RequestParser& parser, Exchange& x) {
  const std::string_view service = options.direction == Direction::kOutbound
                                       ? HostName(x.record.authority)
                                       : std::string_view(options.service);
  for (int attempt = 0;; ++attempt) {
    Result<Endpoint> picked = options.upstreams->Pick(service, attempt);
    if (!picked.ok() && attempt == 0) {
      // A service asked for the first time: wait for discovery's first answer, on a timer (the
      // I/O thread serves others meanwhile), up to the connect timeout, rather than answer 503.
      // Then pick again, always: the answer may have come between the Pick and Resolving().
      const SteadyTime resolve_until = std::min(steady_clock::now() + options.connect_timeout, x.deadline);
      while (options.upstreams->Resolving(service) && steady_clock::now() < resolve_until) {
        Timer poll(w.ioc, kDiscoveryPoll);
        beast::error_code ec;
        co_await poll.async_wait(Redirect(ec));
      }
      picked = options.upstreams->Pick(service, attempt);
    }
    // An mTLS proxy never sends a request in plaintext to another mesh instance, whatever the
    // registry says of it (an entry without "mtls" may be forged, or left by a sidecar that
    // lost its mTLS): such an endpoint is refused, counted, reported failed to the selector
    // (the balancer and outlier detection steer away from it) and another one is picked, a few
    // times at most and without using up an attempt.
    std::string plaintext_refused;
    for (int skipped = 0; picked.ok() && options.tls && options.direction == Direction::kOutbound && !picked->tls;
         ++skipped) {
      ++tls_refused_plaintext;
      plaintext_refused = "refused to send to " + InstanceName(*picked) + " of service " + std::string(service) +
                          " in plaintext: the registry does not mark it mTLS, and this proxy calls mesh instances "
                          "only over mTLS";
      plaintext_warning.Note(options.warn, plaintext_refused);
      options.upstreams->Started(*picked);
      options.upstreams->Report(*picked, AttemptOutcome::kConnectFailure, 0);
      if (skipped + 1 >= kMaxPlaintextSkips) break;
      picked = options.upstreams->Pick(service, attempt);
    }
    if (!plaintext_refused.empty() && (!picked.ok() || !picked->tls)) {
      co_return co_await AnswerError(client, x, http::status::bad_gateway, std::move(plaintext_refused),
                                     parser.is_done());
    }
    if (!picked.ok()) {
      co_return co_await AnswerError(client, x, http::status::service_unavailable,
                                     "no upstream available: " + picked.status().message(),
                                     parser.is_done());
    }
    const Endpoint endpoint = *picked;
    x.record.attempts = attempt + 1;
    x.record.upstream = endpoint;
    const std::string key = endpoint.host + ':' + std::to_string(endpoint.port);
    const std::shared_ptr<EndpointCounts> counts = Counts(w, key);
    // Fail fast: beyond the limit the answer comes at once, and is not retried elsewhere, since
    // retries would only add to an overload.
    RequestSlot in_progress = counts->TryStartRequest();
    if (!in_progress) {
      ++overflow_requests;
      co_return co_await AnswerError(client, x, http::status::service_unavailable,
                                     "upstream overflow: " + std::to_string(options.max_upstream_requests) +
                                         " requests in progress to " + key + " (the limit)",
                                     parser.is_done());
    }
    // Two statements, not a conditional expression: GCC 12 miscompiles co_await inside ?:.
    Attempt a;
    if (endpoint.tls && options.tls) {
      a = co_await Try<Client, TlsStream>(w, client, buffer, parser, x, attempt, endpoint, key, *counts, service);
    } else {
      a = co_await Try<Client, TcpStream>(w, client, buffer, parser, x, attempt, endpoint, key, *counts, service);
    }
    if (a.started) {
      options.upstreams->Report(endpoint, a.outcome,
                                std::chrono::nanoseconds(steady_clock::now() - a.started_at).count());
    }
    if (a.retry_after) {
      in_progress = RequestSlot();  // not in progress while it waits to go again
      Timer pause(w.ioc, *a.retry_after);
      beast::error_code ec;
      co_await pause.async_wait(Redirect(ec));
      continue;
    }
    if (a.answered) co_return a.keep_alive;
    co_return co_await AnswerError(client, x, a.status, a.error, parser.is_done());
  }
}

Task<beast::error_code> HttpProxy::Impl::Connect(TcpStream& upstream,
                                                            const Endpoint& endpoint,
                                                            SteadyTime deadline) {
  beast::error_code ec;
  const asio::ip::address address = asio::ip::make_address(endpoint.host, ec);
  if (ec) co_return ec;
  if (endpoint.port <= 0 || endpoint.port > 65535) {
    co_return asio::error::make_error_code(asio::error::invalid_argument);
  }
  upstream.expires_at(std::min(steady_clock::now() + options.connect_timeout, deadline));
  co_await upstream.async_connect(
      tcp::endpoint(address, static_cast<unsigned short>(endpoint.port)), Redirect(ec));
  if (!ec) {
    beast::error_code ignored;
    upstream.socket().set_option(tcp::no_delay(true), ignored);
    upstream.socket().non_blocking(true, ignored);  // for WriteNow
  }
  co_return ec;
}

Task<beast::error_code> HttpProxy::Impl::Open(Worker&, TcpStream& upstream,
                                                         const Endpoint& endpoint, SteadyTime deadline,
                                                         std::string_view, std::string& error) {
  if (endpoint.tls) {
    // Its proxy takes only mTLS: plaintext would be cut at the handshake with a vaguer error.
    error = "it accepts only mTLS (start this meshproxy with --mtls)";
    co_return asio::error::make_error_code(asio::error::operation_not_supported);
  }
  co_return co_await Connect(upstream, endpoint, deadline);
}

Task<beast::error_code> HttpProxy::Impl::Open(Worker& w, TlsStream& upstream,
                                                         const Endpoint& endpoint, SteadyTime deadline,
                                                         std::string_view service, std::string& error) {
  beast::error_code ec = co_await Connect(beast::get_lowest_layer(upstream), endpoint, deadline);
  if (ec) co_return ec;
  const std::string key = SessionKey(endpoint.host + ':' + std::to_string(endpoint.port), service);
  if (auto it = w.tls_sessions.find(key); it != w.tls_sessions.end()) {
    SSL_set_session(upstream.native_handle(), it->second.copy.get());
  }
  beast::get_lowest_layer(upstream).expires_at(std::min(steady_clock::now() + kTlsHandshakeTimeout, deadline));
  co_await upstream.async_handshake(asio::ssl::stream_base::client, Redirect(ec));
  if (ec) {
    w.tls_sessions.erase(key);
    error = "TLS handshake failed: " + ec.message();
    co_return ec;
  }
  const std::shared_ptr<const TlsContexts> contexts = CurrentTls();
  const std::string peer = PeerService(upstream, contexts->trust_domain);
  if (peer != service) {
    ++tls_identity_mismatches;
    w.tls_sessions.erase(key);
    error = "its certificate names " + (peer.empty() ? std::string("no service of this mesh") : "service " + peer) +
            ", not " + std::string(service);
    co_return asio::error::make_error_code(asio::error::access_denied);
  }
  co_return ec;
}

// While requests wait for a connection to the endpoint, a finished one is closed instead: its
// slot goes to the first of them, on whichever thread it waits.
void HttpProxy::Impl::Idle(Worker& w, const std::string& key, std::string_view identity,
                           std::unique_ptr<TcpStream> upstream, ConnectionSlot slot,
                           const EndpointCounts& counts) const {
  if (counts.pending() > 0) return;
  upstream->expires_never();
  w.idle_plain.Put(key, identity, std::move(upstream), std::move(slot), steady_clock::now());
}

// The session is taken now rather than after the handshake: TLS 1.3 tickets arrive with the
// first answer, and only then is the session resumable.
void HttpProxy::Impl::Idle(Worker& w, const std::string& key, std::string_view identity,
                           std::unique_ptr<TlsStream> upstream, ConnectionSlot slot,
                           const EndpointCounts& counts) const {
  const SSL_SESSION* session = SSL_get0_session(upstream->native_handle());
  if (session != nullptr && SSL_SESSION_is_resumable(session)) {
    StoredSession& stored = w.tls_sessions[SessionKey(key, identity)];
    if (stored.source != session) {
      if (SSL_SESSION* copy = SSL_SESSION_dup(session); copy != nullptr) {
        stored.copy.reset(copy);
        stored.source = session;
      }
    }
  }
  if (counts.pending() > 0) return;
  beast::get_lowest_layer(*upstream).expires_never();
  w.idle_tls.Put(key, identity, std::move(upstream), std::move(slot), steady_clock::now());
}

Task<ConnectionSlot> HttpProxy::Impl::ReserveConnection(Worker& w, EndpointCounts& counts, const std::string& key,
                                                        SteadyTime deadline, bool& queue_full) {
  if (ConnectionSlot slot = counts.TryOpenConnection()) co_return slot;
  auto timer = std::make_shared<Timer>(w.ioc, deadline);
  // Called on the thread that gave the slot back: the wait ends on ours.
  PendingConnection pending =
      counts.WaitForConnection([&ioc = w.ioc, weak = std::weak_ptr<Timer>(timer)] {
        asio::post(ioc, [weak] {
          if (const std::shared_ptr<Timer> t = weak.lock()) t->cancel();
        });
      });
  if (!pending.queued()) {
    queue_full = true;
    co_return ConnectionSlot();
  }
  ShedIdle(w, key);
  if (!pending.granted()) {
    beast::error_code ec;
    co_await timer->async_wait(Redirect(ec));
  }
  co_return pending.Take();
}

void HttpProxy::Impl::ShedIdle(Worker& w, const std::string& key) {
  for (const auto& other : workers) {
    if (other.get() == &w) continue;
    asio::post(other->ioc, [&o = *other, key] {
      o.idle_plain.CloseOldest(key);
      o.idle_tls.CloseOldest(key);
    });
  }
}

std::shared_ptr<EndpointCounts> HttpProxy::Impl::Counts(Worker& w, const std::string& key) {
  if (auto it = w.counts.find(key); it != w.counts.end()) return it->second;
  if (w.counts.size() >= UpstreamLimits::kKeptEndpoints) w.counts.clear();
  return w.counts.emplace(key, limits.For(key)).first->second;
}

template <class Client, class Upstream>
Task<Attempt> HttpProxy::Impl::Try(Worker& w, Client& client, beast::flat_buffer& buffer,
                                              RequestParser& parser, Exchange& x, int attempt,
                                              const Endpoint& endpoint, const std::string& key,
                                              EndpointCounts& counts, std::string_view service) {
  Attempt a;
  // Bodies stream under the idle timeout both ways; the head is awaited under x.deadline.
  const Expiry to_upstream{.deadline = std::nullopt, .idle = x.idle_timeout};
  const Expiry to_client{.deadline = std::nullopt, .idle = x.idle_timeout};
  const bool replayable = x.idempotent && !x.has_body;
  IdlePool<Upstream>& pool = Pool(w, std::type_identity<Upstream>());
  const std::string_view identity = IdentityOf(std::type_identity<Upstream>(), service);
  typename IdlePool<Upstream>::Taken pooled =
      pool.Take(key, identity, steady_clock::now(), options.upstream_idle_timeout, !replayable);
  // Whichever connection carries the request holds this slot; a stale pooled one hands it on.
  ConnectionSlot slot = std::move(pooled.slot);
  if (!pooled.stream) {
    bool queue_full = false;
    slot = co_await ReserveConnection(w, counts, key, x.deadline, queue_full);
    if (!slot) {
      a.status = http::status::service_unavailable;
      const std::string open = std::to_string(options.max_upstream_connections);
      if (queue_full) {
        ++overflow_pending;
        a.error = "upstream overflow: " + open + " connections open to " + key + " and " +
                  std::to_string(options.max_upstream_pending) + " requests waiting for one (the limits)";
      } else {
        ++overflow_connections;
        a.error = "upstream overflow: no connection to " + key + " (" + open + " open, the limit) freed in time";
      }
      co_return a;
    }
  }
  options.upstreams->Started(endpoint);
  a.started = true;
  a.started_at = steady_clock::now();
  std::unique_ptr<Upstream> upstream;
  beast::flat_buffer upstream_buffer;
  std::optional<ResponseParser> rp;
  beast::error_code ec;
  std::string open_error;
  Stage stage = Stage::kConnect;
  bool client_gone = false;
  // A pooled connection may have been closed by the upstream a moment ago. When that shows
  // before anything of the client's is consumed (no body) and before any answer, the request
  // goes again on a fresh connection: always when the write failed, and for an idempotent
  // method when the connection ended unanswered.
  for (bool reused = pooled.stream != nullptr;; reused = false) {
    upstream = reused ? std::move(pooled.stream) : NewUpstream(w, std::type_identity<Upstream>());
    stage = Stage::kConnect;
    if (!reused) {
      ec = co_await Open(w, *upstream, endpoint, x.deadline, service, open_error);
      if (ec) break;
    }
    stage = Stage::kSend;
    WriteRequestHead(x.heads->request, parser, x, key);
    const RelayResult sent =
        co_await RelayMessage(client, buffer, to_client, parser, *upstream, to_upstream, x.heads->request,
                              parser.chunked(), w.chunks, x.record.request_bytes);
    if (sent.failure == RelayFailure::kRead) {
      // The client stopped sending its body: nobody to answer, and the upstream is not to
      // blame.
      if (sent.ec == beast::error::timeout) ++idle_timeouts;
      x.record.error = "client request body: " + sent.ec.message();
      a.answered = true;
      co_return a;
    }
    ec = sent.ec;
    // The head timeout does not count the time a body took to stream: it starts again.
    if (!ec && x.has_body) x.deadline = std::max(x.deadline, steady_clock::now() + x.head_timeout);
    if (!ec) {
      stage = Stage::kReceive;
      ClientWatch watch(beast::get_lowest_layer(client).socket(),
                        [u = upstream.get()] { beast::get_lowest_layer(*u).close(); });
      ec = co_await ReadResponseHeader(*upstream, upstream_buffer, rp, x.head, x.deadline);
      client_gone = watch.client_gone();
    }
    // A TLS peer that closed without close_notify reads as a truncated stream.
    const bool stale =
        reused && !x.has_body && ec && ec != beast::error::timeout && !client_gone &&
        (stage == Stage::kSend ||
         (x.idempotent && (ec == http::error::end_of_stream || ec == asio::error::connection_reset ||
                           ec == asio::ssl::error::stream_truncated)));
    if (!stale) break;
    upstream.reset();
    upstream_buffer.clear();
    pool.DropClosed(key);
  }

  if (client_gone) {
    // The upstream connection is closed already: the upstream sees the request abandoned. Not
    // the upstream's fault: reported as a success, with its time so far.
    ++abandoned;
    x.record.status = 499;
    x.record.error = "client went away before the upstream answered: upstream connection closed";
    a.answered = true;
    co_return a;
  }
  if (ec) {
    const std::string where = endpoint.host + ":" + std::to_string(endpoint.port);
    if (ec == beast::error::timeout && steady_clock::now() >= x.deadline) {
      a.outcome = AttemptOutcome::kTimeout;
      a.status = http::status::gateway_timeout;
      a.error = "upstream " + where + " did not answer in time";
      co_return a;
    }
    if (stage == Stage::kConnect) {
      a.outcome = AttemptOutcome::kConnectFailure;
      a.error = "cannot connect to upstream " + where + ": " + (open_error.empty() ? ec.message() : open_error);
      a.retry_after = RetryDelay(w, attempt, x);
      co_return a;
    }
    if (stage == Stage::kReceive && IsParseError(ec)) {
      a.outcome = AttemptOutcome::kReset;
      a.error = "invalid response from upstream " + where + ": " + ec.message();
      co_return a;
    }
    a.outcome = AttemptOutcome::kConnectFailure;
    a.error = "upstream " + where + " closed the connection: " + ec.message();
    if (replayable) a.retry_after = RetryDelay(w, attempt, x);
    co_return a;
  }

  const http::response<http::buffer_body>& res = rp->get();
  const unsigned code = res.result_int();
  if (code == 101) {
    if (!x.upgrade) {
      a.outcome = AttemptOutcome::kReset;
      a.error = "invalid response from upstream " + endpoint.host + ":" + std::to_string(endpoint.port) +
                ": 101 Switching Protocols to a request that asked for no upgrade";
      co_return a;
    }
    // The handshake is the request: recorded now, and reported to the selector with its time,
    // before the tunnel, which may last hours.
    x.record.status = 101;
    a.answered = true;
    options.upstreams->Report(endpoint, AttemptOutcome::kSuccess,
                              std::chrono::nanoseconds(steady_clock::now() - a.started_at).count());
    a.started = false;
    WriteSwitchHead(x.heads->response, *rp, x);
    std::array<asio::const_buffer, 1> head{asio::buffer(x.heads->response)};
    if (const beast::error_code written = co_await Write(client, to_client, head); written) {
      x.record.error = "client went away: " + written.message();
      co_return a;
    }
    Complete(x);
    co_await Tunnel(w, client, buffer, *upstream, upstream_buffer, x.idle_timeout);
    co_return a;
  }
  if ((code == 502 || code == 503 || code == 504) && replayable) {
    a.retry_after = RetryDelay(w, attempt, x);
    if (a.retry_after) {
      a.outcome = AttemptOutcome::kServerError;
      co_return a;
    }
  }

  x.record.status = static_cast<int>(code);
  a.answered = true;
  a.outcome = code >= 500 ? AttemptOutcome::kServerError : AttemptOutcome::kSuccess;
  const bool upstream_keep_alive = rp->keep_alive();
  const ResponseFraming framing = WriteResponseHead(x.heads->response, *rp, x);
  const RelayResult relayed =
      co_await RelayMessage(*upstream, upstream_buffer, to_upstream, *rp, client, to_client, x.heads->response,
                            framing.chunked, w.chunks, x.record.response_bytes);
  if (relayed.failure == RelayFailure::kRead) {
    if (relayed.ec == beast::error::timeout) {
      ++idle_timeouts;
      a.outcome = AttemptOutcome::kTimeout;
      x.record.error = "upstream response body: nothing for the stream idle timeout (" +
                       std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(x.idle_timeout).count()) +
                       " ms): stream cut";
    } else {
      a.outcome = AttemptOutcome::kReset;
      x.record.error = "upstream response body: " + relayed.ec.message();
    }
    co_return a;
  }
  if (relayed.failure == RelayFailure::kWrite) {
    x.record.error = "client went away: " + relayed.ec.message();
    co_return a;
  }
  a.keep_alive = framing.keep_alive;
  if (upstream_keep_alive) {
    // Bytes read past the end of the answer belong to no request: the connection goes with them.
    if (upstream_buffer.size() == 0) {
      Idle(w, key, identity, std::move(upstream), std::move(slot), counts);
    } else {
      ++stray_bytes;
    }
  }
  co_return a;
}

namespace {

// What the two directions of a tunnel share (on one thread): when a byte last crossed, and how
// many directions still run.
struct TunnelState {
  SteadyTime last_activity = steady_clock::now();
  int running = 2;
};

template <class Stream>
void CloseStream(Stream& s) {
  beast::error_code ignored;
  beast::get_lowest_layer(s).socket().close(ignored);
}

// One direction of a tunnel: what `from` sent already (`pending`), then everything it sends,
// written to `to`. When `from` ends cleanly, `to` is told so: a plaintext `to` is half-closed
// (its peer may still answer), a TLS one closed (Asio has no TLS half-close); on an error both
// close. `bytes` counts what was written.
template <class From, class To>
Task<void> Pump(From& from, To& to, beast::flat_buffer& pending, TunnelState& state, ChunkPool& chunks,
                std::atomic<int64_t>& bytes) {
  beast::error_code ec;
  if (pending.size() > 0) {
    const size_t n = pending.size();
    co_await asio::async_write(to, pending.data(), Redirect(ec));
    pending.consume(n);
    if (!ec) bytes += static_cast<int64_t>(n);
  }
  BorrowedChunk chunk(chunks);
  while (!ec) {
    const size_t n = co_await from.async_read_some(asio::buffer(chunk.get(), kRelayChunk), Redirect(ec));
    if (ec) break;
    state.last_activity = steady_clock::now();
    co_await asio::async_write(to, asio::buffer(chunk.get(), n), Redirect(ec));
    if (ec) break;
    state.last_activity = steady_clock::now();
    bytes += static_cast<int64_t>(n);
  }
  const bool ended = ec == asio::error::eof || ec == asio::ssl::error::stream_truncated;
  if (ended && std::is_same_v<To, TcpStream>) {
    beast::error_code ignored;
    beast::get_lowest_layer(to).socket().shutdown(tcp::socket::shutdown_send, ignored);
  } else {
    CloseStream(from);
    CloseStream(to);
  }
}

}  // namespace

template <class Client, class Upstream>
Task<void> HttpProxy::Impl::Tunnel(Worker& w, Client& client, beast::flat_buffer& client_buffer, Upstream& upstream,
                                   beast::flat_buffer& upstream_buffer, std::chrono::nanoseconds idle) {
  ++tunnels;
  // Silence is watched here, over both directions at once: a stream's own timeout would cut a
  // healthy tunnel whose traffic goes one way only.
  beast::get_lowest_layer(client).expires_never();
  beast::get_lowest_layer(upstream).expires_never();
  TunnelState state;
  Timer watchdog(w.ioc);
  const auto done = [&state, &watchdog](std::exception_ptr) {
    if (--state.running == 0) watchdog.cancel();
  };
  asio::co_spawn(w.ioc, Pump(client, upstream, client_buffer, state, w.chunks, tunnel_bytes_to_upstream), done);
  asio::co_spawn(w.ioc, Pump(upstream, client, upstream_buffer, state, w.chunks, tunnel_bytes_to_client), done);
  // Both directions refer to this frame: it waits for them to end, however they end.
  bool closed = false;
  while (state.running > 0) {
    watchdog.expires_at(closed ? SteadyTime::max() : state.last_activity + idle);
    beast::error_code ec;
    co_await watchdog.async_wait(Redirect(ec));
    if (!closed && state.running > 0 && steady_clock::now() >= state.last_activity + idle) {
      ++idle_timeouts;
      closed = true;
      CloseStream(client);
      CloseStream(upstream);
    }
  }
}

// The status line and headers toward the client: the upstream's status and end-to-end headers,
// then ours. A body of unknown length is re-chunked, or ends the connection for an HTTP/1.0
// client, which cannot read chunks.
ResponseFraming HttpProxy::Impl::WriteResponseHead(std::string& out, const ResponseParser& parser,
                                                   const Exchange& x) const {
  const http::response<http::buffer_body>& res = parser.get();
  // A proxy that started draining while the upstream answered closes the connection after this
  // answer: it says so.
  ResponseFraming framing{.keep_alive = x.client_keep_alive && !stopping.load()};
  if (!parser.is_done() && !parser.content_length()) {
    if (x.client_http10) {
      framing.keep_alive = false;
    } else {
      framing.chunked = true;
    }
  }
  out.clear();
  const std::string_view reason = Sv(res.reason());
  AppendStatusLine(out, res.result_int(), reason.empty() ? Sv(http::obsolete_reason(res.result())) : reason);
  const HopByHop hop_by_hop(res);
  for (const auto& f : res) {
    if (hop_by_hop(f) || NameIs(f, "X-Service-Name") || NameIs(f, "X-Proxy-Version") || NameIs(f, "X-Trace-ID")) {
      continue;
    }
    AppendField(out, Sv(f.name_string()), Sv(f.value()));
  }
  if (framing.chunked) out.append("Transfer-Encoding: chunked\r\n");
  AppendOwnHeaders(out, x, framing.keep_alive);
  return framing;
}

// The 101 toward the client: the upstream's end-to-end headers, its Upgrade, Connection: Upgrade
// and ours; no body follows, the other protocol does.
void HttpProxy::Impl::WriteSwitchHead(std::string& out, const ResponseParser& parser, const Exchange& x) const {
  const http::response<http::buffer_body>& res = parser.get();
  out.clear();
  const std::string_view reason = Sv(res.reason());
  AppendStatusLine(out, 101, reason.empty() ? std::string_view("Switching Protocols") : reason);
  const HopByHop hop_by_hop(res);
  for (const auto& f : res) {
    if (hop_by_hop(f) || NameIs(f, "X-Service-Name") || NameIs(f, "X-Proxy-Version") || NameIs(f, "X-Trace-ID")) {
      continue;
    }
    AppendField(out, Sv(f.name_string()), Sv(f.value()));
  }
  const auto [first, last] = res.equal_range(http::field::upgrade);
  for (auto it = first; it != last; ++it) AppendField(out, "Upgrade", Sv(it->value()));
  out.append("Connection: Upgrade\r\n");
  AppendField(out, "X-Service-Name", options.service);
  AppendField(out, "X-Proxy-Version", MESH_VERSION);
  AppendField(out, "X-Trace-ID", x.record.trace_id);
  out.append("\r\n");
}

// What ends every head toward the client: our headers, Connection when the default is not
// meant (without it HTTP/1.1 means keep-alive and HTTP/1.0 close), and the blank line.
void HttpProxy::Impl::AppendOwnHeaders(std::string& out, const Exchange& x, bool keep_alive) const {
  AppendField(out, "X-Service-Name", options.service);
  AppendField(out, "X-Proxy-Version", MESH_VERSION);
  AppendField(out, "X-Trace-ID", x.record.trace_id);
  if (!keep_alive) {
    out.append("Connection: close\r\n");
  } else if (x.client_http10) {
    out.append("Connection: keep-alive\r\n");
  }
  out.append("\r\n");
}

template <class Client>
Task<bool> HttpProxy::Impl::AnswerError(Client& client, Exchange& x, http::status status,
                                                   std::string error, bool body_consumed) {
  x.record.status = static_cast<int>(status);
  const std::string body = ErrorJson(error, options.service, x.record.request_id);
  x.record.error = std::move(error);
  // Unread request body bytes would be taken for the next request: close instead.
  const bool keep_alive = x.client_keep_alive && body_consumed && !stopping.load();
  std::string head;
  AppendStatusLine(head, static_cast<unsigned>(status), Sv(http::obsolete_reason(status)));
  AppendField(head, "Content-Type", "application/json");
  AppendField(head, "Content-Length", std::to_string(body.size()));
  AppendOwnHeaders(head, x, keep_alive);
  std::array<asio::const_buffer, 2> pieces{asio::buffer(head), asio::buffer(body)};
  // A HEAD answer announces the body's length without the body.
  const beast::error_code ec = co_await Write(client, Expiry{}, std::span(pieces.data(), x.head ? 1 : 2));
  if (!x.head) x.record.response_bytes += body.size();
  co_return keep_alive && !ec;
}

std::optional<std::chrono::milliseconds> HttpProxy::Impl::RetryDelay(Worker& w, int attempt,
                                                                     const Exchange& x) const {
  if (attempt + 1 >= options.max_attempts || !options.may_retry) return std::nullopt;
  const auto ceiling = std::min(kBackoffCap, kBackoffBase * (1 << std::min(attempt, 4)));
  // Half fixed, half random: spread retries out without ever retrying at once.
  std::uniform_int_distribution<int64_t> jitter(ceiling.count() / 2, ceiling.count());
  const std::chrono::milliseconds delay(jitter(w.rng));
  if (steady_clock::now() + delay >= x.deadline) return std::nullopt;
  // Asked last: a yes spends the retry budget.
  if (!options.may_retry()) return std::nullopt;
  return delay;
}

// The exchange ends here: its record is handed over, not copied.
void HttpProxy::Impl::Complete(Exchange& x) const {
  if (std::exchange(x.completed, true)) return;
  x.record.duration_ns = std::chrono::nanoseconds(steady_clock::now() - x.started).count();
  if (options.on_complete) options.on_complete(std::move(x.record));
}

// ---- HTTP/2 ----
// A client connection's HTTP/2 side: the reader feeds the session, this coroutine writes what it
// has to send and sleeps on `wake` otherwise; each request runs in HandleH2. Idle (no stream)
// for kClientIdleTimeout, the connection ends with a GOAWAY.
template <class Client>
Task<void> HttpProxy::Impl::ServeH2(Worker& w, Client& client, const std::string& client_ip,
                                    const std::string& peer_service, beast::flat_buffer& buffer) {
  auto conn = std::make_shared<H2Client>(w.ioc);
  Result<std::unique_ptr<Http2ServerSession>> made = Http2ServerSession::Create(
      {}, [this, &w, weak = std::weak_ptr<H2Client>(conn), client_ip, peer_service](
              int32_t id, HttpRequest request, bool too_large,
              std::optional<int64_t> /*grpc deadline: HandleH2 reads grpc-timeout as the head timeout*/) {
        // Started by post: never inside the session's own Receive.
        asio::co_spawn(w.ioc,
                       HandleH2(w, weak.lock(), id, std::move(request), too_large, client_ip, peer_service),
                       [](std::exception_ptr) {});
      });
  if (!made.ok()) co_return;
  conn->session = std::move(made).value();
  conn->session->OnCancel([raw = conn.get()](int32_t id) {
    if (auto it = raw->cancels.find(id); it != raw->cancels.end()) it->second();
  });
  beast::get_lowest_layer(client).expires_never();
  asio::co_spawn(w.ioc, ReadH2(client, conn, buffer), [](std::exception_ptr) {});
  beast::error_code ec;
  while (!conn->closed) {
    const std::string out = conn->session->TakeOutput();
    if (!out.empty()) {
      co_await asio::async_write(client, asio::buffer(out), Redirect(ec));
      if (ec) break;
      continue;
    }
    if (!conn->session->WantsIo() || stopping.load()) break;
    const bool idle = conn->cancels.empty();
    conn->wake.expires_after(idle ? std::chrono::nanoseconds(kClientIdleTimeout) : std::chrono::hours(24 * 365));
    co_await conn->wake.async_wait(Redirect(ec));
    if (!ec && idle && conn->cancels.empty()) conn->session->Shutdown();
  }
  if (!conn->closed && stopping.load()) {
    conn->session->Shutdown();
    const std::string goaway = conn->session->TakeOutput();
    co_await asio::async_write(client, asio::buffer(goaway), Redirect(ec));
  }
  conn->closed = true;
  beast::get_lowest_layer(client).socket().shutdown(tcp::socket::shutdown_receive, ec);
  beast::get_lowest_layer(client).cancel();
  // The reader uses the stream: it must be done before the stream goes.
  for (int i = 0; i < 100 && !conn->reader_done; ++i) {
    conn->wake.expires_after(std::chrono::milliseconds(10));
    co_await conn->wake.async_wait(Redirect(ec));
  }
}

template <class Client>
Task<void> HttpProxy::Impl::ReadH2(Client& client, std::shared_ptr<H2Client> conn, beast::flat_buffer& buffer) {
  beast::error_code ec;
  std::array<char, 16384> chunk;
  if (buffer.size() > 0) {
    const Status fed =
        conn->session->Receive({static_cast<const char*>(buffer.data().data()), buffer.size()});
    buffer.consume(buffer.size());
    if (!fed.ok()) conn->closed = true;
  }
  while (!conn->closed) {
    conn->wake.cancel();
    const size_t n = co_await client.async_read_some(asio::buffer(chunk), Redirect(ec));
    if (ec || conn->closed || !conn->session->Receive({chunk.data(), n}).ok()) break;
  }
  conn->closed = conn->closed || ec.failed();
  conn->reader_done = true;
  conn->wake.cancel();
}

std::vector<std::pair<std::string, std::string>> HttpProxy::Impl::OwnH2Headers(const Exchange& x) const {
  return {{"x-service-name", options.service}, {"x-proxy-version", MESH_VERSION}, {"x-trace-id", x.record.trace_id}};
}

void HttpProxy::Impl::AnswerH2(H2Client& conn, int32_t stream_id, Exchange& x, int status, std::string error) const {
  x.record.status = status;
  Http2Response response;
  response.status = status;
  response.headers = OwnH2Headers(x);
  response.headers.emplace_back("content-type", "application/json");
  response.body = ErrorJson(error, options.service, x.record.request_id);
  x.record.response_bytes += response.body.size();
  x.record.error = std::move(error);
  conn.session->Respond(stream_id, std::move(response));
  conn.wake.cancel();
}

Task<void> HttpProxy::Impl::HandleH2(Worker& w, std::shared_ptr<H2Client> conn, int32_t stream_id,
                                     HttpRequest request, bool too_large, std::string client_ip,
                                     std::string peer_service) {
  if (!conn || conn->closed) co_return;
  InFlight counted(in_flight);
  // The client may reset the stream while we wait: `cancelled` then says so and `on_cancel`
  // ends the wait of the attempt in progress.
  bool cancelled = false;
  std::function<void()> on_cancel;
  conn->cancels[stream_id] = [&cancelled, &on_cancel] {
    cancelled = true;
    if (on_cancel) on_cancel();
  };
  struct Forget {
    H2Client& c;
    int32_t id;
    ~Forget() { c.cancels.erase(id); }
  } forget{*conn, stream_id};

  Exchange x;
  StartExchange(x, request, client_ip);
  x.record.client_service = peer_service;
  x.record.method = request.method;
  x.record.target = request.Header(":path");
  x.record.authority = request.Header("host");
  x.record.request_bytes = request.body.size();
  const auto finish = [&](int status, std::string error) {
    AnswerH2(*conn, stream_id, x, status, std::move(error));
    Complete(x);
  };
  if (too_large) co_return finish(413, "request body too large for HTTP/2 relay");
  // gRPC's deadline is the head timeout (an x-mesh-timeout given too wins).
  if (const std::string& grpc_timeout = request.Header("grpc-timeout"); !grpc_timeout.empty()) {
    if (std::optional<int64_t> ns = ParseGrpcTimeout(grpc_timeout); ns && *ns > 0) {
      x.head_timeout = std::chrono::nanoseconds(*ns);
    }
  }
  for (const auto& [name, timeout] : {std::pair{"x-mesh-timeout", &x.head_timeout},
                                      std::pair{"x-mesh-idle-timeout", &x.idle_timeout}}) {
    const std::string& value = request.Header(name);
    if (value.empty()) continue;
    Result<int64_t> ns = ParseDuration(value);
    if (!ns.ok() || *ns <= 0) {
      co_return finish(400, "invalid " + std::string(name) + ": " +
                                (ns.ok() ? std::string("must be positive") : ns.status().message()));
    }
    *timeout = std::chrono::nanoseconds(*ns);
  }
  x.deadline = x.started + x.head_timeout;
  if (options.authorize && options.tls && options.direction == Direction::kInbound) {
    PolicyDecision decision = options.authorize(peer_service, x.record.method, x.record.target);
    if (!decision.allowed) {
      x.record.denied = true;
      x.record.ambiguous_path = decision.ambiguous_path;
      co_return finish(403, std::move(decision.reason));
    }
  }

  Http2Request upstream_request;
  upstream_request.method = request.method;
  upstream_request.scheme = options.tls ? "https" : "http";
  upstream_request.authority = x.record.authority;
  upstream_request.path = x.record.target;
  for (const auto& [name, value] : request.headers) {
    if (!DroppedFromH2Request(name, value)) upstream_request.headers.emplace_back(name, value);
  }
  upstream_request.headers.emplace_back("x-request-id", x.record.request_id);
  const std::string& forwarded_for = request.Header("x-forwarded-for");
  upstream_request.headers.emplace_back("x-forwarded-for", forwarded_for.empty()
                                                               ? x.record.client_address
                                                               : forwarded_for + ", " + x.record.client_address);
  upstream_request.headers.emplace_back("x-forwarded-proto", "http");
  std::string traceparent;
  AppendTraceParent(traceparent, x.record.trace_id, x.record.span_id, x.record.sampled);
  upstream_request.headers.emplace_back("traceparent", std::move(traceparent));
  if (!x.tracestate.empty()) upstream_request.headers.emplace_back("tracestate", x.tracestate);
  upstream_request.body = std::move(request.body);

  const std::string_view service = options.direction == Direction::kOutbound ? HostName(x.record.authority)
                                                                             : std::string_view(options.service);
  for (int attempt = 0;; ++attempt) {
    Result<Endpoint> picked = options.upstreams->Pick(service, attempt);
    if (!picked.ok() && attempt == 0) {
      const SteadyTime resolve_until = std::min(steady_clock::now() + options.connect_timeout, x.deadline);
      while (options.upstreams->Resolving(service) && steady_clock::now() < resolve_until) {
        Timer poll(w.ioc, kDiscoveryPoll);
        beast::error_code ec;
        co_await poll.async_wait(Redirect(ec));
      }
      picked = options.upstreams->Pick(service, attempt);
    }
    if (!picked.ok()) co_return finish(503, "no upstream available: " + picked.status().message());
    if (options.tls && options.direction == Direction::kOutbound && !picked->tls) {
      ++tls_refused_plaintext;
      options.upstreams->Started(*picked);
      options.upstreams->Report(*picked, AttemptOutcome::kConnectFailure, 0);
      co_return finish(502, "refused to send to " + InstanceName(*picked) + " of service " + std::string(service) +
                                " in plaintext: the registry does not mark it mTLS");
    }
    const Endpoint endpoint = *picked;
    x.record.attempts = attempt + 1;
    x.record.upstream = endpoint;
    const std::string key = endpoint.host + ':' + std::to_string(endpoint.port);
    const std::shared_ptr<EndpointCounts> counts = Counts(w, key);
    RequestSlot in_progress = counts->TryStartRequest();
    if (!in_progress) {
      ++overflow_requests;
      co_return finish(503, "upstream overflow: " + std::to_string(options.max_upstream_requests) +
                                " requests in progress to " + key + " (the limit)");
    }
    std::optional<Http2Response> answer;
    on_cancel = nullptr;
    Attempt a = co_await TryH2(w, on_cancel, upstream_request, x, endpoint, key, *counts, service, answer);
    if (a.started) {
      options.upstreams->Report(endpoint, a.outcome,
                                std::chrono::nanoseconds(steady_clock::now() - a.started_at).count());
    }
    if (cancelled) {
      ++abandoned;
      x.record.status = 499;
      x.record.error = "client reset the stream before the upstream answered: upstream stream reset";
      Complete(x);
      co_return;
    }
    if (a.retry_after) {
      in_progress = RequestSlot();
      Timer pause(w.ioc, *a.retry_after);
      beast::error_code ec;
      co_await pause.async_wait(Redirect(ec));
      continue;
    }
    if (answer) {
      Http2Response& r = *answer;
      x.record.status = r.status;
      if (request.Header("content-type").starts_with("application/grpc")) x.record.grpc_status = GrpcStatusOf(r);
      x.record.response_bytes = r.body.size();
      std::erase_if(r.headers, [](const auto& h) {
        return h.first == "x-service-name" || h.first == "x-proxy-version" || h.first == "x-trace-id" ||
               h.first == "connection" || h.first == "keep-alive" || h.first == "transfer-encoding";
      });
      for (auto& own : OwnH2Headers(x)) r.headers.push_back(std::move(own));
      conn->session->Respond(stream_id, std::move(r));
      conn->wake.cancel();
      Complete(x);
      co_return;
    }
    if (a.answered) {
      // The upstream reset the stream: so is the client's (RST_STREAM goes on), with its code.
      conn->session->Reset(stream_id, a.reset_code);
      conn->wake.cancel();
      x.record.status = 502;
      Complete(x);
      co_return;
    }
    co_return finish(static_cast<int>(a.status), a.error);
  }
}

Task<Attempt> HttpProxy::Impl::TryH2(Worker& w, std::function<void()>& on_cancel, Http2Request& request,
                                     Exchange& x, const Endpoint& endpoint, const std::string& key,
                                     EndpointCounts& counts, std::string_view service,
                                     std::optional<Http2Response>& answer) {
  Attempt a;
  const std::string pool_key = SessionKey(key, options.tls ? service : std::string_view());
  std::shared_ptr<H2Upstream> upstream;
  if (auto it = w.h2_upstreams.find(pool_key);
      it != w.h2_upstreams.end() && !it->second->closed && it->second->session->Accepting()) {
    upstream = it->second;
  }
  // One connection per endpoint carries every stream: a new one only when there is none (or it
  // takes no more streams), within the connection limit (no queuing: 503 at once beyond it).
  ConnectionSlot slot;
  if (!upstream) {
    slot = counts.TryOpenConnection();
    if (!slot) {
      ++overflow_connections;
      a.status = http::status::service_unavailable;
      a.error = "upstream overflow: " + std::to_string(options.max_upstream_connections) + " connections open to " +
                key + " (the limit)";
      co_return a;
    }
  }
  options.upstreams->Started(endpoint);
  a.started = true;
  a.started_at = steady_clock::now();
  if (!upstream) {
    std::string error;
    upstream = co_await OpenH2(w, endpoint, pool_key, std::move(slot), service, x.deadline, error);
    if (!upstream) {
      const std::string where = endpoint.host + ":" + std::to_string(endpoint.port);
      a.outcome = AttemptOutcome::kConnectFailure;
      a.error = "cannot connect to upstream " + where + ": " + error;
      a.retry_after = RetryDelay(w, static_cast<int>(x.record.attempts) - 1, x);
      co_return a;
    }
  }
  H2Wait wait(w.ioc);
  Result<int32_t> submitted = upstream->session->Submit(request);
  if (!submitted.ok()) {
    a.outcome = AttemptOutcome::kConnectFailure;
    a.error = "upstream " + key + " HTTP/2: " + submitted.status().message();
    co_return a;
  }
  const int32_t upstream_id = *submitted;
  upstream->waits[upstream_id] = &wait;
  struct Unwait {
    H2Upstream& u;
    int32_t id;
    ~Unwait() { u.waits.erase(id); }
  } unwait{*upstream, upstream_id};
  upstream->wake.cancel();
  on_cancel = [&wait] {
    wait.client_gone = true;
    wait.timer.cancel();
  };
  wait.timer.expires_at(x.deadline);
  beast::error_code ec;
  co_await wait.timer.async_wait(Redirect(ec));
  on_cancel = nullptr;
  if (!wait.response && !wait.failure) {
    // No answer: the client went away or the deadline passed. The upstream hears it (RST_STREAM).
    if (upstream->session) upstream->session->Reset(upstream_id);
    upstream->wake.cancel();
    if (wait.client_gone) co_return a;
    a.outcome = AttemptOutcome::kTimeout;
    a.status = http::status::gateway_timeout;
    a.error = "upstream " + key + " did not answer in time";
    co_return a;
  }
  if (wait.response) {
    answer = std::move(wait.response);
    a.answered = true;
    a.outcome = answer->status >= 500 ? AttemptOutcome::kServerError : AttemptOutcome::kSuccess;
    co_return a;
  }
  const Http2StreamFailure& f = *wait.failure;
  switch (f.kind) {
    case Http2StreamFailure::Kind::kRefused:
      a.outcome = AttemptOutcome::kConnectFailure;
      a.error = "upstream " + key + " refused the stream (GOAWAY or REFUSED_STREAM)";
      a.retry_after = RetryDelay(w, static_cast<int>(x.record.attempts) - 1, x);
      break;
    case Http2StreamFailure::Kind::kReset:
      a.outcome = AttemptOutcome::kReset;
      a.answered = true;
      a.reset_code = f.error_code;
      x.record.error = "upstream " + key + " reset the stream (HTTP/2 error code " + std::to_string(f.error_code) + ")";
      break;
    case Http2StreamFailure::Kind::kTooLarge:
      a.outcome = AttemptOutcome::kReset;
      a.error = "upstream " + key + " answer too large for HTTP/2 relay";
      break;
    case Http2StreamFailure::Kind::kClosed:
      a.outcome = AttemptOutcome::kReset;
      a.error = "upstream " + key + " closed the HTTP/2 connection";
      break;
  }
  co_return a;
}

Task<std::shared_ptr<H2Upstream>> HttpProxy::Impl::OpenH2(Worker& w, const Endpoint& endpoint,
                                                          const std::string& pool_key, ConnectionSlot slot,
                                                          std::string_view service, SteadyTime deadline,
                                                          std::string& error) {
  auto conn = std::make_shared<H2Upstream>(w.ioc);
  conn->slot = std::move(slot);
  Result<std::unique_ptr<Http2ClientSession>> made = Http2ClientSession::Create(
      {}, [raw = conn.get()](int32_t id, Http2Response* response, const Http2StreamFailure* failure) {
        auto it = raw->waits.find(id);
        if (it == raw->waits.end()) return;
        if (response != nullptr) it->second->response = std::move(*response);
        if (failure != nullptr) it->second->failure = *failure;
        it->second->timer.cancel();
      });
  if (!made.ok()) {
    error = made.status().message();
    co_return nullptr;
  }
  conn->session = std::move(made).value();
  if (endpoint.tls && options.tls) {
    auto stream = NewUpstream(w, std::type_identity<TlsStream>());
    static constexpr unsigned char kH2[] = "\x02h2";
    SSL_set_alpn_protos(stream->native_handle(), kH2, sizeof(kH2) - 1);
    if (co_await Open(w, *stream, endpoint, deadline, service, error)) co_return nullptr;
    if (!AlpnIsH2(stream->native_handle())) {
      error = "the peer sidecar does not speak HTTP/2 (ALPN h2 not chosen)";
      co_return nullptr;
    }
    beast::get_lowest_layer(*stream).expires_never();
    w.h2_upstreams[pool_key] = conn;
    asio::co_spawn(w.ioc, RunH2Upstream(w, std::move(stream), conn, pool_key), [](std::exception_ptr) {});
  } else {
    auto stream = NewUpstream(w, std::type_identity<TcpStream>());
    if (co_await Open(w, *stream, endpoint, deadline, service, error)) co_return nullptr;
    stream->expires_never();
    w.h2_upstreams[pool_key] = conn;
    asio::co_spawn(w.ioc, RunH2Upstream(w, std::move(stream), conn, pool_key), [](std::exception_ptr) {});
  }
  co_return conn;
}

// An upstream HTTP/2 connection's life: a reader feeding the session, this writer sending its
// output. Idle (no stream) for upstream_idle_timeout, it ends with a GOAWAY. When it ends, the
// streams still open fail (kClosed) and it leaves the pool.
template <class Upstream>
Task<void> HttpProxy::Impl::RunH2Upstream(Worker& w, std::unique_ptr<Upstream> upstream,
                                          std::shared_ptr<H2Upstream> conn, std::string pool_key) {
  asio::co_spawn(
      w.ioc,
      [](Upstream& stream, std::shared_ptr<H2Upstream> c) -> Task<void> {
        beast::error_code ec;
        std::array<char, 16384> chunk;
        while (!c->closed) {
          const size_t n = co_await stream.async_read_some(asio::buffer(chunk), Redirect(ec));
          if (ec || c->closed || !c->session->Receive({chunk.data(), n}).ok()) break;
          c->wake.cancel();
        }
        c->closed = true;
        c->reader_done = true;
        c->wake.cancel();
      }(*upstream, conn),
      [](std::exception_ptr) {});
  beast::error_code ec;
  while (!conn->closed) {
    const std::string out = conn->session->TakeOutput();
    if (!out.empty()) {
      co_await asio::async_write(*upstream, asio::buffer(out), Redirect(ec));
      if (ec) break;
      continue;
    }
    if (!conn->session->WantsIo() || stopping.load()) break;
    const bool idle = conn->session->open_streams() == 0;
    conn->wake.expires_after(idle ? std::chrono::nanoseconds(options.upstream_idle_timeout)
                                  : std::chrono::hours(24 * 365));
    co_await conn->wake.async_wait(Redirect(ec));
    if (!ec && idle && conn->session->open_streams() == 0) conn->session->Shutdown();
  }
  conn->closed = true;
  if (auto it = w.h2_upstreams.find(pool_key); it != w.h2_upstreams.end() && it->second == conn) {
    w.h2_upstreams.erase(it);
  }
  beast::get_lowest_layer(*upstream).close();
  for (int i = 0; i < 100 && !conn->reader_done; ++i) {
    conn->wake.expires_after(std::chrono::milliseconds(10));
    co_await conn->wake.async_wait(Redirect(ec));
  }
  // The streams still open hear that the connection is gone.
  conn->session.reset();
}

void HttpProxy::Impl::Stop(std::chrono::milliseconds drain) {
  if (stopped) return;
  stopped = true;
  stopping.store(true);
  for (auto& w : workers) {
    asio::post(w->ioc, [&acceptor = w->acceptor] {
      beast::error_code ec;
      acceptor.close(ec);
    });
  }
  // Stop is rare and off the request path: polling keeps the request path free of signalling.
  const SteadyTime until = steady_clock::now() + drain;
  while (in_flight.load() > 0 && steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  for (auto& w : workers) w->ioc.stop();
  for (auto& w : workers) {
    if (w->thread.joinable()) w->thread.join();
  }
  // Destroying an io_context destroys the coroutines still suspended on it, and with them
  // their sockets: every connection closes now rather than when the proxy is destroyed.
  workers.clear();
}

Result<std::unique_ptr<HttpProxy>> HttpProxy::Start(Options options) {
  if (!options.upstreams) return Status::InvalidArgument("http proxy: no upstream selector");
  beast::error_code ec;
  const asio::ip::address address = asio::ip::make_address(options.listen_host, ec);
  if (ec) {
    return Status::InvalidArgument("invalid listen address " + options.listen_host + ": " +
                                   ec.message());
  }
  if (options.listen_port < 0 || options.listen_port > 65535) {
    return Status::InvalidArgument("invalid listen port " + std::to_string(options.listen_port));
  }
  const int threads = options.threads > 0
                          ? options.threads
                          : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  auto impl = std::make_unique<Impl>(std::move(options));
  if (impl->options.tls) {
    Result<std::shared_ptr<const TlsContexts>> contexts = MakeTlsContexts(*impl->options.tls);
    if (!contexts.ok()) return contexts.status();
    impl->tls = std::move(contexts).value();
  }
  // The first bind picks the port when 0 was asked for; the others share it (SO_REUSEPORT).
  auto port = static_cast<unsigned short>(impl->options.listen_port);
  for (int i = 0; i < threads; ++i) {
    auto worker = std::make_unique<Worker>();
    worker->idle_plain.stray_bytes = &impl->stray_bytes;
    worker->idle_tls.stray_bytes = &impl->stray_bytes;
    Status listening = Listen(worker->acceptor, tcp::endpoint(address, port));
    if (!listening.ok()) return listening;
    if (i == 0) port = worker->acceptor.local_endpoint(ec).port();
    impl->workers.push_back(std::move(worker));
  }
  impl->port = port;
  for (auto& worker : impl->workers) {
    Worker& w = *worker;
    asio::co_spawn(w.ioc, impl->Accept(w), [](std::exception_ptr) {});
    asio::co_spawn(w.ioc, impl->SweepIdle(w), [](std::exception_ptr) {});
    w.thread = std::thread([&w] { w.ioc.run(); });
    impl->io_cpu.Add(w.thread);
  }
  return std::unique_ptr<HttpProxy>(new HttpProxy(std::move(impl)));
}

HttpProxy::HttpProxy(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpProxy::~HttpProxy() { Stop(std::chrono::milliseconds(0)); }

int HttpProxy::port() const { return impl_->port; }

void HttpProxy::Stop(std::chrono::milliseconds drain) { impl_->Stop(drain); }

int64_t HttpProxy::in_flight() const { return impl_->in_flight.load(); }

Status HttpProxy::UpdateTls(const TlsCredentials& credentials) {
  if (!impl_->options.tls) return Status::InvalidArgument("this proxy was started without TLS");
  Result<std::shared_ptr<const TlsContexts>> contexts = MakeTlsContexts(credentials);
  if (!contexts.ok()) return contexts.status();
  std::lock_guard lock(impl_->tls_mu);
  impl_->tls = std::move(contexts).value();
  return Status::Ok();
}

int64_t HttpProxy::tls_handshake_failures() const { return impl_->handshake_failures.load(); }

HttpProxy::Counters HttpProxy::counters() const {
  return {.upstream_stray_bytes = impl_->stray_bytes.load(),
          .client_connections = impl_->client_connections.load(),
          .client_connections_refused = impl_->connections_refused.load(),
          .accept_failures = impl_->accept_failures.load(),
          .upstream_overflow_requests = impl_->overflow_requests.load(),
          .upstream_overflow_pending = impl_->overflow_pending.load(),
          .upstream_overflow_connections = impl_->overflow_connections.load(),
          .upstream_abandoned = impl_->abandoned.load(),
          .upstream_tls_refused_plaintext = impl_->tls_refused_plaintext.load(),
          .upstream_tls_identity_mismatches = impl_->tls_identity_mismatches.load(),
          .stream_idle_timeouts = impl_->idle_timeouts.load(),
          .tunnels = impl_->tunnels.load(),
          .tunnel_bytes_to_upstream = impl_->tunnel_bytes_to_upstream.load(),
          .tunnel_bytes_to_client = impl_->tunnel_bytes_to_client.load(),
          .io_threads = static_cast<int64_t>(impl_->io_cpu.size()),
          .io_busy_ns = impl_->io_cpu.TotalNs()};
}

}  // namespace mesh
