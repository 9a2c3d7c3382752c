// The fast paths of parseJson: byte input (on Node an ASCII text with \u escapes for non-ASCII
// runs, from 16 KiB on; elsewhere the decoder) and the limit proofs from the input's length.
// Each test compares against an independent reference (the fatal TextDecoder and JSON.parse) or
// a hand-computed position, on inputs long enough to take the fast paths.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { JsonParseError, parseJson, tryParseJson } from "../../parsers/json.ts";
import type { JsonParseOptions, JsonValue } from "../../parsers/json.ts";

const enc = new TextEncoder();
const fatal = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

function parseError(input: string | Uint8Array, options?: JsonParseOptions): JsonParseError {
  const r = tryParseJson(input, options);
  assert.equal(r.ok, false, `expected an error for ${String(input).slice(0, 60)}`);
  return (r as { ok: false; error: JsonParseError }).error;
}

/** `bytes` at byte offset `shift` of a larger buffer (word alignment varies with `shift`). */
function shifted(bytes: Uint8Array, shift: number): Uint8Array {
  const b = new Uint8Array(bytes.length + shift + 3);
  b.set(bytes, shift);
  return b.subarray(shift, shift + bytes.length);
}

/** An ASCII JSON document of about `n` bytes: an array of small records. */
function asciiDoc(n: number): string {
  const items: string[] = [];
  let size = 2;
  for (let i = 0; size < n; i++) {
    const s = `{"id":${i},"name":"item ${i}","tags":["a","b"],"ok":true}`;
    items.push(s);
    size += s.length + 1;
  }
  return "[" + items.join(",") + "]";
}

/** The reference result of parsing `bytes`: JSON.parse of the fatal decoding, or "utf8"/"json". */
function reference(bytes: Uint8Array): { value: unknown } | "utf8" | "json" {
  let text: string;
  try {
    text = fatal.decode(bytes);
  } catch {
    return "utf8";
  }
  try {
    return { value: JSON.parse(text) };
  } catch {
    return "json";
  }
}

