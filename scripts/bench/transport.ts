/**
 * Transport benchmark: TCP echo throughput (MB/s) and small-message round
 * trips per second through Iora's SharedTransport, against raw sockets of
 * the same runtime in the same run — `Deno.listen`/`Deno.connect` for the
 * Deno adapter, `node:net` for the Node adapter — and prints ratios
 * (ours / raw). Under Deno both adapters run; under Node only node:net.
 *
 * Run: `deno run -A scripts/bench/transport.ts` or, after
 * `deno task build:npm`, `node npm/scripts/bench/transport.js`.
 * Options: `--mb N` (throughput volume, default 128), `--rtt N` (round
 * trips, default 10000), `--rounds N` (default 7, at least 5). Every figure is
 * the median with min–max over the rounds, and every ratio the median of
 * the per-round ratios (rounds alternate which side runs first).
 *
 * @module
 */
import * as net from "node:net";
import { availableAdapters } from "../../network/adapters.ts";
import { SharedTransport } from "../../network/shared_transport.ts";
import { fmt, ratio, ROUNDS as DEFAULT_ROUNDS, stats } from "./_harness.ts";

type RuntimeName = "deno" | "node";

const args: string[] = "Deno" in globalThis
  // deno-lint-ignore no-explicit-any
  ? (globalThis as any).Deno.args
  // deno-lint-ignore no-explicit-any
  : (globalThis as any).process.argv.slice(2);

function option(name: string, fallback: number): number {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
}

const MB = option("mb", 128);
const RTT = option("rtt", 10_000);
const ROUNDS = Math.max(5, option("rounds", DEFAULT_ROUNDS));
const CHUNK = 64 * 1024;
const MSG = 32;
const HWM = 1024 * 1024;

interface Case {
  /** Starts an echo server; returns its port and a stopper. */
  server(): Promise<{ port: number; stop(): Promise<void> }>;
  /** Sends `total` bytes in CHUNK pieces and waits for all of them to come back. */
  throughput(port: number, total: number): Promise<void>;
  /** Does `n` MSG-byte round trips. */
  roundTrips(port: number, n: number): Promise<void>;
}

// ---------------------------------------------------------------- ours

function oursCase(runtime: RuntimeName): Case {
  return {
    async server() {
      const t = new SharedTransport({ runtime, highWaterMark: HWM });
      const resume = (sid: number) => t.resumeReading(sid);
      t.setCallbacks({
        onData: (sid, data) => {
          t.send(sid, data);
          // Flow control, as a real echo server needs: stop reading while the peer is behind.
          if (t.writeQueueSize(sid) > HWM) {
            t.pauseReading(sid);
            t.drain(sid).then(() => resume(sid), () => {});
          }
        },
      });
      const { port } = await t.listen("127.0.0.1", 0);
      return { port, stop: () => t.stop() };
    },
    async throughput(port, total) {
      const t = new SharedTransport({ runtime });
      let got = 0;
      let done!: () => void;
      const finished = new Promise<void>((resolve) => done = resolve);
      t.setCallbacks({
        onData: (_sid, data) => {
          got += data.length;
          if (got >= total) done();
        },
      });
      const sid = await t.connect("127.0.0.1", port);
      const chunk = new Uint8Array(CHUNK);
      for (let sent = 0; sent < total; sent += CHUNK) await t.sendAsync(sid, chunk);
      await finished;
      await t.stop();
    },
    async roundTrips(port, n) {
      const t = new SharedTransport({ runtime });
      let got = 0;
      let wake: (() => void) | null = null;
      t.setCallbacks({
        onData: (_sid, data) => {
          got += data.length;
          if (got >= MSG && wake) {
            got -= MSG;
            const w = wake;
            wake = null;
            w();
          }
        },
      });
      const sid = await t.connect("127.0.0.1", port);
      const msg = new Uint8Array(MSG);
      for (let i = 0; i < n; i++) {
        const back = new Promise<void>((resolve) => wake = resolve);
        t.send(sid, msg);
        await back;
      }
      await t.stop();
    },
  };
}

// ---------------------------------------------------------------- raw node:net

