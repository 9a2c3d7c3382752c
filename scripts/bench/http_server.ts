/**
 * HTTP server throughput, latency and memory: wrk (keep-alive, one thread) against a JSON hello
 * route and a `/users/{id}` route, our `WebhookServer` against the runtime's own server and a
 * popular framework, in one run, printing medians with min–max and ratios.
 *
 * - Deno: ours, raw `Deno.serve`, npm `hono` on `Deno.serve`.
 * - Node: ours, raw `node:http`, npm `fastify`.
 * - The floor on each runtime: a loop over the runtime's own sockets that
 *   parses nothing and writes a fixed response per read (`Deno.listen`,
 *   `node:net`). Any HTTP server on those sockets costs at least this much.
 *
 * Three parts:
 * 1. Throughput at 64 connections, every candidate, both routes.
 * 2. Latency of /json at 64, 256 and 1,024 connections, ours and the runtime's own server: p50,
 *    p99, p99.9 and max (wrk's own histogram, read by a Lua `done` hook), and fairness: the
 *    slowest connection's request count against the median connection's (counted by the
 *    servers, keyed by the client's port).
 * 3. Server memory per idle keep-alive connection: ours and the runtime's own server, 5,000
 *    connections that each made one request, resident memory (/proc, Linux) after minus before,
 *    divided by the count.
 *
 * Each server runs alone in a child process (this script with `--serve=`), started afresh for
 * each round and warmed up, pinned to core 0, wrk on core 1 (taskset) when the machine has them:
 * servers sharing a process share its garbage collector and its event loop, which skews both
 * throughput and tail latency (`Deno.serve` ran ~30% slower beside the others). Rounds
 * interleave the candidates (order reversed every other round), so a load change on a shared
 * machine hits all alike; ratios are per round.
 * Usage: `deno run -A scripts/bench/http_server.ts [--duration=3] [--rounds=5] [--idle=5000]
 * [--mem-rounds=5]`, or `node npm/scripts/bench/http_server.js` after `deno task build:npm --bench`.
 *
 * @module
 */
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { connect, createServer as createNetServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import process from "node:process";
import { WebhookServer } from "../../http/server.ts";
import { pinToCoreZero, runCommand } from "./_harness.ts";

const isDeno = "Deno" in globalThis;
// deno-lint-ignore no-explicit-any
const g = globalThis as any;
const args: string[] = isDeno ? g.Deno.args : g.process.argv.slice(2);
const arg = (name: string, fallback: string): string =>
  args.find((a) => a.startsWith(`--${name}=`))?.split("=")[1] ?? fallback;
const duration = Number(arg("duration", "3"));
const rounds = Number(arg("rounds", "5"));
const idleConnections = Number(arg("idle", "5000"));
const memRounds = Number(arg("mem-rounds", "5"));
const latencyConnections = [64, 256, 1024];
const paths = ["/json", "/users/42"];

interface Running {
  port: number;
  stop(): Promise<void>;
}
interface StartOptions {
  /** Keep-alive idle limit, where the server has one (the memory runs hold idle connections). */
  idleMs?: number;
}
type Candidate = { name: string; start(port: number, options: StartOptions): Promise<Running> };

const USER = (id: string): string => JSON.stringify({ id, name: "Ada", email: "ada@example.com" });

/** Requests per client port during the current run (ours and the runtime's server count). */
const perConnection = new Map<number, number>();
function count(port: number): void {
  perConnection.set(port, (perConnection.get(port) ?? 0) + 1);
}

const run = runCommand;
let pinned = false;

/** Latency figures of one wrk run, in microseconds. */
interface Latency {
  p50: number;
  p99: number;
  p999: number;
  max: number;
}

const LUA = `${tmpdir()}/iora_http_bench_latency.lua`;
writeFileSync(
  LUA,
  `done = function(summary, latency, requests)
  io.write(string.format("LATENCY %d %d %d %d\\n", latency:percentile(50), latency:percentile(99),
    latency:percentile(99.9), latency.max))
end
`,
);

async function wrk(
  url: string,
  connections: number,
  seconds: number,
): Promise<{ rps: number; lat: Latency }> {
  const wrkArgs = ["-t1", `-c${connections}`, `-d${seconds}s`, "-s", LUA, url];
  const out = pinned
    ? await run("taskset", ["-c", "1", "wrk", ...wrkArgs])
    : await run("wrk", wrkArgs);
  const m = /Requests\/sec:\s+([\d.]+)/.exec(out);
  const l = /LATENCY (\d+) (\d+) (\d+) (\d+)/.exec(out);
  const errors = /Non-2xx or 3xx responses: (\d+)|Socket errors: (.*)/.exec(out);
  if (errors) console.log(`    (${url} c=${connections}: ${errors[0]})`);
  return {
    rps: m ? Number(m[1]) : 0,
    lat: l
      ? { p50: Number(l[1]), p99: Number(l[2]), p999: Number(l[3]), max: Number(l[4]) }
      : { p50: NaN, p99: NaN, p999: NaN, max: NaN },
  };
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
  const a = s.address();
  await new Promise<void>((r) => s.close(() => r()));
  return typeof a === "object" && a ? a.port : 0;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1];

const ours: Candidate = {
  name: "iora WebhookServer",
  async start(port, options) {
    const server = new WebhookServer({ keepAliveTimeoutMs: options.idleMs });
    server.onGet("/json", (req, res) => {
      const remote = req.remoteAddress;
      count(Number(remote.slice(remote.lastIndexOf(":") + 1)));
      res.json({ message: "Hello, World!" });
    });
    server.onGet(
      "/users/{id}",
      (req, res) => res.setContent(USER(req.params.id), "application/json"),
    );
    await server.start({ hostname: "127.0.0.1", port });
    return { port, stop: () => server.stop({ timeoutMs: 100 }) };
  },
};

const denoServe: Candidate = {
  name: "Deno.serve",
  start(port) {
    const server = g.Deno.serve(
      { hostname: "127.0.0.1", port, onListen() {} },
      (req: Request, info: { remoteAddr: { port: number } }) => {
        const path = new URL(req.url).pathname;
        if (path === "/json") {
          count(info.remoteAddr.port);
          return Response.json({ message: "Hello, World!" });
        }
        if (path.startsWith("/users/")) {
          return new Response(USER(path.slice(7)), {
            headers: { "content-type": "application/json" },
          });
        }
        return new Response("not found", { status: 404 });
      },
    );
    return Promise.resolve({ port, stop: () => server.shutdown() });
  },
};

const hono: Candidate = {
  name: "hono on Deno.serve",
  async start(port) {
    const { Hono } = await import("npm:hono@4.6.14");
    const app = new Hono();
    app.get("/json", (c) => c.json({ message: "Hello, World!" }));
    app.get("/users/:id", (c) => {
      c.header("content-type", "application/json");
      return c.body(USER(c.req.param("id")));
    });
    const server = g.Deno.serve({ hostname: "127.0.0.1", port, onListen() {} }, app.fetch);
    return { port, stop: () => server.shutdown() };
  },
};

const nodeHttp: Candidate = {
  name: "node:http",
  async start(port, options) {
    const server = createServer((req, res) => {
      const path = req.url ?? "/";
      if (path === "/json") {
        count(req.socket.remotePort ?? 0);
        const body = JSON.stringify({ message: "Hello, World!" });
        res.writeHead(200, { "content-type": "application/json", "content-length": body.length });
        res.end(body);
      } else if (path.startsWith("/users/")) {
        const body = USER(path.slice(7));
        res.writeHead(200, { "content-type": "application/json", "content-length": body.length });
        res.end(body);
      } else {
        res.writeHead(404);
        res.end();
      }
    });
    if (options.idleMs !== undefined) server.keepAliveTimeout = options.idleMs;
    await new Promise<void>((r) => server.listen(port, "127.0.0.1", () => r()));
    return {
      port,
      stop: () =>
        new Promise<void>((r) => {
          server.closeAllConnections();
          server.close(() => r());
        }),
    };
  },
};

const fastify: Candidate = {
  name: "fastify",
  async start(port) {
    const { default: Fastify } = await import("npm:fastify@5.2.0");
    const app = Fastify({ logger: false });
    app.get("/json", () => ({ message: "Hello, World!" }));
    app.get("/users/:id", (req, reply) => {
      reply.header("content-type", "application/json");
      return USER((req.params as { id: string }).id);
    });
    await app.listen({ port, host: "127.0.0.1" });
    return { port, stop: () => app.close() };
  },
};

// The socket floor: one read, one fixed response written, nothing parsed. wrk sends one request
// per connection at a time, so each read is one whole request.
const FLOOR_RESPONSES: Record<string, Uint8Array> = {};
function floorResponse(path: string): Uint8Array {
  if (FLOOR_RESPONSES[path] === undefined) {
    const body = path === "/json" ? JSON.stringify({ message: "Hello, World!" }) : USER("42");
    FLOOR_RESPONSES[path] = new TextEncoder().encode(
      `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`,
    );
  }
  return FLOOR_RESPONSES[path];
}
// "GET /json ..." has a 'j' at offset 5.
const floorPath = (b: Uint8Array): string => (b[5] === 106 ? "/json" : "/users/42");

const denoFloor: Candidate = {
  name: "floor: Deno.listen",
  start(port) {
    const listener = g.Deno.listen({ hostname: "127.0.0.1", port });
    const conns = new Set<{ close(): void }>();
    const serve = async (conn: {
      read(b: Uint8Array): Promise<number | null>;
      write(b: Uint8Array): Promise<number>;
      close(): void;
    }) => {
      conns.add(conn);
      const buf = new Uint8Array(4096);
      try {
        for (;;) {
          const n = await conn.read(buf);
          if (n === null) break;
          await conn.write(floorResponse(floorPath(buf)));
        }
      } catch {
        // closed by stop()
      }
      conns.delete(conn);
      try {
        conn.close();
      } catch {
        // already closed
      }
    };
    (async () => {
      for await (const conn of listener) serve(conn);
    })().catch(() => {});
    return Promise.resolve({
      port,
      stop() {
        listener.close();
        for (const c of conns) c.close();
        return Promise.resolve();
      },
    });
  },
};

const nodeFloor: Candidate = {
  name: "floor: node:net",
  async start(port) {
    const sockets = new Set<Socket>();
    const server = createNetServer((socket) => {
      sockets.add(socket);
      socket.setNoDelay(true);
      socket.on("data", (b: Uint8Array) => socket.write(floorResponse(floorPath(b))));
      socket.on("error", () => {});
      socket.on("close", () => sockets.delete(socket));
    });
    await new Promise<void>((r) => server.listen(port, "127.0.0.1", () => r()));
    return {
      port,
      stop: () =>
        new Promise<void>((r) => {
          for (const s of sockets) s.destroy();
          server.close(() => r());
        }),
    };
  },
};

// ---------------------------------------------------------------- memory per idle connection

/**
 * `--serve=<name> --port=<n>`: this script as a child process serving one candidate alone, so
 * that its time, its tail and its resident memory are the server's and nothing else's. A line
 * on stdin asks for the requests counted per client port since the last ask (one line of JSON
 * on stdout, `COUNTS [...]`).
 */
async function serveAlone(name: string, port: number): Promise<void> {
  const c = candidates.find((x) => x.name === name);
  if (c === undefined) throw new Error(`no candidate ${name}`);
  await c.start(port, { idleMs: 120_000 });
  process.stdin.on("data", () => {
    process.stdout.write(`COUNTS ${JSON.stringify([...perConnection.values()])}\n`);
    perConnection.clear();
  });
  // Lives until the parent kills it, or goes when the parent does (its stdin closes).
  process.stdin.on("end", () => process.exit(0));
  console.log("ready");
  setInterval(() => {}, 60_000);
}

/** A candidate serving alone in a child process. */
interface Alone {
  port: number;
  pid: number;
  /** The requests per client port since the last call. */
  counts(): Promise<number[]>;
  stop(): void;
}

/** Starts `name` alone in a child process (pinned to core 0 when wrk gets core 1). */
async function startAlone(name: string): Promise<Alone> {
  const port = await freePort();
  const self = isDeno
    ? ["run", "-A", g.Deno.mainModule.replace("file://", "")]
    : [g.process.argv[1]];
  const exe = isDeno ? g.Deno.execPath() : g.process.execPath;
  const argv = [...self, `--serve=${name}`, `--port=${port}`];
  const child = pinned
    ? spawn("taskset", ["-c", "0", exe, ...argv], { stdio: ["pipe", "pipe", "inherit"] })
    : spawn(exe, argv, { stdio: ["pipe", "pipe", "inherit"] });
  let out = "";
  let waiting: ((line: string) => void) | null = null;
  let failed: ((error: Error) => void) | null = null;
  child.once("exit", () => failed?.(new Error(`${name} server exited`)));
  child.stdout!.on("data", (d: Uint8Array) => {
    out += new TextDecoder().decode(d);
    for (let nl = out.indexOf("\n"); nl !== -1; nl = out.indexOf("\n")) {
      const line = out.slice(0, nl);
      out = out.slice(nl + 1);
      waiting?.(line);
    }
  });
  const next = (prefix: string) =>
    new Promise<string>((resolve, reject) => {
      waiting = (line) => {
        if (!line.startsWith(prefix)) return;
        waiting = null;
        failed = null;
        resolve(line);
      };
      failed = reject;
    });
  try {
    await next("ready");
  } catch (e) {
    child.kill("SIGKILL");
    throw e;
  }
  return {
    port,
    pid: child.pid!,
    async counts() {
      const line = next("COUNTS ");
      child.stdin!.write("counts\n");
      return JSON.parse((await line).slice(7)) as number[];
    },
    stop: () => child.kill("SIGKILL"),
  };
}

function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const m = /VmRSS:\s+(\d+) kB/.exec(status);
  return m ? Number(m[1]) * 1024 : NaN;
}

