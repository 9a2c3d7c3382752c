/**
 * A real `redis-server` for the cluster tests: started on a free 127.0.0.1 port in a
 * temporary directory without persistence, stopped (or killed) by the test.
 *
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import { freePort, type TempDir, tempDir } from "../../harness.ts";

/** A running redis-server. */
export interface RedisServer extends AsyncDisposable {
  /** Its port on 127.0.0.1. */
  port: number;
  /** `redis://127.0.0.1:<port>`. */
  url: string;
  /** Kills it with SIGKILL and waits for the exit. */
  kill(): Promise<void>;
  /** Starts it again on the same port (after `kill`), empty. */
  restart(): Promise<void>;
  /** Stops it and removes its directory. */
  stop(): Promise<void>;
}

function launch(port: number, dir: string): Promise<ChildProcess> {
  const child = spawn("redis-server", [
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--save",
    "",
    "--appendonly",
    "no",
    "--dir",
    dir,
    "--protected-mode",
    "no",
  ], { stdio: ["ignore", "pipe", "pipe"] });
  return new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`redis-server on port ${port} did not start: ${out}`));
    }, 10_000);
    child.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited with ${code}: ${out}`));
    });
    child.stdout!.on("data", (chunk: Uint8Array) => {
      out += new TextDecoder().decode(chunk);
      if (out.includes("Ready to accept connections")) {
        clearTimeout(timer);
        child.removeAllListeners("exit");
        child.stdout!.removeAllListeners("data");
        child.stdout!.resume();
        child.stderr!.resume();
        resolve(child);
      }
    });
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once("exit", () => resolve()));
}

/** Starts a redis-server on a free port; use with `await using`. */
export async function startRedis(): Promise<RedisServer> {
  const dir: TempDir = await tempDir("iora-redis-");
  const port = await freePort();
  let child: ChildProcess | undefined = await launch(port, dir.path);
  const kill = async () => {
    if (!child) return;
    const c = child;
    child = undefined;
    c.kill("SIGKILL");
    await exited(c);
  };
  const server: RedisServer = {
    port,
    url: `redis://127.0.0.1:${port}`,
    kill,
    async restart() {
      await kill();
      child = await launch(port, dir.path);
    },
    async stop() {
      await kill();
      await dir[Symbol.asyncDispose]();
    },
    [Symbol.asyncDispose]: () => server.stop(),
  };
  return server;
}
