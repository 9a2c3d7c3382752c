/**
 * A segment tree router: routes by method and path with static segments,
 * `{param}` segments and a trailing `*` wildcard. A lookup walks one node
 * per path segment, so its cost depends on the path's depth, never on the
 * number of routes.
 *
 * @example
 * ```ts
 * import { Router } from "./router.ts";
 * const router = new Router<string>();
 * router.add("GET", "/users/{id}", "show user");
 * const match = router.lookup("GET", "/users/42");
 * if (match.kind === "found") console.log(match.handler, match.params.id); // show user 42
 * ```
 *
 * @module
 */
import { IoraError } from "../core/errors.ts";

/** Thrown for an invalid route pattern or a route registered twice. */
export class RouterError extends IoraError {
  /**
   * Creates the error.
   *
   * @param code `"InvalidRoute"` or `"DuplicateRoute"`
   * @param message what is wrong
   */
  constructor(code: "InvalidRoute" | "DuplicateRoute", message: string) {
    super(code, message);
  }
}

/** The outcome of {@linkcode Router.lookup}. */
export type RouteMatch<H> =
  | {
    /** A route matched. */
    kind: "found";
    /** The route's handler. */
    handler: H;
    /**
     * Percent-decoded parameters; a trailing wildcard is under `"*"`. A route without
     * parameters gets one shared frozen empty object.
     */
    params: Record<string, string>;
    /** The pattern that matched, for logs and stats. */
    pattern: string;
  }
  | {
    /** No route has this path (404). */
    kind: "notFound";
  }
  | {
    /** The path exists for other methods (405). */
    kind: "methodNotAllowed";
    /** The methods the path accepts, for the `Allow` header. */
    allow: string[];
  };

interface Route<H> {
  handler: H;
  pattern: string;
  /** The match of an all-static pattern, built once: such a route has no parameters. */
  found: RouteMatch<H> | null;
}

function isEmpty<H>(node: Node<H>): boolean {
  return node.statics === null && node.param === null && node.wildcard === null &&
    node.routes === null;
}

class Node<H> {
  statics: Map<string, Node<H>> | null = null;
  param: Node<H> | null = null;
  paramName = "";
  wildcard: Map<string, Route<H>> | null = null;
  routes: Map<string, Route<H>> | null = null;
}

/**
 * The path as the router matches it: every percent-escape that needs none decoded (RFC 3986
 * 6.2.2: unreserved characters, and UTF-8 for non-ASCII text) and the others in upper-case hex,
 * so `/m%65`, `/me`, `/caf%c3%a9` and `/café` each have one spelling. Escapes of reserved
 * characters stay escapes (`%2F` is data, not a separator); malformed ones stay as sent.
 *
 * @param path a request path, percent-encoded as sent
 * @returns the normalized path
 *
 * @example
 * ```ts
 * import { normalizePath } from "./router.ts";
 * console.log(normalizePath("/caf%c3%a9/a%2fb/m%65")); // "/café/a%2Fb/me"
 * ```
 */
