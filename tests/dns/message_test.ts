// The DNS wire codec: round trips of every typed record, hostile input, and a
// short fast-check fuzz of the decoder (the long one is `deno task fuzz`).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  decodeMessage,
  DnsMessageError,
  type DnsRecord,
  encodeMessage,
  encodeQuery,
  optRecord,
  parseIpv6,
  questionMatches,
  reverseName,
  sameName,
  validateName,
} from "../../dns/mod.ts";

const base = { class: 1, ttl: 300 };
const records: DnsRecord[] = [
  { kind: "A", name: "a.test", type: 1, ...base, address: "192.0.2.1" },
  { kind: "AAAA", name: "a.test", type: 28, ...base, address: "2001:db8::1" },
  { kind: "AAAA", name: "a.test", type: 28, ...base, address: "::" },
  { kind: "AAAA", name: "a.test", type: 28, ...base, address: "1:0:2:0:3:0:4:5" },
  { kind: "NS", name: "test", type: 2, ...base, target: "ns.a.test" },
  { kind: "CNAME", name: "www.a.test", type: 5, ...base, target: "a.test" },
  { kind: "PTR", name: "1.2.0.192.in-addr.arpa", type: 12, ...base, target: "a.test" },
  { kind: "MX", name: "a.test", type: 15, ...base, priority: 10, exchange: "mx.a.test" },
  { kind: "TXT", name: "a.test", type: 16, ...base, texts: ["hello", "", "wörld"] },
  {
    kind: "SOA",
    name: "test",
    type: 6,
    ...base,
    mname: "ns.test",
    rname: "admin.test",
    serial: 4294967295,
    refresh: 3600,
    retry: 600,
    expire: 86400,
    minimum: 30,
  },
  {
    kind: "SRV",
    name: "_sip._udp.a.test",
    type: 33,
    ...base,
    priority: 1,
    weight: 2,
    port: 5060,
    target: "sip.a.test",
  },
  {
    kind: "NAPTR",
    name: "a.test",
    type: 35,
    ...base,
    order: 10,
    preference: 20,
    flags: "s",
    service: "SIP+D2U",
    regexp: "!^.*$!sip:x@a.test!",
    replacement: "_sip._udp.a.test",
  },
  { kind: "generic", name: "a.test", type: 99, ...base, data: new Uint8Array([1, 2, 3]) },
  { kind: "A", name: "we\\.ird\\032\\\\.test", type: 1, ...base, address: "192.0.2.9" },
];

function response(answers: DnsRecord[] = records): Uint8Array {
  return encodeMessage({
    header: { id: 0xbeef, qr: true, aa: true, rd: true, ra: true },
    questions: [{ name: "a.test", type: 1 }],
    answers,
    authorities: [records[9]],
    additionals: [records[0]],
    edns: optRecord(1232, [{ code: 10, data: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]) }]),
  });
}

function malformedAt(bytes: Uint8Array): DnsMessageError {
  try {
    decodeMessage(bytes);
  } catch (e) {
    assert.ok(e instanceof DnsMessageError, `not a DnsMessageError: ${e}`);
    assert.equal(e.code, "Malformed");
    return e;
  }
  assert.fail("decoded a malformed message");
}

/** A header with one question whose name starts at offset 12 with `name` bytes. */
function withName(name: number[], tail: number[] = [0, 1, 0, 1]): Uint8Array {
  return Uint8Array.from([0, 1, 0x81, 0, 0, 1, 0, 0, 0, 0, 0, 0, ...name, ...tail]);
}

