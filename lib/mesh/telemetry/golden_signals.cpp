#include "mesh/telemetry/golden_signals.h"

#include <cmath>

namespace mesh {

double CounterIncrease(const std::vector<TimedValue>& points) {
  double total = 0;
  for (size_t i = 1; i < points.size(); ++i) {
    const double delta = points[i].value - points[i - 1].value;
    total += delta >= 0 ? delta : points[i].value;
  }
  return total;
}

std::optional<double> HistogramQuantile(double q, const std::vector<std::pair<double, double>>& buckets) {
  // Written as a range check so that a NaN q is refused too (it compares false both ways).
  if (buckets.empty() || !(q >= 0 && q <= 1)) return std::nullopt;
  const double total = buckets.back().second;
  if (total <= 0) return std::nullopt;
  const double rank = q * total;
  double lower_bound = 0;
  double lower_count = 0;
  for (size_t i = 0; i < buckets.size(); ++i) {
    const auto [bound, count] = buckets[i];
    if (count >= rank) {
      // In the +Inf bucket there is no upper bound to interpolate to: answer the highest
      // finite bound, as histogram_quantile does.
      if (std::isinf(bound)) return i > 0 ? buckets[i - 1].first : std::optional<double>();
      // The lowest bucket interpolates up from 0, which only makes sense for a positive bound;
      // histogram_quantile answers a non-positive lowest bound as it is (interpolating from 0
      // would give values above the bound, decreasing as q grows).
      if (i == 0 && bound <= 0) return bound;
      const double in_bucket = count - lower_count;
      if (in_bucket <= 0) return bound;
      return lower_bound + (bound - lower_bound) * (rank - lower_count) / in_bucket;
    }
    lower_bound = bound;
    lower_count = count;
  }
  return buckets.back().first;
}

}  // namespace mesh
