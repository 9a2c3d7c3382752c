import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { UnsupportedError } from "../../core/errors.ts";
import { detectRuntime } from "../../core/platform/mod.ts";
import { availableAdapters, getAdapter } from "../../network/adapters.ts";
import { SharedTransport } from "../../network/shared_transport.ts";
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
