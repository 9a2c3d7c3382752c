import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { JsonParseError, parseJson, stringifyJson, tryParseJson } from "../../parsers/json.ts";
import type { JsonValue } from "../../parsers/json.ts";
import { JsonStreamParser } from "../../parsers/json_stream.ts";
import type {
  JsonStreamItem,
  JsonStreamOptions,
  JsonStreamToken,
} from "../../parsers/json_stream.ts";

function feed(chunks: (string | Uint8Array)[], options?: JsonStreamOptions): JsonStreamItem[] {
  const p = new JsonStreamParser(options);
  const out: JsonStreamItem[] = [];
  for (const c of chunks) out.push(...p.write(c));
  out.push(...p.end());
  return out;
}

function split<T extends string | Uint8Array>(whole: T, cuts: number[]): T[] {
  const points = [
    0,
    ...cuts.map((c) => c % (whole.length + 1)).sort((a, b) => a - b),
    whole.length,
  ];
  const out: T[] = [];
  for (let k = 0; k + 1 < points.length; k++) out.push(whole.slice(points[k], points[k + 1]) as T);
  return out;
}

describe("JsonStreamParser", () => {
  it("emits the elements of a top-level array, and object members with their keys", () => {
    assert.deepEqual(feed(['[{"a": 1}, {"a"', ': 2}, "x\\', '"y", 3', "]"]).map((i) => i.value), [
      { a: 1 },
      { a: 2 },
      'x"y',
      3,
    ]);
    assert.deepEqual(feed(['{"a": [1], "b": 2}']), [{ value: [1], key: "a" }, {
      value: 2,
      key: "b",
    }]);
    assert.deepEqual(feed(["[[1,[2]],[3]]"], { depth: 2 }).map((i) => i.value), [1, [2], 3]);
    assert.deepEqual(feed(["[]"]), []);
    assert.deepEqual(feed(["5"]), []);
  });

  it("reads NDJSON and concatenated values at depth 0", () => {
    const items = feed(['1 {"a":[1]}\n"s"\r\n', "2"], { depth: 0 });
    assert.deepEqual(items.map((i) => i.value), [1, { a: [1] }, "s", 2]);
    assert.deepEqual(items.map((i) => i.key), [0, 1, 2, 3]);
  });

  it("reads whole NDJSON lines as the character-by-character scan does: values, errors, limits", () => {
    // One character per write never holds a whole line, so it takes the scan for every value:
    // the reference the whole-line path must match, in values, keys, tokens and errors.
    const outcome = (chunks: string[], options: JsonStreamOptions) => {
      const tokens: JsonStreamToken[] = [];
      try {
        const items = feed(chunks, { ...options, depth: 0, onToken: (t) => tokens.push(t) });
        return { items, tokens };
      } catch (e) {
        assert.ok(e instanceof JsonParseError, String(e));
        return { error: [e.code, e.offset, e.line, e.column], tokens };
      }
    };
    const same = (text: string, options: JsonStreamOptions = {}) =>
      assert.deepEqual(outcome([text], options), outcome([...text], options), JSON.stringify(text));
    const good = Array.from({ length: 40 }, (_, k) => `{"n":${k},"s":"a\\"b","a":[1,[2]]}`);
    same(good.join("\n") + "\n");
    same(good.join("\r\n"));
    same(good.join("\r") + "\n1 2\n[\n3]\n" + good.join("\n"));
    // A bad line early, in the middle, and after lines that were read whole.
    for (const at of [0, 5, 39]) {
      const lines = [...good];
      lines[at] = '{"n": tru}';
      same(lines.join("\n"));
      lines[at] = '{"n": 1} x';
      same(lines.join("\n"));
    }
    // Limits of one-line values, each placed on the line that breaks it.
    const deep = [...good.slice(0, 3), "[[[[1]]]]", ...good.slice(3)].join("\n");
    for (
      const limits of [
        { maxDepth: 3 },
        { maxArrayLength: 1 },
        { maxStringLength: 2 },
        { maxObjectKeys: 2 },
        { maxBytes: 20 },
      ]
    ) same(deep, { limits });
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.jsonValue(), fc.constant("bad")), { maxLength: 8 }),
        fc.constantFrom("\n", "\r\n", " \n"),
        (values, eol) => {
          const text = values.map((v) =>
            v === "bad" ? "[1,]" : stringifyJson(v as JsonValue, { indent: v === 0 ? 2 : 0 })
          ).join(eol);
          same(text);
        },
      ),
      { numRuns: 200 },
    );
  });

  it("gives parseJson's values for chunks split anywhere, text or bytes (property)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.jsonValue(), { maxLength: 5 }),
        fc.array(fc.nat(), { maxLength: 6 }),
        fc.boolean(),
        (values, cuts, bytes) => {
          const text = stringifyJson(values as JsonValue[], { indent: cuts.length % 3 });
          const expected = parseJson(text) as JsonValue[];
          const chunks = bytes ? split(new TextEncoder().encode(text), cuts) : split(text, cuts);
          assert.deepEqual(feed(chunks).map((i) => i.value), expected);
          const nd = values.map((v) => stringifyJson(v as JsonValue)).join("\n");
          assert.deepEqual(feed(split(nd, cuts), { depth: 0 }).map((i) => i.value), expected);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("rejects what parseJson rejects, only with JsonParseError (fuzz)", () => {
    const chars = fc.constantFrom(...'{}[]:,"\\ 0123456789.e-truefalsn\nu');
    fc.assert(
      fc.property(
        fc.array(chars, { maxLength: 30 }).map((a) => a.join("")),
        fc.array(fc.nat(), { maxLength: 3 }),
        (t, cuts) => {
          let ok = true;
          try {
            feed(split(t, cuts));
          } catch (e) {
            if (!(e instanceof JsonParseError)) throw e;
            ok = false;
          }
          if (ok) assert.ok(tryParseJson(t).ok, t);
          else if (!/^\s*\[/.test(t) || t.trim() !== "") {
            // Anything parseJson accepts, the stream accepts too.
            assert.equal(
              tryParseJson(t).ok && /^\s*[[{]/.test(t) ? "accepted" : "rejected",
              "rejected",
              t,
            );
          }
        },
      ),
      { numRuns: 1500 },
    );
  });

  it("reports positions across chunks", () => {
    const p = new JsonStreamParser();
    p.write('[1,\n {"a": 1},\n');
    assert.throws(() => p.write(' {"b": tru}]'), (e: unknown) => {
      assert.ok(e instanceof JsonParseError);
      assert.equal(e.code, "UnexpectedToken");
      assert.equal(e.line, 3);
      assert.equal(e.column, 11);
      assert.equal(e.offset, 25);
      return true;
    });
    assert.throws(() => p.write("x"), JsonParseError);
    assert.throws(
      () => feed(["[1,2"]),
      (e: unknown) => e instanceof JsonParseError && e.code === "UnexpectedEnd",
    );
    assert.throws(
      () => feed(["[1] 2"]),
      (e: unknown) => e instanceof JsonParseError && e.code === "TrailingData",
    );
    assert.throws(
      () => feed([Uint8Array.from([0x5b, 0xff, 0x5d])]),
      (e: unknown) => e instanceof JsonParseError && e.code === "InvalidUtf8",
    );
  });

  it("counts lines like parseJson: a lone carriage return ends a line, CR LF once", () => {
    for (
      const doc of [
        "[1,\r2,\rx]",
        "[1,\r\n2,\r\nx]",
        "[[1,\r2,\rx]]",
        '{"a":1,\r"b":\r\n\rx}',
        // Many values on long lines (the remembered line feed), then lines of one value each.
        `[${"1,".repeat(40)}\n${'{"a":[2]},'.repeat(30)}\n3,\n4,\n x]`,
      ]
    ) {
      const e = tryParseJson(doc);
      assert.ok(!e.ok);
      for (let cut = 0; cut <= doc.length; cut++) {
        assert.throws(() => feed([doc.slice(0, cut), doc.slice(cut)]), (got: unknown) => {
          assert.ok(got instanceof JsonParseError);
          assert.deepEqual(
            [got.offset, got.line, got.column],
            [e.error.offset, e.error.line, e.error.column],
            `${JSON.stringify(doc)} cut at ${cut}`,
          );
          return true;
        });
      }
    }
  });

  it("reports an error inside a value the stream ends in, or a cut-short scalar, like parseJson", () => {
    const cases: [string, number][] = [
      ["[0-l t", 0],
      ['[{"a": tru, "b": [', 0],
      ['["ab\\u00zz', 0],
      ["[[1,]", 0],
      ["[-]", 1],
      ["[1, tru,2]", 1],
      ["[1.]", 1],
      ["[2e ]", 1],
      ["-", 0],
    ];
    for (const [doc, depth] of cases) {
      const e = tryParseJson(doc);
      assert.ok(!e.ok);
      assert.throws(() => feed([doc], { depth }), (got: unknown) => {
        assert.ok(got instanceof JsonParseError);
        assert.deepEqual(
          [got.code, got.offset, got.line, got.column],
          [e.error.code, e.error.offset, e.error.line, e.error.column],
          doc,
        );
        return true;
      });
    }
  });

  it("places invalid UTF-8 at the bad byte, also after a character split across chunks", () => {
    const enc = new TextEncoder();
    // "é" is bytes 6 and 7; the bad byte 0xFF is at offset 7 of the decoded text, on line 2.
    const doc = Uint8Array.from([...enc.encode('[1,\n"é'), 0x61, 0xff, ...enc.encode('"]')]);
    for (let cut = 0; cut <= doc.length; cut++) {
      assert.throws(() => feed([doc.subarray(0, cut), doc.subarray(cut)]), (e: unknown) => {
        assert.ok(e instanceof JsonParseError);
        assert.deepEqual([e.code, e.offset, e.line, e.column], ["InvalidUtf8", 7, 2, 4], `${cut}`);
        return true;
      });
    }
  });

  it("decodes bytes as strictly as a fatal decoder, split anywhere, genuine U+FFFD kept (property)", () => {
    const enc = new TextEncoder();
    // Valid characters (U+FFFD among them) and invalid or cut sequences, each inside a string.
    const pieces = fc.constantFrom(
      ...["a", "é", "日", "\u{1F600}", "\uFFFD"].map((t) => [...enc.encode(t)]),
      [0xff],
      [0x80],
      [0xc3],
      [0xc0, 0xaf],
      [0xe0, 0x80, 0x80],
      [0xed, 0xa0, 0x80],
      [0xf0, 0x9f, 0x98],
      [0xf4, 0x90, 0x80, 0x80],
    );
    const fatal = new TextDecoder("utf-8", { fatal: true });
    fc.assert(
      fc.property(
        fc.array(fc.array(pieces, { maxLength: 4 }), { maxLength: 4 }),
        fc.array(fc.nat(), { maxLength: 4 }),
        (strings, cuts) => {
          const bytes = Uint8Array.from([
            0x5b,
            ...strings.flatMap((p, k) => [...(k ? [0x2c] : []), 0x22, ...p.flat(), 0x22]),
            0x5d,
          ]);
          let text: string | undefined;
          try {
            text = fatal.decode(bytes);
          } catch {
            text = undefined;
          }
          const outcome = (chunks: Uint8Array[]) => {
            try {
              return { values: feed(chunks).map((i) => i.value) };
            } catch (e) {
              assert.ok(e instanceof JsonParseError);
              return { error: [e.code, e.offset, e.line, e.column] };
            }
          };
          const whole = outcome([bytes]);
          if (text === undefined) assert.equal(whole.error?.[0], "InvalidUtf8");
          else assert.deepEqual(whole, { values: JSON.parse(text) });
          assert.deepEqual(outcome(split(bytes, cuts)), whole);
        },
      ),
      { numRuns: 400 },
    );
  });

  it("places limit errors at the value that breaks them, above the emit depth too", () => {
    const at = (chunks: string[], options: JsonStreamOptions, where: [number, number, number]) =>
      assert.throws(() => feed(chunks, options), (e: unknown) => {
        assert.ok(e instanceof JsonParseError);
        assert.equal(e.code, "LimitExceeded");
        assert.deepEqual([e.offset, e.line, e.column], where, JSON.stringify(chunks));
        return true;
      });
    // The third element of the top-level array, a container the stream does not capture.
    at(["[[],[],[]]"], { depth: 2, limits: { maxArrayLength: 2 } }, [7, 1, 8]);
    at(["[[1],\n[2],\n[3]]"], { depth: 2, limits: { maxArrayLength: 2 } }, [11, 3, 1]);
    at(["[ 5 ]"], { limits: { maxArrayLength: 0 } }, [2, 1, 3]);
    // A value over maxBytes is placed at its start, on its own line, however it was fed.
    at(["[[1,\n2,\n", "3,4,5,6]]"], { limits: { maxBytes: 8 } }, [1, 1, 2]);
  });

  it("enforces limits without buffering past them", () => {
    const limit = (chunks: string[], limits: JsonStreamOptions["limits"], depth = 1) =>
      assert.throws(
        () => feed(chunks, { limits, depth }),
        (e: unknown) => e instanceof JsonParseError && e.code === "LimitExceeded",
      );
    limit(["[[[[1]]]]"], { maxDepth: 3 });
    // Brackets far apart (the scan's long hops), across chunks, and the offset of the one too deep.
    const pad = " ".repeat(40);
    const deep = `[${pad}[${pad}[1234567890123456,${pad}[${pad}1]]]]`;
    for (const cut of [0, 10, 45, 60, 100]) {
      assert.throws(
        () => feed([deep.slice(0, cut), deep.slice(cut)], { limits: { maxDepth: 3 } }),
        (e: unknown) =>
          e instanceof JsonParseError && e.code === "LimitExceeded" &&
          e.offset === deep.lastIndexOf("["),
      );
    }
    assert.deepEqual(feed([deep.slice(0, 50), deep.slice(50)]).map((i) => i.value), [
      [[1234567890123456, [1]]],
    ]);
    limit(["[1,2,3]"], { maxArrayLength: 2 });
    limit(['{"a":1,"b":2}'], { maxObjectKeys: 1 });
    limit(['["abcdef"]'], { maxStringLength: 3 });
    const p = new JsonStreamParser({ limits: { maxBytes: 1000 } });
    p.write('["');
    assert.throws(() => {
      for (let k = 0; k < 100; k++) p.write("x".repeat(100));
    }, (e: unknown) => e instanceof JsonParseError && e.code === "LimitExceeded");
  });

  it("emits token events", () => {
    const tokens: JsonStreamToken[] = [];
    feed(['{"k": [1, {"x": null}]}'], { onToken: (t) => tokens.push(t) });
    assert.deepEqual(tokens.map((t) => t.type + (t.value === undefined ? "" : `:${t.value}`)), [
      "startObject",
      "key:k",
      "startArray",
      "value:1",
      "startObject",
      "key:x",
      "value:null",
      "endObject",
      "endArray",
      "endObject",
    ]);
  });

  it("gives token events for objects with a key named constructor", () => {
    const tokens: string[] = [];
    feed(['[{"constructor": {"a": 1}}]'], { onToken: (t) => tokens.push(t.type) });
    assert.deepEqual(tokens, [
      "startArray",
      "startObject",
      "key",
      "startObject",
      "key",
      "value",
      "endObject",
      "endObject",
      "endArray",
    ]);
  });

  it("works as a TransformStream", async () => {
    const source = new ReadableStream<string>({
      start(c) {
        for (const s of ['[{"a":', "1},2,", "3]"]) c.enqueue(s);
        c.close();
      },
    });
    const got: JsonValue[] = [];
    const reader = source.pipeThrough(new JsonStreamParser().toTransformStream()).getReader();
    for (;;) {
      const r = await reader.read();
      if (r.done) break;
      got.push(r.value.value);
    }
    assert.deepEqual(got, [{ a: 1 }, 2, 3]);
  });
});
