// ReportSource: where meshstat gets its reports from. The local SQLite store implements it
// (StoreReports, store/report_queries.h) and so does a remote meshd over GET /v1/report (in
// meshstat), which computes the same report and sends it in EncodeReportJson's form: every
// meshstat subcommand prints the same bytes either way. Implementations document their own
// thread-safety.
#pragma once

#include <cstdint>
#include <string>

#include "mesh/base/status.h"
#include "mesh/telemetry/report.h"

namespace mesh {

struct ReportQuery {
  int64_t since_ns = 0;
  int64_t until_ns = 0;  // must be after since_ns
  std::string service;   // only this one (reported even without data); empty: every service
};

class ReportSource {
 public:
  virtual ~ReportSource() = default;
  // The report over [since, until). Errors: InvalidArgument for an empty window; otherwise
  // whatever kept the source from answering (IOError for a store, the transport or meshd's
  // answer for a server).
  virtual Result<Report> Get(const ReportQuery& query) = 0;
};

}  // namespace mesh
