// The frames between the host and a sandbox process: reassembled across
// any cut, bounded in size, copies of the values, and a clear error for
// what cannot cross or is not a frame.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { encodeFrame, FrameReader, SandboxWireError } from "../../service/_sandbox_wire.ts";

const MAX = 1 << 20;

describe("sandbox wire frames", () => {
  it("round-trips JSON values and byte arrays through frames cut anywhere", () => {
    fc.assert(
      fc.property(
        fc.array(fc.jsonValue(), { minLength: 1, maxLength: 5 }),
        fc.array(fc.integer({ min: 1, max: 64 }), { maxLength: 20 }),
        (values, cuts) => {
          const bytes = concat(values.map((v) => encodeFrame({ v }, MAX)));
          const reader = new FrameReader(MAX);
          const out: unknown[] = [];
          let at = 0;
          for (const cut of [...cuts, bytes.length]) {
            out.push(...reader.push(bytes.subarray(at, Math.min(bytes.length, at + cut))));
            at = Math.min(bytes.length, at + cut);
          }
          out.push(...reader.push(bytes.subarray(at)));
          // JSON's own normalisation (-0 becomes 0) is what a sandbox sees too.
          assert.deepEqual(out, values.map((v) => JSON.parse(JSON.stringify({ v }))));
          assert.equal(reader.buffered, 0);
        },
      ),
    );
    const shared = new Int32Array(new SharedArrayBuffer(8));
    shared[1] = 7;
    const [message] = new FrameReader(MAX).push(
      encodeFrame({ bytes: new Uint8Array([1, 2, 255]), shared }, MAX),
    ) as { bytes: Uint8Array; shared: Uint8Array }[];
    assert.deepEqual(message.bytes, new Uint8Array([1, 2, 255]));
    assert.ok(!(message.shared.buffer instanceof SharedArrayBuffer), "a copy, not shared memory");
    assert.equal(new DataView(message.shared.buffer).getInt32(4, true), 7);
  });

  it("refuses what JSON would drop or mangle, and messages over the limit", () => {
    for (const value of [() => 1, Symbol("s"), new Map([[1, 2]]), new Set([1]), 10n]) {
      assert.throws(() => encodeFrame({ value }, MAX), SandboxWireError);
    }
    assert.throws(() => encodeFrame("x".repeat(101), 100), /exceeds the 100-byte limit/);
    assert.throws(() => encodeFrame("é".repeat(60), 100), /exceeds the 100-byte limit/);
    assert.equal(encodeFrame("é".repeat(40), 100).length, 4 + 82);
  });

  it("a frame announcing more than the limit, or holding bad UTF-8 or JSON, is an error", () => {
    const header = (n: number) => {
      const h = new Uint8Array(4);
      new DataView(h.buffer).setUint32(0, n);
      return h;
    };
    assert.throws(() => new FrameReader(100).push(header(101)), /exceeds the 100-byte limit/);
    assert.throws(
      () => new FrameReader(100).push(concat([header(2), new Uint8Array([0xc3, 0x28])])),
      /not valid UTF-8/,
    );
    assert.throws(
      () => new FrameReader(100).push(concat([header(2), new TextEncoder().encode("{x")])),
      /not valid JSON/,
    );
    // A huge announced length is refused before any memory is spent on it.
    const reader = new FrameReader(MAX);
    assert.throws(() => reader.push(header(0xffffffff)), SandboxWireError);
  });
});

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
