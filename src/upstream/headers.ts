// The one place that decides which headers cross kubegate, in both directions.
// Upstream: the caller's headers minus hop-by-hop headers and every credential or identity claim
// (Authorization, Proxy-Authorization, Cookie, Impersonate-*, X-Remote-*), plus kubegate's own
// impersonation of the authenticated caller. A client's Impersonate-* header would otherwise be
// evaluated with kubegate's privileges (k8s-api-semantics §2), so they are dropped, never merged.
// Downstream: the API server's headers minus hop-by-hop ones (HTTP/2 forbids them).
import type { Identity } from '../identity/types.js';

/** Connection-scoped headers (RFC 9110 §7.6.1) and HTTP/2 pseudo-headers never cross the proxy. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'host',
  'http2-settings',
  'content-length', // recomputed from the body actually sent
  'expect',
]);

/** Credentials and identity claims of the caller: kubegate states the identity itself. */
const CREDENTIALS = new Set(['authorization', 'proxy-authorization', 'cookie']);

function droppedUpstream(lowerName: string): boolean {
  return (
    HOP_BY_HOP.has(lowerName) ||
    CREDENTIALS.has(lowerName) ||
    lowerName.startsWith('impersonate-') ||
    lowerName.startsWith('x-remote-') ||
    lowerName.charCodeAt(0) === 58 // ':' HTTP/2 pseudo-header
  );
}

/** The Impersonate-Extra key for kubegate's request id; the API server path-unescapes the key. */
export const REQUEST_ID_EXTRA_HEADER = 'impersonate-extra-kubegate.dev%2frequest-id';

export type HeaderList = string[]; // flat [name, value, name, value, …], lower-case names

/**
 * Headers for the upstream request, as a flat list so that repeated lines (Impersonate-Group,
 * X-Stream-Protocol-Version) stay separate lines. `rawHeaders` is Node's flat list as received.
 */
export function upstreamHeaders(
  rawHeaders: readonly string[],
  identity: Identity,
  requestId: string,
  authorization: string | null,
  keep?: ReadonlySet<string>,
): HeaderList {
  const out: HeaderList = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!.toLowerCase();
    if (droppedUpstream(name) && !keep?.has(name)) continue;
    out.push(name, rawHeaders[i + 1]!);
  }
  out.push('impersonate-user', identity.user);
  for (const group of identity.groups) out.push('impersonate-group', group);
  out.push(REQUEST_ID_EXTRA_HEADER, requestId);
  if (authorization !== null) out.push('authorization', authorization);
  return out;
}

/** The API server's response headers for the client, without hop-by-hop headers. */
export function downstreamHeaders(
  headers: Readonly<Record<string, string | string[] | undefined>>,
): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || (HOP_BY_HOP.has(name) && name !== 'content-length')) continue;
    out[name] = value;
  }
  return out;
}
