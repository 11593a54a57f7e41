#include "mesh/base/open_file_limit.h"

#include <sys/resource.h>

#include <algorithm>
#include <limits>

namespace mesh {

uint64_t RaiseOpenFileLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return 0;
  if (limit.rlim_cur < limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
  }
  return static_cast<uint64_t>(limit.rlim_cur);
}

size_t ConnectionsWithin(uint64_t open_files, uint64_t reserved) {
  const uint64_t room = open_files > reserved ? open_files - reserved : 1;
  return static_cast<size_t>(std::min<uint64_t>(room, std::numeric_limits<size_t>::max()));
}

}  // namespace mesh
