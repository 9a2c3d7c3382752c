/**
 * The worker side of {@linkcode ThreadPool}: started by the pool (never
 * imported by applications), it imports task modules on demand, runs the
 * named exports and sends results back in batches, one message per burst.
 *
 * @module
 */
import { loadPlatform, platform } from "./platform/mod.ts";
import type { ParentPort } from "./platform/mod.ts";
import {
  TRANSFER_BRAND,
  type WireError,
  type WireResult,
  type WireTask,
} from "./_thread_pool_wire.ts";

type Module = Record<string, unknown>;

async function findPort(): Promise<ParentPort> {
  // The pool names the runtime implementation it started us with, so a Node-style
  // worker started under Deno listens on the Node port.
  const wanted = new URL(import.meta.url).searchParams.get("platform");
  const chosen = wanted === "deno" || wanted === "node" ? await loadPlatform(wanted) : undefined;
  const port = chosen?.parentPort() ?? platform().parentPort();
  if (port === null) throw new Error("thread_pool_worker.ts must run inside a worker");
  return port;
}

function serialiseError(error: unknown): WireError {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return {
      name: error.name,
      message: error.message,
      stack: error.stack,
      code: typeof code === "string" || typeof code === "number" ? code : undefined,
    };
  }
  return { name: "Error", message: String(error) };
}

const port = await findPort();
const modules = new Map<string, Module | Promise<Module>>();
let outbox: WireResult[] = [];
// Results with a transfer list travel alone: a postMessage that fails may already have detached
// its whole transfer list, which would fail every other result of a shared message.
let transfers: { result: WireResult; list: Transferable[] }[] = [];
let flushQueued = false;

function post(results: WireResult[], list: Transferable[]): void {
  try {
    port.postMessage({ t: "done", results }, list);
  } catch {
    // Some result could not be cloned: send them one by one, failing only the culprits.
    for (const result of results) {
      try {
        port.postMessage({ t: "done", results: [result] }, list);
      } catch (error) {
        const failure = serialiseError(error);
        failure.message = `the task's result could not be sent to the pool: ${failure.message}`;
        port.postMessage({ t: "done", results: [[result[0], false, failure, result[3]]] });
      }
    }
  }
}

function flush(): void {
  flushQueued = false;
  const results = outbox;
  const alone = transfers;
  outbox = [];
  transfers = [];
  if (results.length > 0) post(results, []);
  for (const { result, list } of alone) post([result], list);
}

function finish(id: number, ok: boolean, value: unknown, started: number): void {
  if (
    ok && typeof value === "object" && value !== null &&
    (value as Record<string, unknown>)[TRANSFER_BRAND] === true
  ) {
    const branded = value as { value: unknown; transfer: Transferable[] };
    const result: WireResult = [id, true, branded.value, performance.now() - started];
    transfers.push({ result, list: branded.transfer });
  } else {
    outbox.push([id, ok, ok ? value : serialiseError(value), performance.now() - started]);
  }
  if (!flushQueued) {
    flushQueued = true;
    queueMicrotask(flush);
  }
}

function call(module: Module, task: WireTask, started: number): void {
  const [id, moduleUrl, exportName, args] = task;
  const fn = module[exportName];
  if (typeof fn !== "function") {
    const error = new TypeError(`${moduleUrl} has no exported function "${exportName}"`);
    finish(id, false, error, started);
    return;
  }
  try {
    const result = (fn as (...a: unknown[]) => unknown)(...args);
    if (result instanceof Promise) {
      result.then(
        (value) => finish(id, true, value, started),
        (error) => finish(id, false, error, started),
      );
    } else {
      finish(id, true, result, started);
    }
  } catch (error) {
    finish(id, false, error, started);
  }
}

function run(task: WireTask): void {
  const started = performance.now();
  const moduleUrl = task[1];
  let module = modules.get(moduleUrl);
  if (module === undefined) {
    module = import(moduleUrl) as Promise<Module>;
    modules.set(moduleUrl, module);
    module.then((m) => modules.set(moduleUrl, m), () => modules.delete(moduleUrl));
  }
  if (module instanceof Promise) {
    module.then(
      (m) => call(m, task, started),
      (error) => finish(task[0], false, error, started),
    );
  } else {
    call(module, task, started);
  }
}

port.onMessage((message) => {
  const { t, tasks } = message as { t: string; tasks: WireTask[] };
  if (t === "run") { for (const task of tasks) run(task); }
});
port.postMessage({ t: "ready" });
