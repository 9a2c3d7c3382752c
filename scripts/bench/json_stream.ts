/**
 * Streaming JSON throughput, fed 64 KiB byte chunks and building the values: JsonStreamParser
 * against npm @streamparser/json and npm stream-json with its Assembler. Depth 1 (elements of
 * the top-level container) for .json files, depth 0 for NDJSON. Usage:
 * `deno run -A scripts/bench/json_stream.ts` or `node npm/scripts/bench/json_stream.js`.
 *
 * @module
 */
import { JSONParser } from "npm:@streamparser/json@0.0.22";
import streamJson from "npm:stream-json@1.9.1";
import Assembler from "npm:stream-json@1.9.1/Assembler.js";
import { JsonStreamParser } from "../../parsers/json_stream.ts";
import { corpus, mbps, row } from "./_harness.ts";

const CHUNK = 64 * 1024;
function chunks(bytes: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let o = 0; o < bytes.length; o += CHUNK) out.push(bytes.subarray(o, o + CHUNK));
  return out;
}

const files = [
  "twitter.json",
  "citm_catalog.json",
  "geo_numbers.json",
  "deep_nesting.json",
  "amazon_cellphones.ndjson",
];
for (const f of files) {
  const bytes = await corpus("json", f);
  const parts = chunks(bytes);
  const nd = f.endsWith(".ndjson");
  const ours = await mbps(bytes.length, () => {
    const p = new JsonStreamParser({ depth: nd ? 0 : 1 });
    let n = 0;
    for (const c of parts) n += p.write(c).length;
    return n + p.end().length;
  });
  const sp = await mbps(bytes.length, () => {
    let n = 0;
    const p = new JSONParser(
      nd ? { paths: ["$"], separator: "\n" } : { paths: ["$.*"], keepStack: false },
    );
    p.onValue = () => {
      n++;
    };
    for (const c of parts) p.write(c);
    // It ends itself after a single top-level value.
    if (!p.isEnded) p.end();
    return n;
  });
  const sj = await mbps(bytes.length, () =>
    new Promise<number>((resolve, reject) => {
      const p = streamJson.parser({ jsonStreaming: nd });
      const asm = Assembler.connectTo(p);
      let n = 0;
      asm.on("done", () => n++);
      p.on("error", reject);
      p.on("end", () => resolve(n));
      for (const c of parts) p.write(c);
      p.end();
      p.resume();
    }));
  row(f, "@streamparser/json", sp);
  row(f, "stream-json + Assembler", sj);
  row(f, "JsonStreamParser vs @streamparser/json", ours, sp);
  row(f, "JsonStreamParser vs stream-json", ours, sj);
}
