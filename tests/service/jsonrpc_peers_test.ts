/// <reference types="npm:@types/node@^20" />
// jayson depends on @types/node 12; without this reference Deno would type node: modules with it.
// Our JSON-RPC server plugin answering other libraries' clients: every specification example
// and malformed case whose body a client can send goes through npm `jayson`'s HTTP client (raw
// requests and batches) and npm `json-rpc-2.0`'s JSONRPCClient (requestAdvanced over fetch), and
// must get the same answer as over a plain POST; plus their ordinary call APIs.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import jayson from "npm:jayson@5.0.0";
import { JSONRPCClient, JSONRPCErrorException } from "npm:json-rpc-2.0@1.8.1";
import { IoraService } from "../../service/iora_service.ts";
import { type TempDir, tempDir } from "../harness.ts";
import { serviceConfig, shippedPlugin } from "./_fixtures.ts";
import {
  MALFORMED,
  registerSpecMethods,
  responseKey,
  type RpcCase,
  SPEC_EXAMPLES,
} from "../fixtures/jsonrpc/cases.ts";

type JaysonCallback = (error: unknown, response?: unknown) => void;
interface JaysonClient {
  request(request: unknown, callback: JaysonCallback): unknown;
  request(
    method: string,
    params: unknown,
    callback: (e: unknown, err: unknown, r: unknown) => void,
  ): unknown;
}

// Bodies no client library can produce (not JSON, or not an object or array) go raw only.
const sendable = (c: RpcCase) =>
  c.value !== undefined && typeof c.value === "object" && c.value !== null;

describe("our JSON-RPC server through jayson's and json-rpc-2.0's clients", () => {
  let dir: TempDir;
  let service: IoraService;
  let url: string;
  let jaysonClient: JaysonClient;

  before(async () => {
    dir = await tempDir();
    service = await IoraService.create(serviceConfig(dir, {
      log: { level: "warn" },
      modules: { modules: [{ url: shippedPlugin("jsonrpc_server") }] },
    }));
    registerSpecMethods({
      register: (name, handler) => service.callExportedApi("jsonrpc.register", name, handler),
    });
    url = `http://127.0.0.1:${service.webhookServer.port}/rpc`;
    jaysonClient = jayson.Client.http({
      host: "127.0.0.1",
      port: service.webhookServer.port,
      path: "/rpc",
    });
  });

  after(async () => {
    await service.shutdown();
    await dir[Symbol.asyncDispose]();
  });

  function viaJayson(value: unknown): Promise<unknown> {
    return new Promise((resolve, reject) => {
      jaysonClient.request(value, (error: unknown, response?: unknown) => {
        if (error) reject(error);
        else resolve(response ?? null);
      });
    });
  }

  // json-rpc-2.0's client encodes and matches; the transport is fetch. The raw answer is kept:
  // answers with id null (invalid requests) match no pending call of the library's.
  async function viaJsonRpc2(value: unknown): Promise<unknown> {
    let raw: unknown = null;
    let done!: () => void;
    const sent = { promise: new Promise<void>((resolve) => (done = resolve)) };
    const client: JSONRPCClient = new JSONRPCClient(async (payload) => {
      const response = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(payload),
      });
      const text = await response.text();
      if (text !== "") {
        raw = JSON.parse(text);
      }
      done();
      if (raw !== null) client.receive(raw as Parameters<JSONRPCClient["receive"]>[0]);
    });
    // deno-lint-ignore no-explicit-any
    const pending = client.requestAdvanced(value as any);
    await sent.promise;
    // The library resolves once every request with an id (not null) has its answer.
    const requests = (Array.isArray(value) ? value : [value]) as { id?: unknown }[];
    const answers = (Array.isArray(raw) ? raw : raw === null ? [] : [raw]) as { id?: unknown }[];
    const ids = requests.map((r) => r?.id).filter((id) => id !== undefined && id !== null);
    if (ids.every((id) => answers.some((a) => a.id === id))) {
      const matched = await pending;
      const list = Array.isArray(matched) ? matched : [matched];
      // Its view is the answers to its ids, the same objects as the raw answer's.
      for (const m of list) {
        assert.ok(answers.some((a) => responseKey(a) === responseKey(m)), JSON.stringify(m));
      }
    } else {
      client.rejectAllPendingRequests("an answer with id null matches no call");
      await Promise.resolve(pending).then(() => {}, () => {});
    }
    return raw;
  }

  for (const c of [...SPEC_EXAMPLES, ...MALFORMED].filter(sendable)) {
    it(`jayson: ${c.name}`, async () => {
      assert.equal(
        responseKey(await viaJayson(c.value), c.ignoreData),
        responseKey(c.expect, c.ignoreData),
      );
    });
    // json-rpc-2.0 reads `.id` of every batch member: it cannot send a null member.
    const nullMember = Array.isArray(c.value) && c.value.some((m) => m === null);
    it(
      `json-rpc-2.0: ${c.name}`,
      { skip: nullMember && "the library cannot send a null member" },
      async () => {
        assert.equal(
          responseKey(await viaJsonRpc2(c.value), c.ignoreData),
          responseKey(c.expect, c.ignoreData),
        );
      },
    );
  }

  it("jayson's and json-rpc-2.0's ordinary calls get results and typed errors", async () => {
    const result = await new Promise((resolve, reject) =>
      jaysonClient.request(
        "subtract",
        [42, 23],
        (e: unknown, err: unknown, r: unknown) => e ? reject(e) : resolve(err ?? r),
      )
    );
    assert.equal(result, 19);
    const client: JSONRPCClient = new JSONRPCClient(async (payload) => {
      const response = await fetch(url, { method: "POST", body: JSON.stringify(payload) });
      const text = await response.text();
      if (text !== "") client.receive(JSON.parse(text));
    });
    assert.equal(await client.request("subtract", { minuend: 10, subtrahend: 4 }), 6);
    await assert.rejects(
      Promise.resolve(client.request("subtract", ["x", 1])),
      (e: unknown) => e instanceof JSONRPCErrorException && e.code === -32602,
    );
    await client.notify("update", [1]);
  });
});
