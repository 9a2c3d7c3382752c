import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  isLoopbackAddress,
  parseIpAddress,
  parseIpv4,
  parseIpv6,
} from "../../network/ip_address.ts";

describe("IP address literals", () => {
  it("parses IPv4 and refuses what is not a dotted quad", () => {
    assert.deepEqual([...parseIpv4("192.0.2.1")!], [192, 0, 2, 1]);
    for (const bad of ["256.0.0.1", "1.2.3", "1.2.3.4.5", "01234.1.1.1", "a.b.c.d", ""]) {
      assert.equal(parseIpv4(bad), null, bad);
    }
  });

  it("parses IPv6 with :: and an IPv4 tail, and refuses the malformed", () => {
    assert.equal(parseIpv6("::1")?.[15], 1);
    assert.deepEqual([...parseIpv6("::ffff:192.0.2.1")!.subarray(12)], [192, 0, 2, 1]);
    for (const bad of ["1::2::3", "12345::", "192.0.2.1", "::ffff:300.0.0.1", "[::1]"]) {
      assert.equal(parseIpv6(bad), null, bad);
    }
  });

  it("takes brackets and turns IPv4-mapped IPv6 into IPv4", () => {
    assert.equal(parseIpAddress("[::1]")?.length, 16);
    assert.deepEqual([...parseIpAddress("[::ffff:10.0.0.1]")!], [10, 0, 0, 1]);
    assert.equal(parseIpAddress("example.com"), null);
  });

  it("tells loopback addresses, mapped ones included, from the rest", () => {
    for (const yes of ["127.0.0.1", "127.255.0.9", "::1", "[::1]", "::ffff:127.0.0.1"]) {
      assert.ok(isLoopbackAddress(yes), yes);
    }
    for (const no of ["10.0.0.1", "::2", "::", "128.0.0.1", "localhost", "127.0.0.1.evil", ""]) {
      assert.ok(!isLoopbackAddress(no), no);
    }
  });
});