const nodeCase: Case = {
  server() {
    const sockets = new Set<net.Socket>();
    const server = net.createServer((socket) => {
      sockets.add(socket);
      socket.setNoDelay(true);
      socket.on("data", (data) => socket.write(data));
      socket.on("error", () => {});
      socket.on("close", () => sockets.delete(socket));
    });
    return new Promise((resolve) => {
      server.listen(0, "127.0.0.1", () => {
        resolve({
          port: (server.address() as net.AddressInfo).port,
          stop: () =>
            new Promise<void>((done) => {
              for (const s of sockets) s.destroy();
              server.close(() => done());
            }),
        });
      });
    });
  },
  async throughput(port, total) {
    const socket = net.connect(port, "127.0.0.1");
    socket.setNoDelay(true);
    await new Promise((resolve) => socket.once("connect", resolve));
    let got = 0;
    const finished = new Promise<void>((resolve) => {
      socket.on("data", (data) => {
        got += data.length;
        if (got >= total) resolve();
      });
    });
    const chunk = new Uint8Array(CHUNK);
    for (let sent = 0; sent < total; sent += CHUNK) {
      if (!socket.write(chunk)) await new Promise((resolve) => socket.once("drain", resolve));
    }
    await finished;
    socket.destroy();
  },
  async roundTrips(port, n) {
    const socket = net.connect(port, "127.0.0.1");
    socket.setNoDelay(true);
    await new Promise((resolve) => socket.once("connect", resolve));
    let got = 0;
    let wake: (() => void) | null = null;
    socket.on("data", (data) => {
      got += data.length;
      if (got >= MSG && wake) {
        got -= MSG;
        const w = wake;
        wake = null;
        w();
      }
    });
    const msg = new Uint8Array(MSG);
    for (let i = 0; i < n; i++) {
      const back = new Promise<void>((resolve) => wake = resolve);
      socket.write(msg);
      await back;
    }
    socket.destroy();
  },
};

// ---------------------------------------------------------------- raw Deno

interface DenoConnLike {
  read(p: Uint8Array): Promise<number | null>;
  write(p: Uint8Array): Promise<number>;
  close(): void;
  setNoDelay(on: boolean): void;
}
interface DenoLike {
  listen(o: { hostname: string; port: number }): {
    addr: { port: number };
    accept(): Promise<DenoConnLike>;
    close(): void;
  };
  connect(o: { hostname: string; port: number }): Promise<DenoConnLike>;
}

async function writeAll(conn: DenoConnLike, data: Uint8Array): Promise<void> {
  let off = 0;
  while (off < data.length) off += await conn.write(off ? data.subarray(off) : data);
}

/**
 * Raw Deno echo. With `fresh`, every read gets a new buffer, as a transport
 * that hands its reads to callers must do: this isolates that cost.
 */
function denoCase(fresh = false): Case {
  // deno-lint-ignore no-explicit-any
  const D = (globalThis as any).Deno as DenoLike;
  return {
    server() {
      const listener = D.listen({ hostname: "127.0.0.1", port: 0 });
      const conns = new Set<DenoConnLike>();
      const loop = (async () => {
        for (;;) {
          let conn: DenoConnLike;
          try {
            conn = await listener.accept();
          } catch {
            return;
          }
          conns.add(conn);
          conn.setNoDelay(true);
          (async () => {
            let buf = new Uint8Array(64 * 1024);
            try {
              for (;;) {
                if (fresh) buf = new Uint8Array(64 * 1024);
                const n = await conn.read(buf);
                if (n === null) break;
                await writeAll(conn, buf.subarray(0, n));
              }
            } catch { /* closed */ }
            conns.delete(conn);
            try {
              conn.close();
            } catch { /* closed */ }
          })();
        }
      })();
      return Promise.resolve({
        port: listener.addr.port,
        stop: async () => {
          listener.close();
          await loop;
          for (const c of conns) {
            try {
              c.close();
            } catch { /* closed */ }
          }
        },
      });
    },
    async throughput(port, total) {
      const conn = await D.connect({ hostname: "127.0.0.1", port });
      conn.setNoDelay(true);
      const reader = (async () => {
        let buf = new Uint8Array(64 * 1024);
        let got = 0;
        while (got < total) {
          if (fresh) buf = new Uint8Array(64 * 1024);
          const n = await conn.read(buf);
          if (n === null) throw new Error("eof");
          got += n;
        }
      })();
      const chunk = new Uint8Array(CHUNK);
      for (let sent = 0; sent < total; sent += CHUNK) await writeAll(conn, chunk);
      await reader;
      conn.close();
    },
    async roundTrips(port, n) {
      const conn = await D.connect({ hostname: "127.0.0.1", port });
      conn.setNoDelay(true);
      const msg = new Uint8Array(MSG);
      const buf = new Uint8Array(64 * 1024);
      for (let i = 0; i < n; i++) {
        await writeAll(conn, msg);
        let got = 0;
        while (got < MSG) {
          const r = await conn.read(buf);
          if (r === null) throw new Error("eof");
          got += r;
        }
      }
      conn.close();
    },
  };
}

