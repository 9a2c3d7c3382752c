/**
 * Cache throughput on a get/set mix: our ExpiringCache against npm
 * lru-cache, both with a TTL and a size bound, in one run. Keys are drawn
 * from a space twice the cache size (so there are misses and evictions);
 * each missed get is followed by a set, as a read-through cache does.
 * Usage: `deno run -A scripts/bench/expiring_cache.ts` or
 * `node npm/scripts/bench/expiring_cache.js` after the npm build.
 *
 * @module
 */
import { LRUCache } from "npm:lru-cache@11.5.4";
import { ExpiringCache } from "../../core/expiring_cache.ts";
import { platform } from "../../core/platform/mod.ts";
import { fmt, ratio, ROUNDS, type Stats, stats } from "./_harness.ts";

const runtime = "Deno" in globalThis ? "deno" : "node";
const MAX = 10_000;
const KEYS = 20_000;
const OPS = 2_000_000;

// A skewed key stream (about 80 % of reads hit 20 % of the keys), fixed for every contender.
const stream = new Array<string>(OPS);
let seed = 42;
// mulberry32: a small, decent PRNG, so runs are reproducible.
const rand = () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
for (let i = 0; i < OPS; i++) {
  const hot = rand() < 0.8;
  const k = hot ? Math.floor(rand() * KEYS * 0.2) : Math.floor(rand() * KEYS);
  stream[i] = `key:${k}`;
}

interface Contender {
  name: string;
  make(): { get(k: string): number | undefined; set(k: string, v: number): unknown };
  done?(c: unknown): void;
}

const contenders: Contender[] = [
  {
    name: "ours",
    make: () => new ExpiringCache<string, number>({ ttlMs: 60_000, maxSize: MAX }),
    done: (c) => (c as ExpiringCache<string, number>).close(),
  },
  {
    name: "lru-cache",
    make: () => new LRUCache<string, number>({ max: MAX, ttl: 60_000 }),
  },
];

function run(c: Contender): { ms: number; hits: number } {
  const cache = c.make();
  let hits = 0;
  const t0 = platform().now();
  for (let i = 0; i < OPS; i++) {
    const key = stream[i];
    if (cache.get(key) !== undefined) hits++;
    else cache.set(key, i);
  }
  const ms = platform().now() - t0;
  c.done?.(cache);
  return { ms, hits };
}

// Rounds interleave the contenders; every figure is the median (min–max) of the rounds.
const opsPerSec: Record<string, number[]> = {};
const hitRate: Record<string, number> = {};
for (let round = 0; round < ROUNDS; round++) {
  for (const c of contenders) {
    const { ms, hits } = run(c);
    (opsPerSec[c.name] ??= []).push(OPS / (ms / 1000) / 1e6);
    hitRate[c.name] = hits / OPS;
  }
}
const rate: Record<string, Stats> = {};
for (const c of contenders) rate[c.name] = stats(opsPerSec[c.name]);
for (const c of contenders) {
  const r = c.name === "ours" ? "" : `  ours/peer ${fmt(ratio(rate.ours, rate[c.name]), 2)}x`;
  console.log(
    `${runtime}  expiring-cache get/set  ${c.name.padEnd(10)} ${fmt(rate[c.name], 2)}M ops/s` +
      `  (hit rate ${(hitRate[c.name] * 100).toFixed(1)} %, median (min–max) of ${ROUNDS})${r}`,
  );
}
