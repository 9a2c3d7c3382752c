/**
 * The `iora` executable: `deno task start`, `deno compile`, `deno install -g`
 * and the npm package's `iora` bin all run this file. See `cli.ts`.
 *
 * @module
 */
import { platform } from "../core/platform/mod.ts";
import { runCli } from "./cli.ts";

const code = await runCli(platform().args());
if (code !== null) platform().exit(code);
