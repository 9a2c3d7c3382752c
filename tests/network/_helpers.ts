/**
 * Helpers shared by the network tests: test certificates made once per file,
 * byte collectors and a plain TCP "silent" peer.
 *
 * @module
 */
import { platform } from "../../core/platform/mod.ts";
import { type Deferred, deferred } from "../harness.ts";
import { generateTestCerts, type TestCerts } from "../tls_certs.ts";

/** Test certificates in a temporary directory; `dispose` removes it. */
export async function makeCerts(): Promise<TestCerts & { dispose(): Promise<void> }> {
  const dir = await platform().makeTempDir({ prefix: "iora-net-certs-" });
  const certs = await generateTestCerts(dir);
  return {
    ...certs,
    dispose: () => platform().remove(dir, { recursive: true }).catch(() => {}),
  };
}

/** Deterministic pseudo-random bytes (xorshift), so a failure is reproducible. */
export function patternBytes(size: number, seed = 1): Uint8Array {
  const out = new Uint8Array(size);
  let x = seed | 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** Collects bytes per session and resolves when `expected` bytes have arrived. */
export class Collector {
  /** Chunks per session. */
  readonly chunks: Map<number, Uint8Array[]> = new Map();
  /** Byte counts per session. */
  readonly sizes: Map<number, number> = new Map();
  #waits = new Map<number, { size: number; done: Deferred<Uint8Array> }>();

  /** Feed from `onData`. */
  add(sid: number, data: Uint8Array): void {
    let list = this.chunks.get(sid);
    if (!list) this.chunks.set(sid, list = []);
    list.push(data);
    const size = (this.sizes.get(sid) ?? 0) + data.length;
    this.sizes.set(sid, size);
    const wait = this.#waits.get(sid);
    if (wait && size >= wait.size) {
      this.#waits.delete(sid);
      wait.done.resolve(this.bytes(sid));
    }
  }

  /** All bytes received on a session, concatenated. */
  bytes(sid: number): Uint8Array {
    const list = this.chunks.get(sid) ?? [];
    const out = new Uint8Array(list.reduce((n, c) => n + c.length, 0));
    let offset = 0;
    for (const c of list) {
      out.set(c, offset);
      offset += c.length;
    }
    return out;
  }

  /** Resolves with the bytes once `size` bytes arrived on `sid`. */
  waitFor(sid: number, size: number, timeoutMs = 20_000): Promise<Uint8Array> {
    if ((this.sizes.get(sid) ?? 0) >= size) return Promise.resolve(this.bytes(sid));
    const done = deferred<Uint8Array>(`${size} bytes on session ${sid}`);
    this.#waits.set(sid, { size, done });
    return done.wait(timeoutMs);
  }
}

/** True when two byte arrays are equal (fast path for big payloads). */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** UTF-8 encode. */
export const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);
/** UTF-8 decode. */
export const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);
