// Every value reaches the page through textContent: names and messages are never parsed as HTML.
const el = (tag, attrs = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v; else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
};
const svgEl = (tag, attrs) => {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  return node;
};
// A meshd started with --read-token-file answers the API 401 without a bearer token. The page
// then asks for it once, in a form that stays until it is answered (refreshes pause meanwhile),
// and keeps it for this tab only (sessionStorage). Opening /dashboard#token=... gives it
// without asking (for kiosks and scripts): it is taken out of the address at once, and a
// fragment is never sent to the server.
const tokenKey = "mesh.token";
if (location.hash.startsWith("#token=")) {
  const given = location.hash.slice(7);
  try { sessionStorage.setItem(tokenKey, decodeURIComponent(given)); } catch { sessionStorage.setItem(tokenKey, given); }
  history.replaceState(null, "", location.pathname + location.search);
}
class NeedsToken extends Error {}
let waitingForToken = false;
const getJson = async (url) => {
  const token = sessionStorage.getItem(tokenKey);
  const r = await fetch(url, { cache: "no-store", headers: token ? { Authorization: "Bearer " + token } : {} });
  if (r.status === 401) throw new NeedsToken(token ? "meshd refused that token" : "meshd wants its read token");
  if (!r.ok) {
    // meshd says why in {"error": "..."}: a bad search parameter is worth reading.
    const why = await r.json().then((body) => body.error, () => "");
    throw new Error(url + " answered " + r.status + (why ? ": " + why : ""));
  }
  return r.json();
};
const fmtMs = (v) => v === null || v === undefined ? "–" : (v >= 1000 ? (v / 1000).toFixed(2) + " s" : v.toFixed(1) + " ms");
const fmtDur = (ns) => fmtMs(ns / 1e6);
const num = (v, digits = 1) => v === null || v === undefined ? "–" : Number(v).toFixed(digits);

function sparkline(points, key, bad) {
  const svg = svgEl("svg", { class: "spark", viewBox: "0 0 120 22", "data-series": key });
  const values = points.map((p) => p[key] ?? 0);
  const max = Math.max(...values, 1e-9);
  const step = values.length > 1 ? 120 / (values.length - 1) : 0;
  const d = values.map((v, i) => (i ? "L" : "M") + (i * step).toFixed(1) + " " + (21 - (v / max) * 20).toFixed(1)).join(" ");
  svg.append(svgEl("path", { d: d || "M0 21", fill: "none", stroke: bad ? "#c62828" : "#3b6fd8", "stroke-width": "1.5" }));
  return svg;
}

function tokenForm(reason) {
  const input = el("input", { type: "password", id: "token", autocomplete: "off", placeholder: "token" });
  const form = el("form", { id: "token-form" },
    el("h2", {}, reason),
    el("p", { class: "muted" }, "meshd was started with --read-token-file: enter that token (or its write token). It is kept for this tab only."),
    input, " ", el("button", { type: "submit" }, "Show"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!input.value.trim()) return;
    sessionStorage.setItem(tokenKey, input.value.trim());
    waitingForToken = false;
    render();
  });
  return el("section", {}, form);
}

// Each page file registers the paths it draws. A page's render(match) returns its sections;
// a live page is redrawn every 5 s, keeping the user's place (the URL holds the page's state).
const pages = [];
function registerPage(pattern, renderPage, options = {}) {
  pages.push({ pattern, renderPage, live: options.live !== false });
}

function notFoundPage() {
  return [el("section", {}, el("h2", {}, "No such page"),
    el("p", {}, "Nothing is drawn at " + location.pathname + ". "), el("a", { href: "/dashboard" }, "Back to the overview"))];
}

function currentPage() {
  for (const page of pages) {
    const match = location.pathname.match(page.pattern);
    if (match) return { page, match };
  }
  return { page: { renderPage: notFoundPage, live: false }, match: null };
}

async function render() {
  if (waitingForToken) return;
  const main = document.getElementById("main");
  const status = document.getElementById("status");
  const { page, match } = currentPage();
  try {
    const sections = await page.renderPage(match);
    // A section the page hands back again (a search form being typed in) stays where it is,
    // keeping its focus and what was typed; the others are swapped in its place.
    sections.forEach((section, i) => {
      const old = main.children[i];
      if (old !== section) old ? old.replaceWith(section) : main.append(section);
    });
    while (main.children.length > sections.length) main.lastElementChild.remove();
    status.textContent = "updated " + new Date().toLocaleTimeString();
    document.body.dataset.ready = "true";
  } catch (e) {
    if (e instanceof NeedsToken) {
      sessionStorage.removeItem(tokenKey);
      waitingForToken = true;
      main.replaceChildren(tokenForm(e.message));
      status.textContent = "waiting for the read token";
      document.getElementById("token").focus();
      return;
    }
    status.textContent = "error: " + e.message;
  }
}

function startDashboard() {
  render();
  if (currentPage().page.live) setInterval(render, 5000);
}
