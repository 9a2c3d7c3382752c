/**
 * The cluster backends on a real redis-server (started here on a free 127.0.0.1 port, no
 * persistence), each against the same client's raw calls in the same run:
 *
 * - `client`: the two candidate clients, raw: npm @redis/client (chosen) and ioredis, on
 *   sequential SET+GET pairs and on 10 000 concurrent commands (pipelined by both).
 * - `state set`: RedisStateStore.set (+ flush) against raw `SET`s with @redis/client (its
 *   defaults) of what the store sends (same key layout, same JSON value, made beforehand),
 *   one at a time (each awaited) and 10 000 concurrent (pipelined; ours awaits
 *   `flush()`): the goal rows (phase A, no other replica).
 *   Phase B adds another instance's replica: a second connection tracking the store's
 *   namespace (`RedisConnection.track`: Redis pushes it an invalidation per written key, read
 *   in this process). There ours is measured against the floor, what the design costs without
 *   the store's code: the same `SET` a store sends (same key layout, same JSON value), raw
 *   with @redis/client, from a connection in the same tracking mode
 *   (`CLIENT TRACKING ON BCAST PREFIX ... NOLOOP`), its keys tracked by the same listener.
 *   Concurrent writes of one tick: ours sends runs of sets as one `MSET`; the floor and the
 *   raw reference send one `SET` per write.
 * - `state get`: RedisStateStore.get (a replica read) against a raw `GET` (different work:
 *   printed to show what the replica saves, not as an overhead figure).
 * - `events work-queue`: ClusterEventBus.enqueue on one instance, consume on another (two
 *   buses with connections of their own, in this process), against a plain Redis Streams
 *   producer/consumer with @redis/client (XADD; XREADGROUP BLOCK COUNT 100; XACK + XDEL):
 *   throughput and p99 latency from enqueue to handler.
 * - `events broadcast`: ClusterEventBus.broadcast to a subscriber on another bus, against
 *   plain PUBLISH/SUBSCRIBE with @redis/client.
 *
 * Rounds of ours and the reference interleave (single awaited writes take turns every 100
 * writes within a round); medians with min–max over the rounds.
 * Usage: `deno run -A scripts/bench/cluster.ts [rounds]` or, after
 * `deno task build:npm --bench`, `node npm/scripts/bench/cluster.js [rounds]`.
 *
 * @module
 */
import { createClient } from "@redis/client";
import { Redis as IORedis } from "npm:ioredis@6.0.0";
import { RedisStateStore } from "../../service/cluster/state_store.ts";
import { RedisConnection } from "../../service/cluster/connection.ts";
import { ClusterEventBus } from "../../service/cluster/event_bus.ts";
import { startRedis } from "../../tests/fixtures/cluster/redis_server.ts";
import { benchArgs as argv, figure, median, runtimeVersion as runtime } from "./_harness.ts";

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

/**
 * One figure: median (min–max), with ours/peer of the medians when both are given, and the
 * median (min–max) of ours/peer round by round.
 */
function report(
  section: string,
  what: string,
  unit: string,
  ours: number[],
  peer?: number[],
  peerName = "raw",
) {
  const line = (name: string, xs: number[]) =>
    `${name} ${figure(median(xs))} ${unit} (${figure(Math.min(...xs))}–${figure(Math.max(...xs))})`;
  // Also ours/peer round by round (the sides of a round ran side by side): median (min–max).
  const perRound = peer?.map((p, i) => ours[i] / p) ?? [];
  const ratio = peer
    ? `  ours/${peerName} ${(median(ours) / median(peer)).toFixed(2)}x, per round ${
      median(perRound).toFixed(2)
    }x (${Math.min(...perRound).toFixed(2)}–${Math.max(...perRound).toFixed(2)})`
    : "";
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

/**
 * Writes/s of each of `writers`, `n` awaited writes each, made in turns of 100: the machine's
 * state (which core sleeps, what else runs) changes over seconds and so hits them alike.
 */
async function alternate(
  n: number,
  writers: ((i: number) => Promise<unknown>)[],
): Promise<number[]> {
  const ms = writers.map(() => 0);
  for (let from = 0; from < n; from += 100) {
    for (let k = 0; k < writers.length; k++) {
      const w = (k + from / 100) % writers.length; // who goes first changes every turn
      const t0 = performance.now();
      for (let i = from; i < Math.min(n, from + 100); i++) await writers[w](i);
      ms[w] += performance.now() - t0;
    }
  }
  return ms.map((t) => n / (t / 1000));
}

function p99(latencies: number[]): number {
  const s = [...latencies].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * 0.99))];
}

