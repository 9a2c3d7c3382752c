// The XML tokenizer's fast paths: remembered searches over the buffer ('<', '&', "]]>", tab,
// newline, characters that may not be Chars) and cached names. Each test here puts the thing a
// fast path could miss where only that fast path sees it, or compares a whole parse with one fed
// in chunks (where remembered positions must be dropped or moved as the buffer grows and shrinks).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { XmlParseError, XmlParser } from "../../parsers/xml/mod.ts";
import type { XmlParseOptions, XmlToken } from "../../parsers/xml/mod.ts";
import { firstSuspect } from "../../parsers/xml/_chars.ts";
import { NONE } from "../../parsers/xml/_search.ts";

type Outcome = { tokens: XmlToken[]; error?: [string, number, number] };

function parseWhole(doc: string, options?: XmlParseOptions): Outcome {
  const p = new XmlParser(doc, options);
  const tokens: XmlToken[] = [];
  try {
    while (p.next()) tokens.push(p.current());
  } catch (e) {
    if (!(e instanceof XmlParseError)) throw e;
    return { tokens, error: [e.code, e.line, e.column] };
  }
  return { tokens };
}

function parseChunks(doc: string, cuts: number[], options?: XmlParseOptions): Outcome {
  const points = [0, ...cuts.filter((c) => c <= doc.length).sort((a, b) => a - b), doc.length];
  const p = new XmlParser(undefined, options);
  const tokens: XmlToken[] = [];
  try {
    for (let k = 0; k + 1 < points.length; k++) {
      p.feed(doc.slice(points[k], points[k + 1]));
      while (p.next()) tokens.push(p.current());
    }
    p.end();
    while (p.next()) tokens.push(p.current());
  } catch (e) {
    if (!(e instanceof XmlParseError)) throw e;
    return { tokens, error: [e.code, e.line, e.column] };
  }
  return { tokens };
}

function errorOf(doc: string, options?: XmlParseOptions): [string, number, number] | undefined {
  return parseWhole(doc, options).error;
}

const BAD_CHARS = [
  "\u0000",
  "\u0001",
  "\u0008",
  "\u000B",
  "\u000C",
  "\u000E",
  "\u001F",
  "\uFFFE",
  "\uFFFF",
  // Lone surrogates (built at run time: the TypeScript tooling refuses them in literals).
  ...[0xd800, 0xdbff, 0xdc00, 0xdfff].map((c) => String.fromCharCode(c)),
];

