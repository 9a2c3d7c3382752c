// The status page's HTML (with its CSS) and script, served by service/_status_page.ts. Plain
// HTML, CSS and JavaScript, no framework: the script polls /_iora/stats every second, fills the
// tables with textContent (never markup from data) and draws the sparklines as SVG polylines.

/** The page, `GET /_iora`. */
export const STATUS_PAGE_HTML: string = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Iora status</title>
<link rel="icon" href="data:,">
<style>
:root { --bg: #f6f7f9; --card: #fff; --ink: #1d2330; --muted: #667085; --line: #e4e7ec;
  --pass: #12b76a; --warn: #f79009; --fail: #f04438; --accent: #2e90fa; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, sans-serif; background: var(--bg); color: var(--ink); }
header { display: flex; align-items: baseline; gap: 1rem; padding: 1rem 1.5rem;
  background: var(--ink); color: #fff; }
header h1 { margin: 0; font-size: 1.3rem; }
header .meta { color: #c9cdd6; }
.badge { padding: 0.1rem 0.6rem; border-radius: 1rem; font-weight: 600; font-size: 0.8rem;
  text-transform: uppercase; background: var(--muted); color: #fff; }
.badge.pass { background: var(--pass); } .badge.warn { background: var(--warn); }
.badge.fail { background: var(--fail); }
main { padding: 1rem 1.5rem; max-width: 1200px; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(210px, 1fr)); gap: 0.8rem; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 0.8rem; }
.card h2 { margin: 0 0 0.3rem; font-size: 0.8rem; text-transform: uppercase; color: var(--muted); }
.big { font-size: 1.6rem; font-weight: 600; font-variant-numeric: tabular-nums; }
.card small { color: var(--muted); }
svg.spark { width: 100%; height: 36px; display: block; margin: 0.3rem 0; }
svg.spark polyline { fill: none; stroke: var(--accent); stroke-width: 1.5; }
section { margin-top: 1.4rem; }
section h2 { font-size: 1rem; margin: 0 0 0.4rem; }
table { width: 100%; border-collapse: collapse; background: var(--card); border: 1px solid var(--line); }
th, td { text-align: left; padding: 0.35rem 0.6rem; border-bottom: 1px solid var(--line); }
th { font-size: 0.75rem; text-transform: uppercase; color: var(--muted); }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.empty { color: var(--muted); font-style: italic; }
code { font-size: 0.9em; }
</style>
</head>
<body>
<header>
  <h1>Iora</h1>
  <span id="health" class="badge">…</span>
  <span class="meta">up <span id="uptime">…</span> · <span id="runtime">…</span> · since <span id="started">…</span></span>
</header>
<main>
  <div class="cards">
    <div class="card"><h2>Requests</h2><div class="big" id="requests">0</div>
      <svg class="spark" id="rate-spark" viewBox="0 0 60 36" preserveAspectRatio="none"><polyline points=""/></svg>
      <small><span id="rate">0</span> requests/s</small></div>
    <div class="card"><h2>Latency</h2><div class="big" id="latency">–</div>
      <svg class="spark" id="latency-spark" viewBox="0 0 60 36" preserveAspectRatio="none"><polyline points=""/></svg>
      <small>mean over the last second</small></div>
    <div class="card"><h2>Responses</h2><div class="big" id="errors">0</div>
      <small>4xx + 5xx of <span id="responses">0</span>; <span id="connections">0</span> open connections</small></div>
    <div class="card"><h2>HTTP client</h2><div class="big" id="client-requests">0</div>
      <small>requests, <span id="client-failures">0</span> failed</small></div>
    <div class="card"><h2>DNS</h2><div class="big" id="dns-queries">0</div>
      <small>queries, <span id="dns-hits">0</span> cache hits, <span id="dns-timeouts">0</span> timeouts</small></div>
  </div>
  <section><h2>Plugins</h2><table id="plugins"><thead><tr><th>Name</th><th>State</th><th>Isolation</th><th>Exported APIs (calls / errors)</th><th>Loaded</th></tr></thead><tbody></tbody></table></section>
  <section><h2>Routes</h2><table id="routes"><thead><tr><th>Method</th><th>Pattern</th><th>Owner</th><th>Requests</th><th>Mean latency</th></tr></thead><tbody></tbody></table></section>
  <section><h2>Circuit breakers</h2><table id="breakers"><thead><tr><th>Origin</th><th>State</th><th>Failures</th><th>Rejected</th></tr></thead><tbody></tbody></table></section>
</main>
<script src="/_iora/app.js"></script>
</body>
</html>
`;

/** The page's script, `GET /_iora/app.js`. */
export const STATUS_PAGE_SCRIPT: string = `"use strict";
const HISTORY = 60;
const rates = [];
const latencies = [];
let previous = null;

const $ = (id) => document.getElementById(id);
const text = (id, value) => { $(id).textContent = String(value); };

function duration(seconds) {
  const s = Math.floor(seconds);
  const d = Math.floor(s / 86400), h = Math.floor(s / 3600) % 24, m = Math.floor(s / 60) % 60;
  return (d ? d + "d " : "") + (d || h ? h + "h " : "") + (d || h || m ? m + "m " : "") + (s % 60) + "s";
}

function ms(seconds) {
  return seconds < 0.001 ? (seconds * 1e6).toFixed(0) + " µs" : (seconds * 1000).toFixed(2) + " ms";
}

function spark(id, values) {
  const max = Math.max(...values, 1e-9);
  const step = 60 / (HISTORY - 1);
  const offset = HISTORY - values.length;
  const points = values.map((v, i) => ((offset + i) * step).toFixed(1) + "," + (35 - (v / max) * 33).toFixed(1));
  $(id).querySelector("polyline").setAttribute("points", points.join(" "));
}

function fill(id, rows, empty) {
  const body = $(id).querySelector("tbody");
  body.replaceChildren();
  if (rows.length === 0) {
    const tr = body.insertRow();
    const td = tr.insertCell();
    td.colSpan = 5;
    td.className = "empty";
    td.textContent = empty;
    return;
  }
  for (const row of rows) {
    const tr = body.insertRow();
    for (const cell of row) {
      const td = tr.insertCell();
      if (typeof cell === "number") { td.className = "num"; td.textContent = String(cell); }
      else td.textContent = cell;
    }
  }
}

function render(s) {
  const badge = $("health");
  badge.textContent = s.service.health;
  badge.className = "badge " + s.service.health;
  text("uptime", duration(s.service.uptimeSeconds));
  text("runtime", s.service.runtime);
  text("started", new Date(s.service.startedAt).toLocaleString());
  text("requests", s.server.requests);
  const r = s.server.responses;
  text("responses", r["1xx"] + r["2xx"] + r["3xx"] + r["4xx"] + r["5xx"]);
  text("errors", r["4xx"] + r["5xx"]);
  text("connections", s.server.connections);
  text("client-requests", s.client.requests);
  text("client-failures", s.client.failures);
  text("dns-queries", s.dns.queries);
  text("dns-hits", s.dns.cacheHits);
  text("dns-timeouts", s.dns.timeouts);
  const now = performance.now();
  if (previous !== null) {
    const dt = (now - previous.at) / 1000;
    const count = s.latency.count - previous.latency.count;
    rates.push((s.server.requests - previous.requests) / dt);
    latencies.push(count > 0 ? (s.latency.seconds - previous.latency.seconds) / count : 0);
    if (rates.length > HISTORY) { rates.shift(); latencies.shift(); }
    text("rate", rates[rates.length - 1].toFixed(1));
    text("latency", count > 0 ? ms(latencies[latencies.length - 1]) : "–");
    spark("rate-spark", rates);
    spark("latency-spark", latencies);
  }
  previous = { at: now, requests: s.server.requests, latency: s.latency };
  fill("plugins", s.plugins.map((p) => [
    p.name,
    p.state,
    p.sandboxed ? "sandbox" : "trusted",
    p.apis.map((a) => a.name + " (" + a.calls + " / " + a.errors + ")").join(", ") || "none",
    new Date(p.loadedAt).toLocaleTimeString(),
  ]), "no plugins loaded");
  const traffic = new Map(s.traffic.map((t) => [t.method + " " + t.route, t]));
  fill("routes", s.routes.map((route) => {
    const t = traffic.get(route.method + " " + route.pattern);
    return [route.method, route.pattern, route.owner ?? "host", t ? t.requests : 0,
      t && t.requests > 0 ? ms(t.seconds / t.requests) : "–"];
  }), "no routes");
  fill("breakers", s.breakers.map((b) => [b.origin, b.state, b.failures, b.rejected]),
    "no circuit breakers (none configured, or no origin called yet)");
}

async function poll() {
  try {
    const response = await fetch("/_iora/stats", { cache: "no-store" });
    if (response.ok) render(await response.json());
  } catch {
    // The service is restarting or gone; the next poll tries again.
  }
  setTimeout(poll, 1000);
}
poll();
`;
