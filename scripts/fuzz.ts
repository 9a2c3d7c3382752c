/**
 * The long fuzz run (`deno task fuzz`): the parsers' property and mutation tests with many more
 * runs than the suite's short ones. Every failure is a fast-check counterexample with a seed.
 * Usage: `deno run -A scripts/fuzz.ts [--runs=20000]`.
 *
 * @module
 */
import fc from "fast-check";
import { JsonParseError, parseJson, stringifyJson, tryParseJson } from "../parsers/json.ts";
import type { JsonValue } from "../parsers/json.ts";
import { JsonStreamParser } from "../parsers/json_stream.ts";
import { buildDom, XmlElement, XmlParseError } from "../parsers/xml/mod.ts";
import { decodeMessage, DnsMessageError, encodeMessage, optRecord } from "../dns/message.ts";

// deno-lint-ignore no-explicit-any
const g = globalThis as any;
const args: string[] = "Deno" in globalThis ? g.Deno.args : g.process.argv.slice(2);
const runs = Number(args.find((a) => a.startsWith("--runs="))?.split("=")[1] ?? "20000");

function same(a: unknown, b: unknown, what: string): void {
  const sa = stringifyJson(a as JsonValue, { sortKeys: true });
  const sb = stringifyJson(b as JsonValue, { sortKeys: true });
  if (sa !== sb) {
    throw new Error(`${what}: ${JSON.stringify(a)} != ${JSON.stringify(b)}`);
  }
}

const jsonChars = fc.constantFrom(...'{}[]:,"\\ 0123456789.eE+-truefalsn\nu\u00e9\ud800');

/** A real-looking DNS response with every typed record, compression and EDNS0. */
function dnsResponse(): Uint8Array {
  const b = { name: "a.example.test", class: 1, ttl: 300 };
  return encodeMessage({
    header: { id: 0x1234, qr: true, aa: true, rd: true, ra: true },
    questions: [{ name: "a.example.test", type: 255 }],
    answers: [
      { kind: "A", type: 1, ...b, address: "192.0.2.1" },
      { kind: "AAAA", type: 28, ...b, address: "2001:db8::1" },
      { kind: "CNAME", type: 5, ...b, target: "b.example.test" },
      { kind: "MX", type: 15, ...b, priority: 10, exchange: "mx.example.test" },
      { kind: "TXT", type: 16, ...b, texts: ["hello", "world"] },
      { kind: "SRV", type: 33, ...b, priority: 1, weight: 2, port: 5060, target: "s.example.test" },
      {
        kind: "NAPTR",
        type: 35,
        ...b,
        order: 1,
        preference: 2,
        flags: "s",
        service: "SIP+D2U",
        regexp: "",
        replacement: "_sip._udp.example.test",
      },
      { kind: "PTR", type: 12, ...b, target: "c.example.test" },
    ],
    authorities: [{
      kind: "SOA",
      type: 6,
      ...b,
      mname: "ns.example.test",
      rname: "admin.example.test",
      serial: 1,
      refresh: 2,
      retry: 3,
      expire: 4,
      minimum: 5,
    }],
    edns: optRecord(1232, [{ code: 10, data: new Uint8Array(8) }]),
  });
}

function dnsDecodeOnlyThrowsMessageError(bytes: Uint8Array): void {
  try {
    decodeMessage(bytes);
  } catch (e) {
    if (!(e instanceof DnsMessageError)) throw e;
  }
}

