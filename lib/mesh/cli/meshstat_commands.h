// The meshstat subcommands as library functions: cmd/meshstat/main.cpp parses flags into these
// option structs and calls Run*. Each returns the process exit code (0 ok, 1 runtime failure,
// 2 usage error) after printing data to io.out and one "meshstat: ..." line per error to
// io.err. Both work on the local store or, with --server / $MESH_SERVER, on a meshd (its
// GET /v1/report computes the same report, rendered here): the output is the same either way.
#pragma once

#include <string>

#include "mesh/base/command_io.h"

namespace mesh {

struct StatReportOptions {
  BackendOptions backend;
  std::string since = "1h";
  std::string until;  // default: now
  std::string service;
  std::string format = "table";  // table|json|csv|prom|markdown
  // csv only. auto: a header unless standard output is a regular file that already holds
  // data (`>> golden.csv` from cron appends rows only); always; never.
  std::string header = "auto";
};

struct StatTopOptions {
  BackendOptions backend;
  std::string every = "2s";   // refresh interval, at least 100ms
  std::string window = "1m";  // each refresh covers the last `window`
  std::string service;
  int iterations = 0;  // stop after this many refreshes; 0: until q, Ctrl-C or SIGTERM
};

int RunStatReport(const StatReportOptions& options, const CommandIo& io);
// A live table of the golden signals. On a terminal the screen is redrawn each refresh and the
// terminal is in non-canonical, no-echo mode while it runs (restored on every exit, signals
// included); otherwise one table per refresh is appended, separated by a blank line. Keys
// (read from io.in): q quits. SIGINT quits (0); SIGTERM and SIGHUP quit with 128+N.
int RunStatTop(const StatTopOptions& options, const CommandIo& io);

}  // namespace mesh
