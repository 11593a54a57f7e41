// Fuzz target: the Prometheus text format 0.0.4 as meshd takes it on POST /v1/metrics
// (ParsePrometheusText, then CheckHistograms), and label sets as ParseLabelsText reads them.
//
// Invariant: text that parses formats (FormatPrometheusText, what meshd exposes and meshproxy
// pushes) to text that parses to the same families: names, types, help, samples, labels,
// values and timestamps. A label set that parses does the same through LabelsText.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "fuzz_check.h"
#include "mesh/telemetry/prometheus_text.h"

namespace {

// NaN is a value the format carries: it must read back as NaN.
bool SameValue(double a, double b) { return (std::isnan(a) && std::isnan(b)) || a == b; }

bool SameSamples(const std::vector<mesh::MetricSample>& a, const std::vector<mesh::MetricSample>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].name != b[i].name || a[i].labels != b[i].labels || !SameValue(a[i].value, b[i].value) ||
        a[i].timestamp_ms != b[i].timestamp_ms) {
      return false;
    }
  }
  return true;
}

bool SameFamilies(const std::vector<mesh::MetricFamily>& a, const std::vector<mesh::MetricFamily>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].name != b[i].name || a[i].type != b[i].type || a[i].help != b[i].help ||
        !SameSamples(a[i].samples, b[i].samples)) {
      return false;
    }
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  if (const auto families = mesh::ParsePrometheusText(text); families.ok()) {
    mesh::CheckHistograms(*families);
    mesh::FormatOpenMetricsText(*families);
    const auto again = mesh::ParsePrometheusText(mesh::FormatPrometheusText(*families));
    FUZZ_CHECK(again.ok());
    FUZZ_CHECK(SameFamilies(*families, *again));
  }

  if (const auto labels = mesh::ParseLabelsText(text); labels.ok()) {
    const auto again = mesh::ParseLabelsText(mesh::LabelsText(*labels));
    FUZZ_CHECK(again.ok());
    FUZZ_CHECK(*again == *labels);
  }
  return 0;
}
