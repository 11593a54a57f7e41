// The report's queries: how the store computes a Report (telemetry/report.h) over a window.
// BuildReport reads every service with metric series (requests, latency, in-flight), or with
// spans or error logs in the window; every query it runs is on an index (BuildReportSql is
// public so that a test can check each plan). BuildReport uses the caller's Store connection
// (one thread at a time) and, for a store file, up to three more read-only connections of its
// own, one per worker thread, that it closes before returning. StoreReports is the store's
// ReportSource; like a Store, it is used by one thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "mesh/base/status.h"
#include "mesh/store/store.h"
#include "mesh/telemetry/report.h"
#include "mesh/telemetry/report_source.h"

namespace mesh {

// Errors: InvalidArgument for an empty window, IOError from the store.
Result<Report> BuildReport(Store& store, const ReportQuery& query);

// The SQL behind BuildReport, pure so that tests can check that every plan uses an index.
// kInFlightMax takes the series id as an extra first parameter.
enum class ReportSql {
  kMetricServices,  // services with request, latency or in-flight series
  kSpanServices,    // services with spans (a loose scan: one index seek per service)
  kLogServices,     // services with log records (likewise)
  kSpans,           // one service's spans in the window: name, duration, status
  kErrorLogs,       // one service's error records in the window, grouped by message
  kInFlightSeries,  // one service's mesh_requests_in_flight series
  kInFlightMax,     // the highest sample of one series in the window
};
SqlQuery BuildReportSql(ReportSql which, const std::string& service, int64_t since_ns,
                        int64_t until_ns);

// Reports computed by BuildReport on a store it owns.
class StoreReports : public ReportSource {
 public:
  explicit StoreReports(std::unique_ptr<Store> store);
  Result<Report> Get(const ReportQuery& query) override;

 private:
  std::unique_ptr<Store> store_;
};

}  // namespace mesh
