/**
 * A stand-in ServerTransport on node:net / node:tls (a copy of the HTTP
 * tests' one) while the network layer's transport has not landed. Runs
 * under Deno (node compat) and Node. Remove once WebhookServer has a
 * default transport.
 *
 * @module
 */
import { createServer, type Server, type Socket } from "node:net";
import { createServer as createTlsServer } from "node:tls";
import type {
  ServerTransport,
  ServerTransportEvents,
  WebhookTlsConfig,
} from "../../http/server.ts";

/** Creates the stand-in transport. */
export function netTransport(events: ServerTransportEvents): ServerTransport {
  let server: Server | null = null;
  const sockets = new Map<number, Socket>();
  let next = 1;
  const onSocket = (socket: Socket): void => {
    const sid = next++;
    sockets.set(sid, socket);
    socket.setNoDelay(true);
    events.onAccept(sid, `${socket.remoteAddress}:${socket.remotePort}`);
    socket.on(
      "data",
      (d: Uint8Array) => events.onData(sid, new Uint8Array(d.buffer, d.byteOffset, d.byteLength)),
    );
    socket.on("error", () => {});
    socket.on("close", () => {
      sockets.delete(sid);
      events.onClose(sid);
    });
  };
  return {
    listen(hostname: string, port: number, tls: WebhookTlsConfig | null): Promise<number> {
      server = tls
        ? createTlsServer({
          cert: tls.cert,
          key: tls.key,
          ca: tls.ca,
          requestCert: tls.requireClientCert,
          rejectUnauthorized: tls.requireClientCert,
        }, onSocket)
        : createServer(onSocket);
      return new Promise((resolve, reject) => {
        server!.once("error", reject);
        server!.listen(port, hostname, () => {
          const a = server!.address();
          resolve(typeof a === "object" && a ? a.port : 0);
        });
      });
    },
    send(sid: number, bytes: Uint8Array): void {
      sockets.get(sid)?.write(bytes);
    },
    sendAsync(sid: number, bytes: Uint8Array): Promise<void> {
      const s = sockets.get(sid);
      if (!s) return Promise.resolve();
      return new Promise((resolve) => {
        if (s.write(bytes)) resolve();
        else {
          s.once("drain", resolve);
          s.once("close", resolve);
        }
      });
    },
    close(sid: number): void {
      sockets.get(sid)?.end();
    },
    stopListening(): Promise<void> {
      return new Promise((resolve) => {
        // net.Server.close waits for every socket; the server closes those itself.
        server?.close();
        server = null;
        resolve();
      });
    },
    stop(): Promise<void> {
      for (const s of sockets.values()) s.destroy();
      sockets.clear();
      return this.stopListening();
    },
  };
}
