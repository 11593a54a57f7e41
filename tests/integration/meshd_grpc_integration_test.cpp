// Issue 20's OTLP/gRPC on the real meshd: Export calls over HTTP/2 (h2c, prior knowledge) from a
// small nghttp2 client reach the same routes as OTLP/HTTP protobuf: stored spans come back on
// GET /v1/traces/{id}; a gzip message is taken; a missing or wrong token is UNAUTHENTICATED;
// framing garbage INVALID_ARGUMENT; an unknown method UNIMPLEMENTED; a body over --max-body
// RESOURCE_EXHAUSTED; HTTP/1.1 bytes on the gRPC port close that connection and nothing else; a
// call past its grpc-timeout DEADLINE_EXCEEDED and not stored, a malformed one INVALID_ARGUMENT;
// /metrics shows both listeners' connections and both handler pools' busy time.
// Under --tls the port is TLS with ALPN h2, verified against meshd's CA; a client that does not
// offer h2 fails the handshake.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <poll.h>
#include <zlib.h>

#include <filesystem>
#include <regex>
#include <string>

#include "http2_test_client.h"
#include "mesh/http2/grpc_framing.h"
#include "meshd_fixture.h"
#include "subprocess.h"

namespace mesh {
namespace {

using test_support::MeshdProcess;
using test_support::WriteTokenFile;
using test_support::Http2TestClient;

constexpr char kTraceExport[] = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";
constexpr char kLogsExport[] = "/opentelemetry.proto.collector.logs.v1.LogsService/Export";

// Protobuf by hand, so the test checks meshd against the wire format and not against our own
// generated classes.
std::string Varint(uint64_t v) {
  std::string out;
  for (; v >= 0x80; v >>= 7) out.push_back(static_cast<char>((v & 0x7f) | 0x80));
  out.push_back(static_cast<char>(v));
  return out;
}
std::string Field(int number, const std::string& bytes) { return Varint((number << 3) | 2) + Varint(bytes.size()) + bytes; }
std::string Fixed64(int number, uint64_t v) {
  std::string out = Varint((number << 3) | 1);
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(v >> (8 * i)));
  return out;
}
std::string Hex(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return out;
}
std::string ServiceResource(const std::string& service) {
  const std::string any_value = Field(1, service);
  return Field(1, Field(1, Field(1, "service.name") + Field(2, any_value)));
}
// ExportTraceServiceRequest with one span of `service`.
std::string TraceRequest(const std::string& trace_id_hex, const std::string& service, const std::string& name) {
  const uint64_t start = 1'700'000'000'000'000'000ULL;
  const std::string span = Field(1, Hex(trace_id_hex)) + Field(2, Hex("00f067aa0ba902b7")) + Field(5, name) +
                           Varint((6 << 3) | 0) + Varint(2) + Fixed64(7, start) + Fixed64(8, start + 5'000'000);
  return Field(1, ServiceResource(service) + Field(2, Field(2, span)));
}
// ExportLogsServiceRequest with one record.
std::string LogsRequest(const std::string& service, const std::string& body) {
  const std::string record = Fixed64(1, 1'700'000'000'000'000'000ULL) + Varint((2 << 3) | 0) + Varint(17) +
                             Field(5, Field(1, body));
  return Field(1, ServiceResource(service) + Field(2, Field(2, record)));
}

std::string Gzip(const std::string& in) {
  z_stream z{};
  deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&z, in.size()) + 32, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

int Connect(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

struct CallResult {
  bool closed = false;
  int http_status = 0;
  std::string grpc_status;
  std::string grpc_message;
  std::string body;
};

class MeshdGrpcTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/meshd-grpc-XXXXXX";
    dir_ = mkdtemp(tmpl);
    meshd_ = std::make_unique<MeshdProcess>(
        dir_ + "/mesh.db",
        std::vector<std::string>{"--token-file", WriteTokenFile(dir_ + "/write.token", "g-s3cret"), "--otlp-grpc-listen",
                                 "127.0.0.1:0", "--max-body", "65536"});
    ASSERT_TRUE(meshd_->ready()) << meshd_->process().err();
    ASSERT_TRUE(meshd_->process().WaitForStderr("OTLP/gRPC listening", std::chrono::seconds(10)));
    std::smatch m;
    const std::string err = meshd_->process().err();
    ASSERT_TRUE(std::regex_search(err, m, std::regex("OTLP/gRPC listening[^\\n]*127\\.0\\.0\\.1:([0-9]+)"))) << err;
    grpc_port_ = std::stoi(m[1].str());
  }
  void TearDown() override {
    if (meshd_) {
      EXPECT_EQ(meshd_->Stop().exit_code, 0);
    }
    std::filesystem::remove_all(dir_);
  }

