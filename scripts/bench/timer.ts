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

const rate = (n: number, ms: number): string => `${(n / ms * 1000 / 1e6).toFixed(2)} M/s`;

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

const ROUNDS = 3;
const median = (values: number[]): number => [...values].sort((a, b) => a - b)[values.length >> 1];

// Rounds alternate native and ours so a noisy neighbour hurts both alike; medians are reported.
const churn = { native: [] as Churn[], ours: [] as Churn[] };
for (let r = 0; r < ROUNDS; r++) {
  churn.native.push(nativeChurn());
  churn.ours.push(oursChurn());
}
const pick = (all: Churn[]): Churn => {
  const total = median(all.map((c) => c.scheduleMs + c.cancelMs));
  return all.find((c) => c.scheduleMs + c.cancelMs === total)!;
};
const native = pick(churn.native);
const ours = pick(churn.ours);
const nativeTotal = native.scheduleMs + native.cancelMs;
const oursTotal = ours.scheduleMs + ours.cancelMs;
console.log(
  `native  schedule ${rate(SCHEDULE, native.scheduleMs)}, cancel ${
    rate(SCHEDULE, native.cancelMs)
  }, ` +
    `1M schedule+cancel ${nativeTotal.toFixed(0)} ms`,
);
console.log(
  `ours    schedule ${rate(SCHEDULE, ours.scheduleMs)}, cancel ${rate(SCHEDULE, ours.cancelMs)}, ` +
    `1M schedule+cancel ${oursTotal.toFixed(0)} ms`,
);
console.log(
  `ratio ours/native schedule+cancel throughput (${runtime}): ${
    (nativeTotal / oursTotal).toFixed(2)
  }x`,
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
const summary = (all: Lateness[]): Lateness => ({
  p50: median(all.map((l) => l.p50)),
  p99: median(all.map((l) => l.p99)),
  loopMs: median(all.map((l) => l.loopMs)),
});
const nativeLate = summary(late.native);
const oursLate = summary(late.ours);
for (const [name, l] of [["native", nativeLate], ["ours  ", oursLate]] as const) {
  console.log(
    `${name}  fire ${FIRE} timers of 10-100 ms: lateness p50 ${l.p50.toFixed(2)} ms, ` +
      `p99 ${l.p99.toFixed(2)} ms (scheduling loop ${l.loopMs.toFixed(0)} ms)`,
  );
}
console.log(
  `ratio native/ours lateness (${runtime}, >1 means ours is less late): ` +
    `p50 ${(nativeLate.p50 / Math.max(oursLate.p50, 0.001)).toFixed(2)}x, ` +
    `p99 ${(nativeLate.p99 / Math.max(oursLate.p99, 0.001)).toFixed(2)}x`,
);