/** Opens `n` keep-alive connections to `port`, each makes one request and reads its answer. */
async function openIdle(port: number, n: number): Promise<Socket[]> {
  const sockets: Socket[] = [];
  const request = new TextEncoder().encode("GET /json HTTP/1.1\r\nHost: bench\r\n\r\n");
  const one = () =>
    new Promise<void>((resolve, reject) => {
      const s = connect({ host: "127.0.0.1", port }, () => s.write(request));
      s.once("data", () => resolve());
      s.once("error", reject);
      s.once("close", () => reject(new Error("closed before the answer")));
      sockets.push(s);
    });
  for (let i = 0; i < n; i += 250) {
    await Promise.all(Array.from({ length: Math.min(250, n - i) }, one));
  }
  return sockets;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Server memory per idle keep-alive connection (bytes), `idle` connections, in a child process. */
async function memoryPerConnection(name: string, idle: number): Promise<number> {
  const alone = await startAlone(name);
  try {
    // Warm-up: the first connections compile code and size pools; they are not what is measured.
    for (const s of await openIdle(alone.port, 500)) s.destroy();
    await sleep(500);
    const before = rssOf(alone.pid);
    const sockets = await openIdle(alone.port, idle);
    await sleep(1000);
    const after = rssOf(alone.pid);
    for (const s of sockets) s.destroy();
    return (after - before) / idle;
  } finally {
    alone.stop();
  }
}

// ---------------------------------------------------------------- main

const denoCandidates = [ours, denoServe, hono, denoFloor];
const nodeCandidates = [ours, nodeHttp, fastify, nodeFloor];
const candidates = isDeno ? denoCandidates : nodeCandidates;
const peer = candidates[1];
const serveName = args.find((a) => a.startsWith("--serve="))?.slice(8);
if (serveName !== undefined) {
  await serveAlone(serveName, Number(arg("port", "0")));
} else {
  await main();
}

interface Sample {
  rps: number;
  lat: Latency;
  /** The slowest connection's requests / the median connection's (null when not counted). */
  fairness: number | null;
}

async function main(): Promise<void> {
  pinned = await pinToCoreZero();
  const runtime = isDeno ? `Deno ${g.Deno.version.deno}` : `Node ${g.process.version}`;
  console.log(
    `${runtime}; wrk -t1 -d${duration}s, ${rounds} interleaved rounds, median (min–max); ${
      pinned ? "server on core 0, wrk on core 1" : "unpinned"
    }; ours on SharedTransport`,
  );
  // Runs: every candidate on both paths at 64 connections; ours and the peer at the higher counts.
  const runs: Array<{ path: string; conns: number; who: Candidate[] }> = [
    { path: "/json", conns: 64, who: candidates },
    { path: "/users/42", conns: 64, who: candidates },
    ...latencyConnections.filter((c) => c !== 64).map((conns) => ({
      path: "/json",
      conns,
      who: [ours, peer],
    })),
  ];
  const samples = new Map<string, Sample[]>();
  const key = (c: Candidate, path: string, conns: number) => `${c.name} ${path} ${conns}`;
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? candidates : [...candidates].reverse();
    for (const c of order) {
      const alone = await startAlone(c.name);
      try {
        for (const path of paths) await wrk(`http://127.0.0.1:${alone.port}${path}`, 64, 1);
        for (const run of runs) {
          if (!run.who.includes(c)) continue;
          await alone.counts();
          const r = await wrk(`http://127.0.0.1:${alone.port}${run.path}`, run.conns, duration);
          const counts = (await alone.counts()).sort((a, b) => a - b);
          const fairness = counts.length > 0 ? counts[0] / counts[counts.length >> 1] : null;
          const k = key(c, run.path, run.conns);
          if (!samples.has(k)) samples.set(k, []);
          samples.get(k)!.push({ rps: r.rps, lat: r.lat, fairness });
        }
      } finally {
        alone.stop();
      }
    }
  }

  const fmt = (xs: number[], digits = 0) =>
    `${median(xs).toFixed(digits)} (${Math.min(...xs).toFixed(digits)}–${
      Math.max(...xs).toFixed(digits)
    })`;
  const ms = (us: number[]) => fmt(us.map((u) => u / 1000), 1);
  console.log("\nthroughput, 64 connections: req/s median (min–max)");
  for (const path of paths) {
    for (const c of candidates) {
      const s = samples.get(key(c, path, 64))!;
      console.log(`  ${path.padEnd(10)} ${c.name.padEnd(22)} ${fmt(s.map((x) => x.rps))}`);
    }
    const mine = samples.get(key(ours, path, 64))!;
    for (const c of candidates.slice(1)) {
      const theirs = samples.get(key(c, path, 64))!;
      // Per round: ours and the peer ran in the same round, so their ratio is the steady figure.
      const ratios = mine.map((m, i) => m.rps / theirs[i].rps);
      console.log(`  ${path.padEnd(10)} ours / ${c.name.padEnd(20)} ${fmt(ratios, 2)}x`);
    }
  }
  console.log(
    "\nlatency, /json: ms median over rounds (min–max); slowest connection's requests / median's",
  );
  for (const conns of latencyConnections) {
    for (const c of [ours, peer]) {
      const s = samples.get(key(c, "/json", conns))!;
      const lat = (f: (l: Latency) => number) => ms(s.map((x) => f(x.lat)));
      const fair = s.map((x) => x.fairness ?? NaN);
      console.log(
        `  c=${String(conns).padEnd(5)} ${c.name.padEnd(20)} p50 ${lat((l) => l.p50)}  p99 ${
          lat((l) => l.p99)
        }  p99.9 ${lat((l) => l.p999)}  max ${lat((l) => l.max)}  slowest/median ${fmt(fair, 2)}`,
      );
    }
    const mine = samples.get(key(ours, "/json", conns))!;
    const theirs = samples.get(key(peer, "/json", conns))!;
    const ratios = mine.map((m, i) => m.lat.p99 / theirs[i].lat.p99);
    console.log(`  c=${String(conns).padEnd(5)} p99 ours / ${peer.name}: ${fmt(ratios, 2)}x`);
  }

  console.log(
    `\nmemory per idle keep-alive connection, ${idleConnections} connections, server alone in a child process (KiB)`,
  );
  const mem = new Map<string, number[]>([[ours.name, []], [peer.name, []]]);
  for (let round = 0; round < memRounds; round++) {
    for (const c of round % 2 === 0 ? [ours, peer] : [peer, ours]) {
      mem.get(c.name)!.push((await memoryPerConnection(c.name, idleConnections)) / 1024);
    }
  }
  for (const [name, xs] of mem) console.log(`  ${name.padEnd(22)} ${fmt(xs, 1)} KiB`);
  const m0 = mem.get(ours.name)!;
  const m1 = mem.get(peer.name)!;
  console.log(`  ours / ${peer.name}: ${fmt(m0.map((x, i) => x / m1[i]), 2)}x`);
}
