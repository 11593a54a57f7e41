#include "mesh/http2/asio_http2_server.h"
#include "mesh/http/verified_peer.h"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <array>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <cstring>
#include <thread>

#include "mesh/base/busy_time.h"
#include "mesh/base/clock.h"
#include "mesh/http/host_port.h"

namespace mesh {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using TlsStream = asio::ssl::stream<tcp::socket>;

namespace {

Result<tcp::endpoint> ListenEndpoint(const std::string& listen) {
  Result<HostPort> at = ParseHostPort(listen);
  if (!at.ok()) return at.status();
  boost::system::error_code ec;
  const std::string host = at->host == "localhost" ? "127.0.0.1" : at->host;
  const asio::ip::address address = asio::ip::make_address(host, ec);
  if (ec) return Status::InvalidArgument("invalid listen address '" + listen + "': the host is not a numeric address");
  return tcp::endpoint(address, static_cast<unsigned short>(at->port));
}

// ALPN: the server speaks HTTP/2 only, so a client that does not offer "h2" is refused in the handshake.
int SelectH2(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in, unsigned int inlen,
             void*) {
  for (unsigned int i = 0; i < inlen;) {
    const unsigned int len = in[i];
    if (i + 1 + len > inlen) break;
    if (len == 2 && std::memcmp(in + i + 1, "h2", 2) == 0) {
      *out = in + i + 1;
      *outlen = 2;
      return SSL_TLSEXT_ERR_OK;
    }
    i += 1 + len;
  }
  return SSL_TLSEXT_ERR_ALERT_FATAL;
}

Result<std::unique_ptr<asio::ssl::context>> MakeTlsContext(const AsioHttp2Server::Options::Tls& tls) {
  auto ctx = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
  boost::system::error_code ec;
  // RFC 9113 §9.2: TLS 1.2 at least.
  ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                       asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1,
                   ec);
  if (!ec) ctx->use_certificate_chain(asio::buffer(tls.certificate_pem), ec);
  if (!ec) ctx->use_private_key(asio::buffer(tls.private_key_pem), asio::ssl::context::pem, ec);
  if (!ec) ctx->add_certificate_authority(asio::buffer(tls.client_ca_pem), ec);
  if (ec) return Status::InvalidArgument("TLS: " + ec.message());
  if (SSL_CTX_check_private_key(ctx->native_handle()) != 1) {
    return Status::InvalidArgument("TLS: the private key is not the certificate's");
  }
  ctx->set_verify_mode(asio::ssl::verify_peer);  // asked for, not required: tokens work too
  static constexpr unsigned char kSessionContext[] = "mesh-http2";
  SSL_CTX_set_session_id_context(ctx->native_handle(), kSessionContext, sizeof(kSessionContext) - 1);
  SSL_CTX_set_alpn_select_cb(ctx->native_handle(), &SelectH2, nullptr);
  return ctx;
}

}  // namespace

struct AsioHttp2Server::Impl {
  Impl(Options o, Handler h) : options(std::move(o)), handler(std::move(h)), workers(std::max(1, options.threads)) {}

  void Accept();
  void Closed();  // a connection closed: its slot is free again

  // Declared first, destroyed last: pending completions (holding connections) go with it.
  asio::io_context io;
  Options options;
  Handler handler;
  asio::thread_pool workers;
  tcp::acceptor acceptor{io};
  std::unique_ptr<asio::ssl::context> tls;
  std::thread io_thread;
  std::atomic<size_t> open{0};  // connections; changed on the I/O thread only
  BusyTime handler_busy{SystemClock::Instance()};
  bool accept_paused = false;  // every slot taken
};

namespace {

template <class Stream>
class Connection : public std::enable_shared_from_this<Connection<Stream>> {
 public:
  Connection(AsioHttp2Server::Impl& server, Stream stream)
      : server_(server), stream_(std::move(stream)), idle_(server.io), deadline_(server.io) {}

  void Start(std::string peer_spiffe_id) {
    peer_spiffe_id_ = std::move(peer_spiffe_id);
    boost::system::error_code ec;
    const tcp::endpoint remote = stream_.lowest_layer().remote_endpoint(ec);
    if (!ec) remote_addr_ = remote.address().to_string();
    Result<std::unique_ptr<Http2ServerSession>> session = Http2ServerSession::Create(
        {.max_body_bytes = server_.options.max_body_bytes,
         .max_concurrent_streams = server_.options.max_concurrent_streams},
        [this](int32_t id, HttpRequest request, bool too_large, std::optional<int64_t> deadline_ns) {
          Dispatch(id, std::move(request), too_large, deadline_ns);
        });
    if (!session.ok()) return Close();
    session_ = std::move(session).value();
    ArmIdle();
    Flush();
    Read();
  }

