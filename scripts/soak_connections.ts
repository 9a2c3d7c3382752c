/**
 * Connection-scale soak cases of `deno task soak`, run against a `WebhookServer` alone in a child
 * process (so its resident memory is the server's), once on Deno and once on Node (the npm
 * build, made first when it is missing); the clients are `node:net` sockets in this process.
 *
 * 1. 10,000 keep-alive connections (`--connections=N`), each makes one request and stays open,
 *    plus 100 more past the server's `maxSessions` (N): every one of the N is answered, the
 *    excess is closed at accept without an answer, the server's RSS is recorded, and the server
 *    still answers once the connections are gone.
 * 2. 1,000 clients (`--slow-bodies=N`) each sending a body one byte under `maxBodyBytes`
 *    (1 MiB) in 16 KiB pieces 50 ms apart: the server holds at most `maxBufferedBytes` (64 MiB)
 *    of request bodies and refuses the rest with 503, so its RSS must stay under the start plus
 *    eight times that cap (see `BOUND_CAPS`; without the cap the bodies would take 2 GiB).
 *
 * Usage: `deno run -A scripts/soak_connections.ts [--connections=10000] [--slow-bodies=1000]`;
 * {@linkcode soakConnections} runs it from `scripts/soak.ts`.
 *
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { soakChecks } from "./_soak_checks.ts";

const MAX_BODY = 1024 * 1024;
const MAX_BUFFERED = 64 * 1024 * 1024;
const EXCESS = 100;
/**
 * The stated bound of the slow-body case, in multiples of `maxBufferedBytes`: the held bodies
 * (at most one cap of received bytes, in buffers grown by doubling, so up to twice that) plus
 * the garbage of that growth and of the reads of ~930 refused clients that keep sending while
 * the server reads and drops their input for the linger period (a refused request's parser is
 * emptied, and on Deno those reads share one scratch buffer). Measured peaks on 2026-12-03: Deno
 * 406–414 MiB, Node 236 MiB, from about 50 MiB (before the refused requests were dropped and their
 * reads shared a buffer: Deno 528–716, Node 365–440); without the cap the held bodies alone would
 * reach 2 GiB.
 */
const BOUND_CAPS = 8;

interface ServerChild {
  proc: ChildProcess;
  port: number;
  /** The latest RSS report, and the highest seen since the last `resetPeak`. */
  rss: number;
  peak: number;
  active: number;
  refusals: number;
}

/** The server program, for a runtime: imports `serverModule` and reports RSS every 100 ms. */
function serverProgram(serverModule: string, maxSessions: number): string {
  return `
const { WebhookServer } = await import(${JSON.stringify(serverModule)});
const server = new WebhookServer({
  keepAliveTimeoutMs: 600000, headerTimeoutMs: 600000, requestTimeoutMs: 600000,
  maxConnections: Infinity, maxBufferedBytes: ${MAX_BUFFERED},
  limits: { maxBodyBytes: ${MAX_BODY} }, network: { maxSessions: ${maxSessions} },
});
server.onGet("/json", (_q, r) => r.json({ message: "Hello, World!" }));
server.onPost("/upload", (q, r) => r.json({ got: q.body.length }));
await server.start({ hostname: "127.0.0.1", port: 0 });
const rss = () => globalThis.Deno ? Deno.memoryUsage().rss : process.memoryUsage().rss;
const report = () => {
  const s = server.getStats();
  console.log("stat " + rss() + " " + s.activeConnections + " " + s.bufferRefusals);
};
console.log("ready " + server.port);
setInterval(report, 100);
`;
}

