// The webhook sink's headersFile: extra headers for every POST, read from a file at start, so the
// collector's token can come from a mounted Kubernetes Secret instead of the config. Input: the
// file's path and the inline `headers`. Output: the headers to send. The format is the one curl's
// `-H @file` reads and a Secret holds as one key: a `Name: value` line per header; blank lines and
// lines starting with '#' are skipped. Must refuse (KG_CONFIG_INVALID, naming the file, never
// quoting a value) a file that cannot be read, a line that is no header, or a header named both in
// the file and inline: which one wins would be a guess.
import { readFileSync } from 'node:fs';
import { KubegateError } from '../../errors.js';

/** An HTTP header name (RFC 9110 token). */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/u;

export function readHeadersFile(
  path: string,
  inline: Readonly<Record<string, string>> = {},
): Record<string, string> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    const why = cause instanceof Error && 'code' in cause ? String(cause.code) : 'unreadable';
    throw new KubegateError('KG_CONFIG_INVALID', `audit.sinks: headersFile ${path} cannot be read (${why})`, {
      cause,
    });
  }
  const headers: Record<string, string> = { ...inline };
  const named = new Set(Object.keys(inline).map((name) => name.toLowerCase()));
  const lines = text.split(/\r?\n/u);
  for (const [index, raw] of lines.entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon).trim() : '';
    if (!HEADER_NAME.test(name)) {
      throw new KubegateError(
        'KG_CONFIG_INVALID',
        `audit.sinks: headersFile ${path} line ${index + 1} is not a 'Name: value' header`,
      );
    }
    if (named.has(name.toLowerCase())) {
      throw new KubegateError(
        'KG_CONFIG_INVALID',
        `audit.sinks: headersFile ${path} line ${index + 1} names ${name} again (inline headers or an earlier line)`,
      );
    }
    named.add(name.toLowerCase());
    headers[name] = line.slice(colon + 1).trim();
  }
  return headers;
}