// The messages of one side of an event benchmark: counts arrivals and their latencies per round.
class Deliveries {
  latencies: number[] = [];
  #expect = 0;
  #got = 0;
  #done: () => void = () => {};

  /** One message arrived that was sent at `sentAt` (performance.now()). */
  arrived(sentAt: number): void {
    this.latencies.push(performance.now() - sentAt);
    if (++this.#got === this.#expect) this.#done();
  }

  /** Sends `n` messages, `window` in flight at once; messages/s once all `n` have arrived. */
  round(n: number, window: number, send: () => Promise<unknown>): Promise<number> {
    this.#got = 0;
    this.#expect = n;
    this.latencies = [];
    const all = new Promise<void>((resolve) => (this.#done = resolve));
    return rate(n, async () => {
      let next = 0;
      await Promise.all(Array.from({ length: window }, async () => {
        while (next++ < n) await send();
      }));
      await all;
    });
  }
}

/** One side of an event benchmark: where its messages arrive and how one is sent. */
interface EventSide {
  deliveries: Deliveries;
  send: () => Promise<unknown>;
}

// A warm-up round, then ROUNDS rounds of both sides; reports throughput and p99 latency.
async function compareEvents(
  name: string,
  latency: string,
  n: number,
  window: number,
  ours: EventSide,
  plain: EventSide,
): Promise<void> {
  const r = {
    ours: [] as number[],
    plain: [] as number[],
    oursP99: [] as number[],
    plainP99: [] as number[],
  };
  for (let round = 0; round <= ROUNDS; round++) {
    const a = await ours.deliveries.round(n, window, ours.send);
    const b = await plain.deliveries.round(n, window, plain.send);
    if (round === 0) continue;
    r.ours.push(a);
    r.plain.push(b);
    r.oursP99.push(p99(ours.deliveries.latencies));
    r.plainP99.push(p99(plain.deliveries.latencies));
  }
  report(name, `throughput, ${n} events`, "ev/s", r.ours, r.plain, "plain");
  report(name, `p99 latency ${latency}`, "ms", r.oursP99, r.plainP99, "plain");
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
    const floorWriter = raw.duplicate();
    await floorWriter.connect();
    await floorWriter.sendCommand([
      "CLIENT",
      "TRACKING",
      "ON",
      "BCAST",
      "PREFIX",
      "floor:state:{bench}:",
      "NOLOOP",
    ]);
    // The other instance's replica, listening in phase B only: told of every write, to ours and
    // to the floor's keys alike.
    const listener = await RedisConnection.connect({ url: redis.url });
    let heard = 0;
    let floorHeard = 0;
    const listen = async () => {
      const a = await listener.track("iora:state:{bench}:", {
        invalidated: () => heard++,
        resync() {},
      });
      const b = await listener.track("floor:state:{bench}:", {
        invalidated: () => floorHeard++,
        resync() {},
      });
      return () => Promise.all([a(), b()]);
    };
    // The raw and floor writers send what the store sends for `k<i>`: the same key layout
    // (a prefix of the same length) and the same JSON value, made beforehand (the store
    // encodes each write; they pay for no encoding).
    const stored = Array.from({ length: 1000 }, (_, i) => JSON.stringify([`k${i}`, VALUE]));
    const rawSet = (i: number) =>
      raw.sendCommand(["SET", `rawp:state:{bench}:k${i % 1000}`, stored[i % 1000]]);
    const floorSet = (i: number) =>
      floorWriter.sendCommand(["SET", `floor:state:{bench}:k${i % 1000}`, stored[i % 1000]]);
    const seqN = 3000;
    const concN = 10_000;
    // ours alone, raw SET (phase A); ours with a listening replica, the floor (phase B)
    const seq: number[][] = [[], [], [], []];
    const conc: number[][] = [[], [], [], []];
    const getOurs: number[] = [];
    const getRaw: number[] = [];
    const oursWrite = (i: number) => {
      store.set(`k${i % 1000}`, VALUE);
      return store.flush();
    };
    const oursConc = () =>
      rate(concN, async () => {
        for (let i = 0; i < concN; i++) store.set(`k${i % 1000}`, VALUE);
        await store.flush();
      });
    // One awaited write each: ours alone, raw SET (phase A); ours with a listening replica, the
    // floor (phase B).
    const seqWrites = [oursWrite, rawSet, oursWrite, floorSet];
    const concRuns = [
      oursConc,
      () =>
        rate(concN, async () => {
          await Promise.all(
            Array.from({ length: concN }, (_, i) => rawSet(i)),
          );
        }),
      oursConc,
      () =>
        rate(concN, async () => {
          await Promise.all(Array.from({ length: concN }, (_, i) => floorSet(i)));
        }),
    ];
    for (let round = 0; round <= ROUNDS; round++) {
      const keep = round > 0;
      // Alternate the order between rounds, so a load change does not always hit the same one.
      const phases = round % 2 ? [[0, 1], [2, 3]] : [[3, 2], [1, 0]];
      for (const phase of phases) {
        const stop = phase.includes(2) ? await listen() : undefined;
        const rates = await alternate(seqN, phase.map((k) => seqWrites[k]));
        if (keep) phase.forEach((k, n) => seq[k].push(rates[n]));
        for (const k of phase) {
          const x = await concRuns[k]();
          if (keep) conc[k].push(x);
        }
        await stop?.();
      }
      const e = await rate(100_000, () => {
        let hits = 0;
        for (let i = 0; i < 100_000; i++) if (store.get(`k${i % 1000}`) !== undefined) hits++;
        if (hits !== 100_000) throw new Error("replica incomplete");
        return Promise.resolve();
      });
      const f = await rate(seqN, async () => {
        for (let i = 0; i < seqN; i++) {
          await raw.sendCommand(["GET", `rawp:state:{bench}:k${i % 1000}`]);
        }
      });
      if (keep) {
        getOurs.push(e);
        getRaw.push(f);
      }
    }
    await store.close();
    await floorWriter.close();
    await listener.close();
    if (heard === 0 || floorHeard === 0) throw new Error("the listening replica heard nothing");
    report("state set", "one at a time (awaited)", "ops/s", seq[0], seq[1], "raw SET");
    report("state set", "10k concurrent (pipelined)", "ops/s", conc[0], conc[1], "raw SET");
    report("state set", "one at a time, replica told", "ops/s", seq[2], seq[3], "floor");
    report("state set", "10k concurrent, replica told", "ops/s", conc[2], conc[3], "floor");
    report("state set", "floor vs raw SET, one at a time", "ops/s", seq[3], seq[1], "raw SET");
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
    const ours = new Deliveries();
    await consumerBus.consume<{ t: number }>("jobs", (job) => ours.arrived(job.t));
    // The reference: a plain producer/consumer on the same client, same work per event.
    const stream = "plain:jobs";
    await raw.sendCommand(["XGROUP", "CREATE", stream, "g", "$", "MKSTREAM"]);
    const reader = raw.duplicate();
    await reader.connect();
    let plainStop = false;
    const plain = new Deliveries();
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
          // As our bus does: the handler sees the job, then it is acknowledged.
          plain.arrived((JSON.parse(fields[1]) as { t: number }).t);
          await Promise.all([
            raw.sendCommand(["XACK", stream, "g", id]),
            raw.sendCommand(["XDEL", stream, id]),
          ]);
        }
      }
    })();
    await compareEvents("events work-queue", "enqueue→handler", N, WINDOW, {
      deliveries: ours,
      send: () => producer.enqueue("jobs", { t: performance.now() }),
    }, {
      deliveries: plain,
      send: () =>
        raw.sendCommand([
          "XADD",
          stream,
          "MAXLEN",
          "~",
          "1000000",
          "*",
          "p",
          JSON.stringify({ t: performance.now() }),
        ]),
    });
    plainStop = true;
    await plainLoop;
    await reader.close();
    await producer.stop();
    await consumerBus.stop();
  }

  // --- event bus: broadcast ----------------------------------------------------------------
  {
    const N = 20_000;
    const WINDOW = 500;
    const sender = await ClusterEventBus.start({ url: redis.url, prefix: "bb:" });
    const receiver = await ClusterEventBus.start({ url: redis.url, prefix: "bb:" });
    const ours = new Deliveries();
    receiver.subscribe<{ t: number }>("tick", (p) => ours.arrived(p.t));
    const sub = raw.duplicate();
    await sub.connect();
    const plain = new Deliveries();
    await sub.subscribe("plain:tick", (m) => {
      plain.arrived((JSON.parse(m) as { t: string; p: { t: number } }).p.t);
    });
    await compareEvents("events broadcast", "publish→handler", N, WINDOW, {
      deliveries: ours,
      send: () => sender.broadcast("tick", { t: performance.now() }),
    }, {
      deliveries: plain,
      // The same envelope our bus sends, so both move the same bytes.
      send: () =>
        raw.sendCommand([
          "PUBLISH",
          "plain:tick",
          JSON.stringify({ t: "tick", p: { t: performance.now() }, s: "x" }),
        ]),
    });
    await sub.close();
    await sender.stop();
    await receiver.stop();
  }
} finally {
  await raw.close();
  await redis.stop();
}