async function startServer(runtime: "deno" | "node", maxSessions: number): Promise<ServerChild> {
  const root = new URL("../", import.meta.url);
  let proc: ChildProcess;
  if (runtime === "deno") {
    const code = serverProgram(new URL("http/server.ts", root).href, maxSessions);
    // deno-lint-ignore no-explicit-any
    proc = spawn((globalThis as any).Deno.execPath(), ["eval", "--ext=ts", code], {
      stdio: ["ignore", "pipe", "inherit"],
    });
  } else {
    const built = new URL("npm/http/server.js", root);
    if (!existsSync(built)) await run("deno", ["task", "build:npm"]);
    const code = serverProgram(built.href, maxSessions);
    proc = spawn("node", ["--input-type=module", "-e", code], {
      stdio: ["ignore", "pipe", "inherit"],
    });
  }
  const child: ServerChild = { proc, port: 0, rss: 0, peak: 0, active: 0, refusals: 0 };
  let pending = "";
  await new Promise<void>((resolve, reject) => {
    proc.stdout!.on("data", (d: Uint8Array) => {
      pending += new TextDecoder().decode(d);
      const lines = pending.split("\n");
      pending = lines.pop()!;
      for (const line of lines) {
        const [kind, a, b, c] = line.split(" ");
        if (kind === "ready") {
          child.port = Number(a);
          resolve();
        } else if (kind === "stat") {
          child.rss = Number(a);
          child.peak = Math.max(child.peak, child.rss);
          child.active = Number(b);
          child.refusals = Number(c);
        }
      }
    });
    proc.once("exit", (code) => reject(new Error(`the ${runtime} server exited (${code})`)));
  });
  return child;
}

function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: "inherit" });
    p.once("exit", (code) => code === 0 ? resolve() : reject(new Error(`${cmd} failed`)));
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitUntil(condition: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > end) return false;
    await sleep(50);
  }
  return true;
}

/** One connection: sends `request`, resolves true when an answer starting with `status` came. */
function ask(
  port: number,
  request: string | ((socket: Socket) => void),
  status: string,
  sockets: Socket[],
): Promise<boolean> {
  return new Promise((resolve) => {
    let text = "";
    const socket = connect({ host: "127.0.0.1", port }, () => {
      if (typeof request === "string") socket.write(request);
      else request(socket);
    });
    sockets.push(socket);
    socket.on("data", (d: Uint8Array) => {
      text += new TextDecoder().decode(d);
      if (text.includes("\r\n\r\n")) resolve(text.startsWith(status));
    });
    socket.on("error", () => resolve(false));
    socket.on("close", () => resolve(false));
  });
}

const MiB = (n: number) => `${(n / 2 ** 20).toFixed(0)} MiB`;

