// metrics_bench: the cost of recording a metric on a hot path (MetricsRegistry's Counter and
// Histogram) against the floor, a plain std::atomic increment, in the same run: uncontended
// (1 thread) and with 2, 4 and 8 threads hammering the same series.
//
//   build/bench/metrics_bench [--benchmark_filter=REGEX]
#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdint>

#include "mesh/telemetry/metrics.h"

namespace {

mesh::MetricsRegistry& Registry() {
  static mesh::MetricsRegistry registry;
  return registry;
}

mesh::Counter& SharedCounter() {
  static mesh::Counter* counter = *(*Registry().AddCounter("bench_ops_total", "Ops."))->WithLabels({});
  return *counter;
}

mesh::Histogram& SharedHistogram() {
  static mesh::Histogram* histogram = *(*Registry().AddHistogram("bench_op_seconds", "Op time."))->WithLabels({});
  return *histogram;
}

std::atomic<uint64_t> shared_atomic{0};

void BM_StdAtomicIncrement(benchmark::State& state) {
  for (auto _ : state) shared_atomic.fetch_add(1, std::memory_order_relaxed);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_StdAtomicIncrement)->ThreadRange(1, 8)->UseRealTime();

void BM_CounterInc(benchmark::State& state) {
  mesh::Counter& counter = SharedCounter();
  for (auto _ : state) counter.Inc();
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CounterInc)->ThreadRange(1, 8)->UseRealTime();

void BM_HistogramObserve(benchmark::State& state) {
  mesh::Histogram& histogram = SharedHistogram();
  double v = 0.0001;
  for (auto _ : state) {
    histogram.Observe(v);
    v = v < 5 ? v * 1.7 : 0.0001;  // walk across the buckets
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_HistogramObserve)->ThreadRange(1, 8)->UseRealTime();

// The per-request cost when the labels vary: the family lookup (a lock and a map) included.
void BM_CounterWithLabelsLookupAndInc(benchmark::State& state) {
  static mesh::Family<mesh::Counter>* family =
      *Registry().AddCounter("bench_requests_total", "Requests.", {"service", "method", "route", "code"});
  for (auto _ : state) (*family->WithLabels({"checkout", "GET", "/orders", "200"}))->Inc();
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CounterWithLabelsLookupAndInc)->ThreadRange(1, 8)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
