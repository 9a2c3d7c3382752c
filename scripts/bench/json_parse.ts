/**
 * JSON parse throughput: parseJson (default limits) against JSON.parse, from text and from
 * UTF-8 bytes (JSON.parse after TextDecoder). Usage: `deno run -A scripts/bench/json_parse.ts`
 * or `node npm/scripts/bench/json_parse.js` after the npm build.
 *
 * @module
 */
import { parseJson } from "../../parsers/json.ts";
import { corpus, mbps, row } from "./_harness.ts";

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
