/**
 * `deno task soak`: robustness of `WebhookServer` under abuse and load.
 *
 * 1. Slowloris: 1,000 connections each send half a request head and stall.
 *    A new client must still be served at once, and every stalled
 *    connection must be closed by the header timeout.
 * 2. Malformed flood: thousands of broken or smuggling requests, each must
 *    get its 4xx/5xx answer, and the server must still serve afterwards.
 * 3. Load: wrk at full speed for 60 s (`--seconds=N`); open sessions must
 *    return to zero and memory must stay bounded.
 * 4. HTTP client against a server that closes idle sockets after 1 s (and
 *    announces nothing): 8 callers with random pauses around that second for
 *    60 s (`--seconds=N`); not one request may fail on a stale socket.
 *
 * 5. Cluster: three instances (separate processes) on one redis-server for
 *    `--cluster-seconds=N` (default 60) with state writes and work-queue
 *    events, one killed with SIGKILL halfway; no acknowledged state write and
 *    no acknowledged event may be lost (scripts/soak_cluster.ts; 0 skips it).
 * 6. KvStore crash safety: 100 rounds (`--kv-rounds=N`) of a child process
 *    writing (single, batch, concurrent, with compactions) and killed with
 *    SIGKILL at a random moment; every acknowledged write must be there after
 *    reopening, and no batch half applied.
 *
 * 7. Connections at scale, against a server alone in a child process, on Deno and on Node
 *    (scripts/soak_connections.ts): 10,000 keep-alive connections (`--connections=N`) all
 *    answered and the excess past `maxSessions` refused, RSS recorded; 1,000 clients
 *    (`--slow-bodies=N`) each sending a body just under `maxBodyBytes` slowly, RSS under a
 *    stated bound. 0 skips either.
 *
 * Exits non-zero on any failure. Usage: `deno task soak [--seconds=60]
 * [--idle=1000] [--flood=5000] [--kv-rounds=100] [--cluster-seconds=60] [--connections=10000]
 * [--slow-bodies=1000]`.
 *
 * @module
 */
import { platform } from "../core/platform/mod.ts";
import { HttpClient } from "../http/client.ts";
import { WebhookServer } from "../http/server.ts";
import { SharedTransport } from "../network/shared_transport.ts";
import { crashRounds } from "../tests/fixtures/kv/crash_rounds.ts";
import { soakCluster } from "./soak_cluster.ts";
import { soakConnections } from "./soak_connections.ts";
import { soakChecks } from "./_soak_checks.ts";

const isDeno = "Deno" in globalThis;
// deno-lint-ignore no-explicit-any
const g = globalThis as any;
const args: string[] = isDeno ? g.Deno.args : g.process.argv.slice(2);
const arg = (name: string, fallback: number): number =>
  Number(args.find((a) => a.startsWith(`--${name}=`))?.split("=")[1] ?? fallback);
const seconds = arg("seconds", 60);
const idleCount = arg("idle", 1000);
const floodCount = arg("flood", 5000);
const kvRounds = arg("kv-rounds", 100);
const clusterSeconds = arg("cluster-seconds", 60);
const scaleConnections = arg("connections", 10_000);
const slowBodies = arg("slow-bodies", 1_000);
const headerTimeoutMs = 2000;

const { check, failures } = soakChecks();

function rss(): number {
  return isDeno ? g.Deno.memoryUsage().rss : g.process.memoryUsage().rss;
}

// Raw clients on our own transport: exact bytes out, everything back until the close.
const client = new SharedTransport({ maxSessions: idleCount + 1000 });
const received = new Map<number, string>();
const closers = new Map<number, () => void>();
client.setCallbacks({
  onData: (sid, d) => received.set(sid, (received.get(sid) ?? "") + new TextDecoder().decode(d)),
  onClose: (sid) => closers.get(sid)?.(),
});

async function open(port: number, data: string): Promise<{ sid: number; closed: Promise<void> }> {
  const sid = await client.connect("127.0.0.1", port);
  const closed = new Promise<void>((r) => closers.set(sid, r));
  if (client.getSessionInfo(sid) === undefined) closers.get(sid)?.();
  client.send(sid, new TextEncoder().encode(data));
  return { sid, closed };
}

