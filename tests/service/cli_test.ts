import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { platform } from "../../core/platform/mod.ts";
import { CLI_USAGE, IORA_VERSION, parseCliArgs } from "../../service/cli.ts";
import { loadServiceConfig } from "../../service/config.ts";
import { ServiceConfigError } from "../../service/errors.ts";
import { fixturesUrl, freePort, isDeno, type TempDir, tempDir } from "../harness.ts";
import { serviceModule } from "./_fixtures.ts";

const decoder = new TextDecoder();

// The CLI as a child process: `deno run <task flags> service/main.ts` under
// Deno, `node npm/service/main.js` under Node.
function cliCommand(args: string[]): { command: string; args: string[] } {
  const main = new URL(serviceModule("main")).pathname;
  if (isDeno) {
    const config = new URL("../../deno.json", import.meta.url).pathname;
    return {
      command: platform().execPath(),
      args: [
        "run",
        "--config",
        config,
        "--allow-read",
        "--allow-write",
        "--allow-env",
        "--allow-net",
        "--allow-sys",
        main,
        ...args,
      ],
    };
  }
  return { command: platform().execPath(), args: [main, ...args] };
}

async function readAll(stream: ReadableStream<Uint8Array> | null): Promise<string> {
  if (!stream) return "";
  let text = "";
  for await (const chunk of stream) text += decoder.decode(chunk, { stream: true });
  return text;
}

async function runToEnd(
  args: string[],
): Promise<{ code: number | null; out: string; err: string }> {
  const { command, args: full } = cliCommand(args);
  const child = platform().spawn(command, { args: full });
  const [out, err, status] = await Promise.all([
    readAll(child.stdout),
    readAll(child.stderr),
    child.status,
  ]);
  return { code: status.code, out, err };
}

interface RunningCli {
  /** The first line the CLI printed on stdout (its "listening on" banner). */
  banner: string;
  /** All of stderr, once the process has exited. */
  stderr: Promise<string>;
  /** Sends SIGTERM and waits for the exit code. */
  terminate(): Promise<number | null>;
}

// Writes `toml` as the config file in `dir`, starts the CLI on it and waits for its banner.
async function startCli(dir: TempDir, toml: string, extra: string[]): Promise<RunningCli> {
  const configFile = dir.join("iora.toml");
  await platform().writeTextFile(configFile, toml);
  const { command, args } = cliCommand(["--config", configFile, ...extra]);
  const child = platform().spawn(command, { args, cwd: dir.path });
  const stderr = readAll(child.stderr);
  const reader = child.stdout!.getReader();
  let banner = "";
  while (!banner.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    banner += decoder.decode(value);
  }
  return {
    banner,
    stderr,
    terminate: async () => {
      child.kill("SIGTERM");
      const status = await child.status;
      reader.releaseLock();
      return status.code;
    },
  };
}

describe("iora CLI", () => {
  it("parses its flags and refuses bad ones with the argument named", () => {
    assert.deepEqual(parseCliArgs([]), { help: false, version: false });
    assert.deepEqual(
      parseCliArgs(["--config", "a.toml", "--port=9000", "-l", "debug"]),
      { help: false, version: false, config: "a.toml", port: 9000, logLevel: "debug" },
    );
    assert.equal(parseCliArgs(["-h"]).help, true);
    assert.equal(parseCliArgs(["--version"]).version, true);
    for (
      const bad of [["--port", "x"], ["--port", "70000"], ["--log-level", "loud"], ["--nope"], [
        "--config",
      ]]
    ) {
      assert.throws(
        () => parseCliArgs(bad),
        (e: unknown) => e instanceof ServiceConfigError,
        bad.join(" "),
      );
    }
    assert.match(CLI_USAGE, /--config <file>/);
  });

  it("the shipped config/iora.toml is valid and equals the embedded defaults", async () => {
    const config = await loadServiceConfig(
      new URL("../../config/iora.toml", import.meta.url).pathname,
    );
    assert.deepEqual(config.server, { enabled: true, host: "127.0.0.1", port: 8080 });
    assert.equal(config.log.level, "info");
    assert.equal(config.state.file, "iora_state.json");
    assert.deepEqual(config.cache, { ttlMs: 300000, maxSize: 10000 });
    assert.deepEqual(config.modules, { directory: "plugins", autoLoad: true, modules: [] });
  });

  it("prints --version and --help, and exits 2 on a bad argument", async () => {
    const version = await runToEnd(["--version"]);
    assert.equal(version.code, 0);
    assert.match(
      version.out,
      new RegExp(`^iora ${IORA_VERSION.replace(/\./g, "\\.")} \\((deno|node)\\)`),
    );
    const help = await runToEnd(["--help"]);
    assert.equal(help.code, 0);
    assert.match(help.out, /Usage: iora/);
    const bad = await runToEnd(["--port", "nope"]);
    assert.equal(bad.code, 2);
    assert.match(bad.err, /--port: must be an integer/);
  });

  it("starts, serves GET /health, and stops gracefully on SIGTERM", async () => {
    await using dir = await tempDir();
    const port = await freePort();
    const cli = await startCli(
      dir,
      `[log]\nlevel = "info"\n[state]\nfile = "${dir.join("state.json")}"\n`,
      ["--port", String(port)],
    );
    assert.match(
      cli.banner,
      new RegExp(`listening on http://127\\.0\\.0\\.1:${port}`),
      await Promise.race([cli.stderr, Promise.resolve("")]),
    );
    const response = await fetch(`http://127.0.0.1:${port}/health`);
    const health = await response.json();
    assert.equal(health.status, "ok");
    assert.deepEqual(health.plugins, []);
    const code = await cli.terminate();
    assert.equal(code, 0, await cli.stderr);
    assert.match(await cli.stderr, /shutting down/);
  });

  it("runs without a server and shuts down gracefully on SIGTERM, flushing state", async () => {
    await using dir = await tempDir();
    // service_user writes one key when it loads and one when it unloads: both on disk after
    // SIGTERM proves the order plugins-then-state and that the last write was flushed.
    const ext = import.meta.url.endsWith(".ts") ? "ts" : "js";
    const plugins = decodeURIComponent(new URL("plugins/", fixturesUrl).pathname);
    const stateFile = dir.join("state.json");
    const cli = await startCli(
      dir,
      `[server]\nenabled = false\n[state]\nfile = "${stateFile}"\n` +
        `[modules]\ndirectory = "${plugins}"\nmodules = ["service_user.${ext}"]\n`,
      ["--log-level", "debug"],
    );
    assert.match(cli.banner, /iora .* listening on no HTTP server/);
    const code = await cli.terminate();
    const err = await cli.stderr;
    assert.equal(code, 0, err);
    assert.match(err, /received SIGTERM/);
    const state = JSON.parse(await platform().readTextFile(stateFile));
    assert.equal(state["user.loaded"], "yes", err);
    assert.equal(state["user.unloaded"], "yes", err);
    assert.match(err, /stopped/);
  });
});
