import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  JsonParseError,
  JsonRawNumber,
  JsonStringifyError,
  parseJson,
  stringifyJson,
  tryParseJson,
} from "../../parsers/json.ts";
import type { JsonValue } from "../../parsers/json.ts";
import { quoteJsonString } from "../../parsers/json_stringify.ts";

const enc = new TextEncoder();

/** A JSON value as parsing its text gives it back: -0 becomes 0 (JSON has no negative zero). */
function normalized(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(normalized);
  if (typeof v === "object" && v !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      Object.defineProperty(out, k, {
        value: normalized(x),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  }
  return Object.is(v, -0) ? 0 : v;
}

function parseError(input: string | Uint8Array, options?: Parameters<typeof parseJson>[1]) {
  const r = tryParseJson(input, options);
  assert.equal(r.ok, false, `expected an error for ${String(input).slice(0, 60)}`);
  return (r as { ok: false; error: JsonParseError }).error;
}

const VALID = [
  "0",
  "-0",
  "1.5e+10",
  "1E-2",
  "-12.25",
  '""',
  '"\\u00e9\\ud83d\\ude00"',
  "true",
  "false",
  "null",
  "[]",
  "{}",
  ' [1, {"a": [null]}] ',
  '{"__proto__": 1}',
  '{"a":1,"a":2}',
  "\t\r\n 1",
  '"\u2028"',
  '"\\/"',
  "1e400",
  "123456789012345678901234567890",
];
const INVALID = [
  "",
  " ",
  "01",
  "-",
  "+1",
  "1.",
  ".5",
  "1e",
  "1e+",
  "0x10",
  "NaN",
  "Infinity",
  "tru",
  "nul",
  "[1,]",
  "[,1]",
  '{"a":1,}',
  "{a:1}",
  "{'a':1}",
  '"\\x41"',
  '"\\u12"',
  '"a\nb"',
  '"\t"',
  "[1 2]",
  "1 2",
  "[",
  "{",
  '{"a"',
  '{"a":',
  '"abc',
  "[1]]",
  "\u00a01",
  "\ufeff1",
  "//c\n1",
  "[1,2",
];

describe("parseJson", () => {
  it("accepts exactly what JSON.parse accepts, with the same value", () => {
    for (const t of VALID) assert.deepEqual(parseJson(t), JSON.parse(t), t);
    for (const t of INVALID) {
      assert.throws(() => JSON.parse(t));
      assert.ok(parseError(t) instanceof JsonParseError, t);
    }
  });

  it("agrees with JSON.parse on random and mutated text (property)", () => {
    const chars = fc.constantFrom(...'{}[]:,"\\ 0123456789.eE+-truefalsn\nu\u00e9abc');
    fc.assert(
      fc.property(fc.array(chars, { maxLength: 40 }).map((a) => a.join("")), (t) => {
        let expected: unknown;
        let ok = true;
        try {
          expected = JSON.parse(t);
        } catch {
          ok = false;
        }
        const r = tryParseJson(t);
        assert.equal(r.ok, ok, t);
        if (ok && r.ok) assert.deepEqual(r.value, expected);
        // The exact parser must agree as well.
        const r2 = tryParseJson(t, { rejectDuplicateKeys: true });
        if (!ok) assert.equal(r2.ok, false, t);
      }),
      { numRuns: 2000 },
    );
  });

  it("round-trips generated values through stringify (property)", () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.boolean(), fc.integer({ min: 0, max: 4 }), (v, sort, ind) => {
        const text = stringifyJson(v as JsonValue, { sortKeys: sort, indent: ind });
        // The expected value is built without the engine's JSON.parse, whose key bug (V8 15,
        // see below) would make the expectation wrong, not the parser.
        const expected = normalized(v);
        assert.deepEqual(parseJson(text), expected);
        assert.deepEqual(parseJson(enc.encode(text)), expected);
        assert.deepEqual(parseJson(text, { rejectDuplicateKeys: true }), expected);
      }),
      { numRuns: 300 },
    );
  });

  it("reports line, column and offset", () => {
    const e = parseError('{\n  "a": tru\n}');
    assert.equal(e.code, "UnexpectedToken");
    assert.equal(e.line, 2);
    assert.equal(e.column, 11);
    assert.equal(e.offset, 12);
    assert.match(e.message, /line 2, column 11/);
    const end = parseError("[1, 2");
    assert.equal(end.code, "UnexpectedEnd");
    assert.equal(end.offset, 5);
    assert.equal(parseError("1 2").code, "TrailingData");
    assert.equal(parseError('"a\\qb"').code, "InvalidEscape");
    assert.equal(parseError('"a\u0001"').code, "InvalidString");
    assert.equal(parseError("-a").code, "InvalidNumber");
  });

  it("reports byte offsets for byte input", () => {
    const e = parseError(enc.encode('["é", x]'));
    assert.equal(e.offset, 7); // é is two bytes
    assert.equal(e.column, 8);
  });

  it("rejects invalid UTF-8 unless asked to replace it", () => {
    const bad = Uint8Array.from([0x5b, 0x22, 0x61, 0xc3, 0x28, 0x22, 0x5d]);
    const e = parseError(bad);
    assert.equal(e.code, "InvalidUtf8");
    assert.equal(e.offset, 3);
    assert.deepEqual(parseJson(bad, { replaceInvalidUtf8: true }), ["a\ufffd("]);
    for (const seq of [[0xed, 0xa0, 0x80], [0xc0, 0x80], [0xf5, 0x80, 0x80, 0x80], [0xe2, 0x82]]) {
      const b = Uint8Array.from([0x22, ...seq, 0x22]);
      assert.equal(parseError(b).code, "InvalidUtf8", seq.join(","));
    }
    assert.deepEqual(parseJson(enc.encode('"😀"')), "😀");
  });

  it("reports byte offsets of the input when invalid UTF-8 is replaced", () => {
    // Each case: bytes before "x" (which is the error), as TextDecoder replaces them.
    const cases = [
      [0xff, 0xff], // two invalid bytes: two U+FFFD, one byte each
      [0xe0, 0x80], // E0 needs A0..BF next: two U+FFFD
      [0xed, 0xa0, 0x80], // an encoded surrogate: three U+FFFD
      [0xf0, 0x9f, 0x98], // a truncated four-byte character: one U+FFFD for three bytes
      [0xc0, 0xaf], // an overlong: two U+FFFD
      [0xf0, 0x9f, 0x98, 0x80, 0xc3], // an emoji (a surrogate pair), then a cut-off "é"
    ];
    for (const seq of cases) {
      const b = Uint8Array.from([0x5b, 0x22, ...seq, 0x22, 0x2c, 0x0a, 0x20, 0x78, 0x5d]);
      const e = parseError(b, { replaceInvalidUtf8: true });
      assert.equal(e.code, "UnexpectedToken", seq.join(","));
      assert.deepEqual([e.offset, e.line, e.column], [seq.length + 6, 2, 2], seq.join(","));
    }
  });

  it("enforces maxArrayLength and maxObjectKeys of zero on large inputs", () => {
    const pad = "x".repeat(5 * 1024 * 1024);
    const arr = parseError(`["${pad}"]`, { limits: { maxArrayLength: 0 } });
    assert.deepEqual([arr.code, arr.offset], ["LimitExceeded", 1]);
    const obj = parseError(`{"a": "${pad}"}`, { limits: { maxObjectKeys: 0 } });
    assert.deepEqual([obj.code, obj.offset], ["LimitExceeded", 1]);
    assert.deepEqual(
      parseJson(`[[], {}, "${pad.slice(0, 3)}"]`.padEnd(5 * 1024 * 1024 + 10), {
        limits: { maxArrayLength: 3, maxObjectKeys: 0 },
      }),
      [[], {}, "xxx"],
    );
  });

  it("rejects duplicate keys and lone surrogates when asked", () => {
    const e = parseError('{"a":1,\n "a":2}', { rejectDuplicateKeys: true });
    assert.equal(e.code, "DuplicateKey");
    assert.equal(e.line, 2);
    assert.equal(e.column, 2);
    assert.deepEqual(parseJson('{"a":1,"a":2}'), { a: 2 });
    assert.equal(parseError('["\\ud800"]', { rejectLoneSurrogates: true }).code, "LoneSurrogate");
    assert.equal(parseError('{"\\udc00":1}', { rejectLoneSurrogates: true }).code, "LoneSurrogate");
    assert.equal(parseJson('"\\ud83d\\ude00"', { rejectLoneSurrogates: true }), "😀");
    assert.equal(parseJson('"\\ud800"'), "\ud800");
  });

  it("keeps __proto__ as an own key", () => {
    for (const opts of [{}, { rejectDuplicateKeys: true }]) {
      const v = parseJson('{"__proto__": {"x": 1}}', opts) as Record<string, unknown>;
      assert.equal(Object.getPrototypeOf(v), Object.prototype);
      assert.deepEqual(Object.keys(v), ["__proto__"]);
    }
  });

  it("enforces each limit with code LimitExceeded and a position", () => {
    const cases: [string, Parameters<typeof parseJson>[1], number][] = [
      ["[[[1]]]", { limits: { maxDepth: 2 } }, 2],
      ['["abcdef"]', { limits: { maxStringLength: 5 } }, 1],
      ['["ab\\n\\ncd"]', { limits: { maxStringLength: 5 } }, 1],
      ['{"abcdef":1}', { limits: { maxStringLength: 5 } }, 1],
      ["[1,2,3,4]", { limits: { maxArrayLength: 3 } }, 7],
      ['{"a":1,"b":2,"c":3}', { limits: { maxObjectKeys: 2 } }, 13],
      ["[1,2,3]", { limits: { maxBytes: 4 } }, 4],
    ];
    for (const [text, opts, offset] of cases) {
      const e = parseError(text, opts);
      assert.equal(e.code, "LimitExceeded", text);
      assert.equal(e.offset, offset, text);
      // At the limit passes.
    }
    assert.deepEqual(parseJson("[[1]]", { limits: { maxDepth: 2 } }), [[1]]);
    assert.deepEqual(parseJson("[1,2,3]", { limits: { maxArrayLength: 3 } }), [1, 2, 3]);
    assert.deepEqual(parseJson('"ab\\ncd"', { limits: { maxStringLength: 5 } }), "ab\ncd");
    assert.equal(
      parseError(enc.encode("[1,2,3]"), { limits: { maxBytes: 4 } }).code,
      "LimitExceeded",
    );
  });

  it("counts a repeated key once against maxObjectKeys, on every parsing path", () => {
    const limits = { maxObjectKeys: 2 };
    const dup = '{"a":1,"b":2,"a":3}';
    // The engine with the walk after it; the exact parser (big numbers keep the engine out);
    // a large input, whose pre-scan counts members and hands over to the exact parser.
    assert.deepEqual(parseJson(dup, { limits }), { a: 3, b: 2 });
    assert.deepEqual(parseJson(dup, { limits, bigNumbers: "bigint" }), { a: 3, b: 2 });
    assert.deepEqual(parseJson(enc.encode(dup), { limits }), { a: 3, b: 2 });
    const large = " ".repeat(5 * 1024 * 1024) + dup;
    assert.deepEqual(parseJson(large, { limits }), { a: 3, b: 2 });
    // A third distinct key still breaks the limit, at its own position, on each path.
    const third = '{"a":1,"a":2,"b":3,"c":4}';
    assert.equal(parseError(third, { limits }).offset, 19);
    assert.equal(parseError(third, { limits, bigNumbers: "text" }).offset, 19);
    assert.equal(parseError(" ".repeat(5 * 1024 * 1024) + third, { limits }).offset, 5242899);
  });

  it("enforces depth, array and object limits exactly on small inputs (property)", () => {
    const fits = (v: unknown, depth: number, l: Record<string, number>): boolean => {
      if (typeof v === "string") return v.length <= l.maxStringLength;
      if (typeof v !== "object" || v === null) return true;
      if (depth >= l.maxDepth) return false;
      const items = Array.isArray(v) ? v : Object.values(v);
      if (items.length > (Array.isArray(v) ? l.maxArrayLength : l.maxObjectKeys)) return false;
      if (!Array.isArray(v) && Object.keys(v).some((k) => k.length > l.maxStringLength)) {
        return false;
      }
      return items.every((x) => fits(x, depth + 1, l));
    };
    // Number runs followed by containers exercise the walk's skipping of numbers.
    const { value } = fc.letrec((tie) => ({
      value: fc.oneof(
        { depthSize: "small" },
        fc.jsonValue({ maxDepth: 3 }),
        fc.tuple(fc.array(fc.double({ noNaN: true, noDefaultInfinity: true })), tie("value"))
          .map(([nums, x]) => [...nums, x]),
        fc.dictionary(fc.string({ maxLength: 3 }), tie("value"), { maxKeys: 6 }),
      ),
    }));
    const limits = fc.record({
      maxDepth: fc.integer({ min: 1, max: 6 }),
      maxArrayLength: fc.integer({ min: 0, max: 8 }),
      maxObjectKeys: fc.integer({ min: 0, max: 6 }),
      maxStringLength: fc.integer({ min: 0, max: 12 }),
    });
    fc.assert(
      fc.property(value, limits, (v, l) => {
        const text = JSON.stringify(v);
        const r = tryParseJson(text, { limits: l });
        assert.equal(r.ok, fits(JSON.parse(text), 0, l), text);
        if (!r.ok) assert.equal(r.error.code, "LimitExceeded");
        assert.equal(tryParseJson(enc.encode(text), { limits: l }).ok, r.ok);
      }),
      { numRuns: 1000 },
    );
  });

  it("enforces limits on large inputs through the pre-scan, and survives deep nesting", () => {
    const big = "[" + "1,".repeat(2_200_000) + "1]"; // beyond the post-check size
    const e = parseError(big);
    assert.equal(e.code, "LimitExceeded");
    assert.equal(e.offset, 2_000_001);
    const deep = "[".repeat(100_000) + "]".repeat(100_000);
    assert.equal(parseError(deep).code, "LimitExceeded");
    const v = parseJson(deep, { limits: { maxDepth: 200_000 } });
    assert.ok(Array.isArray(v));
    const bigDeep = " ".repeat(5 * 1024 * 1024) + "[".repeat(2000) + "]".repeat(2000);
    assert.equal(parseError(bigDeep, { limits: { maxBytes: 1e8 } }).code, "LimitExceeded");
  });

  it("keeps big numbers exact when asked", () => {
    const src =
      "[12345678901234567890, -9007199254740993, 1, 0.5, 1e400, 0.1000000000000000000001]";
    const b = parseJson(src.replace(/, 1e400.*\]/, "]"), { bigNumbers: "bigint" }) as JsonValue[];
    assert.deepEqual(b, [12345678901234567890n, -9007199254740993n, 1, 0.5]);
    assert.equal(parseError("[1e400]", { bigNumbers: "bigint" }).code, "NumberPrecision");
    const t = parseJson(src, { bigNumbers: "text" }) as JsonValue[];
    assert.ok(t[0] instanceof JsonRawNumber);
    assert.equal((t[4] as JsonRawNumber).text, "1e400");
    assert.equal((t[5] as JsonRawNumber).text, "0.1000000000000000000001");
    assert.equal(t[3], 0.5);
    assert.equal(
      stringifyJson(t),
      "[12345678901234567890,-9007199254740993,1,0.5,1e400,0.1000000000000000000001]",
    );
    assert.equal(stringifyJson(b), "[12345678901234567890,-9007199254740993,1,0.5]");
    assert.throws(() => JSON.stringify(t), TypeError);
  });

  it("keeps integers beyond 2^53 exact when written with an exponent or a fraction", () => {
    // 1e23 as a double is 99999999999999991611392: kept exact like 100000000000000000000000.
    const big = "[1e23, 1.5e16, 100000000000000000000000.0, -2E+20, 2.5e1, 1e2, 0.5e1]";
    assert.deepEqual(parseJson(big, { bigNumbers: "bigint" }), [
      10n ** 23n,
      15000000000000000n,
      10n ** 23n,
      -2n * 10n ** 20n,
      25,
      100,
      5,
    ]);
    const t = parseJson(big, { bigNumbers: "text" }) as JsonValue[];
    assert.deepEqual(t.slice(0, 4).map((v) => (v as JsonRawNumber).text), [
      "1e23",
      "1.5e16",
      "100000000000000000000000.0",
      "-2E+20",
    ]);
    assert.deepEqual(t.slice(4), [25, 100, 5]);
    // Not an integer: the double would round it.
    assert.equal(
      parseError("9007199254740993.5", { bigNumbers: "bigint" }).code,
      "NumberPrecision",
    );
  });
});

