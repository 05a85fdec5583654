// Go's net/url query and escape rules: url.ParseQuery, url.QueryUnescape, url.PathUnescape.
//
// Place in the pipeline: parse reads every query string through parseGoQuery, because the API
// server reads req.URL.Query() and a policy must see the same parameters it does.
// Input: a raw query string (no leading '?') or one raw path segment / query component.
// Output: Go's url.Values as a null-prototype record; unescaped strings (null where Go errors).
// Must never: use WHATWG URLSearchParams or decodeURIComponent semantics where Go differs
// (`;` pairs are dropped whole, `+` is a space only in queries, a bad escape drops only its pair).

/** Go's url.Values: every key with all of its values, in order. */
export type GoQuery = Record<string, string[]>;

/** An ASCII hex digit (a percent escape's), by character code. */
export function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}

/** The value of a hex digit isHex accepted. */
export function hexValue(c: number): number {
  if (c <= 0x39) return c - 0x30;
  if (c <= 0x46) return c - 0x41 + 10;
  return c - 0x61 + 10;
}

const lossyUtf8 = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

/**
 * Bytes of `s` with its escapes decoded, as UTF-8 text. Go keeps invalid UTF-8 as raw bytes; a
 * JS string cannot, so invalid sequences become U+FFFD here. canonical.ts refuses such targets,
 * so parse never relies on this lossy path.
 */
function decodeLossy(s: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x25) {
      bytes.push(hexValue(s.charCodeAt(i + 1)) * 16 + hexValue(s.charCodeAt(i + 2)));
      i += 2;
    } else if (c < 0x80) {
      bytes.push(c);
    } else {
      const cp = s.codePointAt(i) ?? c;
      if (cp > 0xffff) i++;
      for (const b of Buffer.from(String.fromCodePoint(cp), 'utf8')) bytes.push(b);
    }
  }
  return lossyUtf8.decode(Uint8Array.from(bytes));
}

function unescape(s: string, plusIsSpace: boolean): string | null {
  let hasEscape = false;
  let hasPlus = false;
  for (let i = 0; i < s.length;) {
    const c = s.charCodeAt(i);
    if (c === 0x25) {
      if (i + 2 >= s.length || !isHex(s.charCodeAt(i + 1)) || !isHex(s.charCodeAt(i + 2))) return null;
      hasEscape = true;
      i += 3;
    } else {
      if (c === 0x2b) hasPlus = true;
      i++;
    }
  }
  // '+' → ' ' before decoding, so that an escaped "%2B" still decodes to '+'.
  const text = plusIsSpace && hasPlus ? s.replaceAll('+', ' ') : s;
  if (!hasEscape) return text;
  try {
    return decodeURIComponent(text);
  } catch {
    return decodeLossy(text);
  }
}

/** url.QueryUnescape: `%XX` decoded, `+` is a space; null where Go returns an EscapeError. */
export function queryUnescape(s: string): string | null {
  return unescape(s, true);
}

/** url.PathUnescape: `%XX` decoded, `+` stays; null where Go returns an EscapeError. */
export function pathUnescape(s: string): string | null {
  return unescape(s, false);
}

/**
 * url.ParseQuery, ignoring its error exactly as URL.Query() does: pairs are split on '&'; a pair
 * containing ';' is dropped whole; an empty pair is skipped; a key without '=' has the value '';
 * a pair whose key or value has a bad escape is dropped; '+' is a space. Keys appear in order of
 * first appearance (JS objects enumerate integer-like keys first; Go's map has no order at all).
 */
export function parseGoQuery(rawQuery: string): GoQuery {
  const values: GoQuery = Object.create(null) as GoQuery;
  let start = 0;
  while (start <= rawQuery.length && rawQuery.length > 0) {
    let end = rawQuery.indexOf('&', start);
    if (end === -1) end = rawQuery.length;
    if (end > start) addPair(values, rawQuery.slice(start, end));
    start = end + 1;
  }
  return values;
}

function addPair(values: GoQuery, pair: string): void {
  if (pair.indexOf(';') !== -1) return;
  const eq = pair.indexOf('=');
  const key = queryUnescape(eq === -1 ? pair : pair.slice(0, eq));
  if (key === null) return;
  const value = eq === -1 ? '' : queryUnescape(pair.slice(eq + 1));
  if (value === null) return;
  const existing = values[key];
  if (existing === undefined) values[key] = [value];
  else existing.push(value);
}

/** The first value of a query parameter (Go's Values.Get), or undefined when absent. */
export function firstValue(
  query: Readonly<Record<string, readonly string[]>>,
  key: string,
): string | undefined {
  return query[key]?.[0];
}
