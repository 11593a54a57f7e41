// The service page (/dashboard/services/<name>) and the service map (/dashboard/map), over the
// window in the address (?window=1h), so that a link shows what its sender saw.
const serviceWindows = ["15m", "1h", "6h", "24h", "7d"];
const chosenWindow = () => {
  const w = new URLSearchParams(location.search).get("window");
  return serviceWindows.includes(w) ? w : "1h";
};
const servicePageHref = (name) => "/dashboard/services/" + encodeURIComponent(name) + "?window=" + chosenWindow();
const classColors = { "2xx": "#3b6fd8", "3xx": "#7e57c2", "4xx": "#f39c12", "5xx": "#c62828" };
const rate = (v) => v === null || v === undefined ? "–" : (v >= 100 ? v.toFixed(0) : v >= 1 ? v.toFixed(2) : v.toPrecision(3));

function windowPicker() {
  const current = chosenWindow();
  return el("nav", { class: "window-picker", id: "window-picker" }, "window: ",
    ...serviceWindows.map((w) => el("a", { href: location.pathname + "?window=" + w, class: w === current ? "chosen" : "" }, w)));
}

function svgText(x, y, text, attrs = {}) {
  const t = svgEl("text", { x, y, ...attrs });
  t.textContent = text;
  return t;
}

function titled(node, text) {
  const t = svgEl("title", {});
  t.textContent = text;
  node.append(t);
  return node;
}

// Requests per step, stacked by status class, with the window's rate and error share.
function timelineSection(view) {
  const classes = ["2xx", "3xx", "4xx", "5xx"];
  const totals = Object.fromEntries(classes.map((c) => [c, view.timeline.reduce((sum, p) => sum + p[c], 0)]));
  const all = classes.reduce((sum, c) => sum + totals[c], 0);
  const max = Math.max(1e-9, ...view.timeline.map((p) => classes.reduce((sum, c) => sum + p[c], 0)));
  const width = 720, height = 140, step = width / Math.max(view.timeline.length, 1);
  const svg = svgEl("svg", { class: "chart", id: "timeline", viewBox: `0 0 ${width} ${height + 16}` });
  svg.append(svgText(0, height + 13, new Date(view.since).toLocaleString(), { class: "axis" }),
    svgText(width, height + 13, new Date(view.until).toLocaleString(), { class: "axis", "text-anchor": "end" }));
  view.timeline.forEach((p, i) => {
    let y = height;
    for (const c of classes) {
      if (!p[c]) continue;
      const h = (p[c] / max) * (height - 4);
      y -= h;
      svg.append(titled(svgEl("rect", { x: (i * step + 1).toFixed(1), y: y.toFixed(1), width: Math.max(step - 2, 1).toFixed(1), height: h.toFixed(1), fill: classColors[c], "data-class": c }),
        `${p.t} ${c}: ${p[c]} requests`));
    }
  });
  const legend = el("p", { class: "legend" }, ...classes.map((c) => el("span", { "data-class": c },
    el("i", { style: "background:" + classColors[c] }), `${c} ${Math.round(totals[c])}`)));
  const seconds = view.window_seconds || 1;
  const summary = el("p", { id: "request-summary" }, `${Math.round(all)} requests, ${rate(all / seconds)} req/s, `,
    el("span", { class: totals["5xx"] > 0 ? "bad" : "" }, `${num(all ? 100 * totals["5xx"] / all : 0, 2)} % errors (5xx)`),
    ` — one bar per ${fmtMs(view.step_seconds * 1000)}`);
  return el("section", {}, el("h2", {}, "Requests"), summary, all ? svg : el("p", { class: "muted" }, "no request metrics in this window"), legend);
}

