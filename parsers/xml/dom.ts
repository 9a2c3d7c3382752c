/**
 * An in-memory tree built from the pull parser, and its serialization back to XML.
 *
 * @module
 */
import { XmlParser } from "./parser.ts";
import { TokenKind, type XmlAttribute, type XmlParseOptions } from "./types.ts";

/** Any node of an {@linkcode XmlDocument}. */
export type XmlNode = XmlElement | XmlText | XmlComment | XmlProcessingInstruction;

/** Character data (`cdata: true` when it came from a CDATA section). */
export interface XmlText {
  /** Always `"Text"`. */
  kind: "Text";
  /** The decoded text. */
  text: string;
  /** True when written as a CDATA section. */
  cdata: boolean;
  /** The containing element. */
  parent: XmlElement | null;
}

/** A comment. */
export interface XmlComment {
  /** Always `"Comment"`. */
  kind: "Comment";
  /** The comment's content. */
  text: string;
  /** The containing element (null at document level). */
  parent: XmlElement | null;
}

/** A processing instruction. */
export interface XmlProcessingInstruction {
  /** Always `"ProcessingInstruction"`. */
  kind: "ProcessingInstruction";
  /** The PI target. */
  target: string;
  /** The PI data. */
  text: string;
  /** The containing element (null at document level). */
  parent: XmlElement | null;
}

/**
 * An element with its attributes and children.
 *
 * @example
 * ```ts
 * import { buildDom } from "./dom.ts";
 * const doc = buildDom("<root><item id='1'>Hi</item></root>");
 * console.log(doc.root.childByName("item")?.getAttribute("id")); // "1"
 * ```
 */
export class XmlElement {
  /** Always `"Element"`. */
  readonly kind = "Element" as const;
  /** The qualified name as written. */
  name: string;
  /** The prefix (`""` when none). */
  prefix: string;
  /** The name without prefix. */
  localName: string;
  /** The namespace URI (`""` when none). */
  namespaceUri: string;
  /** Attributes in document order. */
  attributes: XmlAttribute[];
  /** Child nodes in document order. */
  children: XmlNode[] = [];
  /** The containing element (null for the root). */
  parent: XmlElement | null = null;

  /**
   * Creates an element.
   *
   * @param name qualified name
   * @param attributes attributes (name, prefix, localName, namespaceUri, value)
   * @param prefix the prefix
   * @param localName the local name
   * @param namespaceUri the namespace URI
   */
  constructor(
    name: string,
    attributes: XmlAttribute[] = [],
    prefix = "",
    localName: string = name,
    namespaceUri = "",
  ) {
    this.name = name;
    this.attributes = attributes;
    this.prefix = prefix;
    this.localName = localName;
    this.namespaceUri = namespaceUri;
  }

  /**
   * The value of an attribute by qualified name, or by `{namespaceUri, localName}`.
   *
   * @param name the qualified name, or the local name when `namespaceUri` is given
   * @param namespaceUri match the expanded name instead
   * @returns the value, or undefined when absent
   */
  getAttribute(name: string, namespaceUri?: string): string | undefined {
    for (const a of this.attributes) {
      if (
        namespaceUri === undefined
          ? a.name === name
          : a.localName === name && a.namespaceUri === namespaceUri
      ) {
        return a.value;
      }
    }
    return undefined;
  }

  /** Child elements in document order. */
  elements(): XmlElement[] {
    return this.children.filter((c): c is XmlElement => c instanceof XmlElement);
  }

  /**
   * The first child element with this qualified name (or local name when it has no prefix
   * and no child matches exactly).
   *
   * @param name qualified name
   * @returns the element or undefined
   */
  childByName(name: string): XmlElement | undefined {
    for (const c of this.children) if (c instanceof XmlElement && c.name === name) return c;
    return undefined;
  }

  /**
   * All child elements with this qualified name.
   *
   * @param name qualified name
   * @returns the matching elements, in order
   */
  childrenByName(name: string): XmlElement[] {
    return this.children.filter((c): c is XmlElement => c instanceof XmlElement && c.name === name);
  }

