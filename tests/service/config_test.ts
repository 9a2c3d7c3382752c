// The module entries of the service configuration: sandbox keys are
// checked, with the offending key named.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseServiceConfig } from "../../service/config.ts";
import { ServiceConfigError } from "../../service/errors.ts";

function moduleOf(entry: Record<string, unknown>) {
  return parseServiceConfig({ modules: { modules: [entry] } }).modules.modules[0];
}

function rejects(entry: Record<string, unknown>, key: string): void {
  assert.throws(
    () => moduleOf(entry),
    (e: unknown) => e instanceof ServiceConfigError && e.key === `modules.modules[0].${key}`,
  );
}

describe("service config: sandboxed module entries", () => {
  it("reads isolation, namespaces, route prefixes, root and limits", () => {
    const entry = {
      url: "x.ts",
      sandbox: true,
      isolation: "worker",
      apis: ["kvstore.", "auth.check"],
      namespaces: ["x", "jsonrpc.client"],
      routePrefixes: ["/x"],
      root: "vendor/x",
      limits: { heapMb: 64, maxExports: 10 },
    };
    assert.deepEqual(moduleOf(entry), entry);
  });

  it("names the key of each bad value", () => {
    rejects({ url: "x.ts", isolation: "thread" }, "isolation");
    rejects({ url: "x.ts", namespaces: "x" }, "namespaces");
    rejects({ url: "x.ts", apis: [1] }, "apis");
    rejects({ url: "x.ts", namespaces: [""] }, "namespaces");
    rejects({ url: "x.ts", routePrefixes: ["x"] }, "routePrefixes");
    rejects({ url: "x.ts", limits: { heapMb: 0 } }, "limits.heapMb");
    rejects({ url: "x.ts", limits: { maxMessageBytes: 1.5 } }, "limits.maxMessageBytes");
    rejects({ url: "x.ts", limits: { maxStateBytes: -1 } }, "limits.maxStateBytes");
    rejects({ url: "x.ts", limits: { quota: 1 } }, "limits.quota");
    rejects({ url: "x.ts", services: ["logger", "files"] }, "services");
  });
});

describe("service config: [http.client]", () => {
  it("reads the client's keys and names the key of each bad value", () => {
    const config = parseServiceConfig({
      http: {
        client: {
          connectTimeout: 2000,
          userAgent: "svc/1",
          retryLimit: 0,
          defaultHeaders: { "x-a": "1" },
          tls: { caFile: "ca.pem", verifyPeer: true },
        },
      },
    });
    assert.deepEqual(config.http.client, {
      connectTimeout: 2000,
      userAgent: "svc/1",
      retryLimit: 0,
      defaultHeaders: { "x-a": "1" },
      tls: { caFile: "ca.pem", verifyPeer: true },
    });
    assert.deepEqual(parseServiceConfig({}).http, { client: {} });
    const bad = (client: Record<string, unknown>, key: string) =>
      assert.throws(
        () => parseServiceConfig({ http: { client } }),
        (e: unknown) => e instanceof ServiceConfigError && e.key === `http.client.${key}`,
      );
    bad({ connectTimeout: 0 }, "connectTimeout");
    bad({ maxRedirects: -1 }, "maxRedirects");
    bad({ defaultHeaders: { "x-a": 1 } }, "defaultHeaders.x-a");
    bad({ tls: { pinned: "x" } }, "tls.pinned");
    bad({ proxy: "x" }, "proxy");
  });
});
