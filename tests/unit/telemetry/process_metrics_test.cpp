#include "mesh/telemetry/process_metrics.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "mesh/telemetry/prometheus_text.h"

namespace mesh {
namespace telemetry_process_metrics_test {

// A real /proc/self/stat line, with a command name that holds spaces and parentheses;
// utime 250, stime 150, starttime 4299556, rss 417 pages.
const std::string kStat =
    "27658 (my (odd) proc) R 27652 27652 19891 0 -1 4194304 97 0 0 0 250 150 0 0 20 0 1 0 4299556 3133440 417 "
    "18446744073709551615 94312704950272 94312704970153 140730773960864 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";
const std::string kSystemStat = "cpu  1 2 3 4\nintr 5\nbtime 1796638739\nprocesses 8\n";

class FakeProcessInfo : public ProcessInfoSource {
 public:
  std::optional<std::string> self_stat = kStat;
  std::optional<std::string> system_stat = kSystemStat;
  std::optional<int64_t> open_fds = 12;
  std::optional<int64_t> max_fds = 1024;
  int64_t ticks = 100;
  int64_t page = 4096;
  std::optional<std::string> SelfStat() const override { return self_stat; }
  std::optional<std::string> SystemStat() const override { return system_stat; }
  std::optional<int64_t> OpenFds() const override { return open_fds; }
  std::optional<int64_t> MaxFds() const override { return max_fds; }
  int64_t ClockTicksPerSecond() const override { return ticks; }
  int64_t PageSizeBytes() const override { return page; }
};

std::vector<std::string> Names(const std::vector<MetricFamily>& families) {
  std::vector<std::string> names;
  for (const MetricFamily& f : families) names.push_back(f.name);
  return names;
}

TEST(ParseProcSelfStat, CountsFieldsFromTheLastParenthesis) {
  const std::optional<ProcSelfStat> stat = ParseProcSelfStat(kStat);
  ASSERT_TRUE(stat);
  EXPECT_EQ(stat->utime_ticks, 250u);
  EXPECT_EQ(stat->stime_ticks, 150u);
  EXPECT_EQ(stat->start_ticks, 4299556u);
  EXPECT_EQ(stat->rss_pages, 417);
}

TEST(ParseProcSelfStat, RefusesEveryTruncationWithoutCrashing) {
  // Cut before the rss field ends: too few fields, or a number cut short that still parses.
  const size_t rss_end = kStat.find(" 417 ") + 4;
  for (size_t n = 0; n < kStat.size(); ++n) {
    const std::optional<ProcSelfStat> stat = ParseProcSelfStat(std::string_view(kStat).substr(0, n));
    if (n < rss_end - 2) {
      EXPECT_FALSE(stat) << n;
    } else if (stat) {
      EXPECT_EQ(stat->utime_ticks, 250u) << n;
    }
  }
}

TEST(ParseProcSelfStat, RefusesGarbageAndNegativeNumbers) {
  EXPECT_FALSE(ParseProcSelfStat(""));
  EXPECT_FALSE(ParseProcSelfStat("no parenthesis here at all"));
  EXPECT_FALSE(ParseProcSelfStat("1 (x) R 1 1 1 0 -1 0 0 0 0 0 abc 150 0 0 20 0 1 0 5 6 7"));
  EXPECT_FALSE(ParseProcSelfStat("1 (x) R 1 1 1 0 -1 0 0 0 0 0 250 150 0 0 20 0 1 0 5 6 -7"));
  EXPECT_FALSE(ParseProcSelfStat(std::string(100, ')')));
}

TEST(ParseBootTime, ReadsTheBtimeLine) {
  EXPECT_EQ(ParseBootTime(kSystemStat), 1796638739);
  EXPECT_EQ(ParseBootTime("btime 7"), 7);
}

TEST(ParseBootTime, RefusesAMissingOrGarbledLine) {
  EXPECT_FALSE(ParseBootTime(""));
  EXPECT_FALSE(ParseBootTime("cpu 1 2 3\n"));
  EXPECT_FALSE(ParseBootTime("btime soon\n"));
  EXPECT_FALSE(ParseBootTime("btime -5\n"));
  EXPECT_FALSE(ParseBootTime("btime \n"));
}

TEST(ReadProcessStats, ConvertsTicksAndPagesAsPrometheusClientsDo) {
  const ProcessStats stats = ReadProcessStats(FakeProcessInfo{});
  EXPECT_DOUBLE_EQ(*stats.cpu_seconds, 4.0);  // (250 + 150) ticks / 100
  EXPECT_DOUBLE_EQ(*stats.resident_bytes, 417.0 * 4096);
  EXPECT_DOUBLE_EQ(*stats.open_fds, 12);
  EXPECT_DOUBLE_EQ(*stats.max_fds, 1024);
  EXPECT_DOUBLE_EQ(*stats.start_time_seconds, 1796638739 + 42995.56);
}

TEST(ReadProcessStats, LeavesOutWhatCannotBeRead) {
  FakeProcessInfo info;
  info.self_stat = "1 (x) R short";
  info.open_fds = std::nullopt;
  const ProcessStats stats = ReadProcessStats(info);
  EXPECT_FALSE(stats.cpu_seconds);
  EXPECT_FALSE(stats.resident_bytes);
  EXPECT_FALSE(stats.start_time_seconds);
  EXPECT_FALSE(stats.open_fds);
  EXPECT_DOUBLE_EQ(*stats.max_fds, 1024);
  EXPECT_EQ(Names(ProcessMetricFamilies(stats)), std::vector<std::string>{"process_max_fds"});
}

TEST(ReadProcessStats, LeavesOutTheStartTimeWithoutABootTimeAndAllTimesWithoutATickRate) {
  FakeProcessInfo info;
  info.system_stat = std::nullopt;
  EXPECT_FALSE(ReadProcessStats(info).start_time_seconds);
  EXPECT_TRUE(ReadProcessStats(info).cpu_seconds);
  info.ticks = 0;
  info.page = -1;
  EXPECT_FALSE(ReadProcessStats(info).cpu_seconds);
  EXPECT_FALSE(ReadProcessStats(info).resident_bytes);
}

TEST(ProcessMetricFamilies, ExposesTheFiveStandardSeriesAsValidPrometheusText) {
  const std::vector<MetricFamily> families = ProcessMetricFamilies(ReadProcessStats(FakeProcessInfo{}));
  EXPECT_EQ(Names(families), (std::vector<std::string>{"process_cpu_seconds_total", "process_resident_memory_bytes",
                                                        "process_open_fds", "process_max_fds",
                                                        "process_start_time_seconds"}));
  EXPECT_EQ(families[0].type, MetricType::kCounter);
  const std::string text = FormatPrometheusText(families);
  EXPECT_NE(text.find("# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total 4\n"), std::string::npos)
      << text;
  Result<std::vector<MetricFamily>> parsed = ParsePrometheusText(text);
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ(parsed->size(), 5u);
}

TEST(LinuxProcessInfo, ReadsThisProcessSanely) {
  const ProcessStats stats = ReadProcessStats(*LinuxProcessInfo());
  ASSERT_TRUE(stats.cpu_seconds && stats.resident_bytes && stats.open_fds && stats.max_fds && stats.start_time_seconds);
  EXPECT_GE(*stats.cpu_seconds, 0);
  EXPECT_GT(*stats.resident_bytes, 1 << 20);  // a test binary holds more than a megabyte
  EXPECT_GE(*stats.open_fds, 3);              // at least stdin, stdout and stderr
  EXPECT_GE(*stats.max_fds, *stats.open_fds);
  EXPECT_GT(*stats.start_time_seconds, 1.6e9);  // after 2020
}

}  // namespace telemetry_process_metrics_test
}  // namespace mesh
