/**
 * The cluster backends on a real redis-server (started here on a free 127.0.0.1 port, no
 * persistence), each against the same client's raw calls in the same run:
 *
 * - `client`: the two candidate clients, raw: npm @redis/client (chosen) and ioredis, on
 *   sequential SET+GET pairs and on 10 000 concurrent commands (pipelined by both).
 * - `state set`: RedisStateStore.set (+ flush) against raw `SET`s with @redis/client, one at a
 *   time (each awaited) and 10 000 concurrent (pipelined; ours awaits `flush()`).
 *   The floor: the same Lua script (HSET + announcement) sent raw with @redis/client, one call
 *   per write, with a subscriber reading the announcements as every replica does: the cost of
 *   the design for writes one at a time, which the store's own overhead is measured against
 *   (`ours/floor`). Concurrent writes of one tick go in one call (ours batches; the floor
 *   does not, so there it shows what batching saves).
 * - `state get`: RedisStateStore.get (a replica read) against a raw `GET` (different work:
 *   printed to show what the replica saves, not as an overhead figure).
 * - `events work-queue`: ClusterEventBus.enqueue on one instance, consume on another (two
 *   buses with connections of their own, in this process), against a plain Redis Streams
 *   producer/consumer with @redis/client (XADD; XREADGROUP BLOCK COUNT 100; XACK + XDEL):
 *   throughput and p99 latency from enqueue to handler.
 * - `events broadcast`: ClusterEventBus.broadcast to a subscriber on another bus, against
 *   plain PUBLISH/SUBSCRIBE with @redis/client.
 *
 * Rounds of ours and the reference interleave; medians with min–max over the rounds.
 * Usage: `deno run -A scripts/bench/cluster.ts [rounds]` or, after
 * `deno task build:npm --bench`, `node npm/scripts/bench/cluster.js [rounds]`.
 *
 * @module
 */
import { createClient } from "@redis/client";
import { Redis as IORedis } from "npm:ioredis@6.0.0";
import { RedisStateStore, STATE_WRITE_SCRIPT } from "../../service/cluster/state_store.ts";
import { ClusterEventBus } from "../../service/cluster/event_bus.ts";
import { startRedis } from "../../tests/fixtures/cluster/redis_server.ts";

const runtime = "Deno" in globalThis
  ? `deno ${(globalThis as unknown as { Deno: { version: { deno: string } } }).Deno.version.deno}`
  : `node ${(globalThis as unknown as { process: { version: string } }).process.version}`;
const argv: string[] = "Deno" in globalThis
  ? (globalThis as unknown as { Deno: { args: string[] } }).Deno.args
  : (globalThis as unknown as { process: { argv: string[] } }).process.argv.slice(2);
const ROUNDS = Math.max(5, Number(argv[0]) || 5);
const CLIENT_VERSION = "6.3.1"; // as pinned by the npm lockfile and deno.lock
const IOREDIS_VERSION = "6.0.0";
const VALUE = "v".repeat(100);

type RawClient = {
  sendCommand<T>(args: string[]): Promise<T>;
  subscribe(channel: string, listener: (m: string) => void): Promise<void>;
  duplicate(): RawClient;
  connect(): Promise<unknown>;
  close(): Promise<void>;
};

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function fmt(x: number): string {
  return x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2);
}

/** One figure: median (min–max), with ours/peer of the medians when both are given. */
function report(
  section: string,
  what: string,
  unit: string,
  ours: number[],
  peer?: number[],
  peerName = "raw",
) {
  const line = (name: string, xs: number[]) =>
    `${name} ${fmt(median(xs))} ${unit} (${fmt(Math.min(...xs))}–${fmt(Math.max(...xs))})`;
  const ratio = peer ? `  ours/${peerName} ${(median(ours) / median(peer)).toFixed(2)}x` : "";
  console.log(
    `${runtime}  ${section.padEnd(18)} ${what.padEnd(30)} ${line("ours", ours)}${
      peer ? `  ${line(peerName, peer)}` : ""
    }${ratio}`,
  );
}

async function rate(n: number, fn: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return n / ((performance.now() - t0) / 1000);
}

function p99(latencies: number[]): number {
  const s = [...latencies].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * 0.99))];
}

