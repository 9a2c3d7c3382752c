// IoraService's DNS client from [dns], and its HTTP client resolving names
// through it, against a real NSD.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { IoraService } from "../../service/iora_service.ts";
import { parseServiceConfig } from "../../service/config.ts";
import { ServiceConfigError } from "../../service/errors.ts";
import { type TempDir, tempDir } from "../harness.ts";
import { type NsdServer, startNsd, zoneText } from "../dns/_nsd.ts";
import { serviceConfig } from "./_fixtures.ts";

describe("IoraService [dns]", () => {
  let nsd: NsdServer;
  let dir: TempDir;

  before(async () => {
    dir = await tempDir();
    nsd = await startNsd({
      "svc.test": zoneText("svc.test", [
        "self IN A 127.0.0.1",
      ]),
    }, { ipv6: false });
  });

  after(async () => {
    await nsd.stop();
    await dir[Symbol.asyncDispose]();
  });

  it("builds dnsClient from [dns]; httpClient reaches the service by a name it resolves", async () => {
    const service = await IoraService.create(
      serviceConfig(dir, { dns: { servers: [nsd.server], hostsPath: dir.join("no-hosts") } }),
    );
    try {
      assert.deepEqual(await service.dnsClient.resolveA("self.svc.test"), ["127.0.0.1"]);
      const health = await service.httpClient.getJson<{ status: string }>(
        `http://self.svc.test:${service.webhookServer.port}/health`,
      );
      assert.equal(health.status, "pass");
      assert.ok(service.dnsClient.getStats().totalQueries >= 1);
    } finally {
      await service.shutdown();
    }
  });

  it("checks the [dns] keys", () => {
    const config = parseServiceConfig({
      dns: { servers: ["127.0.0.1:53"], timeout: 500, transportMode: "TCP", jitterFactor: 0.2 },
    });
    assert.deepEqual(config.dns, {
      servers: ["127.0.0.1:53"],
      timeout: 500,
      transportMode: "TCP",
      jitterFactor: 0.2,
    });
    for (
      const [dns, key] of [
        [{ timeout: 0 }, "dns.timeout"],
        [{ transportMode: "QUIC" }, "dns.transportMode"],
        [{ jitterFactor: 2 }, "dns.jitterFactor"],
        [{ servers: "x" }, "dns.servers"],
        [{ secret: 1 }, "dns.secret"],
      ] as const
    ) {
      assert.throws(
        () => parseServiceConfig({ dns }),
        (e: unknown) => e instanceof ServiceConfigError && e.key === key,
        key,
      );
    }
  });
});
