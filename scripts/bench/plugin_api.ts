/**
 * Exported-API call cost: the three accessors of the API registry
 * (`getExportedApi`, `getExportedApiSafe`, `callExportedApi`) in ns per
 * call, beside the seed's C++ figures (2 / 25 / 120 ns) and a direct JS
 * call, plus the round trip of a call into a sandboxed plugin (a Deno
 * worker with no permissions; on Node, an unsandboxed worker).
 * Usage: `deno run -A scripts/bench/plugin_api.ts` or
 * `node npm/scripts/bench/plugin_api.js` after the npm build.
 *
 * @module
 */
import { platform } from "../../core/platform/mod.ts";
import { ApiRegistry } from "../../service/api_registry.ts";
import { PluginHost } from "../../service/plugin_host.ts";

const runtime = platform().name;
const ext = import.meta.url.endsWith(".ts") ? ".ts" : ".js";
const SEED_NS = { getExportedApi: 2.1, getExportedApiSafe: 25.4, callExportedApi: 118.6 };

type Add = (a: number, b: number) => number;

/** Best ns per call of `loop(n)` over a few rounds (the loop does n calls). */
function nsPerCall(loop: (n: number) => number, n = 5_000_000, rounds = 7): number {
  let sink = loop(n / 10); // warm-up, so the JIT has settled
  let best = Infinity;
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    sink += loop(n);
    const ns = ((performance.now() - t0) * 1e6) / n;
    if (ns < best) best = ns;
  }
  if (sink === -1) console.log("unreachable");
  return best;
}

const registry = new ApiRegistry();
const add: Add = (a, b) => a + b;
registry.exportApi("bench", "bench.add", add);
const raw = registry.getExportedApi<Add>("bench.add");
const safe = registry.getExportedApiSafe<Add>("bench.add");

const direct = nsPerCall((n) => {
  let s = 0;
  for (let i = 0; i < n; i++) s = add(s, i) & 0xffff;
  return s;
});
const unsafe = nsPerCall((n) => {
  let s = 0;
  for (let i = 0; i < n; i++) s = raw(s, i) & 0xffff;
  return s;
});
const safeNs = nsPerCall((n) => {
  let s = 0;
  for (let i = 0; i < n; i++) s = safe.call(s, i) & 0xffff;
  return s;
});
const lookup = nsPerCall((n) => {
  let s = 0;
  for (let i = 0; i < n; i++) s = registry.callExportedApi<number>("bench.add", s, i) & 0xffff;
  return s;
});

function row(name: string, ns: number, seed?: number): string {
  const vsSeed = seed ? `${(ns / seed).toFixed(2)}x seed C++ (${seed} ns)` : "";
  return `${name.padEnd(40)} ${ns.toFixed(2).padStart(8)} ns/call  ${vsSeed}`;
}

console.log(`plugin API accessors (${runtime}), best of 7 x 5,000,000 calls`);
console.log(row("direct JS call (baseline)", direct));
console.log(row("getExportedApi (raw function)", unsafe, SEED_NS.getExportedApi));
console.log(row("getExportedApiSafe (SafeApiFunction)", safeNs, SEED_NS.getExportedApiSafe));
console.log(row("callExportedApi (lookup each call)", lookup, SEED_NS.callExportedApi));
console.log(
  `safe / raw: ${(safeNs / unsafe).toFixed(2)}x; lookup / safe: ${(lookup / safeNs).toFixed(2)}x ` +
    `(seed: ${(SEED_NS.getExportedApiSafe / SEED_NS.getExportedApi).toFixed(1)}x; ` +
    `${(SEED_NS.callExportedApi / SEED_NS.getExportedApiSafe).toFixed(1)}x)`,
);

// A sandboxed plugin written to a temporary file, so the benchmark needs no fixtures.
const dir = await platform().makeTempDir({ prefix: "iora-bench-" });
try {
  const pluginUrl = new URL(`../../service/plugin${ext}`, import.meta.url).href;
  await platform().writeTextFile(
    `${dir}/echo.js`,
    `import { Plugin } from ${JSON.stringify(pluginUrl)};\n` +
      `export default class Echo extends Plugin {\n` +
      `  onLoad() { this.exportApi("echo.add", (a, b) => a + b); }\n}\n`,
  );
  const host = new PluginHost({ service: {}, registry, directory: dir });
  const t0 = performance.now();
  await host.loadSingleModule({ url: "echo.js", sandbox: true, allowUnsandboxed: true });
  const loadMs = performance.now() - t0;
  const remote = registry.getExportedApiSafe<(a: number, b: number) => Promise<number>>(
    "echo.add",
  );
  for (let i = 0; i < 500; i++) await remote.call(i, 1); // warm-up
  const calls = 5000;
  let t = performance.now();
  for (let i = 0; i < calls; i++) await remote.call(i, 1);
  const sequentialUs = ((performance.now() - t) * 1000) / calls;
  t = performance.now();
  const batch: Promise<number>[] = [];
  for (let i = 0; i < calls; i++) batch.push(remote.call(i, 1));
  await Promise.all(batch);
  const pipelinedUs = ((performance.now() - t) * 1000) / calls;
  const kind = runtime === "deno"
    ? "sandboxed (Deno worker, no permissions)"
    : "worker (unsandboxed, Node)";
  console.log(`\n${kind}: start + onLoad ${loadMs.toFixed(1)} ms`);
  console.log(
    `round trip, sequential: ${sequentialUs.toFixed(1)} us/call (${
      (sequentialUs * 1000 / safeNs).toFixed(0)
    }x an in-process safe call)`,
  );
  console.log(`round trip, 5,000 in flight: ${pipelinedUs.toFixed(1)} us/call`);
  await host.unloadAll();
} finally {
  await platform().remove(dir, { recursive: true });
}
