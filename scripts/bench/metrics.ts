/**
 * What metrics cost.
 *
 * 1. A scrape of a busy service: an `IoraService` with 200 routes that have all answered
 *    requests (two methods, two status classes each), a loaded plugin with counted API calls,
 *    and every component's collectors; one scrape is `metrics.render()` (Prometheus text and
 *    OpenMetrics). Peer: npm `prom-client` rendering the same series (a counter and a latency
 *    histogram per route and method, the same label values) with its `Registry.metrics()`.
 *    Goal: under 5 ms a scrape.
 * 2. The HTTP server with metrics on (per-route counters and latency histogram) against the
 *    same server with metrics off: wrk (64 keep-alive connections, one thread) on
 *    `/users/{id}`, rounds interleaved. Goal: metrics on costs no more than 3%. With
 *    `--control`, the "on" server has metrics off too: the ratio then shows the bench's own
 *    noise (two identical servers), the floor under which a cost cannot be told from it.
 *
 * Every figure is the median of the rounds with their min–max. Usage:
 * `deno run -A scripts/bench/metrics.ts [--rounds=7] [--duration=3] [--part=scrape|server]
 * [--control]`, or
 * `node npm/scripts/bench/metrics.js` after `deno task build:npm --bench`.
 *
 * @module
 */
import process from "node:process";
import { MetricsRegistry } from "../../core/metrics.ts";
import { WebhookServer } from "../../http/server.ts";
import { IoraService } from "../../service/iora_service.ts";
import { pinToCoreZero, runCommand, runtime } from "./_harness.ts";

const isDeno = "Deno" in globalThis;
// deno-lint-ignore no-explicit-any
const g = globalThis as any;
const args: string[] = isDeno ? g.Deno.args : g.process.argv.slice(2);
const arg = (name: string, fallback: string): string =>
  args.find((a) => a.startsWith(`--${name}=`))?.split("=")[1] ?? fallback;
const rounds = Number(arg("rounds", "7"));
const duration = Number(arg("duration", "3"));
const ROUTES = 200;

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const spread = (xs: number[], digits: number): string =>
  `${median(xs).toFixed(digits)} (${Math.min(...xs).toFixed(digits)}–${
    Math.max(...xs).toFixed(digits)
  })`;

/** Milliseconds per call of `fn`, over about 300 ms. */
function msPerCall(fn: () => unknown): number {
  let n = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < 300 || n < 5) {
    fn();
    n++;
    t = performance.now();
  }
  return (t - t0) / n;
}

async function scrapeBench(): Promise<void> {
  const dir = isDeno ? g.Deno.makeTempDirSync() : (await import("node:os")).tmpdir();
  const service = await IoraService.create({
    server: { host: "127.0.0.1", port: 0 },
    log: { level: "off" },
    state: { file: `${dir}/iora-bench-state-${process.pid}.json` },
  });
  const { default: client } = await import("npm:prom-client@15.1.3");
  const peer = new client.Registry();
  const peerRequests = new client.Counter({
    name: "http_requests_total",
    help: "Responses by route, method and class.",
    labelNames: ["route", "method", "code"],
    registers: [peer],
  });
  const peerLatency = new client.Histogram({
    name: "http_request_duration_seconds",
    help: "Latency.",
    labelNames: ["route", "method"],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [peer],
  });
  client.collectDefaultMetrics({ register: peer });
  try {
    for (let i = 0; i < ROUTES; i++) {
      service.webhookServer.onGet(`/r${i}/{id}`, (req, res) => {
        if (req.params.id === "missing") res.json({ error: "no" }, 404);
        else res.json({ id: req.params.id });
      });
      service.webhookServer.onPost(`/r${i}/{id}`, (_req, res) => res.json({ ok: true }));
    }
    service.exportApi("bench.noop", () => 0);
    for (let i = 0; i < 1000; i++) service.callExportedApi("bench.noop");
    const base = `http://127.0.0.1:${service.webhookServer.port}`;
    for (let i = 0; i < ROUTES; i++) {
      for (const [method, id] of [["GET", "1"], ["GET", "missing"], ["POST", "1"]]) {
        await (await fetch(`${base}/r${i}/${id}`, { method })).body?.cancel();
        const code = id === "missing" ? "4xx" : "2xx";
        peerRequests.inc({ route: `/r${i}/{id}`, method, code });
        peerLatency.observe({ route: `/r${i}/{id}`, method }, 0.0003);
      }
    }
    const text = service.metrics.render();
    const lines = text.split("\n").filter((l) => l !== "" && !l.startsWith("#")).length;
    const peerText = await peer.metrics();
    const peerLines = peerText.split("\n").filter((l) => l !== "" && !l.startsWith("#")).length;
    console.log(
      `${runtime}  scrape of a busy service: ${ROUTES} routes x (GET 2xx, GET 4xx, POST 2xx); ` +
        `ours ${lines} samples (${text.length} bytes), prom-client ${peerLines} samples`,
    );
    const ours: number[] = [];
    const open: number[] = [];
    const theirs: number[] = [];
    for (let r = 0; r < rounds; r++) {
      ours.push(msPerCall(() => service.metrics.render()));
      open.push(msPerCall(() => service.metrics.render("openmetrics")));
      // prom-client's metrics() is async; time it the same way, awaited.
      let n = 0;
      const t0 = performance.now();
      while (performance.now() - t0 < 300 || n < 5) {
        await peer.metrics();
        n++;
      }
      theirs.push((performance.now() - t0) / n);
    }
    const ratio = ours.map((o, i) => o / theirs[i]);
    console.log(`${runtime}    ours, Prometheus text   ${spread(ours, 3)} ms/scrape (goal < 5 ms)`);
    console.log(`${runtime}    ours, OpenMetrics       ${spread(open, 3)} ms/scrape`);
    console.log(`${runtime}    prom-client 15.1.3      ${spread(theirs, 3)} ms/scrape`);
    console.log(`${runtime}    ours/prom-client        ${spread(ratio, 2)}x`);
  } finally {
    await service.shutdown();
  }
}