  void ArmIdle() {
    idle_.expires_after(std::chrono::milliseconds(server_.options.idle_timeout_ms));
    idle_.async_wait([self = this->shared_from_this()](const boost::system::error_code& ec) {
      if (ec || self->closed_) return;
      if (self->handling_ > 0) return self->ArmIdle();  // waiting on a handler is not idleness
      self->Close();
    });
  }

  // The timer follows the session's earliest gRPC deadline; at it, the session answers the
  // calls due DEADLINE_EXCEEDED.
  void ArmDeadline() {
    const std::optional<int64_t> next = session_->NextDeadlineNs();
    if (!next) return;
    if (armed_deadline_ && *armed_deadline_ == *next) return;
    armed_deadline_ = next;
    const int64_t wait_ns = *next - SystemClock::Instance().MonotonicNs();
    deadline_.expires_after(std::chrono::nanoseconds(std::max<int64_t>(0, wait_ns)));
    deadline_.async_wait([self = this->shared_from_this()](const boost::system::error_code& ec) {
      if (ec || self->closed_) return;
      self->armed_deadline_.reset();
      self->session_->ExpireDeadlines();
      self->Flush();
      self->ArmDeadline();
    });
  }

  void Close() {
    if (closed_) return;
    closed_ = true;
    idle_.cancel();
    deadline_.cancel();
    boost::system::error_code ec;
    stream_.lowest_layer().close(ec);
    server_.Closed();
  }

  Stream& stream() { return stream_; }
  asio::steady_timer& timer() { return idle_; }

 private:
  void Read() {
    stream_.async_read_some(asio::buffer(in_), [self = this->shared_from_this()](const boost::system::error_code& ec,
                                                                                  size_t n) {
      if (self->closed_) return;
      if (ec) return self->Close();
      self->ArmIdle();
      const Status received = self->session_->Receive(std::string_view(self->in_.data(), n));
      if (!received.ok()) self->failed_ = true;  // the GOAWAY goes out, then the connection closes
      self->Flush();
      self->ArmDeadline();
      if (!self->failed_) self->Read();
    });
  }

  void Flush() {
    if (writing_ || closed_) return;
    out_ = session_->TakeOutput();
    if (out_.empty()) {
      if (failed_ || !session_->WantsIo()) Close();
      return;
    }
    writing_ = true;
    asio::async_write(stream_, asio::buffer(out_), [self = this->shared_from_this()](const boost::system::error_code& ec,
                                                                                    size_t) {
      self->writing_ = false;
      if (self->closed_) return;
      if (ec) return self->Close();
      self->Flush();
    });
  }

  // Called inside an nghttp2 callback (Receive): it only queues work, and the session's guard
  // turns a throw (bad_alloc) into a connection error.
  // A call whose deadline passed while it waited for a handler thread is not begun: the session
  // answers it DEADLINE_EXCEEDED, and nothing of it is done.
  void Dispatch(int32_t id, HttpRequest request, bool too_large, std::optional<int64_t> deadline_ns) {
    request.remote_addr = remote_addr_;
    request.peer_spiffe_id = peer_spiffe_id_;
    ++handling_;
    asio::post(server_.workers, [self = this->shared_from_this(), id, request = std::move(request), too_large,
                                 deadline_ns] {
      Http2Response response;
      if (deadline_ns && SystemClock::Instance().MonotonicNs() >= *deadline_ns) {
        asio::post(self->server_.io, [self] {
          --self->handling_;
          if (self->closed_) return;
          self->session_->ExpireDeadlines();
          self->Flush();
        });
        return;
      }
      try {
        BusyTime::Scope busy(self->server_.handler_busy);
        response = self->server_.handler(request, too_large);
      } catch (...) {
        response = Http2Response{};
        response.status = 500;
      }
      asio::post(self->server_.io, [self, id, response = std::move(response)]() mutable {
        --self->handling_;
        if (self->closed_) return;
        self->session_->Respond(id, std::move(response));
        self->Flush();
      });
    });
  }