const redis = await startRedis();
const raw = createClient({ url: redis.url, RESP: 2 }) as unknown as RawClient;
await raw.connect();
console.log(
  `${runtime}  cluster bench: redis-server on 127.0.0.1:${redis.port}, @redis/client ${CLIENT_VERSION}, ioredis ${IOREDIS_VERSION}, ${ROUNDS} rounds, medians (min–max)`,
);

try {
  // --- the two candidate clients ------------------------------------------------------
  {
    const io = new IORedis({ host: "127.0.0.1", port: redis.port, lazyConnect: true });
    await io.connect();
    const seqN = 4000;
    const concN = 10_000;
    const r = {
      seqRedis: [] as number[],
      seqIo: [] as number[],
      concRedis: [] as number[],
      concIo: [] as number[],
    };
    for (let round = 0; round <= ROUNDS; round++) {
      const keep = round > 0; // round 0 warms up
      const a = await rate(seqN * 2, async () => {
        for (let i = 0; i < seqN; i++) {
          await raw.sendCommand(["SET", `c:${i % 100}`, VALUE]);
          await raw.sendCommand(["GET", `c:${i % 100}`]);
        }
      });
      const b = await rate(seqN * 2, async () => {
        for (let i = 0; i < seqN; i++) {
          await io.set(`c:${i % 100}`, VALUE);
          await io.get(`c:${i % 100}`);
        }
      });
      const c = await rate(concN, async () => {
        await Promise.all(
          Array.from(
            { length: concN },
            (_, i) =>
              i % 2
                ? raw.sendCommand(["SET", `c:${i % 1000}`, VALUE])
                : raw.sendCommand(["GET", `c:${i % 1000}`]),
          ),
        );
      });
      const d = await rate(concN, async () => {
        await Promise.all(
          Array.from(
            { length: concN },
            (_, i) => i % 2 ? io.set(`c:${i % 1000}`, VALUE) : io.get(`c:${i % 1000}`),
          ),
        );
      });
      if (keep) {
        r.seqRedis.push(a);
        r.seqIo.push(b);
        r.concRedis.push(c);
        r.concIo.push(d);
      }
    }
    io.disconnect();
    report("client", "sequential SET+GET", "ops/s", r.seqRedis, r.seqIo, "ioredis");
    report("client", "10k concurrent SET/GET", "ops/s", r.concRedis, r.concIo, "ioredis");
  }

  // --- state store -------------------------------------------------------------------------
  {
    const store = await RedisStateStore.open({ url: redis.url, namespace: "bench" });
    const floorSub = raw.duplicate();
    await floorSub.connect();
    let floorSeen = 0;
    await floorSub.subscribe("floor:changes", (m) => {
      if (JSON.parse(m).s === "floor") floorSeen++;
    });
    const sha = await raw.sendCommand<string>(["SCRIPT", "LOAD", STATE_WRITE_SCRIPT.source]);
    let seq = 0;
    const floorSet = (key: string) => {
      const change = [++seq, "s", key, key, VALUE, 0];
      return raw.sendCommand([
        "EVALSHA",
        sha,
        "2",
        "floor:state",
        "floor:state:ttl",
        "floor:changes",
        JSON.stringify({ s: "floor", c: [change] }),
        "s",
        key,
        JSON.stringify([key, VALUE]),
        "0",
      ]);
    };
    const seqN = 3000;
    const concN = 10_000;
    const r = {
      seqOurs: [] as number[],
      seqRaw: [] as number[],
      seqFloor: [] as number[],
      concOurs: [] as number[],
      concRaw: [] as number[],
      concFloor: [] as number[],
    };
    const getOurs: number[] = [];
    const getRaw: number[] = [];
    for (let round = 0; round <= ROUNDS; round++) {
      const keep = round > 0;
      const seqRuns = [
        () =>
          rate(seqN, async () => {
            for (let i = 0; i < seqN; i++) {
              store.set(`k${i % 1000}`, VALUE);
              await store.flush();
            }
          }),
        () =>
          rate(seqN, async () => {
            for (let i = 0; i < seqN; i++) await floorSet(`k${i % 1000}`);
          }),
        () =>
          rate(seqN, async () => {
            for (let i = 0; i < seqN; i++) {
              await raw.sendCommand(["SET", `raw:k${i % 1000}`, VALUE]);
            }
          }),
      ];
      const concRuns = [
        () =>
          rate(concN, async () => {
            for (let i = 0; i < concN; i++) store.set(`k${i % 1000}`, VALUE);
            await store.flush();
          }),
        () =>
          rate(concN, async () => {
            await Promise.all(Array.from({ length: concN }, (_, i) => floorSet(`k${i % 1000}`)));
          }),
        () =>
          rate(concN, async () => {
            await Promise.all(
              Array.from({ length: concN }, (_, i) =>
                raw.sendCommand(["SET", `raw:k${i % 1000}`, VALUE])),
            );
          }),
      ];
      // Alternate the order between rounds, so a load change does not always hit the same one.
      const order = round % 2 ? [0, 1, 2] : [2, 1, 0];
      const seqR: number[] = [];
      const concR: number[] = [];
      for (const k of order) seqR[k] = await seqRuns[k]();
      for (const k of order) concR[k] = await concRuns[k]();
      const e = await rate(100_000, () => {
        let hits = 0;
        for (let i = 0; i < 100_000; i++) if (store.get(`k${i % 1000}`) !== undefined) hits++;
        if (hits !== 100_000) throw new Error("replica incomplete");
        return Promise.resolve();
      });
      const f = await rate(seqN, async () => {
        for (let i = 0; i < seqN; i++) await raw.sendCommand(["GET", `raw:k${i % 1000}`]);
      });
      if (keep) {
        r.seqOurs.push(seqR[0]);
        r.seqFloor.push(seqR[1]);
        r.seqRaw.push(seqR[2]);
        r.concOurs.push(concR[0]);
        r.concFloor.push(concR[1]);
        r.concRaw.push(concR[2]);
        getOurs.push(e);
        getRaw.push(f);
      }
    }
    await store.close();
    await floorSub.close();
    if (floorSeen === 0) throw new Error("the floor's subscriber saw nothing");
    report("state set", "one at a time (awaited)", "ops/s", r.seqOurs, r.seqFloor, "floor");
    report("state set", "one at a time (awaited)", "ops/s", r.seqOurs, r.seqRaw, "raw SET");
    report(
      "state set",
      "10k concurrent, floor unbatched",
      "ops/s",
      r.concOurs,
      r.concFloor,
      "floor",
    );
    report("state set", "10k concurrent (pipelined)", "ops/s", r.concOurs, r.concRaw, "raw SET");
    report("state get", "replica read vs raw GET", "ops/s", getOurs, getRaw, "raw GET");
  }

  // --- event bus: work queue ---------------------------------------------------------------
  {
    const N = 10_000;
    const WINDOW = 500; // enqueues in flight at once
    const producer = await ClusterEventBus.start({ url: redis.url, group: "bench", prefix: "bq:" });
    const consumerBus = await ClusterEventBus.start({
      url: redis.url,
      group: "bench",
      prefix: "bq:",
    });
    let expect = 0;
    let handled = 0;
    let latencies: number[] = [];
    let done: () => void = () => {};
    await consumerBus.consume<{ t: number }>("jobs", (job) => {
      latencies.push(performance.now() - job.t);
      if (++handled === expect) done();
    });
    // The reference: a plain producer/consumer on the same client, same work per event.
    const stream = "plain:jobs";
    await raw.sendCommand(["XGROUP", "CREATE", stream, "g", "$", "MKSTREAM"]);
    const reader = raw.duplicate();
    await reader.connect();
    let plainStop = false;
    let plainExpect = 0;
    let plainHandled = 0;
    let plainLat: number[] = [];
    let plainDone: () => void = () => {};
    const plainLoop = (async () => {
      while (!plainStop) {
        const reply = await reader.sendCommand<unknown>([
          "XREADGROUP",
          "GROUP",
          "g",
          "c",
          "COUNT",
          "100",
          "BLOCK",
          "200",
          "STREAMS",
          stream,
          ">",
        ]);
        if (!Array.isArray(reply)) continue;
        const entries = (reply[0] as [string, [string, string[]][]])[1];
        for (const [id, fields] of entries) {
          const job = JSON.parse(fields[1]) as { t: number };
          plainLat.push(performance.now() - job.t);
          await Promise.all([
            raw.sendCommand(["XACK", stream, "g", id]),
            raw.sendCommand(["XDEL", stream, id]),
          ]);
          if (++plainHandled === plainExpect) plainDone();
        }
      }
    })();
    const windowed = async (send: (i: number) => Promise<unknown>) => {
      let next = 0;
      await Promise.all(Array.from({ length: WINDOW }, async () => {
        while (next < N) await send(next++);
      }));
    };
    const r = {
      ours: [] as number[],
      plain: [] as number[],
      oursP99: [] as number[],
      plainP99: [] as number[],
    };
    for (let round = 0; round <= ROUNDS; round++) {
      const keep = round > 0;
      handled = 0;
      expect = N;
      latencies = [];
      const a = await rate(N, async () => {
        const all = new Promise<void>((resolve) => (done = resolve));
        await windowed(() => producer.enqueue("jobs", { t: performance.now() }));
        await all;
      });
      plainHandled = 0;
      plainExpect = N;
      plainLat = [];
      const b = await rate(N, async () => {
        const all = new Promise<void>((resolve) => (plainDone = resolve));
        await windowed(() =>
          raw.sendCommand([
            "XADD",
            stream,
            "MAXLEN",
            "~",
            "1000000",
            "*",
            "p",
            JSON.stringify({ t: performance.now() }),
          ])
        );
        await all;
      });
      if (keep) {
        r.ours.push(a);
        r.plain.push(b);
        r.oursP99.push(p99(latencies));
        r.plainP99.push(p99(plainLat));
      }
    }
    plainStop = true;
    await plainLoop;
    await reader.close();
    await producer.stop();
    await consumerBus.stop();
    report("events work-queue", `throughput, ${N} events`, "ev/s", r.ours, r.plain, "plain");
    report(
      "events work-queue",
      "p99 latency enqueue→handler",
      "ms",
      r.oursP99,
      r.plainP99,
      "plain",
    );
  }

  // --- event bus: broadcast ----------------------------------------------------------------
  {
    const N = 20_000;
    const WINDOW = 500;
    const sender = await ClusterEventBus.start({ url: redis.url, prefix: "bb:" });
    const receiver = await ClusterEventBus.start({ url: redis.url, prefix: "bb:" });
    let got = 0;
    let expect = 0;
    let lat: number[] = [];
    let done: () => void = () => {};
    receiver.subscribe<{ t: number }>("tick", (p) => {
      lat.push(performance.now() - p.t);
      if (++got === expect) done();
    });
    const sub = raw.duplicate();
    await sub.connect();
    let plainGot = 0;
    let plainExpect = 0;
    let plainLat: number[] = [];
    let plainDone: () => void = () => {};
    await sub.subscribe("plain:tick", (m) => {
      const p = JSON.parse(m) as { t: string; p: { t: number } };
      plainLat.push(performance.now() - p.p.t);
      if (++plainGot === plainExpect) plainDone();
    });
    const windowed = async (send: () => Promise<unknown>) => {
      let next = 0;
      await Promise.all(Array.from({ length: WINDOW }, async () => {
        while (next++ < N) await send();
      }));
    };
    const r = {
      ours: [] as number[],
      plain: [] as number[],
      oursP99: [] as number[],
      plainP99: [] as number[],
    };
    for (let round = 0; round <= ROUNDS; round++) {
      const keep = round > 0;
      got = 0;
      expect = N;
      lat = [];
      const a = await rate(N, async () => {
        const all = new Promise<void>((resolve) => (done = resolve));
        await windowed(() => sender.broadcast("tick", { t: performance.now() }));
        await all;
      });
      plainGot = 0;
      plainExpect = N;
      plainLat = [];
      const b = await rate(N, async () => {
        const all = new Promise<void>((resolve) => (plainDone = resolve));
        // The same envelope our bus sends, so both move the same bytes.
        await windowed(() =>
          raw.sendCommand([
            "PUBLISH",
            "plain:tick",
            JSON.stringify({ t: "tick", p: { t: performance.now() }, s: "x" }),
          ])
        );
        await all;
      });
      if (keep) {
        r.ours.push(a);
        r.plain.push(b);
        r.oursP99.push(p99(lat));
        r.plainP99.push(p99(plainLat));
      }
    }
    await sub.close();
    await sender.stop();
    await receiver.stop();
    report("events broadcast", `throughput, ${N} events`, "ev/s", r.ours, r.plain, "plain");
    report("events broadcast", "p99 latency publish→handler", "ms", r.oursP99, r.plainP99, "plain");
  }
} finally {
  await raw.close();
  await redis.stop();
}
