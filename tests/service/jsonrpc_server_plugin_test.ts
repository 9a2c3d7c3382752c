// The JSON-RPC server plugin (plugins/jsonrpc_server.ts) end to end: IoraService with the
// plugin loaded, our WebhookServer on 127.0.0.1, real HTTP clients (fetch and ours). The
// specification's examples and the malformed-input table over HTTP, the exported API names,
// authentication, timeouts, stats, method ownership, and a reload under traffic.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { HttpClient } from "../../http/client.ts";
import { JsonRpcError } from "../../http/jsonrpc_error.ts";
import { isJsonRpcResponse } from "../../http/jsonrpc.ts";
import type { JsonRpcServerStats } from "../../http/jsonrpc_server.ts";
import { platform } from "../../core/platform/mod.ts";
import { IoraService } from "../../service/iora_service.ts";
import { deferred, type TempDir, tempDir } from "../harness.ts";
import { serviceConfig, shippedPlugin } from "./_fixtures.ts";
import {
  MALFORMED,
  registerSpecMethods,
  responseKey,
  type RpcCase,
  SPEC_EXAMPLES,
} from "../fixtures/jsonrpc/cases.ts";

const ext = import.meta.url.endsWith(".ts") ? ".ts" : ".js";
const methodsPlugin = new URL(`../fixtures/jsonrpc/methods_plugin${ext}`, import.meta.url).href;

async function start(dir: TempDir, options: Record<string, unknown> = {}): Promise<IoraService> {
  return await IoraService.create(serviceConfig(dir, {
    log: { level: "warn" },
    modules: { modules: [{ url: shippedPlugin("jsonrpc_server"), options }] },
  }));
}

function url(service: IoraService, path = "/rpc"): string {
  return `http://127.0.0.1:${service.webhookServer.port}${path}`;
}

async function post(
  service: IoraService,
  body: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; type: string | null; value: unknown }> {
  const response = await fetch(url(service), {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body,
  });
  const text = await response.text();
  return {
    status: response.status,
    type: response.headers.get("content-type"),
    value: text === "" ? null : JSON.parse(text),
  };
}

function register(service: IoraService): void {
  registerSpecMethods({
    register: (name, handler) => service.callExportedApi("jsonrpc.register", name, handler),
  });
}

async function checkCase(service: IoraService, c: RpcCase): Promise<void> {
  const got = await post(service, c.body ?? JSON.stringify(c.value));
  if (c.expect === null) {
    assert.equal(got.status, 204, c.name);
    assert.equal(got.value, null);
    return;
  }
  assert.equal(got.status, 200, c.name);
  assert.equal(got.type, "application/json");
  assert.equal(responseKey(got.value, c.ignoreData), responseKey(c.expect, c.ignoreData), c.name);
}

