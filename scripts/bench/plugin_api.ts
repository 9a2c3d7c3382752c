/**
 * Exported-API call cost. Part 1: the three accessors of the API registry
 * (`getExportedApi`, `getExportedApiSafe`, `callExportedApi`) in ns per
 * call, beside the seed's C++ figures and a direct JS call. Part 2: a call
 * into a plugin through the registry — trusted (in-process, async), a
 * sandbox in a worker, a sandbox in a process of its own — as the round
 * trip with 1 call in flight, calls per second with 64 in flight, and the
 * start-up time of the sandbox. Every figure is the median of the rounds
 * with min–max; rounds alternate the modes so a noisy neighbour hurts all
 * alike. Goals (issue 13): process round trip within 2x of worker mode,
 * ≥ 30k calls/s with many in flight.
 *
 * Usage: `deno run -A scripts/bench/plugin_api.ts` (both sandbox modes) or
 * `node npm/scripts/bench/plugin_api.js` after the npm build (part 1 and
 * the trusted call only: Node runs no sandboxes).
 *
 * @module
 */
import { platform } from "../../core/platform/mod.ts";
import { ApiRegistry } from "../../service/api_registry.ts";
import type { SandboxIsolation } from "../../service/module_spec.ts";
import { PluginHost } from "../../service/plugin_host.ts";

const runtime = platform().name;
const ext = import.meta.url.endsWith(".ts") ? ".ts" : ".js";
const SEED_NS = { getExportedApi: 2.1, getExportedApiSafe: 25.4, callExportedApi: 118.6 };
const ROUNDS = 7;

type Add = (a: number, b: number) => number;

function stats(values: number[]): { median: number; min: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  return { median: sorted[sorted.length >> 1], min: sorted[0], max: sorted[sorted.length - 1] };
}

function show(values: number[], digits = 2): string {
  const { median, min, max } = stats(values);
  return `${median.toFixed(digits)} (${min.toFixed(digits)}–${max.toFixed(digits)})`;
}

// ---- Part 1: accessors -------------------------------------------------------------------

const registry = new ApiRegistry();
const add: Add = (a, b) => a + b;
registry.exportApi("bench", "bench.add", add);
const raw = registry.getExportedApi<Add>("bench.add");
const safe = registry.getExportedApiSafe<Add>("bench.add");

const loops: Record<string, (n: number) => number> = {
  "direct JS call (baseline)": (n) => {
    let s = 0;
    for (let i = 0; i < n; i++) s = add(s, i) & 0xffff;
    return s;
  },
  "getExportedApi (raw function)": (n) => {
    let s = 0;
    for (let i = 0; i < n; i++) s = raw(s, i) & 0xffff;
    return s;
  },
  "getExportedApiSafe (SafeApiFunction)": (n) => {
    let s = 0;
    for (let i = 0; i < n; i++) s = safe.call(s, i) & 0xffff;
    return s;
  },
  "callExportedApi (lookup each call)": (n) => {
    let s = 0;
    for (let i = 0; i < n; i++) s = registry.callExportedApi<number>("bench.add", s, i) & 0xffff;
    return s;
  },
};
const seedOf: Record<string, number | undefined> = {
  "getExportedApi (raw function)": SEED_NS.getExportedApi,
  "getExportedApiSafe (SafeApiFunction)": SEED_NS.getExportedApiSafe,
  "callExportedApi (lookup each call)": SEED_NS.callExportedApi,
};

const N = 5_000_000;
const nsRounds: Record<string, number[]> = {};
let sink = 0;
for (const loop of Object.values(loops)) sink += loop(N / 10); // warm-up
for (let r = 0; r < ROUNDS; r++) {
  for (const [name, loop] of Object.entries(loops)) {
    const t0 = performance.now();
    sink += loop(N);
    (nsRounds[name] ??= []).push(((performance.now() - t0) * 1e6) / N);
  }
}
if (sink === -1) console.log("unreachable");

console.log(`plugin API accessors (${runtime}), ns per call, median (min–max) of ${ROUNDS} x ${N}`);
for (const [name, values] of Object.entries(nsRounds)) {
  const seed = seedOf[name];
  const vsSeed = seed ? `  ${(stats(values).median / seed).toFixed(2)}x seed C++ (${seed} ns)` : "";
  console.log(`${name.padEnd(40)} ${show(values).padStart(22)}${vsSeed}`);
}

// ---- Part 2: calls into a plugin -----------------------------------------------------------

const dir = await platform().makeTempDir({ prefix: "iora-bench-" });
const pluginUrl = new URL(`../../service/plugin${ext}`, import.meta.url).href;
await platform().writeTextFile(
  `${dir}/echo.js`,
  `import { Plugin } from ${JSON.stringify(pluginUrl)};\n` +
    `export default class Echo extends Plugin {\n` +
    `  onLoad() { this.exportApi(this.name + ".add", (a, b) => a + b); }\n}\n`,
);

type Mode = "trusted" | SandboxIsolation;
const modes: Mode[] = runtime === "deno" ? ["trusted", "worker", "process"] : ["trusted"];
const host = new PluginHost({ service: {}, registry, directory: dir });

async function load(mode: Mode, name: string): Promise<number> {
  const t0 = performance.now();
  await host.loadSingleModule(
    mode === "trusted"
      ? { url: "echo.js", name }
      : { url: "echo.js", name, sandbox: true, isolation: mode },
  );
  return performance.now() - t0;
}

