/**
 * Namespaces in XML 1.0 for the parser: the prefixes in scope at each open element, their
 * checks, and the resolution of element and attribute names (remembered per scope in each
 * `QName`).
 *
 * @module
 */
import { Failure } from "../_text.ts";
import type { AttributeList } from "./_attributes.ts";
import { newScopeEpoch, type QName } from "./_names.ts";

const XML_NS = "http://www.w3.org/XML/1998/namespace";
/** The namespace of `xmlns` attributes. */
export const XMLNS_NS = "http://www.w3.org/2000/xmlns/";

/** The prefixes bound at each level of a document being parsed. */
export class NamespaceScopes {
  /** Identifies the current scope among all parsers' scopes (see QName.epoch). */
  epoch: number = newScopeEpoch();
  /**
   * For each open element that declares namespaces: its depth, then the length `#prefixes` had
   * before its declarations (to restore at its end tag).
   */
  #scopes: number[] = [];
  /**
   * The depth of the innermost open element that declares prefixes, or -1: the tokenizer
   * compares it at every end tag, so it is a plain field, not a call.
   */
  innermost = -1;
  #prefixes: string[] = ["xml", ""];
  #uris: string[] = [XML_NS, ""];

  /** The URI bound to `prefix` in the current scope, or undefined. */
  #lookup(prefix: string): string | undefined {
    const p = this.#prefixes;
    for (let i = p.length - 1; i >= 0; i--) if (p[i] === prefix) return this.#uris[i];
    return undefined;
  }

  /** `q`'s namespace URI in the current scope (remembered in `q` for this scope), or undefined. */
  resolve(q: QName): string | undefined {
    if (q.epoch === this.epoch) return q.uri;
    const uri = this.#lookup(q.prefix);
    if (uri !== undefined) {
      q.uri = uri;
      q.epoch = this.epoch;
    }
    return uri;
  }

  /**
   * Binds the prefixes a start tag declares (its xmlns attributes), checking each binding; the
   * element is the one at `depth` (the number of elements open around it).
   */
  declare(attrs: AttributeList, depth: number): void {
    this.#scopes.push(depth, this.#prefixes.length);
    this.innermost = depth;
    for (let k = 0; k < attrs.count; k++) {
      const q = attrs.q[k];
      if (!q.xmlns) continue;
      const at = attrs.at[k];
      if (!q.valid) {
        throw new Failure(
          "Namespace",
          `${JSON.stringify(q.name)} is not a valid qualified name`,
          at,
        );
      }
      const prefix = q.prefix === "" ? "" : q.localName;
      const uri = attrs.value[k];
      if (prefix !== "") {
        if (prefix === "xmlns") {
          throw new Failure("Namespace", "the xmlns prefix must not be declared", at);
        }
        if (uri === "") {
          throw new Failure("Namespace", `prefix ${prefix} bound to an empty URI`, at);
        }
      }
      if (prefix === "xml" ? uri !== XML_NS : uri === XML_NS) {
        throw new Failure(
          "Namespace",
          "the xml prefix and its namespace belong only to each other",
          at,
        );
      }
      if (uri === XMLNS_NS) {
        throw new Failure("Namespace", "the xmlns namespace must not be bound", at);
      }
      attrs.uri[k] = XMLNS_NS;
      this.#prefixes.push(prefix);
      this.#uris.push(uri);
    }
    this.epoch = newScopeEpoch();
  }

  /** Gives the attributes (other than xmlns ones) their namespace; checks expanded names. */
  resolveAttributes(attrs: AttributeList): void {
    const qs = attrs.q;
    const uris = attrs.uri;
    let prefixed = 0;
    for (let k = 0; k < attrs.count; k++) {
      const q = qs[k];
      if (q.xmlns) continue;
      if (!q.valid) {
        throw new Failure(
          "Namespace",
          `${JSON.stringify(q.name)} is not a valid qualified name`,
          attrs.at[k],
        );
      }
      if (q.prefix === "") continue;
      const u = this.resolve(q);
      if (u === undefined || u === "") {
        throw new Failure("Namespace", `unbound prefix ${q.prefix}`, attrs.at[k]);
      }
      uris[k] = u;
      prefixed++;
    }
    if (prefixed > 1) {
      for (let k = 0; k < attrs.count; k++) {
        const a = qs[k];
        if (a.prefix === "" || uris[k] === XMLNS_NS) continue;
        for (let m = 0; m < k; m++) {
          const b = qs[m];
          if (b.prefix !== "" && b.localName === a.localName && uris[m] === uris[k]) {
            throw new Failure(
              "DuplicateAttribute",
              `attributes ${b.name} and ${a.name} have the same expanded name`,
              attrs.at[k],
            );
          }
        }
      }
    }
  }

  /**
   * The innermost element that declared prefixes (at depth `innermost`) ended: its prefixes go
   * out of scope.
   */
  end(): void {
    const scopes = this.#scopes;
    const mark = scopes.pop()!;
    scopes.pop();
    // Setting an array's length is a slow runtime call.
    while (this.#prefixes.length > mark) {
      this.#prefixes.pop();
      this.#uris.pop();
    }
    this.innermost = scopes.length > 0 ? scopes[scopes.length - 2] : -1;
    this.epoch = newScopeEpoch();
  }
}
