/**
 * JSON parse throughput: parseJson (default limits) against JSON.parse, from text and from
 * UTF-8 bytes (JSON.parse after TextDecoder). Usage: `deno run -A scripts/bench/json_parse.ts`
 * or `node npm/scripts/bench/json_parse.js` after the npm build.
 *
 * @module
 */
import { parseJson } from "../../parsers/json.ts";
import { corpus, mbps, mbpsPair, row } from "./_harness.ts";

const files = ["twitter.json", "citm_catalog.json", "geo_numbers.json", "deep_nesting.json"];
for (const f of files) {
  const bytes = await corpus("json", f);
  const text = new TextDecoder().decode(bytes);
  const t = await mbpsPair(bytes.length, () => JSON.parse(text), () => parseJson(text));
  row(f, "JSON.parse(text)", t.peer);
  row(f, "parseJson(text)", t.ours, t.peer);
  const td = new TextDecoder();
  const b = await mbpsPair(
    bytes.length,
    () => JSON.parse(td.decode(bytes)),
    () => parseJson(bytes),
  );
  row(f, "JSON.parse(TextDecoder(bytes))", b.peer);
  row(f, "parseJson(bytes)", b.ours, b.peer);
  const exact = await mbps(bytes.length, () => parseJson(text, { rejectDuplicateKeys: true }));
  row(f, "parseJson(text, rejectDuplicateKeys)", exact, t.peer);
}