describe("dns message codec", () => {
  it("round-trips every typed record, compressed and not", () => {
    for (const compress of [true, false]) {
      const bytes = encodeMessage({
        header: { id: 7, qr: true, rcode: 3 },
        questions: [{ name: "a.test", type: 1 }],
        answers: records,
        compress,
      });
      const m = decodeMessage(bytes);
      assert.equal(m.header.id, 7);
      assert.equal(m.rcode, 3);
      assert.deepEqual(m.answers, records);
    }
    const plain = encodeMessage({ answers: records, compress: false }).length;
    assert.ok(encodeMessage({ answers: records }).length < plain, "compression saves space");
  });

  it("decodes header flags, sections and EDNS0", () => {
    const m = decodeMessage(response());
    assert.deepEqual(
      [m.header.qr, m.header.aa, m.header.tc, m.header.rd, m.header.ra],
      [true, true, false, true, true],
    );
    assert.equal(m.answers.length, records.length);
    assert.equal(m.authorities[0].kind, "SOA");
    assert.equal(m.additionals.length, 1);
    assert.equal(m.edns?.udpPayloadSize, 1232);
    assert.deepEqual(m.edns?.options[0].data, new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]));
  });

  it("encodes queries with and without EDNS0", () => {
    const q = { name: "Example.COM", type: 28 };
    const m = decodeMessage(encodeQuery(0xffff, q, { udpPayloadSize: 1232 }));
    assert.equal(m.header.id, 0xffff);
    assert.equal(m.header.rd, true);
    assert.equal(m.edns?.udpPayloadSize, 1232);
    assert.deepEqual(m.questions, [{ name: "Example.COM", type: 28, class: 1 }]);
    const plain = encodeQuery(1, q, { recursionDesired: false });
    assert.equal(decodeMessage(plain).edns, null);
    assert.equal(decodeMessage(plain).header.rd, false);
    assert.ok(questionMatches(plain, { name: "example.com.", type: 28 }));
    assert.ok(!questionMatches(plain, { name: "example.org", type: 28 }));
    assert.ok(!questionMatches(plain, { name: "example.com", type: 1 }));
    assert.ok(!questionMatches(new Uint8Array(5), q));
  });

  it("refuses names it cannot encode", () => {
    assert.throws(() => validateName("a".repeat(64) + ".test"), DnsMessageError);
    assert.throws(() => validateName(Array(128).fill("a").join(".")), DnsMessageError);
    assert.throws(() => validateName("a..test"), DnsMessageError);
    validateName(Array(127).fill("a").join(".")); // 254 octets on the wire incl. root: fits
    validateName("a".repeat(63) + ".test.");
  });

  it("rejects forward, self and looping compression pointers with their offset", () => {
    assert.equal(malformedAt(withName([0xc0, 12])).offset, 12); // points at itself
    assert.equal(malformedAt(withName([0xc0, 30])).offset, 12); // points forwards
    // A label, then a pointer back to the label: a loop, refused as not strictly backwards.
    assert.equal(malformedAt(withName([1, 0x61, 0xc0, 12])).offset, 14);
    // Two names pointing at each other across the question and an answer.
    const loop = Uint8Array.from([
      0,
      1,
      0x81,
      0,
      0,
      1,
      0,
      1,
      0,
      0,
      0,
      0,
      1,
      0x61,
      0xc0,
      18,
      0,
      1, // question name: "a" then pointer to 18 (forward)
    ]);
    assert.ok(malformedAt(loop).message.includes("backwards"));
    assert.equal(malformedAt(withName([0x40, 0])).offset, 12); // reserved label type
    assert.equal(malformedAt(withName([0x80, 0])).offset, 12);
  });

  it("bounds labels, names and every length", () => {
    malformedAt(withName([5, 0x61]));
    malformedAt(withName([0xc0]));
    // 128 one-octet labels: 256 octets.
    const long = Array(128).fill([1, 0x61]).flat();
    assert.ok(malformedAt(withName([...long, 0])).message.includes("255"));
    const full = response();
    for (let cut = 0; cut < full.length; cut++) {
      malformedAt(full.subarray(0, cut));
    }
    // An rdlength running past the end.
    const a = encodeMessage({ answers: [records[0]] });
    const bad = a.slice();
    bad[a.length - 5] = 9;
    malformedAt(bad);
    // An A record of 5 octets.
    const five = Uint8Array.from([...a.subarray(0, a.length - 6), 0, 5, 1, 2, 3, 4, 5]);
    assert.ok(malformedAt(five).message.includes("5 octets"));
    // TXT string longer than its record.
    const txt = encodeMessage({ answers: [records[8]] });
    txt[txt.length - 1 - 6] = 200; // inflate the last string's length
    malformedAt(txt);
  });

  it("parses IPv6, reverse names and compares names", () => {
    assert.equal(parseIpv6("::ffff:192.0.2.1")?.[12], 192);
    assert.equal(parseIpv6("1::2::3"), null);
    assert.equal(parseIpv6("12345::"), null);
    assert.equal(parseIpv6("192.0.2.1"), null);
    assert.equal(reverseName("192.0.2.10"), "10.2.0.192.in-addr.arpa");
    assert.equal(
      reverseName("2001:db8::1"),
      "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa",
    );
    assert.equal(reverseName("example.com"), null);
    assert.equal(reverseName("300.1.1.1"), null);
    assert.ok(sameName("A.Test.", "a.test"));
    assert.ok(!sameName("a.test", "b.test"));
  });

  it("fuzz: random bytes and mutated responses only raise DnsMessageError", () => {
    const real = response();
    const check = (bytes: Uint8Array): void => {
      try {
        decodeMessage(bytes);
      } catch (e) {
        if (!(e instanceof DnsMessageError)) throw e;
      }
    };
    fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), check), { numRuns: 3000 });
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(real.length - 1), fc.integer({ min: 0, max: 255 })), {
          minLength: 1,
          maxLength: 6,
        }),
        fc.nat(real.length),
        (edits, cut) => {
          const b = real.slice(0, Math.max(12, cut));
          for (const [at, v] of edits) if (at < b.length) b[at] = v;
          check(b);
        },
      ),
      { numRuns: 5000 },
    );
  });
});
