/**
 * Streaming JSON throughput, fed 64 KiB byte chunks and building every value: JsonStreamParser
 * against npm stream-json 3 and npm @streamparser/json, in the same interleaved rounds. Depth 1
 * (the elements of the top-level container) for .json files, depth 0 (every top-level value) for
 * NDJSON. Every side decodes the bytes, tokenizes strictly and builds the same JavaScript values.
 *
 * stream-json is measured three ways, so its best stands as the peer:
 * - its documented Node stream (`parser.asStream()` piped into `Assembler.connectTo`);
 * - its tokenizer driven synchronously (`fixUtf8Stream()` then `jsonParser()`, each token into
 *   `Assembler.consume`), which skips the stream machinery;
 * - for NDJSON, its `jsonl/parser` (lines split, then `JSON.parse` per line), driven the same way.
 *
 * Usage: `deno run -A scripts/bench/json_stream.ts` or `node npm/scripts/bench/json_stream.js`.
 *
 * @module
 */
import { JSONParser } from "npm:@streamparser/json@0.0.26";
import { parser as streamJsonParser } from "npm:stream-json@3.8.0";
import { jsonParser } from "npm:stream-json@3.8.0/parser.js";
import { jsonlParser } from "npm:stream-json@3.8.0/jsonl/parser.js";
import Assembler from "npm:stream-json@3.8.0/assembler.js";
import fixUtf8Stream from "npm:stream-chain@4.4.1/utils/fixUtf8Stream.js";
import lines from "npm:stream-chain@4.4.1/utils/lines.js";
import { JsonStreamParser } from "../../parsers/json_stream.ts";
import { corpus, mbpsRounds, row } from "./_harness.ts";

const CHUNK = 64 * 1024;
function chunks(bytes: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let o = 0; o < bytes.length; o += CHUNK) out.push(bytes.subarray(o, o + CHUNK));
  return out;
}

// stream-chain's markers are registered symbols, so they need no import of its internals.
const NONE = Symbol.for("object-stream.none");
const MANY = Symbol.for("object-stream.many");
const FLUSH = Symbol.for("object-stream.flush");
// deno-lint-ignore no-explicit-any
type Stage = (v: any) => unknown;

/**
 * Runs stream-chain stages synchronously, as its executor does without the async bridge:
 * each stage's output (a value, `none`, `many(...)` or a generator) goes to the next stage,
 * and the last stage's values to `sink`. `end()` flushes the flushable stages in order.
 */
function syncChain(stages: Stage[], sink: (v: unknown) => void) {
  const step = (i: number, v: unknown): void => {
    if (i === stages.length) sink(v);
    else emit(i + 1, stages[i](v));
  };
  const emit = (i: number, out: unknown): void => {
    if (out === NONE || out === undefined) return;
    const o = out as { [MANY]?: number; values: unknown[]; next?: unknown };
    if (o[MANY] === 1) { for (const x of o.values) step(i, x); }
    else if (typeof o.next === "function") { for (const x of out as Iterable<unknown>) step(i, x); }
    else step(i, out);
  };
  return {
    write: (chunk: Uint8Array) => step(0, chunk),
    end: () => {
      for (let i = 0; i < stages.length; i++) {
        if ((stages[i] as unknown as Record<symbol, number>)[FLUSH] === 1) {
          emit(i + 1, stages[i](NONE));
        }
      }
    },
  };
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
  const fns: Record<string, () => unknown> = {
    ours: () => {
      const p = new JsonStreamParser({ depth: nd ? 0 : 1 });
      let n = 0;
      for (const c of parts) n += p.write(c).length;
      return n + p.end().length;
    },
    streamparser: () => {
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
    },
    sjStream: () =>
      new Promise<number>((resolve, reject) => {
        const p = streamJsonParser.asStream({ jsonStreaming: nd });
        let n = 0;
        Assembler.connectTo(p, { onDone: () => n++ });
        p.on("error", reject);
        p.on("end", () => resolve(n));
        for (const c of parts) p.write(c);
        p.end();
      }),
    sjSync: () => {
      const asm = new Assembler();
      let n = 0;
      const chain = syncChain([fixUtf8Stream(), jsonParser({ jsonStreaming: nd })], (t) => {
        asm.consume(t as Parameters<typeof asm.consume>[0]);
        if (asm.done) n++;
      });
      for (const c of parts) chain.write(c);
      chain.end();
      return n;
    },
  };
  if (nd) {
    fns.sjJsonl = () => {
      let n = 0;
      const chain = syncChain([fixUtf8Stream(), lines(), jsonlParser()], () => n++);
      for (const c of parts) chain.write(c);
      chain.end();
      return n;
    };
  }
  const r = await mbpsRounds(bytes.length, fns);
  row(f, "@streamparser/json", r.streamparser);
  row(f, "stream-json stream + Assembler", r.sjStream);
  row(f, "stream-json jsonParser + Assembler, sync", r.sjSync);
  if (nd) row(f, "stream-json jsonl parser, sync", r.sjJsonl);
  row(f, "JsonStreamParser", r.ours);
  row(f, "  vs @streamparser/json", r.ours, r.streamparser);
  row(f, "  vs stream-json stream + Assembler", r.ours, r.sjStream);
  row(f, "  vs stream-json jsonParser, sync", r.ours, r.sjSync);
  if (nd) row(f, "  vs stream-json jsonl parser, sync", r.ours, r.sjJsonl);
}
