/**
 * The callbacks a transport calls, held in one place: absent ones are no-ops, so the hot path
 * calls them without a check.
 *
 * @module
 */
import type { TransportCallbacks } from "./transport.ts";

const noop = (): void => {};

/** A transport's current callbacks; `replace` swaps them all at once. */
export class CallbackSet {
  /** Called for an accepted connection (or a new UDP peer). */
  onAccept: NonNullable<TransportCallbacks["onAccept"]> = noop;
  /** Called once an outbound session is connected. */
  onConnect: NonNullable<TransportCallbacks["onConnect"]> = noop;
  /** Called with the bytes of a session. */
  onData: NonNullable<TransportCallbacks["onData"]> = noop;
  /** Called once a session is gone. */
  onClose: NonNullable<TransportCallbacks["onClose"]> = noop;
  /** Called for errors not tied to one call. */
  onError: NonNullable<TransportCallbacks["onError"]> = noop;

  /** Replaces every callback; absent ones become no-ops. */
  replace(callbacks: TransportCallbacks): void {
    this.onAccept = callbacks.onAccept ?? noop;
    this.onConnect = callbacks.onConnect ?? noop;
    this.onData = callbacks.onData ?? noop;
    this.onClose = callbacks.onClose ?? noop;
    this.onError = callbacks.onError ?? noop;
  }
}