async function exchange(port: number, data: string, timeoutMs = 10_000): Promise<string> {
  const { sid, closed } = await open(port, data);
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([closed, new Promise((r) => (timer = setTimeout(r, timeoutMs)))]);
  clearTimeout(timer);
  client.abort(sid);
  const text = received.get(sid) ?? "";
  received.delete(sid);
  closers.delete(sid);
  return text;
}

const server = new WebhookServer({
  headerTimeoutMs,
  keepAliveTimeoutMs: 2000,
  maxConnections: idleCount + 1000,
});
server.onGet("/json", (_q, r) => r.json({ message: "Hello, World!" }));
server.onPost("/echo", (q, r) => r.setContent(q.body, "application/octet-stream"));
await server.start({ hostname: "127.0.0.1", port: 0 });
const port = server.port;
const base = `http://127.0.0.1:${port}`;

try {
  console.log(`slowloris: ${idleCount} connections holding half a header`);
  const stalled = await Promise.all(
    Array.from(
      { length: idleCount },
      () => open(port, "GET /json HTTP/1.1\r\nHost: x\r\nX-Half: "),
    ),
  );
  const closed = stalled.map((c) => c.closed);
  await new Promise((r) => setTimeout(r, 300));
  const t0 = platform().now();
  const fresh = await fetch(`${base}/json`);
  await fresh.text();
  const servedIn = platform().now() - t0;
  check(
    fresh.status === 200 && servedIn < 1000,
    `a new client is served (${servedIn.toFixed(0)} ms)`,
  );
  const deadline = new Promise<string>((r) => setTimeout(() => r("timeout"), headerTimeoutMs * 4));
  const outcome = await Promise.race([Promise.all(closed).then(() => "closed"), deadline]);
  check(outcome === "closed", `all stalled connections closed by the header timeout`);
  for (const c of stalled) client.abort(c.sid);

  console.log(`malformed flood: ${floodCount} requests`);
  const bad: Array<[string, number]> = [
    [
      "POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
      400,
    ],
    ["GET /json HTTP/1.1\r\nHost: h\r\nX: a\r\n folded\r\n\r\n", 400],
    ["GET /json HTTP/1.1\r\n\r\n", 400],
    ["GET /json HTTP/9.9\r\nHost: h\r\n\r\n", 505],
    ["POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501],
    ["POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400],
    ["\x00\x01\x02garbage\r\n\r\n", 400],
  ];
  let right = 0;
  const batch = 100;
  for (let i = 0; i < floodCount; i += batch) {
    const answers = await Promise.all(
      Array.from({ length: Math.min(batch, floodCount - i) }, (_, j) => {
        const [input, status] = bad[(i + j) % bad.length];
        return exchange(port, input).then((t) => t.startsWith(`HTTP/1.1 ${status} `));
      }),
    );
    right += answers.filter(Boolean).length;
  }
  check(right === floodCount, `${right}/${floodCount} malformed requests got the right status`);
  const after = await fetch(`${base}/json`);
  check(after.status === 200 && (await after.text()).includes("Hello"), "server still serves");

  console.log(`load: wrk for ${seconds} s`);
  const before = rss();
  const samples: number[] = [];
  const sampler = setInterval(() => samples.push(rss()), 1000);
  const child = platform().spawn("wrk", {
    args: ["-t1", "-c64", `-d${seconds}s`, `${base}/json`],
  });
  const [out, , status] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.status,
  ]);
  clearInterval(sampler);
  check(status.success, "wrk ran");
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? "?";
  console.log(`  ${rps} req/s`);
  const half = samples.slice(Math.floor(samples.length / 2));
  const firstHalfMax = Math.max(...samples.slice(0, Math.ceil(samples.length / 2)), before);
  const secondHalfMax = Math.max(...half, 0);
  check(
    secondHalfMax < firstHalfMax * 1.5 + 32 * 1024 * 1024,
    `memory bounded (rss start ${(before / 2 ** 20).toFixed(0)} MiB, first half max ${
      (firstHalfMax / 2 ** 20).toFixed(0)
    } MiB, second half max ${(secondHalfMax / 2 ** 20).toFixed(0)} MiB)`,
  );
  const settle = platform().now();
  while (server.getStats().activeConnections > 0 && platform().now() - settle < 5000) {
    await new Promise((r) => setTimeout(r, 50));
  }
  check(server.getStats().activeConnections === 0, "no open sessions left after the load");
} finally {
  await client.stop();
  await server.stop({ timeoutMs: 1000 });
}

