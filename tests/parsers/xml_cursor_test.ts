// The XML pull parser's cursor (kind, name, text, attributeName(i), ...) against its token
// objects (current()): the same tokens, positions and errors, over the shared test documents and
// the corpus, whole and fed in chunks; and the cursor's own contract.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { platform } from "../../core/platform/mod.ts";
import { TokenKind, XmlParseError, XmlParser } from "../../parsers/xml/mod.ts";
import type { XmlAttribute, XmlParseOptions, XmlToken } from "../../parsers/xml/mod.ts";
import { MALFORMED, WELL_FORMED } from "./_xml_documents.ts";

/** How a test reads each token. */
type Reading =
  | "current" // current() only
  | "cursor" // the accessors only, line and column included
  | "unplaced" // the accessors only, never a position (lines are counted only for errors)
  | "both"; // current() and the accessors of each token, which must agree

type Outcome = { tokens: XmlToken[]; error?: [string, number, number] };

/** The current token read through the cursor (line and column 0 when `placed` is false). */
function fromCursor(p: XmlParser, placed: boolean): XmlToken {
  const attributes: XmlAttribute[] = [];
  for (let i = 0; i < p.attributeCount; i++) {
    attributes.push({
      name: p.attributeName(i),
      prefix: p.attributePrefix(i),
      localName: p.attributeLocalName(i),
      namespaceUri: p.attributeNamespaceUri(i),
      value: p.attributeValue(i),
    });
  }
  return {
    kind: p.kind,
    name: p.name,
    prefix: p.prefix,
    localName: p.localName,
    namespaceUri: p.namespaceUri,
    attributes,
    text: p.text,
    selfClosing: p.selfClosing,
    line: placed ? p.line : 0,
    column: placed ? p.column : 0,
  };
}

function take(p: XmlParser, how: Reading, out: XmlToken[]): void {
  while (p.next()) {
    if (how === "current") out.push(p.current());
    else if (how === "both") {
      const t = p.current();
      // Compared as plain data: current() gives the shared empty array for tokens without
      // attributes, the cursor a new one.
      assert.deepEqual({ ...fromCursor(p, true), attributes: [...t.attributes] }, {
        ...t,
        attributes: [...t.attributes],
      });
      out.push(t);
    } else out.push(fromCursor(p, how === "cursor"));
  }
}

/** Reads `doc` whole, or fed in pieces of `chunk` characters. */
function read(doc: string, how: Reading, options?: XmlParseOptions, chunk?: number): Outcome {
  const tokens: XmlToken[] = [];
  try {
    if (chunk === undefined) take(new XmlParser(doc, options), how, tokens);
    else {
      const p = new XmlParser(undefined, options);
      for (let k = 0; k < doc.length; k += chunk) {
        p.feed(doc.slice(k, k + chunk));
        take(p, how, tokens);
      }
      p.end();
      take(p, how, tokens);
    }
  } catch (e) {
    if (!(e instanceof XmlParseError)) throw e;
    return { tokens, error: [e.code, e.line, e.column] };
  }
  return { tokens };
}

/** Token objects as plain data, without positions when `placed` is false. */
function plain(tokens: XmlToken[], placed = true): XmlToken[] {
  return tokens.map((t) => ({
    ...t,
    attributes: t.attributes.map((a) => ({ ...a })),
    line: placed ? t.line : 0,
    column: placed ? t.column : 0,
  }));
}

/** deepEqual, by JSON text for long token lists (the same check, done faster). */
function sameTokens(actual: XmlToken[], expected: XmlToken[], label: string): void {
  if (expected.length < 1000) assert.deepEqual(actual, expected, label);
  else assert.ok(JSON.stringify(actual) === JSON.stringify(expected), label);
}

/**
 * Checks that every way of reading `doc` gives what current() gives (`both`: also token by token,
 * slower).
 */
