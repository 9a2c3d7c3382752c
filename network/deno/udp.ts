/**
 * UDP on Deno: `Deno.listenDatagram` (unstable `net`).
 *
 * @module
 */
import { UnsupportedError } from "../../core/errors.ts";
import { TransportError } from "../transport.ts";
import type { RawUdpSocket, UdpBindOptions } from "../_adapter.ts";
import { mapDenoError } from "./tcp.ts";

/** Binds a UDP socket with Deno's APIs. */
export function bindUdp(options: UdpBindOptions): Promise<RawUdpSocket> {
  const what = `bind UDP ${options.host}:${options.port}`;
  // deno-lint-ignore no-explicit-any
  const listenDatagram = (Deno as any).listenDatagram as
    | ((o: Deno.UdpListenOptions & { transport: "udp" }) => Deno.DatagramConn)
    | undefined;
  if (typeof listenDatagram !== "function") {
    return Promise.reject(
      new UnsupportedError("deno", "UDP sockets", "run with --unstable-net"),
    );
  }
  let conn: Deno.DatagramConn;
  try {
    conn = listenDatagram({ hostname: options.host, port: options.port, transport: "udp" });
  } catch (error) {
    const mapped = mapDenoError(error, what, false);
    return Promise.reject(
      mapped.code === "AddressInUse"
        ? mapped
        : new TransportError("ListenFailed", `${what}: ${mapped.message}`, { cause: error }),
    );
  }
  const addr = conn.addr as Deno.NetAddr;
  let closed = false;
  // One reused receive buffer per socket, large enough for any datagram (so an oversize
  // one reports its true size): without it, Deno allocates and zeroes 64 KiB per datagram.
  const buffer = new Uint8Array(65_536);
  (async () => {
    for (;;) {
      let data: Uint8Array;
      let from: Deno.NetAddr;
      try {
        const [d, a] = await conn.receive(buffer);
        // A copy: handlers may keep the bytes, and the buffer is read into again.
        data = d.slice();
        from = a as Deno.NetAddr;
      } catch (error) {
        if (closed) return;
        const name = error instanceof Error ? error.name : "";
        if (name === "BadResource" || name === "Interrupted") return;
        options.onError(error);
        continue;
      }
      if (data.length > options.maxDatagramSize) {
        options.onOversize(data.length, from.hostname, from.port);
      } else {
        options.onMessage(data, from.hostname, from.port);
      }
    }
  })();
  return Promise.resolve({
    address: addr.hostname,
    port: addr.port,
    send(data: Uint8Array, port: number, host: string): void {
      if (closed) return;
      conn.send(data, { transport: "udp", hostname: host, port }).catch((error) => {
        if (!closed) options.onError(error);
      });
    },
    close(): void {
      if (closed) return;
      closed = true;
      try {
        conn.close();
      } catch { /* already closed */ }
    },
  });
}
