/**
 * XML throughput over the corpus: our pull parser (namespaces on and off) against npm saxes,
 * sax, fast-xml-parser and txml, all from text. Usage: `deno run -A scripts/bench/xml.ts` or
 * `node npm/scripts/bench/xml.js` after the npm build.
 *
 * @module
 */
import { SaxesParser } from "npm:saxes@6.0.0";
import sax from "npm:sax@1.4.1";
import { XMLParser } from "npm:fast-xml-parser@4.5.0";
import { parse as txmlParse } from "npm:txml@5.1.1";
import { buildDom, XmlParser } from "../../parsers/xml/mod.ts";
import { corpus, mbps, mbpsPair, row, runtime } from "./_harness.ts";

for (const f of ["feed.xml", "soap.xml"]) {
  const bytes = await corpus("xml", f);
  const text = new TextDecoder().decode(bytes);
  for (const ns of [true, false]) {
    const label = ns ? "ns" : "no-ns";
    const pair = await mbpsPair(
      bytes.length,
      () => {
        const p = new SaxesParser({ xmlns: ns });
        let n = 0;
        p.on("opentag", () => n++);
        p.on("text", () => n++);
        p.write(text).close();
        return n;
      },
      () => {
        const p = new XmlParser(text, { namespaces: ns });
        let n = 0;
        while (p.next()) n++;
        return n;
      },
    );
    const ours = pair.ours;
    const saxes = pair.peer;
    const saxjs = await mbps(bytes.length, () => {
      const p = sax.parser(true, { xmlns: ns });
      let n = 0;
      p.onopentag = () => n++;
      p.ontext = () => n++;
      p.write(text).close();
      return n;
    });
    row(f, `saxes (${label})`, saxes);
    row(f, `sax (${label})`, saxjs);
    row(f, `XmlParser pull (${label}) vs saxes`, ours, saxes);
    row(f, `XmlParser pull (${label}) vs sax`, ours, saxjs);
  }
  // txml and fast-xml-parser may throw on some inputs; record that instead of a figure.
  const attempt = async (fn: () => unknown): Promise<number> => {
    try {
      fn();
    } catch (e) {
      console.log(`${runtime}  ${f} peer failed: ${(e as Error).message.split("\n")[0]}`);
      return NaN;
    }
    return await mbps(bytes.length, fn);
  };
  const fxp = await attempt(
    () => new XMLParser({ ignoreAttributes: false }).parse(text),
  );
  const tx = await attempt(() => txmlParse(text));
  const dom = await mbps(bytes.length, () => buildDom(text));
  row(f, "fast-xml-parser (object)", fxp);
  row(f, "txml (non-validating, DOM)", tx);
  row(f, "buildDom vs fast-xml-parser", dom, fxp);
  row(f, "buildDom vs txml", dom, tx);
}
