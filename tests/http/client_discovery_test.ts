// HttpClient's service targets and circuit breakers: srv+http: URLs go
// through DnsClient.resolveServiceDomain against a real NSD, in SRV priority
// order, past a dead target; an origin that keeps failing is cut off by its
// circuit breaker.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { DnsClient } from "../../dns/client.ts";
import { HttpClient } from "../../http/client.ts";
import { freePort } from "../harness.ts";
import { type NsdServer, startNsd, zoneText } from "../dns/_nsd.ts";

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as { port: number }).port;
}

describe("HttpClient service discovery and circuit breakers", () => {
  let nsd: NsdServer;
  let live: Server;
  let hits = 0;

  before(async () => {
    live = createServer((req, res) => {
      hits++;
      res.end(JSON.stringify({ host: req.headers.host, path: req.url }));
    });
    const livePort = await listen(live);
    const deadPort = await freePort(); // nothing listens there
    nsd = await startNsd({
      "svc.test": zoneText("svc.test", [
        "api1 IN A 127.0.0.1",
        "api2 IN A 127.0.0.1",
        `_http._tcp IN SRV 10 0 ${deadPort} api1`,
        `_http._tcp IN SRV 20 0 ${livePort} api2`,
      ]),
    }, { ipv6: false });
  });

  after(async () => {
    await nsd.stop();
    live.closeAllConnections();
    await new Promise((resolve) => live.close(resolve));
  });

  it("srv+http: resolves the service, skips the dead target, sends the target's Host", async () => {
    const dns = new DnsClient({ servers: [nsd.server] });
    try {
      await using client = new HttpClient({ dns, retry: false });
      const response = await client.get("srv+http://svc.test/orders?id=7");
      assert.equal(response.statusCode, 200);
      const seen = response.json<{ host: string; path: string }>();
      assert.equal(seen.path, "/orders?id=7");
      assert.match(seen.host, /^api2\.svc\.test:\d+$/);
      await assert.rejects(client.get("srv+http://nothing.svc.test/"), { code: "DnsFailed" });
    } finally {
      dns.close();
    }
  });

  it("an origin that keeps failing is cut off by its circuit breaker, others are not", async () => {
    let failing = 0;
    const broken = createServer((_req, res) => {
      failing++;
      res.statusCode = 503;
      res.end();
    });
    const port = await listen(broken);
    try {
      await using client = new HttpClient({
        retry: false,
        circuitBreaker: { failureThreshold: 3, timeoutMs: 60_000 },
      });
      for (let i = 0; i < 3; i++) {
        assert.equal((await client.get(`http://127.0.0.1:${port}/`)).statusCode, 503);
      }
      await assert.rejects(client.get(`http://127.0.0.1:${port}/`), { code: "CircuitOpen" });
      assert.equal(failing, 3, "the open circuit sent nothing");
      const before = hits;
      const ok = await client.get(`http://127.0.0.1:${(live.address() as { port: number }).port}/`);
      assert.equal(ok.statusCode, 200);
      assert.equal(hits, before + 1);
    } finally {
      broken.closeAllConnections();
      await new Promise((resolve) => broken.close(resolve));
    }
  });
});
