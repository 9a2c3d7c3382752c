/**
 * Small XML documents shared by the XML parser tests: well-formed ones, and malformed ones with
 * the code of their error.
 *
 * @module
 */

/** Well-formed documents (with namespaces on). */
export const WELL_FORMED: string[] = [
  "<a/>",
  "<?xml version='1.0'?><a/>",
  '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<a/>\n',
  "<!-- c --><?pi data?><a>t<b x='1' y=\"2\"/>&lt;&#65;&#x42;<![CDATA[<&]]></a><!--x-->",
  "<a xmlns='urn:d' xmlns:p='urn:p'><p:b p:c='1' c='2'/></a>",
  "<a xml:lang='en'/>",
  "<a xmlns:xml='http://www.w3.org/XML/1998/namespace'/>",
  "<é:ü xmlns:é='urn:x'>\u{10000}</é:ü>",
  "<a b = 'c' ></a >",
  "<a>]]</a>",
  "<a xmlns=''/>",
];

/** Malformed documents and the code of their error (namespaces on, no DOCTYPE allowed). */
export const MALFORMED: [string, string][] = [
  ["", "UnexpectedEnd"],
  ["<a>", "UnexpectedEnd"],
  ["<a></b>", "MismatchedTag"],
  ["<a/><b/>", "InvalidSyntax"],
  ["text<a/>", "InvalidSyntax"],
  ["<a/>text", "InvalidSyntax"],
  ["<1a/>", "InvalidName"],
  ["<a b='1' b='2'/>", "DuplicateAttribute"],
  ["<a xmlns:p='u' xmlns:q='u' p:x='1' q:x='2'/>", "DuplicateAttribute"],
  ["<a b=1/>", "InvalidSyntax"],
  ["<a b='<'/>", "InvalidSyntax"],
  ["<a b='1'c='2'/>", "InvalidSyntax"],
  ["<a>&unknown;</a>", "UndefinedEntity"],
  ["<a>& </a>", "InvalidReference"],
  ["<a>&#0;</a>", "InvalidReference"],
  ["<a>&#xD800;</a>", "InvalidReference"],
  ["<a>\u0001</a>", "InvalidCharacter"],
  ["<a>\uFFFF</a>", "InvalidCharacter"],
  ["<a>]]></a>", "InvalidSyntax"],
  ["<a><!-- a -- b --></a>", "InvalidSyntax"],
  ["<a><!-- a ---></a>", "InvalidSyntax"],
  ["<![CDATA[x]]><a/>", "InvalidSyntax"],
  [" <?xml version='1.0'?><a/>", "InvalidSyntax"],
  ["<?xml version='2.0'?><a/>", "InvalidSyntax"],
  ["<?xml encoding='UTF-8'?><a/>", "InvalidSyntax"],
  ["<?xml version='1.0' standalone='maybe'?><a/>", "InvalidSyntax"],
  ["<a><?xml version='1.0'?></a>", "InvalidSyntax"],
  ["<a><?XmL x?></a>", "InvalidSyntax"],
  ["<p:a/>", "Namespace"],
  ["<a p:b='1'/>", "Namespace"],
  ["<a xmlns:p=''/>", "Namespace"],
  ["<a xmlns:xmlns='urn:x'/>", "Namespace"],
  ["<a xmlns:xml='urn:x'/>", "Namespace"],
  ["<a xmlns:p='http://www.w3.org/XML/1998/namespace'/>", "Namespace"],
  ["<a xmlns='http://www.w3.org/2000/xmlns/'/>", "Namespace"],
  ["<a:b:c xmlns:a='u'/>", "Namespace"],
  ["<a xmlns:='u'/>", "Namespace"],
  ["<a><?p:q x?></a>", "Namespace"],
  ["<!DOCTYPE a><a/>", "DoctypeNotAllowed"],
  ["<a></a", "UnexpectedEnd"],
  ["<a b='1", "UnexpectedEnd"],
];
