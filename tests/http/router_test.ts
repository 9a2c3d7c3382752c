import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { type RouteMatch, Router, RouterError } from "../../http/router.ts";

function found(m: RouteMatch<string>): { handler: string; params: Record<string, string> } {
  assert.equal(m.kind, "found", JSON.stringify(m));
  if (m.kind !== "found") throw new Error("unreachable");
  return { handler: m.handler, params: m.params };
}

describe("Router", () => {
  it("matches static, param and wildcard routes with static precedence", () => {
    const r = new Router<string>();
    r.add("GET", "/", "root");
    r.add("GET", "/users", "list");
    r.add("GET", "/users/me", "me");
    r.add("GET", "/users/{id}", "show");
    r.add("GET", "/users/{id}/posts/{postId}", "post");
    r.add("GET", "/files/*", "files");
    assert.equal(found(r.lookup("GET", "/")).handler, "root");
    assert.equal(found(r.lookup("GET", "/users")).handler, "list");
    assert.equal(found(r.lookup("GET", "/users/me")).handler, "me");
    assert.deepEqual(found(r.lookup("GET", "/users/42")), {
      handler: "show",
      params: { id: "42" },
    });
    assert.deepEqual(found(r.lookup("GET", "/users/a%20b/posts/7")), {
      handler: "post",
      params: { id: "a b", postId: "7" },
    });
    assert.deepEqual(found(r.lookup("GET", "/files/a/b.txt")).params, { "*": "a/b.txt" });
    assert.deepEqual(found(r.lookup("GET", "/files/")).params, { "*": "" });
    assert.equal(r.lookup("GET", "/files").kind, "notFound");
    assert.equal(r.lookup("GET", "/users/42/x").kind, "notFound");
    assert.equal(r.lookup("GET", "/users/").kind, "notFound");
  });

  it("backtracks from a static dead end to a parameter", () => {
    const r = new Router<string>();
    r.add("GET", "/a/b/c", "static");
    r.add("GET", "/a/{x}/d", "param");
    r.add("GET", "/a/{x}/*", "wild");
    assert.deepEqual(found(r.lookup("GET", "/a/b/d")), { handler: "param", params: { x: "b" } });
    assert.deepEqual(found(r.lookup("GET", "/a/b/e/f")), {
      handler: "wild",
      params: { x: "b", "*": "e/f" },
    });
  });

  it("answers 405 with Allow, HEAD through GET, and '*' methods", () => {
    const r = new Router<string>();
    r.add("GET", "/x", "get");
    r.add("DELETE", "/x", "del");
    r.add("*", "/any", "any");
    const m = r.lookup("POST", "/x");
    assert.equal(m.kind, "methodNotAllowed");
    if (m.kind === "methodNotAllowed") assert.deepEqual(m.allow.sort(), ["DELETE", "GET", "HEAD"]);
    assert.equal(found(r.lookup("HEAD", "/x")).handler, "get");
    assert.equal(found(r.lookup("PATCH", "/any")).handler, "any");
  });

  it("405 Allow lists the methods of every route the path matches", () => {
    const r = new Router<string>();
    r.add("GET", "/a/b", "static");
    r.add("DELETE", "/a/*", "wild");
    r.add("PUT", "/a/{x}", "param");
    r.add("PATCH", "/*", "root wild");
    const m = r.lookup("POST", "/a/b");
    assert.equal(m.kind, "methodNotAllowed");
    if (m.kind === "methodNotAllowed") {
      assert.deepEqual(m.allow.sort(), ["DELETE", "GET", "HEAD", "PATCH", "PUT"]);
    }
    // A later lookup starts from nothing.
    const n = r.lookup("POST", "/z");
    assert.equal(n.kind, "methodNotAllowed");
    if (n.kind === "methodNotAllowed") assert.deepEqual(n.allow, ["PATCH"]);
    assert.equal(found(r.lookup("DELETE", "/a/b")).handler, "wild");
  });

  it("matches escapes of characters that need none as their plain form, never '%2F' as '/'", () => {
    const r = new Router<string>();
    r.add("GET", "/users/me", "me");
    r.add("GET", "/users/{id}", "show");
    r.add("GET", "/café", "cafe");
    r.add("GET", "/a%2fb", "escaped slash");
    assert.equal(found(r.lookup("GET", "/users/m%65")).handler, "me");
    assert.equal(found(r.lookup("GET", "/caf%C3%A9")).handler, "cafe");
    assert.equal(found(r.lookup("GET", "/caf%c3%a9")).handler, "cafe");
    assert.equal(found(r.lookup("GET", "/a%2Fb")).handler, "escaped slash");
    assert.equal(r.lookup("GET", "/a/b").kind, "notFound");
    // Parameters are decoded once; escapes that are data stay data.
    assert.deepEqual(found(r.lookup("GET", "/users/a%2Fb")).params, { id: "a/b" });
    assert.deepEqual(found(r.lookup("GET", "/users/%2541")).params, { id: "%41" });
    assert.deepEqual(found(r.lookup("GET", "/users/%F0%9F%98%80")).params, { id: "\u{1F600}" });
    // Malformed escapes and broken UTF-8 stay as sent.
    assert.deepEqual(found(r.lookup("GET", "/users/%zz")).params, { id: "%zz" });
    assert.deepEqual(found(r.lookup("GET", "/users/%C3")).params, { id: "%C3" });
  });

  it("refuses malformed and duplicate patterns", () => {
    const r = new Router<string>();
    r.add("GET", "/u/{id}", "a");
    assert.throws(
      () => r.add("GET", "/u/{id}", "b"),
      (e: RouterError) => e.code === "DuplicateRoute",
    );
    assert.throws(() => r.add("GET", "/u/{name}/x", "b"), RouterError);
    assert.throws(() => r.add("GET", "nope", "b"), RouterError);
    assert.throws(() => r.add("GET", "/a/*/b", "b"), RouterError);
    assert.throws(() => r.add("GET", "/a/x{id}", "b"), RouterError);
    assert.throws(() => r.add("GET", "/a/{1d}", "b"), RouterError);
  });

  it("looks up in time independent of the number of routes", () => {
    const small = new Router<number>();
    const big = new Router<number>();
    for (let i = 0; i < 10; i++) small.add("GET", `/r${i}/{id}`, i);
    for (let i = 0; i < 20_000; i++) big.add("GET", `/r${i}/{id}`, i);
    assert.equal(big.size, 20_000);
    const time = (r: Router<number>): number => {
      const t0 = performance.now();
      for (let i = 0; i < 100_000; i++) r.lookup("GET", `/r${i % 10}/42`);
      return performance.now() - t0;
    };
    time(small);
    time(big);
    const ratio = time(big) / time(small);
    // A linear scan would be ~2000x slower; allow a wide margin for a noisy machine.
    assert.ok(ratio < 20, `lookup in 20k routes was ${ratio.toFixed(1)}x slower than in 10`);
  });
});
