// The main module of a sandbox process: `deno run <flags> this-file
// <plugin-url> <max-message-bytes>`. It speaks frames over stdin/stdout,
// sends console output to stderr (stdout is the host's channel), ignores
// the terminal's interrupt (the host decides when a sandbox stops), exits
// when the host goes away, and imports the plugin — whose whole module
// graph needs read permission here, unlike a worker's static imports.
import { platform } from "../core/platform/mod.ts";
import type { ParentPort } from "../core/platform/mod.ts";
import { runSandbox } from "./sandbox_runtime.ts";
import { encodeFrame, FrameReader, FrameWriter } from "./_sandbox_wire.ts";

const [pluginUrl, maxBytesText] = platform().args();
const maxBytes = Number(maxBytesText);

console.log =
  console.info =
  console.debug =
  console.trace =
    console.error;
platform().onSignal("SIGINT", () => {});

const writer = new FrameWriter(
  (bytes) => platform().writeStdout(bytes),
  () => platform().exit(70),
);
let deliver: (message: unknown) => void = () => {};
const port: ParentPort = {
  postMessage: (message) => writer.enqueue(encodeFrame(message, maxBytes)),
  onMessage: (handler) => {
    deliver = handler;
  },
};

(async () => {
  const reader = new FrameReader(maxBytes);
  const buffer = new Uint8Array(65536);
  for (let n; (n = await platform().readStdin(buffer)) !== null;) {
    for (const message of reader.push(buffer.subarray(0, n))) deliver(message);
  }
})().finally(() => platform().exit(0));

runSandbox(await import(pluginUrl), port);
