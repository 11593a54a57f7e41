// The trace explorer (/dashboard/traces): a search over GET /v1/traces whose state is the page's
// query string, so a search is a link to share and the live refresh redraws the same search.
const traceSearchFields = [
  { name: "service", label: "service" },
  { name: "operation", label: "operation" },
  { name: "min_duration", label: "min duration", placeholder: "e.g. 200ms" },
  { name: "max_duration", label: "max duration", placeholder: "e.g. 2s" },
  { name: "attr", label: "attribute", placeholder: "key=value" },
  { name: "since", label: "since", placeholder: "1h, RFC 3339" },
  { name: "until", label: "until", placeholder: "now" },
];

// The API's parameters for the page's query string: only what is set, and the last hour unless
// the search names a time or a trace id prefix (a trace it names may be older).
function traceSearchQuery(params) {
  const query = new URLSearchParams();
  for (const { name } of traceSearchFields) {
    const value = (params.get(name) || "").trim();
    if (value) query.set(name, value);
  }
  if (params.get("errors") === "true") query.set("errors", "true");
  const prefix = (params.get("trace_prefix") || "").trim();
  if (prefix) query.set("trace_prefix", prefix);
  else if (!query.has("since")) query.set("since", "1h");
  query.set("limit", "200");
  return query;
}

// Drawn once per address: a live refresh hands the same form back, so typing is not lost.
let traceSearchForm = null;
function searchForm(params) {
  if (traceSearchForm && traceSearchForm.dataset.search === location.search) return traceSearchForm;
  const form = el("form", { id: "trace-search-form", method: "get", action: "/dashboard/traces", class: "search" });
  for (const { name, label, placeholder } of traceSearchFields) {
    const input = el("input", { name, id: "q-" + name, placeholder: placeholder || "", value: params.get(name) || "" });
    form.append(el("label", {}, label, input));
  }
  const errors = el("input", { type: "checkbox", name: "errors", value: "true", id: "q-errors" });
  errors.checked = params.get("errors") === "true";
  form.append(el("label", {}, errors, " errors only"));
  if (params.get("trace_prefix")) {
    form.append(el("input", { type: "hidden", name: "trace_prefix", value: params.get("trace_prefix") }));
  }
  form.append(el("button", { type: "submit" }, "Search"));
  // Empty fields stay out of the address, so a shared link says only what was asked.
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const query = new URLSearchParams();
    for (const [k, v] of new FormData(form)) if (String(v).trim()) query.set(k, String(v).trim());
    location.assign("/dashboard/traces" + (query.toString() ? "?" + query : ""));
  });
  traceSearchForm = el("section", {}, el("h2", {}, "Search traces"), form);
  traceSearchForm.dataset.search = location.search;
  return traceSearchForm;
}

// Duration over start time, one dot per trace, each a link to it.
function traceScatter(traces) {
  const width = 900, height = 220, pad = 40;
  const svg = svgEl("svg", { id: "trace-scatter", viewBox: `0 0 ${width} ${height}`, role: "img" });
  const starts = traces.map((t) => t.start_ns / 1e6), durations = traces.map((t) => t.duration_ns / 1e6);
  const t0 = Math.min(...starts), t1 = Math.max(...starts), maxMs = Math.max(...durations, 1e-3);
  const x = (ms) => pad + (t1 > t0 ? (ms - t0) / (t1 - t0) : 0.5) * (width - 2 * pad);
  const y = (ms) => height - pad + 10 - (ms / maxMs) * (height - pad - 10);
  svg.append(svgEl("line", { x1: pad, y1: height - pad + 10, x2: width - pad, y2: height - pad + 10, stroke: "#aab3c2" }));
  const axis = (text, attrs) => { const t = svgEl("text", { class: "axis", ...attrs }); t.textContent = text; svg.append(t); };
  axis(fmtMs(maxMs), { x: 2, y: 16 });
  axis("0", { x: 2, y: height - pad + 10 });
  if (traces.length) {
    axis(new Date(t0).toLocaleTimeString(), { x: pad, y: height - 8 });
    axis(new Date(t1).toLocaleTimeString(), { x: width - pad, y: height - 8, "text-anchor": "end" });
  }
  traces.forEach((t, i) => {
    const link = svgEl("a", { href: "/dashboard/traces/" + t.trace_id, "data-trace": t.trace_id });
    const dot = svgEl("circle", { cx: x(starts[i]).toFixed(1), cy: y(durations[i]).toFixed(1), r: 5, class: t.error ? "dot error" : "dot" });
    const title = svgEl("title", {});
    title.textContent = t.root_service + " " + t.root_name + " — " + fmtDur(t.duration_ns);
    dot.append(title);
    link.append(dot);
    svg.append(link);
  });
  return svg;
}

function traceResults(traces) {
  const table = el("table", { id: "trace-results" },
    el("tr", {}, ...["start", "trace", "root", "duration", "spans", "services", "error"].map((h) => el("th", {}, h))));
  for (const t of traces) {
    table.append(el("tr", { "data-trace": t.trace_id },
      el("td", { class: "muted" }, t.start),
      el("td", {}, el("a", { href: "/dashboard/traces/" + t.trace_id }, t.trace_id)),
      el("td", {}, t.root_service + " " + t.root_name),
      el("td", { class: "num" }, fmtDur(t.duration_ns)),
      el("td", { class: "num" }, t.span_count),
      el("td", {}, t.services.join(", ")),
      el("td", { class: "bad" }, t.error ? "✗ error" : "")));
  }
  if (traces.length === 0) table.append(el("tr", {}, el("td", { colspan: "7", class: "muted" }, "no trace matches")));
  return table;
}

async function traceExplorer() {
  const params = new URLSearchParams(location.search);
  const query = traceSearchQuery(params);
  let traces;
  try {
    traces = (await getJson("/v1/traces?" + query)).traces;
  } catch (e) {
    if (e instanceof NeedsToken) throw e;
    return [searchForm(params), el("section", {}, el("p", { id: "search-error", class: "bad" }, e.message))];
  }
  const heading = traces.length + (traces.length === 200 ? "+" : "") + " traces" +
    (query.has("trace_prefix") ? " whose id starts with " + query.get("trace_prefix") : "");
  return [searchForm(params),
    el("section", {}, el("h2", {}, heading), traceScatter(traces), traceResults(traces))];
}

registerPage(/^\/dashboard\/traces\/?$/, traceExplorer);

// The header's search box: a whole trace id opens the trace; a prefix (8 digits or more) opens
// the one trace it names, or lists them when it names several.
async function openTraceBySearch(text) {
  const status = document.getElementById("status");
  const id = text.trim().toLowerCase();
  if (!/^[0-9a-f]{8,32}$/.test(id)) {
    status.textContent = "a trace id is 8 to 32 hex digits";
    return;
  }
  if (id.length === 32) {
    location.assign("/dashboard/traces/" + id);
    return;
  }
  try {
    const list = await getJson("/v1/traces?trace_prefix=" + id + "&limit=2");
    if (list.traces.length === 0) status.textContent = "no trace id starts with " + id;
    else if (list.traces.length === 1) location.assign("/dashboard/traces/" + list.traces[0].trace_id);
    else location.assign("/dashboard/traces?trace_prefix=" + id);
  } catch (e) {
    status.textContent = "error: " + e.message;
  }
}

const headerSearch = document.getElementById("trace-id-search");
if (headerSearch) {
  headerSearch.addEventListener("submit", (event) => {
    event.preventDefault();
    openTraceBySearch(headerSearch.elements.trace.value);
  });
}
