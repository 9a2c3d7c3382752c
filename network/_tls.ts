/**
 * Turns a {@linkcode TlsConfig} into what the adapters take: files read,
 * defaults applied, contradictions refused early with a clear error.
 *
 * @module
 */
import { platform } from "../core/platform/mod.ts";
import type { ResolvedTls } from "./_adapter.ts";
import { type TlsConfig, TransportError } from "./transport.ts";

async function readPem(path: string, what: string): Promise<string> {
  try {
    return await platform().readTextFile(path);
  } catch (error) {
    throw new TransportError("TlsConfig", `cannot read the TLS ${what} file ${path}`, {
      cause: error,
    });
  }
}

/** Resolves TLS settings for a server (`listen`) or a client (`connect`). */
export async function resolveTls(
  config: TlsConfig | undefined,
  side: "server" | "client",
): Promise<ResolvedTls> {
  const c = config ?? {};
  const cert = c.cert ?? (c.certFile ? await readPem(c.certFile, "certificate") : undefined);
  const key = c.key ?? (c.keyFile ? await readPem(c.keyFile, "key") : undefined);
  let ca: string[] | undefined;
  if (c.ca !== undefined) ca = Array.isArray(c.ca) ? c.ca : [c.ca];
  else if (c.caFile) ca = [await readPem(c.caFile, "CA")];
  if ((cert === undefined) !== (key === undefined)) {
    throw new TransportError("TlsConfig", "TLS needs both a certificate and its key, or neither");
  }
  if (side === "server" && cert === undefined) {
    throw new TransportError(
      "TlsConfig",
      "a TLS listener needs tls.cert/certFile and tls.key/keyFile",
    );
  }
  const requireClientCert = side === "server" && c.requireClientCert === true;
  if (requireClientCert && ca === undefined) {
    throw new TransportError("TlsConfig", "requireClientCert needs tls.ca or tls.caFile");
  }
  const handshakeTimeoutMs = c.handshakeTimeoutMs ?? 10_000;
  if (!(handshakeTimeoutMs > 0)) {
    throw new TransportError("InvalidArgument", "tls.handshakeTimeoutMs must be positive");
  }
  return {
    cert,
    key,
    ca,
    verifyPeer: c.verifyPeer ?? true,
    serverName: c.serverName,
    alpnProtocols: c.alpnProtocols,
    requireClientCert,
    handshakeTimeoutMs,
  };
}
