/**
 * DNS client benchmark against a real NSD on 127.0.0.1 serving 20,000
 * distinct A names, caching off, at concurrency 1 and 64, in one run:
 * - ours: `DnsClient.resolveA` (random ids, source/question checks, timers, EDNS0);
 * - `node:dns` `Resolver` (c-ares on Node; Deno's compatibility layer on Deno);
 * - `Deno.resolveDns` (Deno only);
 * - a thin `npm:dns-packet` client over one `node:dgram` socket (sequential ids, no timers, no checks).
 * Then cache hits (10^6 lookups of cached names, the synchronous path and the
 * awaited `resolveA`) and the settle time of aborting 10,000 queries in flight.
 * Medians with min–max over the rounds (default 5); peers alternate with ours.
 *
 * Usage: `deno run -A scripts/bench/dns.ts [--names 20000] [--rounds 5]` or,
 * after `deno task build:npm --bench`, `node npm/scripts/bench/dns.js`.
 * Needs `nsd` on PATH (Debian package nsd).
 *
 * @module
 */
import * as dgram from "node:dgram";
import { Resolver } from "node:dns/promises";
import packet from "npm:dns-packet@^5.6.1";
import { DnsClient } from "../../dns/client.ts";
import { startNsd } from "../../tests/dns/_nsd.ts";

// deno-lint-ignore no-explicit-any
const g = globalThis as any;
const isDeno = "Deno" in globalThis;
const args: string[] = isDeno ? g.Deno.args : g.process.argv.slice(2);
function option(name: string, fallback: number): number {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
}
const NAMES = option("names", 20_000);
const ROUNDS = option("rounds", 5);
const CONCURRENCY = [1, 64];
const runtime = isDeno ? `deno ${g.Deno.version.deno}` : `node ${g.process.version}`;

type Resolve = (name: string) => Promise<string[]>;

interface Peer {
  name: string;
  make(port: number): Promise<{ resolve: Resolve; close(): void }>;
}

function thinDnsPacketClient(port: number): Promise<{ resolve: Resolve; close(): void }> {
  const socket = dgram.createSocket("udp4");
  const pending = new Map<number, (a: string[]) => void>();
  let nextId = 0;
  socket.on("message", (msg: Uint8Array) => {
    const r = packet.decode(msg as never) as {
      id?: number;
      answers?: { type: string; data: unknown }[];
    };
    const done = pending.get(r.id ?? -1);
    if (!done) return;
    pending.delete(r.id!);
    const answers = r.answers ?? [];
    done(answers.filter((a) => a.type === "A").map((a) => String(a.data)));
  });
  return new Promise((resolve) =>
    socket.bind(0, "127.0.0.1", () =>
      resolve({
        resolve: (name) =>
          new Promise((done) => {
            let id = nextId = (nextId + 1) & 0xffff;
            while (pending.has(id)) id = nextId = (nextId + 1) & 0xffff;
            pending.set(id, done);
            const buf = packet.encode({
              type: "query",
              id,
              flags: packet.RECURSION_DESIRED,
              questions: [{ type: "A", name }],
            });
            socket.send(buf, port, "127.0.0.1");
          }),
        close: () => socket.close(),
      }))
  );
}

const peers: Peer[] = [
  {
    name: "ours DnsClient",
    make: (port) => {
      const c = new DnsClient({
        servers: [`127.0.0.1:${port}`],
        enableCache: false,
        hostsPath: null,
      });
      return Promise.resolve({ resolve: (n) => c.resolveA(n), close: () => c.close() });
    },
  },
  {
    name: isDeno ? "node:dns Resolver (Deno compat)" : "node:dns Resolver (c-ares)",
    make: (port) => {
      const r = new Resolver({ timeout: 3000, tries: 2 });
      r.setServers([`127.0.0.1:${port}`]);
      return Promise.resolve({ resolve: (n) => r.resolve4(n), close: () => r.cancel() });
    },
  },
  ...(isDeno
    ? [{
      name: "Deno.resolveDns",
      make: (port: number) =>
        Promise.resolve({
          resolve: (n: string) =>
            g.Deno.resolveDns(n, "A", { nameServer: { ipAddr: "127.0.0.1", port } }) as Promise<
              string[]
            >,
          close: () => {},
        }),
    }]
    : []),
  { name: "dns-packet 5, one socket", make: thinDnsPacketClient },
];

async function drive(names: string[], concurrency: number, resolve: Resolve): Promise<number> {
  let next = 0;
  let bad = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < names.length) {
        const a = await resolve(names[next++]);
        if (a.length !== 1) bad++;
      }
    }),
  );
  const ms = performance.now() - t0;
  if (bad > 0) throw new Error(`${bad} wrong answers`);
  return names.length / (ms / 1000);
}

function stats(xs: number[]): { median: number; min: number; max: number } {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return {
    median: s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2,
    min: s[0],
    max: s[s.length - 1],
  };
}

