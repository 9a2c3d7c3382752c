/**
 * UDP on Node (and on Deno's Node compatibility): `node:dgram`.
 *
 * @module
 */
import * as dgram from "node:dgram";
import { TransportError } from "../transport.ts";
import type { RawUdpSocket, UdpBindOptions } from "../_adapter.ts";
import { isIpv6 } from "../_adapter.ts";
import { mapNodeError } from "./tcp.ts";

/** Binds a UDP socket with `node:dgram`. */
export function bindUdp(options: UdpBindOptions): Promise<RawUdpSocket> {
  const what = `bind UDP ${options.host}:${options.port}`;
  const socket = dgram.createSocket({ type: isIpv6(options.host) ? "udp6" : "udp4" });
  let closed = false;
  return new Promise((resolve, reject) => {
    const onBindError = (error: Error) => {
      closed = true;
      socket.close();
      const mapped = mapNodeError(error, what, false);
      reject(
        mapped.code === "AddressInUse"
          ? mapped
          : new TransportError("ListenFailed", `${what}: ${mapped.message}`, { cause: error }),
      );
    };
    socket.once("error", onBindError);
    socket.bind(options.port, options.host, () => {
      socket.off("error", onBindError);
      socket.on("error", (error: Error) => {
        if (!closed) options.onError(error);
      });
      socket.on("message", (msg: Uint8Array, rinfo: dgram.RemoteInfo) => {
        if (msg.byteLength > options.maxDatagramSize) {
          options.onOversize(msg.byteLength, rinfo.address, rinfo.port);
          return;
        }
        options.onMessage(
          new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength),
          rinfo.address,
          rinfo.port,
        );
      });
      const address = socket.address();
      resolve({
        address: address.address,
        port: address.port,
        send(data: Uint8Array, port: number, host: string): void {
          if (closed) return;
          socket.send(data, port, host, (error) => {
            if (error && !closed) options.onError(error);
          });
        },
        close(): void {
          if (closed) return;
          closed = true;
          socket.close();
        },
      });
    });
  });
}
