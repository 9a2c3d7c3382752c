/**
 * The callbacks a transport calls, held in one place: absent ones are no-ops, so the hot path
 * calls them without a check.
 *
 * @module
 */
import { type CloseReason, type TransportCallbacks, TransportError } from "./transport.ts";

const noop = (): void => {};

/** A transport's current callbacks; `replace` swaps them all at once. */
export class CallbackSet {
  /** Called for an accepted connection (or a new UDP peer). */
  onAccept: NonNullable<TransportCallbacks["onAccept"]> = noop;
  /** Called once an outbound session is connected. */
  onConnect: NonNullable<TransportCallbacks["onConnect"]> = noop;
  /** Called with the bytes of a session. */
  onData: NonNullable<TransportCallbacks["onData"]> = noop;
  /** Called when the peer ended its side (half-open sessions only). */
  onEnd: NonNullable<TransportCallbacks["onEnd"]> = noop;
  /** Called once a session is gone. */
  onClose: NonNullable<TransportCallbacks["onClose"]> = noop;
  /** Called for errors not tied to one call. */
  onError: NonNullable<TransportCallbacks["onError"]> = noop;

  /**
   * Calls `onClose`. The session is gone either way, so a throw goes to `onError` instead of
   * into the adapter or `stop()`; returns false when it threw.
   */
  close(sid: number, reason: CloseReason, error?: TransportError): boolean {
    try {
      this.onClose(sid, reason, error);
      return true;
    } catch (thrown) {
      this.onError(callbackThrew("onClose", sid, thrown), sid);
      return false;
    }
  }

  /** Replaces every callback; absent ones become no-ops. */
  replace(callbacks: TransportCallbacks): void {
    this.onAccept = callbacks.onAccept ?? noop;
    this.onConnect = callbacks.onConnect ?? noop;
    this.onData = callbacks.onData ?? noop;
    this.onEnd = callbacks.onEnd ?? noop;
    this.onClose = callbacks.onClose ?? noop;
    this.onError = callbacks.onError ?? noop;
  }
}

/** The error that reports a user callback (`name`) that threw for session `sid`. */
export function callbackThrew(name: string, sid: number, cause: unknown): TransportError {
  return new TransportError("Io", `${name} callback of session ${sid} threw`, { cause, sid });
}
