/**
 * The attributes of the start tag being read, in reused parallel arrays: the pull parser's cursor
 * reads them by index, and only `current()` makes {@linkcode XmlAttribute} objects of them.
 *
 * @module
 */
import type { XmlAttribute } from "./types.ts";
import type { QName } from "./_names.ts";

/**
 * The attributes of one start tag (or the pseudo-attributes of the XML declaration). The arrays
 * only grow; `count` says how many entries belong to the tag. An entry's `uri` is set when its
 * namespace is resolved (`""` until then and when namespaces are off).
 */
export class AttributeList {
  /** How many attributes the tag has. */
  count = 0;
  /** Each attribute's name, split for namespaces. */
  readonly q: QName[] = [];
  /** Each attribute's value, references decoded and whitespace normalised. */
  readonly value: string[] = [];
  /** Each attribute's namespace URI. */
  readonly uri: string[] = [];
  /** Where each attribute's name starts in the buffer (for errors). */
  readonly at: number[] = [];

  /** Appends an attribute named `q` with `value`, found at `at`. */
  add(q: QName, value: string, at: number): void {
    const n = this.count++;
    this.q[n] = q;
    this.value[n] = value;
    this.uri[n] = "";
    this.at[n] = at;
  }

  /** The index of the attribute named `name`, or -1. */
  indexOf(name: string): number {
    const q = this.q;
    for (let k = 0; k < this.count; k++) if (q[k].name === name) return k;
    return -1;
  }

  /**
   * The attributes as objects; with `ns` false, names are not split (no prefix, the whole name
   * as the local name).
   */
  toArray(ns: boolean): XmlAttribute[] {
    const out: XmlAttribute[] = [];
    for (let k = 0; k < this.count; k++) {
      const q = this.q[k];
      out.push({
        name: q.name,
        prefix: ns ? q.prefix : "",
        localName: ns ? q.localName : q.name,
        namespaceUri: this.uri[k],
        value: this.value[k],
      });
    }
    return out;
  }
}