  CallResult Call(const std::string& method, const std::string& body,
                  std::vector<std::pair<std::string, std::string>> headers = {{"authorization", "Bearer g-s3cret"}}) {
    headers.insert(headers.begin(), {{"content-type", "application/grpc"}, {"te", "trailers"}});
    const int fd = Connect(grpc_port_);
    EXPECT_GE(fd, 0);
    Http2TestClient client;
    const int32_t id = client.Submit("POST", method, headers, body);
    CallResult out;
    out.closed = client.Exchange(fd, id);
    ::close(fd);
    const auto& reply = client.reply(id);
    out.http_status = reply.status;
    out.body = reply.body;
    if (reply.trailers.count("grpc-status")) out.grpc_status = reply.trailers.at("grpc-status");
    if (reply.trailers.count("grpc-message")) out.grpc_message = reply.trailers.at("grpc-message");
    return out;
  }

  std::string dir_;
  std::unique_ptr<MeshdProcess> meshd_;
  int grpc_port_ = 0;
};

TEST_F(MeshdGrpcTest, ExportedSpanIsStoredAndServedByTheTraceRoute) {
  const std::string trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
  const CallResult r = Call(kTraceExport, EncodeGrpcMessage(TraceRequest(trace_id, "grpc-svc", "grpc-span")));
  ASSERT_TRUE(r.closed);
  EXPECT_EQ(r.http_status, 200);
  EXPECT_EQ(r.grpc_status, "0") << r.grpc_message;
  // An ExportTraceServiceResponse, framed: no partial_success when every span was taken.
  EXPECT_TRUE(DecodeUnaryGrpcMessage(r.body).ok());
  const HttpClientResponse got = meshd_->Request("GET", "/v1/traces/" + trace_id);
  EXPECT_EQ(got.status, 200);
  EXPECT_NE(got.body.find("grpc-span"), std::string::npos) << got.body;
  EXPECT_NE(got.body.find("grpc-svc"), std::string::npos) << got.body;
}

TEST_F(MeshdGrpcTest, GzipMessageIsTaken) {
  const std::string trace_id = "5bf92f3577b34da6a3ce929d0e0e4736";
  const CallResult r = Call(kTraceExport, EncodeGrpcMessage(Gzip(TraceRequest(trace_id, "gz-svc", "gz-span")), true),
                            {{"authorization", "Bearer g-s3cret"}, {"grpc-encoding", "gzip"}});
  EXPECT_EQ(r.grpc_status, "0") << r.grpc_message;
  EXPECT_NE(meshd_->Request("GET", "/v1/traces/" + trace_id).body.find("gz-span"), std::string::npos);
}

TEST_F(MeshdGrpcTest, LogsExportIsStored) {
  const CallResult r = Call(kLogsExport, EncodeGrpcMessage(LogsRequest("log-svc", "hello over grpc")));
  EXPECT_EQ(r.grpc_status, "0") << r.grpc_message;
  const HttpClientResponse got = meshd_->Request("GET", "/v1/logs?service=log-svc");
  EXPECT_NE(got.body.find("hello over grpc"), std::string::npos) << got.body;
}

TEST_F(MeshdGrpcTest, MissingOrWrongTokenIsUnauthenticatedAndStoresNothing) {
  const std::string trace_id = "6bf92f3577b34da6a3ce929d0e0e4736";
  const std::string message = EncodeGrpcMessage(TraceRequest(trace_id, "x", "never"));
  EXPECT_EQ(Call(kTraceExport, message, {}).grpc_status, "16");
  EXPECT_EQ(Call(kTraceExport, message, {{"authorization", "Bearer wrong"}}).grpc_status, "16");
  EXPECT_EQ(meshd_->Request("GET", "/v1/traces/" + trace_id).status, 404);
}

