// Length-prefixed framing (network/length_prefixed_frames.ts): frames cut anywhere, trickled
// byte by byte, many in one chunk, and lengths over the limit.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { FrameTooLargeError, LengthPrefixedFrames } from "../../network/length_prefixed_frames.ts";

function framed(prefixBytes: 2 | 4, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(prefixBytes + body.length);
  const view = new DataView(out.buffer);
  if (prefixBytes === 2) view.setUint16(0, body.length);
  else view.setUint32(0, body.length);
  out.set(body, prefixBytes);
  return out;
}

describe("LengthPrefixedFrames", () => {
  it("reassembles a 65535-byte frame trickled one byte at a time, holding one frame at most", () => {
    const body = Uint8Array.from({ length: 0xffff }, (_, i) => i % 251);
    const wire = framed(2, body);
    const frames = new LengthPrefixedFrames(2, 0xffff);
    const got: Uint8Array[] = [];
    let most = 0;
    for (let i = 0; i < wire.length; i++) {
      frames.push(wire.subarray(i, i + 1), (f) => got.push(f.slice()));
      most = Math.max(most, frames.buffered);
    }
    assert.equal(got.length, 1);
    assert.deepEqual(got[0], body);
    assert.equal(frames.buffered, 0);
    assert.ok(most <= wire.length, `held ${most} bytes`);
  });

  it("hands out every frame of one chunk in order, and keeps the partial one", () => {
    const bodies = [new Uint8Array([1]), new Uint8Array(0), new Uint8Array([2, 3, 4])];
    const parts = bodies.map((b) => framed(4, b));
    const partial = framed(4, new Uint8Array([9, 9]));
    const chunk = new Uint8Array([...parts.flatMap((p) => [...p]), ...partial.subarray(0, 5)]);
    const frames = new LengthPrefixedFrames(4, 100);
    const got: number[][] = [];
    frames.push(chunk, (f) => got.push([...f]));
    assert.deepEqual(got, [[1], [], [2, 3, 4]]);
    assert.equal(frames.buffered, 5);
    frames.push(partial.subarray(5), (f) => got.push([...f]));
    assert.deepEqual(got.at(-1), [9, 9]);
    assert.equal(frames.buffered, 0);
  });

  it("refuses a length over the limit before buffering its body, 2- and 4-byte prefixes", () => {
    const small = new LengthPrefixedFrames(2, 10);
    assert.throws(
      () => small.push(new Uint8Array([0, 11]), () => assert.fail("no frame")),
      (e: unknown) => e instanceof FrameTooLargeError && e.size === 11 && e.maxBytes === 10,
    );
    const big = new LengthPrefixedFrames(4, 1 << 20);
    assert.throws(
      () => big.push(new Uint8Array([0xff, 0xff, 0xff, 0xff]), () => assert.fail("no frame")),
      (e: unknown) => e instanceof FrameTooLargeError && e.size === 0xffffffff,
    );
  });

  it("drops the frames already handed out when a handler throws", () => {
    const frames = new LengthPrefixedFrames(2, 100);
    const wire = new Uint8Array([
      ...framed(2, new Uint8Array([1])),
      ...framed(2, new Uint8Array([2])),
    ]);
    assert.throws(() =>
      frames.push(wire, () => {
        throw new Error("bad frame");
      }), /bad frame/);
    assert.equal(frames.buffered, 3, "the first frame is gone, the second is kept");
  });
});
