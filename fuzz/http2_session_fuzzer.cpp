// Fuzz target: Http2ServerSession, the server side of meshd's OTLP/gRPC connections, fed any
// bytes as a client connection would send them. The input's first byte chooses how: bit 0 puts
// the client preface ahead of the rest (so that most inputs reach frame parsing), bits 1-4 cut
// the rest into reads of 1 to 16 KiB-ish sizes, bit 5 answers each request at once (else the
// answers come after the bytes, out of order), bit 6 lets gRPC deadlines expire in between.
// Invariants: a request handed over has its body within the bound (empty when too large), and
// no stream is handed over twice; the session never throws and always has output to flush.
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.h"
#include "mesh/base/clock.h"
#include "mesh/http2/grpc_framing.h"
#include "mesh/http2/http2_server_session.h"

namespace {

class SteppingClock : public mesh::Clock {
 public:
  int64_t NowNs() const override { return now_ns; }
  int64_t now_ns = 1'000'000'000;
};

constexpr size_t kMaxBody = 4096;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t mode = data[0];
  std::string input;
  if (mode & 1) input = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
  input.append(reinterpret_cast<const char*>(data + 1), size - 1);
  const size_t chunk = size_t{1} << ((mode >> 1) & 0x0F);  // 1 .. 32768
  const bool answer_at_once = (mode & 0x20) != 0;
  const bool expire = (mode & 0x40) != 0;

  SteppingClock clock;
  std::set<int32_t> handed;
  std::vector<int32_t> pending;
  mesh::Http2ServerSession* self = nullptr;
  auto made = mesh::Http2ServerSession::Create(
      {.max_body_bytes = kMaxBody, .max_concurrent_streams = 8, .clock = &clock},
      [&](int32_t id, mesh::HttpRequest request, bool too_large, std::optional<int64_t>) {
        FUZZ_CHECK(id > 0 && id % 2 == 1);
        FUZZ_CHECK(handed.insert(id).second);
        FUZZ_CHECK(request.body.size() <= kMaxBody);
        FUZZ_CHECK(!too_large || request.body.empty());
        if (answer_at_once && self != nullptr) {
          self->Respond(id, mesh::Http2Response{.status = 200,
                                                .headers = {{"content-type", "application/grpc"}},
                                                .body = mesh::EncodeGrpcMessage(request.body.substr(0, 64)),
                                                .trailers = mesh::GrpcStatusTrailers(mesh::GrpcStatus::kOk, "")});
        } else {
          pending.push_back(id);
        }
      });
  FUZZ_CHECK(made.ok());
  mesh::Http2ServerSession& session = **made;
  self = &session;
  (void)session.TakeOutput();
  for (size_t at = 0; at < input.size(); at += chunk) {
    const mesh::Status received = session.Receive(std::string_view(input).substr(at, chunk));
    (void)session.TakeOutput();
    if (!received.ok()) break;
    if (expire) {
      clock.now_ns += 50'000'000;
      session.ExpireDeadlines();
    }
  }
  for (auto it = pending.rbegin(); it != pending.rend(); ++it) {
    session.Respond(*it, mesh::Http2Response{.status = 503, .body = "later", .trailers = {{"grpc-status", "14"}}});
  }
  (void)session.TakeOutput();
  session.Shutdown();
  (void)session.TakeOutput();
  (void)session.WantsIo();
  return 0;
}
