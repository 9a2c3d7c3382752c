/**
 * JSON-RPC 2.0 server throughput: wrk (one thread, 64 keep-alive
 * connections, so 64 concurrent callers) POSTs a call of a trivial method
 * (`add` of two numbers) and a batch of 10 such calls to, in one run:
 *
 * - ours: `JsonRpcServer.routeHandler()` on `WebhookServer`;
 * - npm `jayson`'s HTTP server (node:http);
 * - npm `json-rpc-2.0`'s `JSONRPCServer` on node:http (body read, `JSON.parse`, `receive`,
 *   `JSON.stringify`: its documented setup);
 * - our plain HTTP route: the same `WebhookServer` answering the same bytes with no JSON-RPC
 *   work (no parsing, no dispatch), which bounds what any JSON-RPC layer on it can reach;
 *   the difference of CPU per call is our JSON-RPC layer's overhead.
 *
 * Every server answers the same bytes for the same request (checked before measuring). The
 * servers run in this process, pinned to core 0, wrk on core 1 (taskset, when there). In each
 * round every server takes each workload back to back (order alternating by round); each figure
 * is the median over the rounds with the min–max: calls per second (a batch counts 10 calls,
 * wrk's own count and time) and this process's CPU time per call while wrk ran, which is much
 * steadier than throughput on a shared machine. Ratios are taken per round (figures measured
 * back to back), then their median and range are printed.
 *
 * Usage: `deno run -A scripts/bench/jsonrpc.ts [--duration=2] [--rounds=9]`, or
 * `node npm/scripts/bench/jsonrpc.js` after `deno task build:npm --bench`.
 *
 * @module
 */
/// <reference types="npm:@types/node@^20" />
// (jayson depends on @types/node 12; the reference keeps node: modules typed with 20.)
import { createServer, type Server } from "node:http";
import process from "node:process";
import jayson from "npm:jayson@5.0.0";
import { JSONRPCServer } from "npm:json-rpc-2.0@1.8.1";
import { platform } from "../../core/platform/mod.ts";
import { JsonRpcServer } from "../../http/jsonrpc_server.ts";
import { WebhookServer } from "../../http/server.ts";
import { pinToCoreZero, runCommand } from "./_harness.ts";

const JAYSON_VERSION = "5.0.0";
const JSON_RPC_2_VERSION = "1.8.1";

const isDeno = "Deno" in globalThis;
// deno-lint-ignore no-explicit-any
const g = globalThis as any;
const args: string[] = isDeno ? g.Deno.args : g.process.argv.slice(2);
const arg = (name: string, fallback: string): string =>
  args.find((a) => a.startsWith(`--${name}=`))?.split("=")[1] ?? fallback;
const duration = Number(arg("duration", "2"));
const rounds = Number(arg("rounds", "9"));
const connections = 64;

const SINGLE = JSON.stringify({ jsonrpc: "2.0", method: "add", params: [1, 2], id: 1 });
const BATCH = JSON.stringify(
  Array.from({ length: 10 }, (_, i) => ({ jsonrpc: "2.0", method: "add", params: [i, 2], id: i })),
);
const WORKLOADS = [
  { name: "single", body: SINGLE, calls: 1 },
  { name: "batch of 10", body: BATCH, calls: 10 },
];

interface Running {
  url: string;
  stop(): Promise<void>;
}
interface Candidate {
  name: string;
  start(): Promise<Running>;
}

const run = runCommand;
const pinned = await pinToCoreZero();

const dir = await platform().makeTempDir({ prefix: "iora-bench-jsonrpc-" });
const scripts: Record<string, string> = {};
for (const w of WORKLOADS) {
  const file = `${dir}/${w.calls}.lua`;
  await platform().writeTextFile(
    file,
    `wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nwrk.body = ${
      JSON.stringify(w.body)
    }\n`,
  );
  scripts[w.name] = file;
}