describe("stringifyJson", () => {
  it("matches JSON.stringify where it can", () => {
    const v = { b: [1, 'x\n"', null, { c: true }], a: {}, e: [], u: undefined, f: 1.5e-7 };
    assert.equal(stringifyJson(v as never), JSON.stringify(v));
    assert.equal(stringifyJson(v as never, { indent: 2 }), JSON.stringify(v, null, 2));
    assert.equal(stringifyJson(v as never, { indent: "\t" }), JSON.stringify(v, null, "\t"));
    assert.equal(stringifyJson([NaN, undefined] as never, { indent: 1 }), "[\n null,\n null\n]");
    assert.equal(stringifyJson("\ud800", { indent: 1 }), JSON.stringify("\ud800"));
  });

  it("quotes a string as JSON.stringify does, escapes and lone surrogates included", () => {
    for (const s of ["", "plain", 'say "hi"', "back\\slash", "tab\tnl\n\u0000\u001f", "é€😀"]) {
      assert.equal(quoteJsonString(s), JSON.stringify(s));
    }
    assert.equal(quoteJsonString("\ud800x\udc00"), '"\\ud800x\\udc00"');
    fc.assert(
      fc.property(fc.string({ unit: fc.nat(0xffff).map((c) => String.fromCharCode(c)) }), (s) => {
        assert.equal(quoteJsonString(s), JSON.stringify(s));
      }),
      { numRuns: 1000 },
    );
  });

  it("sorts keys at every level", () => {
    const v = { b: 1, a: { d: 1, c: [{ z: 1, y: 2 }] } };
    assert.equal(stringifyJson(v, { sortKeys: true }), '{"a":{"c":[{"y":2,"z":1}],"d":1},"b":1}');
  });

  it("writes exactly what a plain recursive writer writes (property)", () => {
    // The reference: sorted keys in code-unit order, JSON.stringify's own indentation rules.
    const ref = (v: unknown, sort: boolean, unit: string, ind: string): string | undefined => {
      if (typeof v === "bigint") return v.toString();
      if (v instanceof JsonRawNumber) return v.text;
      if (typeof v !== "object" || v === null) return JSON.stringify(v);
      const inner = ind + unit;
      const nl = unit === "" ? "" : "\n";
      if (Array.isArray(v)) {
        if (v.length === 0) return "[]";
        const items = v.map((x) => nl + inner + (ref(x, sort, unit, inner) ?? "null"));
        return "[" + items.join(",") + nl + ind + "]";
      }
      const keys = Object.keys(v);
      if (sort) keys.sort();
      const items: string[] = [];
      for (const k of keys) {
        const s = ref((v as Record<string, unknown>)[k], sort, unit, inner);
        if (s !== undefined) items.push(nl + inner + JSON.stringify(k) + (nl ? ": " : ":") + s);
      }
      return items.length === 0 ? "{}" : "{" + items.join(",") + nl + ind + "}";
    };
    const key = fc.oneof(fc.string({ maxLength: 3 }), fc.constantFrom("0", "10", "9", "__proto__"));
    const leaf = fc.oneof(
      fc.double(),
      fc.integer(),
      fc.string({ maxLength: 4 }),
      fc.boolean(),
      fc.constant(null),
      fc.constant(undefined),
      fc.bigInt().map((b) => b * 10n ** 20n),
      fc.constant(new JsonRawNumber("1e400")),
    );
    const { tree } = fc.letrec((tie) => ({
      tree: fc.oneof({ depthSize: "small" }, leaf, tie("arr"), tie("obj")),
      arr: fc.array(tie("tree"), { maxLength: 5 }),
      obj: fc.array(fc.tuple(key, tie("tree")), { maxLength: 5 }).map((entries) => {
        const o: Record<string, unknown> = {};
        for (const [k, x] of entries) {
          Object.defineProperty(o, k, { value: x, enumerable: true, writable: true });
        }
        return o;
      }),
    }));
    // Deep chains exercise the switch between the engine's writer and ours.
    const deep = fc.tuple(tree, fc.integer({ min: 0, max: 120 })).map(([t, d]) => {
      let v = t;
      for (let i = 0; i < d; i++) {
        v = i % 3 === 0 ? [v, 1] : i % 3 === 1 ? { b: v, a: 2 } : { k: v };
      }
      return v;
    });
    fc.assert(
      fc.property(
        fc.oneof(tree, deep),
        fc.boolean(),
        fc.constantFrom(0, 1, 2, "\t"),
        (v, sort, i) => {
          fc.pre(v !== undefined); // a top-level undefined is an error of its own
          const unit = typeof i === "number" ? " ".repeat(i) : i;
          assert.equal(
            stringifyJson(v as JsonValue, { sortKeys: sort, indent: i }),
            ref(v, sort, unit, ""),
          );
        },
      ),
      { numRuns: 1000 },
    );
  });

  it("keeps toJSON, prototypes and cycles below the engine's fast path", () => {
    class Point {
      constructor(readonly x: number, readonly y: number) {}
    }
    const withToJson = { b: { toJSON: () => ({ z: 1, y: 2 }) }, a: [new Date(0)] };
    assert.equal(
      stringifyJson(withToJson as never, { sortKeys: true }),
      '{"a":["1970-01-01T00:00:00.000Z"],"b":{"y":2,"z":1}}',
    );
    assert.equal(
      stringifyJson([new Point(1, 2)] as never, { indent: 1 }),
      '[\n {\n  "x": 1,\n  "y": 2\n }\n]',
    );
    // An array's own toJSON: its result is sorted and may hold big numbers like any value.
    const arr = Object.assign([1], { toJSON: () => ({ z: [10n ** 20n], y: 2 }) });
    assert.equal(
      stringifyJson({ x: arr } as never, { sortKeys: true }),
      '{"x":{"y":2,"z":[100000000000000000000]}}',
    );
    assert.equal(stringifyJson({ x: arr } as never), '{"x":{"z":[100000000000000000000],"y":2}}');
    assert.equal(
      stringifyJson({ x: arr } as never, { indent: 1, sortKeys: true }),
      '{\n "x": {\n  "y": 2,\n  "z": [\n   100000000000000000000\n  ]\n }\n}',
    );
    // What a toJSON returns is written without calling its own toJSON, as JSON.stringify does.
    const selfish = [
      {
        toJSON() {
          return this;
        },
      },
      {
        a: 1,
        toJSON() {
          return { ...this, b: 2 };
        },
      },
      { toJSON: () => new Date(0) },
      [{
        x: {
          toJSON() {
            return this;
          },
          y: 1,
        },
      }],
    ];
    for (const v of selfish) {
      for (const opts of [{ sortKeys: true }, { sortKeys: true, indent: 1 }]) {
        assert.equal(stringifyJson(v as never, opts), JSON.stringify(v, null, opts.indent));
      }
    }
    let deepSelf: unknown = {
      toJSON() {
        return this;
      },
    };
    for (let i = 0; i < 100; i++) deepSelf = [deepSelf];
    assert.equal(
      stringifyJson(deepSelf as never, { indent: 1 }),
      JSON.stringify(deepSelf, null, 1),
    );
    const inner: unknown[] = [1];
    const outer = { a: [[inner]], b: 2 };
    inner.push(outer);
    assert.throws(() => stringifyJson(outer as never, { sortKeys: true }), JsonStringifyError);
    let chain: unknown = [];
    const bottom = chain as unknown[];
    for (let i = 0; i < 200; i++) chain = { k: chain };
    bottom.push(chain);
    assert.throws(() => stringifyJson(chain as never, { indent: 2 }), JsonStringifyError);
  });

  it("pretty prints values deeper than the engine's writer is used for exactly like it", () => {
    // The first path runs 150 levels deep, so our writer (not JSON.stringify) does the work:
    // members JSON omits sit first, in the middle and last; arrays hold holes it writes as null.
    let v: unknown = { last: [1, "x", null, true, -0, 1e21, "\u2028\ud800"], z: undefined };
    for (let i = 0; i < 150; i++) {
      v = i % 2 === 0
        ? { u: undefined, k: v, f: () => 1, n: i, s: Symbol("s") }
        : [v, undefined, { toJSON: () => ({ t: i }) }, new Date(0), [], {}];
    }
    for (const indent of [1, 2, "\t", "abcdefghijkl"]) {
      assert.equal(stringifyJson(v as never, { indent }), JSON.stringify(v, null, indent));
    }
    const sorted = stringifyJson(v as never, { indent: 2, sortKeys: true });
    assert.deepEqual(JSON.parse(sorted), JSON.parse(JSON.stringify(v)));
    assert.ok(sorted.indexOf('"f"') < 0 && sorted.indexOf('"k"') < sorted.indexOf('"n"'));
    // bigint and raw numbers deep down, where JSON.stringify would throw.
    let b: JsonValue = [12345678901234567890n, new JsonRawNumber("1.000000000000000000001")];
    for (let i = 0; i < 100; i++) b = { a: b };
    const text = stringifyJson(b, { indent: 1 });
    assert.ok(text.includes("\n" + " ".repeat(101) + "12345678901234567890,\n"));
    assert.ok(text.includes(" ".repeat(101) + "1.000000000000000000001\n"));
    // A cycle deep down is a typed error, not a stack overflow.
    const chain: Record<string, unknown> = {};
    let at = chain;
    for (let i = 0; i < 100; i++) at = (at.k = {}) as Record<string, unknown>;
    at.k = chain;
    assert.throws(() => stringifyJson(chain as never, { indent: 2 }), JsonStringifyError);
  });

  it("calls toJSON with its key, as JSON.stringify does, on every writer", () => {
    class Keyed {
      toJSON(key: string): string {
        return `key:${key}`;
      }
    }
    let deep: unknown = { d: new Keyed() };
    for (let i = 0; i < 100; i++) deep = [deep];
    const v = { b: new Keyed(), a: [new Keyed(), new Keyed()], c: { d: new Keyed() }, deep };
    for (const indent of [0, 2]) {
      const expected = JSON.parse(JSON.stringify(v, null, indent));
      for (const sortKeys of [false, true]) {
        const text = stringifyJson(v as unknown as JsonValue, { indent, sortKeys });
        assert.deepEqual(JSON.parse(text), expected, `indent ${indent}, sortKeys ${sortKeys}`);
      }
    }
  });

  it("writes new Number, new String and new Boolean as their values, as JSON.stringify does", () => {
    const v = {
      n: new Number(3),
      s: new String("x"),
      b: new Boolean(false),
      a: [new Number(1)],
    };
    let deep: unknown = v;
    for (let i = 0; i < 80; i++) deep = [deep];
    for (const x of [v, deep]) {
      const expected = JSON.parse(JSON.stringify(x));
      for (
        const options of [{}, { sortKeys: true }, { indent: 2 }, { indent: 2, sortKeys: true }]
      ) {
        assert.deepEqual(JSON.parse(stringifyJson(x as JsonValue, options)), expected);
      }
    }
  });

  it("is linear on deep nesting and throws typed errors on cycles", () => {
    let v: JsonValue = 1;
    for (let i = 0; i < 600; i++) v = { k: [v] };
    const s = stringifyJson(v, { indent: 2 });
    // Compared as text: node:assert's recursive deepEqual can overflow the stack at 1,200 levels.
    assert.equal(JSON.stringify(parseJson(s, { limits: { maxDepth: 7000 } })), JSON.stringify(v));
    let deep: JsonValue = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    assert.throws(() => stringifyJson(deep, { indent: 1 }), JsonStringifyError);
    const a: unknown[] = [];
    a.push(a);
    assert.throws(() => stringifyJson(a as JsonValue), JsonStringifyError);
    assert.throws(() => stringifyJson(a as JsonValue, { indent: 1 }), JsonStringifyError);
  });
});

describe("parseJson and the engine's key bug", () => {
  it("keys holding escapes keep their spelling after an earlier key with an escaped backslash", () => {
    // V8 15 (Deno 2.9.6): JSON.parse gives the second key the spelling of the first.
    JSON.parse('{"x":1,"\\\\":2}');
    for (const key of ['\\"', "\\n", "\\/", "\\u0041", "\\t"]) {
      const text = `{"x":1,"${key}":2}`;
      assert.deepEqual(Object.keys(parseJson(text) as object), ["x", JSON.parse(`"${key}"`)]);
      assert.deepEqual(Object.keys(parseJson(enc.encode(text)) as object), [
        "x",
        JSON.parse(`"${key}"`),
      ]);
    }
    // Strings with escapes that are values, not keys, still take the fast path and parse right.
    assert.deepEqual(parseJson('{"a":"line\\nbreak","b":["\\"q\\""]}'), {
      a: "line\nbreak",
      b: ['"q"'],
    });
  });
});
