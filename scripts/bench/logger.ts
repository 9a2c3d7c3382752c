/**
 * Logger throughput to a file: our Logger + FileSink against npm pino in one
 * run, 144-byte JSON lines from a producer that never yields, timed until
 * every line is handed to the OS (ours: `flush()`, which also fsyncs;
 * pino: `flushSync()`). Pino is measured with its default synchronous
 * destination and with its asynchronous one (`sync: false`, 4 KiB minimum
 * write). Usage: `deno run -A scripts/bench/logger.ts [--lines=300000]` or
 * `node npm/scripts/bench/logger.js` after the npm build.
 *
 * @module
 */
import pino from "npm:pino@9.14.0";
import { FileSink, Logger } from "../../core/logger.ts";
import { platform } from "../../core/platform/mod.ts";

const runtime = platform().name === "deno" && "Deno" in globalThis ? "deno" : "node";
const arg = (name: string, fallback: string): string =>
  platform().args().find((a) => a.startsWith(`--${name}=`))?.split("=")[1] ?? fallback;
const LINES = Number(arg("lines", "300000"));
const ROUNDS = 3;

const dir = await platform().makeTempDir({ prefix: "iora-bench-logger-" });
// Fields chosen so that our JSON line is 144 bytes with its newline.
const fields = { method: "GET", path: "/api/v1/users/12", status: 200, ms: 12.5, id: "a1b" };
const message = "request handled ok";

async function ours(file: string): Promise<number> {
  const logger = new Logger({ sinks: [new FileSink({ path: file })] });
  const t0 = platform().now();
  for (let i = 0; i < LINES; i++) logger.info(message, fields);
  await logger.flush();
  const t = platform().now() - t0;
  await logger.close();
  return t;
}

async function pinoRun(file: string, sync: boolean): Promise<number> {
  const dest = pino.destination(
    sync ? { dest: file, sync: true } : {
      dest: file,
      sync: false,
      minLength: 4096,
    },
  );
  // The asynchronous destination opens its file in the background.
  if (!sync) await new Promise((resolve) => dest.once("ready", resolve));
  const logger = pino({ base: null }, dest);
  const t0 = platform().now();
  for (let i = 0; i < LINES; i++) logger.info(fields, message);
  dest.flushSync();
  const t = platform().now() - t0;
  await new Promise((resolve) => {
    dest.once("close", resolve);
    dest.end();
  });
  return t;
}

async function lineSize(file: string): Promise<number> {
  const text = await platform().readTextFile(file);
  const lines = text.split("\n");
  if (lines.length - 1 !== LINES) {
    throw new Error(`${file}: ${lines.length - 1} lines, not ${LINES}`);
  }
  return new TextEncoder().encode(lines[0]).length + 1;
}

const results: Record<string, number[]> = { ours: [], "pino (sync)": [], "pino (async)": [] };
let n = 0;
const sizes: Record<string, number> = {};
for (let round = 0; round < ROUNDS; round++) {
  for (const name of Object.keys(results)) {
    const file = `${dir}/${name.replace(/\W/g, "")}-${n++}.log`;
    const ms = name === "ours" ? await ours(file) : await pinoRun(file, name === "pino (sync)");
    sizes[name] = await lineSize(file);
    results[name].push(ms);
    await platform().remove(file);
  }
}
await platform().remove(dir, { recursive: true });

const best = (xs: number[]) => Math.min(...xs);
const rate = (name: string) => LINES / (best(results[name]) / 1000);
const mine = rate("ours");
for (const name of Object.keys(results)) {
  const r = rate(name);
  const ratio = name === "ours" ? "" : `  ours/peer ${(mine / r).toFixed(2)}x`;
  console.log(
    `${runtime}  logger-to-file  ${name.padEnd(13)} ${(r / 1000).toFixed(0).padStart(6)}k lines/s` +
      `  (${sizes[name]} B/line, best of ${ROUNDS})${ratio}`,
  );
}