  AsioHttp2Server::Impl& server_;
  Stream stream_;
  asio::steady_timer idle_;
  asio::steady_timer deadline_;
  std::optional<int64_t> armed_deadline_;  // what deadline_ waits for
  std::unique_ptr<Http2ServerSession> session_;
  std::array<char, 16384> in_{};
  std::string out_;
  std::string remote_addr_;
  std::string peer_spiffe_id_;
  size_t handling_ = 0;
  bool writing_ = false;
  bool failed_ = false;
  bool closed_ = false;
};

}  // namespace

void AsioHttp2Server::Impl::Accept() {
  if (open >= options.max_connections) {
    accept_paused = true;
    return;
  }
  acceptor.async_accept([this](const boost::system::error_code& ec, tcp::socket socket) {
    if (!acceptor.is_open()) return;
    if (!ec) {
      ++open;
      // Small frames (a SETTINGS ack, a WINDOW_UPDATE) go out ahead of an answer: with Nagle's
      // algorithm the answer would wait for their ACK, which the peer delays.
      boost::system::error_code nodelay_ec;
      socket.set_option(tcp::no_delay(true), nodelay_ec);
      if (tls == nullptr) {
        std::make_shared<Connection<tcp::socket>>(*this, std::move(socket))->Start("");
      } else {
        auto c = std::make_shared<Connection<TlsStream>>(*this, TlsStream(std::move(socket), *tls));
        // The handshake must end within the idle timeout.
        c->timer().expires_after(std::chrono::milliseconds(options.idle_timeout_ms));
        c->timer().async_wait([c](const boost::system::error_code& timer_ec) {
          if (!timer_ec) c->Close();
        });
        c->stream().async_handshake(asio::ssl::stream_base::server, [c](const boost::system::error_code& hs_ec) {
          const unsigned char* alpn = nullptr;
          unsigned int alpn_len = 0;
          if (!hs_ec) SSL_get0_alpn_selected(c->stream().native_handle(), &alpn, &alpn_len);
          if (hs_ec || alpn_len != 2 || std::memcmp(alpn, "h2", 2) != 0) return c->Close();
          c->timer().cancel();
          c->Start(VerifiedPeerSpiffeId(c->stream().native_handle()));
        });
      }
    }
    Accept();
  });
}

void AsioHttp2Server::Impl::Closed() {
  --open;
  if (accept_paused && open < options.max_connections) {
    accept_paused = false;
    Accept();
  }
}

Result<std::unique_ptr<AsioHttp2Server>> AsioHttp2Server::Start(const Options& options, Handler handler) {
  Result<tcp::endpoint> at = ListenEndpoint(options.listen);
  if (!at.ok()) return at.status();
  if (options.threads < 1 || options.max_connections < 1 || options.idle_timeout_ms < 1) {
    return Status::InvalidArgument("HTTP/2 server: threads, max_connections and idle_timeout_ms must be positive");
  }
  std::unique_ptr<AsioHttp2Server> server(new AsioHttp2Server());
  server->impl_ = std::make_unique<Impl>(options, std::move(handler));
  Impl& impl = *server->impl_;
  if (options.tls) {
    Result<std::unique_ptr<asio::ssl::context>> ctx = MakeTlsContext(*options.tls);
    if (!ctx.ok()) return ctx.status();
    impl.tls = std::move(ctx).value();
  }
  boost::system::error_code ec;
  impl.acceptor.open(at->protocol(), ec);
  if (!ec) impl.acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) impl.acceptor.bind(*at, ec);
  if (!ec) impl.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return Status::IOError("cannot listen on " + options.listen + ": " + ec.message());
  server->port_ = impl.acceptor.local_endpoint().port();
  impl.Accept();
  impl.io_thread = std::thread([&impl] { impl.io.run(); });
  return server;
}

void AsioHttp2Server::Stop() {
  if (!impl_ || !impl_->io_thread.joinable()) return;
  // The I/O thread stops first, so no new request reaches the handler threads; those running
  // return, and their answers are dropped with the connections when the io_context goes.
  impl_->io.stop();
  impl_->io_thread.join();
  impl_->workers.join();
  boost::system::error_code ec;
  impl_->acceptor.close(ec);
}

AsioHttp2Server::Usage AsioHttp2Server::usage() const {
  return {.connections = impl_->open.load(),
          .handler_threads = impl_->options.threads,
          .handler_busy_ns = impl_->handler_busy.TotalNs()};
}

AsioHttp2Server::~AsioHttp2Server() { Stop(); }

}  // namespace mesh