interface Running {
  port: number;
  stop(): Promise<void>;
}

async function startServer(metrics: boolean): Promise<Running> {
  const server = new WebhookServer({ metrics: metrics ? new MetricsRegistry() : undefined });
  server.onGet("/json", (_req, res) => res.json({ message: "Hello, World!" }));
  server.onGet("/users/{id}", (req, res) => {
    res.setContent(
      JSON.stringify({ id: req.params.id, name: "Ada", email: "ada@example.com" }),
      "application/json",
    );
  });
  for (let i = 0; i < ROUTES; i++) server.onGet(`/r${i}/{id}`, (_req, res) => res.json({}));
  await server.start({ hostname: "127.0.0.1", port: 0 });
  return { port: server.port, stop: () => server.stop({ timeoutMs: 100 }) };
}

async function serverBench(): Promise<void> {
  try {
    await runCommand("wrk", ["--version"]).catch(() => "");
  } catch {
    console.log(`${runtime}  server bench skipped: wrk is not installed`);
    return;
  }
  const pinned = await pinToCoreZero();
  const off = await startServer(false);
  const control = args.includes("--control");
  const on = await startServer(!control);
  const wrk = async (port: number, seconds: number) => {
    const wrkArgs = ["-t1", "-c64", `-d${seconds}s`, `http://127.0.0.1:${port}/users/42`];
    const before = process.cpuUsage();
    const out = pinned
      ? await runCommand("taskset", ["-c", "1", "wrk", ...wrkArgs])
      : await runCommand("wrk", wrkArgs);
    const used = process.cpuUsage(before);
    const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0);
    const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? 1);
    return { rps, usPerRequest: (used.user + used.system) / requests };
  };
  try {
    await wrk(off.port, 1); // warm-up, both
    await wrk(on.port, 1);
    const rps = { on: [] as number[], off: [] as number[] };
    const cpu = { on: [] as number[], off: [] as number[] };
    for (let r = 0; r < rounds; r++) {
      // Alternate which goes first, so a drifting load does not always favour one.
      const order = r % 2 === 0 ? ["off", "on"] as const : ["on", "off"] as const;
      for (const which of order) {
        const result = await wrk(which === "on" ? on.port : off.port, duration);
        rps[which].push(result.rps);
        cpu[which].push(result.usPerRequest);
      }
    }
    const ratio = rps.on.map((v, i) => v / rps.off[i]);
    const cpuRatio = cpu.on.map((v, i) => v / cpu.off[i]);
    console.log(
      `${runtime}  HTTP server, GET /users/{id}, wrk -t1 -c64 -d${duration}s, ${rounds} rounds` +
        (pinned ? " (server on core 0, wrk on core 1)" : "") +
        (control ? "; CONTROL: both servers have metrics off" : ""),
    );
    console.log(
      `${runtime}    metrics off   ${spread(rps.off, 0)} req/s, ${spread(cpu.off, 2)} µs CPU/req`,
    );
    console.log(
      `${runtime}    metrics on    ${spread(rps.on, 0)} req/s, ${spread(cpu.on, 2)} µs CPU/req`,
    );
    console.log(
      `${runtime}    on/off        ${spread(ratio, 3)}x req/s, ${spread(cpuRatio, 3)}x CPU/req ` +
        "(goal: req/s >= 0.97)",
    );
  } finally {
    await on.stop();
    await off.stop();
  }
}

const part = arg("part", "all");
if (part !== "server") await scrapeBench();
if (part !== "scrape") await serverBench();
