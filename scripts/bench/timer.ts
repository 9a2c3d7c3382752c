/**
 * TimerService against native `setTimeout`/`clearTimeout`:
 * 1. schedule 1,000,000 timers (1–2 s ahead), then cancel them all;
 * 2. fire 100,000 timers of 10–100 ms and measure dispatch lateness (fire time minus the
 *    later of the deadline and the end of the scheduling loop, which blocks both alike),
 *    p50/p99.
 *
 * Usage: `deno run -A scripts/bench/timer.ts` or, after the npm build,
 * `node npm/scripts/bench/timer.js`.
 *
 * @module
 */
import { TimerService } from "../../core/timer.ts";
import { fmt, ratio, ROUNDS, stats } from "./_harness.ts";

const SCHEDULE = 1_000_000;
const FIRE = 100_000;
const runtime = "Deno" in globalThis ? "deno" : "node";
const noop = (): void => {};

// Deadlines precomputed once so both sides schedule exactly the same delays.
const delays = Float64Array.from({ length: SCHEDULE }, (_, i) => 1000 + ((i * 7919) % 1000));
const fireDelays = Float64Array.from({ length: FIRE }, (_, i) => 10 + ((i * 7919) % 90_001) / 1000);

interface Churn {
  scheduleMs: number;
  cancelMs: number;
}

function nativeChurn(): Churn {
  const handles = new Array<ReturnType<typeof setTimeout>>(SCHEDULE);
  const t0 = performance.now();
  for (let i = 0; i < SCHEDULE; i++) handles[i] = setTimeout(noop, delays[i]);
  const t1 = performance.now();
  for (let i = 0; i < SCHEDULE; i++) clearTimeout(handles[i]);
  return { scheduleMs: t1 - t0, cancelMs: performance.now() - t1 };
}

function oursChurn(): Churn {
  const service = new TimerService({ maxConcurrentTimers: SCHEDULE });
  const ids = new Array<number>(SCHEDULE);
  const t0 = performance.now();
  for (let i = 0; i < SCHEDULE; i++) ids[i] = service.scheduleAfter(delays[i], noop);
  const t1 = performance.now();
  for (let i = 0; i < SCHEDULE; i++) service.cancel(ids[i]);
  const cancelMs = performance.now() - t1;
  service.stop();
  return { scheduleMs: t1 - t0, cancelMs };
}

interface Lateness {
  p50: number;
  p99: number;
  loopMs: number;
}

function fireAll(schedule: (delay: number, handler: () => void) => void): Promise<Lateness> {
  return new Promise((resolve) => {
    const due = new Float64Array(FIRE);
    const fired = new Float64Array(FIRE);
    let count = 0;
    let loopEnd = 0;
    const start = performance.now();
    for (let i = 0; i < FIRE; i++) {
      const k = i;
      due[k] = performance.now() + fireDelays[k];
      schedule(fireDelays[k], () => {
        fired[k] = performance.now();
        if (++count === FIRE) finish();
      });
    }
    loopEnd = performance.now();
    function finish(): void {
      const late = Array.from(due, (d, k) => fired[k] - Math.max(d, loopEnd)).sort((a, b) => a - b);
      resolve({ p50: late[FIRE / 2], p99: late[Math.floor(FIRE * 0.99)], loopMs: loopEnd - start });
    }
  });
}

// Warm up both paths at a smaller size.
{
  const s = new TimerService({ maxConcurrentTimers: 100_000 });
  for (let r = 0; r < 3; r++) {
    const ids = Array.from({ length: 100_000 }, (_, i) => s.scheduleAfter(1000 + i, noop));
    for (const id of ids) s.cancel(id);
  }
  s.stop();
  const h = Array.from({ length: 50_000 }, (_, i) => setTimeout(noop, 1000 + i));
  for (const x of h) clearTimeout(x);
}

// Rounds alternate native and ours so a noisy neighbour hurts both alike; every figure is the
// median (min–max) of the rounds, every ratio the median (min–max) of the per-round ratios.
const churn = { native: [] as Churn[], ours: [] as Churn[] };
for (let r = 0; r < ROUNDS; r++) {
  churn.native.push(nativeChurn());
  churn.ours.push(oursChurn());
}
const perSec = (all: Churn[], key: "scheduleMs" | "cancelMs" | "total") =>
  stats(all.map((c) => {
    const ms = key === "total" ? c.scheduleMs + c.cancelMs : c[key];
    return SCHEDULE / ms * 1000 / 1e6;
  }));
for (const name of ["native", "ours"] as const) {
  const all = churn[name];
  console.log(
    `${runtime}  ${name.padEnd(6)}  schedule ${fmt(perSec(all, "scheduleMs"), 2)} M/s, cancel ${
      fmt(perSec(all, "cancelMs"), 2)
    } M/s, 1M schedule+cancel ${fmt(perSec(all, "total"), 2)} M pairs/s`,
  );
}
console.log(
  `${runtime}  ratio ours/native schedule+cancel throughput: ${
    fmt(ratio(perSec(churn.ours, "total"), perSec(churn.native, "total")), 2)
  }x (median (min–max) of ${ROUNDS})`,
);

const service = new TimerService({ maxConcurrentTimers: FIRE });
const viaNative = (delay: number, handler: () => void): void => void setTimeout(handler, delay);
const viaOurs = (delay: number, handler: () => void): void =>
  void service.scheduleAfter(delay, handler);
await fireAll(viaOurs); // warm-up of the dispatch path
const late = { native: [] as Lateness[], ours: [] as Lateness[] };
for (let r = 0; r < ROUNDS; r++) {
  late.native.push(await fireAll(viaNative));
  late.ours.push(await fireAll(viaOurs));
}
service.stop();
const of = (all: Lateness[], key: keyof Lateness) => stats(all.map((l) => l[key]));
for (const name of ["native", "ours"] as const) {
  const all = late[name];
  console.log(
    `${runtime}  ${name.padEnd(6)}  fire ${FIRE} timers of 10-100 ms: lateness p50 ${
      fmt(of(all, "p50"), 2)
    } ms, p99 ${fmt(of(all, "p99"), 2)} ms (scheduling loop ${fmt(of(all, "loopMs"), 0)} ms)`,
  );
}
// Lateness ratios per round, native over ours (>1: ours is less late), floored at 1 µs.
const lateRatio = (key: "p50" | "p99") =>
  stats(late.native.map((n, r) => n[key] / Math.max(late.ours[r][key], 0.001)));
console.log(
  `${runtime}  ratio native/ours lateness (>1 means ours is less late): p50 ${
    fmt(lateRatio("p50"), 2)
  }x, p99 ${fmt(lateRatio("p99"), 2)}x (median (min–max) of ${ROUNDS})`,
);
