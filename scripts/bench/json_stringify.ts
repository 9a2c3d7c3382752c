/**
 * JSON stringify throughput: stringifyJson with sorted keys against npm
 * fast-json-stable-stringify, and pretty printing against JSON.stringify(v, null, 2).
 * Usage: `deno run -A scripts/bench/json_stringify.ts` or
 * `node npm/scripts/bench/json_stringify.js` after the npm build.
 *
 * @module
 */
import stableStringify from "npm:fast-json-stable-stringify@2.1.0";
import { platform } from "../../core/platform/mod.ts";
import { stringifyJson } from "../../parsers/json.ts";

const isDeno = "Deno" in globalThis;
const runtime = isDeno ? "deno" : "node";

async function corpus(sub: string, name: string): Promise<Uint8Array> {
  // The corpus sits beside the repository; the npm build sits one level deeper.
  for (const rel of ["../../../shared/corpus/", "../../../../shared/corpus/"]) {
    const url = new URL(`${rel}${sub}/${name}`, import.meta.url);
    try {
      return await platform().readFile(decodeURIComponent(url.pathname));
    } catch {
      // try the next location
    }
  }
  throw new Error(`corpus file ${sub}/${name} not found beside the repository`);
}

/** MB/s of `fn` over `bytes` bytes, after warm-up, for about `ms` milliseconds. */
async function mbps(bytes: number, fn: () => unknown, ms = 700): Promise<number> {
  for (let i = 0; i < 3; i++) await fn();
  let n = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < ms || n < 3) {
    await fn();
    n++;
    t = performance.now();
  }
  return (bytes * n) / 1e6 / ((t - t0) / 1000);
}

function row(file: string, name: string, v: number, peer?: number): void {
  const ratio = peer === undefined ? "" : `  ours/peer ${(v / peer).toFixed(2)}x`;
  console.log(
    `${runtime}  ${file.padEnd(26)} ${name.padEnd(34)} ${v.toFixed(1).padStart(8)} MB/s${ratio}`,
  );
}

const files = ["twitter.json", "citm_catalog.json", "geo_numbers.json", "deep_nesting.json"];
for (const f of files) {
  const bytes = await corpus("json", f);
  const value = JSON.parse(new TextDecoder().decode(bytes));
  const size = bytes.length;
  const peer = await mbps(size, () => stableStringify(value));
  const ours = await mbps(size, () => stringifyJson(value, { sortKeys: true }));
  row(f, "fast-json-stable-stringify", peer);
  row(f, "stringifyJson(sortKeys)", ours, peer);
  const peerPretty = await mbps(size, () => JSON.stringify(value, null, 2), 400);
  const oursPretty = await mbps(size, () => stringifyJson(value, { indent: 2 }));
  row(f, "JSON.stringify(v, null, 2)", peerPretty);
  row(f, "stringifyJson(indent 2)", oursPretty, peerPretty);
}
