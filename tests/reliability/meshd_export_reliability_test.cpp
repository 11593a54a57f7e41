// Reliability of meshd --export-otlp (issue 22): the OTLP receiver is down for 60 seconds while
// spans keep arriving and meshd is restarted halfway through; once the receiver is back, every
// span acknowledged to its producer arrives, each exactly once. Prints one "RELIABILITY ..."
// summary line; docs/reliability.md quotes it.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <set>
#include <string>
#include <thread>

#include "free_port.h"
#include "meshd_fixture.h"
#include "otlp_capture_receiver.h"

namespace mesh {
namespace {

using test_support::MeshdProcess;
using test_support::OtlpCaptureReceiver;
using namespace std::chrono_literals;

bool PollUntil(std::chrono::milliseconds timeout, const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(100ms);
  }
  return true;
}

// One trace of `n` spans of service api as OTLP/JSON; the span ids go into `ids`.
std::string Trace(int t, int n, std::set<std::string>& ids) {
  char trace_id[33];
  std::snprintf(trace_id, sizeof trace_id, "%032x", 0x5eed0000 + t);
  std::string spans;
  for (int i = 0; i < n; ++i) {
    char id[17];
    std::snprintf(id, sizeof id, "%08x%08x", t + 1, i + 1);
    ids.insert(id);
    if (!spans.empty()) spans += ',';
    spans += std::string(R"({"traceId":")") + trace_id + R"(","spanId":")" + id +
             R"(","name":"op","startTimeUnixNano":"1764075600000000000","endTimeUnixNano":"1764075600001000000"})";
  }
  return R"({"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"api"}}]},"scopeSpans":[{"spans":[)" +
         spans + "]}]}]}";
}

TEST(MeshdExportReliability, ReceiverDownForSixtySecondsWithARestartThenEverySpanArrivesOnce) {
  char tmpl[] = "/tmp/meshd-export-rel-XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  test_support::PortHold hold(0);
  ASSERT_TRUE(hold.held());
  const std::vector<std::string> flags = {"--export-otlp", "http://127.0.0.1:" + std::to_string(hold.port()),
                                          "--export-otlp-trace-settle", "1s", "--export-otlp-max-backoff", "2s"};
  std::set<std::string> sent;
  const auto started = std::chrono::steady_clock::now();
  const auto outage_ends = started + 60s;
  int traces = 0;
  // Two meshd lives during the outage: spans pushed every 500 ms to each.
  for (int life = 0; life < 2; ++life) {
    MeshdProcess a(dir + "/a.db", flags);
    ASSERT_TRUE(a.ready()) << a.process().err();
    const auto life_ends = life == 0 ? started + 30s : outage_ends;
    while (std::chrono::steady_clock::now() < life_ends) {
      ASSERT_EQ(a.Request("POST", "/v1/traces", Trace(traces, 5, sent), {{"Content-Type", "application/json"}}).status,
                200);
      ++traces;
      std::this_thread::sleep_for(500ms);
    }
    if (life == 0) {
      ASSERT_EQ(a.Stop().exit_code, 0);
      continue;
    }
    OtlpCaptureReceiver receiver;
    hold.Release();
    ASSERT_TRUE(receiver.Start(hold.port()).ok());
    const auto back = std::chrono::steady_clock::now();
    ASSERT_TRUE(PollUntil(8s, [&] { return receiver.span_counts().size() == sent.size(); }))
        << receiver.span_counts().size() << " of " << sent.size() << "\n" << a.process().err();
    const double catch_up_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - back).count();
    int duplicates = 0;
    for (const auto& [id, times] : receiver.span_counts()) {
      EXPECT_TRUE(sent.count(id)) << id;
      EXPECT_EQ(times, 1) << id;
      duplicates += times - 1;
    }
    std::printf("RELIABILITY ReceiverDownForSixtySeconds: %zu spans in %d traces acknowledged during a 60 s outage "
                "(meshd restarted at 30 s), %zu received once each after the receiver came back, %d duplicates, "
                "caught up in %.1f s\n",
                sent.size(), traces, receiver.span_counts().size(), duplicates, catch_up_s);
    ::testing::Test::RecordProperty("spans", static_cast<int>(sent.size()));
    ::testing::Test::RecordProperty("duplicates", duplicates);
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace mesh
