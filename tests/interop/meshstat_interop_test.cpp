// meshstat report --format prom against the real promtool (`promtool check metrics`): the report
// of a store with every kind of row (services with and without metrics, slowest operations,
// error messages with quotes and commas) and of an empty store.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "interop_support.h"
#include "mesh/store/store.h"
#include "report_fixture.h"
#include "subprocess.h"

namespace mesh {
namespace {

using interop::TempDir;
using test_support::RunProcess;
using test_support::RunResult;

// The fixture's window, as meshstat's flags.
const std::string kSince = std::to_string(testing::kReportSince / testing::kReportSecond);
const std::string kUntil = std::to_string(testing::kReportT0 / testing::kReportSecond);

RunResult PromReport(const std::string& db) {
  return RunProcess({MESHSTAT_BIN, "--db", db, "report", "--since", kSince, "--until", kUntil,
                     "--format", "prom"});
}

TEST(PromtoolOnMeshstat, FindsNoFormatErrorInTheReport) {
  ASSERT_TRUE(interop::PeerInstalled(PROMTOOL_BIN, "promtool"));
  TempDir dir;
  {
    Result<std::unique_ptr<Store>> store = Store::Open({.path = dir.File("mesh.db")});
    ASSERT_TRUE(store.ok()) << store.status().message();
    Status s = testing::FillReportFixture(**store);
    ASSERT_TRUE(s.ok()) << s.message();
  }
  const RunResult report = PromReport(dir.File("mesh.db"));
  ASSERT_EQ(report.exit_code, 0) << report.err;
  ASSERT_NE(report.out.find("meshstat_requests_per_second{service=\"api\"} 0.5\n"),
            std::string::npos)
      << report.out;
  ASSERT_NE(
      report.out.find(
          "meshstat_error_log_messages{message=\"bad \\\"input\\\", a|b\",service=\"web\"} 1\n"),
      std::string::npos)
      << report.out;
  const RunResult check = RunProcess({PROMTOOL_BIN, "check", "metrics"}, report.out);
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err << report.out;
  EXPECT_EQ(check.out + check.err, "") << report.out;
}

TEST(PromtoolOnMeshstat, FindsNoFormatErrorInTheReportOfAnEmptyStore) {
  ASSERT_TRUE(interop::PeerInstalled(PROMTOOL_BIN, "promtool"));
  TempDir dir;
  ASSERT_TRUE(Store::Open({.path = dir.File("empty.db")}).ok());
  const RunResult report = PromReport(dir.File("empty.db"));
  ASSERT_EQ(report.exit_code, 0) << report.err;
  const RunResult check = RunProcess({PROMTOOL_BIN, "check", "metrics"}, report.out);
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err << report.out;
}

}  // namespace
}  // namespace mesh
