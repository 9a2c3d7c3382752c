import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { ApiRegistry, MAX_API_NAME_LENGTH } from "../../service/api_registry.ts";
import { ApiUnavailableError, PluginError } from "../../service/errors.ts";

describe("ApiRegistry", () => {
  it("refuses another owner's name, bad names and non-functions", () => {
    const registry = new ApiRegistry();
    registry.exportApi("a", "x.f", () => 1);
    assert.throws(() => registry.exportApi("b", "x.f", () => 2), (e: unknown) => {
      assert.ok(e instanceof PluginError);
      assert.equal(e.code, "ApiConflict");
      assert.match(e.message, /already exported by module "a"/);
      return true;
    });
    assert.throws(() => registry.exportApi("a", "", () => 1), { code: "InvalidApi" });
    assert.throws(
      () => registry.exportApi("a", "x".repeat(MAX_API_NAME_LENGTH + 1), () => 1),
      { code: "InvalidApi" },
    );
    assert.throws(
      () => registry.exportApi("a", "x.g", 5 as unknown as () => void),
      { code: "InvalidApi" },
    );
    assert.equal(registry.callExportedApi("x.f"), 1);
  });

  it("namespaces: one owner each; owners export only inside theirs; nested ones are separate", () => {
    const registry = new ApiRegistry();
    registry.claimNamespace("server", "jsonrpc");
    registry.claimNamespace("client", "jsonrpc.client");
    registry.exportApi("server", "jsonrpc.register", () => 1);
    registry.exportApi("client", "jsonrpc.client.call", () => 2);
    assert.throws(() => registry.exportApi("server", "jsonrpc.client.x", () => 0), {
      code: "ApiConflict",
    });
    assert.throws(() => registry.exportApi("client", "jsonrpc.x", () => 0), {
      code: "ApiConflict",
    });
    assert.throws(
      () => registry.exportApi("server", "other.f", () => 0),
      /only under its namespaces \(jsonrpc\)/,
    );
    // Owners without a namespace (the host) may export anything outside the claimed ones.
    registry.exportApi("host", "host.thing", () => 3);
    assert.throws(() => registry.exportApi("host", "jsonrpc.evil", () => 0), {
      code: "ApiConflict",
    });
    assert.throws(() => registry.claimNamespace("evil", "jsonrpc"), {
      code: "NamespaceConflict",
    });
    // A namespace holding another owner's export cannot be claimed over it.
    assert.throws(() => registry.claimNamespace("evil", "host"), { code: "NamespaceConflict" });
    for (const bad of ["", ".x", "x.", "x".repeat(MAX_API_NAME_LENGTH + 1)]) {
      assert.throws(() => registry.claimNamespace("evil", bad), { code: "InvalidApi" });
    }
    assert.deepEqual(registry.namespacesOf("server"), ["jsonrpc"]);
    registry.removeOwner("server");
    assert.deepEqual(registry.namespacesOf("server"), []);
    registry.claimNamespace("successor", "jsonrpc");
    assert.equal(registry.callExportedApi("jsonrpc.client.call"), 2);
  });

  it("lets an owner replace its own export; safe handles follow the replacement", () => {
    const registry = new ApiRegistry();
    registry.exportApi("a", "x.f", () => 1);
    const safe = registry.getExportedApiSafe<() => number>("x.f");
    assert.equal(safe.call(), 1);
    registry.exportApi("a", "x.f", () => 2);
    assert.equal(safe.call(), 2);
    assert.equal(registry.unexportApi("b", "x.f"), false, "only the owner withdraws");
    assert.equal(registry.unexportApi("a", "x.f"), true);
    assert.throws(() => safe.call(), ApiUnavailableError);
  });

  it("hands out a safe handle before the API exists", () => {
    const registry = new ApiRegistry();
    const safe = registry.getExportedApiSafe<(n: number) => number>("late.f");
    assert.equal(safe.isAvailable(), false);
    assert.equal(safe.getModuleName(), "");
    assert.throws(() => safe.call(1), /no module exports it/);
    registry.exportApi("late", "late.f", (n: number) => n + 1);
    assert.equal(safe.call(1), 2);
    assert.equal(safe.getModuleName(), "late");
  });

  it("removeOwner withdraws exactly the owner's APIs", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(
          fc.tuple(fc.string({ minLength: 1, maxLength: 8 }), fc.constantFrom("a", "b", "c")),
          {
            selector: ([name]) => name,
            maxLength: 30,
          },
        ),
        fc.constantFrom("a", "b", "c"),
        (exports, victim) => {
          const registry = new ApiRegistry();
          for (const [name, owner] of exports) registry.exportApi(owner, name, () => owner);
          const removed = registry.removeOwner(victim);
          assert.deepEqual(
            removed.sort(),
            exports.filter(([, o]) => o === victim).map(([n]) => n).sort(),
          );
          for (const [name, owner] of exports) {
            assert.equal(registry.hasApi(name), owner !== victim);
          }
          assert.ok(registry.listApis().every((a) => a.owner !== victim));
        },
      ),
    );
  });
});