export function normalizePath(path: string): string {
  if (path.indexOf("%") === -1) return path;
  return path.replace(ESCAPE_RUN, (run) => {
    let text: string;
    try {
      text = decodeURIComponent(run);
    } catch {
      return run;
    }
    return text.replace(
      NEEDS_ESCAPE,
      (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase().padStart(2, "0"),
    );
  });
}

const ESCAPE_RUN = /(?:%[0-9A-Fa-f]{2})+/g;
/** ASCII characters other than the unreserved ones. */
const NEEDS_ESCAPE = /[^A-Za-z0-9\-._~\u0080-\uffff]/g;

function safeDecode(s: string): string {
  if (s.indexOf("%") === -1) return s;
  try {
    return decodeURIComponent(s);
  } catch {
    // Malformed escapes stay as sent rather than failing the whole request.
    return s;
  }
}

const NOT_FOUND = Object.freeze({ kind: "notFound" as const });
const NO_PARAMS: Record<string, string> = Object.freeze({}) as Record<string, string>;

/**
 * The router. `H` is whatever a route carries (a handler function).
 * Precedence at each segment: static, then `{param}`, then `*`. `HEAD`
 * falls back to the `GET` route of the same path.
 *
 * @example
 * ```ts
 * import { Router } from "./router.ts";
 * const r = new Router<number>();
 * r.add("GET", "/files/*", 1);
 * const m = r.lookup("GET", "/files/a/b.txt");
 * if (m.kind === "found") console.log(m.params["*"]); // a/b.txt
 * console.log(r.lookup("POST", "/files/x")); // { kind: "methodNotAllowed", allow: ["GET", "HEAD"] }
 * ```
 */
export class Router<H> {
  #root = new Node<H>();
  #size = 0;
  /** Routes whose pattern is all static segments, by pattern: one map lookup for those. */
  #exact = new Map<string, Map<string, Route<H>>>();
  #params: string[] = [];
  #names: string[] = [];
  /** The route sets of every node the path reached without a route for the method. */
  #allow: Map<string, Route<H>>[] = [];

  /** Number of registered (method, pattern) routes. */
  get size(): number {
    return this.#size;
  }

  /**
   * Registers `handler` for `method` (or `"*"` for every method) and a
   * pattern such as `/users/{id}/posts` or `/static/*`. Throws
   * {@linkcode RouterError} for a malformed pattern or a duplicate.
   */
  add(method: string, pattern: string, handler: H): void {
    if (!pattern.startsWith("/")) {
      throw new RouterError("InvalidRoute", `route must start with "/": ${pattern}`);
    }
    const segments = normalizePath(pattern).slice(1).split("/");
    let node = this.#root;
    for (let i = 0; i < segments.length; i++) {
      const seg = segments[i];
      if (seg === "*") {
        if (i !== segments.length - 1) {
          throw new RouterError("InvalidRoute", `"*" must be the last segment: ${pattern}`);
        }
        node.wildcard ??= new Map();
        this.#put(node.wildcard, method, pattern, handler);
        return;
      }
      if (seg.startsWith("{") && seg.endsWith("}")) {
        const name = seg.slice(1, -1);
        if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
          throw new RouterError("InvalidRoute", `invalid parameter name "${name}" in ${pattern}`);
        }
        if (node.param === null) {
          node.param = new Node<H>();
          node.paramName = name;
        } else if (node.paramName !== name) {
          throw new RouterError(
            "InvalidRoute",
            `parameter {${name}} conflicts with {${node.paramName}} at the same place: ${pattern}`,
          );
        }
        node = node.param;
        continue;
      }
      if (seg.includes("{") || seg.includes("}")) {
        throw new RouterError("InvalidRoute", `a parameter must fill a whole segment: ${pattern}`);
      }
      node.statics ??= new Map();
      let child = node.statics.get(seg);
      if (child === undefined) {
        child = new Node<H>();
        node.statics.set(seg, child);
      }
      node = child;
    }
    node.routes ??= new Map();
    this.#put(node.routes, method, pattern, handler);
    // The walk tries static children first, so an all-static match is what it would find too.
    if (!pattern.includes("{")) this.#exact.set(normalizePath(pattern), node.routes);
  }

  /**
   * Removes the route of `method` and `pattern` (spelled as it was added);
   * returns false when there is none. Branches left empty are pruned, so a
   * parameter of another name may take their place later.
   */
  remove(method: string, pattern: string): boolean {
    if (!pattern.startsWith("/")) return false;
    const segments = normalizePath(pattern).slice(1).split("/");
    // The nodes walked, each with the key it hangs under in its parent.
    const trail: [Node<H>, string][] = [];
    let node = this.#root;
    for (let i = 0; i < segments.length; i++) {
      const seg = segments[i];
      if (seg === "*") {
        if (i !== segments.length - 1 || node.wildcard?.get(method)?.pattern !== pattern) {
          return false;
        }
        node.wildcard.delete(method);
        if (node.wildcard.size === 0) node.wildcard = null;
        this.#size--;
        this.#prune(trail, node);
        return true;
      }
      const next = seg.startsWith("{") ? node.param : node.statics?.get(seg) ?? null;
      if (next === null) return false;
      trail.push([node, seg]);
      node = next;
    }
    if (node.routes?.get(method)?.pattern !== pattern) return false;
    node.routes.delete(method);
    this.#size--;
    if (node.routes.size === 0) {
      node.routes = null;
      this.#exact.delete(normalizePath(pattern));
    }
    this.#prune(trail, node);
    return true;
  }

  #prune(trail: [Node<H>, string][], node: Node<H>): void {
    for (let i = trail.length - 1; i >= 0 && isEmpty(node); i--) {
      const [parent, key] = trail[i];
      if (key.startsWith("{")) {
        parent.param = null;
        parent.paramName = "";
      } else {
        parent.statics!.delete(key);
        if (parent.statics!.size === 0) parent.statics = null;
      }
      node = parent;
    }
  }

  #put(map: Map<string, Route<H>>, method: string, pattern: string, handler: H): void {
    if (map.has(method)) {
      throw new RouterError("DuplicateRoute", `${method} ${pattern} is already registered`);
    }
    const found: RouteMatch<H> | null = pattern.includes("{") || pattern.endsWith("*")
      ? null
      : Object.freeze({ kind: "found", handler, params: NO_PARAMS, pattern });
    map.set(method, { handler, pattern, found });
    this.#size++;
  }

  /**
   * Finds the route for `method` and `path` (the path without its query
   * string, still percent-encoded). Escapes of characters that need none
   * match their plain form (`/m%65` finds `/me`); parameters are decoded.
   */
  lookup(method: string, path: string): RouteMatch<H> {
    path = normalizePath(path);
    const exact = this.#exact.get(path);
    if (exact !== undefined) {
      const route = pick(exact, method);
      if (route !== null) return route.found!;
    }
    // Scratch state of one lookup (lookups are synchronous, so one set per router is enough).
    const params = this.#params;
    const names = this.#names;
    params.length = 0;
    names.length = 0;
    const allow = this.#allow;
    allow.length = 0;
    const route = this.#walk(this.#root, path, 1, method);
    if (route !== null) {
      const out: Record<string, string> = {};
      for (let i = 0; i < names.length; i++) out[names[i]] = safeDecode(params[i]);
      return { kind: "found", handler: route.handler, params: out, pattern: route.pattern };
    }
    if (allow.length === 0) return NOT_FOUND;
    // Every route the path matches counts: "/a/b" for GET and "/a/*" for DELETE allow both.
    const methods: string[] = [];
    for (const routes of allow) {
      for (const m of routes.keys()) if (!methods.includes(m)) methods.push(m);
    }
    allow.length = 0;
    if (methods.includes("GET") && !methods.includes("HEAD")) methods.push("HEAD");
    return { kind: "methodNotAllowed", allow: methods };
  }

  // Depth-first with backtracking: static first, then the parameter, then the wildcard.
  // Captured values and their names go to #params/#names in path order.
  #walk(node: Node<H>, path: string, start: number, method: string): Route<H> | null {
    let end = path.indexOf("/", start);
    if (end === -1) end = path.length;
    const seg = path.slice(start, end);
    const last = end === path.length;
    if (node.statics !== null) {
      const child = node.statics.get(seg);
      if (child !== undefined) {
        const r = last ? this.#at(child, method) : this.#walk(child, path, end + 1, method);
        if (r !== null) return r;
      }
    }
    if (node.param !== null && seg.length > 0) {
      const depth = this.#params.length;
      this.#params.push(seg);
      this.#names.push(node.paramName);
      const child = node.param;
      const r = last ? this.#at(child, method) : this.#walk(child, path, end + 1, method);
      if (r !== null) return r;
      this.#params.length = depth;
      this.#names.length = depth;
    }
    if (node.wildcard !== null) {
      const route = pick(node.wildcard, method);
      if (route !== null) {
        this.#params.push(path.slice(start));
        this.#names.push("*");
        return route;
      }
      this.#allow.push(node.wildcard);
    }
    return null;
  }

  #at(node: Node<H>, method: string): Route<H> | null {
    if (node.routes !== null) {
      const route = pick(node.routes, method);
      if (route !== null) return route;
      this.#allow.push(node.routes);
    }
    // "/files/*" also answers "/files/" with an empty wildcard, never "/files".
    return null;
  }
}

function pick<H>(routes: Map<string, Route<H>>, method: string): Route<H> | null {
  return routes.get(method) ?? (method === "HEAD" ? routes.get("GET") : undefined) ??
    routes.get("*") ?? null;
}
