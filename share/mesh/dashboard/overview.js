async function servicesSection() {
  const [services, signals] = await Promise.all([getJson("/v1/services"), getJson("/v1/metrics/signals?window=1m&history=60")]);
  const byName = new Map(signals.services.map((s) => [s.service, s]));
  const names = new Set([...services.services.map((s) => s.name), ...byName.keys()]);
  const table = el("table", { id: "services" },
    el("tr", {}, ...["service", "instances", "healthy", "RPS", "error %", "p50", "p95", "p99", "last hour: RPS", "error %", "p99"].map((h) => el("th", {}, h))));
  for (const name of [...names].sort()) {
    const reg = services.services.find((s) => s.name === name) || { instances: 0, healthy: 0 };
    const sig = (byName.get(name) || {}).signals || {};
    const hist = (byName.get(name) || {}).history || [];
    const errClass = sig.error_percent > 5 ? "num bad" : "num";
    const healthClass = reg.healthy < reg.instances ? "num bad" : "num ok";
    table.append(el("tr", { "data-service": name },
      el("td", {}, el("a", { href: "/dashboard/services/" + encodeURIComponent(name) }, name)),
      el("td", { class: "num" }, reg.instances), el("td", { class: healthClass }, reg.healthy),
      el("td", { class: "num" }, num(sig.rps, 2)), el("td", { class: errClass }, num(sig.error_percent, 1)),
      el("td", { class: "num" }, fmtMs(sig.p50_ms)), el("td", { class: "num" }, fmtMs(sig.p95_ms)), el("td", { class: "num" }, fmtMs(sig.p99_ms)),
      el("td", {}, sparkline(hist, "rps")), el("td", {}, sparkline(hist, "error_percent", true)), el("td", {}, sparkline(hist, "p99_ms"))));
  }
  if (names.size === 0) table.append(el("tr", {}, el("td", { colspan: "11", class: "muted" }, "no services yet: register one or push metrics")));
  return el("section", {}, el("h2", {}, "Services"), table);
}

async function errorsSection() {
  const page = await getJson("/v1/logs?level=error&limit=15");
  const table = el("table", { id: "errors" }, el("tr", {}, ...["time", "service", "level", "message", "trace"].map((h) => el("th", {}, h))));
  for (const { record } of page.records.slice().reverse()) {
    table.append(el("tr", {},
      el("td", { class: "muted" }, record.timestamp), el("td", {}, record.service), el("td", { class: "bad" }, record.level),
      el("td", { class: "msg" }, record.message),
      el("td", {}, record.trace_id ? el("a", { href: "/dashboard/traces/" + record.trace_id }, record.trace_id.slice(0, 8)) : "")));
  }
  if (page.records.length === 0) table.append(el("tr", {}, el("td", { colspan: "5", class: "muted" }, "no error logs")));
  return el("section", {}, el("h2", {}, "Recent errors"), table);
}

async function tracesSection() {
  const list = await getJson("/v1/traces?since=1h&limit=200");
  const slowest = list.traces.slice().sort((a, b) => b.duration_ns - a.duration_ns).slice(0, 10);
  const table = el("table", { id: "traces" }, el("tr", {}, ...["start", "trace", "root", "spans", "services", "duration"].map((h) => el("th", {}, h))));
  for (const t of slowest) {
    table.append(el("tr", {},
      el("td", { class: "muted" }, t.start),
      el("td", {}, el("a", { href: "/dashboard/traces/" + t.trace_id }, t.trace_id.slice(0, 16))),
      el("td", { class: t.error ? "bad" : "" }, t.root_service + " " + t.root_name),
      el("td", { class: "num" }, t.span_count), el("td", {}, t.services.join(", ")), el("td", { class: "num" }, fmtDur(t.duration_ns))));
  }
  if (slowest.length === 0) table.append(el("tr", {}, el("td", { colspan: "6", class: "muted" }, "no traces in the last hour")));
  return el("section", {}, el("h2", {}, "Slowest recent traces"), table);
}

registerPage(/^\/(dashboard\/?)?$/, () => Promise.all([servicesSection(), errorsSection(), tracesSection()]));
