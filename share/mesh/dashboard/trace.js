async function traceView(id) {
  const trace = await getJson("/v1/traces/" + encodeURIComponent(id));
  const spans = trace.spans;
  const ids = new Set(spans.map((s) => s.span_id));
  const children = new Map();
  for (const s of spans) {
    const parent = s.parent_span_id && ids.has(s.parent_span_id) ? s.parent_span_id : "";
    if (!children.has(parent)) children.set(parent, []);
    children.get(parent).push(s);
  }
  const start = Math.min(...spans.map((s) => s.start_ns));
  const end = Math.max(...spans.map((s) => s.start_ns + s.duration_ns));
  const total = Math.max(end - start, 1);
  const rows = el("div", { id: "waterfall" });
  const walk = (parent, depth) => {
    for (const s of (children.get(parent) || []).sort((a, b) => a.start_ns - b.start_ns)) {
      const bar = el("div", { class: "wf-bar" + (s.status === "ERROR" ? " error" : ""), title: s.service + " " + s.name });
      bar.style.left = ((s.start_ns - start) / total * 100).toFixed(2) + "%";
      bar.style.width = (s.duration_ns / total * 100).toFixed(2) + "%";
      const name = el("div", { class: "wf-name" }, "\u00a0".repeat(depth * 3), el("b", {}, s.service), " " + s.name);
      rows.append(el("div", { class: "wf-row", "data-span": s.span_id }, name, el("div", { class: "wf-track" }, bar),
        el("div", { class: s.status === "ERROR" ? "num bad" : "num" }, fmtDur(s.duration_ns))));
      walk(s.span_id, depth + 1);
    }
  };
  walk("", 0);
  return el("section", {}, el("h2", {}, "Trace " + trace.trace_id + " — " + spans.length + " spans, " + fmtDur(total)), rows);
}

// A trace does not change once complete: drawn once, not refreshed.
registerPage(/^\/dashboard\/traces\/([0-9a-f]+)$/, async (match) => [await traceView(match[1])], { live: false });
