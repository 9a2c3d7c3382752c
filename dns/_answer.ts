// What a server's reply means for the question asked: NOERROR and NXDOMAIN are answers (negative
// when nothing of the type or a CNAME came back), cached for their records' least TTL or, when
// negative, for the SOA's negative TTL (RFC 2308); any other rcode is an error, and the attempt
// is retried. Private to dns/.
import type { CachedAnswer } from "./cache.ts";
import { type DnsErrorCode, DnsResolverError } from "./errors.ts";
import { type DnsMessage, type DnsQuestion, DnsRcode, DnsType, type SoaRecord } from "./message.ts";

const RCODE_ERRORS: Record<number, DnsErrorCode> = {
  [DnsRcode.FormErr]: "FormErr",
  [DnsRcode.ServFail]: "ServFail",
  [DnsRcode.NotImp]: "NotImp",
  [DnsRcode.Refused]: "Refused",
};

/** An answer to cache and return, or the rcode's error for a retry. */
export function answerOf(q: DnsQuestion, msg: DnsMessage): CachedAnswer | DnsResolverError {
  const rcode = msg.rcode;
  if (rcode === DnsRcode.NoError || rcode === DnsRcode.NXDomain) {
    const records = msg.answers;
    const negative = rcode === DnsRcode.NXDomain ||
      !records.some((r) => r.type === q.type || r.type === DnsType.CNAME);
    return { rcode, records, negative };
  }
  const code = RCODE_ERRORS[rcode] ?? "ServerError";
  return new DnsResolverError(
    code,
    `${q.name}: the server answered ${code} (rcode ${rcode})`,
    q,
    rcode,
  );
}

/** Seconds to cache `answer`, taken from `msg`: 0 for a negative answer without an SOA. */
export function answerTtl(answer: CachedAnswer, msg: DnsMessage): number {
  let ttl = 0;
  if (answer.negative) {
    // RFC 2308 §5: min(SOA TTL, SOA MINIMUM); without an SOA, not cached.
    const soa = msg.authorities.find((r): r is SoaRecord => r.kind === "SOA");
    if (soa) ttl = Math.min(soa.ttl, soa.minimum);
  } else {
    ttl = Infinity;
    for (const r of answer.records) if (r.ttl < ttl) ttl = r.ttl;
  }
  return ttl;
}
