// The meshtrace subcommands as library functions: cmd/meshtrace/main.cpp parses flags into
// these option structs and calls Run*. Each returns the process exit code (0 ok, 1 runtime
// failure, 2 usage error; exec returns its command's) after printing data to io.out and one
// "meshtrace: ..." line per error to io.err. Every command works on the local store or, with
// --server / $MESH_SERVER, on a meshd, with the same output.
#pragma once

#include <string>
#include <vector>

#include "mesh/base/command_io.h"

namespace mesh {

struct ShowOptions {
  BackendOptions backend;
  std::string id;  // trace id or unique prefix
  bool verbose = false;
  bool logs = false;
  std::string output = "tree";  // tree|json|otlp|zipkin
  int width = 0;                // 0: the terminal's ($COLUMNS), else 120
};

struct ListOptions {
  BackendOptions backend;
  std::string service;
  std::string operation;
  std::string min_duration;
  std::string max_duration;
  bool errors = false;
  std::string attr;  // key=value
  std::string since = "1h";
  std::string until;
  size_t limit = 20;
  std::string output = "table";  // table|json
};

struct TraceStatsOptions {
  BackendOptions backend;
  std::string since = "1h";
  std::string until;
  std::string service;  // only this service's operations and edges
  std::string output = "table";  // table|json|csv
};

struct ExportOptions {
  BackendOptions backend;
  std::vector<std::string> ids;  // whole traces; else every span of the window
  std::string since = "1h";
  std::string until;
  std::string format = "jsonl";  // otlp|zipkin|jsonl
};

struct ImportOptions {
  BackendOptions backend;
  std::string file = "-";
};

struct ExecOptions {
  BackendOptions backend;
  std::string service;  // default: $MESH_SERVICE, else the command's base name
  std::string name;     // default: the command line
  std::vector<std::string> attributes;  // key=value
  std::vector<std::string> command;
};

int RunShow(const ShowOptions& options, const CommandIo& io);
int RunList(const ListOptions& options, const CommandIo& io);
int RunTraceStats(const TraceStatsOptions& options, const CommandIo& io);
int RunExport(const ExportOptions& options, const CommandIo& io);
int RunImport(const ImportOptions& options, const CommandIo& io);
int RunExec(const ExecOptions& options, const CommandIo& io);

}  // namespace mesh
