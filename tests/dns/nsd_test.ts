// DnsClient against a real authoritative server (NSD) serving the zones in
// tests/fixtures/dns; answers are compared with what dig reports.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { DnsClient, type DnsConfig, DnsType } from "../../dns/mod.ts";
import { platform } from "../../core/platform/mod.ts";
import { tempDir } from "../harness.ts";
import { dig, type NsdServer, startNsd } from "./_nsd.ts";
import { rejectsWith } from "./_helpers.ts";

let nsd: NsdServer;

function client(extra: DnsConfig = {}): DnsClient {
  return new DnsClient({ servers: [nsd.server], hostsPath: null, timeout: 2000, ...extra });
}

describe("DnsClient against nsd", () => {
  before(async () => {
    nsd = await startNsd();
  });
  after(async () => {
    await nsd.stop();
  });

  it("answers every record type as dig does", async () => {
    using c = client();
    const p = nsd.port;
    assert.deepEqual(
      (await c.resolveA("www.example.test")).sort(),
      await dig(p, "www.example.test", "A"),
    );
    assert.deepEqual(
      await c.resolveAAAA("www.example.test"),
      await dig(p, "www.example.test", "AAAA"),
    );
    assert.deepEqual(
      (await c.resolveMx("example.test")).map((m) => `${m.priority} ${m.exchange}.`),
      await dig(p, "example.test", "MX"),
    );
    assert.deepEqual(
      (await c.resolveSrv("_sip._udp.example.test")).map((s) =>
        `${s.priority} ${s.weight} ${s.port} ${s.target}.`
      ).sort(),
      await dig(p, "_sip._udp.example.test", "SRV"),
    );
    assert.deepEqual(
      (await c.resolveNaptr("example.test")).map((n) =>
        `${n.order} ${n.preference} "${n.flags}" "${n.service}" "${n.regexp}" ${n.replacement}.`
      ).sort(),
      await dig(p, "example.test", "NAPTR"),
    );
    const txt = await c.query("txt.example.test", DnsType.TXT);
    assert.deepEqual(
      txt.map((r) => r.kind === "TXT" ? r.texts.map((t) => `"${t}"`).join(" ") : "").sort(),
      await dig(p, "txt.example.test", "TXT"),
    );
    assert.deepEqual((await c.resolveTxt("txt.example.test")).sort(), [
      "hello world",
      "second record",
    ]);
    const soa = await c.query("example.test", DnsType.SOA);
    assert.equal(soa.length, 1);
    const s = soa[0];
    assert.ok(s.kind === "SOA");
    assert.deepEqual(
      [`${s.mname}. ${s.rname}. ${s.serial} ${s.refresh} ${s.retry} ${s.expire} ${s.minimum}`],
      await dig(p, "example.test", "SOA"),
    );
    const ns = await c.query("example.test", DnsType.NS);
    assert.deepEqual(
      ns.map((r) => r.kind === "NS" ? `${r.target}.` : ""),
      await dig(p, "example.test", "NS"),
    );
    assert.deepEqual(await c.resolveCname("alias.example.test"), ["www.example.test"]);
    assert.deepEqual(await c.resolveA("weird\\032name.example.test"), ["192.0.2.60"]);
    assert.deepEqual(await dig(p, "weird\\032name.example.test", "A"), ["192.0.2.60"]);
  });

  it("resolves reverse names outside 127/8, IPv4 and IPv6", async () => {
    using c = client();
    assert.deepEqual(await c.resolvePtr("192.0.2.10"), ["www.example.test"]);
    assert.deepEqual(await dig(nsd.port, "10.2.0.192.in-addr.arpa", "PTR"), ["www.example.test."]);
    assert.deepEqual(await c.resolvePtr("2001:db8::10"), ["www.example.test"]);
  });

  it("follows CNAME chains and reports loops, NXDOMAIN and NODATA apart", async () => {
    using c = client();
    assert.deepEqual((await c.resolveA("chain1.example.test")).sort(), [
      "192.0.2.10",
      "192.0.2.11",
    ]);
    await rejectsWith(c.resolveA("loop1.example.test"), "CnameLoop");
    await rejectsWith(c.resolveA("nope.example.test"), "NXDomain");
    const nodata = await rejectsWith(c.resolveMx("www.example.test"), "NoData");
    assert.equal(nodata.question?.name, "www.example.test");
    await rejectsWith(c.resolveA("v6only.example.test"), "NoData");
    assert.deepEqual(await c.resolveHost("v6only.example.test"), ["2001:db8::6"]);
    await rejectsWith(c.resolveA("x.not-served.test"), "Refused");
    await rejectsWith(c.resolveA(`${"a".repeat(64)}.example.test`), "InvalidName");
  });

  it("orders host addresses by addressResolutionPolicy", async () => {
    const v4 = ["192.0.2.10", "192.0.2.11"];
    const v6 = ["2001:db8::10"];
    const host = async (policy: DnsConfig["addressResolutionPolicy"]): Promise<string[]> => {
      using c = client({ addressResolutionPolicy: policy });
      return await c.resolveHost("www.example.test");
    };
    assert.deepEqual(await host("IPv4First"), [...v4, ...v6]);
    assert.deepEqual(await host("IPv6First"), [...v6, ...v4]);
    assert.deepEqual(await host("IPv4Only"), v4);
    assert.deepEqual(await host("IPv6Only"), v6);
    using c = client({ addressResolutionPolicy: "IPv4Only" });
    await rejectsWith(c.resolveHost("v6only.example.test"), "NoData");
  });

  it("caches NXDOMAIN and NODATA for the SOA's negative TTL: no second packet", async () => {
    using c = client();
    await rejectsWith(c.resolveA("missing.example.test"), "NXDomain");
    await rejectsWith(c.resolveMx("www.example.test"), "NoData");
    const sent = c.getStats().packetsSent;
    assert.equal(sent, 2);
    await rejectsWith(c.resolveA("missing.example.test"), "NXDomain");
    await rejectsWith(c.resolveMx("www.example.test"), "NoData");
    const stats = c.getStats();
    assert.equal(stats.packetsSent, 2);
    assert.equal(stats.cacheHits, 2);
    assert.equal(c.getCacheSize(), 2);
    // NSD's SOA: TTL 3600, minimum 30 → 30 s.
    const ttl = c.getCacheStatistics();
    assert.equal(ttl.negativeStored, 2);
    c.clearCache("missing.example.test");
    assert.equal(c.getCacheSize(), 1);
    assert.equal(c.removeCacheEntry({ name: "www.example.test", type: DnsType.MX }), true);
    await rejectsWith(c.resolveA("missing.example.test"), "NXDomain");
    assert.equal(c.getStats().packetsSent, 3);
  });

  it("1,000 concurrent identical questions send one packet", async () => {
    using c = client();
    const all = await Promise.all(
      Array.from({ length: 1000 }, () => c.resolveA("plain.example.test")),
    );
    assert.ok(all.every((a) => a.length === 1 && a[0] === "192.0.2.50"));
    const s = c.getStats();
    assert.equal(s.packetsSent, 1);
    assert.equal(s.deduplicated, 999);
  });

  it("takes a >512-octet answer over UDP with EDNS0 and a >1232 one over TCP", async () => {
    using c = client();
    assert.equal((await c.resolveA("big512.example.test")).length, 40);
    assert.equal(c.getStats().tcpFallbacks, 0);
    assert.equal((await c.resolveA("big1232.example.test")).length, 100);
    assert.equal(c.getStats().tcpFallbacks, 1);
    using small = client({ maxUdpSize: 512 });
    assert.equal((await small.resolveA("big512.example.test")).length, 40);
    assert.equal(small.getStats().tcpFallbacks, 1);
    using udpOnly = client({ transportMode: "UDP", enableCache: false });
    // UDP only: the truncated answer is all there is (NSD sends no partial RRset).
    await rejectsWith(udpOnly.resolveA("big1232.example.test"), "NoData");
  });

  it("reuses one TCP connection for pipelined queries in TCP mode", async () => {
    using c = client({ transportMode: "TCP", enableCache: false });
    const names = ["www", "plain", "mx1", "mx2", "sip1", "sip2", "sip3", "ns"];
    const got = await Promise.all(names.map((n) => c.resolveA(`${n}.example.test`)));
    assert.equal(got.length, names.length);
    assert.ok(got.every((a) => a.length > 0));
    const s = c.getStats();
    assert.equal(s.tcpQueries, names.length);
    assert.equal(s.tcpConnections, 1);
    assert.equal(s.packetsSent, 0);
  });

  it("queries an IPv6 server", async (t) => {
    if (!nsd.server6) return t.skip("no ::1");
    using c = new DnsClient({ servers: [nsd.server6], hostsPath: null });
    assert.deepEqual((await c.resolveA("www.example.test")).sort(), ["192.0.2.10", "192.0.2.11"]);
  });

  it("discovers services per RFC 3263: NAPTR, then SRV, then A/AAAA", async () => {
    using c = client();
    const viaNaptr = await c.resolveServiceDomain("example.test", ["TLS", "TCP", "UDP"]);
    assert.equal(viaNaptr.source, "NAPTR");
    const order = viaNaptr.targets.map((t) => `${t.transport} ${t.host} ${t.port}`);
    assert.equal(order[0], "TLS sip2.example.test 5061");
    assert.equal(order[1], "TCP sip1.example.test 5060");
    const udp = viaNaptr.targets.filter((t) => t.transport === "UDP");
    assert.deepEqual(udp.map((t) => t.priority), [10, 10, 20, 20]);
    assert.deepEqual(udp.slice(2).map((t) => t.address).sort(), ["192.0.2.33", "2001:db8::33"]);
    assert.ok(udp.every((t) => t.ttl === 300));
    const onlyUdp = await c.resolveServiceDomain("example.test", ["UDP"]);
    assert.ok(onlyUdp.targets.every((t) => t.transport === "UDP"));

    const viaSrv = await c.resolveServiceDomain("srvonly.example.test", ["UDP", "TCP"]);
    assert.equal(viaSrv.source, "SRV");
    assert.deepEqual(viaSrv.targets.map((t) => `${t.address}:${t.port}`), ["192.0.2.31:5080"]);

    const plain = await c.resolveServiceDomain("plain.example.test", ["UDP", "TLS"]);
    assert.equal(plain.source, "A/AAAA");
    assert.deepEqual(plain.targets.map((t) => `${t.transport} ${t.address}:${t.port}`), [
      "UDP 192.0.2.50:5060",
      "TLS 192.0.2.50:5061",
    ]);
    await rejectsWith(c.resolveServiceDomain("nope.example.test"), "NXDomain");
  });

  it("reads servers, search and ndots from resolv.conf, and a hosts file first", async () => {
    await using dir = await tempDir();
    // "addr:port" on a nameserver line is an extension of ours (glibc takes no port).
    await platform().writeTextFile(
      dir.join("resolv.conf"),
      `# test\nnameserver ${nsd.server}\nsearch nowhere.example.test example.test\noptions ndots:2 timeout:1 attempts:2\n`,
    );
    await platform().writeTextFile(
      dir.join("hosts"),
      // Garbage addresses are not answers: 300.1.2.3 is no IPv4 address, 1:2:3 no IPv6 one.
      "192.0.2.99 www.example.test pinned\n::1 pinned\n300.1.2.3 pinned\n1:2:3 pinned\n",
    );
    using c = new DnsClient({
      resolvConfPath: dir.join("resolv.conf"),
      hostsPath: dir.join("hosts"),
    });
    assert.deepEqual(await c.resolveA("plain"), ["192.0.2.50"]);
    // "plain" has fewer dots than ndots: plain.nowhere.example.test (NXDOMAIN), then plain.example.test.
    assert.equal(c.getStats().packetsSent, 2);
    assert.deepEqual(await c.resolveA("pinned"), ["192.0.2.99"]);
    assert.deepEqual(await c.resolveAAAA("pinned"), ["::1"]);
    assert.deepEqual(await c.resolveA("www.example.test"), ["192.0.2.99"]);
    assert.deepEqual(await c.resolveAAAA("www.example.test"), ["2001:db8::10"]);
    using missing = new DnsClient({ resolvConfPath: dir.join("absent.conf"), hostsPath: null });
    await rejectsWith(missing.resolveA("www.example.test"), "NoServers");
  });

  it("cancels through AbortSignal and the cancellable forms", async () => {
    using c = client();
    const ac = new AbortController();
    ac.abort();
    await rejectsWith(c.resolveA("www.example.test", { signal: ac.signal }), "Cancelled");
    const q = c.resolveAAsync("plain.example.test");
    assert.equal(q.cancel(), true);
    assert.equal(q.isCancelled(), true);
    assert.equal(q.isCompleted(), true);
    await rejectsWith(q.promise, "Cancelled");
    const done = await new Promise<string[] | null>((resolve) =>
      c.resolveAAsync("www.example.test", (_e, r) => resolve(r))
    );
    assert.deepEqual(done?.sort(), ["192.0.2.10", "192.0.2.11"]);
    const q2 = c.resolveMxAsync("example.test");
    assert.equal((await q2).length, 2);
    assert.equal(q2.isCompleted(), true);
    assert.equal(q2.cancel(), false);
  });
});
