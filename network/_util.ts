/**
 * Small helpers shared by the transports.
 *
 * @module
 */
import { type CloseReason, type SessionId, TransportError } from "./transport.ts";

let nextSid = 1;

/** A process-wide session id: ids never repeat, even across transports. */
export function allocateSessionId(): SessionId {
  return nextSid++;
}

/** Throws `InvalidArgument` for an empty host or a port outside 0/1..65535. */
export function checkEndpoint(host: string, port: number, allowZero: boolean): void {
  if (typeof host !== "string" || host.length === 0) {
    throw new TransportError("InvalidArgument", "host must be a non-empty string");
  }
  if (!Number.isInteger(port) || port < (allowZero ? 0 : 1) || port > 65535) {
    throw new TransportError("InvalidArgument", `invalid port ${port}`);
  }
}

/** The error for an unknown session. */
export function sessionNotFound(sid: SessionId): TransportError {
  return new TransportError("SessionNotFound", `no session ${sid}`, { sid });
}

/** The error for a closed or closing session. */
export function sessionGone(sid: SessionId, reason: CloseReason): TransportError {
  return new TransportError("SessionClosed", `session ${sid} closed (${reason})`, { sid });
}

/** The error for a new session over `maxSessions`. */
export function sessionLimitReached(maxSessions: number): TransportError {
  return new TransportError("LimitExceeded", `session limit ${maxSessions} reached`);
}
