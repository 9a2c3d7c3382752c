/**
 * JSON parse throughput: parseJson (default limits) against JSON.parse, from text and from
 * UTF-8 bytes (JSON.parse after TextDecoder). Usage: `deno run -A scripts/bench/json_parse.ts`
 * or `node npm/scripts/bench/json_parse.js` after the npm build.
 *
 * @module
 */
import { platform } from "../../core/platform/mod.ts";
import { parseJson } from "../../parsers/json.ts";

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
  const text = new TextDecoder().decode(bytes);
  const peerText = await mbps(bytes.length, () => JSON.parse(text));
  const oursText = await mbps(bytes.length, () => parseJson(text));
  row(f, "JSON.parse(text)", peerText);
  row(f, "parseJson(text)", oursText, peerText);
  const td = new TextDecoder();
  const peerBytes = await mbps(bytes.length, () => JSON.parse(td.decode(bytes)));
  const oursBytes = await mbps(bytes.length, () => parseJson(bytes));
  row(f, "JSON.parse(TextDecoder(bytes))", peerBytes);
  row(f, "parseJson(bytes)", oursBytes, peerBytes);
  const exact = await mbps(bytes.length, () => parseJson(text, { rejectDuplicateKeys: true }));
  row(f, "parseJson(text, rejectDuplicateKeys)", exact, peerText);
}
