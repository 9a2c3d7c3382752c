// Following a CNAME chain inside one answer: from the name asked to the records of the type
// asked, or to the name the chain leaves the answer at (to be asked next). Loops and chains
// longer than `maxCnameHops` fail with `CnameLoop`; NXDOMAIN and an answer with nothing of the
// type fail with `NXDomain` and `NoData`. Private to dns/.
import type { CachedAnswer } from "./cache.ts";
import { DnsResolverError } from "./errors.ts";
import { DnsRcode, type DnsRecord, DnsType, sameName } from "./message.ts";

/**
 * The records of `type` at the end of the CNAME chain from `name` in
 * `answer`, or the name to ask next when the chain leaves the answer. `seen`
 * holds the CNAME targets met so far (loop and length check, at most `limit`).
 */
export function chainEnd(
  answer: CachedAnswer,
  name: string,
  type: number,
  seen: Set<string>,
  limit: number,
): DnsRecord[] | string {
  if (answer.rcode === DnsRcode.NXDomain) {
    throw new DnsResolverError(
      "NXDomain",
      `${name} does not exist`,
      { name, type },
      answer.rcode,
    );
  }
  const records = answer.records;
  let target = name;
  if (type !== DnsType.CNAME) {
    for (;;) {
      const cname = records.find((r) => r.kind === "CNAME" && sameName(r.name, target));
      if (!cname || cname.kind !== "CNAME") break;
      const key = cname.target.toLowerCase();
      if (seen.has(key) || seen.size >= limit) {
        throw new DnsResolverError(
          "CnameLoop",
          `the CNAME chain through ${name} loops or is longer than ${limit}`,
          { name, type },
        );
      }
      seen.add(key);
      target = cname.target;
    }
  }
  const matches = records.filter((r) => r.type === type && sameName(r.name, target));
  if (matches.length > 0) return matches;
  if (target === name) {
    throw new DnsResolverError(
      "NoData",
      `${name} has no record of type ${type}`,
      { name, type },
      0,
    );
  }
  return target;
}