function fmt(v: { median: number; min: number; max: number }, unit: string, digits = 0): string {
  return `${v.median.toFixed(digits)} ${unit} (${v.min.toFixed(digits)}–${v.max.toFixed(digits)})`;
}

const zone = [
  "$ORIGIN bench.test.",
  "$TTL 300",
  "@ 3600 IN SOA ns.bench.test. admin.bench.test. 1 3600 600 86400 30",
  "@ IN NS ns",
  "ns IN A 127.0.0.1",
  ...Array.from({ length: NAMES }, (_, i) => `n${i} IN A 198.18.${i >> 8}.${i & 255}`),
].join("\n") + "\n";
const names = Array.from({ length: NAMES }, (_, i) => `n${i}.bench.test`);

const nsd = await startNsd({ "bench.test": zone }, { ipv6: false });
try {
  console.log(
    `dns bench on ${runtime}: ${NAMES} distinct A names from NSD on 127.0.0.1, caching off, ` +
      `${ROUNDS} rounds; peers: ` +
      (isDeno ? `Deno ${g.Deno.version.deno}` : `c-ares ${g.process.versions.ares}`) +
      `, dns-packet ^5.6.1`,
  );
  const clients = await Promise.all(peers.map((p) => p.make(nsd.port)));
  // Warm-up: every peer resolves a slice once (JIT, sockets).
  for (const c of clients) await drive(names.slice(0, 2000), 64, c.resolve);
  const results = new Map<string, number[]>();
  for (let r = 0; r < ROUNDS; r++) {
    for (const concurrency of CONCURRENCY) {
      // Alternate the order each round so a load change hits every peer alike.
      const order = peers.map((_, i) => i);
      if (r % 2) order.reverse();
      for (const i of order) {
        const key = `${peers[i].name}|${concurrency}`;
        const qps = await drive(names, concurrency, clients[i].resolve);
        results.set(key, [...(results.get(key) ?? []), qps]);
      }
    }
  }
  for (const c of clients) c.close();
  for (const concurrency of CONCURRENCY) {
    const ours = stats(results.get(`${peers[0].name}|${concurrency}`)!);
    for (const p of peers) {
      const s = stats(results.get(`${p.name}|${concurrency}`)!);
      const ratio = p === peers[0] ? "" : `  ours/peer ${(ours.median / s.median).toFixed(2)}x`;
      console.log(
        `${runtime}  c=${String(concurrency).padEnd(3)} ${p.name.padEnd(34)} ${
          fmt(s, "q/s").padStart(26)
        }${ratio}`,
      );
    }
  }

  // Cache hits: 10^6 lookups of 1,000 cached names.
  const cached = new DnsClient({ servers: [nsd.server], hostsPath: null });
  const hot = names.slice(0, 1000);
  await Promise.all(hot.map((n) => cached.resolveA(n)));
  const syncNs: number[] = [];
  const asyncNs: number[] = [];
  const N = 1_000_000;
  for (let r = 0; r < ROUNDS; r++) {
    let t0 = performance.now();
    for (let i = 0; i < N; i++) cached.lookupCached({ name: hot[i % 1000], type: 1 });
    syncNs.push(((performance.now() - t0) * 1e6) / N);
    t0 = performance.now();
    for (let i = 0; i < N; i++) await cached.resolveA(hot[i % 1000]);
    asyncNs.push(((performance.now() - t0) * 1e6) / N);
  }
  console.log(`${runtime}  cache hit, lookupCached (sync)      ${fmt(stats(syncNs), "ns", 0)}`);
  console.log(`${runtime}  cache hit, await resolveA           ${fmt(stats(asyncNs), "ns", 0)}`);
  cached.close();

  // Aborting 10,000 queries in flight: sent to a loopback port nobody listens on (freed
  // just before), so no reply and no reader in this process competes with the settle.
  const probe = dgram.createSocket("udp4");
  await new Promise<void>((r) => probe.bind(0, "127.0.0.1", () => r()));
  const port = probe.address().port;
  await new Promise<void>((r) => probe.close(() => r()));
  const abortMs: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const c = new DnsClient({
      servers: [`127.0.0.1:${port}`],
      enableCache: false,
      hostsPath: null,
      timeout: 30_000,
    });
    const ac = new AbortController();
    const all = Array.from({ length: 10_000 }, (_, i) => `abort${i}.bench.test`).map((n) =>
      c.resolveA(n, { signal: ac.signal }).catch(() => [])
    );
    while (c.getStats().packetsSent < 10_000) await new Promise((res) => setTimeout(res, 1));
    const t0 = performance.now();
    ac.abort();
    await Promise.all(all);
    abortMs.push(performance.now() - t0);
    if (c.getResourceUsage().inflight !== 0) throw new Error("queries left in flight");
    c.close();
  }
  console.log(`${runtime}  abort 10,000 in flight, all settled  ${fmt(stats(abortMs), "ms", 1)}`);
} finally {
  await nsd.stop();
}