// ---------------------------------------------------------------- driver

async function measure(c: Case): Promise<{ mbps: number; rtps: number }> {
  const srv = await c.server();
  try {
    await c.throughput(srv.port, 4 * CHUNK); // warm-up
    await c.roundTrips(srv.port, 200);
    const total = MB * 1024 * 1024;
    let t0 = performance.now();
    await c.throughput(srv.port, total);
    const mbps = total / 1024 / 1024 / ((performance.now() - t0) / 1000);
    t0 = performance.now();
    await c.roundTrips(srv.port, RTT);
    const rtps = RTT / ((performance.now() - t0) / 1000);
    return { mbps, rtps };
  } finally {
    await srv.stop();
  }
}

const runtimeName = "Deno" in globalThis ? "deno" : "node";
console.log(
  `transport bench on ${runtimeName}: ${MB} MiB echo, ${RTT} x ${MSG}-byte round trips, ` +
    `median (min–max) of ${ROUNDS} rounds`,
);

type Series = { mbps: number[]; rtps: number[] };

for (const adapter of availableAdapters()) {
  const raw = adapter === "deno" ? denoCase() : nodeCase;
  const rawName = adapter === "deno" ? "raw Deno.connect/listen" : "raw node:net";
  const ours = oursCase(adapter);
  const series: Record<"ours" | "raw", Series> = {
    ours: { mbps: [], rtps: [] },
    raw: { mbps: [], rtps: [] },
  };
  for (let r = 0; r < ROUNDS; r++) {
    // Alternate the order so neither side always runs on a warmer machine.
    const order: Array<["ours" | "raw", Case]> = r % 2 === 0
      ? [["raw", raw], ["ours", ours]]
      : [["ours", ours], ["raw", raw]];
    for (const [name, c] of order) {
      const m = await measure(c);
      series[name].mbps.push(m.mbps);
      series[name].rtps.push(m.rtps);
    }
  }
  const oursStats = { mbps: stats(series.ours.mbps), rtps: stats(series.ours.rtps) };
  const rawStats = { mbps: stats(series.raw.mbps), rtps: stats(series.raw.rtps) };
  console.log(`\n${adapter} adapter vs ${rawName}`);
  console.log(
    `  throughput  ours ${fmt(oursStats.mbps, 0)} MB/s  raw ${fmt(rawStats.mbps, 0)} MB/s  ratio ${
      fmt(ratio(oursStats.mbps, rawStats.mbps), 2)
    }`,
  );
  console.log(
    `  round trips ours ${fmt(oursStats.rtps, 0)} /s  raw ${fmt(rawStats.rtps, 0)} /s  ratio ${
      fmt(ratio(oursStats.rtps, rawStats.rtps), 2)
    }`,
  );
  if (adapter === "deno") {
    // Context: raw Deno paying for an owned buffer per read, as our transport does,
    // measured in rounds of its own right after ours.
    const owned: number[] = [];
    const again: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      owned.push((await measure(denoCase(true))).mbps);
      again.push((await measure(ours)).mbps);
    }
    console.log(
      `  throughput  raw Deno with a fresh buffer per read ${
        fmt(stats(owned), 0)
      } MB/s; ours / that ${fmt(ratio(stats(again), stats(owned)), 2)}`,
    );
  }
}
