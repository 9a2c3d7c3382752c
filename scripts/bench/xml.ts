/**
 * XML throughput over the corpus, from text, in interleaved rounds.
 *
 * Streaming: our pull parser (namespaces on and off) against npm saxes and npm sax with the
 * handlers a real application registers, on both sides: start tag (its name and every
 * attribute's name and value read), end tag (its name read), text (read), and errors (saxes and
 * sax report them to an `error` handler; ours throws a typed error, caught around the loop).
 * Ours is read two ways, each a row: through its cursor (`kind`, `name`, `attributeName(i)`,
 * `attributeValue(i)`, `text`: no object per token) and through `current()` (a token object
 * per token, as saxes and sax hand out).
 *
 * Trees: `buildDom` against npm fast-xml-parser and npm txml, both asked to parse XML as XML
 * (txml with `selfClosingTags: []` and `keepComments`, fast-xml-parser keeping attributes);
 * neither is a conforming, checking parser (txml accepts mismatched end tags), so the ratio
 * prices our strictness.
 *
 * Every case (file × namespaces, file × trees) runs in a fresh process: run in one, the peers
 * are slower without namespaces after a case with them, which would flatter the ratio.
 *
 * Usage: `deno run -A scripts/bench/xml.ts` or `node npm/scripts/bench/xml.js` after the npm
 * build.
 *
 * @module
 */
import { SaxesParser, type SaxesTag } from "npm:saxes@6.0.0";
import sax from "npm:sax@1.6.1";
import { XMLParser } from "npm:fast-xml-parser@5.12.1";
import { parse as txmlParse } from "npm:txml@6.0.3";
import { buildDom, TokenKind, XmlParser } from "../../parsers/xml/mod.ts";
import {
  corpus,
  eachCaseInFreshProcess,
  mbpsRounds,
  row,
  runtime,
  type Stats,
} from "./_harness.ts";

/** What the handlers read, so that no side can skip it. */
let sink = 0;
const see = (s: string): void => {
  sink += s.length;
};

/** One streaming case: `file` read by the three pull/push parsers, namespaces on or off. */
async function streaming(f: string, ns: boolean): Promise<void> {
  const bytes = await corpus("xml", f);
  const text = new TextDecoder().decode(bytes);
  const label = ns ? "ns" : "no-ns";
  const r = await mbpsRounds(bytes.length, {
    saxes: () => {
      const p = new SaxesParser({ xmlns: ns });
      p.on("opentag", (t: SaxesTag) => {
        see(t.name);
        const attrs = t.attributes as Record<string, string | { value: string }>;
        for (const k in attrs) {
          const a = attrs[k];
          see(k);
          see(typeof a === "string" ? a : a.value);
        }
      });
      p.on("closetag", (t) => see(t.name));
      p.on("text", see);
      p.on("error", (e) => {
        throw e;
      });
      p.write(text).close();
    },
    sax: () => {
      const p = sax.parser(true, { xmlns: ns });
      p.onopentag = (t: { name: string; attributes: Record<string, unknown> }) => {
        see(t.name);
        for (const k in t.attributes) {
          const a = t.attributes[k] as string | { value: string };
          see(k);
          see(typeof a === "string" ? a : a.value);
        }
      };
      p.onclosetag = see;
      p.ontext = see;
      p.onerror = (e: Error) => {
        throw e;
      };
      p.write(text).close();
    },
    cursor: () => {
      const p = new XmlParser(text, { namespaces: ns });
      try {
        while (p.next()) {
          const kind = p.kind;
          if (kind === TokenKind.StartElement) {
            see(p.name);
            const n = p.attributeCount;
            for (let i = 0; i < n; i++) {
              see(p.attributeName(i));
              see(p.attributeValue(i));
            }
          } else if (kind === TokenKind.EndElement) see(p.name);
          else if (kind === TokenKind.Text) see(p.text);
        }
      } catch (e) {
        throw e;
      }
    },
    tokens: () => {
      const p = new XmlParser(text, { namespaces: ns });
      try {
        while (p.next()) {
          const t = p.current();
          if (t.kind === TokenKind.StartElement) {
            see(t.name);
            for (const a of t.attributes) {
              see(a.name);
              see(a.value);
            }
          } else if (t.kind === TokenKind.EndElement) see(t.name);
          else if (t.kind === TokenKind.Text) see(t.text);
        }
      } catch (e) {
        throw e;
      }
    },
  });
  row(f, `saxes (${label})`, r.saxes);
  row(f, `sax (${label})`, r.sax);
  row(f, `XmlParser pull, cursor (${label})`, r.cursor);
  row(f, `  vs saxes (${label})`, r.cursor, r.saxes);
  row(f, `  vs sax (${label})`, r.cursor, r.sax);
  row(f, `XmlParser pull, current() (${label})`, r.tokens);
  row(f, `  vs saxes (${label})`, r.tokens, r.saxes);
  row(f, `  vs sax (${label})`, r.tokens, r.sax);
}

/** One tree case: `file` built into a tree by buildDom and the two tree builders. */
async function trees(f: string): Promise<void> {
  const bytes = await corpus("xml", f);
  const text = new TextDecoder().decode(bytes);
  const fxpOptions = { ignoreAttributes: false };
  const txmlOptions = { selfClosingTags: [], keepComments: true };
  // A peer that throws on the file is recorded instead of a figure.
  const peers: Record<string, () => unknown> = {
    fxp: () => new XMLParser(fxpOptions).parse(text),
    txml: () => txmlParse(text, txmlOptions),
  };
  for (const [name, fn] of Object.entries(peers)) {
    try {
      fn();
    } catch (e) {
      console.log(`${runtime}  ${f} ${name} failed: ${(e as Error).message.split("\n")[0]}`);
      delete peers[name];
    }
  }
  const t: Record<string, Stats> = await mbpsRounds(bytes.length, {
    ...peers,
    dom: () => buildDom(text),
  });
  if (t.fxp) row(f, "fast-xml-parser (object)", t.fxp);
  if (t.txml) row(f, "txml (selfClosingTags: [], DOM)", t.txml);
  row(f, "buildDom", t.dom);
  if (t.fxp) row(f, "  vs fast-xml-parser", t.dom, t.fxp);
  if (t.txml) row(f, "  vs txml", t.dom, t.txml);
}

const cases: string[] = [];
for (const f of ["feed.xml", "soap.xml"]) cases.push(`${f}:ns`, `${f}:no-ns`, `${f}:dom`);
await eachCaseInFreshProcess(import.meta.url, cases, async (c) => {
  const [f, kind] = c.split(":");
  if (kind === "dom") await trees(f);
  else await streaming(f, kind === "ns");
});
if (sink < 0) console.log(sink);