TEST_F(MeshdGrpcTest, BadInputUnknownMethodAndOversizedBodyGetTheirCodes) {
  EXPECT_EQ(Call(kTraceExport, EncodeGrpcMessage("\x0a\x0b")).grpc_status, "3");  // protobuf cut short
  EXPECT_EQ(Call(kTraceExport, std::string("\x00\x00\x00\x00\x09only", 9), {{"authorization", "Bearer g-s3cret"}}).grpc_status, "3");
  EXPECT_EQ(Call("/grpc.health.v1.Health/Check", EncodeGrpcMessage("")).grpc_status, "12");
  const CallResult big = Call(kTraceExport, EncodeGrpcMessage(std::string(100'000, 'x')));
  EXPECT_TRUE(big.closed);
  EXPECT_EQ(big.grpc_status, "8");
}

TEST_F(MeshdGrpcTest, GrpcTimeoutIsAppliedAndACallPastItsDeadlineStoresNothing) {
  const auto call = [&](const std::string& trace_id, const std::string& timeout) {
    return Call(kTraceExport, EncodeGrpcMessage(TraceRequest(trace_id, "deadline-svc", "span-" + timeout)),
                {{"authorization", "Bearer g-s3cret"}, {"grpc-timeout", timeout}});
  };
  // One nanosecond has passed by the time a handler thread takes the call: it is not begun.
  const CallResult expired = call("7bf92f3577b34da6a3ce929d0e0e4736", "1n");
  ASSERT_TRUE(expired.closed);
  EXPECT_EQ(expired.http_status, 200);
  EXPECT_EQ(expired.grpc_status, "4") << expired.grpc_message;
  EXPECT_EQ(meshd_->Request("GET", "/v1/traces/7bf92f3577b34da6a3ce929d0e0e4736").status, 404);
  const CallResult malformed = call("8bf92f3577b34da6a3ce929d0e0e4736", "5 S");
  EXPECT_EQ(malformed.grpc_status, "3") << malformed.grpc_message;
  EXPECT_EQ(meshd_->Request("GET", "/v1/traces/8bf92f3577b34da6a3ce929d0e0e4736").status, 404);
  const CallResult in_time = call("9bf92f3577b34da6a3ce929d0e0e4736", "30S");
  EXPECT_EQ(in_time.grpc_status, "0") << in_time.grpc_message;
  EXPECT_EQ(meshd_->Request("GET", "/v1/traces/9bf92f3577b34da6a3ce929d0e0e4736").status, 200);
}

TEST_F(MeshdGrpcTest, MetricsShowEachListenersConnectionsAndEachHandlerPoolsBusyTime) {
  EXPECT_EQ(Call(kTraceExport, EncodeGrpcMessage(TraceRequest("abf92f3577b34da6a3ce929d0e0e4736", "m", "m"))).grpc_status,
            "0");
  const std::string metrics = meshd_->Request("GET", "/metrics").body;
  for (const char* series : {"mesh_client_connections{listener=\"api\"} ", "mesh_client_connections{listener=\"otlp_grpc\"} ",
                             "mesh_workers{pool=\"http_handlers\"} ", "mesh_workers{pool=\"otlp_grpc_handlers\"} "}) {
    EXPECT_NE(metrics.find(series), std::string::npos) << series << "\n" << metrics;
  }
  // The gRPC call above ran a handler: its pool has been busy for more than nothing.
  std::smatch m;
  ASSERT_TRUE(std::regex_search(metrics, m,
                                std::regex("mesh_worker_busy_seconds_total\\{pool=\"otlp_grpc_handlers\"\\} ([0-9.e+-]+)")))
      << metrics;
  EXPECT_GT(std::stod(m[1].str()), 0);
}

TEST_F(MeshdGrpcTest, Http1BytesCloseTheirConnectionAndTheServerGoesOn) {
  const int fd = Connect(grpc_port_);
  ASSERT_GE(fd, 0);
  const std::string http1 = "POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n";
  ASSERT_EQ(::send(fd, http1.data(), http1.size(), MSG_NOSIGNAL), static_cast<ssize_t>(http1.size()));
  char buf[4096];
  ssize_t n = 0;
  for (int reads = 0; reads < 100 && (n = ::recv(fd, buf, sizeof buf, 0)) > 0; ++reads) {
  }
  EXPECT_EQ(n, 0);  // closed by meshd (after its GOAWAY)
  ::close(fd);
  EXPECT_EQ(Call(kTraceExport, EncodeGrpcMessage(TraceRequest("7bf92f3577b34da6a3ce929d0e0e4736", "a", "b"))).grpc_status,
            "0");
}

// A TLS client (OpenSSL) that trusts `ca_file`, checks the 127.0.0.1 SAN and offers `alpn` (in
// ALPN wire form); null when the handshake fails.
struct TlsConnection {
  SSL_CTX* ctx = nullptr;
  SSL* ssl = nullptr;
  int fd = -1;
  ~TlsConnection() {
    if (ssl != nullptr) SSL_free(ssl);
    if (ctx != nullptr) SSL_CTX_free(ctx);
    if (fd >= 0) ::close(fd);
  }
};
std::unique_ptr<TlsConnection> ConnectTls(int port, const std::string& ca_file, const std::string& alpn) {
  auto c = std::make_unique<TlsConnection>();
  c->ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_load_verify_locations(c->ctx, ca_file.c_str(), nullptr);
  SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, nullptr);
  SSL_CTX_set_alpn_protos(c->ctx, reinterpret_cast<const unsigned char*>(alpn.data()), static_cast<unsigned>(alpn.size()));
  c->fd = Connect(port);
  if (c->fd < 0) return nullptr;
  c->ssl = SSL_new(c->ctx);
  X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), "127.0.0.1");
  SSL_set_fd(c->ssl, c->fd);
  if (SSL_connect(c->ssl) != 1) return nullptr;
  return c;
}

