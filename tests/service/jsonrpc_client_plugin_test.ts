/// <reference types="npm:@types/node@^20" />
// jayson depends on @types/node 12; without this reference Deno would type node: modules with it.
// The JSON-RPC client plugin (plugins/jsonrpc_client.ts) against a real npm `jayson` server on
// node:http: calls, notifications, batches, async jobs (expiry and bound), typed errors,
// timeouts, retries of refused connections, the in-flight bound, stats, and a reload under
// traffic.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import jayson from "npm:jayson@5.0.0";
import { JsonRpcError, PoolExhaustedError, RemoteError } from "../../http/jsonrpc_error.ts";
import {
  JsonRpcClient,
  type JsonRpcClientStats,
  type JsonRpcJobResult,
  type JsonRpcOutcome,
} from "../../http/jsonrpc_client.ts";
import { platform } from "../../core/platform/mod.ts";
import { ApiUnavailableError } from "../../service/errors.ts";
import { IoraService } from "../../service/iora_service.ts";
import {
  deferred,
  freePort,
  runtimeTimerFired,
  type TempDir,
  tempDir,
  waitFor,
} from "../harness.ts";
import { serviceConfig, shippedPlugin } from "./_fixtures.ts";

type Callback = (error: unknown, result?: unknown) => void;

interface Peer {
  url: string;
  headers: IncomingHttpHeaders[];
  notified: unknown[];
  /** Resolves the calls of `wait` that are held. */
  release(): void;
  /** Resolves once a `wait` call arrived. */
  waiting: ReturnType<typeof deferred>;
  onNotify: ReturnType<typeof deferred<unknown>>;
  close(): Promise<void>;
}

