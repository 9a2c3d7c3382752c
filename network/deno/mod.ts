/**
 * The Deno network adapter: sockets through `Deno.*` APIs.
 *
 * @module
 */
import type { NetworkAdapter } from "../_adapter.ts";
import { connectTcp, listenTcp } from "./tcp.ts";
import { bindUdp } from "./udp.ts";

/** Sockets through Deno's own APIs. */
export const denoAdapter: NetworkAdapter = {
  name: "deno",
  listenTcp,
  connectTcp,
  bindUdp,
};
