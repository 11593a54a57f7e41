// The process's open-file limit (RLIMIT_NOFILE), which bounds how many connections a server can
// hold: each is a descriptor. A server raises its soft limit to the hard one at start-up, as
// nginx's worker_rlimit_nofile does, and sizes its connection slots within what it got, so that
// accept() never fails for want of a descriptor the store or a log file needed. Process-wide:
// call RaiseOpenFileLimit once, from main, before threads open files.
#pragma once

#include <cstddef>
#include <cstdint>

namespace mesh {

// Raises the soft limit to the hard limit and returns the soft limit in force afterwards (the
// old one if the kernel refused to raise it: the server then runs within it).
uint64_t RaiseOpenFileLimit();

// Connections a server may hold with `open_files` descriptors, keeping `reserved` of them for
// everything else (the store's files, logs, outgoing connections, the listening socket);
// at least 1, however small the limit.
size_t ConnectionsWithin(uint64_t open_files, uint64_t reserved);

}  // namespace mesh
