/**
 * Iora's HTTP layer: the strict HTTP/1.1 codec, the router, and
 * `WebhookServer`.
 *
 * @example
 * ```ts
 * import { WebhookServer } from "./mod.ts";
 * const server = new WebhookServer();
 * server.onGet("/health", (_req, res) => res.setContent("OK", "text/plain"));
 * server.on("/api/users").handleJson((body) => ({ received: body }));
 * ```
 *
 * @module
 */
export * from "./message.ts";
export * from "./router.ts";
export * from "./server.ts";
