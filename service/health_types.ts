/**
 * The shapes of the service's health report (`application/health+json`, draft-inadarei-api-health-check):
 * a leaf module, so the service context and the reporter both use them without importing each other.
 *
 * @module
 */

/** The media type of a {@linkcode HealthReport}. */
export const HEALTH_CONTENT_TYPE = "application/health+json";

/** `pass`: healthy; `warn`: healthy with a concern; `fail`: unhealthy (answered with 503). */
export type HealthStatus = "pass" | "warn" | "fail";

/** One measurement of one component (an element of a `checks` entry). */
export interface HealthCheck {
  /** Which instance of the component (a plugin's name, an origin). */
  componentId?: string;
  /** `component`, `datastore` or `system`. */
  componentType?: string;
  /** The measured value. */
  observedValue?: number | string;
  /** The unit of `observedValue`. */
  observedUnit?: string;
  /** This measurement's status. */
  status: HealthStatus;
  /** When it was taken (ISO 8601). */
  time: string;
  /** Why it is not `pass`. */
  output?: string;
}

/** A whole health report, as `GET /health` answers it. */
export interface HealthReport {
  /** The worst status of the checks (`fail` while the service shuts down). */
  status: HealthStatus;
  /** What the service is. */
  description: string;
  /** Why the status is not `pass`. */
  output?: string;
  /** Checks by `component:measurement`. */
  checks: Record<string, HealthCheck[]>;
}
