// The JSON-RPC 2.0 server core (http/jsonrpc_server.ts) without HTTP: the specification's
// section 7 examples, the malformed-input table, limits, timeouts, authentication, rate limits,
// error mapping, statistics, and random bodies (fast-check).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { JsonRpcServer } from "../../http/jsonrpc_server.ts";
import { InvalidParamsError, JsonRpcError } from "../../http/jsonrpc_error.ts";
import { encodeJsonRpcRequest, isJsonRpcResponse } from "../../http/jsonrpc.ts";
import { HttpHeaders } from "../../http/headers.ts";
import {
  MALFORMED,
  registerSpecMethods,
  responseKey,
  type RpcCase,
  SPEC_EXAMPLES,
} from "../fixtures/jsonrpc/cases.ts";

// Promise.withResolvers needs Node 22; the suite runs on Node 20 too.
function resolvers(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

function specServer(options: ConstructorParameters<typeof JsonRpcServer>[0] = {}): JsonRpcServer {
  const server = new JsonRpcServer(options);
  registerSpecMethods(server);
  return server;
}

async function answer(
  server: JsonRpcServer,
  body: string,
  headers?: HttpHeaders,
): Promise<unknown> {
  const out = await server.handle(body, { headers, remoteAddress: "127.0.0.1:5000" });
  return out === null ? null : JSON.parse(out);
}

function bodyOf(c: RpcCase): string {
  return c.body ?? JSON.stringify(c.value);
}

function one(method: string, params?: unknown, id: number | string = 1): string {
  return JSON.stringify({ jsonrpc: "2.0", method, params, id });
}

describe("JsonRpcServer: the specification's examples (section 7)", () => {
  const server = specServer();
  for (const c of SPEC_EXAMPLES) {
    it(c.name, async () => {
      const got = await answer(server, bodyOf(c));
      assert.equal(responseKey(got), responseKey(c.expect));
    });
  }
});

describe("JsonRpcServer: malformed inputs", () => {
  const server = specServer();
  for (const c of MALFORMED) {
    it(c.name, async () => {
      const got = await answer(server, bodyOf(c));
      assert.equal(responseKey(got, c.ignoreData), responseKey(c.expect, c.ignoreData));
    });
  }

  it("a body over maxRequestBytes is refused before parsing", async () => {
    const small = specServer({ maxRequestBytes: 64 });
    const got = await answer(small, one("sum", [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]));
    assert.deepEqual(got, {
      jsonrpc: "2.0",
      error: {
        code: -32600,
        message: "Invalid Request",
        data: { reason: "request larger than 64 bytes" },
      },
      id: null,
    });
  });

  it("invalid UTF-8 is a parse error", async () => {
    const bytes = new Uint8Array([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]);
    const out = await specServer().handle(bytes);
    assert.deepEqual(JSON.parse(out!), {
      jsonrpc: "2.0",
      error: { code: -32700, message: "Parse error" },
      id: null,
    });
  });

  it("names starting with rpc. and non-functions cannot be registered", () => {
    const server = new JsonRpcServer();
    assert.throws(() => server.register("rpc.discover", () => 1), { code: "InvalidRegistration" });
    assert.throws(() => server.register("", () => 1), { code: "InvalidRegistration" });
    assert.throws(
      () => server.register("x", 42 as unknown as () => number),
      { code: "InvalidRegistration" },
    );
    assert.throws(() => new JsonRpcServer({ maxBatchItems: -1 }), JsonRpcError);
  });
});

describe("JsonRpcServer: handlers, errors and options", () => {
  it("maps handler failures: JsonRpcError as is, InvalidParamsError -32602, others -32603 without detail", async () => {
    const seen: string[] = [];
    const server = new JsonRpcServer({
      onError: (e, m) => seen.push(`${m}: ${(e as Error).message}`),
    });
    server.register("custom", () => {
      throw new JsonRpcError(-32050, "quota used up", { retryAfterS: 60 });
    });
    server.register("bad", () => {
      throw new InvalidParamsError("need x", { field: "x" });
    });
    server.register("boom", () => {
      throw new Error("secret /etc/passwd at line 3");
    });
    server.register("async-boom", () => Promise.reject(new TypeError("internal detail")));
    server.register("cyclic", () => {
      const a: Record<string, unknown> = {};
      a.self = a;
      return a;
    });
    server.register("big", () => 10n ** 20n);
    assert.deepEqual(await answer(server, one("custom")), {
      jsonrpc: "2.0",
      error: { code: -32050, message: "quota used up", data: { retryAfterS: 60 } },
      id: 1,
    });
    assert.deepEqual(await answer(server, one("bad")), {
      jsonrpc: "2.0",
      error: { code: -32602, message: "need x", data: { field: "x" } },
      id: 1,
    });
    for (const method of ["boom", "async-boom", "cyclic"]) {
      const text = await server.handle(one(method));
      assert.equal(
        text,
        '{"jsonrpc":"2.0","error":{"code":-32603,"message":"Internal error"},"id":1}',
      );
    }
    assert.equal(
      await server.handle(one("big")),
      '{"jsonrpc":"2.0","result":100000000000000000000,"id":1}',
    );
    assert.equal(seen.length, 3);
    assert.match(seen[0], /^boom: secret/);
  });

  it("a handler that throws in a notification answers nothing and counts a failure", async () => {
    const server = new JsonRpcServer();
    server.register("boom", () => {
      throw new Error("x");
    });
    assert.equal(await server.handle('{"jsonrpc":"2.0","method":"boom"}'), null);
    assert.deepEqual(server.getStats(), {
      totalRequests: 1,
      successfulRequests: 0,
      failedRequests: 1,
      timeoutRequests: 0,
      batchRequests: 0,
      notificationRequests: 1,
    });
  });

  it("passes params by position and by name, undefined when absent, and the context", async () => {
    const server = new JsonRpcServer();
    const seen: unknown[] = [];
    server.register("echo", (params, ctx) => {
      seen.push([params, ctx.method, ctx.id, ctx.remoteAddress, ctx.headers?.get("x-t")]);
      return params ?? "none";
    });
    await answer(server, one("echo", [1, "a"]), new HttpHeaders({ "x-t": "v" }));
    await answer(server, one("echo", { a: 1 }, "s"));
    assert.deepEqual(
      await answer(server, JSON.stringify({ jsonrpc: "2.0", method: "echo", id: 3 })),
      {
        jsonrpc: "2.0",
        result: "none",
        id: 3,
      },
    );
    assert.deepEqual(seen, [
      [[1, "a"], "echo", 1, "127.0.0.1:5000", "v"],
      [{ a: 1 }, "echo", "s", "127.0.0.1:5000", undefined],
      [undefined, "echo", 3, "127.0.0.1:5000", undefined],
    ]);
  });

  it("times out async handlers with -32000, aborting their signal; sync ones need no timer", async () => {
    const server = new JsonRpcServer({ timeoutMs: 5000 });
    let aborted: unknown;
    const started = resolvers();
    server.registerWithOptions("slow", (_p, ctx) => {
      started.resolve();
      return new Promise((resolve) => {
        ctx.signal.addEventListener("abort", () => {
          aborted = ctx.signal.reason;
          resolve("too late");
        });
      });
    }, { timeout: 30 });
    const pending = answer(server, one("slow"));
    await started.promise;
    assert.deepEqual(await pending, {
      jsonrpc: "2.0",
      error: { code: -32000, message: "Request timeout", data: { timeoutMs: 30 } },
      id: 1,
    });
    assert.ok(aborted instanceof JsonRpcError && aborted.code === "Timeout");
    assert.equal(server.getStats().timeoutRequests, 1);
    assert.equal(server.getStats().failedRequests, 1);
    // A timeout of 0 means none.
    server.registerWithOptions("later", () => Promise.resolve(5), { timeout: 0 });
    assert.deepEqual(await answer(server, one("later")), { jsonrpc: "2.0", result: 5, id: 1 });
  });

  it("requires authentication per method or server-wide: bearer tokens or a custom verifier", async () => {
    const server = new JsonRpcServer({ bearerTokens: ["t0k3n"] });
    server.register("open", () => "open");
    server.registerWithOptions("secret", () => "secret", { requireAuth: true });
    const ok = new HttpHeaders({ authorization: "Bearer t0k3n" });
    const wrong = new HttpHeaders({ authorization: "Bearer t0k3m" });
    const unauthorized = {
      jsonrpc: "2.0",
      error: {
        code: -32001,
        message: "Unauthorized",
        data: { reason: "this method requires authentication" },
      },
      id: 1,
    };
    assert.deepEqual(await answer(server, one("open")), { jsonrpc: "2.0", result: "open", id: 1 });
    assert.deepEqual(await answer(server, one("secret")), unauthorized);
    assert.deepEqual(await answer(server, one("secret"), wrong), unauthorized);
    assert.deepEqual(await answer(server, one("secret"), ok), {
      jsonrpc: "2.0",
      result: "secret",
      id: 1,
    });

    const seen: unknown[] = [];
    const custom = new JsonRpcServer({
      requireAuth: true,
      authenticate: (r) => {
        seen.push([r.method, r.token, r.remoteAddress]);
        return Promise.resolve(r.token === "yes");
      },
    });
    custom.register("a", () => 1);
    custom.registerWithOptions("public", () => 2, { requireAuth: false });
    assert.deepEqual(await answer(custom, one("a")), unauthorized);
    assert.deepEqual(
      await answer(custom, one("a"), new HttpHeaders({ authorization: "bearer yes" })),
      { jsonrpc: "2.0", result: 1, id: 1 },
    );
    assert.deepEqual(await answer(custom, one("public")), { jsonrpc: "2.0", result: 2, id: 1 });
    assert.deepEqual(seen, [["a", undefined, "127.0.0.1:5000"], ["a", "yes", "127.0.0.1:5000"]]);
    // A verifier that throws denies.
    custom.setAuthenticator(() => {
      throw new Error("verifier down");
    });
    assert.deepEqual(await answer(custom, one("a")), unauthorized);
  });

  it("checks a method's maxRequestSize after parsing, for single requests and batch members", async () => {
    const server = new JsonRpcServer();
    server.registerWithOptions("small", () => "ok", { maxRequestSize: 80 });
    assert.deepEqual(await answer(server, one("small", ["x"])), {
      jsonrpc: "2.0",
      result: "ok",
      id: 1,
    });
    const big = await answer(server, one("small", ["x".repeat(100)])) as {
      error: { code: number };
    };
    assert.equal(big.error.code, -32600);
    const batch = await answer(
      server,
      `[${one("small", ["x"], 1)},${one("small", ["y".repeat(100)], 2)}]`,
    );
    assert.equal(
      responseKey(batch, true),
      responseKey([{ jsonrpc: "2.0", result: "ok", id: 1 }, {
        jsonrpc: "2.0",
        error: { code: -32600, message: "Invalid Request" },
        id: 2,
      }], true),
    );
  });

  it("answers -32002 past maxInFlight and past the per-host rate limit", async () => {
    const gate = resolvers();
    const server = new JsonRpcServer({ maxInFlight: 2 });
    server.register("wait", () => gate.promise.then(() => "done"));
    const first = answer(server, one("wait", [], 1));
    const second = answer(server, one("wait", [], 2));
    const third = await answer(server, one("wait", [], 3)) as {
      error: { code: number; message: string };
    };
    assert.equal(third.error.code, -32002);
    assert.equal(third.error.message, "Rate limit exceeded");
    gate.resolve();
    assert.deepEqual(await first, { jsonrpc: "2.0", result: "done", id: 1 });
    assert.deepEqual(await second, { jsonrpc: "2.0", result: "done", id: 2 });

    const limited = new JsonRpcServer({ rateLimit: { requests: 2, windowMs: 60_000 } });
    limited.register("x", () => 1);
    const codes: unknown[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await answer(limited, one("x")) as { result?: number; error?: { code: number } };
      codes.push(r.result ?? r.error?.code);
    }
    assert.deepEqual(codes, [1, 1, -32002]);
    const other = await limited.handle(one("x"), { remoteAddress: "10.9.9.9:1" });
    assert.equal(JSON.parse(other!).result, 1, "another host has its own window");
  });

  it("keeps a timed-out call's slot until its handler settles (a hostile slow caller)", async () => {
    const gate = resolvers();
    const server = new JsonRpcServer({ maxInFlight: 1, timeoutMs: 20 });
    let stubborn: Promise<string> | undefined;
    // It ignores context.signal and runs on after its timeout.
    server.register("stubborn", () => (stubborn = gate.promise.then(() => "late")));
    server.register("quick", () => Promise.resolve("ok"));
    const timedOut = await answer(server, one("stubborn", [], 1)) as { error: { code: number } };
    assert.equal(timedOut.error.code, -32000);
    const refused = await answer(server, one("quick", [], 2)) as { error: { code: number } };
    assert.equal(refused.error.code, -32002, "the stubborn handler still runs");
    gate.resolve();
    await stubborn; // the server's release, attached first, has run by now
    assert.deepEqual(await answer(server, one("quick", [], 3)), {
      jsonrpc: "2.0",
      result: "ok",
      id: 3,
    });
  });

  it("counts the seed's statistics and resets them", async () => {
    const server = specServer();
    await server.handle(one("sum", [1, 2]));
    await server.handle('{"jsonrpc":"2.0","method":"update","params":[1]}');
    await server.handle(`[${one("sum", [1], 1)},${one("nope", [], 2)}]`);
    await server.handle("{");
    assert.deepEqual(server.getStats(), {
      totalRequests: 5,
      successfulRequests: 3,
      failedRequests: 2,
      timeoutRequests: 0,
      batchRequests: 1,
      notificationRequests: 1,
    });
    server.resetStats();
    assert.equal(server.getStats().totalRequests, 0);
    assert.deepEqual(server.getMethods(), [
      "get_data",
      "notify_hello",
      "notify_sum",
      "subtract",
      "sum",
      "update",
    ]);
    assert.equal(server.has("sum"), true);
    assert.equal(server.unregister("sum"), true);
    assert.equal(server.unregister("sum"), false);
    assert.equal(server.has("sum"), false);
  });

  it("unregisterOwner removes exactly one owner's methods", () => {
    const server = new JsonRpcServer();
    server.register("a", () => 1, "p1");
    server.register("b", () => 1, "p2");
    server.register("c", () => 1);
    assert.equal(server.unregisterOwner("p1"), 1);
    assert.deepEqual(server.getMethods(), ["b", "c"]);
  });
});

// Everything a random body can get: a response object, a non-empty array of them, or nothing.
function assertWellFormed(out: string | null): void {
  if (out === null) return;
  assert.doesNotMatch(out, /\bat .*:\d+:\d+|Error:|stack/, "no stack frame or internal text");
  const value = JSON.parse(out);
  if (Array.isArray(value)) {
    assert.ok(value.length > 0);
    for (const r of value) assert.ok(isJsonRpcResponse(r), out);
  } else {
    assert.ok(isJsonRpcResponse(value), out);
  }
}

describe("JsonRpcServer: random bodies (fast-check)", () => {
  const server = specServer({ maxBatchItems: 8 });
  server.register("boom", () => {
    throw new Error("internal at /x.ts:1:2");
  });
  server.register("echo", (p) => p ?? null);
  const method = fc.constantFrom("sum", "subtract", "echo", "boom", "get_data", "nope", "rpc.x");
  const id = fc.oneof(fc.integer(), fc.string(), fc.constant(null), fc.double(), fc.jsonValue());
  const params = fc.oneof(
    fc.array(fc.jsonValue()),
    fc.dictionary(fc.string(), fc.jsonValue()),
    fc.jsonValue(),
  );
  const request = fc.record(
    {
      jsonrpc: fc.oneof(fc.constant("2.0"), fc.jsonValue()),
      method: fc.oneof(method, fc.jsonValue()),
      params,
      id,
    },
    { requiredKeys: [] },
  );
  const body = fc.oneof(
    request.map((r) => JSON.stringify(r)),
    fc.array(fc.oneof(request, fc.jsonValue()), { maxLength: 12 }).map((b) => JSON.stringify(b)),
    fc.jsonValue().map((v) => JSON.stringify(v)),
    fc.string(),
    fc.string({ unit: "binary" }),
  );

  it("any text body gets a well-formed response or none, never a throw", async () => {
    await fc.assert(
      fc.asyncProperty(body, async (b) => {
        assertWellFormed(await server.handle(b));
      }),
      { numRuns: 1500 },
    );
  });

  it("any bytes get a well-formed response or none", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 200 }), async (b) => {
        assertWellFormed(await server.handle(b));
      }),
      { numRuns: 500 },
    );
  });

  it("a valid request's answer carries its id", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.integer(), fc.string()),
        fc.array(fc.integer({ min: -1e6, max: 1e6 })),
        async (i, p) => {
          const out = await server.handle(encodeJsonRpcRequest("sum", p, i));
          assert.deepEqual(JSON.parse(out!), {
            jsonrpc: "2.0",
            result: p.reduce((a, b) => a + b, 0),
            id: i,
          });
        },
      ),
      { numRuns: 300 },
    );
  });
});
