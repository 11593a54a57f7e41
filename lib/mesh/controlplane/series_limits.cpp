#include "mesh/controlplane/series_limits.h"

#include <set>

#include "mesh/base/json_text.h"

namespace mesh {

std::map<std::string, int64_t> DistinctSeriesByService(const std::vector<MetricFamily>& families) {
  std::set<std::string> seen;
  std::map<std::string, int64_t> by_service;
  for (const MetricFamily& f : families) {
    for (const MetricSample& s : f.samples) {
      if (seen.insert(s.name + LabelsText(s.labels)).second)
        ++by_service[LabelValue(s.labels, "service")];
    }
  }
  return by_service;
}

std::optional<SeriesRefusal> CheckSeriesPerPush(const std::map<std::string, int64_t>& by_service,
                                                const SeriesLimits& limits) {
  int64_t total = 0;
  for (const auto& [service, n] : by_service) total += n;
  if (total <= static_cast<int64_t>(limits.per_push)) return std::nullopt;
  return SeriesRefusal{"per_push", "", limits.per_push, total};
}

HttpResponse SeriesRefusalResponse(const SeriesRefusal& refusal) {
  const std::string service = refusal.service.empty() ? "(no service label)" : refusal.service;
  const std::string message =
      refusal.reason == "per_push"
          ? "push refused, nothing stored: " + std::to_string(refusal.series) +
                " distinct series in one push, over meshd's limit of " +
                std::to_string(refusal.limit) + " (--max-series-per-push)"
          : "push refused, nothing stored: service " + service + " would have " +
                std::to_string(refusal.series) + " series, over meshd's limit of " +
                std::to_string(refusal.limit) + " per service (--max-series-per-service)";
  std::string body = "{\"error\":";
  AppendJsonString(body, message);
  body += ",\"bound\":";
  AppendJsonString(body, refusal.reason);
  if (refusal.reason == "per_service") {
    body += ",\"service\":";
    AppendJsonString(body, refusal.service);
  }
  body += ",\"limit\":" + std::to_string(refusal.limit) +
          ",\"series\":" + std::to_string(refusal.series) + "}";
  return HttpResponse::Json(400, std::move(body));
}

}  // namespace mesh
