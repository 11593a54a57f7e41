#!/usr/bin/env node
// Sends one trace to meshd with the real OpenTelemetry JS SDK and its OTLP/HTTP exporter: the
// JSON one (exporter-trace-otlp-http), or the protobuf one (exporter-trace-otlp-proto) when the
// third argument is "proto", or its OTLP/gRPC exporter (exporter-trace-otlp-grpc, @grpc/grpc-js)
// when it is "grpc": the URL is then meshd's gRPC port.
//
//   node send_trace.js http://127.0.0.1:PORT [service-name] [json|proto|grpc]
//
// The trace: "checkout" (root, SERVER) -> "charge card" (CLIENT, status ERROR) -> "db query"
// (INTERNAL), with string, int, double and bool attributes and one event. Prints the trace id
// on stdout; exits 1 (with the reason on stderr) when the exporter reports a failed export, so
// that the test sees a refused request instead of a missing trace.
"use strict";

const api = require("@opentelemetry/api");
const { BasicTracerProvider, BatchSpanProcessor } = require("@opentelemetry/sdk-trace-base");
const { resourceFromAttributes } = require("@opentelemetry/resources");

const [baseUrl, serviceName = "otel-js-shop", protocol = "json"] = process.argv.slice(2);
const exporters = {
  json: "@opentelemetry/exporter-trace-otlp-http",
  proto: "@opentelemetry/exporter-trace-otlp-proto",
  grpc: "@opentelemetry/exporter-trace-otlp-grpc",
};
if (!exporters[protocol]) {
  process.stderr.write("send_trace: protocol must be json, proto or grpc, not " + protocol + "\n");
  process.exit(2);
}
const { OTLPTraceExporter } = require(exporters[protocol]);
if (!baseUrl) {
  process.stderr.write("send_trace: missing the meshd URL (usage: send_trace.js http://127.0.0.1:PORT)\n");
  process.exit(2);
}

const { failures, CheckingExporter } = require("./checking_exporter");

async function main() {
  const url = protocol === "grpc" ? baseUrl : baseUrl.replace(/\/$/, "") + "/v1/traces";
  const exporter = new OTLPTraceExporter({ url, timeoutMillis: 10000 });
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ "service.name": serviceName, "service.version": "1.2.3" }),
    spanProcessors: [new BatchSpanProcessor(new CheckingExporter(exporter), { scheduledDelayMillis: 60000 })],
  });
  const tracer = provider.getTracer("mesh-interop", "0.1.0");

  // No global context manager: the parent goes in explicitly, which is what nesting means.
  const root = tracer.startSpan("checkout", {
    kind: api.SpanKind.SERVER,
    attributes: { "http.method": "POST", "http.status_code": 500, "order.total": 12.75, "cart.empty": false },
  });
  const rootCtx = api.trace.setSpan(api.ROOT_CONTEXT, root);
  const child = tracer.startSpan("charge card", { kind: api.SpanKind.CLIENT }, rootCtx);
  child.setAttribute("payment.provider", "acme");
  child.setAttribute("retry.count", 3);
  child.setAttribute("payment.amount", 12.75);
  child.setAttribute("payment.declined", true);
  child.addEvent("card declined", { "decline.code": "51" });
  const grandchild = tracer.startSpan("db query", { kind: api.SpanKind.INTERNAL }, api.trace.setSpan(rootCtx, child));
  grandchild.setAttribute("db.system", "sqlite");
  grandchild.setAttribute("db.rows", 42);
  grandchild.setAttribute("db.cache_hit_ratio", 0.5);
  grandchild.setAttribute("db.cached", true);
  grandchild.end();
  child.setStatus({ code: api.SpanStatusCode.ERROR, message: "card declined" });
  child.end();
  root.end();

  await provider.forceFlush();
  await provider.shutdown();
  if (failures.length > 0) {
    process.stderr.write("send_trace: " + failures.join("; ") + "\n");
    process.exit(1);
  }
  process.stdout.write(root.spanContext().traceId + "\n");
}

main().catch((e) => {
  process.stderr.write("send_trace: " + (e && e.stack ? e.stack : e) + "\n");
  process.exit(1);
});