// The stored histogram buckets summed over the window: how many requests took (previous, le].
function latencySection(view) {
  const buckets = view.latency;
  const width = 720, height = 120, step = width / Math.max(buckets.length, 1);
  const max = Math.max(1e-9, ...buckets.map((b) => b.count));
  const svg = svgEl("svg", { class: "chart", id: "latency-chart", viewBox: `0 0 ${width} ${height + 18}` });
  const table = el("table", { id: "latency" }, el("tr", {}, el("th", {}, "latency ≤"), el("th", {}, "requests")));
  buckets.forEach((b, i) => {
    const label = b.le === "+Inf" ? "+Inf" : fmtMs(b.le * 1000);
    const h = (b.count / max) * (height - 16);  // room above the tallest bar for its count
    svg.append(titled(svgEl("rect", { x: (i * step + 2).toFixed(1), y: (height - h).toFixed(1), width: Math.max(step - 4, 1).toFixed(1), height: h.toFixed(1), fill: "#3b6fd8" }), `≤ ${label}: ${b.count}`));
    svg.append(svgText((i * step + step / 2).toFixed(1), height + 14, label, { "text-anchor": "middle", class: "axis" }));
    if (b.count) svg.append(svgText((i * step + step / 2).toFixed(1), Math.max(height - h - 3, 10).toFixed(1), num(b.count, 0), { "text-anchor": "middle", class: "axis" }));
    table.append(el("tr", { "data-le": String(b.le) }, el("td", {}, label), el("td", { class: "num" }, num(b.count, 0))));
  });
  // A refresh redraws the page: the bucket table stays open if the user opened it.
  const details = el("details", { id: "latency-details" }, el("summary", {}, "buckets"), table);
  details.open = Boolean(document.getElementById("latency-details")?.open);
  return el("section", {}, el("h2", {}, "Latency distribution"),
    buckets.length ? el("div", {}, svg, details) : el("p", { class: "muted" }, "no latency histogram in this window"));
}

function percentilesSection(view) {
  const keys = [["p50_ms", "#2e7d32"], ["p95_ms", "#f39c12"], ["p99_ms", "#c62828"]];
  const width = 720, height = 120, n = view.timeline.length, step = n > 1 ? width / (n - 1) : 0;
  const max = Math.max(1e-9, ...view.timeline.flatMap((p) => keys.map(([k]) => p[k] ?? 0)));
  const svg = svgEl("svg", { class: "chart", id: "percentiles", viewBox: `0 0 ${width} ${height}` });
  for (const [key, color] of keys) {
    let d = "";
    view.timeline.forEach((p, i) => {
      if (p[key] === null) return;
      const x = (i * step).toFixed(1), y = (height - 2 - (p[key] / max) * (height - 6)).toFixed(1);
      d += (d ? "L" : "M") + x + " " + y + " ";
      // A dot per step with requests: a lone step draws no line.
      svg.append(titled(svgEl("circle", { cx: x, cy: y, r: "2.5", fill: color }), `${p.t} ${key.replace("_ms", "")} ${fmtMs(p[key])}`));
    });
    if (d) svg.append(titled(svgEl("path", { d, fill: "none", stroke: color, "stroke-width": "1.5", "data-series": key }), key.replace("_ms", "")));
  }
  svg.append(svgText(4, 12, "max " + fmtMs(max), { class: "axis" }));
  const legend = el("p", { class: "legend" }, ...keys.map(([k, c]) => el("span", {}, el("i", { style: "background:" + c }), k.replace("_ms", ""))));
  return el("section", {}, el("h2", {}, "Latency percentiles"), svg, legend);
}

function table(id, headers, rows, empty) {
  const t = el("table", { id }, el("tr", {}, ...headers.map((h) => el("th", {}, h))));
  for (const r of rows) t.append(r);
  if (rows.length === 0) t.append(el("tr", {}, el("td", { colspan: String(headers.length), class: "muted" }, empty)));
  return t;
}

function slowestSection(view) {
  const rows = view.slowest.map((o) => el("tr", { "data-operation": o.operation },
    el("td", {}, o.operation), el("td", { class: "num" }, fmtMs(o.p99_ms)), el("td", { class: "num" }, fmtMs(o.p50_ms)),
    el("td", { class: "num" }, o.count), el("td", { class: o.errors ? "num bad" : "num" }, o.errors)));
  return el("section", {}, el("h2", {}, "Slowest operations (top 10 by p99)"),
    table("slowest", ["operation", "p99", "p50", "count", "errors"], rows, "no spans in this window"));
}

function errorTypesSection(view) {
  const kinds = { http: "HTTP status", grpc: "gRPC status", exception: "exception", status: "span status" };
  const rows = view.errors.map((e) => el("tr", { "data-kind": e.kind },
    el("td", {}, kinds[e.kind] || e.kind), el("td", { class: "msg" }, e.value), el("td", { class: "num bad" }, e.count)));
  return el("section", {}, el("h2", {}, "Errors by type"), table("error-types", ["kind", "value", "failed spans"], rows, "no failed spans in this window"));
}

