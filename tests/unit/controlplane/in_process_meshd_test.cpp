// The in-process meshd of the client suites keeps fixtures at fixed dates however far its clock
// is past them: idle upkeep (registry sweep, then retention) runs about once a second, so a
// fixture older than meshd's retention passes only while a test outruns it. Both tests wait for
// two sweeps, the second proving that the retention pass after the first has finished.
#include "in_process_meshd.h"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "mesh/telemetry/report.h"
#include "mesh/store/store.h"
#include "report_fixture.h"
#include "test_support.h"

namespace mesh {
namespace controlplane_in_process_meshd_test {

using namespace std::chrono_literals;
using testing::kReportSecond;
using testing::kReportT0;

constexpr int64_t kDay = 86400 * kReportSecond;

class InProcessMeshdTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<std::unique_ptr<Store>> store = Store::Open({.path = db_});
    ASSERT_TRUE(store.ok()) << store.status().message();
    Status s = testing::FillReportFixture(**store);
    ASSERT_TRUE(s.ok()) << s.message();
  }

  // Registers `service` (TTL 1 s), moves the clock 10 s on and waits until meshd's upkeep has
  // swept it. Fails the test if no sweep comes within 10 s.
  void WaitForASweep(testing::InProcessMeshd& meshd, const std::string& service) {
    const HttpClientResponse r = meshd.Request(
        "POST", "/v1/register", R"({"service":")" + service + R"(","host":"127.0.0.1","port":1,"ttl_seconds":1})");
    ASSERT_EQ(r.status, 200) << r.body;
    clock_.Advance(10 * kReportSecond);
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (meshd.Request("GET", "/v1/services").body.find('"' + service + '"') != std::string::npos) {
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "no upkeep swept " << service;
      std::this_thread::sleep_for(20ms);
    }
  }

  // Requests to api in the fixture's hour, as meshd's report route sees them.
  int64_t ApiRequests(testing::InProcessMeshd& meshd) {
    const HttpClientResponse r = meshd.Request(
        "GET", "/v1/report?since=" + std::to_string(testing::kReportSince / kReportSecond) +
                   "&until=" + std::to_string(kReportT0 / kReportSecond) + "&service=api");
    EXPECT_EQ(r.status, 200) << r.body;
    Result<Report> report = DecodeReportJson(r.body);
    EXPECT_TRUE(report.ok()) << r.body;
    if (!report.ok() || report->services.empty()) return 0;
    return report->services[0].signals.requests;
  }

  testing::TempDir dir_;
  std::string db_ = dir_.File("mesh.db");
  testing::FakeClock clock_{kReportT0};
};

TEST_F(InProcessMeshdTest, KeepsFixedDateFixturesWhenItsClockIsYearsPastThem) {
  testing::InProcessMeshd meshd(db_, {}, clock_);
  ASSERT_EQ(ApiRequests(meshd), 1800);
  clock_.Advance(3 * 365 * kDay);
  ASSERT_NO_FATAL_FAILURE(WaitForASweep(meshd, "first"));
  ASSERT_NO_FATAL_FAILURE(WaitForASweep(meshd, "second"));
  EXPECT_EQ(ApiRequests(meshd), 1800);
}

// The control: the same wait reaches a retention pass, which a retention a test sets does run.
TEST_F(InProcessMeshdTest, ARetentionTheTestSetsStillPrunes) {
  testing::InProcessMeshd meshd(db_, {.retention_ns = kDay}, clock_);
  ASSERT_EQ(ApiRequests(meshd), 1800);
  clock_.Advance(2 * kDay);
  ASSERT_NO_FATAL_FAILURE(WaitForASweep(meshd, "first"));
  ASSERT_NO_FATAL_FAILURE(WaitForASweep(meshd, "second"));
  EXPECT_EQ(ApiRequests(meshd), 0);
}

}  // namespace
}  // namespace mesh
