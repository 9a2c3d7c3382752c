// A sandbox in a child process of its own. On Deno: started with exactly
// its grants as permission flags, no permission prompt, a V8 heap limit,
// no terminal, its own origin storage, and nothing fetched at run time.
// On Node (only with allowUnsandboxed): Node's permission model limits its
// files and child processes, nothing else. Messages travel as size-limited
// frames over its stdin and stdout; its stderr is read line by line as log
// output.
import { platform } from "../core/platform/mod.ts";
import type {
  ChildProcessHandle,
  PermissionGrant,
  WorkerPermissions,
} from "../core/platform/mod.ts";
import { PluginError } from "./errors.ts";
import type { SandboxChannel } from "./_sandbox_channel.ts";
import { encodeFrame, FrameReader, FrameWriter } from "./_sandbox_wire.ts";

const MAIN_URL = new URL(
  import.meta.url.endsWith(".ts") ? "./_sandbox_process_main.ts" : "./_sandbox_process_main.js",
  import.meta.url,
).href;

/** What starts one sandbox process. */
export interface ProcessSandboxOptions {
  name: string;
  importUrl: string;
  permissions: WorkerPermissions;
  /** Local files of the checked module graph: readable so that the graph can load (Deno). */
  graphFiles: string[];
  /** The plugin's root folder as a `file:` URL: readable so that its code can load (Node). */
  root: string;
  heapMb: number;
  maxMessageBytes: number;
  /** Receives each line the sandbox writes to its standard error. */
  onStderr(line: string): void;
}

const PASSED_ENV = ["HOME", "PATH", "DENO_DIR", "XDG_CACHE_HOME", "TMPDIR", "LANG"];

function flag(kind: string, grant: PermissionGrant | undefined): string[] {
  if (grant === true) return [`--allow-${kind}`];
  if (Array.isArray(grant) && grant.length > 0) return [`--allow-${kind}=${grant.join(",")}`];
  return [];
}

// A stable origin per module name: origin storage (localStorage, caches)
// is keyed by it, so two sandboxes never share theirs.
async function originOf(name: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(name));
  const hex = [...new Uint8Array(digest).subarray(0, 16)]
    .map((b) => b.toString(16).padStart(2, "0")).join("");
  return `http://s${hex}.sandbox.iora.invalid/`;
}

