// The one place that decides which headers cross kubegate, in both directions.
// Upstream: the caller's headers minus hop-by-hop headers (the fixed list and every header the
// client's Connection names), every credential or identity claim (Authorization,
// Proxy-Authorization, Cookie, Impersonate-*, X-Remote-*) and every forwarding claim
// (X-Forwarded-*, X-Real-Ip, Forwarded), plus kubegate's own statements: the impersonation of the
// authenticated caller, X-Forwarded-For with the address kubegate's socket saw, and on upgrades
// exactly `Connection: Upgrade` with the client's Upgrade. A client's Impersonate-* header would
// otherwise be evaluated with kubegate's privileges (k8s-api-semantics §2): parse refuses them
// (request/impersonation.ts) and they are dropped here too, never merged. The API server records
// X-Forwarded-For and X-Real-Ip as the request's sourceIPs in its audit log (apimachinery
// utilnet.SourceIPs), so a client's own would be believed there.
// Downstream: the API server's headers minus hop-by-hop ones (HTTP/2 forbids them).
import { KubegateError } from '../errors.js';
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

/** Claims about where the request came from: kubegate states the client's address itself. */
const FORWARDING = new Set(['forwarded', 'x-real-ip']);

/**
 * End-to-end headers kubegate's decision read (parse takes the body's media type from
 * Content-Type). A client's Connection cannot remove them: the API server would then read the body
 * differently from the request that was decided, so such a request is refused instead.
 */
const DECIDED_ON = new Set(['content-type']);

function droppedUpstream(lowerName: string): boolean {
  return (
    HOP_BY_HOP.has(lowerName) ||
    CREDENTIALS.has(lowerName) ||
    FORWARDING.has(lowerName) ||
    lowerName.startsWith('impersonate-') ||
    lowerName.startsWith('x-remote-') ||
    lowerName.startsWith('x-forwarded-') ||
    lowerName.charCodeAt(0) === 58 // ':' HTTP/2 pseudo-header
  );
}

/**
 * The header names the client's Connection lines list as hop-by-hop (RFC 9110 §7.6.1: a proxy
 * removes them and the Connection header itself), lower-cased.
 */
export function connectionOptions(rawHeaders: readonly string[]): Set<string> {
  const named = new Set<string>();
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if (rawHeaders[i]!.toLowerCase() !== 'connection') continue;
    for (const token of rawHeaders[i + 1]!.split(',')) {
      const name = token.trim().toLowerCase();
      if (name !== '') named.add(name);
    }
  }
  return named;
}

/** The Impersonate-Extra key for kubegate's request id; the API server path-unescapes the key. */
export const REQUEST_ID_EXTRA_HEADER = 'impersonate-extra-kubegate.dev%2frequest-id';

export type HeaderList = string[]; // flat [name, value, name, value, …], lower-case names

export interface UpstreamHeaderOptions {
  /**
   * An upgrade (exec, attach, port-forward): kubegate sends `Connection: Upgrade` and the
   * client's Upgrade lines, and nothing else of the client's Connection.
   */
  readonly upgrade?: boolean;
  /**
   * The client's address as kubegate's socket saw it, sent as X-Forwarded-For so that the API
   * server's audit log shows the real client; null or absent when unknown (then none is sent).
   */
  readonly sourceAddress?: string | null;
}

/**
 * Headers for the upstream request, as a flat list so that repeated lines (Impersonate-Group,
 * X-Stream-Protocol-Version) stay separate lines. `rawHeaders` is Node's flat list as received.
 * Throws KG_REQUEST_NONCANONICAL when the client's Connection names a header the decision read.
 */
export function upstreamHeaders(
  rawHeaders: readonly string[],
  identity: Identity,
  requestId: string,
  authorization: string | null,
  options: UpstreamHeaderOptions = {},
): HeaderList {
  const named = connectionOptions(rawHeaders);
  for (const name of named) {
    if (DECIDED_ON.has(name)) {
      throw new KubegateError(
        'KG_REQUEST_NONCANONICAL',
        `kubegate refused the request: its Connection header names ${name}, which kubegate read the request by; forwarded without it, the API server would read the request differently. Send the request without that Connection option (kubectl never sends one).`,
      );
    }
  }
  const out: HeaderList = [];
  if (options.upgrade === true) out.push('connection', 'Upgrade');
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!.toLowerCase();
    if (options.upgrade === true && name === 'upgrade') {
      out.push(name, rawHeaders[i + 1]!);
      continue;
    }
    if (droppedUpstream(name) || named.has(name)) continue;
    out.push(name, rawHeaders[i + 1]!);
  }
  if (options.sourceAddress) out.push('x-forwarded-for', options.sourceAddress);
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
