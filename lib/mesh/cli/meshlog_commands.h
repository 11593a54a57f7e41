// The meshlog subcommands as library functions: cmd/meshlog/main.cpp parses flags into these
// option structs and calls Run*. Each returns the process exit code (0 ok, 1 runtime failure,
// 2 usage error) after printing data to io.out and one "meshlog: ..." line per error to io.err.
#pragma once

#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "mesh/base/command_io.h"

namespace mesh {

struct LogFilterOptions {
  std::vector<std::string> services;
  std::string level;  // minimum level
  std::string since;
  std::string until;
  std::string trace;
  std::string grep;
};

struct WriteOptions {
  BackendOptions backend;
  std::string service;  // empty: $MESH_SERVICE, else "cli"
  std::string level = "info";
  std::string trace;
  std::string span;
  std::string message;
  std::vector<std::string> fields;  // key=value
};

struct IngestOptions {
  BackendOptions backend;
  std::string service;
  std::string format = "json";
  std::string level = "info";  // for lines that carry none
  bool tee = false;
  size_t max_line_bytes = 1 << 20;
  bool index = true;  // feed the full-text index while input is idle
};

struct TailOptions {
  BackendOptions backend;
  LogFilterOptions filter;
  size_t lines = 10;
  bool follow = false;
  int poll_ms = 250;
  std::string output;  // empty: pretty on a terminal, json otherwise
};

struct QueryOptions {
  BackendOptions backend;
  LogFilterOptions filter;
  std::string text;
  size_t limit = 100;
  bool reverse = false;
  bool count = false;
  std::string output;
};

struct StatsOptions {
  BackendOptions backend;
  LogFilterOptions filter;
  std::string output = "table";
};

int RunWrite(const WriteOptions& options, const CommandIo& io);
int RunIngest(const IngestOptions& options, const CommandIo& io);
int RunTail(const TailOptions& options, const CommandIo& io);
int RunQuery(const QueryOptions& options, const CommandIo& io);
int RunStats(const StatsOptions& options, const CommandIo& io);

}  // namespace mesh
