/**
 * The byte transport under `WebhookServer`: a listener whose sessions are
 * numbered, and {@linkcode networkServerTransport}, which adapts Iora's
 * network transports to it (the default). Tests and embedders may serve on
 * another through `WebhookServerOptions.transport`.
 *
 * @example
 * ```ts ignore
 * import { networkServerTransport } from "./server_transport.ts";
 * import { WebhookServer } from "./server.ts";
 * const server = new WebhookServer({
 *   transport: networkServerTransport((tls) => createMyTransport({ tls })),
 * });
 * ```
 *
 * @module
 */
import {
  type TlsConfig,
  TlsMode,
  type Transport,
  type UnifiedStats,
} from "../network/transport.ts";

/** The TLS settings of {@linkcode WebhookServer.enableTls}. */
export interface WebhookTlsConfig {
  /** Certificate chain, PEM text. Either this or `certFile`. */
  cert?: string;
  /** Path of the certificate chain (PEM). */
  certFile?: string;
  /** Private key, PEM text. Either this or `keyFile`. */
  key?: string;
  /** Path of the private key (PEM). */
  keyFile?: string;
  /** CA certificates (PEM) trusted for client certificates. */
  ca?: string;
  /** Path of the CA bundle trusted for client certificates. */
  caFile?: string;
  /** Require and verify a client certificate (Node only; Deno fails with a clear error). */
  requireClientCert?: boolean;
}

/** What a {@linkcode ServerTransport} reports to the server. */
export interface ServerTransportEvents {
  /** A connection was accepted; `remoteAddress` is `host:port`. */
  onAccept(sid: number, remoteAddress: string): void;
  /** Bytes arrived; the server may keep a reference to `data`. */
  onData(sid: number, data: Uint8Array): void;
  /**
   * The client ended its side (half-close) but may still read: the server answers what it
   * received, then closes. A transport that closes on the client's end does not call it.
   */
  onEnd?(sid: number): void;
  /** The connection is gone (either side closed it, or it failed). */
  onClose(sid: number): void;
}

/**
 * The byte transport the server stands on: a listener whose sessions are
 * numbered. The default is Iora's network transport; tests and embedders
 * may pass another through {@linkcode WebhookServerOptions.transport}.
 */
export interface ServerTransport {
  /** Binds and listens (TLS when `tls` is set); resolves with the bound port. */
  listen(hostname: string, port: number, tls: WebhookTlsConfig | null): Promise<number>;
  /** Queues bytes on a session, in order; never interleaves with other sends. */
  send(sid: number, bytes: Uint8Array): void;
  /** Like `send`, resolving once the session's write queue has room again (backpressure). */
  sendAsync(sid: number, bytes: Uint8Array): Promise<void>;
  /** Closes a session after its queued bytes are written. Harmless when already closed. */
  close(sid: number): void;
  /**
   * Closes a session at once with a TCP reset where the transport can, so the client sees a
   * response cut short as cut (a close-delimited body). Without it the server uses `close`.
   */
  reset?(sid: number): void;
  /**
   * The server drops whatever the session still sends (a lingering close after a refusal): the
   * transport may then read it into a shared scratch buffer (`onData` bytes valid only during the
   * call, their length all that counts) rather than into memory of its own per read.
   */
  discardInput?(sid: number): void;
  /** Stops accepting; open sessions stay. */
  stopListening(): Promise<void>;
  /** The transport's counters while it listens (null before `listen` and after `stop`). */
  getStats?(): UnifiedStats | null;
  /** Closes everything. */
  stop(): Promise<void>;
}

/** Creates the transport for one `start()`, wired to the server's events. */
export type ServerTransportFactory = (events: ServerTransportEvents) => ServerTransport;

/**
 * Adapts an Iora network {@linkcode Transport} to the server. `create` is
 * called once per `start()` with the TLS settings (or undefined for plain
 * TCP) and returns a fresh transport the server then owns.
 *
 * @example
 * ```ts ignore
 * import { networkServerTransport } from "./server_transport.ts";
 * import { WebhookServer } from "./server.ts";
 * const server = new WebhookServer({
 *   transport: networkServerTransport((tls) => createMyTransport({ tls })),
 * });
 * ```
 */
export function networkServerTransport(
  create: (tls: TlsConfig | undefined) => Transport,
): ServerTransportFactory {
  return (events) => {
    let transport: Transport | null = null;
    return {
      async listen(hostname, port, tls) {
        const t = create(
          tls
            ? {
              cert: tls.cert,
              certFile: tls.certFile,
              key: tls.key,
              keyFile: tls.keyFile,
              ca: tls.ca,
              caFile: tls.caFile,
              requireClientCert: tls.requireClientCert,
            }
            : undefined,
        );
        t.setCallbacks({
          onAccept: (sid, info) => {
            const host = info.remoteAddress.includes(":")
              ? `[${info.remoteAddress}]`
              : info.remoteAddress;
            events.onAccept(sid, `${host}:${info.remotePort}`);
          },
          onData: (sid, data) => events.onData(sid, data),
          onEnd: (sid) => events.onEnd?.(sid),
          onClose: (sid) => events.onClose(sid),
        });
        transport = t;
        try {
          const listener = await t.listen(hostname, port, tls ? TlsMode.Server : TlsMode.None);
          return listener.port;
        } catch (e) {
          transport = null;
          await t.stop();
          throw e;
        }
      },
      send(sid, bytes) {
        transport?.send(sid, bytes);
      },
      sendAsync(sid, bytes) {
        // A session that closed under us ends the stream; the close event reports it.
        return transport?.sendAsync(sid, bytes).catch(() => {}) ?? Promise.resolve();
      },
      close(sid) {
        transport?.close(sid);
      },
      reset(sid) {
        const t = transport as (Transport & { reset?(sid: number): void }) | null;
        if (t?.reset) t.reset(sid);
        else t?.close(sid);
      },
      discardInput(sid) {
        (transport as (Transport & { discardInput?(sid: number): void }) | null)?.discardInput?.(
          sid,
        );
      },
      stopListening() {
        return transport?.stopListening() ?? Promise.resolve();
      },
      getStats() {
        return transport?.getStats() ?? null;
      },
      async stop() {
        const t = transport;
        transport = null;
        await t?.stop();
      },
    };
  };
}
