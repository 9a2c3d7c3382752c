// The npm build, consumed by a real Node process through the package's own
// name and exports map, as a user's `import ... from "@iora/iora/core"` would.
// Deno-only: it drives Node from outside. Needs `deno task build:npm` first
// (the test task builds before it tests).
import assert from "node:assert/strict";
import { test } from "node:test";
import { platform } from "../core/platform/mod.ts";

const npmDir = new URL("../npm/", import.meta.url);
const config = JSON.parse(
  await platform().readTextFile(new URL("../deno.json", import.meta.url).pathname),
);

async function runNode(script: string): Promise<{ code: number | null; out: string; err: string }> {
  const child = platform().spawn("node", {
    args: ["--input-type=module", "-e", script],
    cwd: npmDir.pathname,
  });
  const [out, err, status] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.status,
  ]);
  return { code: status.code, out, err };
}

test("every export entry of the npm package loads in Node and runs on Node's platform", async () => {
  await platform().stat(new URL("package.json", npmDir).pathname).catch(() => {
    throw new Error("npm/ is not built: run `deno task build:npm` first");
  });
  // "./cli" runs the CLI when imported; Node users get it as the package's `iora` bin.
  const layers = Object.keys(config.exports).filter((key) => key !== "./cli");
  const entries = layers.map((key) => key === "." ? config.name : `${config.name}/${key.slice(2)}`);
  const script = `
    const loaded = {};
    for (const name of ${
    JSON.stringify(entries)
  }) loaded[name] = Object.keys(await import(name)).length;
    const { platform } = await import("${config.name}");
    console.log(JSON.stringify({ loaded, runtime: platform().name }));
  `;
  const { code, out, err } = await runNode(script);
  assert.equal(code, 0, err);
  const result = JSON.parse(out);
  assert.equal(result.runtime, "node");
  assert.deepEqual(Object.keys(result.loaded).sort(), entries.sort());
  assert.ok(result.loaded[config.name] > 0);
});

test("the npm package declares its layers, engines and runtime dependencies", async () => {
  const pkg = JSON.parse(await platform().readTextFile(new URL("package.json", npmDir).pathname));
  assert.equal(pkg.name, config.name);
  assert.equal(pkg.version, config.version);
  assert.equal(pkg.engines.node, ">=20");
  assert.equal(pkg.bin.iora, "./service/main.js");
  for (const key of Object.keys(config.exports).filter((key) => key !== "./cli")) {
    assert.ok(pkg.exports[key]?.types?.endsWith(".d.ts"), `types for ${key}`);
  }
  assert.ok("smol-toml" in pkg.dependencies);
  assert.ok(!pkg.files.includes("tests/"));
});
