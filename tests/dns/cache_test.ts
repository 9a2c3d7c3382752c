// DnsCache (TTL, LRU, negative entries, statistics), service ordering and
// the resolv.conf / hosts parsers.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  DnsCache,
  orderSrv,
  parseHosts,
  parseResolvConf,
  parseServer,
  type SrvRecord,
} from "../../dns/mod.ts";

describe("dns cache", () => {
  it("keeps answers for their TTL, case-insensitively, and counts hits and misses", () => {
    let now = 0;
    const cache = new DnsCache({ now: () => now });
    const q = { name: "WWW.Example.test.", type: 1 };
    cache.set(q, { rcode: 0, records: [] }, 10);
    assert.ok(cache.get({ name: "www.example.test", type: 1 }));
    assert.equal(cache.get({ name: "www.example.test", type: 28 }), undefined);
    assert.equal(cache.ttlOf(q), 10);
    now = 9_999;
    assert.ok(cache.get(q));
    now = 10_000;
    assert.equal(cache.get(q), undefined);
    const s = cache.getStats();
    assert.deepEqual([s.hits, s.misses, s.expirations, s.totalEntries], [2, 2, 1, 0]);
    assert.equal(s.hitRatio, 0.5);
    cache.resetStats();
    assert.equal(cache.getStats().hits, 0);
  });

  it("stores nothing for TTL 0 and caps TTLs at maxTtl", () => {
    let now = 0;
    const cache = new DnsCache({ now: () => now, maxTtl: 5 });
    cache.set({ name: "a.test", type: 1 }, { rcode: 0, records: [] }, 0);
    assert.equal(cache.size, 0);
    cache.set({ name: "a.test", type: 1 }, { rcode: 3, records: [], negative: true }, 3600);
    now = 5_000;
    assert.equal(cache.get({ name: "a.test", type: 1 }), undefined);
    assert.equal(cache.getStats().negativeStored, 1);
  });

  it("evicts the least recently used entry at the size limit", () => {
    const cache = new DnsCache({ maxSize: 2 });
    const a = { name: "a.test", type: 1 };
    const b = { name: "b.test", type: 1 };
    const c = { name: "c.test", type: 1 };
    cache.set(a, { rcode: 0, records: [] }, 60);
    cache.set(b, { rcode: 0, records: [] }, 60);
    cache.get(a); // a is now the most recent
    cache.set(c, { rcode: 0, records: [] }, 60);
    assert.ok(cache.get(a));
    assert.equal(cache.get(b), undefined);
    assert.ok(cache.get(c));
    assert.equal(cache.getStats().evictions, 1);
  });

  it("keeps a hit old entry and evicts the next oldest in a larger cache", () => {
    const cache = new DnsCache({ maxSize: 100 });
    const q = (i: number) => ({ name: `n${i}.test`, type: 1 });
    for (let i = 0; i < 100; i++) cache.set(q(i), { rcode: 0, records: [] }, 60);
    assert.ok(cache.get(q(0)));
    cache.set(q(100), { rcode: 0, records: [] }, 60);
    assert.ok(cache.get(q(0)), "the hit entry survives");
    assert.equal(cache.get(q(1)), undefined, "the least recently used goes");
    assert.equal(cache.size, 100);
  });

  it("clears one name (every type), one question, or everything", () => {
    const cache = new DnsCache();
    for (const type of [1, 28, 15]) {
      cache.set({ name: "a.test", type }, { rcode: 0, records: [] }, 60);
    }
    cache.set({ name: "b.test", type: 1 }, { rcode: 0, records: [] }, 60);
    cache.clear("A.TEST.");
    assert.equal(cache.size, 1);
    assert.equal(cache.remove({ name: "b.test", type: 1 }), true);
    assert.equal(cache.remove({ name: "b.test", type: 1 }), false);
    cache.set({ name: "b.test", type: 1 }, { rcode: 0, records: [] }, 60);
    cache.clear();
    assert.equal(cache.size, 0);
  });
});

describe("dns helpers", () => {
  it("orders SRV records by priority, then weighted random per RFC 2782", () => {
    const srv = (priority: number, weight: number, target: string): SrvRecord => ({
      kind: "SRV",
      name: "_s._tcp.test",
      type: 33,
      class: 1,
      ttl: 60,
      priority,
      weight,
      port: 1,
      target,
    });
    const records = [
      srv(20, 0, "z"),
      srv(10, 1, "light"),
      srv(10, 99, "heavy"),
      srv(10, 0, "zero"),
    ];
    // random() = 0 picks the first of the running sums: the zero-weight entry first.
    assert.deepEqual(orderSrv(records, () => 0).map((r) => r.target), [
      "zero",
      "light",
      "heavy",
      "z",
    ]);
    // random() just under 1 picks the heaviest.
    assert.equal(orderSrv(records, () => 0.999)[0].target, "heavy");
    let heavyFirst = 0;
    for (let i = 0; i < 2000; i++) if (orderSrv(records)[0].target === "heavy") heavyFirst++;
    assert.ok(heavyFirst > 1800 && heavyFirst < 2000, `heavy first ${heavyFirst} of 2000`);
  });

  it("parses resolv.conf, hosts files and server addresses", () => {
    const conf = parseResolvConf(
      "; comment\nnameserver 192.0.2.53\nnameserver fe80::1%eth0\nnameserver 127.0.0.1:5353\n" +
        "domain one.test\nsearch a.test b.test.\noptions ndots:3 timeout:2 attempts:4 rotate\n",
    );
    assert.deepEqual(conf.servers, ["192.0.2.53", "[fe80::1]", "127.0.0.1:5353"]);
    assert.deepEqual(conf.search, ["a.test", "b.test"]);
    assert.deepEqual([conf.ndots, conf.timeoutMs, conf.attempts, conf.rotate], [3, 2000, 4, true]);
    assert.deepEqual(parseResolvConf("").servers, []);
    const hosts = parseHosts("127.0.0.1 localhost\n::1 localhost ip6-localhost # x\n#x y\n");
    assert.deepEqual(hosts.get("localhost"), ["127.0.0.1", "::1"]);
    assert.deepEqual(parseServer("[::1]:5353"), { host: "::1", port: 5353 });
    assert.deepEqual(parseServer("2001:db8::1"), { host: "2001:db8::1", port: 53 });
    assert.deepEqual(parseServer("192.0.2.1:54"), { host: "192.0.2.1", port: 54 });
    assert.throws(() => parseServer("dns.example"), /not a server address/);
    assert.throws(() => parseServer("192.0.2.1:70000"), /not a server address/);
  });
});
