/**
 * JSON parse throughput: parseJson (default limits) against JSON.parse, from text and from
 * UTF-8 bytes (JSON.parse after TextDecoder), on each corpus file and on many small documents
 * (the parts of twitter.json under 2 KB, like request bodies: short enough for the limits to
 * hold by length alone). The "then read" rows add what an application does next, one read of
 * every value: V8's JSON.parse leaves objects built before a field changed representation (a
 * key holding 0 first, 1.5 later) on a deprecated shape that the first read migrates, so a
 * check that reads the value pays that migration, which JSON.parse alone defers to its caller.
 * Two rows per file take the byte path apart: its strict decode and JSON.parse without the
 * limit walk, and TextDecoder alone. Usage: `deno run -A scripts/bench/json_parse.ts` or
 * `node npm/scripts/bench/json_parse.js` after the npm build.
 *
 * @module
 */
import { decodeJsonBytes, parseJson } from "../../parsers/json.ts";
import { corpus, mbpsPair, mbpsRounds, row } from "./_harness.ts";

/** Reads every value once, as a consumer would; returns the number of leaves. */
function readAll(v: unknown): number {
  if (typeof v !== "object" || v === null) return 1;
  let n = 0;
  if (Array.isArray(v)) { for (const x of v) n += readAll(x); }
  else for (const k in v) n += readAll((v as Record<string, unknown>)[k]);
  return n;
}

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
  // What the byte path costs without the limit walk (its strict decode and the engine's
  // parse only), and what decoding alone costs: where the gap to the peer comes from.
  const w = await mbpsRounds(bytes.length, {
    peer: () => JSON.parse(td.decode(bytes)),
    noWalk: () => JSON.parse(decodeJsonBytes(bytes, false)),
    decode: () => td.decode(bytes),
  });
  row(f, "strict decode + JSON.parse, no walk", w.noWalk, w.peer);
  row(f, "TextDecoder(bytes) alone", w.decode);
  const r = await mbpsRounds(bytes.length, {
    peer: () => readAll(JSON.parse(text)),
    ours: () => readAll(parseJson(text)),
    exact: () => parseJson(text, { rejectDuplicateKeys: true }),
    parse: () => JSON.parse(text),
  });
  row(f, "JSON.parse(text), then read", r.peer);
  row(f, "parseJson(text), then read", r.ours, r.peer);
  row(f, "parseJson(text, rejectDuplicateKeys)", r.exact, r.parse);
}

// Small documents: every status of twitter.json, its user, entities and metadata under 2 KB.
const twitter = JSON.parse(new TextDecoder().decode(await corpus("json", "twitter.json")));
const texts: string[] = [];
for (const s of twitter.statuses) {
  for (const part of [s, s.user, s.entities, s.metadata]) {
    const t = JSON.stringify(part);
    if (t.length < 2000) texts.push(t);
  }
}
const encoder = new TextEncoder();
const docs = texts.map((t) => encoder.encode(t));
const size = docs.reduce((n, d) => n + d.length, 0);
const name = `${docs.length} small documents`;
const t = await mbpsPair(
  size,
  () => texts.forEach((x) => JSON.parse(x)),
  () => texts.forEach((x) => parseJson(x)),
);
row(name, "JSON.parse(text)", t.peer);
row(name, "parseJson(text)", t.ours, t.peer);
const td = new TextDecoder();
const b = await mbpsPair(
  size,
  () => docs.forEach((d) => JSON.parse(td.decode(d))),
  () => docs.forEach((d) => parseJson(d)),
);
row(name, "JSON.parse(TextDecoder(bytes))", b.peer);
row(name, "parseJson(bytes)", b.ours, b.peer);
