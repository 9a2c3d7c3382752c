// On Deno, the library loads only Deno's side of the runtime seam: importing the root mod.ts, using
// the platform and opening sockets through the default adapter never loads a `node:` module that
// only the Node implementations (core/platform/node.ts, network/node/) need. A child `deno run`
// maps each of those modules to a file that throws, so loading one fails the child.
// Deno-only: it drives Deno from outside.
import assert from "node:assert/strict";
import { test } from "node:test";
import { platform } from "../core/platform/mod.ts";
import { tempDir } from "./harness.ts";

const ROOT = new URL("../", import.meta.url);

/** What the Node implementations import and Deno's do not (both use async_hooks and process). */
const NODE_ONLY = [
  "node:child_process",
  "node:worker_threads",
  "node:fs",
  "node:fs/promises",
  "node:os",
  "node:path",
  "node:stream",
  "node:net",
  "node:tls",
  "node:dgram",
];

async function runDeno(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const child = platform().spawn(Deno.execPath(), { args, cwd: ROOT.pathname });
  const [out, err, status] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.status,
  ]);
  return { code: status.code, out, err };
}

/** Writes the import map (deno.json's own imports plus the traps) and the script to run. */
async function setUp(dir: string, script: string): Promise<string[]> {
  const config = JSON.parse(await platform().readTextFile(new URL("deno.json", ROOT).pathname));
  const imports: Record<string, string> = { ...config.imports };
  for (const [i, name] of NODE_ONLY.entries()) {
    const trap = `${dir}/trap_${i}.js`;
    await platform().writeTextFile(trap, `throw new Error("loaded ${name}");\n`);
    imports[name] = `file://${trap}`;
  }
  await platform().writeTextFile(`${dir}/map.json`, JSON.stringify({ imports }));
  await platform().writeTextFile(`${dir}/main.ts`, script);
  return [
    "run",
    "--no-config",
    "--no-lock",
    "--unstable-net",
    "--unstable-worker-options",
    "--allow-all",
    `--import-map=${dir}/map.json`,
    `${dir}/main.ts`,
  ];
}

test("importing mod.ts and opening sockets on Deno loads no Node-only module", async () => {
  await using dir = await tempDir();
  const script = `
    const iora = await import("${new URL("mod.ts", ROOT)}");
    const { getAdapter } = await import("${new URL("network/adapters.ts", ROOT)}");
    await iora.platform().writeTextFile("${dir.path}/x.txt", "x");
    const udp = await getAdapter().bindUdp({
      host: "127.0.0.1", port: 0, maxDatagramSize: 512,
      onMessage() {}, onOversize() {}, onError() {},
    });
    udp.close();
    console.log(JSON.stringify({ platform: iora.platform().name, adapter: getAdapter().name }));
  `;
  const { code, out, err } = await runDeno(await setUp(dir.path, script));
  assert.equal(code, 0, `the child failed:\n${err}`);
  assert.deepEqual(JSON.parse(out), { platform: "deno", adapter: "deno" });
});

test("the trap works: asking for the Node adapter loads node:net and fails", async () => {
  await using dir = await tempDir();
  const script = `
    const { getAdapter } = await import("${new URL("network/adapters.ts", ROOT)}");
    await getAdapter("node").bindUdp({
      host: "127.0.0.1", port: 0, maxDatagramSize: 512,
      onMessage() {}, onOversize() {}, onError() {},
    });
  `;
  const { code, err } = await runDeno(await setUp(dir.path, script));
  assert.notEqual(code, 0);
  assert.match(err, /loaded node:(net|tls|dgram)/);
});