async function jaysonPeer(): Promise<Peer> {
  const held: (() => void)[] = [];
  let released = false;
  const peer = {
    headers: [] as IncomingHttpHeaders[],
    notified: [] as unknown[],
    waiting: deferred("a held call"),
    onNotify: deferred<unknown>("a notification"),
  };
  const server: Server = new jayson.Server({
    add: (args: unknown, cb: Callback) => {
      const p = args as number[] | { a: number; b: number };
      cb(null, Array.isArray(p) ? p[0] + p[1] : p.a + p.b);
    },
    fail: (_args: unknown, cb: Callback) => cb({ code: 4, message: "four", data: { why: "test" } }),
    note: (args: unknown, cb: Callback) => {
      peer.notified.push(args);
      peer.onNotify.resolve(args);
      cb(null);
    },
    wait: (_args: unknown, cb: Callback) => {
      peer.waiting.resolve();
      if (released) cb(null, "waited");
      else held.push(() => cb(null, "waited"));
    },
  }).http();
  server.on("request", (req) => peer.headers.push(req.headers));
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  return {
    ...peer,
    url: `http://127.0.0.1:${port}/`,
    release() {
      released = true;
      for (const h of held.splice(0)) h();
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function start(dir: TempDir, options: Record<string, unknown> = {}): Promise<IoraService> {
  return await IoraService.create(serviceConfig(dir, {
    log: { level: "warn" },
    server: { enabled: false },
    modules: { modules: [{ url: shippedPlugin("jsonrpc_client"), options }] },
  }));
}

function api<R>(service: IoraService, name: string, ...args: unknown[]): R {
  return service.callExportedApi<R>(`jsonrpc.client.${name}`, ...args);
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (e) {
    return e;
  }
  assert.fail("expected a rejection");
}

describe("jsonrpc_client plugin against a jayson server", () => {
  it("calls, notifies and batches; typed remote errors; headers and bearer token", async () => {
    await using dir = await tempDir();
    const peer = await jaysonPeer();
    platform().setEnv("IORA_TEST_JSONRPC_CLIENT_TOKEN", "tok");
    const service = await start(dir, {
      bearerTokenEnv: "IORA_TEST_JSONRPC_CLIENT_TOKEN",
      headers: { "x-app": "iora" },
    });
    try {
      const names = service.listModules().find((m) => m.name === "jsonrpc_client")!.apis.sort();
      assert.deepEqual(names, [
        "jsonrpc.client.call",
        "jsonrpc.client.callAsync",
        "jsonrpc.client.callBatch",
        "jsonrpc.client.callBatchAsync",
        "jsonrpc.client.getStats",
        "jsonrpc.client.notify",
        "jsonrpc.client.purgeIdle",
        "jsonrpc.client.resetStats",
        "jsonrpc.client.result",
        "jsonrpc.client.version",
      ]);
      assert.equal(api(service, "version"), 1);
      assert.equal(await api(service, "call", peer.url, "add", [1, 2]), 3);
      assert.equal(
        await api(service, "call", peer.url, "add", { a: 5, b: 6 }, { "x-call": "1" }),
        11,
      );
      assert.equal(peer.headers[1]["x-call"], "1");
      assert.equal(peer.headers[1]["x-app"], "iora");
      assert.equal(peer.headers[1].authorization, "Bearer tok");
      assert.equal(peer.headers[1]["content-type"], "application/json");

      await api(service, "notify", peer.url, "note", ["hi"]);
      assert.deepEqual(await peer.onNotify.wait(), ["hi"]);

      const missing = await rejection(api(service, "call", peer.url, "nope", []));
      assert.ok(missing instanceof RemoteError);
      assert.equal(missing.rpcCode, -32601);
      assert.equal(missing.remoteKind, "MethodNotFound");
      const custom = await rejection(api(service, "call", peer.url, "fail", []));
      assert.ok(custom instanceof RemoteError && custom instanceof JsonRpcError);
      assert.deepEqual([custom.code, custom.rpcCode, custom.message, custom.data], [
        "RemoteError",
        4,
        "four",
        { why: "test" },
      ]);

      const outcomes = await api<Promise<(JsonRpcOutcome | undefined)[]>>(
        service,
        "callBatch",
        peer.url,
        [
          { method: "add", params: [1, 1] },
          { method: "note", params: ["batch"], notification: true },
          { method: "fail" },
          { method: "add", params: [2, 2] },
        ],
      );
      assert.equal(outcomes.length, 4);
      assert.deepEqual(outcomes[0], { ok: true, result: 2 });
      assert.equal(outcomes[1], undefined);
      assert.ok(outcomes[2]?.ok === false && outcomes[2].error instanceof RemoteError);
      assert.deepEqual(outcomes[3], { ok: true, result: 4 });
      // A batch of notifications only: jayson answers 204.
      assert.deepEqual(
        await api(service, "callBatch", peer.url, [{
          method: "note",
          params: [1],
          notification: true,
        }]),
        [undefined],
      );

      const stats = api<JsonRpcClientStats>(service, "getStats");
      assert.equal(stats.totalRequests, 7);
      assert.equal(stats.successfulRequests, 5);
      assert.equal(stats.failedRequests, 2);
      assert.equal(stats.batchRequests, 2);
      assert.equal(stats.notificationRequests, 1);
      assert.equal(stats.connectionsCreated, 1, "one keep-alive connection");
      api(service, "purgeIdle");
      api(service, "resetStats");
      assert.equal(api<JsonRpcClientStats>(service, "getStats").totalRequests, 0);
    } finally {
      await service.shutdown();
      await peer.close();
    }
  });

  it("async jobs: pending, then done; they expire and their count is bounded", async () => {
    await using dir = await tempDir();
    const peer = await jaysonPeer();
    const service = await start(dir, { jobTtlMs: 40, maxJobs: 2 });
    try {
      const job = api<string>(service, "callAsync", peer.url, "wait", []);
      await peer.waiting.wait();
      assert.deepEqual(api(service, "result", job), { done: false });
      const batchJob = api<string>(service, "callBatchAsync", peer.url, [
        { method: "add", params: [1, 2] },
        { method: "fail" },
      ]);
      assert.throws(
        () => api(service, "callAsync", peer.url, "add", [1, 1]),
        (e: unknown) => e instanceof JsonRpcError && e.code === "TooManyJobs",
      );
      assert.equal(api<JsonRpcClientStats>(service, "getStats").pendingJobs, 2);
      peer.release();
      // Polling result() is how a job is meant to be read; waitFor bounds it.
      const settled = async (id: string): Promise<JsonRpcJobResult> => {
        await waitFor(() => api<JsonRpcJobResult>(service, "result", id).done, {
          what: `job ${id}`,
        });
        return api<JsonRpcJobResult>(service, "result", id);
      };
      assert.deepEqual(await settled(job), { done: true, result: "waited" });
      assert.deepEqual(await settled(batchJob), {
        done: true,
        result: [{ result: 3 }, { error: { code: 4, message: "four", data: { why: "test" } } }],
      });
      await runtimeTimerFired(60);
      assert.throws(
        () => api(service, "result", job),
        (e: unknown) => e instanceof JsonRpcError && e.code === "UnknownJob",
      );
      assert.equal(api<JsonRpcClientStats>(service, "getStats").storedJobs, 0);
      const fresh = api<string>(service, "callAsync", peer.url, "fail", []);
      const failed = await settled(fresh);
      assert.ok(failed.done && "error" in failed && failed.error instanceof RemoteError);
    } finally {
      await service.shutdown();
      await peer.close();
    }
  });

  it("times out, refuses past maxInFlight, retries refused connections only", async () => {
    await using dir = await tempDir();
    const peer = await jaysonPeer();
    const service = await start(dir, { timeoutMs: 50, maxInFlight: 1, retries: 1 });
    try {
      const slow = rejection(api(service, "call", peer.url, "wait", []));
      await peer.waiting.wait();
      const refused = await rejection(api(service, "call", peer.url, "add", [1, 2]));
      assert.ok(refused instanceof PoolExhaustedError && refused.code === "PoolExhausted");
      const timedOut = await slow;
      assert.ok(timedOut instanceof JsonRpcError);
      assert.equal(timedOut.code, "Timeout");
      assert.equal(timedOut.rpcCode, -32000);
      // The wait call reached the server: it is not sent again.
      assert.equal(peer.headers.length, 1);

      let stats = api<JsonRpcClientStats>(service, "getStats");
      assert.equal(stats.poolExhaustions, 1);
      assert.equal(stats.timeoutRequests, 1);
      assert.equal(stats.failedRequests, 2);

      // Refused connections are tried again (retries: 1), then fail typed.
      await using dir2 = await tempDir();
      const other = await start(dir2, { retries: 1 });
      try {
        const dead = `http://127.0.0.1:${await freePort()}/`;
        const down = await rejection(api(other, "call", dead, "add", [1, 2]));
        assert.ok(down instanceof JsonRpcError && down.code === "TransportError", String(down));
        stats = api<JsonRpcClientStats>(other, "getStats");
        assert.equal(stats.retriedRequests, 1);
        assert.equal(stats.failedRequests, 1);
      } finally {
        await other.shutdown();
      }
      // A server that answers no JSON-RPC: typed errors, not a crash.
      const html = createServer((req, res) => {
        res.writeHead(req.url === "/500" ? 500 : 200, { "content-type": "text/html" });
        res.end("<h1>hello</h1>");
      });
      await new Promise<void>((resolve) => html.listen(0, "127.0.0.1", resolve));
      const base = `http://127.0.0.1:${(html.address() as { port: number }).port}`;
      try {
        const notRpc = await rejection(api(service, "call", `${base}/`, "add", [1]));
        assert.ok(
          notRpc instanceof JsonRpcError && notRpc.code === "InvalidResponse",
          String(notRpc),
        );
        const status = await rejection(api(service, "call", `${base}/500`, "add", [1]));
        assert.ok(
          status instanceof JsonRpcError && status.code === "TransportError",
          String(status),
        );
        assert.deepEqual(status.data, { status: 500 });
      } finally {
        html.closeAllConnections();
        await new Promise<void>((resolve) => html.close(() => resolve()));
      }
    } finally {
      peer.release();
      await service.shutdown();
      await peer.close();
    }
  });

  it("stops reading a hostile answer at maxResponseBytes instead of waiting for all of it", async () => {
    // Announces 1 GiB, sends 2 MiB, then holds the connection open: the client must refuse
    // at the limit, not buffer on until the call's (long) timeout.
    const hostile = createServer((_req, res) => {
      res.writeHead(200, { "content-type": "application/json", "content-length": 1 << 30 });
      res.write(new Uint8Array(2 << 20).fill(0x20));
    });
    await new Promise<void>((resolve) => hostile.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(hostile.address() as { port: number }).port}/`;
    await using dir = await tempDir();
    const service = await start(dir, { timeoutMs: 60_000, maxResponseBytes: 1 << 20 });
    const own = new JsonRpcClient({ timeoutMs: 60_000, maxResponseBytes: 1 << 20 });
    try {
      for (
        const call of [
          () => api<Promise<unknown>>(service, "call", url, "add", [1, 2]),
          () => own.call(url, "add", [1, 2]),
        ]
      ) {
        const e = await rejection(call());
        assert.ok(e instanceof JsonRpcError && e.code === "TransportError", String(e));
        assert.match(e.message, /maxResponseBytes 1048576/);
      }
    } finally {
      await own.close();
      await service.shutdown();
      hostile.closeAllConnections();
      await new Promise<void>((resolve) => hostile.close(() => resolve()));
    }
  });

  it("survives reloadModule under traffic: callers see results, or typed errors while it reloads", async () => {
    await using dir = await tempDir();
    const peer = await jaysonPeer();
    const service = await start(dir);
    try {
      const call = service.getExportedApiSafe<
        (u: string, m: string, p: unknown) => Promise<unknown>
      >(
        "jsonrpc.client.call",
      );
      const outcomes = { ok: 0, unavailable: 0, closed: 0 };
      const unexpected: string[] = [];
      let stop = false;
      let onOk = () => {};
      const loop = async (w: number) => {
        for (let i = 0; !stop; i++) {
          try {
            const result = await call.call(peer.url, "add", [w, i]);
            if (result === w + i) {
              outcomes.ok++;
              onOk();
            } else unexpected.push(`wrong result ${result}`);
          } catch (e) {
            if (e instanceof ApiUnavailableError) {
              outcomes.unavailable++;
              // The API is being re-exported: try again on the next turn of the loop.
              await runtimeTimerFired(1);
            } else if (
              e instanceof JsonRpcError && (e.code === "Closed" || e.code === "TransportError")
            ) {
              outcomes.closed++;
            } else unexpected.push(String(e));
          }
        }
      };
      const loops = Array.from({ length: 4 }, (_, w) => loop(w));
      for (let round = 0; round < 5; round++) {
        const next = deferred("a call before the reload");
        onOk = () => next.resolve();
        await next.wait();
        await service.reloadModule("jsonrpc_client");
      }
      const last = deferred("a call after the reloads");
      onOk = () => last.resolve();
      await last.wait();
      stop = true;
      await Promise.all(loops);
      assert.deepEqual(unexpected, []);
      assert.ok(outcomes.ok >= 6, JSON.stringify(outcomes));
    } finally {
      await service.shutdown();
      await peer.close();
    }
  });
});
