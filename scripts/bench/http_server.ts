/**
 * HTTP server throughput: wrk (64 keep-alive connections, one thread)
 * against a JSON hello route and a `/users/{id}` route, our
 * `WebhookServer` against the runtime's own server and a popular
 * framework, in one run, printing requests per second and ratios.
 *
 * - Deno: ours, raw `Deno.serve`, npm `hono` on `Deno.serve`.
 * - Node: ours, raw `node:http`, npm `fastify`.
 * - The floor on each runtime: a loop over the runtime's own sockets that
 *   parses nothing and writes a fixed response per read (`Deno.listen`,
 *   `node:net`). Any HTTP server on those sockets costs at least this much.
 *
 * The server process is pinned to core 0 and wrk to core 1 (taskset) when
 * the machine has them. All servers run at once and the measuring rounds
 * interleave them; each figure is the best round for requests per second
 * and the median round for CPU time per request (this process's user +
 * system time while wrk ran), which is much steadier than throughput on a
 * shared machine. Usage: `deno run -A scripts/bench/http_server.ts
 * [--duration=4] [--rounds=3]`, or `node npm/scripts/bench/http_server.js`
 * after the npm build.
 *
 * @module
 */
import { createServer } from "node:http";
import { createServer as createNetServer, type Socket } from "node:net";
import process from "node:process";
import { WebhookServer } from "../../http/server.ts";
import { pinToCoreZero, runCommand } from "./_harness.ts";

const isDeno = "Deno" in globalThis;
// deno-lint-ignore no-explicit-any
const g = globalThis as any;
const args: string[] = isDeno ? g.Deno.args : g.process.argv.slice(2);
const arg = (name: string, fallback: string): string =>
  args.find((a) => a.startsWith(`--${name}=`))?.split("=")[1] ?? fallback;
const duration = Number(arg("duration", "4"));
const rounds = Number(arg("rounds", "3"));
const connections = Number(arg("connections", "64"));

interface Running {
  port: number;
  stop(): Promise<void>;
}
type Candidate = { name: string; start(port: number): Promise<Running> };

const USER = (id: string): string => JSON.stringify({ id, name: "Ada", email: "ada@example.com" });

const run = runCommand;
let pinned = false;

async function wrk(url: string, seconds: number): Promise<{ rps: number; requests: number }> {
  const wrkArgs = ["-t1", `-c${connections}`, `-d${seconds}s`, url];
  const out = pinned
    ? await run("taskset", ["-c", "1", "wrk", ...wrkArgs])
    : await run("wrk", wrkArgs);
  const m = /Requests\/sec:\s+([\d.]+)/.exec(out);
  const n = /(\d+) requests in/.exec(out);
  const errors = /Non-2xx or 3xx responses: (\d+)|Socket errors: (.*)/.exec(out);
  if (errors) console.log(`    (${url}: ${errors[0]})`);
  return { rps: m ? Number(m[1]) : 0, requests: n ? Number(n[1]) : 0 };
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
  const a = s.address();
  await new Promise<void>((r) => s.close(() => r()));
  return typeof a === "object" && a ? a.port : 0;
}

const ours: Candidate = {
  name: "iora WebhookServer",
  async start(port) {
    const server = new WebhookServer();
    server.onGet("/json", (_req, res) => res.json({ message: "Hello, World!" }));
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
      (req: Request) => {
        const path = new URL(req.url).pathname;
        if (path === "/json") return Response.json({ message: "Hello, World!" });
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
  async start(port) {
    const server = createServer((req, res) => {
      const path = req.url ?? "/";
      if (path === "/json") {
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

pinned = await pinToCoreZero();
const candidates = isDeno
  ? [ours, denoServe, hono, denoFloor]
  : [ours, nodeHttp, fastify, nodeFloor];
const runtime = isDeno ? `Deno ${g.Deno.version.deno}` : `Node ${g.process.version}`;
const paths = ["/json", "/users/42"];
console.log(
  `${runtime}; wrk -t1 -c${connections} -d${duration}s, best of ${rounds} interleaved rounds; ${
    pinned ? "server on core 0, wrk on core 1" : "unpinned"
  }; ours on SharedTransport`,
);
// Every server runs for the whole bench (an idle one costs nothing) and the rounds interleave
// them, so a burst of load from elsewhere on the machine hits all of them alike. Requests per
// second is the best round; CPU per request (user + system time of this process while wrk
// ran, divided by the requests served) is the median round and is far less sensitive to
// other processes than throughput is.
const running: Array<{ c: Candidate; server: Running }> = [];
for (const c of candidates) running.push({ c, server: await c.start(await freePort()) });
const rps = new Map<string, Record<string, number>>();
const cpu = new Map<string, Record<string, number[]>>();
try {
  for (const { c, server } of running) {
    for (const path of paths) await wrk(`http://127.0.0.1:${server.port}${path}`, 1); // warm-up
    rps.set(c.name, {});
    cpu.set(c.name, {});
  }
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? running : [...running].reverse();
    for (const { c, server } of order) {
      for (const path of paths) {
        const before = process.cpuUsage();
        const r = await wrk(`http://127.0.0.1:${server.port}${path}`, duration);
        const used = process.cpuUsage(before);
        const row = rps.get(c.name)!;
        row[path] = Math.max(row[path] ?? 0, r.rps);
        (cpu.get(c.name)![path] ??= []).push(
          r.requests > 0 ? (used.user + used.system) / r.requests : Infinity,
        );
      }
    }
  }
} finally {
  for (const { server } of running) await server.stop();
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1];
for (const { c } of running) {
  const row = rps.get(c.name)!;
  const usage = cpu.get(c.name)!;
  console.log(
    `  ${c.name.padEnd(22)} /json ${row["/json"].toFixed(0).padStart(7)} req/s ${
      median(usage["/json"]).toFixed(1).padStart(5)
    } us CPU/req   /users/{id} ${row["/users/42"].toFixed(0).padStart(7)} req/s ${
      median(usage["/users/42"]).toFixed(1).padStart(5)
    } us CPU/req`,
  );
}
const mine = rps.get(ours.name)!;
const myCpu = cpu.get(ours.name)!;
for (const { c } of running) {
  if (c === ours) continue;
  const row = rps.get(c.name)!;
  const theirCpu = cpu.get(c.name)!;
  const ratio = (p: string) => (mine[p] / row[p]).toFixed(2);
  const eff = (p: string) => (median(theirCpu[p]) / median(myCpu[p])).toFixed(2);
  console.log(
    `  ours / ${c.name.padEnd(20)} req/s /json ${ratio("/json")}x  /users/{id} ${
      ratio("/users/42")
    }x   CPU efficiency /json ${eff("/json")}x  /users/{id} ${eff("/users/42")}x`,
  );
}
