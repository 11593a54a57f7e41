#include "mesh/telemetry/process_metrics.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <charconv>
#include <fstream>
#include <limits>
#include <sstream>

namespace mesh {
namespace {

template <typename T>
std::optional<T> ParseNumber(std::string_view s) {
  T value{};
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return value;
}

std::optional<std::string> ReadSmallFile(const char* path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return std::nullopt;
  return text.str();
}

class LinuxProcessInfoSource : public ProcessInfoSource {
 public:
  std::optional<std::string> SelfStat() const override { return ReadSmallFile("/proc/self/stat"); }
  std::optional<std::string> SystemStat() const override { return ReadSmallFile("/proc/stat"); }
  std::optional<int64_t> OpenFds() const override {
    DIR* dir = opendir("/proc/self/fd");
    if (dir == nullptr) return std::nullopt;
    int64_t n = 0;
    while (const dirent* entry = readdir(dir)) {
      if (entry->d_name[0] != '.') ++n;
    }
    closedir(dir);
    return n > 0 ? n - 1 : 0;  // less the descriptor of the listing itself
  }
  std::optional<int64_t> MaxFds() const override {
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return std::nullopt;
    if (limit.rlim_cur == RLIM_INFINITY) return std::numeric_limits<int64_t>::max();
    return static_cast<int64_t>(limit.rlim_cur);
  }
  int64_t ClockTicksPerSecond() const override { return sysconf(_SC_CLK_TCK); }
  int64_t PageSizeBytes() const override { return sysconf(_SC_PAGESIZE); }
};

}  // namespace

std::unique_ptr<ProcessInfoSource> LinuxProcessInfo() { return std::make_unique<LinuxProcessInfoSource>(); }

std::optional<ProcSelfStat> ParseProcSelfStat(std::string_view text) {
  // "pid (comm) state ppid ...": comm is whatever the program named itself, so the fields start
  // after the last ')'. Field 3 (state) is index 0 of what follows.
  const size_t close = text.rfind(')');
  if (close == std::string_view::npos) return std::nullopt;
  std::vector<std::string_view> fields;
  std::string_view rest = text.substr(close + 1);
  while (!rest.empty() && fields.size() < 22) {
    const size_t start = rest.find_first_not_of(" \n");
    if (start == std::string_view::npos) break;
    rest.remove_prefix(start);
    const size_t end = std::min(rest.find_first_of(" \n"), rest.size());
    fields.push_back(rest.substr(0, end));
    rest.remove_prefix(end);
  }
  if (fields.size() < 22) return std::nullopt;
  // proc(5): utime is field 14, stime 15, starttime 22, rss 24.
  const auto utime = ParseNumber<uint64_t>(fields[11]);
  const auto stime = ParseNumber<uint64_t>(fields[12]);
  const auto start = ParseNumber<uint64_t>(fields[19]);
  const auto rss = ParseNumber<int64_t>(fields[21]);
  if (!utime || !stime || !start || !rss || *rss < 0) return std::nullopt;
  return ProcSelfStat{*utime, *stime, *start, *rss};
}

std::optional<int64_t> ParseBootTime(std::string_view proc_stat) {
  while (!proc_stat.empty()) {
    const size_t end = std::min(proc_stat.find('\n'), proc_stat.size());
    std::string_view line = proc_stat.substr(0, end);
    proc_stat.remove_prefix(std::min(end + 1, proc_stat.size()));
    if (!line.starts_with("btime ")) continue;
    line.remove_prefix(6);
    while (line.starts_with(' ')) line.remove_prefix(1);
    const auto seconds = ParseNumber<int64_t>(line);
    if (seconds && *seconds > 0) return seconds;
    return std::nullopt;
  }
  return std::nullopt;
}

ProcessStats ReadProcessStats(const ProcessInfoSource& source) {
  ProcessStats stats;
  const int64_t ticks = source.ClockTicksPerSecond();
  const int64_t page = source.PageSizeBytes();
  const std::optional<std::string> self = source.SelfStat();
  if (const std::optional<ProcSelfStat> stat = self ? ParseProcSelfStat(*self) : std::nullopt) {
    if (ticks > 0) {
      stats.cpu_seconds = static_cast<double>(stat->utime_ticks + stat->stime_ticks) / static_cast<double>(ticks);
      const std::optional<std::string> system = source.SystemStat();
      if (const std::optional<int64_t> boot = system ? ParseBootTime(*system) : std::nullopt) {
        stats.start_time_seconds =
            static_cast<double>(*boot) + static_cast<double>(stat->start_ticks) / static_cast<double>(ticks);
      }
    }
    if (page > 0) stats.resident_bytes = static_cast<double>(stat->rss_pages) * static_cast<double>(page);
  }
  if (const std::optional<int64_t> open = source.OpenFds(); open && *open >= 0) stats.open_fds = static_cast<double>(*open);
  if (const std::optional<int64_t> max = source.MaxFds(); max && *max > 0) stats.max_fds = static_cast<double>(*max);
  return stats;
}

std::vector<MetricFamily> ProcessMetricFamilies(const ProcessStats& stats) {
  std::vector<MetricFamily> families;
  const auto add = [&](const std::optional<double>& value, const char* name, const char* help, MetricType type) {
    if (value) families.push_back({name, help, type, {{name, {}, *value, {}}}});
  };
  add(stats.cpu_seconds, "process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
      MetricType::kCounter);
  add(stats.resident_bytes, "process_resident_memory_bytes", "Resident memory size in bytes.", MetricType::kGauge);
  add(stats.open_fds, "process_open_fds", "Number of open file descriptors.", MetricType::kGauge);
  add(stats.max_fds, "process_max_fds", "Maximum number of open file descriptors.", MetricType::kGauge);
  add(stats.start_time_seconds, "process_start_time_seconds", "Start time of the process since unix epoch in seconds.",
      MetricType::kGauge);
  return families;
}

}  // namespace mesh