TEST(MeshdGrpcTls, ExportOverTlsWithAlpnH2IsStoredAndHttp11OnlyClientsAreRefused) {
  char tmpl[] = "/tmp/meshd-grpc-tls-XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  MeshdProcess meshd(dir + "/mesh.db", {"--tls", "--otlp-grpc-listen", "127.0.0.1:0"});
  ASSERT_TRUE(meshd.ready()) << meshd.process().err();
  ASSERT_TRUE(meshd.process().WaitForStderr("OTLP/gRPC listening", std::chrono::seconds(10)));
  std::smatch m;
  const std::string err = meshd.process().err();
  ASSERT_TRUE(std::regex_search(err, m, std::regex("OTLP/gRPC listening[^\\n]*127\\.0\\.0\\.1:([0-9]+)"))) << err;
  const int port = std::stoi(m[1].str());
  const std::string ca = dir + "/ca/ca.crt";

  EXPECT_EQ(ConnectTls(port, ca, std::string("\x08http/1.1", 9)), nullptr);

  std::unique_ptr<TlsConnection> tls = ConnectTls(port, ca, std::string("\x02h2", 3));
  ASSERT_NE(tls, nullptr);
  const std::string trace_id = "8bf92f3577b34da6a3ce929d0e0e4736";
  Http2TestClient client;
  const int32_t id = client.Submit("POST", kTraceExport, {{"content-type", "application/grpc"}},
                                   EncodeGrpcMessage(TraceRequest(trace_id, "tls-svc", "tls-span")));
  SSL* ssl = tls->ssl;
  const bool closed = client.Exchange(
      [ssl](std::string_view out) { return out.empty() || SSL_write(ssl, out.data(), static_cast<int>(out.size())) > 0; },
      [ssl, fd = tls->fd](char* buf, size_t size) {
        pollfd p{fd, POLLIN, 0};
        if (SSL_pending(ssl) == 0 && ::poll(&p, 1, 100) <= 0) return ssize_t{-2};
        return static_cast<ssize_t>(SSL_read(ssl, buf, static_cast<int>(size)));
      },
      id, std::chrono::seconds(20));
  ASSERT_TRUE(closed);
  EXPECT_EQ(client.reply(id).trailers.count("grpc-status") ? client.reply(id).trailers.at("grpc-status") : "", "0");
  tls.reset();
  EXPECT_EQ(meshd.Stop().exit_code, 0);
  // The API is HTTPS now: read the span back from the store meshd committed it to.
  const test_support::RunResult shown =
      test_support::RunProcess({MESHTRACE_BIN, "--db", dir + "/mesh.db", "show", trace_id});
  EXPECT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_NE(shown.out.find("tls-span"), std::string::npos) << shown.out;
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace mesh