/** Runs both cases on both runtimes; returns the failures (empty when all passed). */
export async function soakConnections(
  connections = 10_000,
  slowBodies = 1_000,
  log: (line: string) => void = console.log,
): Promise<string[]> {
  const { check, failures } = soakChecks(log);
  for (const runtime of ["deno", "node"] as const) {
    if (connections > 0) {
      log(`${runtime}: ${connections} keep-alive connections (+${EXCESS} past maxSessions)`);
      const server = await startServer(runtime, connections);
      const sockets: Socket[] = [];
      try {
        await sleep(300);
        const before = server.rss;
        const t0 = Date.now();
        let answered = 0;
        for (let i = 0; i < connections; i += 500) {
          const batch = await Promise.all(
            Array.from(
              { length: Math.min(500, connections - i) },
              () =>
                ask(server.port, "GET /json HTTP/1.1\r\nHost: s\r\n\r\n", "HTTP/1.1 200", sockets),
            ),
          );
          answered += batch.filter(Boolean).length;
        }
        const openedIn = Date.now() - t0;
        const excess = await Promise.all(
          Array.from(
            { length: EXCESS },
            () => ask(server.port, "GET /json HTTP/1.1\r\nHost: s\r\n\r\n", "HTTP/1.1", sockets),
          ),
        );
        await waitUntil(() => server.active === connections, 5_000);
        await sleep(300);
        check(answered === connections, `${answered}/${connections} answered (${openedIn} ms)`);
        check(
          excess.every((got) => !got),
          `the ${EXCESS} past maxSessions were closed unanswered (${
            excess.filter(Boolean).length
          } answered)`,
        );
        check(server.active === connections, `${server.active} connections held by the server`);
        log(
          `  server RSS ${MiB(before)} before, ${MiB(server.rss)} with ${connections} open (${
            ((server.rss - before) / connections / 1024).toFixed(1)
          } KiB each)`,
        );
        for (const s of sockets) s.destroy();
        sockets.length = 0;
        await waitUntil(() => server.active === 0, 10_000);
        check(server.active === 0, "every connection gone from the server after the clients left");
        const again: Socket[] = [];
        const served = await ask(
          server.port,
          "GET /json HTTP/1.1\r\nHost: s\r\nConnection: close\r\n\r\n",
          "HTTP/1.1 200",
          again,
        );
        for (const s of again) s.destroy();
        check(served, "the server still answers");
      } finally {
        for (const s of sockets) s.destroy();
        server.proc.kill("SIGKILL");
      }
    }
    if (slowBodies > 0) {
      log(
        `${runtime}: ${slowBodies} clients each sending ${MAX_BODY - 1} bytes slowly ` +
          `(maxBufferedBytes ${MiB(MAX_BUFFERED)})`,
      );
      const server = await startServer(runtime, slowBodies + 100);
      const sockets: Socket[] = [];
      const timers = new Set<ReturnType<typeof setTimeout>>();
      try {
        await sleep(300);
        const before = server.rss;
        server.peak = before;
        const size = MAX_BODY - 1;
        const piece = new Uint8Array(16 * 1024).fill(120);
        const trickle = (socket: Socket) => {
          socket.write(
            `POST /upload HTTP/1.1\r\nHost: s\r\nContent-Type: application/octet-stream\r\n` +
              `Content-Length: ${size}\r\n\r\n`,
          );
          let sent = 0;
          const next = () => {
            if (socket.destroyed) return;
            const n = Math.min(piece.length, size - sent);
            socket.write(piece.subarray(0, n));
            sent += n;
            if (sent < size) {
              const t = setTimeout(() => {
                timers.delete(t);
                next();
              }, 50);
              timers.add(t);
            }
          };
          next();
        };
        const outcomes: Promise<string>[] = [];
        for (let i = 0; i < slowBodies; i++) {
          outcomes.push(
            ask(server.port, trickle, "HTTP/1.1 200", sockets).then((ok) => ok ? "200" : "other"),
          );
        }
        const results = await Promise.all(outcomes);
        await sleep(300);
        const bound = before + BOUND_CAPS * MAX_BUFFERED;
        const ok = results.filter((r) => r === "200").length;
        log(
          `  ${ok} bodies accepted, ${server.refusals} refused with 503; server RSS ${
            MiB(before)
          } at the start, peak ${MiB(server.peak)}`,
        );
        check(
          server.peak < bound,
          `server RSS stayed under the start + ${BOUND_CAPS} x maxBufferedBytes (${MiB(bound)})`,
        );
        check(ok + server.refusals >= slowBodies, "every client was answered (200 or 503)");
      } finally {
        for (const t of timers) clearTimeout(t);
        for (const s of sockets) s.destroy();
        server.proc.kill("SIGKILL");
      }
    }
  }
  return failures;
}

if (import.meta.main) {
  // deno-lint-ignore no-explicit-any
  const args: string[] = (globalThis as any).Deno.args;
  const arg = (name: string, fallback: number): number =>
    Number(args.find((a) => a.startsWith(`--${name}=`))?.split("=")[1] ?? fallback);
  const failures = await soakConnections(arg("connections", 10_000), arg("slow-bodies", 1_000));
  console.log(failures.length === 0 ? "passed" : `FAILED: ${failures.join("; ")}`);
  // deno-lint-ignore no-explicit-any
  (globalThis as any).Deno.exit(failures.length === 0 ? 0 : 1);
}
