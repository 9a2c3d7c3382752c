/**
 * Where a single awaited state write's time goes, layer by layer, on a real redis-server
 * (started here, no persistence). Every variant writes the same thing one at a time, each
 * awaited: `SET <prefix>state:{<ns>}:k<i> ["k<i>", <100-byte value>]`, 1000 keys in turn,
 * each variant under its own namespace (five letters each); all but the store send JSON
 * made beforehand (the store encodes each write).
 *
 * - `raw`: npm @redis/client with its defaults, no tracking (the goal row's reference);
 * - `raw, no timer`: the same client without its per-command timer (`timeout: 0`, as ours);
 * - `raw, tracked`: that client with tracking on as the store's connection has it
 *   (`CLIENT TRACKING ON REDIRECT <id> BCAST PREFIX ... NOLOOP`, invalidations to a RESP3 socket);
 * - `connection`: `RedisConnection.command` on a connection tracking the namespace (`track`);
 * - `store`: `RedisStateStore.set` + `await flush()`.
 *
 * Within a round the variants take turns every 100 writes (their order rotating); per round
 * each variant's rate is divided by `raw`'s of the same round. Medians with min–max over the rounds.
 * Usage: `deno run -A scripts/bench/cluster_write_parts.ts [rounds]` or, after
 * `deno task build:npm --bench`, `node npm/scripts/bench/cluster_write_parts.js [rounds]`.
 *
 * @module
 */
import { createClient } from "@redis/client";
import { RedisStateStore } from "../../service/cluster/state_store.ts";
import { RedisConnection } from "../../service/cluster/connection.ts";
import { startRedis } from "../../tests/fixtures/cluster/redis_server.ts";
import { benchArgs as argv, figure, median, runtimeVersion as runtime } from "./_harness.ts";

const ROUNDS = Math.max(3, Number(argv[0]) || 11);
const N = 3000;
// Variants take turns every BLOCK writes: the machine's state (which core sleeps, what else
// runs) changes over seconds, and hits all of them alike.
const BLOCK = 100;
const VALUE = "v".repeat(100);

type RawClient = {
  sendCommand<T>(args: string[]): Promise<T>;
  connect(): Promise<unknown>;
  close(): Promise<void>;
};

/** Milliseconds of `BLOCK` awaited writes made by `write(i)`, from `i = from`. */
async function block(write: (i: number) => Promise<unknown>, from: number): Promise<number> {
  const t0 = performance.now();
  for (let i = from; i < from + BLOCK; i++) await write(i);
  return performance.now() - t0;
}

const redis = await startRedis();
const clients: RawClient[] = [];
async function rawClient(options: Record<string, unknown> = {}): Promise<RawClient> {
  const client = createClient({ url: redis.url, RESP: 2, ...options }) as unknown as RawClient;
  await client.connect();
  clients.push(client);
  return client;
}

// What the store stores for `k<i>`, made beforehand: the raw writers pay for no encoding.
const STORED = Array.from({ length: 1000 }, (_, i) => JSON.stringify([`k${i}`, VALUE]));

/** A raw writer of namespace `ns`: `SET` of the store's key layout and JSON value. */
function rawWriter(client: RawClient, ns: string): (i: number) => Promise<unknown> {
  const prefix = `iora:state:{${ns}}:`;
  return (i) => client.sendCommand(["SET", `${prefix}k${i % 1000}`, STORED[i % 1000]]);
}

try {
  const plain = await rawClient();
  const untimed = await rawClient({ commandOptions: { timeout: 0 } });
  const tracked = await rawClient({ commandOptions: { timeout: 0 } });
  const invalidations = await rawClient({ RESP: 3 });
  const id = await invalidations.sendCommand<number>(["CLIENT", "ID"]);
  await tracked.sendCommand([
    "CLIENT",
    "TRACKING",
    "ON",
    "REDIRECT",
    String(id),
    "BCAST",
    "PREFIX",
    "iora:state:{track}:",
    "NOLOOP",
  ]);
  const connection = await RedisConnection.connect({ url: redis.url });
  const untrack = await connection.track("iora:state:{connx}:", {
    invalidated() {},
    resync() {},
  });
  const store = await RedisStateStore.open({ url: redis.url, namespace: "store" });
  const variants: [string, (i: number) => Promise<unknown>][] = [
    ["raw", rawWriter(plain, "plain")],
    ["raw, no timer", rawWriter(untimed, "untim")],
    ["raw, tracked", rawWriter(tracked, "track")],
    [
      "connection",
      (i) => connection.command(["SET", `iora:state:{connx}:k${i % 1000}`, STORED[i % 1000]]),
    ],
    ["store", (i) => {
      store.set(`k${i % 1000}`, VALUE);
      return store.flush();
    }],
  ];
  const rates = variants.map(() => [] as number[]);
  const ratios = variants.map(() => [] as number[]);
  for (let round = 0; round <= ROUNDS; round++) {
    const ms = variants.map(() => 0);
    for (let from = 0; from < N; from += BLOCK) {
      for (let k = 0; k < variants.length; k++) {
        const v = (k + from / BLOCK + round) % variants.length;
        ms[v] += await block(variants[v][1], from);
      }
    }
    const got = ms.map((t) => N / (t / 1000));
    if (round === 0) continue; // warm-up
    for (let v = 0; v < variants.length; v++) {
      rates[v].push(got[v]);
      ratios[v].push(got[v] / got[0]);
    }
  }
  console.log(
    `${runtime}  single awaited writes, ${ROUNDS} rounds of ${N}, medians (min–max)`,
  );
  for (let v = 0; v < variants.length; v++) {
    console.log(
      `${runtime}  ${variants[v][0].padEnd(14)} ${figure(median(rates[v]))} writes/s (${
        figure(Math.min(...rates[v]))
      }–${figure(Math.max(...rates[v]))})  vs raw ${median(ratios[v]).toFixed(2)}x (${
        Math.min(...ratios[v]).toFixed(2)
      }–${Math.max(...ratios[v]).toFixed(2)})`,
    );
  }
  await store.close();
  await untrack();
  await connection.close();
} finally {
  for (const client of clients) await client.close().catch(() => {});
  await redis.stop();
}