function instancesSection(view) {
  const rows = view.instances.map((i) => el("tr", { "data-instance": i.id },
    el("td", {}, i.host + ":" + i.port), el("td", { class: i.healthy ? "ok" : "bad" }, i.healthy ? "healthy" : "unhealthy"),
    el("td", { class: "muted" }, i.last_heartbeat), el("td", {}, String(i.meta.version ?? i.meta["service.version"] ?? "–")),
    el("td", { class: "muted" }, view.identity ?? "–")));
  return el("section", {}, el("h2", {}, "Instances"),
    table("instances", ["instance", "health", "last heartbeat", "version", "mTLS identity"], rows, "no registered instances"));
}

function edgesTable(id, edges, label) {
  const rows = edges.map((e) => el("tr", { "data-service": e.service },
    el("td", {}, el("a", { href: servicePageHref(e.service) }, e.service)), el("td", { class: "num" }, e.calls),
    el("td", { class: "num" }, rate(e.rps)), el("td", { class: e.error_percent > 0 ? "num bad" : "num" }, num(e.error_percent, 1)),
    el("td", { class: "num" }, fmtMs(e.p99_ms))));
  return table(id, [label, "calls", "req/s", "error %", "p99"], rows, "none in this window");
}

function neighboursSection(view) {
  return el("section", { class: "pair" },
    el("div", {}, el("h2", {}, "Callers"), edgesTable("callers", view.callers, "caller")),
    el("div", {}, el("h2", {}, "Callees"), edgesTable("callees", view.callees, "callee")));
}

function errorLogsSection(view) {
  const rows = view.error_logs.map((r) => el("tr", {},
    el("td", { class: "muted" }, r.timestamp), el("td", { class: "bad" }, r.level), el("td", { class: "msg" }, r.message),
    el("td", {}, r.trace_id ? el("a", { href: "/dashboard/traces/" + r.trace_id }, r.trace_id.slice(0, 8)) : "")));
  return el("section", {}, el("h2", {}, "Recent error logs"), table("error-logs", ["time", "level", "message", "trace"], rows, "no error logs in this window"));
}

async function servicePage(match) {
  const name = decodeURIComponent(match[1]);
  const windowValue = chosenWindow();
  const view = await getJson("/v1/services/" + encodeURIComponent(name) + "/dashboard?window=" + windowValue);
  const head = el("section", { class: "page-head" }, el("h2", { id: "service-name" }, name), windowPicker(),
    el("a", { href: "/dashboard/map?window=" + windowValue }, "service map"));
  return [head, timelineSection(view), latencySection(view), percentilesSection(view), slowestSection(view),
    errorTypesSection(view), instancesSection(view), neighboursSection(view), errorLogsSection(view),
    await saturationSection(name, windowValue)];
}

// Columns by call depth (the shortest path from a service nobody calls; a cycle's first member
// by name starts where none is), services by name within a column.
function layoutMap(services, edges) {
  const callees = new Map(services.map((s) => [s, []]));
  const called = new Set();
  for (const e of edges) {
    if (!callees.has(e.caller)) callees.set(e.caller, []);
    if (!callees.has(e.callee)) callees.set(e.callee, []);
    callees.get(e.caller).push(e.callee);
    called.add(e.callee);
  }
  const names = [...callees.keys()].sort();
  const depth = new Map();
  const walk = (starts) => {
    const queue = starts.map((s) => [s, 0]);
    for (const [s] of queue) depth.set(s, 0);
    while (queue.length) {
      const [s, d] = queue.shift();
      for (const c of callees.get(s)) if (!depth.has(c)) { depth.set(c, d + 1); queue.push([c, d + 1]); }
    }
  };
  walk(names.filter((s) => !called.has(s)));
  for (const s of names) if (!depth.has(s)) walk([s]);
  const columns = [];
  for (const s of names) (columns[depth.get(s)] ||= []).push(s);
  // Within a column, a service sits near the mean row of its callers to its left (one
  // barycentre pass): far fewer crossing edges than by name alone.
  const row = new Map();
  columns.forEach((col, c) => {
    const key = (s) => {
      const rows = edges.filter((e) => e.callee === s && depth.get(e.caller) < c).map((e) => row.get(e.caller));
      return rows.length ? rows.reduce((a, b) => a + b, 0) / rows.length : Infinity;
    };
    const keys = new Map(col.map((s) => [s, key(s)]));
    col.sort((a, b) => keys.get(a) - keys.get(b) || (a < b ? -1 : a > b ? 1 : 0));
    col.forEach((s, r) => row.set(s, r / Math.max(col.length - 1, 1)));
  });
  return columns;
}