function environment(permissions: WorkerPermissions): Record<string, string> {
  const env: Record<string, string> = { NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" };
  const all = platform().envObject();
  const names = permissions.env === true
    ? Object.keys(all)
    : [...PASSED_ENV, ...(Array.isArray(permissions.env) ? permissions.env : [])];
  for (const name of names) if (all[name] !== undefined) env[name] = all[name];
  return env;
}

const FRAMEWORK_ROOT = new URL("../", import.meta.url);

function pathOf(url: string | URL): string {
  return decodeURIComponent(new URL(url).pathname);
}

/** The command-line arguments of a sandbox process on the running runtime. */
export function sandboxArgs(options: ProcessSandboxOptions): Promise<string[]> {
  return platform().name === "deno" ? denoArgs(options) : Promise.resolve(nodeArgs(options));
}

// Node's permission model (Node 20+, experimental there): files and child processes only.
function nodeArgs(options: ProcessSandboxOptions): string[] {
  const p = options.permissions;
  // One flag per path: what Node 20.20 and later read (a comma-separated list is deprecated).
  const list = (kind: string, paths: string[]) => paths.map((path) => `--allow-fs-${kind}=${path}`);
  const grants = (g: PermissionGrant | undefined) => Array.isArray(g) ? g : [];
  return [
    "--experimental-permission",
    "--no-warnings",
    `--max-old-space-size=${options.heapMb}`,
    ...(p.read === true
      ? ["--allow-fs-read=*"]
      : list("read", [pathOf(FRAMEWORK_ROOT), pathOf(options.root), ...grants(p.read)])),
    ...(p.write === true
      ? ["--allow-fs-write=*"]
      : grants(p.write).length > 0
      ? list("write", grants(p.write))
      : []),
    ...(p.run === true || grants(p.run).length > 0 ? ["--allow-child-process"] : []),
    pathOf(MAIN_URL),
    options.importUrl,
    String(options.maxMessageBytes),
  ];
}

async function denoArgs(options: ProcessSandboxOptions): Promise<string[]> {
  const p = options.permissions;
  const read = p.read === true
    ? ["--allow-read"]
    : flag("read", [...(Array.isArray(p.read) ? p.read : []), ...options.graphFiles]);
  const importHosts = Array.isArray(p.import) ? p.import.filter((g) => !g.endsWith(":")) : [];
  const imports = p.import === true
    ? ["--allow-import"]
    : importHosts.length > 0
    ? [`--allow-import=${importHosts.join(",")}`]
    : ["--deny-import"];
  return [
    "run",
    "--no-prompt",
    "--cached-only",
    "--no-lock",
    `--location=${await originOf(options.name)}`,
    `--v8-flags=--max-old-space-size=${options.heapMb}`,
    ...read,
    ...flag("write", p.write),
    ...flag("net", p.net),
    ...flag("env", p.env),
    ...flag("run", p.run),
    ...flag("sys", p.sys),
    ...flag("ffi", p.ffi),
    ...imports,
    MAIN_URL,
    options.importUrl,
    String(options.maxMessageBytes),
  ];
}

async function readLines(
  stream: ReadableStream<Uint8Array>,
  onLine: (line: string) => void,
): Promise<void> {
  const decoder = new TextDecoder();
  let rest = "";
  for await (const chunk of stream) {
    rest += decoder.decode(chunk, { stream: true });
    let newline: number;
    while ((newline = rest.indexOf("\n")) >= 0) {
      onLine(rest.slice(0, newline));
      rest = rest.slice(newline + 1);
    }
    // A line without end is still bounded: cut it at 64 KiB.
    if (rest.length > 65536) {
      onLine(rest.slice(0, 65536));
      rest = "";
    }
  }
  if (rest !== "") onLine(rest);
}

/** Starts a sandbox process; its failure to start arrives through `onFailure`. */
export async function startProcessChannel(options: ProcessSandboxOptions): Promise<SandboxChannel> {
  const { name } = options;
  const child: ChildProcessHandle = platform().spawn(platform().execPath(), {
    args: await sandboxArgs(options),
    clearEnv: true,
    env: environment(options.permissions),
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    // Out of the terminal's process group (its Ctrl-C is the host's to handle), and stopped
    // with whatever it started.
    processGroup: true,
  });
  let onMessage: (message: unknown) => void = () => {};
  let onFailure: (error: PluginError) => void = () => {};
  let ended: PluginError | undefined;
  let stopping = false;
  const tail: string[] = [];
  let outOfMemory = false;
  const fail = (error: PluginError) => {
    if (ended) return;
    ended = error;
    child.kill("SIGKILL");
    if (!stopping) onFailure(error);
  };
  const stdin = child.stdin!.getWriter();
  const writer = new FrameWriter(
    (bytes) => stdin.write(bytes),
    (error) =>
      fail(
        new PluginError("SandboxCrashed", name, `sandbox "${name}" stopped reading: ${error}`),
      ),
  );
  const reader = new FrameReader(options.maxMessageBytes);
  (async () => {
    for await (const chunk of child.stdout!) {
      for (const message of reader.push(chunk)) onMessage(message);
    }
  })().catch((error) =>
    fail(
      new PluginError(
        "SandboxProtocol",
        name,
        `sandbox "${name}" broke the protocol: ${(error as Error).message}`,
      ),
    )
  );
  readLines(child.stderr!, (line) => {
    tail.push(line);
    if (tail.length > 8) tail.shift();
    if (/out of memory|heap limit/i.test(line)) outOfMemory = true;
    options.onStderr(line);
  }).catch(() => {});
  child.status.then(
    (status) => {
      const how = status.signal
        ? `was killed by ${status.signal}`
        : `exited with code ${status.code}`;
      const said = tail.join("\n");
      const oom = outOfMemory ? ` (out of memory: its heap limit is ${options.heapMb} MiB)` : "";
      fail(
        new PluginError(
          "SandboxCrashed",
          name,
          `sandbox "${name}" ${how}${oom}${said ? `: ${said.slice(-2000)}` : ""}`,
        ),
      );
    },
    (error) =>
      fail(new PluginError("SandboxCrashed", name, `sandbox "${name}" did not start: ${error}`)),
  );
  return {
    post: (message) => {
      if (ended) throw ended;
      writer.enqueue(encodeFrame(message, options.maxMessageBytes));
    },
    onMessage: (handler) => {
      onMessage = handler;
    },
    onFailure: (handler) => {
      onFailure = handler;
    },
    terminate: async () => {
      stopping = true;
      child.kill("SIGKILL");
      await stdin.close().catch(() => {});
      await child.status.catch(() => {});
    },
  };
}