async function wrk(
  url: string,
  script: string,
  seconds: number,
): Promise<{ requests: number; seconds: number }> {
  const wrkArgs = ["-t1", `-c${connections}`, `-d${seconds}s`, "-s", script, url];
  const out = pinned
    ? await run("taskset", ["-c", "1", "wrk", ...wrkArgs])
    : await run("wrk", wrkArgs);
  const errors = /Non-2xx or 3xx responses: (\d+)|Socket errors: (.*)/.exec(out);
  if (errors) console.log(`    (${url}: ${errors[0]})`);
  // "N requests in 3.00s": wrk's own count and time.
  const m = /(\d+) requests in ([\d.]+)(ms|s|m)\b/.exec(out);
  if (m === null) return { requests: 0, seconds: 0 };
  const scale = m[3] === "ms" ? 1e-3 : m[3] === "m" ? 60 : 1;
  return { requests: Number(m[1]), seconds: Number(m[2]) * scale };
}

function listen(server: Server, path: string): Promise<Running> {
  server.keepAliveTimeout = 60_000;
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as { port: number }).port;
      resolve({
        url: `http://127.0.0.1:${port}${path}`,
        stop: () =>
          new Promise<void>((r) => {
            server.closeAllConnections();
            server.close(() => r());
          }),
      });
    })
  );
}

const add = (a: number, b: number): number => a + b;

const ours: Candidate = {
  name: "ours (JsonRpcServer)",
  async start() {
    const rpc = new JsonRpcServer();
    rpc.register("add", (params) => {
      const p = params as number[];
      return add(p[0], p[1]);
    });
    const server = new WebhookServer();
    server.route("POST", "/rpc", rpc.routeHandler());
    await server.start({ hostname: "127.0.0.1", port: 0 });
    return {
      url: `http://127.0.0.1:${server.port}/rpc`,
      stop: () => server.stop({ timeoutMs: 100 }),
    };
  },
};

const plain: Candidate = {
  name: "our plain HTTP route",
  async start() {
    const single = await answerOf(SINGLE);
    const batch = await answerOf(BATCH);
    const server = new WebhookServer();
    // The same bytes out, nothing parsed: a batch is told from a single call by its first byte.
    server.route("POST", "/plain", (req, res) => {
      res.setContent(req.body[0] === 91 ? batch : single, "application/json");
    });
    await server.start({ hostname: "127.0.0.1", port: 0 });
    return {
      url: `http://127.0.0.1:${server.port}/plain`,
      stop: () => server.stop({ timeoutMs: 100 }),
    };
  },
};

const jaysonServer: Candidate = {
  name: `jayson ${JAYSON_VERSION}`,
  start() {
    type Callback = (error: unknown, result?: unknown) => void;
    const server: Server = new jayson.Server({
      add: (p: number[], cb: Callback) => cb(null, add(p[0], p[1])),
    }).http();
    return listen(server, "/");
  },
};

const jsonRpc2: Candidate = {
  name: `json-rpc-2.0 ${JSON_RPC_2_VERSION}`,
  start() {
    const rpc = new JSONRPCServer();
    rpc.addMethod("add", (p: number[]) => add(p[0], p[1]));
    const server = createServer((req, res) => {
      const chunks: Uint8Array[] = [];
      req.on("data", (c: Uint8Array) => chunks.push(c));
      req.on("end", () => {
        let request: unknown;
        try {
          request = JSON.parse(Buffer.concat(chunks).toString("utf8"));
        } catch {
          res.writeHead(400);
          res.end();
          return;
        }
        // deno-lint-ignore no-explicit-any
        rpc.receive(request as any).then((response) => {
          if (response === null) {
            res.writeHead(204);
            res.end();
            return;
          }
          const body = JSON.stringify(response);
          res.writeHead(200, {
            "content-type": "application/json",
            "content-length": Buffer.byteLength(body),
          });
          res.end(body);
        });
      });
    });
    return listen(server, "/");
  },
};

// The answer every server must give (ours computes it; the others are checked against it).
let reference: JsonRpcServer | undefined;
async function answerOf(body: string): Promise<string> {
  if (reference === undefined) {
    reference = new JsonRpcServer();
    reference.register("add", (params) => add((params as number[])[0], (params as number[])[1]));
  }
  return (await reference.handle(body))!;
}

// Key order differs between libraries; the content must not.
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (typeof value === "object" && value !== null) {
    const keys = Object.keys(value).sort();
    return `{${
      keys.map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
        .join(",")
    }}`;
  }
  return JSON.stringify(value);
}

async function check(c: Candidate, server: Running): Promise<void> {
  for (const w of WORKLOADS) {
    const response = await fetch(server.url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: w.body,
    });
    const got = canonical(await response.json());
    const want = canonical(JSON.parse(await answerOf(w.body)));
    if (got !== want) throw new Error(`${c.name} answers ${got} to ${w.name}, not ${want}`);
  }
}

