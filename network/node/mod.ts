/**
 * The Node network adapter: sockets through `node:net`, `node:tls` and
 * `node:dgram`. Runs on Node, and on Deno through its Node compatibility.
 *
 * @module
 */
import type { NetworkAdapter } from "../_adapter.ts";
import { connectTcp, listenTcp } from "./tcp.ts";
import { bindUdp } from "./udp.ts";

/** Sockets through Node's modules. */
export const nodeAdapter: NetworkAdapter = {
  name: "node",
  listenTcp,
  connectTcp,
  bindUdp,
};
