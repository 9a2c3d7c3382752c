/**
 * Logger throughput to a file: our Logger + FileSink against npm pino in one
 * run, JSON lines of the same content (time, level, message and five fields;
 * pino with `base: null`, so neither side writes a pid or hostname) from a
 * producer that never yields, timed to a durable close on both sides: ours
 * until `close()` resolves (it writes, fsyncs and closes the file); pino until
 * `flushSync()`, an fsync of its file and the destination's `close` event.
 * Pino is measured with its default synchronous destination and with its
 * asynchronous one (`sync: false`, 4 KiB minimum write). Rounds interleave
 * the three; each figure is the median (min–max) of the rounds.
 * Usage: `deno run -A scripts/bench/logger.ts [--lines=300000]` or
 * `node npm/scripts/bench/logger.js` after the npm build.
 *
 * @module
 */
import pino from "npm:pino@10.4.0";
import { FileSink, Logger } from "../../core/logger.ts";
import { platform } from "../../core/platform/mod.ts";
import { fsyncSync } from "node:fs";
import { fmt, ratio, ROUNDS, stats } from "./_harness.ts";

const runtime = platform().name === "deno" && "Deno" in globalThis ? "deno" : "node";
const arg = (name: string, fallback: string): string =>
  platform().args().find((a) => a.startsWith(`--${name}=`))?.split("=")[1] ?? fallback;
const LINES = Number(arg("lines", "300000"));

const dir = await platform().makeTempDir({ prefix: "iora-bench-logger-" });
// Fields chosen so that our JSON line is 144 bytes with its newline.
const fields = { method: "GET", path: "/api/v1/users/12", status: 200, ms: 12.5, id: "a1b" };
const message = "request handled ok";

async function ours(file: string): Promise<number> {
  const logger = new Logger({ sinks: [new FileSink({ path: file })] });
  const t0 = platform().now();
  for (let i = 0; i < LINES; i++) logger.info(message, fields);
  await logger.close();
  return platform().now() - t0;
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
  fsyncSync((dest as unknown as { fd: number }).fd);
  await new Promise((resolve) => {
    dest.once("close", resolve);
    dest.end();
  });
  return platform().now() - t0;
}

const samples: Record<string, string> = {};

async function lineSize(name: string, file: string): Promise<number> {
  const text = await platform().readTextFile(file);
  const lines = text.split("\n");
  if (lines.length - 1 !== LINES) {
    throw new Error(`${file}: ${lines.length - 1} lines, not ${LINES}`);
  }
  samples[name] = lines[0];
  return new TextEncoder().encode(lines[0]).length + 1;
}

const results: Record<string, number[]> = { ours: [], "pino (sync)": [], "pino (async)": [] };
let n = 0;
const sizes: Record<string, number> = {};
for (let round = 0; round < ROUNDS; round++) {
  for (const name of Object.keys(results)) {
    const file = `${dir}/${name.replace(/\W/g, "")}-${n++}.log`;
    const ms = name === "ours" ? await ours(file) : await pinoRun(file, name === "pino (sync)");
    sizes[name] = await lineSize(name, file);
    results[name].push(ms);
    await platform().remove(file);
  }
}
await platform().remove(dir, { recursive: true });

// Lines per millisecond (thousands per second) of every round.
const rates: Record<string, ReturnType<typeof stats>> = {};
for (const name of Object.keys(results)) {
  rates[name] = stats(results[name].map((ms) => LINES / ms));
}
for (const [name, line] of Object.entries(samples)) {
  console.log(`${runtime}  sample ${name}: ${line}`);
}
for (const name of Object.keys(results)) {
  const r = name === "ours" ? "" : `  ours/peer ${fmt(ratio(rates.ours, rates[name]), 2)}x`;
  console.log(
    `${runtime}  logger-to-file  ${name.padEnd(13)} ${fmt(rates[name], 0).padStart(18)}k lines/s` +
      `  (${sizes[name]} B/line, median (min–max) of ${ROUNDS}, to durable close)${r}`,
  );
}
