// Saturation, the fourth golden signal: per instance of a service, the CPU it burns, its resident
// memory, file descriptors against their limit, open connections, how busy its worker threads
// are (rate of mesh_worker_busy_seconds_total over mesh_workers) and the telemetry queue, each
// with its sparkline over the window. The service page places the section (saturationSection).

// One <section>: a row per instance that pushed in the window (GET /v1/services/{name}/saturation).
// Only this function is global: the pages' scripts share one scope.
async function saturationSection(service, windowValue) {
  const fmtBytes = (v) => {
    if (v === null || v === undefined) return "–";
    const units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let i = 0;
    while (v >= 1024 && i < units.length - 1) { v /= 1024; ++i; }
    return v.toFixed(i ? 1 : 0) + " " + units[i];
  };
  const data = await getJson("/v1/services/" + encodeURIComponent(service) + "/saturation?window=" + encodeURIComponent(windowValue));
  const table = el("table", { id: "saturation" },
    el("tr", {}, ...["instance", "CPU (cores)", "", "memory", "", "fds", "fd %", "connections", "", "workers busy", "", "queue", "", "last sample"].map((h) => el("th", {}, h))));
  for (const i of data.instances) {
    const fdPercent = i.open_fds !== null && i.max_fds ? 100 * i.open_fds / i.max_fds : null;
    const queuePercent = i.queue_depth !== null && i.queue_capacity ? 100 * i.queue_depth / i.queue_capacity : null;
    table.append(el("tr", { "data-instance": i.instance },
      el("td", {}, i.instance),
      el("td", { class: i.cpu_cores > 0.9 ? "num bad" : "num" }, num(i.cpu_cores, 3)),
      el("td", {}, sparkline(i.history, "cpu_cores")),
      el("td", { class: "num" }, fmtBytes(i.resident_bytes)),
      el("td", {}, sparkline(i.history, "resident_bytes")),
      el("td", { class: "num" }, i.open_fds === null ? "–" : num(i.open_fds, 0) + " / " + num(i.max_fds, 0)),
      el("td", { class: fdPercent > 80 ? "num bad" : "num" }, num(fdPercent, 1)),
      el("td", { class: "num" }, num(i.connections, 0)),
      el("td", {}, sparkline(i.history, "connections")),
      el("td", { class: i.worker_utilization > 0.8 ? "num bad" : "num", title: i.workers === null ? "" : num(i.busy_workers, 2) + " of " + num(i.workers, 0) + " worker threads busy on average" },
        i.worker_utilization === null ? "–" : num(100 * i.worker_utilization, 1) + " %"),
      el("td", {}, sparkline(i.history, "worker_utilization")),
      el("td", { class: queuePercent > 50 ? "num bad" : "num" }, i.queue_depth === null ? "–" : num(i.queue_depth, 0) + (i.queue_capacity ? " / " + num(i.queue_capacity, 0) : "")),
      el("td", {}, sparkline(i.history, "queue_depth", true)),
      el("td", { class: "muted" }, i.last_sample)));
  }
  if (data.instances.length === 0) {
    table.append(el("tr", {}, el("td", { colspan: "14", class: "muted" }, "no process metrics pushed in the window: instances behind meshproxy push them every 5 s")));
  }
  return el("section", { id: "saturation-section" }, el("h2", {}, "Saturation (last " + windowValue + ")"), table);
}
