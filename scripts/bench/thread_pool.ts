/**
 * ThreadPool against piscina and tinypool: 20,000 tiny tasks and 200 CPU
 * tasks of ~5 ms (a fixed amount of work, calibrated on the main thread),
 * 2 threads each. Prints tasks/s, CPU efficiency against the 2-thread
 * ideal (serial time / 2) and the ratios ours / peer. The pools are all
 * started first and their rounds interleave; every figure is the median
 * (min–max) of the rounds.
 *
 * Usage: `deno run -A scripts/bench/thread_pool.ts` or, after the npm build,
 * `node npm/scripts/bench/thread_pool.js`.
 *
 * @module
 */
import { Piscina } from "npm:piscina@5.3.2";
import { Tinypool } from "npm:tinypool@2.2.0";
import { ThreadPool } from "../../core/thread_pool.ts";
import { burn } from "../../tests/fixtures/core/pool_tasks.ts";
import { fmt, ratio, ROUNDS, type Stats, stats } from "./_harness.ts";

const EXT = new URL(import.meta.url).pathname.endsWith(".js") ? ".js" : ".ts";
const TASKS = new URL(`../../tests/fixtures/core/pool_tasks${EXT}`, import.meta.url);
const runtime = "Deno" in globalThis ? "deno" : "node";
const TINY = 20_000;
const CPU = 200;

interface Runner {
  name: string;
  run(task: string, arg: number): Promise<unknown>;
  close(): Promise<void>;
}

function ours(): Runner {
  const pool = new ThreadPool(2, 2, { maxQueue: 100_000 });
  return {
    name: "iora ThreadPool",
    run: (task, arg) => pool.enqueue(TASKS, task, arg),
    close: () => pool.close(),
  };
}

function piscina(): Runner {
  const pool = new Piscina({ filename: TASKS.href, minThreads: 2, maxThreads: 2 });
  return {
    name: "piscina",
    run: (task, arg) => pool.run(arg, { name: task }),
    close: () => pool.destroy(),
  };
}

function tinypool(): Runner {
  const pool = new Tinypool({ filename: TASKS.href, minThreads: 2, maxThreads: 2 });
  return {
    name: "tinypool",
    run: (task, arg) => pool.run(arg, { name: task }),
    close: () => pool.destroy(),
  };
}

async function timeAll(runner: Runner, task: string, arg: number, count: number): Promise<number> {
  const started = performance.now();
  const all: Promise<unknown>[] = [];
  for (let i = 0; i < count; i++) all.push(runner.run(task, arg));
  await Promise.all(all);
  return performance.now() - started;
}

// Calibrate ~5 ms of work on the main thread (after warming the JIT up); the ideal for
// 2 threads is half the serial time of the same work.
for (let i = 0; i < 50; i++) burn(200_000);
let rounds = 1_000_000;
for (let i = 0; i < 3; i++) {
  const t0 = performance.now();
  burn(rounds);
  rounds = Math.round(rounds * 5 / Math.max(0.05, performance.now() - t0));
}
const serialStart = performance.now();
for (let i = 0; i < CPU; i++) burn(rounds);
const idealMs = (performance.now() - serialStart) / 2;

const factories: [string, () => Runner][] = [["ours", ours], ["piscina", piscina]];
// Under Deno, tinypool's workers let the process exit mid-run (seen with Deno 2.9.6): Node only.
if (runtime === "node") factories.push(["tinypool", tinypool]);

const runners: [string, Runner][] = [];
for (const [key, factory] of factories) {
  try {
    const runner = factory();
    await runner.run("echo", 0); // warm up: threads started, module loaded
    await timeAll(runner, "echo", 1, 2_000);
    await timeAll(runner, "burn", rounds, 40); // the workers' JIT warms up too
    runners.push([key, runner]);
  } catch (error) {
    console.log(`${key}: cannot run on ${runtime}: ${(error as Error).message}`);
  }
}
const tiny = new Map<string, number[]>(runners.map(([key]) => [key, []]));
const cpu = new Map<string, number[]>(runners.map(([key]) => [key, []]));
for (let r = 0; r < ROUNDS; r++) {
  for (const [key, runner] of runners) {
    tiny.get(key)!.push(TINY / (await timeAll(runner, "echo", r, TINY)) * 1000);
    cpu.get(key)!.push(await timeAll(runner, "burn", rounds, CPU));
  }
}
const results = new Map<string, { tinyPerSec: Stats; cpuMs: Stats }>();
for (const [key, runner] of runners) {
  await runner.close();
  const result = { tinyPerSec: stats(tiny.get(key)!), cpuMs: stats(cpu.get(key)!) };
  results.set(key, result);
  const efficiency = stats(result.cpuMs.values.map((ms) => idealMs / ms * 100));
  console.log(
    `${runtime}  ${runner.name.padEnd(16)} tiny ${fmt(result.tinyPerSec, 0)} tasks/s` +
      ` | ${CPU} CPU tasks ${fmt(result.cpuMs, 0)} ms, ${
        fmt(efficiency, 1)
      }% of the 2-thread ideal` +
      ` (${idealMs.toFixed(0)} ms)`,
  );
}
const mine = results.get("ours");
if (mine) {
  for (const [key, peer] of results) {
    if (key === "ours") continue;
    console.log(
      `${runtime}  ratio ours/${key}: tiny ${fmt(ratio(mine.tinyPerSec, peer.tinyPerSec), 2)}x` +
        `, CPU throughput ${
          fmt(ratio(peer.cpuMs, mine.cpuMs), 2)
        }x (median (min–max) of ${ROUNDS})`,
    );
  }
}
