/**
 * The bridge from `WebhookServer` to standard fetch handlers (`mount`): a
 * request becomes a `Request` with the mount prefix cut from its URL, and
 * the `Response` becomes the server's response, sent with a length when its
 * body is already there and streamed when it is still being produced.
 *
 * @module
 */
import { normalizePath } from "./router.ts";
import type { WebhookRequest } from "./request.ts";
import type { WebhookResponse } from "./response.ts";

/** Methods the Fetch standard's `Request` refuses to carry, so no mounted app can see them. */
const FETCH_FORBIDDEN_METHODS: ReadonlySet<string> = new Set(["CONNECT", "TRACE", "TRACK"]);

/** Where the server listens, for the URL of a request without a `Host` field. */
export interface Origin {
  /** The bound interface. */
  readonly hostname: string;
  /** The bound port. */
  readonly port: number;
  /** True when serving HTTPS. */
  readonly tls: boolean;
}

/**
 * The route handler that serves `handler` under `prefix`; `origin` is read per request.
 */
export function fetchRoute(
  prefix: string,
  handler: (request: Request) => Response | Promise<Response>,
  origin: () => Origin,
): (req: WebhookRequest, res: WebhookResponse) => Promise<void> {
  return async (req, res) => {
    if (FETCH_FORBIDDEN_METHODS.has(req.method)) {
      res.json({ error: `${req.method} cannot be passed to a fetch handler` }, 501);
      return;
    }
    // The router matched the normalized path (`/%61pp/x` is `/app/x`): cut the prefix there.
    const rest = normalizePath(req.path).slice(normalizePath(prefix).length) || "/";
    // An empty Host is valid (RFC 9112 section 3.2) but would make the path the URL's host
    // ("http:///x" parses as host "x"); an IPv6 address needs its brackets.
    const { hostname, port, tls } = origin();
    const host = req.headers.get("host") ||
      `${hostname.includes(":") ? `[${hostname}]` : hostname}:${port}`;
    const url = `${tls ? "https" : "http"}://${host}${rest}${
      req.queryString ? `?${req.queryString}` : ""
    }`;
    const headers = req.headers.toHeaders();
    const hasBody = req.method !== "GET" && req.method !== "HEAD" && req.body.length > 0;
    const request = new Request(url, {
      method: req.method,
      headers,
      body: hasBody ? (req.body as BodyInit) : undefined,
    });
    const response = await handler(request);
    res.status = response.status;
    response.headers.forEach((value, name) => {
      if (name !== "set-cookie") res.headers.append(name, value);
    });
    for (const cookie of response.headers.getSetCookie()) {
      res.headers.append("set-cookie", cookie);
    }
    if (response.body === null) return;
    // A body whose pieces are already there (a string, JSON) goes out with a length. One that
    // is still being produced streams at once: its next piece may come much later
    // (server-sent events), and the client must not wait for it to see what is ready.
    const reader = response.body.getReader();
    const ready: Uint8Array[] = [];
    let pending: Promise<ReadableStreamReadResult<Uint8Array>> | null = null;
    for (let i = 0; i < 2; i++) {
      const read = reader.read();
      const next = await Promise.race([read, soon()]);
      if (next === SOON) {
        pending = read;
        break;
      }
      if (next.done) break;
      ready.push(next.value);
    }
    if (pending === null && ready.length < 2) {
      if (ready.length === 1) res.body = ready[0];
      return;
    }
    if (req.method === "HEAD") {
      // No body goes out: release the app's stream; the length it declares (if any) stays.
      reader.cancel().catch(() => {});
      return;
    }
    // A stream of our own, so a client that goes away cancels the app's stream.
    res.stream(
      new ReadableStream<Uint8Array>({
        start(controller) {
          for (const piece of ready) controller.enqueue(piece);
        },
        async pull(controller) {
          const next = await (pending ?? reader.read());
          pending = null;
          if (next.done) controller.close();
          else controller.enqueue(next.value);
        },
        cancel(reason) {
          return reader.cancel(reason);
        },
      }, { highWaterMark: 0 }),
    );
  };
}

const SOON: unique symbol = Symbol("soon");

/**
 * Settles after a few microtask turns: long enough for a read of data already queued in a
 * stream (a `Response` of a string ends in one or two turns), too short for any I/O.
 */
function soon(): Promise<typeof SOON> {
  let p = Promise.resolve<typeof SOON>(SOON);
  for (let i = 0; i < 8; i++) p = p.then((v) => v);
  return p;
}