function agree(doc: string, options?: XmlParseOptions, chunk?: number, both = true): Outcome {
  const expected = read(doc, "current", options, chunk);
  const label = `${doc.slice(0, 60)} ${JSON.stringify(options)} chunk ${chunk}`;
  const cursor = read(doc, "cursor", options, chunk);
  sameTokens(plain(cursor.tokens), plain(expected.tokens), label);
  assert.deepEqual(cursor.error, expected.error, label);
  const unplaced = read(doc, "unplaced", options, chunk);
  sameTokens(plain(unplaced.tokens, false), plain(expected.tokens, false), label);
  assert.deepEqual(unplaced.error, expected.error, label);
  if (both) assert.deepEqual(read(doc, "both", options, chunk).error, expected.error, label);
  return expected;
}

/** Reads up to the next token named `name`. */
function skipTo(p: XmlParser, name: string): void {
  while (p.next() && p.name !== name);
}

/** Documents that exercise DOCTYPE entities and declared attribute defaults. */
const WITH_DOCTYPE = [
  "<!DOCTYPE r [<!ENTITY e 'E'>" +
  "<!ATTLIST r a CDATA 'x&e;\ty' b NMTOKENS '  p   q ' c ID #IMPLIED d CDATA #FIXED 'f'>]>" +
  "\n<r c='  k  l '>&e;<r a='given'/>\n</r>",
  "<!DOCTYPE html [<!ATTLIST html xmlns CDATA #FIXED 'urn:x' xmlns:p CDATA 'urn:p'>]>" +
  "<html><p:b p:c='1'/></html>",
  "<!DOCTYPE a [<!ENTITY e 'v'>]><a>&e;&undefined;</a>",
];

/** The corpus beside the repository (found from the source tree and from the npm build). */
async function corpus(name: string): Promise<string | undefined> {
  for (const rel of ["../../../shared/corpus/xml/", "../../../../shared/corpus/xml/"]) {
    const url = new URL(rel + name, import.meta.url);
    try {
      return await platform().readTextFile(decodeURIComponent(url.pathname));
    } catch {
      // try the next location
    }
  }
  return undefined;
}

const feed = await corpus("feed.xml");
const soap = await corpus("soap.xml");
const noCorpus = feed === undefined || soap === undefined
  ? "the corpus is not beside the repository"
  : false;

