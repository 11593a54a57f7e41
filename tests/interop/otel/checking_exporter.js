// What send_trace.js and send_logs.js share. The SDK reports export failures through the diag
// logger and an export's result callback, never by throwing: both are recorded in `failures`,
// so that a script's exit code tells the truth. CheckingExporter wraps any SDK exporter (spans
// or log records).
"use strict";

const api = require("@opentelemetry/api");

const failures = [];
api.diag.setLogger(
  { error: (...a) => failures.push(a.join(" ")), warn: () => {}, info: () => {}, debug: () => {}, verbose: () => {} },
  api.DiagLogLevel.ERROR,
);

class CheckingExporter {
  constructor(inner) {
    this.inner = inner;
  }
  export(items, done) {
    this.inner.export(items, (result) => {
      if (result.code !== 0) failures.push("export failed: " + (result.error ? result.error.message : "code " + result.code));
      done(result);
    });
  }
  shutdown() {
    return this.inner.shutdown();
  }
  forceFlush() {
    return this.inner.forceFlush ? this.inner.forceFlush() : Promise.resolve();
  }
}

module.exports = { failures, CheckingExporter };