const checks: [string, () => void][] = [
  // 25 x runs each (10^6 cases in all at the default 20,000 runs).
  ["dns: random bytes only raise DnsMessageError", () =>
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 12, maxLength: 300 }),
        dnsDecodeOnlyThrowsMessageError,
      ),
      { numRuns: runs * 25 },
    )],
  ["dns: mutated real responses only raise DnsMessageError", () => {
    const real = dnsResponse();
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(real.length - 1), fc.nat(255)), { minLength: 1, maxLength: 8 }),
        fc.nat(real.length),
        (edits, cut) => {
          const b = real.slice(0, Math.max(12, cut));
          for (const [at, v] of edits) if (at < b.length) b[at] = v;
          dnsDecodeOnlyThrowsMessageError(b);
        },
      ),
      { numRuns: runs * 25 },
    );
  }],
  ["json: agrees with JSON.parse on random text", () =>
    fc.assert(
      fc.property(fc.array(jsonChars, { maxLength: 60 }).map((a) => a.join("")), (t) => {
        let ok = true;
        try {
          JSON.parse(t);
        } catch {
          ok = false;
        }
        if (tryParseJson(t).ok !== ok) throw new Error(`disagreement on ${JSON.stringify(t)}`);
        if (!ok && tryParseJson(t, { rejectDuplicateKeys: true }).ok) {
          throw new Error(`exact parser accepted ${t}`);
        }
      }),
      { numRuns: runs },
    )],
  ["json: stringify/parse round trip", () =>
    fc.assert(
      fc.property(fc.jsonValue(), fc.boolean(), fc.nat(4), (v, sortKeys, indent) => {
        const s = stringifyJson(v as JsonValue, { sortKeys, indent });
        same(parseJson(s), JSON.parse(JSON.stringify(v)), "round trip");
      }),
      { numRuns: Math.ceil(runs / 4) },
    )],
  ["json stream: mutated documents only raise JsonParseError", () =>
    fc.assert(
      fc.property(
        fc.jsonValue(),
        fc.array(fc.tuple(fc.nat(), jsonChars)),
        fc.array(fc.nat(), { maxLength: 5 }),
        (v, edits, cuts) => {
          let t = JSON.stringify([v]);
          for (const [at, ch] of edits) {
            const k = at % (t.length + 1);
            t = t.slice(0, k) + ch + t.slice(k + 1);
          }
          const p = new JsonStreamParser();
          let last = 0;
          try {
            for (
              const c of [...cuts.map((c) => c % (t.length + 1)).sort((a, b) => a - b), t.length]
            ) {
              p.write(t.slice(last, c));
              last = c;
            }
            p.end();
          } catch (e) {
            if (!(e instanceof JsonParseError)) {
              throw e;
            }
          }
        },
      ),
      { numRuns: Math.ceil(runs / 4) },
    )],
  ["xml: mutated documents only raise XmlParseError", () => {
    const seed =
      "<?xml version='1.0'?><!DOCTYPE r [<!ENTITY e 'v&#38;'>]><r xmlns:p='urn:p'><p:i a='1 &amp;'>t&e;&#x41;</p:i><![CDATA[c]]><!--k--><?pi x?></r>";
    const alphabet = [..."<>/!?-[]&;#x'\"=: \nabp%\u0000\u{1F600}"];
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(seed.length), fc.nat(2), fc.constantFrom(...alphabet)), {
          maxLength: 8,
        }),
        (edits) => {
          let doc = seed;
          for (const [at, op, ch] of edits) {
            doc = op === 0
              ? doc.slice(0, at) + doc.slice(at + 1)
              : op === 1
              ? doc.slice(0, at) + ch + doc.slice(at)
              : doc.slice(0, at) + ch + doc.slice(at + 1);
          }
          for (const allowDoctype of [true, false]) {
            try {
              buildDom(doc, { allowDoctype });
            } catch (e) {
              if (!(e instanceof XmlParseError)) throw e;
            }
          }
        },
      ),
      { numRuns: runs },
    );
  }],
  ["xml: generated trees round-trip", () => {
    const name = fc.stringMatching(/^[a-zA-Z_][a-zA-Z0-9._-]{0,6}$/);
    const text = fc.string({ unit: fc.constantFrom(..."ab <>&\"'\t\né\u{1F600}]"), maxLength: 12 });
    const tree = fc.letrec((tie) => ({
      el: fc.record({
        name,
        attrs: fc.uniqueArray(fc.tuple(name, text), { selector: (a) => a[0], maxLength: 3 }),
        children: fc.array(fc.oneof({ depthSize: "small" }, text, tie("el")), { maxLength: 4 }),
      }),
    })).el;
    type Gen = { name: string; attrs: [string, string][]; children: (string | Gen)[] };
    const build = (gen: Gen): XmlElement => {
      const e = new XmlElement(
        gen.name,
        gen.attrs.map(([n, v]) => ({
          name: n,
          prefix: "",
          localName: n,
          namespaceUri: "",
          value: v,
        })),
      );
      for (const c of gen.children) {
        e.children.push(
          typeof c === "string" ? { kind: "Text", text: c, cdata: false, parent: e } : build(c),
        );
      }
      return e;
    };
    fc.assert(
      fc.property(tree, (t) => {
        const s1 = buildDom(build(t as Gen).toString()).root.toString();
        const s2 = buildDom(s1).root.toString();
        if (s1 !== s2) throw new Error(`round trip changed ${s1} into ${s2}`);
      }),
      { numRuns: Math.ceil(runs / 4) },
    );
  }],
];

let failed = 0;
for (const [name, check] of checks) {
  const t0 = performance.now();
  try {
    check();
    console.log(`ok   ${name} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${name}\n${e instanceof Error ? e.message : String(e)}`);
  }
}
if (failed > 0) throw new Error(`${failed} fuzz check(s) failed`);