  /**
   * Follows a `/`-separated path of child names (`*` matches any), returning the first match.
   *
   * @param path such as `"channel/item/title"`
   * @returns the element or undefined
   */
  find(path: string): XmlElement | undefined {
    return this.findAll(path)[0];
  }

  /**
   * Every element reached by a `/`-separated path of child names (`*` matches any).
   *
   * @param path such as `"channel/item"`
   * @returns the matching elements, in document order
   */
  findAll(path: string): XmlElement[] {
    let current: XmlElement[] = [this];
    for (const step of path.split("/")) {
      if (step === "" || step === ".") continue;
      const next: XmlElement[] = [];
      for (const e of current) {
        for (const c of e.children) {
          if (c instanceof XmlElement && (step === "*" || c.name === step)) next.push(c);
        }
      }
      current = next;
    }
    return current;
  }

  /** The concatenated text of all descendant text and CDATA nodes. */
  text(): string {
    let out = "";
    for (const c of this.children) {
      if (c instanceof XmlElement) out += c.text();
      else if (c.kind === "Text") out += c.text;
    }
    return out;
  }

  /**
   * Serializes this element and its subtree. A subtree carries the namespace declarations it
   * inherits from its ancestors, so its prefixes stay bound on their own.
   */
  toString(): string {
    const parts: string[] = [];
    writeElement(this, parts, inheritedDeclarations(this));
    return parts.join("");
  }
}

/**
 * A parsed document: the root element plus document-level comments and PIs.
 *
 * @example
 * ```ts
 * import { buildDom } from "./dom.ts";
 * const doc = buildDom("<?xml version='1.0'?><a>x</a>");
 * console.log(doc.toString()); // '<?xml version="1.0"?><a>x</a>'
 * ```
 */
export class XmlDocument {
  /** Document-level nodes in order (comments, PIs and the root element). */
  children: XmlNode[] = [];
  /** The root element. */
  root: XmlElement;
  /** The XML declaration's pseudo-attributes (version, encoding, standalone), if present. */
  declaration: XmlAttribute[] | undefined;

  /**
   * Creates a document.
   *
   * @param root the root element
   */
  constructor(root: XmlElement) {
    this.root = root;
  }

  /**
   * Elements reached from the root by a `/`-separated path whose first step names the root.
   *
   * @param path such as `"rss/channel/item"`
   * @returns the first match, or undefined
   */
  find(path: string): XmlElement | undefined {
    const steps = path.split("/").filter((s) => s !== "");
    if (steps.length === 0 || (steps[0] !== "*" && steps[0] !== this.root.name)) return undefined;
    return steps.length === 1 ? this.root : this.root.find(steps.slice(1).join("/"));
  }

  /** Serializes the document (declaration, document-level nodes, root). */
  toString(): string {
    const parts: string[] = [];
    if (this.declaration) {
      parts.push("<?xml");
      for (const a of this.declaration) parts.push(` ${a.name}="${a.value}"`);
      parts.push("?>");
    }
    for (const c of this.children) writeNode(c, parts);
    return parts.join("");
  }
}

function escapeText(s: string): string {
  return /[&<>\r]/.test(s)
    ? s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/\r/g, "&#13;")
    : s;
}

function escapeAttr(s: string): string {
  return /[&<"\t\n\r]/.test(s)
    ? s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/"/g, "&quot;").replace(/\t/g, "&#9;")
      .replace(/\n/g, "&#10;").replace(/\r/g, "&#13;")
    : s;
}

function writeNode(n: XmlNode, parts: string[]): void {
  if (n instanceof XmlElement) writeElement(n, parts);
  else if (n.kind === "Text") {
    if (n.cdata) parts.push("<![CDATA[", n.text.replace(/]]>/g, "]]]]><![CDATA[>"), "]]>");
    else parts.push(escapeText(n.text));
  } else if (n.kind === "Comment") parts.push("<!--", n.text, "-->");
  else parts.push("<?", n.target, n.text ? " " + n.text : "", "?>");
}

const isDeclaration = (a: XmlAttribute): boolean =>
  a.name === "xmlns" || a.name.startsWith("xmlns:");

