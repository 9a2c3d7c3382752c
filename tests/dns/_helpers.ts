// Shared by the DNS tests.
import assert from "node:assert/strict";
import { DnsResolverError } from "../../dns/mod.ts";

/** Asserts that `p` rejects with a DnsResolverError of `code`, and returns it. */
export async function rejectsWith(p: Promise<unknown>, code: string): Promise<DnsResolverError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof DnsResolverError, `expected a DnsResolverError, got ${e}`);
    assert.equal(e.code, code, e.message);
    return e;
  }
  assert.fail(`expected a rejection with ${code}`);
}