function stats(values: number[]): { median: number; min: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  return { median: sorted[sorted.length >> 1], min: sorted[0], max: sorted[sorted.length - 1] };
}

const candidates = [ours, plain, jaysonServer, jsonRpc2];
const running: { c: Candidate; server: Running }[] = [];
const callsPerSecond = new Map<string, number[]>();
const cpuPerCall = new Map<string, number[]>();
const key = (c: Candidate, w: { name: string }) => `${c.name}|${w.name}`;
const push = (m: Map<string, number[]>, k: string, v: number) =>
  (m.get(k) ?? m.set(k, []).get(k)!).push(v);
try {
  for (const c of candidates) {
    const server = await c.start();
    running.push({ c, server });
    await check(c, server);
  }
  for (const { server } of running) {
    for (const w of WORKLOADS) await wrk(server.url, scripts[w.name], 1); // warm-up
  }
  for (let round = 0; round < rounds; round++) {
    // Per workload, the servers run back to back (order alternating by round), so the ratio of
    // one round compares figures taken under nearly the same load.
    for (const w of WORKLOADS) {
      const order = round % 2 === 0 ? running : [...running].reverse();
      for (const { c, server } of order) {
        const before = process.cpuUsage();
        const { requests, seconds } = await wrk(server.url, scripts[w.name], duration);
        const used = process.cpuUsage(before);
        const calls = requests * w.calls;
        push(callsPerSecond, key(c, w), seconds > 0 ? calls / seconds : 0);
        push(cpuPerCall, key(c, w), calls > 0 ? (used.user + used.system) / calls : Infinity);
      }
    }
  }
} finally {
  for (const { server } of running) await server.stop();
  await platform().remove(dir, { recursive: true }).catch(() => {});
}

const runtime = isDeno ? `Deno ${g.Deno.version.deno}` : `Node ${g.process.version}`;
console.log(
  `JSON-RPC servers (${runtime}); wrk -t1 -c${connections} -d${duration}s, ${rounds} interleaved ` +
    `rounds, median (min–max); ${pinned ? "servers on core 0, wrk on core 1" : "unpinned"}`,
);
// The ratio of each round (figures taken back to back), then their median and range.
function ratios(w: { name: string }, peer: Candidate, m: Map<string, number[]>, invert: boolean) {
  const mine = m.get(key(ours, w))!;
  const theirs = m.get(key(peer, w))!;
  return stats(mine.map((v, i) => (invert ? theirs[i] / v : v / theirs[i])));
}
const range = (r: { median: number; min: number; max: number }) =>
  `${r.median.toFixed(2)}x (${r.min.toFixed(2)}–${r.max.toFixed(2)})`;
for (const w of WORKLOADS) {
  console.log(`${w.name}:`);
  for (const { c } of running) {
    const rate = stats(callsPerSecond.get(key(c, w))!);
    const cpu = stats(cpuPerCall.get(key(c, w))!);
    console.log(
      `  ${c.name.padEnd(24)} ${rate.median.toFixed(0).padStart(7)} calls/s ` +
        `(${rate.min.toFixed(0)}–${rate.max.toFixed(0)})  ` +
        `${cpu.median.toFixed(2).padStart(6)} us CPU/call (${cpu.min.toFixed(2)}–${
          cpu.max.toFixed(2)
        })`,
    );
  }
  for (const { c } of running) {
    if (c === ours) continue;
    console.log(
      `  ours / ${c.name.padEnd(22)} calls/s ${
        range(ratios(w, c, callsPerSecond, false))
      }   CPU efficiency ${range(ratios(w, c, cpuPerCall, true))}`,
    );
  }
  const layer = stats(
    cpuPerCall.get(key(ours, w))!.map((v, i) => v - cpuPerCall.get(key(plain, w))![i]),
  );
  console.log(
    `  our JSON-RPC layer over the plain route: ${layer.median.toFixed(2)} us CPU per call ` +
      `(${layer.min.toFixed(2)}–${layer.max.toFixed(2)})`,
  );
}
console.log(`peers: jayson ${JAYSON_VERSION}, json-rpc-2.0 ${JSON_RPC_2_VERSION}; ${runtime}`);
