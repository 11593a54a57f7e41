// The trace page (/dashboard/traces/<id>): statistics, the span tree with its waterfall and the
// critical path meshd marks (the TraceTree `meshtrace show` draws), the selected span's details
// (?span=<id> in the address, so a link can point at one span), and the trace's logs by time.
const fmtOffset = (ns) => "+" + fmtDur(Math.max(ns, 0));

// Attributes as a key/value table; a value that is not a string is shown as JSON.
function attributeTable(attributes, id) {
  const entries = Object.entries(attributes || {});
  if (entries.length === 0) return el("p", { class: "muted" }, "none");
  const table = el("table", { class: "attrs", id });
  for (const [k, v] of entries) {
    table.append(el("tr", {}, el("td", { class: "key" }, k), el("td", { class: "msg" }, typeof v === "string" ? v : JSON.stringify(v))));
  }
  return table;
}

function spanDetail(span, trace, selfTimeNs) {
  const start = trace.startNs;
  const facts = [
    ["service", span.service], ["operation", span.name], ["kind", span.kind],
    ["status", span.status + (span.status_message ? ": " + span.status_message : "")],
    ["span id", span.span_id], ["parent", span.parent_span_id || "(root)"],
    ["start", span.start + " (" + fmtOffset(span.start_ns - start) + ")"],
    ["duration", fmtDur(span.duration_ns)], ["self time", fmtDur(selfTimeNs)],
    ["on the critical path", trace.critical.has(span.span_id) ? "yes" : "no"],
  ];
  if (span.trace_state) facts.push(["trace state", span.trace_state]);
  const table = el("table", { id: "span-facts" });
  for (const [k, v] of facts) table.append(el("tr", {}, el("td", { class: "key" }, k), el("td", { class: "msg" }, v)));
  const events = el("table", { id: "span-events" }, el("tr", {}, el("th", {}, "at"), el("th", {}, "event"), el("th", {}, "attributes")));
  for (const e of span.events || []) {
    events.append(el("tr", {}, el("td", { class: "muted" }, fmtOffset(e.time_ns - start)), el("td", {}, e.name),
      el("td", { class: "msg" }, Object.entries(e.attributes || {}).map(([k, v]) => k + "=" + (typeof v === "string" ? v : JSON.stringify(v))).join(" "))));
  }
  const links = el("table", { id: "span-links" }, el("tr", {}, el("th", {}, "linked trace"), el("th", {}, "span"), el("th", {}, "attributes")));
  for (const l of span.links || []) {
    links.append(el("tr", {}, el("td", {}, el("a", { href: "/dashboard/traces/" + encodeURIComponent(l.trace_id) + "?span=" + encodeURIComponent(l.span_id) }, l.trace_id)),
      el("td", {}, l.span_id), el("td", { class: "msg" }, JSON.stringify(l.attributes || {}))));
  }
  const scope = (span.scope || "(none)") + (span.scope_version ? " " + span.scope_version : "");
  return el("section", { id: "span-detail", "data-span": span.span_id },
    el("h2", {}, "Span " + span.service + " " + span.name), table,
    el("h3", {}, "Attributes"), attributeTable(span.attributes, "span-attributes"),
    el("h3", {}, "Events"), (span.events || []).length ? events : el("p", { class: "muted" }, "none"),
    el("h3", {}, "Links"), (span.links || []).length ? links : el("p", { class: "muted" }, "none"),
    el("h3", {}, "Resource"), attributeTable(span.resource, "span-resource"),
    el("h3", {}, "Scope " + scope), attributeTable(span.scope_attributes, "span-scope"));
}

function statisticsSection(trace) {
  const stats = trace.statistics;
  const table = el("table", { id: "trace-stats" },
    el("tr", {}, ...["service", "spans", "self time", "share"].map((h) => el("th", {}, h))));
  for (const s of stats.services) {
    const share = stats.duration_ns > 0 ? (100 * s.self_time_ns / stats.duration_ns).toFixed(1) + " %" : "–";
    table.append(el("tr", { "data-service": s.service }, el("td", {}, s.service), el("td", { class: "num" }, s.span_count),
      el("td", { class: "num" }, fmtDur(s.self_time_ns)), el("td", { class: "num" }, share)));
  }
  return el("section", {},
    el("h2", {}, "Trace " + trace.trace_id),
    el("p", { id: "trace-summary" }, "total " + fmtDur(stats.duration_ns) + " · " + stats.span_count + " spans · " +
      stats.services.length + " services · critical path " + trace.critical_path.length + " spans"),
    table);
}

