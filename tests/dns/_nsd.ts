/**
 * Starts a real authoritative server (NSD) on a free 127.0.0.1 (and ::1) port
 * with the zone files under tests/fixtures/dns (plus any generated zones),
 * and stops it. Used by the DNS tests and by scripts/bench/dns.ts.
 *
 * @module
 */
import { platform } from "../../core/platform/mod.ts";
import type { ChildProcessHandle } from "../../core/platform/mod.ts";
import { freePort } from "../harness.ts";

/** The zones the fixtures hold. */
export const FIXTURE_ZONES: string[] = [
  "example.test",
  "2.0.192.in-addr.arpa",
  "8.b.d.0.1.0.0.2.ip6.arpa",
];

/** A running NSD. */
export interface NsdServer extends AsyncDisposable {
  /** The UDP/TCP port on 127.0.0.1 and ::1. */
  port: number;
  /** `"127.0.0.1:port"`. */
  server: string;
  /** `"[::1]:port"`, or null when ::1 is not available. */
  server6: string | null;
  /** Stops NSD and removes its directory. */
  stop(): Promise<void>;
}

/**
 * A zone file for `origin` whose name server is 127.0.0.1, with `records` (lines relative to
 * the origin) after its SOA and NS.
 */
export function zoneText(origin: string, records: string[]): string {
  return [
    `$ORIGIN ${origin}.`,
    "$TTL 60",
    `@ IN SOA ns.${origin}. admin.${origin}. 1 3600 600 86400 60`,
    "@ IN NS ns",
    "ns IN A 127.0.0.1",
    ...records,
    "",
  ].join("\n");
}

/** The text of a fixture file under tests/fixtures/dns. */
export function fixtureText(name: string): Promise<string> {
  const url = new URL(`../fixtures/dns/${name}`, import.meta.url);
  return platform().readTextFile(decodeURIComponent(url.pathname));
}

async function readUntil(
  stream: ReadableStream<Uint8Array>,
  marker: string,
): Promise<{ text: string; found: boolean; rest: ReadableStreamDefaultReader<Uint8Array> }> {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  let text = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return { text, found: false, rest: reader };
    text += decoder.decode(value, { stream: true });
    if (text.includes(marker)) return { text, found: true, rest: reader };
  }
}

/**
 * Starts NSD serving the fixture zones and `extraZones` (name → zone text).
 * Resolves once NSD reports "nsd started".
 */
export async function startNsd(
  extraZones: Record<string, string> = {},
  options: { ipv6?: boolean } = {},
): Promise<NsdServer> {
  const p = platform();
  const dir = await p.makeTempDir({ prefix: "iora-nsd-" });
  const zones: Record<string, string> = {};
  for (const z of FIXTURE_ZONES) zones[z] = await fixtureText(`${z}.zone`);
  Object.assign(zones, extraZones);
  for (const [name, text] of Object.entries(zones)) {
    await p.writeTextFile(`${dir}/${name}.zone`, text);
  }
  const ipv6 = options.ipv6 ?? true;
  let lastError = "";
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const conf = [
      "server:",
      `  ip-address: 127.0.0.1@${port}`,
      ...(ipv6 ? [`  ip-address: ::1@${port}`] : []),
      `  port: ${port}`,
      '  username: ""',
      '  chroot: ""',
      `  zonesdir: "${dir}"`,
      '  database: ""',
      `  pidfile: "${dir}/nsd.pid"`,
      `  xfrdfile: "${dir}/xfrd.state"`,
      `  zonelistfile: "${dir}/zone.list"`,
      "  server-count: 1",
      "  tcp-count: 200",
      "  verbosity: 1",
      "  hide-version: yes",
      "  round-robin: no",
      "remote-control:",
      "  control-enable: no",
      ...Object.keys(zones).flatMap((name) => [
        "zone:",
        `  name: ${name}`,
        `  zonefile: ${name}.zone`,
      ]),
    ].join("\n");
    await p.writeTextFile(`${dir}/nsd.conf`, conf + "\n");
    const child: ChildProcessHandle = p.spawn("nsd", {
      args: ["-d", "-c", `${dir}/nsd.conf`],
      stdout: "null",
      stderr: "piped",
    });
    const { text, found, rest } = await readUntil(child.stderr!, "nsd started");
    if (!found) {
      await child.status;
      lastError = text;
      if (/address already in use/i.test(text)) continue;
      await p.remove(dir, { recursive: true }).catch(() => {});
      throw new Error(`nsd did not start:\n${text}`);
    }
    // Keep draining stderr so NSD never blocks on a full pipe.
    const drain = (async () => {
      try {
        while (!(await rest.read()).done) { /* discard */ }
      } catch { /* closed */ }
    })();
    let stopped = false;
    const stop = async (): Promise<void> => {
      if (stopped) return;
      stopped = true;
      child.kill("SIGTERM");
      await child.status;
      await drain;
      await p.remove(dir, { recursive: true }).catch(() => {});
    };
    return {
      port,
      server: `127.0.0.1:${port}`,
      server6: ipv6 ? `[::1]:${port}` : null,
      stop,
      [Symbol.asyncDispose]: stop,
    };
  }
  await p.remove(dir, { recursive: true }).catch(() => {});
  throw new Error(`nsd did not start:\n${lastError}`);
}

/** `dig +short` for `name`/`type` against the NSD on `port`, as sorted lines. */
export async function dig(port: number, name: string, type: string): Promise<string[]> {
  const child = platform().spawn("dig", {
    args: ["@127.0.0.1", "-p", String(port), "+short", "+norecurse", "+tries=1", name, type],
    stdout: "piped",
    stderr: "piped",
  });
  const out = await new Response(child.stdout!).text();
  await new Response(child.stderr!).text();
  await child.status;
  return out.split("\n").map((l) => l.trim()).filter((l) => l.length > 0).sort();
}
