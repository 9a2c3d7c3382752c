import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { UnsupportedError } from "../../core/errors.ts";
import { detectRuntime } from "../../core/platform/mod.ts";
import { availableAdapters, getAdapter } from "../../network/adapters.ts";
import { mapDenoError } from "../../network/deno/tcp.ts";
import { mapNodeError } from "../../network/node/tcp.ts";
import { SharedTransport } from "../../network/shared_transport.ts";
import { TransportError } from "../../network/transport.ts";
import { isDeno } from "../harness.ts";

describe("adapter selection", () => {
  it("defaults to the runtime we run on", () => {
    assert.equal(getAdapter().name, detectRuntime());
    assert.equal(new SharedTransport().runtime, detectRuntime());
  });

  it("offers both adapters under Deno and only Node's under Node", () => {
    assert.deepEqual(availableAdapters(), isDeno ? ["deno", "node"] : ["node"]);
    assert.equal(getAdapter("node").name, "node");
    assert.equal(new SharedTransport({ runtime: "node" }).runtime, "node");
  });

  if (!isDeno) {
    it("refuses the Deno adapter outside Deno", () => {
      assert.throws(() => getAdapter("deno"), (e: unknown) => e instanceof UnsupportedError);
    });
  }
});

describe("socket error mapping", () => {
  const named = (name: string, message = "boom"): Error =>
    Object.assign(new Error(message), { name });
  const coded = (code: string, message = "boom"): Error =>
    Object.assign(new Error(message), { code });
  // Both adapters word each failure alike; only how they recognise it differs.
  const cases: [string, Error, Error, boolean, string, string][] = [
    [
      "refused",
      named("ConnectionRefused"),
      coded("ECONNREFUSED"),
      false,
      "ConnectionRefused",
      "connection refused",
    ],
    ["in use", named("AddrInUse"), coded("EADDRINUSE"), false, "AddressInUse", "address in use"],
    ["timed out", named("TimedOut"), coded("ETIMEDOUT"), false, "ConnectTimeout", "timed out"],
    [
      "bad certificate",
      named("InvalidData", "bad cert"),
      coded("CERT_HAS_EXPIRED", "bad cert"),
      false,
      "TlsHandshake",
      "TLS handshake failed: bad cert",
    ],
    [
      "failure in the TLS phase",
      named("Other"),
      coded("EPIPE"),
      true,
      "TlsHandshake",
      "TLS handshake failed: boom",
    ],
    ["anything else", named("Other"), coded("EPIPE"), false, "ConnectFailed", "boom"],
  ];
  for (const [label, denoError, nodeError, tlsPhase, code, text] of cases) {
    it(`maps ${label} the same on both adapters`, () => {
      for (
        const [mapped, cause] of [
          [mapDenoError(denoError, "connect to h:1", tlsPhase), denoError],
          [mapNodeError(nodeError, "connect to h:1", tlsPhase), nodeError],
        ] as const
      ) {
        assert.ok(mapped instanceof TransportError);
        assert.equal(mapped.code, code);
        assert.equal(mapped.message, `connect to h:1: ${text}`);
        assert.equal(mapped.cause, cause);
      }
    });
  }

  it("maps Deno's AbortError to Aborted and passes a TransportError through", () => {
    assert.equal(mapDenoError(named("AbortError"), "connect", false).message, "connect: aborted");
    const own = new TransportError("Backpressure", "x");
    assert.equal(mapDenoError(own, "connect", false), own);
    assert.equal(mapNodeError(own, "connect", false), own);
  });
});