async function traceView(id) {
  const trace = await getJson("/v1/traces/" + encodeURIComponent(id));
  const logs = await getJson("/v1/logs?trace_id=" + encodeURIComponent(trace.trace_id) + "&limit=1000");
  const spans = trace.spans;
  const byId = new Map(spans.map((s) => [s.span_id, s]));
  trace.critical = new Set(trace.critical_path);
  const children = new Map();
  for (const s of spans) {
    const parent = s.parent_span_id && byId.has(s.parent_span_id) ? s.parent_span_id : "";
    if (!children.has(parent)) children.set(parent, []);
    children.get(parent).push(s);
  }
  // Parent links in a cycle (a -> b -> a) reach no root: as in meshtrace show, the span of the
  // cycle that starts first (the API lists spans by start) is drawn as a root of its own.
  const reached = new Set();
  const reach = (from) => {
    const queue = [...from];
    while (queue.length) {
      const s = queue.pop();
      if (reached.has(s.span_id)) continue;
      reached.add(s.span_id);
      queue.push(...(children.get(s.span_id) || []));
    }
  };
  reach(children.get("") || []);
  for (const s of spans) {
    if (reached.has(s.span_id)) continue;
    const siblings = children.get(s.parent_span_id);
    siblings.splice(siblings.indexOf(s), 1);
    if (!children.has("")) children.set("", []);
    children.get("").push(s);
    reach([s]);
  }
  for (const list of children.values()) list.sort((a, b) => a.start_ns - b.start_ns);
  trace.startNs = Math.min(...spans.map((s) => s.start_ns));
  const end = Math.max(...spans.map((s) => s.start_ns + s.duration_ns));
  const total = Math.max(end - trace.startNs, 1);
  const logsBySpan = new Map();
  const records = logs.records.map((r) => r.record);
  for (const r of records) {
    if (!r.span_id) continue;
    if (!logsBySpan.has(r.span_id)) logsBySpan.set(r.span_id, []);
    logsBySpan.get(r.span_id).push(r);
  }
  const selfTime = (s) => {
    // The API's statistics are per service; a span's own self time is its length less its
    // children's union (children are sorted by start).
    let covered = 0, reach = s.start_ns;
    const stop = s.start_ns + s.duration_ns;
    for (const c of children.get(s.span_id) || []) {
      const from = Math.max(c.start_ns, reach), to = Math.min(c.start_ns + c.duration_ns, stop);
      if (to > from) { covered += to - from; reach = to; }
    }
    return Math.max(s.duration_ns - covered, 0);
  };

  const collapsed = new Set();
  const params = new URLSearchParams(location.search);
  let selected = byId.has(params.get("span")) ? params.get("span") : "";
  const waterfall = el("div", { id: "waterfall" });
  const detail = el("div", { id: "detail-slot" });
  const pct = (ns) => (ns / total * 100).toFixed(2) + "%";

  const drawDetail = () => detail.replaceChildren(selected ? spanDetail(byId.get(selected), trace, selfTime(byId.get(selected)))
    : el("section", { id: "span-detail" }, el("p", { class: "muted" }, "Click a span to see its attributes, events, links, resource and scope.")));
  const select = (spanId) => {
    selected = spanId;
    const query = new URLSearchParams(location.search);
    query.set("span", spanId);
    history.replaceState(null, "", location.pathname + "?" + query);
    drawWaterfall();
    drawDetail();
  };
  // Rows are drawn depth first; a collapsed span hides its subtree. Drawn again on each click
  // (a 2,000-span trace redraws in milliseconds), never refetched.
  function drawWaterfall() {
    const rows = [];
    const stack = (children.get("") || []).slice().reverse().map((s) => [s, 0]);
    while (stack.length) {
      const [s, depth] = stack.pop();
      const kids = children.get(s.span_id) || [];
      const critical = trace.critical.has(s.span_id);
      const bar = el("div", { class: "wf-bar" + (s.status === "ERROR" ? " error" : ""), title: s.service + " " + s.name });
      bar.style.left = pct(s.start_ns - trace.startNs);
      bar.style.width = pct(s.duration_ns);
      const track = el("div", { class: "wf-track" }, bar);
      for (const r of logsBySpan.get(s.span_id) || []) {
        const tick = el("div", { class: "wf-log", title: r.level + " " + r.message });
        tick.style.left = pct(Date.parse(r.timestamp) * 1e6 - trace.startNs);
        track.append(tick);
      }
      const toggle = kids.length
        ? el("button", { class: "wf-toggle", type: "button", "aria-label": collapsed.has(s.span_id) ? "expand" : "collapse" }, collapsed.has(s.span_id) ? "▸" : "▾")
        : el("span", { class: "wf-toggle" }, "");
      toggle.addEventListener("click", (event) => {
        event.stopPropagation();
        if (!kids.length) return;
        if (collapsed.has(s.span_id)) collapsed.delete(s.span_id); else collapsed.add(s.span_id);
        drawWaterfall();
      });
      const name = el("div", { class: "wf-name" }, "\u00a0".repeat(depth * 3), toggle, el("b", {}, s.service), " " + s.name,
        collapsed.has(s.span_id) ? el("span", { class: "muted" }, " (" + kids.length + " hidden)") : "");
      const attrs = { class: "wf-row", "data-span": s.span_id };
      if (critical) attrs["data-critical"] = "true";
      if (s.span_id === selected) attrs["data-selected"] = "true";
      const row = el("div", attrs, name, track, el("div", { class: s.status === "ERROR" ? "num bad" : "num" }, fmtDur(s.duration_ns)));
      row.addEventListener("click", () => select(s.span_id));
      rows.push(row);
      if (!collapsed.has(s.span_id)) for (let i = kids.length - 1; i >= 0; --i) stack.push([kids[i], depth + 1]);
    }
    waterfall.replaceChildren(...rows);
  }
  drawWaterfall();
  drawDetail();

  // The trace's logs by time, each linked to its span (a click selects it above).
  const logTable = el("table", { id: "trace-logs" }, el("tr", {}, ...["at", "service", "level", "message", "span"].map((h) => el("th", {}, h))));
  for (const r of records.slice().sort((a, b) => Date.parse(a.timestamp) - Date.parse(b.timestamp))) {
    let spanCell = "";
    if (r.span_id) {
      const span = byId.get(r.span_id);
      spanCell = el("a", { href: "?span=" + encodeURIComponent(r.span_id), "data-span": r.span_id }, span ? span.service + " " + span.name : r.span_id);
      spanCell.addEventListener("click", (event) => { event.preventDefault(); if (span) select(r.span_id); });
    }
    const level = String(r.level);
    logTable.append(el("tr", { "data-span": r.span_id || "" },
      el("td", { class: "muted" }, fmtOffset(Date.parse(r.timestamp) * 1e6 - trace.startNs)), el("td", {}, r.service),
      el("td", { class: level === "ERROR" || level === "FATAL" ? "bad" : "" }, level), el("td", { class: "msg" }, r.message), el("td", {}, spanCell)));
  }
  if (records.length === 0) logTable.append(el("tr", {}, el("td", { colspan: "5", class: "muted" }, "no logs carry this trace id")));

  return [statisticsSection(trace),
    el("section", {}, el("h2", {}, "Spans — " + spans.length + ", " + fmtDur(total) + " (critical path outlined, as meshtrace show marks it *)"), waterfall),
    detail,
    el("section", {}, el("h2", {}, "Logs — " + records.length), logTable)];
}

// A trace does not change once complete: drawn once, not refreshed.
registerPage(/^\/dashboard\/traces\/([0-9a-fA-F]+)$/, async (match) => traceView(match[1]), { live: false });
