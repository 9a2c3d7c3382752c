/**
 * Test certificates generated with openssl at run time: a CA, a server
 * certificate for 127.0.0.1/localhost, a client certificate, and a second,
 * unrelated CA with its own server certificate (for "wrong CA" tests).
 *
 * ```ts
 * await using dir = await tempDir();
 * const certs = await generateTestCerts(dir.path);
 * // certs.server.cert, certs.server.keyFile, certs.ca.cert, certs.client.cert ...
 * ```
 *
 * EC P-256 keys keep generation fast on a loaded machine; both rustls
 * (Deno) and OpenSSL (Node) accept them. Certificates carry SANs because
 * rustls ignores the common name.
 *
 * @module
 */
import { platform } from "../core/platform/mod.ts";

/** One certificate with its private key, as PEM text and as files. */
export interface CertPair {
  /** The certificate, PEM. */
  cert: string;
  /** The private key (PKCS#8), PEM. */
  key: string;
  /** Path of the certificate file. */
  certFile: string;
  /** Path of the private key file. */
  keyFile: string;
}

/** Everything {@linkcode generateTestCerts} creates. */
export interface TestCerts {
  /** The directory holding the files. */
  dir: string;
  /** The test CA (self-signed). */
  ca: CertPair;
  /** Server certificate signed by `ca`, SAN IP:127.0.0.1, IP:::1, DNS:localhost. */
  server: CertPair;
  /** Client certificate signed by `ca` (extendedKeyUsage clientAuth), CN iora-test-client. */
  client: CertPair;
  /** A second CA that signed neither `server` nor `client`. */
  otherCa: CertPair;
  /** Server certificate for 127.0.0.1/localhost signed by `otherCa`. */
  otherServer: CertPair;
  /** Client certificate signed by `otherCa` (rejected by a server trusting only `ca`). */
  otherClient: CertPair;
}

/** Thrown when openssl is missing or fails. */
export class CertGenerationError extends Error {
  /** @param message what failed, with openssl's stderr */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "CertGenerationError";
  }
}

async function streamText(stream: ReadableStream<Uint8Array> | null): Promise<string> {
  if (!stream) return "";
  return await new Response(stream).text();
}

async function openssl(dir: string, args: string[]): Promise<void> {
  let child;
  try {
    child = platform().spawn("openssl", { args, cwd: dir, stdout: "piped", stderr: "piped" });
  } catch (error) {
    throw new CertGenerationError("cannot run openssl (is it installed?)", { cause: error });
  }
  const [, stderr, status] = await Promise.all([
    streamText(child.stdout),
    streamText(child.stderr),
    child.status.catch((error) => {
      throw new CertGenerationError("cannot run openssl (is it installed?)", { cause: error });
    }),
  ]);
  if (!status.success) {
    throw new CertGenerationError(`openssl ${args.join(" ")} failed: ${stderr.trim()}`);
  }
}

async function newKey(dir: string, name: string): Promise<void> {
  await openssl(dir, [
    "genpkey",
    "-algorithm",
    "EC",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-out",
    `${name}.key`,
  ]);
}

async function makeCa(dir: string, name: string, cn: string): Promise<void> {
  await newKey(dir, name);
  await openssl(dir, [
    "req",
    "-x509",
    "-new",
    "-key",
    `${name}.key`,
    "-sha256",
    "-days",
    "3",
    "-subj",
    `/CN=${cn}`,
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
    "-addext",
    "subjectKeyIdentifier=hash",
    "-out",
    `${name}.pem`,
  ]);
}

async function makeLeaf(
  dir: string,
  name: string,
  ca: string,
  cn: string,
  extensions: string,
): Promise<void> {
  await newKey(dir, name);
  await openssl(dir, [
    "req",
    "-new",
    "-key",
    `${name}.key`,
    "-subj",
    `/CN=${cn}`,
    "-out",
    `${name}.csr`,
  ]);
  await platform().writeTextFile(`${dir}/${name}.ext`, extensions);
  await openssl(dir, [
    "x509",
    "-req",
    "-in",
    `${name}.csr`,
    "-CA",
    `${ca}.pem`,
    "-CAkey",
    `${ca}.key`,
    "-set_serial",
    String(Math.floor(Math.random() * 2 ** 31) + 1),
    "-days",
    "3",
    "-sha256",
    "-extfile",
    `${name}.ext`,
    "-out",
    `${name}.pem`,
  ]);
}

const serverExt = [
  "basicConstraints=critical,CA:FALSE",
  "keyUsage=critical,digitalSignature,keyEncipherment",
  "extendedKeyUsage=serverAuth",
  "subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost",
  "authorityKeyIdentifier=keyid",
  "",
].join("\n");

const clientExt = [
  "basicConstraints=critical,CA:FALSE",
  "keyUsage=critical,digitalSignature,keyEncipherment",
  "extendedKeyUsage=clientAuth",
  "subjectAltName=DNS:iora-test-client",
  "authorityKeyIdentifier=keyid",
  "",
].join("\n");

async function readPair(dir: string, name: string): Promise<CertPair> {
  const certFile = `${dir}/${name}.pem`;
  const keyFile = `${dir}/${name}.key`;
  const [cert, key] = await Promise.all([
    platform().readTextFile(certFile),
    platform().readTextFile(keyFile),
  ]);
  return { cert, key, certFile, keyFile };
}

/**
 * Creates the test PKI in `dir` (which must exist) with openssl and returns
 * the PEM texts and file paths. Takes a fraction of a second; call once per
 * test file, in a `before` hook.
 */
export async function generateTestCerts(dir: string): Promise<TestCerts> {
  await Promise.all([
    makeCa(dir, "ca", "Iora Test CA"),
    makeCa(dir, "other-ca", "Iora Unrelated CA"),
  ]);
  await Promise.all([
    makeLeaf(dir, "server", "ca", "localhost", serverExt),
    makeLeaf(dir, "client", "ca", "iora-test-client", clientExt),
    makeLeaf(dir, "other-server", "other-ca", "localhost", serverExt),
    makeLeaf(dir, "other-client", "other-ca", "iora-other-client", clientExt),
  ]);
  const [ca, server, client, otherCa, otherServer, otherClient] = await Promise.all([
    readPair(dir, "ca"),
    readPair(dir, "server"),
    readPair(dir, "client"),
    readPair(dir, "other-ca"),
    readPair(dir, "other-server"),
    readPair(dir, "other-client"),
  ]);
  return { dir, ca, server, client, otherCa, otherServer, otherClient };
}
