#!/usr/bin/env node
// Sends metrics to meshd with the real OpenTelemetry JS SDK (sdk-metrics) and its OTLP/HTTP
// metrics exporters: protobuf (exporter-metrics-otlp-proto) or JSON (exporter-metrics-otlp-http),
// or its OTLP/gRPC one (exporter-metrics-otlp-grpc; the URL is then meshd's gRPC port).
//
//   node send_metrics.js http://127.0.0.1:PORT proto|json|grpc cumulative|delta [service-name]
//
// Two collections, each exported when the provider is flushed:
//   1. counter shop.orders {order} +3 (payment.method=card), up-down counter shop.queue.depth
//      {item} +5, histogram shop.checkout.duration ms (bounds 10, 100, 1000) 5 and 50, gauge
//      shop.temperature Cel 21.5 (all with region=eu-west, attempt=2);
//   2. counter +2, up-down counter -2, histogram 500, gauge 19.25.
// Exits 1 (with the reason on stderr) when the exporter reports a failed export.
"use strict";

const api = require("@opentelemetry/api");
const { MeterProvider, PeriodicExportingMetricReader } = require("@opentelemetry/sdk-metrics");
const { AggregationTemporalityPreference } = require("@opentelemetry/exporter-metrics-otlp-http");
const { resourceFromAttributes } = require("@opentelemetry/resources");

const [baseUrl, protocol, temporality, serviceName = "otel-js-shop"] = process.argv.slice(2);
if (!baseUrl || !["proto", "json", "grpc"].includes(protocol) || !["cumulative", "delta"].includes(temporality)) {
  process.stderr.write("send_metrics: usage: send_metrics.js http://127.0.0.1:PORT proto|json|grpc cumulative|delta [service]\n");
  process.exit(2);
}
const { OTLPMetricExporter } =
  require(protocol === "json" ? "@opentelemetry/exporter-metrics-otlp-http" : "@opentelemetry/exporter-metrics-otlp-" + protocol);
const { failures } = require("./checking_exporter");

// Forwards to the exporter and records failed exports (the reader needs the exporter's
// temporality and aggregation selectors too).
class CheckingMetricExporter {
  constructor(inner) {
    this.inner = inner;
  }
  export(metrics, done) {
    this.inner.export(metrics, (result) => {
      if (result.code !== 0) failures.push("export failed: " + (result.error ? result.error.message : "code " + result.code));
      done(result);
    });
  }
  selectAggregationTemporality(kind) {
    return this.inner.selectAggregationTemporality(kind);
  }
  selectAggregation(kind) {
    return this.inner.selectAggregation(kind);
  }
  forceFlush() {
    return this.inner.forceFlush();
  }
  shutdown() {
    return this.inner.shutdown();
  }
}

async function main() {
  const exporter = new OTLPMetricExporter({
    url: protocol === "grpc" ? baseUrl : baseUrl.replace(/\/$/, "") + "/v1/metrics",
    timeoutMillis: 10000,
    temporalityPreference:
      temporality === "delta" ? AggregationTemporalityPreference.DELTA : AggregationTemporalityPreference.CUMULATIVE,
  });
  const reader = new PeriodicExportingMetricReader({
    exporter: new CheckingMetricExporter(exporter),
    exportIntervalMillis: 3600000,  // exported by forceFlush only
  });
  const provider = new MeterProvider({
    resource: resourceFromAttributes({ "service.name": serviceName, "service.instance.id": "shop-1" }),
    readers: [reader],
  });
  const meter = provider.getMeter("mesh-interop", "0.1.0");
  const orders = meter.createCounter("shop.orders", { unit: "{order}", description: "Orders placed" });
  const queue = meter.createUpDownCounter("shop.queue.depth", { unit: "{item}", description: "Items queued" });
  const duration = meter.createHistogram("shop.checkout.duration", {
    unit: "ms",
    description: "Checkout time",
    advice: { explicitBucketBoundaries: [10, 100, 1000] },
  });
  const temperature = meter.createGauge("shop.temperature", { unit: "Cel", description: "Shop temperature" });
  const attributes = { region: "eu-west", attempt: 2 };

  orders.add(3, { ...attributes, "payment.method": "card" });
  queue.add(5, attributes);
  duration.record(5, attributes);
  duration.record(50, attributes);
  temperature.record(21.5, attributes);
  await provider.forceFlush();

  orders.add(2, { ...attributes, "payment.method": "card" });
  queue.add(-2, attributes);
  duration.record(500, attributes);
  temperature.record(19.25, attributes);
  await provider.forceFlush();
  await provider.shutdown();
  if (failures.length > 0) {
    process.stderr.write("send_metrics: " + failures.join("; ") + "\n");
    process.exit(1);
  }
}

main().catch((e) => {
  process.stderr.write("send_metrics: " + (e && e.stack ? e.stack : e) + "\n");
  process.exit(1);
});