/** The namespace declarations in scope at `e` that come from its ancestors, nearest first. */
function inheritedDeclarations(e: XmlElement): XmlAttribute[] {
  const declared = new Set(e.attributes.filter(isDeclaration).map((a) => a.name));
  const out: XmlAttribute[] = [];
  for (let p = e.parent; p !== null; p = p.parent) {
    for (const a of p.attributes) {
      if (isDeclaration(a) && !declared.has(a.name)) {
        declared.add(a.name);
        out.push(a);
      }
    }
  }
  return out;
}

function writeElement(e: XmlElement, parts: string[], inherited: XmlAttribute[] = []): void {
  // An explicit stack keeps deep trees off the call stack.
  const stack: (XmlElement | string)[] = [e];
  while (stack.length > 0) {
    const item = stack.pop()!;
    if (typeof item === "string") {
      parts.push(item);
      continue;
    }
    parts.push("<", item.name);
    for (const a of item.attributes) parts.push(" ", a.name, '="', escapeAttr(a.value), '"');
    if (item === e) {
      for (const a of inherited) parts.push(" ", a.name, '="', escapeAttr(a.value), '"');
    }
    if (item.children.length === 0) {
      parts.push("/>");
      continue;
    }
    parts.push(">");
    stack.push(`</${item.name}>`);
    for (let i = item.children.length - 1; i >= 0; i--) {
      const c = item.children[i];
      if (c instanceof XmlElement) stack.push(c);
      else {
        const sub: string[] = [];
        writeNode(c, sub);
        stack.push(sub.join(""));
      }
    }
  }
}

/**
 * Parses a whole document into an {@linkcode XmlDocument}.
 *
 * @param input a pull parser (drained to its end), the document text, or its bytes
 * @param options parser options when `input` is text or bytes
 * @returns the document
 * @throws {XmlParseError} when the document is malformed
 * @throws {TypeError} when a parser fed in chunks was not ended (a mistake of the caller, not
 *   of the document)
 *
 * @example
 * ```ts
 * import { buildDom } from "./dom.ts";
 * const doc = buildDom("<root><item>Hello</item></root>");
 * console.log(doc.find("root/item")?.text()); // "Hello"
 * ```
 */
export function buildDom(
  input: XmlParser | string | Uint8Array,
  options?: XmlParseOptions,
): XmlDocument {
  const parser = input instanceof XmlParser ? input : new XmlParser(input, options);
  const top: XmlNode[] = [];
  let root: XmlElement | undefined;
  let current: XmlElement | null = null;
  let declaration: XmlAttribute[] | undefined;
  // The parser's cursor: no token object is made.
  while (parser.next()) {
    const kind = parser.kind;
    switch (kind) {
      case TokenKind.StartElement: {
        const e = new XmlElement(
          parser.name,
          parser.attributes(),
          parser.prefix,
          parser.localName,
          parser.namespaceUri,
        );
        e.parent = current;
        if (current) current.children.push(e);
        else {
          root = e;
          top.push(e);
        }
        current = e;
        break;
      }
      case TokenKind.EndElement:
        current = current!.parent;
        break;
      case TokenKind.Text:
      case TokenKind.CData: {
        const cdata = kind === TokenKind.CData;
        const text = parser.text;
        const last = current!.children[current!.children.length - 1];
        if (!cdata && last && last.kind === "Text" && !last.cdata) last.text += text;
        else current!.children.push({ kind: "Text", text, cdata, parent: current });
        break;
      }
      case TokenKind.Comment: {
        const n: XmlComment = { kind: "Comment", text: parser.text, parent: current };
        (current ? current.children : top).push(n);
        break;
      }
      case TokenKind.ProcessingInstruction: {
        const n: XmlProcessingInstruction = {
          kind: "ProcessingInstruction",
          target: parser.name,
          text: parser.text,
          parent: current,
        };
        (current ? current.children : top).push(n);
        break;
      }
      case TokenKind.XmlDeclaration:
        declaration = parser.attributes();
        break;
    }
  }
  if (parser.needsInput) {
    throw new TypeError("buildDom: the parser needs more input; call end() first");
  }
  const doc = new XmlDocument(root!);
  doc.children = top;
  doc.declaration = declaration;
  return doc;
}