describe("XML fast paths", () => {
  // A first large document lets the parser decide how it searches for non-Chars (see
  // fastWellFormed in parser.ts), so the tests after this one run the way large documents do.
  it("parses a large document in one piece and in chunks alike", () => {
    let doc = "<r>\n";
    for (let k = 0; k < 2000; k++) doc += `  <i n="${k}">é ${k} &amp; \u{1F600}</i>\n`;
    doc += "</r>";
    assert.ok(doc.length > 65536);
    const whole = parseWhole(doc);
    assert.equal(whole.error, undefined);
    assert.equal(whole.tokens.length, 1 + 2000 * 4 + 2);
    const cuts: number[] = [];
    for (let c = 70000; c < doc.length; c += 70000) cuts.push(c);
    assert.deepEqual(parseChunks(doc, [...cuts, 5, 6, 7]), whole);
    const bad = doc.replace("é 1999", "\u0001 1999");
    assert.equal(parseWhole(bad).error?.[0], "InvalidCharacter");
    const lone = doc.replace("é 1999", String.fromCharCode(0xdc00));
    assert.equal(parseWhole(lone).error?.[0], "InvalidCharacter");
    assert.equal(parseChunks(lone, [100, 66000]).error?.[0], "InvalidCharacter");
  });

  it("searches for non-Chars both ways alike: the plain way and the split way (property)", () => {
    const chars = fc.constantFrom(
      "a",
      "\n",
      "\t",
      "\r",
      "é",
      "\uD7FF",
      "\uE000",
      "\uFFFD",
      "\uFFFE",
      "\uFFFF",
      "\u0000",
      "\u001F",
      "\u{1F600}",
      String.fromCharCode(0xd800),
      String.fromCharCode(0xdfff),
    );
    fc.assert(
      fc.property(fc.array(chars, { maxLength: 20 }), fc.nat(), (parts, n) => {
        const s = parts.join("");
        const from = n % (s.length + 1);
        // The plain way stops at anything outside Tab, LF and U+0020–U+D7FF, U+E000–U+FFFD
        // (every surrogate, paired or not); the split way at control characters (CR included)
        // and U+FFFE/U+FFFF only, unpaired surrogates being ruled out before.
        let plain = NONE;
        let split = NONE;
        for (let i = s.length - 1; i >= from; i--) {
          const c = s.charCodeAt(i);
          if (
            !(c === 9 || c === 10 || (c >= 0x20 && c <= 0xd7ff) || (c >= 0xe000 && c <= 0xfffd))
          ) {
            plain = i;
          }
          if ((c < 0x20 && c !== 9 && c !== 10) || c === 0xfffe || c === 0xffff) split = i;
        }
        assert.equal(firstSuspect(s, from, false), plain, JSON.stringify(s));
        assert.equal(firstSuspect(s, from, true), split, JSON.stringify(s));
      }),
      { numRuns: 500 },
    );
  });

  it("finds a character that is not a Char in every context, after valid suspects", () => {
    // Each template puts the bad character at the marker; a valid surrogate pair and U+FFFD
    // (both near the suspect range) come first, so a remembered "next suspect" is passed by.
    const templates = [
      "<r>\u{1F600}\uFFFD<a>x@y</a></r>",
      "<r>\u{1F600}<a b='1' c='x@y'/></r>",
      "<r><a b='\u{1F600}'/>\n<![CDATA[x@y]]></r>",
      "<r><!--\u{1F600}-->\n<!--x@y--></r>",
      "<r><?pi \u{1F600}?><?pi x@y?></r>",
      "<r>\u{1F600}</r><!--x@y-->",
      "<r>ok</r>\n<?pi x@y?>",
      "<r>a &amp; \u{1F600} b@</r>",
    ];
    for (const tpl of templates) {
      for (const bad of BAD_CHARS) {
        const doc = tpl.replace("@", bad);
        const at = doc.indexOf(bad);
        const before = doc.slice(0, at);
        const line = before.split("\n").length;
        const column = at - (before.lastIndexOf("\n") + 1) + 1;
        const label = `${JSON.stringify(tpl)} with U+${bad.charCodeAt(0).toString(16)}`;
        assert.deepEqual(errorOf(doc), ["InvalidCharacter", line, column], label);
        // The same when the suspect and the bad character arrive in different chunks.
        for (const cut of [1, at - 1, at, at + 1]) {
          assert.deepEqual(
            parseChunks(doc, [cut]).error,
            ["InvalidCharacter", line, column],
            label,
          );
        }
      }
    }
    assert.equal(errorOf("<r>\u{1F600}\u{10FFFF}\uD7FF\uE000\uFFFD\t\n</r>"), undefined);
    // An unpaired high surrogate held back at the end of a chunk, then the end of input.
    const high = String.fromCharCode(0xd800);
    assert.deepEqual(parseChunks(`<r/>${high}`, [5]).error, ["InvalidSyntax", 1, 5]);
    assert.deepEqual(parseChunks(`<r>${high}`, [4]).error, ["InvalidCharacter", 1, 4]);
    assert.deepEqual(parseChunks(`<r>a${high}</r>`, [5]).error, ["InvalidCharacter", 1, 5]);
  });

  it("finds a non-Char deep inside long plain runs, whole and at every chunk boundary", () => {
    // The character check must not be skipped for long ASCII runs (text, attribute values,
    // CDATA, comments, PIs), after a long clean stretch, or where a chunk ends beside it.
    const plain = (n: number) => "abc def ghi ".repeat(Math.ceil(n / 12)).slice(0, n);
    const items = Array.from({ length: 200 }, (_, k) => `<i n="${k}">${plain(40)}</i>\n`).join("");
    const templates = [
      `<r>${plain(5000)}@${plain(5000)}</r>`,
      `<r>\n${items}<z>${plain(3000)}@</z></r>`,
      `<r><s a="${plain(3000)}@${plain(100)}"/></r>`,
      `<r>\n${items}<s b='1' a='${plain(2000)}@'/></r>`,
      `<r><![CDATA[${plain(4000)}@${plain(10)}]]></r>`,
      `<r><!--${plain(4000)}@--></r>`,
      `<r><?pi ${plain(4000)}@?></r>`,
    ];
    for (const tpl of templates) {
      for (const bad of BAD_CHARS) {
        const doc = tpl.replace("@", bad);
        const at = doc.indexOf(bad);
        const before = doc.slice(0, at);
        const expected = [
          "InvalidCharacter",
          before.split("\n").length,
          at - (before.lastIndexOf("\n") + 1) + 1,
        ];
        const label = `${tpl.slice(0, 20)}... with U+${bad.charCodeAt(0).toString(16)}`;
        assert.deepEqual(errorOf(doc), expected, label);
        assert.deepEqual(errorOf(doc, { namespaces: false }), expected, label);
        for (const cuts of [[at - 1], [at], [at + 1], [at - 1, at + 1], [1, 100, at - 7]]) {
          assert.deepEqual(parseChunks(doc, cuts).error, expected, `${label} cut at ${cuts}`);
        }
        const many: number[] = [];
        for (let c = 997; c < doc.length; c += 997) many.push(c);
        assert.deepEqual(parseChunks(doc, many).error, expected, `${label} in chunks of 997`);
      }
    }
    // Surrogate pairs are Chars wherever the chunks split them; halves alone are not.
    const pair = "\u{1F600}";
    const good = `<r a="${plain(3000)}${pair}">${plain(3000)}${pair}${plain(10)}</r>`;
    const whole = parseWhole(good);
    assert.equal(whole.error, undefined);
    for (const p of [good.indexOf(pair), good.lastIndexOf(pair)]) {
      assert.deepEqual(parseChunks(good, [p + 1]), whole, `pair split at ${p + 1}`);
    }
    const high = String.fromCharCode(0xd83d);
    const low = String.fromCharCode(0xde00);
    const text = `<r>${plain(3000)}`;
    assert.deepEqual(parseChunks(`${text}${high}x</r>`, [text.length + 1]).error, [
      "InvalidCharacter",
      1,
      text.length + 1,
    ]);
    assert.deepEqual(parseChunks(`${text}${low}</r>`, [text.length]).error, [
      "InvalidCharacter",
      1,
      text.length + 1,
    ]);
  });

  it("finds '<' in an attribute value wherever the search for '<' last stopped", () => {
    assert.deepEqual(errorOf("<r a='1' b='2<'>x</r>"), ["InvalidSyntax", 1, 14]);
    assert.deepEqual(errorOf("<r>t<s a='1'/><s b='<'/></r>"), ["InvalidSyntax", 1, 21]);
    assert.deepEqual(errorOf("<r>\n<s a='x' b=\"y<\"/></r>"), ["InvalidSyntax", 2, 14]);
    // '>' is fine in a value, so the '<' after it belongs to the next tag.
    assert.equal(errorOf("<r a='>'><s b='a>b'/></r>"), undefined);
  });

  it("decodes references and normalises whitespace only in the values that hold them", () => {
    const p = new XmlParser(
      "<r a='1' b='x&amp;y' c='p\tq' d='m\nn' e='z'>a&lt;b<s f='&#x9;'/>c</r>",
    );
    const ts: XmlToken[] = [];
    while (p.next()) ts.push(p.current());
    assert.deepEqual(ts[0].attributes.map((a) => a.value), ["1", "x&y", "p q", "m n", "z"]);
    assert.equal(ts[1].text, "a<b");
    assert.equal(ts[2].attributes[0].value, "\t");
    assert.equal(ts[4].text, "c");
  });

  it("rejects ']]>' in text but not in CDATA or attribute values, in any position", () => {
    assert.deepEqual(errorOf("<r><![CDATA[a]]>b]]></r>"), ["InvalidSyntax", 1, 18]);
    assert.deepEqual(errorOf("<r>a<s/>b]]></r>"), ["InvalidSyntax", 1, 10]);
    assert.equal(errorOf("<r a=']]>'><![CDATA[]]]]><![CDATA[>]]>]]&gt;</r>"), undefined);
  });

  it("gives the same tokens and errors fed in chunks as whole, for mutated documents", () => {
    const seed = "<?xml version='1.0'?>\n<r xmlns='urn:d' xmlns:p='urn:p'>\n" +
      "<p:i p:k='a\tb&amp;' k='&#10;\u{1F600}'>x &gt; y]]</p:i><e/>" +
      "<![CDATA[<b>&c</b>]]]><!--c-->\u{1F600}<?pi d?><x:y xmlns:x='urn:x' x:z='1'/></r>\n";
    const alphabet = [
      ..."<>/!?-[]&;#x'\"=: \t\nabp\u0000\uFFFF\u{1F600}",
      String.fromCharCode(0xd800),
    ];
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(seed.length), fc.nat(2), fc.constantFrom(...alphabet)), {
          maxLength: 4,
        }),
        fc.array(fc.nat(seed.length + 8), { maxLength: 6 }),
        fc.boolean(),
        (edits, cuts, namespaces) => {
          let doc = seed;
          for (const [at, op, ch] of edits) {
            if (op === 0) doc = doc.slice(0, at) + doc.slice(at + 1);
            else if (op === 1) doc = doc.slice(0, at) + ch + doc.slice(at);
            else doc = doc.slice(0, at) + ch + doc.slice(at + 1);
          }
          const whole = parseWhole(doc, { namespaces });
          assert.deepEqual(parseChunks(doc, cuts, { namespaces }), whole);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it("keeps remembered positions right when a long stream drops consumed input", () => {
    // Over 64 KiB in small chunks, so the buffer is cut from the front several times, with a
    // rare character ('&', tab, "]]>", '<' in a value, a bad character) near the end.
    let body = "";
    for (let k = 0; k < 1500; k++) {
      body += `<item n="${k}" xmlns:q="urn:q${
        k % 3
      }"><q:t>text ${k} é</q:t><![CDATA[c${k}]]></item>\n`;
    }
    const tails: [string, [string, number, number] | undefined][] = [
      ["<z a='x&amp;y\tz'>&lt;</z>", undefined],
      ["<z>]]></z>", ["InvalidSyntax", 1502, 4]],
      ["<z a='<'/>", ["InvalidSyntax", 1502, 7]],
      ["<z>\u0001</z>", ["InvalidCharacter", 1502, 4]],
      ["<z>&bogus;</z>", ["UndefinedEntity", 1502, 4]],
    ];
    for (const [tail, expected] of tails) {
      const doc = `<r>\n${body}${tail}</r>`;
      const whole = parseWhole(doc);
      assert.deepEqual(whole.error, expected, tail);
      for (const size of [997, 4096]) {
        const cuts: number[] = [];
        for (let c = size; c < doc.length; c += size) cuts.push(c);
        assert.deepEqual(parseChunks(doc, cuts), whole, `${tail} in chunks of ${size}`);
      }
    }
  });

  it("splits and resolves cached names right, however many and however alike", () => {
    // More distinct names than the cache holds, many of the same length and close in hash, each
    // used under two different bindings of its prefix and again after the cache moved on.
    const names: string[] = [];
    for (let k = 0; k < 3000; k++) names.push(`n${k.toString(36)}`, `N${k.toString(36)}`);
    let doc = "<r xmlns:p='urn:1' xmlns='urn:d'>";
    for (const n of names) doc += `<p:${n} p:${n}='1' ${n}='2'/><${n} xmlns:p='urn:2' p:a='x'/>`;
    doc += `<p:n0 p:n0='1'/></r>`;
    const p = new XmlParser(doc);
    const seen: string[] = [];
    while (p.next()) {
      const t = p.current();
      if (t.kind !== "StartElement") continue;
      seen.push(
        [
          t.prefix,
          t.localName,
          t.namespaceUri,
          ...t.attributes.map((a) => `${a.prefix}|${a.localName}|${a.namespaceUri}`),
        ]
          .join(" "),
      );
    }
    const expected = [
      " r urn:d xmlns|p|http://www.w3.org/2000/xmlns/ |xmlns|http://www.w3.org/2000/xmlns/",
    ];
    for (const n of names) {
      expected.push(`p ${n} urn:1 p|${n}|urn:1 |${n}|`);
      expected.push(` ${n} urn:d xmlns|p|http://www.w3.org/2000/xmlns/ p|a|urn:2`);
    }
    expected.push("p n0 urn:1 p|n0|urn:1");
    assert.deepEqual(seen, expected);
    // The same names without namespace processing are not split.
    const q = new XmlParser("<r><p:a p:b='1'/></r>", { namespaces: false });
    q.next();
    q.next();
    assert.deepEqual([q.current().prefix, q.current().localName], ["", "p:a"]);
    assert.deepEqual([q.current().attributes[0].prefix, q.current().attributes[0].localName], [
      "",
      "p:b",
    ]);
  });

  it("checks cached names as strictly as new ones", () => {
    const cases: [string, string][] = [
      ["<r><a:b/><a:b/></r>", "Namespace"],
      ["<r xmlns:a='u'><a:b/><a:b:c/></r>", "Namespace"],
      ["<r xmlns:a='u'><x a:b='1'/><x a:b='1' a:b='2'/></r>", "DuplicateAttribute"],
      ["<r xmlns:a='u' xmlns:b='u'><x a:c='1'/><x b:c='1' a:c='2'/></r>", "DuplicateAttribute"],
      ["<r><x xmlns:a='u' a:c='1'/><x a:c='1'/></r>", "Namespace"],
      ["<r xmlns:='u'/>", "Namespace"],
      ["<r xmlns:a:b='u'/>", "Namespace"],
      ["<r><xmlns:a/></r>", "Namespace"],
      ["<r><x:-a/></r>", "Namespace"],
      ["<r><abc/><abcd/></abc></r>", "MismatchedTag"],
    ];
    for (const [doc, code] of cases) assert.equal(errorOf(doc)?.[0], code, doc);
    // Names at the name length limit and one past it, cached or not.
    const limits = { limits: { maxNameLength: 8 } };
    assert.equal(errorOf("<r><abcdefgh/><abcdefgh/></r>", limits), undefined);
    assert.deepEqual(errorOf("<r><abcdefgh/><abcdefghi/></r>", limits), ["LimitExceeded", 1, 16]);
    assert.deepEqual(errorOf("<r><abcdefghé/></r>", limits), ["LimitExceeded", 1, 5]);
    // Non-ASCII names take the exact scanner and come out the same.
    const p = new XmlParser("<r xmlns:é='urn:é'><é:ü é:ö='1'/><é:ü é:ö='1'/></r>");
    const ts: XmlToken[] = [];
    while (p.next()) ts.push(p.current());
    assert.deepEqual([ts[1].prefix, ts[1].localName, ts[1].namespaceUri], ["é", "ü", "urn:é"]);
    assert.deepEqual(ts[3], { ...ts[1], column: 34 });
  });

  it("reads names split across chunks at every point", () => {
    const doc =
      "<root xmlns:pre='urn:p'><pre:element pre:attribute='v' plain='w'>t</pre:element></root>";
    const whole = parseWhole(doc);
    assert.equal(whole.error, undefined);
    for (let cut = 1; cut < doc.length; cut++) {
      assert.deepEqual(parseChunks(doc, [cut]), whole, `cut at ${cut}`);
      assert.deepEqual(parseChunks(doc, [cut, cut + 1, cut + 3]), whole, `cuts from ${cut}`);
    }
  });

  it("reads references in place where they are common and hands the rest on", () => {
    const p = new XmlParser(
      "<r a='\tx&amp;\ny&#9;&lt;&gt;&quot;&apos;' b='&#x0000000041;&#00000000066;'>" +
        "a&amp;b&#x1F600;c&#9;&#xd7ff;&#xE000;&#65533;&#x10FFFF;&#x0000000041;</r>",
    );
    const ts: XmlToken[] = [];
    while (p.next()) ts.push(p.current());
    assert.deepEqual(ts[0].attributes.map((a) => a.value), [" x& y\t<>\"'", "AB"]);
    assert.equal(ts[1].text, "a&b\u{1F600}c\t\uD7FF\uE000\uFFFD\u{10FFFF}A");
    const cases: [string, string, number][] = [
      ["<r>&lt</r>", "InvalidReference", 4],
      ["<r a='&amp'/>", "InvalidReference", 7],
      ["<r>x&#x110000;</r>", "InvalidReference", 5],
      ["<r>x&#1114112;</r>", "InvalidReference", 5],
      ["<r>x&#x0000000000110000;</r>", "InvalidReference", 5],
      ["<r>x&#xFFFE;</r>", "InvalidReference", 5],
      ["<r>x&#0;</r>", "InvalidReference", 5],
      ["<r>x&#x;</r>", "InvalidReference", 5],
      ["<r>x&#12a;</r>", "InvalidReference", 5],
      ["<r>x&#X41;</r>", "InvalidReference", 5],
      ["<r>x&AMP;</r>", "UndefinedEntity", 5],
      ["<r>x&ampx;</r>", "UndefinedEntity", 5],
      ["<r>x&am;</r>", "UndefinedEntity", 5],
      ["<r a='x&#1;'/>", "InvalidReference", 8],
      ["<r a='x&q;'/>", "UndefinedEntity", 8],
    ];
    for (const [doc, code, column] of cases) {
      assert.deepEqual(errorOf(doc), [code, 1, column], doc);
    }
  });

  it("treats indentation like any other text", () => {
    const deep = " ".repeat(70);
    const doc = `<r>\n  <a>\n    <b/>\n  </a>\n${deep}<c/>\n\t<d/>\n\n<e/>\n</r>\n  `;
    const whole = parseWhole(doc);
    assert.equal(whole.error, undefined);
    assert.deepEqual(
      whole.tokens.filter((t) => t.kind === "Text").map((t) => t.text),
      ["\n  ", "\n    ", "\n  ", `\n${deep}`, "\n\t", "\n\n", "\n"],
    );
    assert.deepEqual(
      whole.tokens.filter((t) => t.kind !== "Text").map((t) => [t.name, t.line, t.column]),
      [
        ["r", 1, 1],
        ["a", 2, 3],
        ["b", 3, 5],
        ["b", 3, 5],
        ["a", 4, 3],
        ["c", 5, 71],
        ["c", 5, 71],
        ["d", 6, 2],
        ["d", 6, 2],
        ["e", 8, 1],
        ["e", 8, 1],
        ["r", 9, 1],
      ],
    );
    for (let cut = 1; cut < doc.length; cut++) {
      assert.deepEqual(parseChunks(doc, [cut]), whole, `cut at ${cut}`);
    }
    const limits = { limits: { maxTextLength: 3 } };
    assert.equal(errorOf("<r>\n  <a/></r>", limits), undefined);
    assert.deepEqual(errorOf("<r>\n   <a/></r>", limits), ["LimitExceeded", 1, 4]);
    assert.deepEqual(errorOf("<r>\n  x<a/></r>"), undefined);
    assert.deepEqual(errorOf("\n  <r/>\n  x"), ["InvalidSyntax", 3, 3]);
    assert.deepEqual(errorOf("<r/>\n  \u0001"), ["InvalidSyntax", 2, 3]);
  });

  it("tells apart cached names that differ in one character at any position", () => {
    // Names of every length up to 20 that differ from a base name in exactly one place, used
    // as element and attribute names, again and again: each must come back as written.
    const names: string[] = [];
    for (let len = 1; len <= 20; len++) {
      const base = "abcdefghijklmnopqrst".slice(0, len);
      names.push(base);
      for (let at = 0; at < len; at++) {
        for (const ch of at === 0 ? ["B", "_"] : ["B", "9", "-", "."]) {
          names.push(base.slice(0, at) + ch + base.slice(at + 1));
        }
      }
    }
    let doc = "<r>";
    for (let round = 0; round < 3; round++) {
      for (const n of names) doc += `<${n} ${n}="${n}"/>`;
    }
    doc += "</r>";
    const p = new XmlParser(doc);
    const got: string[] = [];
    while (p.next()) {
      const t = p.current();
      if (t.kind === "StartElement" && t.name !== "r") {
        got.push(`${t.name} ${t.localName} ${t.attributes[0].name} ${t.attributes[0].value}`);
      }
    }
    const expected: string[] = [];
    for (let round = 0; round < 3; round++) {
      for (const n of names) expected.push(`${n} ${n} ${n} ${n}`);
    }
    assert.deepEqual(got, expected);

    // Thousands of pseudo-random names, many sharing their first eight characters, many alike
    // bit for bit: a cached name is only ever returned for itself.
    let seed = 7;
    const rand = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    const first = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_";
    const rest = first + "0123456789.-";
    const pool: string[] = [];
    for (let k = 0; k < 6000; k++) {
      let n = k % 3 === 0 ? "prefixAB" : k % 3 === 1 ? "pref" : first[rand(first.length)];
      const len = n.length + rand(8);
      while (n.length < len) n += rest[rand(rest.length)];
      pool.push(n);
    }
    const used: string[] = [];
    for (let k = 0; k < 3 * pool.length; k++) used.push(pool[rand(pool.length)]);
    const q = new XmlParser(`<r>${used.map((n) => `<${n}/>`).join("")}</r>`);
    const seen: string[] = [];
    while (q.next()) if (q.current().kind === "StartElement") seen.push(q.current().name);
    assert.deepEqual(seen, ["r", ...used]);
  });

  it("normalises carriage returns wherever they are, also after other suspects", () => {
    const docs = [
      "<r a='x\r\ny\rz'>\r\n<![CDATA[1\r\n2\r3]]>\r<!--\r\n--><?p \r?></r>\r\n",
      "<r>\u{1F600}\r\n\u{1F600}<s\r\nb='\r'/></r>",
      "<r>\uFFFD\r</r>",
    ];
    const expected = [
      "<r a='x\ny\nz'>\n<![CDATA[1\n2\n3]]>\n<!--\n--><?p \n?></r>\n",
      "<r>\u{1F600}\n\u{1F600}<s\nb='\n'/></r>",
      "<r>\uFFFD\n</r>",
    ];
    for (let k = 0; k < docs.length; k++) {
      const whole = parseWhole(docs[k]);
      assert.equal(whole.error, undefined, docs[k]);
      assert.deepEqual(whole, parseWhole(expected[k]), docs[k]);
      for (let cut = 1; cut < docs[k].length; cut++) {
        assert.deepEqual(parseChunks(docs[k], [cut]), whole, `${docs[k]} cut at ${cut}`);
        assert.deepEqual(parseChunks(docs[k], [cut, cut + 2]), whole, `${docs[k]} cuts ${cut}`);
      }
    }
    // A carriage return in markup is whitespace once normalised; the position after it counts
    // as a new line.
    assert.deepEqual(errorOf("<r>\r\n<a\r\n  b='1'\r  c></a></r>"), ["InvalidSyntax", 4, 4]);
  });
});