{
  console.log(`HTTP client: a server closing idle sockets after 1 s, for ${seconds} s`);
  const idleServer = new WebhookServer({ keepAliveTimeoutMs: 1000 });
  idleServer.onGet("/ping", (_req, res) => res.json({ pong: true }));
  await idleServer.start({ hostname: "127.0.0.1", port: 0 });
  const httpClient = new HttpClient({ connectionIdleTimeout: 30_000, retry: false });
  const url = `http://127.0.0.1:${idleServer.port}/ping`;
  const end = platform().now() + seconds * 1000;
  let requests = 0;
  const errors: string[] = [];
  const caller = async () => {
    while (platform().now() < end) {
      try {
        const response = await httpClient.get(url);
        if (response.statusCode !== 200) errors.push(`status ${response.statusCode}`);
        requests++;
      } catch (error) {
        errors.push((error as Error).message);
      }
      // Pauses on both sides of the server's idle limit, so reuse races its close.
      await new Promise((r) => setTimeout(r, 700 + Math.random() * 600));
    }
  };
  try {
    await Promise.all(Array.from({ length: 8 }, caller));
    const stats = httpClient.getStats();
    console.log(
      `  ${requests} requests, ${stats.connectionsOpened} connections opened, ` +
        `${stats.connectionsReused} reused`,
    );
    check(errors.length === 0, `no failed request (${errors.slice(0, 3).join("; ")})`);
    check(stats.connectionsReused > 0, "connections were reused between the server's closes");
  } finally {
    await httpClient.close();
    await idleServer.stop({ timeoutMs: 1000 });
  }
}
if (kvRounds > 0) {
  console.log(`kvstore: ${kvRounds} SIGKILL rounds`);
  const dir = await platform().makeTempDir({ prefix: "iora-soak-kv-" });
  try {
    const t0 = platform().now();
    const summary = await crashRounds(`${dir}/crash.kv`, kvRounds);
    console.log(
      `  ${summary.acked} acknowledged writes, ${summary.compactionsStarted} compactions started ` +
        `(${summary.compactions} finished before a kill), ` +
        `${summary.tornTails} torn tails, ${summary.keys} keys, ${
          ((platform().now() - t0) / 1000).toFixed(1)
        } s`,
    );
    check(summary.rounds === kvRounds, "every acknowledged write survived every kill");
  } catch (error) {
    check(false, `kvstore crash rounds: ${(error as Error).message}`);
  } finally {
    await platform().remove(dir, { recursive: true }).catch(() => {});
  }
}
if (clusterSeconds > 0) {
  console.log(`cluster: 3 instances on Redis for ${clusterSeconds} s, one killed with SIGKILL`);
  try {
    for (const failure of await soakCluster(clusterSeconds)) failures.push(`cluster: ${failure}`);
  } catch (error) {
    check(false, `cluster soak: ${(error as Error).message}`);
  }
}
if (scaleConnections > 0 || slowBodies > 0) {
  try {
    for (const failure of await soakConnections(scaleConnections, slowBodies)) {
      failures.push(`connections: ${failure}`);
    }
  } catch (error) {
    check(false, `connection soak: ${(error as Error).message}`);
  }
}
console.log(failures.length === 0 ? "soak passed" : `soak FAILED: ${failures.join("; ")}`);
if (failures.length > 0) {
  if (isDeno) g.Deno.exit(1);
  else g.process.exit(1);
}