async function mapPage() {
  const windowValue = chosenWindow();
  const map = await getJson("/v1/service-map?window=" + windowValue);
  const columns = layoutMap(map.services, map.edges);
  const colWidth = 230, rowHeight = 46, nodeWidth = 160, nodeHeight = 28, pad = 20;
  const rows = Math.max(1, ...columns.map((c) => c.length));
  const width = pad * 2 + Math.max(1, columns.length) * colWidth, height = pad * 2 + rows * rowHeight;
  const svg = svgEl("svg", { id: "service-map", viewBox: `0 0 ${width} ${height}`, width, height });
  const at = new Map();
  columns.forEach((col, c) => col.forEach((s, r) => {
    // Columns centred vertically, so that edges between short and long columns stay short.
    const top = pad + ((rows - col.length) * rowHeight) / 2;
    at.set(s, { x: pad + c * colWidth, y: top + r * rowHeight });
  }));
  const edgeLayer = svgEl("g", { class: "edges" });
  for (const e of map.edges) {
    const a = at.get(e.caller), b = at.get(e.callee);
    const x1 = a.x + nodeWidth, y1 = a.y + nodeHeight / 2, x2 = b.x, y2 = b.y + nodeHeight / 2;
    const bend = Math.max(40, Math.abs(x2 - x1) / 2);
    const path = svgEl("path", { d: `M${x1} ${y1} C${x1 + bend} ${y1} ${x2 - bend} ${y2} ${x2} ${y2}`, class: e.error_percent > 0 ? "edge bad" : "edge",
      "data-edge": e.caller + "→" + e.callee, "marker-end": "url(#arrow)" });
    edgeLayer.append(titled(path, `${e.caller} → ${e.callee}: ${rate(e.rps)} req/s, ${num(e.error_percent, 1)} % errors, p99 ${fmtMs(e.p99_ms)}`));
  }
  const defs = svgEl("defs", {});
  const marker = svgEl("marker", { id: "arrow", viewBox: "0 0 10 10", refX: "10", refY: "5", markerWidth: "6", markerHeight: "6", orient: "auto" });
  marker.append(svgEl("path", { d: "M0 0 L10 5 L0 10 z", fill: "#8a94a6" }));
  defs.append(marker);
  svg.append(defs, edgeLayer);
  for (const [s, p] of at) {
    const node = svgEl("a", { href: servicePageHref(s), class: "node", "data-service": s });
    node.append(svgEl("rect", { x: p.x, y: p.y, width: nodeWidth, height: nodeHeight, rx: 5 }),
      svgText(p.x + 8, p.y + 18, s.length > 22 ? s.slice(0, 21) + "…" : s));
    svg.append(titled(node, s));
  }
  const edgeRows = map.edges.map((e) => el("tr", { "data-edge": e.caller + "→" + e.callee },
    el("td", {}, el("a", { href: servicePageHref(e.caller) }, e.caller)), el("td", {}, el("a", { href: servicePageHref(e.callee) }, e.callee)),
    el("td", { class: "num" }, e.calls), el("td", { class: "num" }, rate(e.rps)),
    el("td", { class: e.error_percent > 0 ? "num bad" : "num" }, num(e.error_percent, 1)), el("td", { class: "num" }, fmtMs(e.p99_ms))));
  return [el("section", { class: "page-head" }, el("h2", {}, "Service map"), windowPicker()),
    el("section", { class: "map" }, map.services.length ? svg : el("p", { class: "muted" }, "no spans in this window")),
    el("section", {}, el("h2", {}, "Calls between services"), table("edges", ["caller", "callee", "calls", "req/s", "error %", "p99"], edgeRows, "no calls between services in this window"))];
}

registerPage(/^\/dashboard\/services\/([^/]+)$/, servicePage);
registerPage(/^\/dashboard\/map$/, mapPage);
