// The closed module graph of a sandbox: before a sandbox starts, every
// module its code can import (statically, or dynamically with a specifier
// Deno can see) is resolved with `deno info`, and each must lie under the
// plugin's root, be part of the framework's own code, or come from a
// granted remote origin. The result also lists the local files the
// sandbox process must be allowed to read to load that graph, so its read
// permission stays its grants plus its own code.
import { platform } from "../core/platform/mod.ts";
import type { PermissionGrant } from "../core/platform/mod.ts";
import { PluginError } from "./errors.ts";

/** What may be imported into a sandbox. */
export interface GraphPolicy {
  /** The module name, for messages. */
  name: string;
  /** The plugin's root folder as a `file:` URL ending in `/`. */
  root: string;
  /** The `import` permission: remote hosts, and `npm:`, `jsr:`, `data:`, `blob:` when granted. */
  importGrant: PermissionGrant | undefined;
}

/** The checked graph. */
export interface ModuleGraph {
  /** Local files of the graph (plugin and framework code). */
  localFiles: string[];
  /** The remote hosts (`host` or `host:port`) the graph loads from. */
  remoteHosts: string[];
}

interface InfoDependency {
  specifier: string;
  code?: { specifier?: string; error?: string };
}

interface InfoModule {
  kind?: string;
  specifier: string;
  local?: string;
  mediaType?: string;
  error?: string;
  dependencies?: InfoDependency[];
}

interface Info {
  roots: string[];
  modules: InfoModule[];
  redirects: Record<string, string>;
}

// The framework's own code: what a plugin needs to be a plugin. Only code
// files in these folders; data beside them (a state file in the working
// directory, say) is not framework.
const FRAMEWORK_ROOT = new URL("../", import.meta.url).href;
const FRAMEWORK_FOLDERS = [
  "core/",
  "parsers/",
  "network/",
  "dns/",
  "http/",
  "service/",
  "plugins/",
];
const CODE = /\.(ts|js|mts|mjs|tsx|jsx)$/;

function isFramework(specifier: string): boolean {
  if (!specifier.startsWith(FRAMEWORK_ROOT) || !CODE.test(specifier)) return false;
  const rest = specifier.slice(FRAMEWORK_ROOT.length);
  return rest === "mod.ts" || rest === "mod.js" ||
    FRAMEWORK_FOLDERS.some((folder) => rest.startsWith(folder));
}

function granted(grant: PermissionGrant | undefined, what: string): boolean {
  return grant === true || (Array.isArray(grant) && grant.includes(what));
}

function hostOf(url: URL): string[] {
  return url.port ? [url.hostname, `${url.hostname}:${url.port}`] : [url.hostname];
}

/** Why `specifier` may not be imported, or undefined when it may. */
function refusal(specifier: string, policy: GraphPolicy): string | undefined {
  if (specifier.startsWith(policy.root)) return undefined;
  if (isFramework(specifier)) return undefined;
  const scheme = specifier.slice(0, specifier.indexOf(":") + 1);
  switch (scheme) {
    case "node:":
      return undefined; // the runtime's built-ins: checked by the sandbox's permissions
    case "npm:":
    case "jsr:":
    case "data:":
    case "blob:":
      return granted(policy.importGrant, scheme) ? undefined : `${scheme} imports are not granted`;
    case "http:":
    case "https:": {
      const url = new URL(specifier);
      return hostOf(url).some((h) => granted(policy.importGrant, h))
        ? undefined
        : `${url.host} is not a granted import origin`;
    }
    case "file:":
      return `it lies outside the plugin's root ${policy.root}`;
    default:
      return `${scheme} imports are not supported in a sandbox`;
  }
}

function refuse(policy: GraphPolicy, message: string): PluginError {
  return new PluginError("SandboxRefused", policy.name, `sandbox "${policy.name}": ${message}`);
}

function denoInfoArgs(url: string, grant: PermissionGrant | undefined): string[] {
  const hosts = Array.isArray(grant) ? grant.filter((g) => !g.endsWith(":")) : [];
  const imports = grant === true
    ? ["--allow-import"]
    : hosts.length > 0
    ? [`--allow-import=${hosts.join(",")}`]
    : ["--deny-import"];
  return ["info", "--json", "--no-lock", ...imports, url];
}

async function readAll(stream: ReadableStream<Uint8Array> | null): Promise<string> {
  if (stream === null) return "";
  return await new Response(stream).text();
}

/**
 * Resolves and checks the module graph of `url`; throws a
 * `SandboxRefused` {@linkcode PluginError} naming the first module that
 * lies outside what the policy allows.
 */
export async function checkModuleGraph(url: string, policy: GraphPolicy): Promise<ModuleGraph> {
  const child = platform().spawn(platform().execPath(), {
    args: denoInfoArgs(url, policy.importGrant),
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" },
  });
  const [out, err, status] = await Promise.all([
    readAll(child.stdout),
    readAll(child.stderr),
    child.status,
  ]);
  if (!status.success) {
    throw refuse(policy, `its module graph cannot be resolved: ${err.trim().split("\n")[0]}`);
  }
  const info = JSON.parse(out) as Info;
  const modules = new Map(info.modules.map((m) => [m.specifier, m]));
  const resolve = (specifier: string) => info.redirects[specifier] ?? specifier;
  const localFiles = new Set<string>();
  const remoteHosts = new Set<string>();
  const seen = new Set<string>();
  // Each entry: a module to visit, the plugin module that imported it (checked against the
  // policy), and whether it is trusted framework code, whose own imports are not checked.
  const queue: [string, string | undefined, boolean][] = info.roots.map((r) => [
    resolve(r),
    undefined,
    false,
  ]);
  while (queue.length > 0) {
    const [specifier, importer, trusted] = queue.pop()!;
    if (seen.has(specifier)) continue;
    seen.add(specifier);
    if (importer !== undefined) {
      const why = refusal(specifier, policy);
      if (why !== undefined) {
        throw refuse(policy, `${importer} imports ${specifier}, refused: ${why}`);
      }
    }
    const module = modules.get(specifier);
    if (module?.error) throw refuse(policy, `${specifier} cannot be loaded: ${module.error}`);
    if (module?.local) localFiles.add(module.local);
    if (/^https?:/.test(specifier)) remoteHosts.add(new URL(specifier).host);
    if (/^(npm|jsr|node):/.test(specifier) || module?.kind === "npm") continue;
    for (const dependency of module?.dependencies ?? []) {
      if (dependency.code?.error) {
        throw refuse(
          policy,
          `${specifier} imports ${dependency.specifier}: ${dependency.code.error}`,
        );
      }
      const target = dependency.code?.specifier;
      if (target === undefined) continue; // a type-only import: nothing loads at run time
      const next = resolve(target);
      const nextTrusted = trusted ||
        (!next.startsWith(policy.root) && isFramework(next));
      queue.push([next, trusted ? undefined : specifier, nextTrusted]);
    }
  }
  return { localFiles: [...localFiles], remoteHosts: [...remoteHosts] };
}