const remote = (name: string) =>
  registry.getExportedApiSafe<(a: number, b: number) => Promise<number>>(`${name}.add`);

/** µs per call with one call in flight. */
async function roundTrip(name: string, calls: number): Promise<number> {
  const fn = remote(name);
  const t0 = performance.now();
  for (let i = 0; i < calls; i++) await fn.call(i, 1);
  return ((performance.now() - t0) * 1000) / calls;
}

/** Calls per second with `inFlight` calls outstanding at all times. */
async function throughput(name: string, calls: number, inFlight: number): Promise<number> {
  const fn = remote(name);
  let next = 0;
  const worker = async () => {
    while (next < calls) {
      next++;
      await fn.call(next, 1);
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: inFlight }, worker));
  return calls / ((performance.now() - t0) / 1000);
}

// The floor under each sandbox mode: 32 bytes echoed by a bare worker and by a bare process
// (plain reads and writes, no framing, no RPC): what any channel of that kind costs.
await platform().writeTextFile(
  `${dir}/echo_stdin.js`,
  "const b = new Uint8Array(65536);\n" +
    "for (let n; (n = await Deno.stdin.read(b)) !== null;) Deno.stdout.writeSync(b.subarray(0, n));\n",
);

async function floorRoundTrip(kind: "worker" | "process", calls: number): Promise<number> {
  const message = new Uint8Array(32);
  if (kind === "worker") {
    const worker = platform().startWorker(
      `data:text/javascript,${
        encodeURIComponent("self.onmessage = (e) => self.postMessage(e.data)")
      }`,
    );
    let answer: () => void = () => {};
    worker.onMessage(() => answer());
    const t0 = performance.now();
    for (let i = 0; i < calls; i++) {
      await new Promise<void>((resolve) => {
        answer = resolve;
        worker.postMessage(message);
      });
    }
    const us = ((performance.now() - t0) * 1000) / calls;
    await worker.terminate();
    return us;
  }
  const child = platform().spawn(platform().execPath(), {
    args: ["run", `${dir}/echo_stdin.js`],
    stdin: "piped",
    stdout: "piped",
  });
  const writer = child.stdin!.getWriter();
  const reader = child.stdout!.getReader();
  const t0 = performance.now();
  for (let i = 0; i < calls; i++) {
    await writer.write(message);
    let got = 0;
    while (got < message.length) got += (await reader.read()).value!.length;
  }
  const us = ((performance.now() - t0) * 1000) / calls;
  await writer.close();
  await child.status;
  return us;
}

const floorUs: Record<string, number[]> = {};
const startMs: Record<string, number[]> = {};
const rtUs: Record<string, number[]> = {};
const perSec: Record<string, number[]> = {};
try {
  for (const mode of modes) {
    await load(mode, mode);
    await roundTrip(mode, 500); // warm-up
    await throughput(mode, 5000, 64);
  }
  for (let r = 0; r < ROUNDS; r++) {
    for (const mode of modes) {
      if (mode !== "trusted") {
        (startMs[mode] ??= []).push(await load(mode, `${mode}_start${r}`));
        await host.unloadSingleModule(`${mode}_start${r}`);
      }
      (rtUs[mode] ??= []).push(await roundTrip(mode, 2000));
      if (mode !== "trusted") (floorUs[mode] ??= []).push(await floorRoundTrip(mode, 2000));
      (perSec[mode] ??= []).push(await throughput(mode, 20_000, 64));
    }
  }
} finally {
  await host.unloadAll();
  await platform().remove(dir, { recursive: true });
}

console.log(
  `\ncalls into a plugin (${runtime}), median (min–max) of ${ROUNDS} rounds; ` +
    `2,000 sequential calls, 20,000 calls with 64 in flight per round`,
);
console.log(
  `${"mode".padEnd(28)} ${"start + onLoad ms".padStart(22)} ${"round trip µs".padStart(22)} ${
    "calls/s, 64 in flight".padStart(28)
  }`,
);
const label: Record<Mode, string> = {
  trusted: "trusted (in-process, async)",
  worker: "sandbox: worker",
  process: "sandbox: process",
};
for (const mode of modes) {
  console.log(
    `${label[mode].padEnd(28)} ${(startMs[mode] ? show(startMs[mode], 1) : "—").padStart(22)} ${
      show(rtUs[mode], 1).padStart(22)
    } ${show(perSec[mode], 0).padStart(28)}`,
  );
}
if (modes.includes("process")) {
  console.log(
    `floor (bare echo, 32 bytes): worker ${show(floorUs.worker, 1)} µs, process ${
      show(floorUs.process, 1)
    } µs: process / worker ${
      (stats(floorUs.process).median / stats(floorUs.worker).median).toFixed(2)
    }x`,
  );
  const ratio = stats(rtUs.process).median / stats(rtUs.worker).median;
  const rate = stats(perSec.process).median;
  console.log(
    `process / worker round trip: ${ratio.toFixed(2)}x (goal ≤ 2x); ` +
      `process calls/s with 64 in flight: ${rate.toFixed(0)} (goal ≥ 30,000); ` +
      `process / worker calls/s: ${(rate / stats(perSec.worker).median).toFixed(2)}x`,
  );
}