describe("jsonrpc_server plugin", () => {
  it("exports the seed's API names and answers every spec example and malformed case over HTTP", async () => {
    await using dir = await tempDir();
    const service = await start(dir);
    try {
      const apis = service.listModules().find((m) => m.name === "jsonrpc_server")!.apis.sort();
      assert.deepEqual(apis, [
        "jsonrpc.getMethods",
        "jsonrpc.getStats",
        "jsonrpc.has",
        "jsonrpc.register",
        "jsonrpc.registerApi",
        "jsonrpc.registerWithOptions",
        "jsonrpc.resetStats",
        "jsonrpc.setAuthenticator",
        "jsonrpc.unregister",
        "jsonrpc.version",
      ]);
      assert.equal(service.callExportedApi("jsonrpc.version"), 1);
      register(service);
      assert.equal(service.callExportedApi("jsonrpc.has", "subtract"), true);
      assert.deepEqual(service.callExportedApi<string[]>("jsonrpc.getMethods").length, 6);
      for (const c of [...SPEC_EXAMPLES, ...MALFORMED]) await checkCase(service, c);
      // Not JSON and not a JSON content type: still a JSON-RPC answer, not a 400 or 415.
      const plain = await post(service, "hello", { "content-type": "text/plain" });
      assert.deepEqual(plain.value, {
        jsonrpc: "2.0",
        error: { code: -32700, message: "Parse error" },
        id: null,
      });
      const get = await fetch(url(service));
      assert.equal(get.status, 405);
      await get.body?.cancel();
      const stats = service.callExportedApi<JsonRpcServerStats>("jsonrpc.getStats");
      assert.ok(stats.totalRequests > 100 && stats.batchRequests >= 8, JSON.stringify(stats));
      service.callExportedApi("jsonrpc.resetStats");
      assert.equal(
        service.callExportedApi<JsonRpcServerStats>("jsonrpc.getStats").totalRequests,
        0,
      );
      assert.equal(service.callExportedApi("jsonrpc.unregister", "subtract"), true);
      assert.equal(service.callExportedApi("jsonrpc.has", "subtract"), false);
    } finally {
      await service.shutdown();
    }
  });

  it("takes its options: path, limits, timeout, bearer tokens from the options and the environment", async () => {
    await using dir = await tempDir();
    platform().setEnv("IORA_TEST_JSONRPC_TOKEN", "from-env");
    const service = await start(dir, {
      path: "/api/rpc",
      maxBatchItems: 2,
      maxRequestBytes: 4096,
      timeoutMs: 40,
      bearerTokens: ["from-options"],
      bearerTokenEnv: "IORA_TEST_JSONRPC_TOKEN",
    });
    try {
      const at = url(service, "/api/rpc");
      const call = async (body: unknown, headers: Record<string, string> = {}) => {
        const r = await fetch(at, { method: "POST", body: JSON.stringify(body), headers });
        return await r.json();
      };
      service.callExportedApi("jsonrpc.register", "ping", () => "pong");
      service.callExportedApi(
        "jsonrpc.registerWithOptions",
        "admin",
        (_p: unknown, ctx: { remoteAddress?: string }) =>
          ctx.remoteAddress?.startsWith("127.0.0.1:"),
        { requireAuth: true },
      );
      let aborted = false;
      service.callExportedApi(
        "jsonrpc.register",
        "hang",
        (_p: unknown, ctx: { signal: AbortSignal }) =>
          new Promise((resolve) =>
            ctx.signal.addEventListener("abort", () => {
              aborted = true;
              resolve(0);
            })
          ),
      );
      const req = (method: string, id = 1) => ({ jsonrpc: "2.0", method, id });
      assert.deepEqual(await call(req("ping")), { jsonrpc: "2.0", result: "pong", id: 1 });
      assert.equal(
        (await call([req("ping", 1), req("ping", 2), req("ping", 3)])).error.code,
        -32600,
      );
      assert.equal((await call({ ...req("ping"), params: ["x".repeat(5000)] })).error.code, -32600);
      assert.deepEqual(await call(req("hang")), {
        jsonrpc: "2.0",
        error: { code: -32000, message: "Request timeout", data: { timeoutMs: 40 } },
        id: 1,
      });
      assert.equal(aborted, true);
      assert.equal((await call(req("admin"))).error.code, -32001);
      for (const token of ["from-options", "from-env"]) {
        assert.deepEqual(await call(req("admin"), { authorization: `Bearer ${token}` }), {
          jsonrpc: "2.0",
          result: true,
          id: 1,
        });
      }
      // A custom verifier sees the headers and the remote address.
      service.callExportedApi(
        "jsonrpc.setAuthenticator",
        (r: { headers?: { get(n: string): string | null }; remoteAddress?: string }) =>
          r.headers?.get("x-api-key") === "k1" &&
          r.remoteAddress?.startsWith("127.0.0.1:") === true,
      );
      assert.equal(
        (await call(req("admin"), { authorization: "Bearer from-options" })).error.code,
        -32001,
      );
      assert.equal((await call(req("admin"), { "x-api-key": "k1" })).result, true);
      const stats = service.callExportedApi<JsonRpcServerStats>("jsonrpc.getStats");
      assert.equal(stats.timeoutRequests, 1);
      assert.equal((await fetch(url(service), { method: "POST", body: "{}" })).status, 404);
    } finally {
      await service.shutdown();
    }
  });

  it("a plugin's methods go when it unloads; exported APIs serve as methods (the sandbox route)", async () => {
    await using dir = await tempDir();
    const service = await start(dir);
    try {
      await service.loadSingleModule(methodsPlugin);
      const add = { jsonrpc: "2.0", method: "add", params: [2, 3], id: 1 };
      assert.deepEqual((await post(service, JSON.stringify(add))).value, {
        jsonrpc: "2.0",
        result: 5,
        id: 1,
      });
      assert.deepEqual(service.callExportedApi("jsonrpc.getMethods"), ["add", "echo"]);
      await service.unloadSingleModule("methods_plugin");
      assert.deepEqual(service.callExportedApi("jsonrpc.getMethods"), []);
      assert.deepEqual((await post(service, JSON.stringify(add))).value, {
        jsonrpc: "2.0",
        error: { code: -32601, message: "Method not found" },
        id: 1,
      });
      // An API that disappears behind a registered method answers -32601, not -32603.
      service.exportApi("host.twice", (p: unknown) => (p as number[])[0] * 2);
      service.callExportedApi("jsonrpc.registerApi", "twice", "host.twice");
      const twice = JSON.stringify({ jsonrpc: "2.0", method: "twice", params: [4], id: 2 });
      assert.equal(((await post(service, twice)).value as { result: number }).result, 8);
      service.apiRegistry.unexportApi("host", "host.twice");
      assert.equal(
        ((await post(service, twice)).value as { error: { code: number } }).error.code,
        -32601,
      );
      assert.throws(
        () => service.callExportedApi("jsonrpc.register", "rpc.x", () => 1),
        (e: unknown) => e instanceof JsonRpcError && e.code === "InvalidRegistration",
      );
    } finally {
      await service.shutdown();
    }
  });

  it("survives reloadModule under traffic: in-flight calls finish, methods come back, the route is re-added", async () => {
    await using dir = await tempDir();
    const service = await start(dir);
    const client = new HttpClient({ retry: false, maxConnectionsPerHost: 8 });
    try {
      await service.loadSingleModule(methodsPlugin);
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const slowStarted = deferred("the slow call to start");
      service.callExportedApi("jsonrpc.register", "slow", async () => {
        slowStarted.resolve();
        await gate;
        return "slow done";
      });
      const slow = client.postJson(url(service), { jsonrpc: "2.0", method: "slow", id: "s" });
      await slowStarted.wait();

      const outcomes = { ok: 0, routeGone: 0, notFound: 0, duringReload: 0 };
      let reloading = false;
      let onOk = () => {};
      const unexpected: string[] = [];
      let stop = false;
      let reloaded = false;
      const firstOk = deferred("a call before the reload");
      const okAfter = deferred("a call after the reload");
      const loop = async (worker: number) => {
        for (let i = 0; !stop; i++) {
          const response = await client.postJson(url(service), {
            jsonrpc: "2.0",
            method: "echo",
            params: [worker, i],
            id: i,
          });
          if (reloading) outcomes.duringReload++;
          if (response.statusCode === 404) {
            outcomes.routeGone++;
            continue;
          }
          const body = response.json() as {
            result?: unknown;
            error?: { code: number };
            id?: unknown;
          };
          if (
            response.statusCode === 200 && body.id === i &&
            JSON.stringify(body.result) === `[${worker},${i}]`
          ) {
            outcomes.ok++;
            onOk();
            firstOk.resolve();
            if (reloaded) okAfter.resolve();
          } else if (response.statusCode === 200 && body.error?.code === -32601) {
            outcomes.notFound++;
          } else {
            unexpected.push(`${response.statusCode} ${response.body}`);
          }
        }
      };
      const loops = Array.from({ length: 6 }, (_, w) => loop(w));
      await firstOk.wait();
      for (let round = 0; round < 10; round++) {
        reloading = true;
        await service.reloadModule("jsonrpc_server");
        reloading = false;
        // Let the callers through between reloads, so each reload meets calls in flight.
        const next = deferred("a call between reloads");
        onOk = () => next.resolve();
        await next.wait();
      }
      reloaded = true;
      await okAfter.wait();
      stop = true;
      await Promise.all(loops);
      release();
      const slowAnswer = await slow;
      assert.deepEqual(slowAnswer.json(), { jsonrpc: "2.0", result: "slow done", id: "s" });
      assert.deepEqual(unexpected, []);
      assert.ok(outcomes.ok >= 2, JSON.stringify(outcomes));
      assert.deepEqual(service.callExportedApi("jsonrpc.getMethods"), ["add", "echo"]);
      const routes = service.webhookServer.listRoutes().filter((r) => r.pattern === "/rpc");
      assert.deepEqual(routes.map((r) => [r.method, r.owner]), [["POST", "jsonrpc_server"]]);
    } finally {
      await client.close();
      await service.shutdown();
    }
  });

  it("any random body over HTTP gets a JSON-RPC response or 204, never a stack or a 5xx (fast-check)", async () => {
    await using dir = await tempDir();
    const service = await start(dir, { maxBatchItems: 5 });
    const client = new HttpClient({ retry: false });
    try {
      register(service);
      service.callExportedApi("jsonrpc.register", "boom", () => {
        throw new Error("internal detail at /srv/x.ts:1:2");
      });
      const member = fc.record({
        jsonrpc: fc.oneof(fc.constant("2.0"), fc.jsonValue()),
        method: fc.oneof(fc.constantFrom("sum", "subtract", "boom", "nope"), fc.jsonValue()),
        params: fc.oneof(fc.array(fc.integer()), fc.jsonValue()),
        id: fc.oneof(fc.integer(), fc.string(), fc.jsonValue()),
      }, { requiredKeys: [] });
      const body = fc.oneof(
        member.map((m) => JSON.stringify(m)),
        fc.array(fc.oneof(member, fc.jsonValue()), { maxLength: 7 }).map((b) => JSON.stringify(b)),
        fc.string(),
        fc.jsonValue().map((v) => JSON.stringify(v)),
      );
      await fc.assert(
        fc.asyncProperty(body, async (b) => {
          const response = await client.post(url(service), b, {
            "content-type": "application/json",
          });
          if (response.statusCode === 204) {
            assert.equal(response.bytes.length, 0);
            return;
          }
          assert.equal(response.statusCode, 200);
          assert.doesNotMatch(response.body, /\bat .*:\d+:\d+|internal detail/);
          const value = response.json();
          const all = Array.isArray(value) ? value : [value];
          assert.ok(all.length > 0 && all.every(isJsonRpcResponse), response.body);
        }),
        { numRuns: 200 },
      );
    } finally {
      await client.close();
      await service.shutdown();
    }
  });

  it("unloads cleanly: route, APIs and namespace are gone, and it loads again", async () => {
    await using dir = await tempDir();
    const service = await start(dir);
    try {
      await service.unloadSingleModule("jsonrpc_server");
      assert.equal(service.apiRegistry.hasApi("jsonrpc.register"), false);
      assert.deepEqual(service.webhookServer.listRoutes().filter((r) => r.pattern === "/rpc"), []);
      const gone = await fetch(url(service), { method: "POST", body: "{}" });
      assert.equal(gone.status, 404);
      await gone.body?.cancel();
      await service.loadSingleModule(shippedPlugin("jsonrpc_server"));
      service.callExportedApi("jsonrpc.register", "ping", () => "pong");
      const back = await post(service, JSON.stringify({ jsonrpc: "2.0", method: "ping", id: 1 }));
      assert.deepEqual(back.value, { jsonrpc: "2.0", result: "pong", id: 1 });
    } finally {
      await service.shutdown();
    }
  });
});
