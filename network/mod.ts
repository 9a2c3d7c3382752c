/**
 * Iora's network layer: TCP, TLS and UDP transports over Deno's or Node's
 * sockets (chosen at run time, or explicitly), an awaitable sync/async
 * layer, a unified facade, a circuit breaker and a health monitor.
 *
 * @example
 * ```ts
 * import { SharedTransport } from "./mod.ts";
 * const server = new SharedTransport();
 * server.setCallbacks({ onData: (sid, data) => server.send(sid, data) });
 * const { port } = await server.listen("127.0.0.1", 0);
 * console.log("echo on", port);
 * await server.stop();
 * ```
 *
 * @module
 */
export * from "./transport.ts";
export { availableAdapters } from "./adapters.ts";
export * from "./shared_transport.ts";
export * from "./shared_udp_transport.ts";
export * from "./sync_async_transport.ts";
export * from "./circuit_breaker.ts";
export * from "./health_monitor.ts";
export * from "./unified_shared_transport.ts";
export * from "./length_prefixed_frames.ts";
