/**
 * The `iora` command line: argument parsing and the run loop behind
 * `service/main.ts` (kept apart so it can be tested without starting).
 *
 * @module
 */
import type { LogThreshold } from "../core/logger.ts";
import { platform } from "../core/platform/mod.ts";
import { ServiceConfigError } from "./errors.ts";
import { IoraService } from "./iora_service.ts";
import denoConfig from "../deno.json" with { type: "json" };

/** The version the CLI reports: the package's, read from deno.json (the npm build inlines it). */
export const IORA_VERSION: string = denoConfig.version;

/** What the command line asked for. */
export interface CliOptions {
  /** `--config <file>`: a TOML configuration file. */
  config?: string;
  /** `--port <n>`: overrides `server.port`. */
  port?: number;
  /** `--log-level <level>`: overrides `log.level`. */
  logLevel?: LogThreshold;
  /** `--help`. */
  help: boolean;
  /** `--version`. */
  version: boolean;
}

/** The `--help` text. */
export const CLI_USAGE: string = `iora ${IORA_VERSION} - the Iora service host

Usage: iora [--config <file>] [--port <n>] [--log-level <level>]

Options:
  -c, --config <file>       TOML configuration (default: embedded defaults:
                            127.0.0.1:8080, console logs, ./iora_state.json, no plugins)
  -p, --port <n>            listen on this port (0 picks a free one)
  -l, --log-level <level>   trace, debug, info, warn, error, fatal or off
  -h, --help                show this help
  -v, --version             show the version

Environment: IORA__SECTION__KEY overrides a key of the config file
(for example IORA__SERVER__PORT=9000).
SIGINT/SIGTERM shut the service down gracefully.
`;

const LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "off"];

/**
 * Parses the command line. Throws a {@linkcode ServiceConfigError} naming
 * the bad argument. A `--` is skipped: `deno task start -- --config x`
 * passes it on to the program.
 *
 * @example
 * ```ts
 * import { parseCliArgs } from "./cli.ts";
 * console.log(parseCliArgs(["--port", "9000"]).port); // 9000
 * ```
 *
 * @param args the arguments after the program name
 * @returns the options
 */
export function parseCliArgs(args: string[]): CliOptions {
  const options: CliOptions = { help: false, version: false };
  for (let i = 0; i < args.length; i++) {
    let arg = args[i];
    let value: string | undefined;
    const eq = arg.indexOf("=");
    if (arg.startsWith("--") && eq > 0) {
      value = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    }
    const next = (): string => {
      if (value !== undefined) return value;
      const v = args[++i];
      if (v === undefined) throw new ServiceConfigError(arg, "needs a value");
      return v;
    };
    switch (arg) {
      case "--":
        break;
      case "-h":
      case "--help":
        options.help = true;
        break;
      case "-v":
      case "--version":
        options.version = true;
        break;
      case "-c":
      case "--config":
        options.config = next();
        break;
      case "-p":
      case "--port": {
        const text = next();
        const port = Number(text);
        if (!/^\d+$/.test(text) || port > 65535) {
          throw new ServiceConfigError("--port", `must be an integer in 0..65535, got "${text}"`);
        }
        options.port = port;
        break;
      }
      case "-l":
      case "--log-level": {
        const level = next();
        if (!LEVELS.includes(level)) {
          throw new ServiceConfigError("--log-level", `must be one of: ${LEVELS.join(", ")}`);
        }
        options.logLevel = level as LogThreshold;
        break;
      }
      default:
        throw new ServiceConfigError(arg, "unknown argument (see --help)");
    }
  }
  return options;
}

const encoder = new TextEncoder();

/**
 * Runs the CLI: prints help or the version, or starts the process-wide
 * service and prints where it listens. Resolves with the exit code for
 * help, version and errors; once the service runs, SIGINT/SIGTERM end the
 * process after a graceful shutdown.
 *
 * @example
 * ```ts ignore
 * import { runCli } from "./cli.ts";
 * const code = await runCli(["--port", "0"]);
 * ```
 *
 * @param args the arguments after the program name
 * @returns the exit code, or null while the service runs
 */
export async function runCli(args: string[]): Promise<number | null> {
  const p = platform();
  let options: CliOptions;
  try {
    options = parseCliArgs(args);
  } catch (error) {
    p.writeStderr(encoder.encode(`iora: ${(error as Error).message}\n\n${CLI_USAGE}`));
    return 2;
  }
  if (options.help) {
    p.writeStdout(encoder.encode(CLI_USAGE));
    return 0;
  }
  if (options.version) {
    p.writeStdout(encoder.encode(`iora ${IORA_VERSION} (${p.name})\n`));
    return 0;
  }
  try {
    const service = await IoraService.init(options.config ?? {}, {
      handleSignals: true,
      override: (config) => {
        if (options.port !== undefined) config.server.port = options.port;
        if (options.logLevel !== undefined) config.log.level = options.logLevel;
      },
    });
    const { server } = service.config;
    const where = server.enabled
      ? `${server.tls ? "https" : "http"}://${server.host}:${service.webhookServer.port}`
      : "no HTTP server (server.enabled = false)";
    const plugins = service.listModules().map((m) => m.name);
    p.writeStdout(
      encoder.encode(
        `iora ${IORA_VERSION} listening on ${where}` +
          (plugins.length > 0 ? ` with plugins: ${plugins.join(", ")}` : "") + "\n",
      ),
    );
    return null;
  } catch (error) {
    const e = error as Error & { code?: string };
    p.writeStderr(encoder.encode(`iora: failed to start: ${e.message}\n`));
    return 1;
  }
}
