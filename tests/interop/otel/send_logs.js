#!/usr/bin/env node
// Sends two log records to meshd with the real OpenTelemetry JS SDK (sdk-logs) and its OTLP/HTTP
// protobuf exporter (exporter-logs-otlp-proto), or its OTLP/gRPC one (exporter-logs-otlp-grpc)
// when the third argument is "grpc": the URL is then meshd's gRPC port.
//
//   node send_logs.js http://127.0.0.1:PORT [service-name] [proto|grpc]
//
// The records: "payment failed" (ERROR, with string, int, double and bool attributes and a
// trace context) and "retrying" (WARN). Prints the trace id on stdout; exits 1 (with the reason
// on stderr) when the exporter reports a failed export.
"use strict";

const api = require("@opentelemetry/api");
const { SeverityNumber } = require("@opentelemetry/api-logs");
const { LoggerProvider, SimpleLogRecordProcessor } = require("@opentelemetry/sdk-logs");
const { resourceFromAttributes } = require("@opentelemetry/resources");

const [baseUrl, serviceName = "otel-js-shop", protocol = "proto"] = process.argv.slice(2);
if (protocol !== "proto" && protocol !== "grpc") {
  process.stderr.write("send_logs: protocol must be proto or grpc, not " + protocol + "\n");
  process.exit(2);
}
const { OTLPLogExporter } = require("@opentelemetry/exporter-logs-otlp-" + protocol);
if (!baseUrl) {
  process.stderr.write("send_logs: missing the meshd URL (usage: send_logs.js http://127.0.0.1:PORT)\n");
  process.exit(2);
}

const { failures, CheckingExporter } = require("./checking_exporter");

async function main() {
  const url = protocol === "grpc" ? baseUrl : baseUrl.replace(/\/$/, "") + "/v1/logs";
  const exporter = new OTLPLogExporter({ url, timeoutMillis: 10000 });
  const provider = new LoggerProvider({
    resource: resourceFromAttributes({ "service.name": serviceName, "service.version": "1.2.3" }),
    processors: [new SimpleLogRecordProcessor({ exporter: new CheckingExporter(exporter) })],
  });
  const logger = provider.getLogger("mesh-interop", "0.1.0");
  const traceId = "5b8efff798038103d269b633813fc60c";
  const spanContext = { traceId, spanId: "eee19b7ec3c1b174", traceFlags: api.TraceFlags.SAMPLED };
  logger.emit({
    severityNumber: SeverityNumber.ERROR,
    severityText: "ERROR",
    body: "payment failed",
    attributes: { "payment.provider": "acme", "retry.count": 3, "payment.amount": 12.75, "payment.declined": true },
    context: api.trace.setSpanContext(api.ROOT_CONTEXT, spanContext),
  });
  logger.emit({ severityNumber: SeverityNumber.WARN, severityText: "WARN", body: "retrying" });

  await provider.forceFlush();
  await provider.shutdown();
  if (failures.length > 0) {
    process.stderr.write("send_logs: " + failures.join("; ") + "\n");
    process.exit(1);
  }
  process.stdout.write(traceId + "\n");
}

main().catch((e) => {
  process.stderr.write("send_logs: " + (e && e.stack ? e.stack : e) + "\n");
  process.exit(1);
});
