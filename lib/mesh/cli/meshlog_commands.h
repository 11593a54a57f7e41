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
  std::string format = "auto";  // auto|json|logfmt|text, or a text format's name
  std::string format_name;      // force this text format (same as -f NAME)
  std::string level = "info";   // for lines that carry none
  std::string tz;               // zone of zone-less times: local (default), UTC, +01:00, Europe/Paris
  int year = 0;                 // year of year-less times (syslog); 0: the file's mtime rule
  bool tee = false;
  size_t max_line_bytes = 1 << 20;
  bool index = true;  // feed the full-text index while input is idle
  bool explain = false;         // print how the first lines parse, store nothing
  size_t explain_lines = 20;
  int idle_flush_ms = 500;      // a multi-line record waits at most this long for more lines
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

// The help text of ingest's --format, naming every text format.
std::string IngestFormatHelp();

int RunWrite(const WriteOptions& options, const CommandIo& io);
int RunIngest(const IngestOptions& options, const CommandIo& io);
int RunTail(const TailOptions& options, const CommandIo& io);
int RunQuery(const QueryOptions& options, const CommandIo& io);
int RunStats(const StatsOptions& options, const CommandIo& io);

}  // namespace mesh
