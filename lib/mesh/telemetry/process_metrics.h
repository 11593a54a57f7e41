// Process metrics: the standard series every Prometheus client library exports about its own
// process (process_cpu_seconds_total, process_resident_memory_bytes, process_open_fds,
// process_max_fds, process_start_time_seconds), computed as client_golang computes them on
// Linux: CPU and start time from /proc/self/stat in clock ticks, resident memory from its page
// count, open descriptors by listing /proc/self/fd, the limit from the soft RLIMIT_NOFILE.
//
// The reading is behind ProcessInfoSource so that the parsing is pure and tested on fixture
// text. A figure that cannot be read or parsed (a missing file, short or garbled text) is left
// out of the exposition, never guessed. LinuxProcessInfo() is stateless and thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mesh/telemetry/metric_sample.h"

namespace mesh {

// What the operating system tells about this process; nullopt when it could not be read.
class ProcessInfoSource {
 public:
  virtual ~ProcessInfoSource() = default;
  virtual std::optional<std::string> SelfStat() const = 0;    // /proc/self/stat
  virtual std::optional<std::string> SystemStat() const = 0;  // /proc/stat (its btime line)
  virtual std::optional<int64_t> OpenFds() const = 0;         // entries of /proc/self/fd
  virtual std::optional<int64_t> MaxFds() const = 0;          // RLIMIT_NOFILE, soft
  virtual int64_t ClockTicksPerSecond() const = 0;            // sysconf(_SC_CLK_TCK)
  virtual int64_t PageSizeBytes() const = 0;                  // sysconf(_SC_PAGESIZE)
};

std::unique_ptr<ProcessInfoSource> LinuxProcessInfo();

// The fields of /proc/self/stat used here, in their raw units.
struct ProcSelfStat {
  uint64_t utime_ticks = 0;
  uint64_t stime_ticks = 0;
  uint64_t start_ticks = 0;  // after boot
  int64_t rss_pages = 0;
};
// nullopt for text that is not a stat line (the command name may hold spaces and parentheses:
// fields are counted from the last ')').
std::optional<ProcSelfStat> ParseProcSelfStat(std::string_view text);
// The boot time (Unix seconds) from /proc/stat's "btime" line; nullopt without one.
std::optional<int64_t> ParseBootTime(std::string_view proc_stat);

struct ProcessStats {
  std::optional<double> cpu_seconds;
  std::optional<double> resident_bytes;
  std::optional<double> open_fds;
  std::optional<double> max_fds;
  std::optional<double> start_time_seconds;
};
ProcessStats ReadProcessStats(const ProcessInfoSource& source);

// One family per figure present, without labels.
std::vector<MetricFamily> ProcessMetricFamilies(const ProcessStats& stats);

}  // namespace mesh