describe("XmlParser cursor", () => {
  it("reads the shared test documents as current() does, with namespaces on and off", () => {
    for (const doc of [...WELL_FORMED, ...MALFORMED.map(([d]) => d)]) {
      for (const namespaces of [true, false]) {
        agree(doc, { namespaces });
        agree(doc, { namespaces }, 3);
      }
    }
    for (const doc of WITH_DOCTYPE) {
      for (const namespaces of [true, false]) {
        agree(doc, { namespaces, allowDoctype: true });
        agree(doc, { namespaces, allowDoctype: true }, 5);
      }
    }
  });

  it("gives every kind of token and its fields", () => {
    const doc = "<?xml version='1.0' encoding='UTF-8'?>\n<!DOCTYPE r [<!ENTITY e 'E'>]>" +
      "<?pi data?><r xmlns='urn:d' xmlns:p='urn:p'><!--c--><p:i p:k='a&e;'>t&amp;&e;" +
      "<![CDATA[<&]]></p:i><e/></r>";
    const out = agree(doc, { allowDoctype: true });
    assert.deepEqual(
      out.tokens.map((t) => [t.kind, t.name, t.text]),
      [
        [TokenKind.XmlDeclaration, "xml", ""],
        [TokenKind.Doctype, "r", "<!ENTITY e 'E'>"],
        [TokenKind.ProcessingInstruction, "pi", "data"],
        [TokenKind.StartElement, "r", ""],
        [TokenKind.Comment, "", "c"],
        [TokenKind.StartElement, "p:i", ""],
        [TokenKind.Text, "", "t&E"],
        [TokenKind.CData, "", "<&"],
        [TokenKind.EndElement, "p:i", ""],
        [TokenKind.StartElement, "e", ""],
        [TokenKind.EndElement, "e", ""],
        [TokenKind.EndElement, "r", ""],
      ],
    );
    const p = new XmlParser(doc, { allowDoctype: true });
    p.next();
    assert.deepEqual([p.attributeCount, p.attributeName(1), p.attributeValue(1)], [
      2,
      "encoding",
      "UTF-8",
    ]);
    skipTo(p, "p:i");
    assert.deepEqual(
      [p.prefix, p.localName, p.namespaceUri, p.line, p.column],
      ["p", "i", "urn:p", 2, 83],
    );
    assert.equal(p.getAttribute("p:k"), "aE");
    assert.equal(p.getAttribute("k", "urn:p"), "aE");
    assert.equal(p.getAttribute("k"), undefined);
    assert.deepEqual(p.attributes(), p.current().attributes);
    skipTo(p, "e");
    assert.equal(p.selfClosing, true);
    p.next();
    assert.deepEqual([p.kind, p.selfClosing, p.attributeCount], [TokenKind.EndElement, false, 0]);
  });

  it("places errors alike whether or not positions were asked for", () => {
    const body = "<r>\n" + "  <i a='1'>text &amp; more</i>\n".repeat(50);
    for (
      const doc of [
        body + "  <i a='1' a='2'/>\n</r>",
        body + "  <i>\u0001</i>\n</r>",
        body + "  </x>\n</r>",
        body,
      ]
    ) {
      const e = agree(doc).error;
      assert.ok(e !== undefined && e[1] === 52, JSON.stringify(e));
      agree(doc, undefined, 7);
    }
  });

  it("keeps the last token when next() stops for more input, and its token objects", () => {
    const p = new XmlParser();
    p.feed("<a x='1'><b y='2");
    assert.equal(p.next(), true);
    const a = p.current();
    assert.equal(p.next(), false);
    assert.equal(p.needsInput, true);
    assert.deepEqual([p.kind, p.name, p.attributeCount, p.attributeValue(0)], [
      TokenKind.StartElement,
      "a",
      1,
      "1",
    ]);
    p.feed("'/></a>");
    p.end();
    assert.equal(p.next(), true);
    assert.deepEqual([p.name, p.attributeValue(0), p.column], ["b", "2", 10]);
    // A token object is a copy: later tokens leave it as it was.
    assert.deepEqual([a.name, a.attributes[0].value, a.column], ["a", "1", 1]);
  });

  it("keeps the last token's position after an error further on", () => {
    const p = new XmlParser("<r>\n  <a x='1'/>\n\n\n  </b>");
    const placed: [string, number, number][] = [];
    assert.throws(() => {
      while (p.next()) placed.push([p.kind, p.line, p.column]);
    }, XmlParseError);
    const [kind, line, column] = placed[placed.length - 1];
    assert.deepEqual([p.kind, p.line, p.column], [kind, line, column]);
    const q = new XmlParser("<r>\n  <a x='1'/>\n\n\n  </b>");
    assert.throws(() => {
      while (q.next());
    }, XmlParseError);
    // Never asked for before the error: counted from the same lines.
    assert.deepEqual([q.kind, q.name, q.line, q.column], [TokenKind.Text, "", 2, 13]);
    assert.equal(q.current().line, 2);
  });

  it("refuses reads before the first token and out of range", () => {
    const p = new XmlParser("<a x='1'/>");
    assert.throws(() => p.kind, TypeError);
    assert.throws(() => p.name, TypeError);
    assert.throws(() => p.attributeCount, TypeError);
    assert.throws(() => p.current(), TypeError);
    p.next();
    assert.throws(() => p.attributeName(1), RangeError);
    assert.throws(() => p.attributeValue(-1), RangeError);
    assert.equal(p.attributeName(0), "x");
  });

  it("reads the corpus as current() does, whole and in chunks", { skip: noCorpus }, () => {
    for (const doc of [feed!, soap!]) {
      const whole = agree(doc, { namespaces: true }, undefined, false);
      assert.equal(whole.error, undefined);
      assert.ok(whole.tokens.length > 10000);
      // Chunks that make the parser drop consumed input many times.
      agree(doc, { namespaces: false }, 40000, false);
      // An error near the end, placed by lines counted only then.
      const at = doc.lastIndexOf("</");
      const bad = doc.slice(0, at) + "<x a='1' a='2'/>" + doc.slice(at);
      const e = agree(bad, { namespaces: false }, undefined, false).error;
      assert.equal(e?.[0], "DuplicateAttribute");
      assert.equal(e?.[1], bad.slice(0, at).split("\n").length);
    }
  });
});
