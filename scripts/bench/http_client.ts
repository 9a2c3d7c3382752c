/**
 * HTTP client throughput: keep-alive GETs of a small JSON body with 64
 * requests in flight, from a node:http server in its own process (pinned
 * to the second core when `taskset` exists). In one run: ours
 * (`HttpClient`), the runtime's `fetch`, on Node npm `undici`'s `request`,
 * and the floor: the same requests written and counted as raw bytes over
 * Iora's transport (what any client on it can reach). Rounds alternate the
 * clients; each figure is the median of the rounds with min–max.
 *
 * Usage: `deno run -A scripts/bench/http_client.ts`, or
 * `node npm/scripts/bench/http_client.js` after `deno task build:npm --bench`.
 *
 * @module
 */
import { request as undiciRequest } from "npm:undici@7.30.2";
import { platform } from "../../core/platform/mod.ts";
import { HttpClient } from "../../http/client.ts";
import { SharedTransport } from "../../network/shared_transport.ts";

const runtime = platform().name;
const REQUESTS = 20_000;
const IN_FLIGHT = 64;
const ROUNDS = 5;
const BODY = '{"hello":"world"}';

const SERVER = `
const http = require("node:http");
const body = ${JSON.stringify(BODY)};
const server = http.createServer((req, res) => {
  res.writeHead(200, { "content-type": "application/json", "content-length": body.length });
  res.end(body);
});
server.keepAliveTimeout = 60000;
server.listen(0, "127.0.0.1", () => console.log(server.address().port));
`;

async function startServer(): Promise<{ port: number; stop(): Promise<void> }> {
  const pinned = platform().spawn("sh", { args: ["-c", "command -v taskset"], stdout: "null" });
  const taskset = (await pinned.status).success;
  const child = platform().spawn(taskset ? "taskset" : "node", {
    args: taskset ? ["-c", "1", "node", "-e", SERVER] : ["-e", SERVER],
    stdout: "piped",
    stderr: "inherit",
  });
  const reader = child.stdout!.getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error("the benchmark server did not start");
    text += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  return {
    port: Number(text.trim()),
    async stop() {
      child.kill("SIGKILL");
      await child.status;
    },
  };
}

/** Requests per second of `send`, keeping `IN_FLIGHT` requests outstanding. */
async function rate(send: () => Promise<unknown>): Promise<number> {
  let started = 0;
  const worker = async () => {
    while (started < REQUESTS) {
      started++;
      await send();
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  return REQUESTS / ((performance.now() - t0) / 1000);
}

/** The floor: the same request bytes over Iora's transport, responses counted by size. */
async function rawFloor(port: number): Promise<() => Promise<number>> {
  const request = new TextEncoder().encode(
    `GET /json HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\n\r\n`,
  );
  const transport = new SharedTransport();
  let responseSize = 0;
  let received = 0;
  let onBytes: () => void = () => {};
  transport.setCallbacks({
    onData: (_sid, data) => {
      received += data.length;
      onBytes();
    },
  });
  // One response, to learn its size (node:http's head has a fixed length).
  const probe = await transport.connect("127.0.0.1", port);
  await new Promise<void>((resolve) => {
    onBytes = () => {
      responseSize = received;
      resolve();
    };
    transport.send(probe, request);
  });
  transport.close(probe);
  return async () => {
    const sids = await Promise.all(
      Array.from({ length: IN_FLIGHT }, () => transport.connect("127.0.0.1", port)),
    );
    received = 0;
    const perConnection = Math.floor(REQUESTS / IN_FLIGHT);
    const t0 = performance.now();
    // Each connection sends its next request when its previous response is in: one in flight each.
    const counts = new Map(sids.map((sid) => [sid, 0]));
    const bytes = new Map(sids.map((sid) => [sid, 0]));
    await new Promise<void>((resolve) => {
      let done = 0;
      transport.setCallbacks({
        onData: (sid, data) => {
          let have = bytes.get(sid)! + data.length;
          let count = counts.get(sid)!;
          while (have >= responseSize) {
            have -= responseSize;
            count++;
            if (count < perConnection) transport.send(sid, request);
            else if (count === perConnection && ++done === sids.length) resolve();
          }
          bytes.set(sid, have);
          counts.set(sid, count);
        },
      });
      for (const sid of sids) transport.send(sid, request);
    });
    const perSecond = (perConnection * sids.length) / ((performance.now() - t0) / 1000);
    for (const sid of sids) transport.close(sid);
    return perSecond;
  };
}

function stats(values: number[]): { median: number; min: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  return { median: sorted[sorted.length >> 1], min: sorted[0], max: sorted[sorted.length - 1] };
}

const server = await startServer();
const url = `http://127.0.0.1:${server.port}/json`;
const ours = new HttpClient({ maxConnectionsPerHost: IN_FLIGHT });
const floor = await rawFloor(server.port);
const clients: Record<string, () => Promise<number>> = {
  "ours (HttpClient)": () =>
    rate(async () => {
      const response = await ours.get(url);
      if (response.bytes.length !== BODY.length) throw new Error("bad body");
    }),
  [`fetch (${runtime})`]: () =>
    rate(async () => {
      const response = await fetch(url);
      if ((await response.arrayBuffer()).byteLength !== BODY.length) throw new Error("bad body");
    }),
  "floor: raw bytes over Iora's transport": floor,
};
if (runtime === "node") {
  clients["undici.request"] = () =>
    rate(async () => {
      const { body } = await undiciRequest(url);
      if ((await body.arrayBuffer()).byteLength !== BODY.length) throw new Error("bad body");
    });
}

const results: Record<string, number[]> = {};
try {
  for (const run of Object.values(clients)) await run(); // warm-up: connections, JIT
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, run] of Object.entries(clients)) (results[name] ??= []).push(await run());
  }
} finally {
  await ours.close();
  await server.stop();
}

console.log(
  `HTTP client (${runtime}), keep-alive GET of ${BODY.length} bytes, ${IN_FLIGHT} in flight, ` +
    `${REQUESTS} requests per round; requests/s, median (min–max) of ${ROUNDS} rounds`,
);
const mine = stats(results["ours (HttpClient)"]).median;
for (const [name, values] of Object.entries(results)) {
  const { median, min, max } = stats(values);
  console.log(
    `${name.padEnd(40)} ${median.toFixed(0).padStart(7)} (${min.toFixed(0)}–${max.toFixed(0)})` +
      `  ours / this: ${(mine / median).toFixed(2)}x`,
  );
}
console.log(
  `undici ${
    runtime === "node"
      ? "7.30.2 (undici 8 needs Node 22; this machine runs Node 20)"
      : "(Node only)"
  }; ${runtime} ${runtime === "deno" ? "2.9.6" : "(see the bench header)"}`,
);
