// The wire form of meshd's logs API, both sides: the query string of GET /v1/logs and its
// JSON answers. meshd decodes what RemoteLogSource encodes, so `meshlog --server` prints
// exactly what meshlog prints on the local file. Pure functions, thread-safe.
//
//   GET /v1/logs?service=a,b&level=warn&since=<unix s>&until=..&trace_id=..&grep=..
//       &limit=N                 the newest N by time, oldest first (tail)
//       &after=C[&max_cursor=M]  stored after cursor C, in storage order (follow)
//       &q=TEXT[&order=asc]      full-text search, newest first unless order=asc
//       &q=TEXT&count=true       {"count":N}
//   -> {"cursor":LATEST,"records":[{"cursor":C,"record":{...}}, ...]}
//   GET /v1/logs/stats?service=..&since=..&until=..
//   -> {"stats":[{"service":S,"level":"INFO","count":N}, ...]}
#pragma once

#include <map>
#include <string>
#include <vector>

#include "mesh/telemetry/log_source.h"

namespace mesh {

std::string LogFilterToQuery(const LogFilter& filter);
// Errors: InvalidArgument naming the bad parameter.
Result<LogFilter> LogFilterFromQuery(const std::map<std::string, std::string>& query,
                                     int64_t now_ns);

std::string EncodeLogPage(const std::vector<LogRecord>& records, int64_t latest_cursor);
struct LogPage {
  std::vector<LogRecord> records;  // ids set from the cursors
  int64_t cursor = 0;
};
Result<LogPage> DecodeLogPage(const std::string& json);

std::string EncodeLevelCounts(const std::vector<LevelCount>& counts);
Result<std::vector<LevelCount>> DecodeLevelCounts(const std::string& json);

}  // namespace mesh
