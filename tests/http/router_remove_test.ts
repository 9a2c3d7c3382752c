// Route removal: what a plugin registered goes away when it unloads, and
// the router answers as if it had never been there.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { Router } from "../../http/router.ts";

describe("Router.remove", () => {
  it("removes one method of a pattern and leaves the others", () => {
    const router = new Router<string>();
    router.add("GET", "/users/{id}", "get");
    router.add("DELETE", "/users/{id}", "delete");
    router.add("GET", "/files/*", "files");
    assert.equal(router.remove("GET", "/users/{id}"), true);
    assert.equal(router.remove("GET", "/users/{id}"), false, "already gone");
    assert.deepEqual(router.lookup("GET", "/users/7"), {
      kind: "methodNotAllowed",
      allow: ["DELETE"],
    });
    assert.equal(router.remove("GET", "/files/*"), true);
    assert.equal(router.lookup("GET", "/files/a").kind, "notFound");
    assert.equal(router.size, 1);
    assert.equal(router.remove("GET", "/nothing/here"), false);
    assert.equal(router.remove("GET", "relative"), false);
  });

  it("prunes emptied branches: a parameter of another name can take the place", () => {
    const router = new Router<string>();
    router.add("GET", "/items/{id}", "old");
    assert.throws(() => router.add("GET", "/items/{name}/x", "clash"), { code: "InvalidRoute" });
    router.remove("GET", "/items/{id}");
    router.add("GET", "/items/{name}", "new");
    const match = router.lookup("GET", "/items/a");
    assert.equal(match.kind === "found" && match.params.name, "a");
  });

  it("a route added again after its removal is served again (reload)", () => {
    const router = new Router<string>();
    router.add("POST", "/svc/echo", "v1");
    assert.throws(() => router.add("POST", "/svc/echo", "dup"), { code: "DuplicateRoute" });
    router.remove("POST", "/svc/echo");
    router.add("POST", "/svc/echo", "v2");
    const match = router.lookup("POST", "/svc/echo");
    assert.equal(match.kind === "found" && match.handler, "v2");
  });

  it("after any sequence of adds and removes, lookups match a fresh router of what is left", () => {
    const segment = fc.constantFrom("a", "b", "{p}", "{q}", "*");
    const route = fc.record({
      method: fc.constantFrom("GET", "POST"),
      segments: fc.array(segment, { minLength: 1, maxLength: 3 }),
    }).map(({ method, segments }) => {
      const star = segments.indexOf("*");
      const cut = star === -1 ? segments : segments.slice(0, star + 1);
      return { method, pattern: `/${cut.join("/")}` };
    });
    fc.assert(
      fc.property(fc.array(route, { maxLength: 12 }), fc.array(fc.boolean()), (routes, drops) => {
        const router = new Router<string>();
        const added: { method: string; pattern: string }[] = [];
        for (const r of routes) {
          try {
            router.add(r.method, r.pattern, `${r.method} ${r.pattern}`);
            added.push(r);
          } catch { /* duplicates and parameter clashes are refused, as always */ }
        }
        const kept = added.filter((r, i) => {
          if (!drops[i]) return true;
          assert.equal(router.remove(r.method, r.pattern), true);
          return false;
        });
        const fresh = new Router<string>();
        for (const r of kept) fresh.add(r.method, r.pattern, `${r.method} ${r.pattern}`);
        assert.equal(router.size, fresh.size);
        for (const path of ["/a", "/b", "/a/b", "/x/a", "/a/b/c", "/b/x/y", "/q"]) {
          for (const method of ["GET", "POST"]) {
            assert.deepEqual(router.lookup(method, path), fresh.lookup(method, path));
          }
        }
      }),
    );
  });
});