describe("parseJson(bytes)", () => {
  const doc = asciiDoc(17_000);

  it("parses ASCII input at every word alignment", () => {
    for (let shift = 0; shift < 4; shift++) {
      for (const cut of [0, 1, 2, 3]) {
        const text = doc + " ".repeat(cut);
        assert.deepEqual(parseJson(shifted(enc.encode(text), shift)), JSON.parse(text));
      }
    }
  });

  it("keeps non-ASCII characters in strings and keys exact, wherever they sit", () => {
    const chars = ["é", "ÿ", "\u0100", "€", "\u0800", "\uffff", "😀", "\u{10ffff}", "日本語"];
    for (const ch of chars) {
      for (
        const text of [
          `{"${ch}":"${ch}","d":${doc}}`, // first bytes
          `{"d":${doc},"k":"${ch}"}`, // near the end
          `{"d":${doc},"k":"x${ch}${ch}"}`, // last bytes before the closing quote
          `[${doc},"\\\\${ch}","\\n${ch}",{"${ch}${ch}":1}]`, // after escapes
        ]
      ) {
        for (let shift = 0; shift < 4; shift++) {
          assert.deepEqual(parseJson(shifted(enc.encode(text), shift)), JSON.parse(text), text);
        }
      }
    }
  });

  it("parses input with many non-ASCII runs exactly", () => {
    const words = ["日本", "ǅ", "e\u0301", "🙂🙃", "Ω"];
    const v = { d: JSON.parse(doc), t: Array.from({ length: 2000 }, (_, i) => words[i % 5] + i) };
    const text = JSON.stringify(v);
    assert.deepEqual(parseJson(enc.encode(text)), v);
  });

  it("parses long non-ASCII runs exactly", () => {
    for (const ch of ["日", "é", "😀"]) {
      const v = { d: JSON.parse(doc), long: ch.repeat(3000), k: [ch.repeat(40), "x" + ch] };
      assert.deepEqual(parseJson(enc.encode(JSON.stringify(v))), v);
    }
  });

  it("keeps limits and options exact on large byte input with non-ASCII strings", () => {
    const big = (tail: string) => enc.encode(`{"d":${doc},"t":${tail}}`);
    // maxStringLength counts UTF-16 code units of the value, not bytes or escapes.
    const limits = { maxStringLength: 10 };
    assert.equal(
      (parseJson(big(`"${"é".repeat(10)}"`), {
        limits: { ...limits, maxStringLength: 20_000 },
      }) as {
        t: string;
      }).t,
      "é".repeat(10),
    );
    const long = big(`["${"é".repeat(11)}"]`);
    const e1 = parseError(long, { limits: { maxStringLength: 10 } });
    assert.equal(e1.code, "LimitExceeded");
    assert.equal(e1.offset, long.lastIndexOf(0x22, long.length - 25));
    const ok = parseJson(big(`["${"😀".repeat(5)}"]`), { limits: { maxStringLength: 16_000 } });
    assert.deepEqual((ok as { t: string[] }).t, ["😀".repeat(5)]);
    // Lone surrogates are only ever escapes (UTF-8 cannot hold them) and keep their position.
    const lone = big(`["é", "\\ud800"]`);
    const e2 = parseError(lone, { rejectLoneSurrogates: true });
    assert.equal(e2.code, "LoneSurrogate");
    assert.equal(e2.offset, lone.lastIndexOf(0x22, lone.length - 4));
    assert.deepEqual(parseJson(lone), JSON.parse(new TextDecoder().decode(lone)));
    // Duplicate keys and big numbers leave the engine out, with or without non-ASCII.
    const dup = big(`{"é":1,"é":2}`);
    const e3 = parseError(dup, { rejectDuplicateKeys: true });
    assert.equal(e3.code, "DuplicateKey");
    assert.equal(e3.offset, enc.encode(`{"d":${doc},"t":{"é":1,`).length);
    const num = parseJson(big(`["é", 12345678901234567890]`), { bigNumbers: "bigint" });
    assert.equal((num as { t: unknown[] }).t[1], 12345678901234567890n);
  });

  it("rejects a backslash escaping a non-ASCII character", () => {
    const bad = enc.encode(`{"d":${doc},"k":"\\é"}`);
    const e = parseError(bad);
    assert.equal(e.code, "InvalidEscape");
    assert.equal(e.offset, bad.indexOf(0x5c, bad.length - 8));
  });

  it("rejects non-ASCII characters outside strings at their byte position", () => {
    for (const ch of ["\u00a0", "é", "\u2028", "😀"]) {
      const bytes = enc.encode(`[${doc},${ch}1]`);
      const e = parseError(bytes);
      assert.equal(e.code, "UnexpectedToken", ch);
      assert.equal(e.offset, enc.encode(`[${doc},`).length, ch);
    }
  });

  it("rejects invalid UTF-8 at the first bad byte, at the start, middle and end", () => {
    const bads = [
      [0xff],
      [0xc0, 0x80], // overlong
      [0xe0, 0x80, 0x80], // overlong
      [0xed, 0xa0, 0x80], // a surrogate
      [0xf4, 0x90, 0x80, 0x80], // beyond U+10FFFF
      [0x80], // a lone continuation byte
      [0xe6, 0x97], // truncated
      [0xf0, 0x9f, 0x98], // truncated
    ];
    for (const bad of bads) {
      for (const where of ["start", "middle", "end"]) {
        const prefix = enc.encode(
          where === "start" ? '["' : where === "middle" ? `[${doc},"x` : `[${doc},"é`,
        );
        const suffix = enc.encode(where === "end" ? "" : `",${doc}]`);
        const bytes = new Uint8Array(prefix.length + bad.length + suffix.length);
        bytes.set(prefix);
        bytes.set(bad, prefix.length);
        bytes.set(suffix, prefix.length + bad.length);
        for (let shift = 0; shift < 4; shift++) {
          const e = parseError(shifted(bytes, shift));
          assert.equal(e.code, "InvalidUtf8", `${bad} at the ${where}`);
          assert.equal(e.offset, prefix.length, `${bad} at the ${where}`);
          assert.equal(e.line, 1);
          assert.equal(e.column, prefix.length + 1);
        }
        if (where !== "end") {
          const v = parseJson(bytes, { replaceInvalidUtf8: true });
          assert.ok(JSON.stringify(v).includes("\ufffd"));
        }
      }
    }
  });

  it("agrees with the fatal decoder and JSON.parse on mutated documents (property)", () => {
    const piece = fc.oneof(
      fc.string({ unit: "grapheme", maxLength: 6 }),
      fc.string({ unit: "binary", maxLength: 4 }),
      fc.constantFrom("日本語", "é", "😀", "\\\\é", 'a\\"é'),
    );
    fc.assert(
      fc.property(
        fc.array(fc.tuple(piece, piece), { minLength: 1, maxLength: 8 }),
        fc.array(
          fc.tuple(
            fc.nat(),
            fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(0x5c, 0x22, 0x80, 0xc3)),
          ),
          { maxLength: 3 },
        ),
        fc.integer({ min: 0, max: 3 }),
        (pairs, edits, shift) => {
          const obj: Record<string, unknown> = { pad: doc.slice(0, 16_500) };
          for (const [k, v] of pairs) obj[k] = [v, { [v]: k }];
          const bytes = enc.encode(JSON.stringify(obj));
          // Edits land next to non-ASCII bytes, backslashes and quotes half of the time.
          const spots: number[] = [];
          bytes.forEach((x, i) => {
            if (x >= 0x80 || x === 0x5c || x === 0x22) spots.push(i - 1, i, i + 1);
          });
          for (const [at, b] of edits) {
            const i = at % 2 === 0 && spots.length > 0 ? spots[(at >> 1) % spots.length] : at;
            bytes[Math.max(0, i) % bytes.length] = b;
          }
          const ref = reference(bytes);
          const r = tryParseJson(shifted(bytes, shift));
          if (typeof ref === "object") {
            assert.equal(r.ok, true);
            assert.deepEqual((r as { value: JsonValue }).value, ref.value);
          } else {
            assert.equal(r.ok, false);
            const e = (r as { error: JsonParseError }).error;
            assert.equal(e.code === "InvalidUtf8", ref === "utf8", e.message);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("parseJson limit proofs from the input length", () => {
  // Each input is the shortest that breaks its limit: the proof must not skip the check there.
  it("enforces maxDepth on the shortest input deep enough", () => {
    for (let d = 0; d < 12; d++) {
      const over = "[".repeat(d + 1) + "]".repeat(d + 1);
      const at = "[".repeat(d) + "]".repeat(d);
      const limits = { maxDepth: d };
      assert.equal(parseError(over, { limits }).code, "LimitExceeded");
      assert.equal(parseError(enc.encode(over), { limits }).code, "LimitExceeded");
      if (d > 0) assert.deepEqual(parseJson(at, { limits }), JSON.parse(at));
      const objs = '{"":'.repeat(d + 1) + "0" + "}".repeat(d + 1);
      assert.equal(parseError(objs, { limits }).code, "LimitExceeded");
    }
  });

  it("enforces maxArrayLength on the shortest input long enough", () => {
    for (let m = 0; m < 12; m++) {
      const over = "[" + "0,".repeat(m) + "0]";
      const limits = { maxArrayLength: m };
      assert.equal(parseError(over, { limits }).code, "LimitExceeded", over);
      assert.equal(parseError(enc.encode(over), { limits }).code, "LimitExceeded", over);
      if (m > 0) {
        assert.equal(
          (parseJson("[" + "0,".repeat(m - 1) + "0]", { limits }) as unknown[]).length,
          m,
        );
      }
    }
  });

  it("enforces maxObjectKeys on short inputs", () => {
    for (let k = 0; k < 12; k++) {
      const keys = Array.from({ length: k + 1 }, (_, i) => `"${String.fromCharCode(97 + i)}":0`);
      const over = "{" + keys.join(",") + "}";
      const limits = { maxObjectKeys: k };
      assert.equal(parseError(over, { limits }).code, "LimitExceeded", over);
      assert.equal(parseError(enc.encode(over), { limits }).code, "LimitExceeded", over);
      const at = "{" + keys.slice(0, k).join(",") + "}";
      assert.deepEqual(parseJson(at, { limits }), JSON.parse(at));
    }
  });

  it("enforces every limit on a document just long enough for the defaults to need a walk", () => {
    // 2050 characters is the shortest input that can nest past the default maxDepth of 1024.
    const over = "[".repeat(1025) + "]".repeat(1025);
    assert.equal(parseError(over).code, "LimitExceeded");
    assert.equal(parseError(enc.encode(over)).code, "LimitExceeded");
    const ok = "[".repeat(1024) + "]".repeat(1024);
    assert.ok(Array.isArray(parseJson(ok)));
    assert.ok(Array.isArray(parseJson(enc.encode(ok))));
  });
});
