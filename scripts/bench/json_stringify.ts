/**
 * JSON stringify throughput: stringifyJson with sorted keys against npm
 * fast-json-stable-stringify, and pretty printing against JSON.stringify(v, null, 2). Every
 * result is read once in the middle, which makes the engine flatten a concatenated string: a
 * rope costs nothing until it is written somewhere, so leaving it unflattened would flatter the
 * writers that build one (ours and fast-json-stable-stringify) against JSON.stringify.
 * Usage: `deno run -A scripts/bench/json_stringify.ts` or
 * `node npm/scripts/bench/json_stringify.js` after the npm build.
 *
 * @module
 */
import stableStringify from "npm:fast-json-stable-stringify@2.1.0";
import { stringifyJson } from "../../parsers/json.ts";
import { corpus, mbpsPair, row } from "./_harness.ts";

/** Forces the engine to flatten `s` (a rope until then), as writing it out would. */
function flat(s: string): number {
  return s.charCodeAt(s.length >> 1);
}

const files = ["twitter.json", "citm_catalog.json", "geo_numbers.json", "deep_nesting.json"];
for (const f of files) {
  const bytes = await corpus("json", f);
  const value = JSON.parse(new TextDecoder().decode(bytes));
  const size = bytes.length;
  const sorted = await mbpsPair(
    size,
    () => flat(stableStringify(value)),
    () => flat(stringifyJson(value, { sortKeys: true })),
  );
  row(f, "fast-json-stable-stringify", sorted.peer);
  row(f, "stringifyJson(sortKeys)", sorted.ours, sorted.peer);
  const pretty = await mbpsPair(
    size,
    () => flat(JSON.stringify(value, null, 2)),
    () => flat(stringifyJson(value, { indent: 2 })),
    f.startsWith("deep") ? 400 : 1000,
  );
  row(f, "JSON.stringify(v, null, 2)", pretty.peer);
  row(f, "stringifyJson(indent 2)", pretty.ours, pretty.peer);
}
