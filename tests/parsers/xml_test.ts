import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  buildDom,
  decodeEntities,
  runSax,
  TokenKind,
  XmlElement,
  XmlParseError,
  XmlParser,
} from "../../parsers/xml/mod.ts";
import type { XmlParseOptions, XmlToken } from "../../parsers/xml/mod.ts";
import { MALFORMED, WELL_FORMED } from "./_xml_documents.ts";

function tokens(input: string | Uint8Array, options?: XmlParseOptions): XmlToken[] {
  const p = new XmlParser(input, options);
  const out: XmlToken[] = [];
  while (p.next()) out.push(p.current());
  return out;
}

function outcome(f: () => XmlToken[]): XmlToken[] | [string, number, number] {
  try {
    return f();
  } catch (e) {
    if (e instanceof XmlParseError) return [e.code, e.line, e.column];
    throw e;
  }
}

function xmlError(input: string | Uint8Array, options?: XmlParseOptions): XmlParseError {
  try {
    tokens(input, options);
  } catch (e) {
    if (e instanceof XmlParseError) return e;
    throw e;
  }
  assert.fail(`expected an XmlParseError for ${String(input).slice(0, 80)}`);
}

describe("XmlParser", () => {
  it("accepts well-formed documents", () => {
    for (const doc of WELL_FORMED) assert.doesNotThrow(() => tokens(doc), doc);
  });

  it("rejects malformed documents with the right code", () => {
    for (const [doc, code] of MALFORMED) assert.equal(xmlError(doc).code, code, doc);
  });

  it("reports line and column in every error", () => {
    const e = xmlError("<a>\n  <b>\n  </c>\n</a>");
    assert.equal(e.code, "MismatchedTag");
    assert.equal(e.line, 3);
    assert.equal(e.column, 3);
    assert.match(e.message, /line 3, column 3/);
    const e2 = xmlError("<a>\r\n<b x='1' x='2'/></a>");
    assert.equal(e2.line, 2);
    assert.equal(e2.column, 10);
  });

  it("produces tokens with names, namespaces, positions and decoded values", () => {
    const ts = tokens(
      "<?xml version='1.0'?>\n<r xmlns='urn:d' xmlns:p='urn:p'>\n <p:i p:k='a\tb&amp;' k='&#10;'>x &gt; y</p:i><e/></r>",
    );
    assert.deepEqual(ts.map((t) => t.kind), [
      "XmlDeclaration",
      "StartElement",
      "Text",
      "StartElement",
      "Text",
      "EndElement",
      "StartElement",
      "EndElement",
      "EndElement",
    ]);
    const i = ts[3];
    assert.equal(i.name, "p:i");
    assert.equal(i.prefix, "p");
    assert.equal(i.localName, "i");
    assert.equal(i.namespaceUri, "urn:p");
    assert.equal(i.line, 3);
    assert.equal(i.column, 2);
    assert.deepEqual(i.attributes.map((a) => [a.name, a.namespaceUri, a.value]), [
      ["p:k", "urn:p", "a b&"],
      ["k", "", "\n"],
    ]);
    assert.equal(ts[4].text, "x > y");
    assert.equal(ts[1].namespaceUri, "urn:d");
    assert.equal(ts[6].namespaceUri, "urn:d");
    assert.equal(ts[6].selfClosing, true);
    assert.equal(ts[0].attributes[0].value, "1.0");
  });

  it("normalises line ends", () => {
    const ts = tokens("<a>1\r\n2\r3</a>");
    assert.equal(ts[1].text, "1\n2\n3");
  });

  it("decodes UTF-8 and UTF-16 with BOM and rejects bad bytes", () => {
    const doc = "<?xml version='1.0' encoding='UTF-16'?><a>é\u{1F600}</a>";
    const le = new Uint8Array(2 + doc.length * 2);
    const be = new Uint8Array(2 + doc.length * 2);
    le.set([0xff, 0xfe]);
    be.set([0xfe, 0xff]);
    for (let k = 0; k < doc.length; k++) {
      const c = doc.charCodeAt(k);
      le[2 + 2 * k] = c & 0xff;
      le[3 + 2 * k] = c >> 8;
      be[2 + 2 * k] = c >> 8;
      be[3 + 2 * k] = c & 0xff;
    }
    assert.equal(buildDom(le).root.text(), "é\u{1F600}");
    assert.equal(buildDom(be).root.text(), "é\u{1F600}");
    const utf8 = new TextEncoder().encode("\ufeff<a>é</a>");
    assert.equal(buildDom(utf8).root.text(), "é");
    const bad = Uint8Array.from([0x3c, 0x61, 0x3e, 0x0a, 0x78, 0xc3, 0x28, 0x3c, 0x2f, 0x61, 0x3e]);
    const e = xmlError(bad);
    assert.equal(e.code, "InvalidEncoding");
    assert.equal(e.line, 2);
    assert.equal(e.column, 2);
    assert.equal(
      xmlError(new TextEncoder().encode("<?xml version='1.0' encoding='ISO-8859-1'?><a/>")).code,
      "InvalidEncoding",
    );
  });

  it("gives the same tokens when fed in chunks split anywhere (property)", () => {
    const doc =
      "<?xml version='1.0'?><!--c--><r xmlns:p='urn:p'>\r\n<p:i a='1 &amp; 2'>t&#x1F600;é</p:i>" +
      "<![CDATA[x]]y]]><?pi d?><e/>\u{1F600}</r>";
    const whole = tokens(doc);
    const bytes = new TextEncoder().encode(doc);
    fc.assert(
      fc.property(
        fc.array(fc.nat(bytes.length), { maxLength: 8 }),
        fc.boolean(),
        (cuts, asBytes) => {
          const points = [0, ...cuts.sort((a, b) => a - b), bytes.length];
          const p = new XmlParser();
          const out: XmlToken[] = [];
          for (let k = 0; k + 1 < points.length; k++) {
            p.feed(
              asBytes
                ? bytes.subarray(points[k], points[k + 1])
                : doc.slice(points[k], points[k + 1]),
            );
            while (p.next()) out.push(p.current());
            assert.ok(p.needsInput);
          }
          p.end();
          while (p.next()) out.push(p.current());
          assert.deepEqual(out, whole);
        },
      ),
      { numRuns: 200 },
    );
  });

  it("checks element, attribute-list and notation declarations by their grammar", () => {
    const ok = [
      "<!ELEMENT r (a, (b|c)*, d?)+><!ELEMENT a (#PCDATA|b|c)*><!ELEMENT b (#PCDATA)>",
      "<!ELEMENT c EMPTY><!ELEMENT d ANY><!ELEMENT e ( #PCDATA ) ><!ELEMENT f (a)>",
      "<!NOTATION n PUBLIC 'p' 's'><!NOTATION m SYSTEM 'x<y'><!NOTATION o PUBLIC 'q'>",
      "<!ENTITY e 'v'><!ATTLIST r a CDATA #IMPLIED b (x|y|1z) 'x' c NOTATION (n|m) #REQUIRED>",
      "<!ATTLIST r d ID #IMPLIED e NMTOKENS #FIXED 'a b' f ENTITY #IMPLIED g IDREFS #IMPLIED>",
      "<!ENTITY e 'v'><!ATTLIST r h CDATA '&e;&#65;&lt;' p:i CDATA #IMPLIED><!ATTLIST r>",
    ];
    for (const subset of ok) {
      const doc = `<!DOCTYPE r [${subset}]><r/>`;
      assert.doesNotThrow(() => tokens(doc, { allowDoctype: true }), doc);
    }
    const bad: [string, string][] = [
      ["<!ATTLIST r a CxATA 'x'>", "InvalidSyntax"],
      ["<!ATTLIST r a CDATA&'x'>", "InvalidSyntax"],
      ["<!ATTLIST r a CDATA s'x'>", "InvalidSyntax"],
      ["<!ATTLIST r a CDATA 'x'b CDATA 'y'>", "InvalidSyntax"],
      ["<!ATTLIST r a CDATA>", "InvalidSyntax"],
      ["<!ATTLIST r a (x|) 'x'>", "InvalidSyntax"],
      ["<!ATTLIST r a CDATA '&u;'>", "UndefinedEntity"],
      ["<!ATTLIST r a CDATA '&#0;'>", "InvalidReference"],
      ["<!ATTLIST r a CDATA '&'>", "InvalidReference"],
      ["<!ATTLIST r a:b: CDATA #IMPLIED>", "Namespace"],
      ["<!ELEMENT r (a|b,c)>", "InvalidSyntax"],
      ["<!ELEMENT r (#PCDATA|a)>", "InvalidSyntax"],
      ["<!ELEMENT r (a b)>", "InvalidSyntax"],
      ["<!ELEMENT r EMPTYx>", "InvalidSyntax"],
      ["<!ELEMENT r>", "InvalidSyntax"],
      ["<!ELEMENT r (a))>", "InvalidSyntax"],
      ["<!NOTATION n:m SYSTEM 'x'>", "Namespace"],
      ["<!NOTATION n 'x'>", "InvalidSyntax"],
      ["<!ELEMENT r %p;>", "Unsupported"],
    ];
    for (const [subset, code] of bad) {
      const doc = `<!DOCTYPE r [${subset}]><r/>`;
      assert.equal(xmlError(doc, { allowDoctype: true }).code, code, doc);
    }
    assert.equal(xmlError("<!DOCTYPE r: []><r/>", { allowDoctype: true }).code, "Namespace");
  });

  it("supplies declared default attributes and normalizes typed values", () => {
    const doc = "<!DOCTYPE r [<!ENTITY e 'E'>" +
      "<!ATTLIST r a CDATA 'x&e;\ty' b NMTOKENS '  p   q ' c ID #IMPLIED d CDATA #FIXED 'f'>" +
      "<!ATTLIST r a CDATA 'second' z CDATA ' z  z '>]><r c='  k  l '><r a='given'/></r>";
    const starts = tokens(doc, { allowDoctype: true }).filter((t) => t.kind === "StartElement");
    assert.deepEqual(starts.map((t) => t.attributes.map((a) => [a.name, a.value])), [
      [["c", "k l"], ["a", "xE y"], ["b", "p q"], ["d", "f"], ["z", " z  z "]],
      [["a", "given"], ["b", "p q"], ["d", "f"], ["z", " z  z "]],
    ]);
    // A default namespace declaration applies like a written one (XHTML's DTD has these).
    const html =
      "<!DOCTYPE html [<!ATTLIST html xmlns CDATA #FIXED 'urn:x' xmlns:p CDATA 'urn:p'>]>" +
      "<html><p:b/></html>";
    const ts = tokens(html, { allowDoctype: true });
    assert.equal(ts[1].namespaceUri, "urn:x");
    assert.equal(ts[2].namespaceUri, "urn:p");
    assert.equal(ts[1].attributes[0].namespaceUri, "http://www.w3.org/2000/xmlns/");
    // The limits hold for supplied attributes too.
    assert.equal(
      xmlError("<!DOCTYPE r [<!ATTLIST r a CDATA 'x' b CDATA 'y'>]><r c='1'/>", {
        allowDoctype: true,
        limits: { maxAttributes: 2 },
      }).code,
      "LimitExceeded",
    );
  });

  it("reads a DOCTYPE fed one character at a time like the whole document", () => {
    const docs = [
      "<!DOCTYPE a SYSTEM 'x.dtd'><a/>",
      "<!DOCTYPE a PUBLIC 'p' 'x.dtd'><a/>",
      "<!DOCTYPE a [<!ENTITY e 'v'><!ENTITY n SYSTEM 'u' NDATA g><!ENTITY % p 'w'>]><a>&e;</a>",
      "<!DOCTYPE a [<!ELEMENT a ANY><!ATTLIST a b CDATA 'd'><!NOTATION g SYSTEM 'x'>]><a/>",
      "<!DOCTYPE r [<!ELEMENT r (a, (b|c)*, d?)+><!ELEMENT a (#PCDATA|b)*><!NOTATION n PUBLIC 'p'>" +
      "<!ATTLIST r a CDATA #IMPLIED b (x|y) 'x' c NOTATION (n) #REQUIRED e NMTOKENS #FIXED 'a'>]>" +
      "<r c=' n ' xmlns:p='u'><p:r/></r>",
      "<!DOCTYPE a [<!-- c --><?pi x?>\n]>\n<a/>",
      "<!DOCTYPE a [<!ENTITY e PUBLIC 's'>]><a/>",
      "<!DOCTYPE a [<!BOGUS>]><a/>",
    ];
    for (const doc of docs) {
      const whole = outcome(() => tokens(doc, { allowDoctype: true }));
      const fed = outcome(() => {
        const p = new XmlParser(undefined, { allowDoctype: true });
        const out: XmlToken[] = [];
        for (const ch of doc) {
          p.feed(ch);
          while (p.next()) out.push(p.current());
        }
        p.end();
        while (p.next()) out.push(p.current());
        return out;
      });
      assert.deepEqual(fed, whole, doc);
    }
  });

  it("skips one byte order mark only, however the input is split", () => {
    const doc = "\uFEFF\uFEFF<a/>";
    assert.equal(xmlError(doc).code, "InvalidSyntax");
    const p = new XmlParser();
    assert.throws(() => {
      for (const ch of doc) {
        p.feed(ch);
        while (p.next());
      }
      p.end();
      while (p.next());
    }, (e: unknown) => e instanceof XmlParseError && e.code === "InvalidSyntax");
    // The decoder already took the byte order mark of byte input: a second one is text.
    const bytes = new TextEncoder().encode(doc);
    assert.equal(xmlError(bytes).code, "InvalidSyntax");
    assert.equal(tokens(new TextEncoder().encode("\uFEFF<a/>")).length, 2);
  });

  it("places a bad UTF-8 byte right when a character before it was split across chunks", () => {
    const enc = new TextEncoder();
    // "é" is bytes 4 and 5; the bad byte 0xFF is byte 8, column 4 of line 2.
    const doc = Uint8Array.from([...enc.encode("<a>\né"), 0x78, 0x79, 0xff, ...enc.encode("</a>")]);
    for (let cut = 0; cut <= doc.length; cut++) {
      const p = new XmlParser();
      const e = outcome(() => {
        p.feed(doc.subarray(0, cut));
        while (p.next());
        p.feed(doc.subarray(cut));
        p.end();
        while (p.next());
        return [];
      });
      assert.deepEqual(e, ["InvalidEncoding", 2, 4], `cut at ${cut}`);
    }
  });

  it("reads bytes up to an encoding error like any other input end, split anywhere (property)", () => {
    const doc = "<?xml version='1.0'?>\r\n<r a='1'>\r\né\u{1F600}<b>t</b>x</r>";
    const utf16 = (s: string, le: boolean): number[] => {
      const out = le ? [0xff, 0xfe] : [0xfe, 0xff];
      for (let k = 0; k < s.length; k++) {
        const c = s.charCodeAt(k);
        out.push(...(le ? [c & 0xff, c >> 8] : [c >> 8, c & 0xff]));
      }
      return out;
    };
    // A lone surrogate, encoded per encoding, inserted at a character boundary.
    const encodings: [(s: string) => number[], number[]][] = [
      [(s) => utf16(s, true), [0x00, 0xd8]],
      [(s) => utf16(s, false), [0xdc, 0x00]],
      [(s) => [...new TextEncoder().encode(s)], [0xed, 0xa0, 0x80]],
    ];
    fc.assert(
      fc.property(
        fc.nat(encodings.length - 1),
        fc.nat(doc.length),
        fc.array(fc.nat(200), { maxLength: 4 }),
        (e, at, cuts) => {
          const [encode, bad] = encodings[e];
          const head = doc.slice(0, at);
          if (/[\uD800-\uDBFF]$/.test(head)) return; // not between the halves of a pair
          const bytes = Uint8Array.from([
            ...encode(head),
            ...bad,
            ...encode(doc.slice(at)).slice(e < 2 ? 2 : 0),
          ]);
          const whole = outcome(() => tokens(bytes));
          assert.ok(!Array.isArray(whole[whole.length - 1]) || whole.length === 3);
          // The error is at the bad character (its line and column in the text before it),
          // unless the text before it already is malformed.
          const before = outcome(() => tokens(head));
          const lines = head.replace(/\r\n?/g, "\n").replace(/^\uFEFF/, "").split("\n");
          const expected = ["InvalidEncoding", lines.length, lines[lines.length - 1].length + 1];
          if (Array.isArray(before) && before.length === 3 && before[0] !== "UnexpectedEnd") {
            assert.deepEqual(whole, before);
          } else assert.deepEqual(whole.slice(-3), expected);
          const points = [0, ...cuts.map((c) => c % (bytes.length + 1)).sort((a, b) => a - b)];
          const fed = outcome(() => {
            const p = new XmlParser();
            const out: XmlToken[] = [];
            for (let k = 0; k < points.length; k++) {
              p.feed(bytes.subarray(points[k], points[k + 1] ?? bytes.length));
              while (p.next()) out.push(p.current());
            }
            p.end();
            while (p.next()) out.push(p.current());
            return out;
          });
          assert.deepEqual(fed, whole);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("bounds every token's size alike, whole or fed in chunks", () => {
    const limits = { maxTextLength: 100, maxNameLength: 10 };
    // The bound is maxTextLength + 4 maxNameLength + 64 Ki: a start tag of many attributes,
    // an end tag or the space after the root element may pass it though each part is small.
    const attrs = Array.from({ length: 800 }, (_, k) => ` a${k}='${"v".repeat(90)}'`).join("");
    const docs = [
      `<r${attrs}/>`,
      `<r></r${" ".repeat(70_000)}>`,
      `<r/>${" ".repeat(70_000)}<!---->`,
      `<r${attrs.slice(0, 60_000)}/>`,
    ];
    for (const doc of docs) {
      const whole = outcome(() => tokens(doc, { limits }));
      for (const cut of [1, 5, 30_000, 66_000]) {
        const fed = outcome(() => {
          const p = new XmlParser(undefined, { limits });
          const out: XmlToken[] = [];
          p.feed(doc.slice(0, cut));
          while (p.next()) out.push(p.current());
          p.feed(doc.slice(cut));
          p.end();
          while (p.next()) out.push(p.current());
          return out;
        });
        assert.deepEqual(fed, whole, `${doc.slice(0, 20)}... cut at ${cut}`);
      }
      if (doc.length > 100 + 40 + 65536) assert.equal((whole as string[])[0], "LimitExceeded");
    }
  });

  it("keeps nothing of a fed byte chunk by reference (the caller may reuse its buffer)", () => {
    const doc = new TextEncoder().encode("\ufeff<a>é</a>");
    const p = new XmlParser();
    const buf = new Uint8Array(2);
    const out: string[] = [];
    for (let k = 0; k < doc.length; k += 2) {
      const n = Math.min(2, doc.length - k);
      buf.set(doc.subarray(k, k + n));
      p.feed(buf.subarray(0, n));
      while (p.next()) out.push(p.current().kind + p.current().text);
      buf.fill(0x3c); // scribble over what was fed
    }
    p.end();
    while (p.next()) out.push(p.current().kind + p.current().text);
    assert.deepEqual(out, ["StartElement", "Texté", "EndElement"]);
  });

  it("counts the end of a self-closing tag as a token against maxTokens", () => {
    const p = new XmlParser("<a><b/><b/></a>", { limits: { maxTokens: 4 } });
    const seen: string[] = [];
    const e = outcome(() => {
      while (p.next()) seen.push(p.current().kind);
      return [];
    });
    assert.deepEqual(e, ["LimitExceeded", 1, 8]);
    assert.equal(seen.length, 4);
    assert.equal(tokens("<a><b/><b/></a>", { limits: { maxTokens: 6 } }).length, 6);
  });

  it("enforces limits", () => {
    const cases: [string, XmlParseOptions][] = [
      ["<a><a><a/></a></a>", { limits: { maxDepth: 2 } }],
      ["<a b='1' c='2' d='3'/>", { limits: { maxAttributes: 2 } }],
      ["<abcdefgh/>", { limits: { maxNameLength: 4 } }],
      ["<a>123456</a>", { limits: { maxTextLength: 5 } }],
      ["<a>&lt;&lt;&lt;</a>", { limits: { maxTextLength: 2 } }],
      ["<a><b/><b/><b/></a>", { limits: { maxTokens: 4 } }],
    ];
    for (const [doc, opts] of cases) assert.equal(xmlError(doc, opts).code, "LimitExceeded", doc);
    // An unterminated huge token fed in chunks is refused without buffering forever.
    const p = new XmlParser(undefined, { limits: { maxTextLength: 1000, maxNameLength: 10 } });
    p.feed("<a>");
    assert.throws(() => {
      for (let k = 0; k < 200; k++) {
        p.feed("x".repeat(1000));
        while (p.next());
      }
    }, (e: unknown) => e instanceof XmlParseError && e.code === "LimitExceeded");
  });

  it("bounds the text that entity references expand to in a whole document", () => {
    // Few expansions, each one large: the count limit does not see it, the length limit does.
    const doc = (refs: number, size: number) =>
      `<!DOCTYPE a [<!ENTITY big '${"x".repeat(size)}'>]><a>${"<b>&big;</b>".repeat(refs)}</a>`;
    const limits = { maxEntityExpansionLength: 10_000 };
    assert.equal(
      tokens(doc(10, 1000), { allowDoctype: true, limits }).filter((t) => t.kind === "Text")
        .length,
      10,
    );
    const e = xmlError(doc(11, 1000), { allowDoctype: true, limits });
    assert.equal(e.code, "LimitExceeded");
    assert.equal(e.column, doc(11, 1000).lastIndexOf("&big;") + 1);
    // The default: 65 references to a 1 MiB entity pass 64 Mi.
    const large = doc(65, 1024 * 1024);
    assert.equal(xmlError(large, { allowDoctype: true }).code, "LimitExceeded");
    assert.equal(
      xmlError(large, { allowDoctype: true }).message.includes("maxEntityExpansionLength"),
      true,
    );
  });

  it("is secure with DOCTYPE: internal entities only, billion laughs stopped", () => {
    const ok = tokens(
      "<!DOCTYPE a [<!ENTITY e 'x&amp;y'><!ENTITY f '&e;&e;'><!ELEMENT a ANY>]><a t='&f;'>&f;</a>",
      {
        allowDoctype: true,
      },
    );
    assert.equal(ok[0].kind, TokenKind.Doctype);
    assert.equal(ok[1].attributes[0].value, "x&yx&y");
    assert.equal(ok[2].text, "x&yx&y");
    let lol = "<!DOCTYPE l [<!ENTITY l0 'lol'>";
    for (let k = 1; k < 10; k++) lol += `<!ENTITY l${k} '${`&l${k - 1};`.repeat(10)}'>`;
    lol += "]><l>&l9;</l>";
    assert.equal(xmlError(lol, { allowDoctype: true }).code, "LimitExceeded");
    assert.equal(xmlError(lol).code, "DoctypeNotAllowed");
    const xxe = "<!DOCTYPE a [<!ENTITY x SYSTEM 'file:///etc/passwd'>]><a>&x;</a>";
    assert.equal(xmlError(xxe, { allowDoctype: true }).code, "ExternalEntity");
    assert.equal(
      xmlError("<!DOCTYPE a [<!ENTITY % p SYSTEM 'http://x/'>%p;]><a/>", { allowDoctype: true })
        .code,
      "Unsupported",
    );
    assert.equal(
      xmlError("<!DOCTYPE a [<!ENTITY e '&e;'>]><a>&e;</a>", { allowDoctype: true }).code,
      "RecursiveEntity",
    );
    assert.equal(
      xmlError("<!DOCTYPE a [<!ENTITY e '<b/>'>]><a>&e;</a>", { allowDoctype: true }).code,
      "Unsupported",
    );
    assert.equal(
      xmlError("<!DOCTYPE a [<!ENTITY e 'x'>]><a/><!DOCTYPE a>", { allowDoctype: true }).code,
      "InvalidSyntax",
    );
    assert.equal(
      xmlError("<!DOCTYPE a [<!BOGUS>]><a/>", { allowDoctype: true }).code,
      "InvalidSyntax",
    );
    // An attribute default holds no '<'; an entity used as content no "]]>" (its text would).
    for (
      const doc of [
        "<!DOCTYPE a [<!ATTLIST a b CDATA '<'>]><a/>",
        "<!DOCTYPE a [<!ENTITY e 'x]]>y'>]><a>&e;</a>",
        "<!DOCTYPE a [<?pi'x'?>]><a/>",
      ]
    ) assert.equal(xmlError(doc, { allowDoctype: true }).code, "InvalidSyntax", doc);
    assert.equal(
      xmlError("<!DOCTYPE a [<?p:i x?>]><a/>", { allowDoctype: true }).code,
      "Namespace",
    );
    for (
      const doc of [
        "<!DOCTYPE a [<!ATTLIST a b CDATA '&lt;>'><!NOTATION n SYSTEM 'x<y'>]><a/>",
        "<!DOCTYPE a [<!ENTITY e 'x]]&gt;y'>]><a b='&e;'>&e;</a>",
        '<!DOCTYPE a [<!ELEMENT a (#PCDATA)><!ATTLIST a b CDATA "\'">]><a/>',
        "<!DOCTYPE a [<?pi?><?pi x?><?pi\tx?>]><a/>",
      ]
    ) assert.doesNotThrow(() => tokens(doc, { allowDoctype: true }), doc);
  });

  it("decodeEntities handles predefined and character references", () => {
    assert.equal(
      decodeEntities("a &lt; b &amp;&amp; &#x41;&#66; &apos;&quot;&gt;"),
      "a < b && AB '\">",
    );
    assert.throws(() => decodeEntities("&nope;"), XmlParseError);
    assert.throws(() => decodeEntities("&#1;"), XmlParseError);
  });

  it("decodeEntities places an error by the parser's line ends (LF, CR LF, a lone CR)", () => {
    const at = (text: string) => {
      try {
        decodeEntities(text);
      } catch (e) {
        if (e instanceof XmlParseError) return [e.line, e.column];
      }
      return null;
    };
    assert.deepEqual(at("a\nb\r\nc\rd &nope;"), [4, 3]);
    // The parser reports the same place for the same text in an element.
    let parserAt: number[] | null = null;
    try {
      tokens("<r>a\nb\r\nc\rd &nope;</r>");
    } catch (e) {
      if (e instanceof XmlParseError) parserAt = [e.line, e.column];
    }
    assert.deepEqual(parserAt, [4, 3]);
  });
});

describe("runSax", () => {
  it("calls back per token and routes errors to onError", () => {
    const seen: string[] = [];
    runSax(new XmlParser("<a><!--c--><?p d?>t<![CDATA[x]]><b/></a>"), {
      onStartElement: (t) => seen.push(`+${t.name}`),
      onEndElement: (t) => seen.push(`-${t.name}`),
      onText: (t) => seen.push(`t:${t.text}`),
      onCData: (t) => seen.push(`c:${t.text}`),
      onComment: (t) => seen.push(`!${t.text}`),
      onProcessingInstruction: (t) => seen.push(`?${t.name}`),
    });
    assert.deepEqual(seen, ["+a", "!c", "?p", "t:t", "c:x", "+b", "-b", "-a"]);
    let err: XmlParseError | undefined;
    assert.equal(runSax(new XmlParser("<a></b>"), { onError: (e) => (err = e) }), false);
    assert.equal(err?.code, "MismatchedTag");
    assert.throws(() => runSax(new XmlParser("<a></b>"), {}), XmlParseError);
  });
});

describe("buildDom", () => {
  it("navigates and serializes", () => {
    const doc = buildDom(
      "<?xml version='1.0'?><rss><channel><title>T &amp; U</title><item id='1'>A</item><item id='2'>B</item></channel></rss>",
    );
    const channel = doc.root.childByName("channel")!;
    assert.equal(channel.parent, doc.root);
    assert.equal(channel.childByName("title")!.text(), "T & U");
    assert.deepEqual(channel.childrenByName("item").map((e) => e.getAttribute("id")), ["1", "2"]);
    assert.equal(doc.find("rss/channel/item")!.text(), "A");
    assert.equal(doc.root.findAll("channel/item").length, 2);
    assert.equal(doc.root.findAll("*/*").length, 3);
    assert.equal(
      doc.toString(),
      '<?xml version="1.0"?><rss><channel><title>T &amp; U</title><item id="1">A</item><item id="2">B</item></channel></rss>',
    );
    const ns = buildDom("<a xmlns:p='urn:p' p:x='1'/>").root;
    assert.equal(ns.getAttribute("x", "urn:p"), "1");
    assert.equal(ns.getAttribute("p:x"), "1");
  });

  it("serializes a subtree with the namespace declarations it inherits", () => {
    const doc = buildDom(
      `<r xmlns="urn:d" xmlns:a="urn:a" xmlns:b="urn:b"><x xmlns:b="urn:b2"><a:y a:k="1"/><b:z/></x></r>`,
    );
    const x = doc.root.childByName("x")!;
    const again = buildDom(x.toString()).root;
    assert.equal(again.namespaceUri, "urn:d");
    assert.equal(again.children.length, 2);
    const [y, z] = again.children as XmlElement[];
    assert.equal(y.namespaceUri, "urn:a");
    assert.equal(y.attributes[0].namespaceUri, "urn:a");
    assert.equal(z.namespaceUri, "urn:b2"); // its own declaration wins over the ancestor's
    // The whole document is written as it was, with no declarations added.
    assert.equal(buildDom(doc.toString()).toString(), doc.toString());
    assert.equal(doc.toString().match(/xmlns:b=/g)?.length, 2);
  });

  it("round-trips generated trees: serialize, parse, serialize (property)", () => {
    const name = fc.stringMatching(/^[a-zA-Z_][a-zA-Z0-9._-]{0,6}$/);
    const textArb = fc.string({
      unit: fc.constantFrom(..."ab <>&\"'\t\né\u{1F600}]"),
      maxLength: 12,
    });
    const tree = fc.letrec((tie) => ({
      el: fc.record({
        name,
        attrs: fc.uniqueArray(fc.tuple(name, textArb), { selector: (a) => a[0], maxLength: 3 }),
        children: fc.array(fc.oneof({ depthSize: "small" }, textArb, tie("el")), { maxLength: 4 }),
      }),
    })).el;
    type Gen = { name: string; attrs: [string, string][]; children: (string | Gen)[] };
    const toElement = (g: Gen): XmlElement => {
      const e = new XmlElement(
        g.name,
        g.attrs.map(([n, v]) => ({
          name: n,
          prefix: "",
          localName: n,
          namespaceUri: "",
          value: v,
        })),
      );
      for (const c of g.children) {
        if (typeof c === "string") {
          e.children.push({ kind: "Text", text: c, cdata: false, parent: e });
        } else e.children.push(toElement(c));
      }
      return e;
    };
    fc.assert(
      fc.property(tree, (g) => {
        const s1 = toElement(g as Gen).toString();
        const s2 = buildDom(s1).root.toString();
        assert.equal(s2, buildDom(s2).root.toString());
        assert.equal(buildDom(s1).root.text(), buildDom(s2).root.text());
      }),
      { numRuns: 200 },
    );
  });

  it("mutated and truncated documents only ever raise XmlParseError (fuzz)", () => {
    const seed =
      "<?xml version='1.0'?><!DOCTYPE r [<!ENTITY e 'v'>]><r xmlns:p='urn:p'><p:i a='1 &amp;'>t&e;&#x41;</p:i><![CDATA[c]]><!--k--><?pi x?></r>";
    const alphabet = [..."<>/!?-[]&;#x'\"=: \nabp\u0000\u{1F600}"];
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(seed.length), fc.nat(3), fc.constantFrom(...alphabet)), {
          maxLength: 6,
        }),
        fc.nat(seed.length),
        (edits, cut) => {
          let doc = seed;
          for (const [at, op, ch] of edits) {
            if (op === 0) doc = doc.slice(0, at) + doc.slice(at + 1);
            else if (op === 1) doc = doc.slice(0, at) + ch + doc.slice(at);
            else doc = doc.slice(0, at) + ch + doc.slice(at + 1);
          }
          if (edits.length === 0) doc = doc.slice(0, cut);
          for (const allowDoctype of [true, false]) {
            try {
              buildDom(doc, { allowDoctype });
            } catch (e) {
              if (!(e instanceof XmlParseError)) throw e;
              assert.ok(e.line >= 1 && e.column >= 1);
            }
          }
        },
      ),
      { numRuns: 1500 },
    );
  });
});
