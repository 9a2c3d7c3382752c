// When HttpClient tries a request again: which requests are safe to send
// twice, how long it waits (a backoff with jitter, or what Retry-After asks
// for), and a wait that an abort cuts short.
import type { HttpRetryConfig } from "./client_types.ts";
import type { PreparedBody } from "./_client_body.ts";

const IDEMPOTENT = new Set(["GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE"]);

/** True when sending the request twice is safe: an idempotent method, and no stream body. */
export function resendable(method: string, body: PreparedBody): boolean {
  return IDEMPOTENT.has(method) && !(body instanceof ReadableStream);
}

/** The wait before try `attempt + 1`: doubling from `backoffMs`, capped, with jitter. */
export function backoffMs(retry: Required<HttpRetryConfig>, attempt: number): number {
  const base = Math.min(retry.maxDelayMs, retry.backoffMs * 2 ** attempt);
  return base / 2 + Math.random() * base / 2;
}

/** Milliseconds a `Retry-After` value asks for, or undefined when it says nothing usable. */
export function retryAfterMs(value: string | null): number | undefined {
  if (value === null) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

/** Waits `ms`; rejects with the signal's reason as soon as it aborts. */
export function abortable(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
