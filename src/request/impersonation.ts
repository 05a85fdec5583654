// Before parse (first check of stage 2): refuses a request that asks to act as someone else.
//
// Input: the request head (method, target, headers) as Node received it. Output: nothing, or
// KG_REQUEST_IMPERSONATION.
// kubectl --as / --as-group / --as-uid (and a kubeconfig user's `as:`, `as-groups:`, `as-uid:`,
// `as-user-extra:`) send Impersonate-User, -Group, -Uid and -Extra-<key> (k8s-api-semantics §2).
// kubegate always sends a request upstream as the person who authenticated to it, so it cannot
// honour them; upstream/headers.ts strips them (a client's Impersonate-* would be evaluated with
// kubegate's privileges). Stripping alone would let a user who meant to act as someone else act as
// themselves without knowing, so the request is refused, with a message kubectl prints, before
// anything is decided or forwarded.
//
// One exception, so that kubectl can print that message at all: the API discovery documents
// (GET /api, /api/<version>, /apis, /apis/<group>, /apis/<group>/<version>). client-go reads them
// with Result.Raw(), which drops a Status body: a refused discovery shows only "the server
// rejected our request for an unknown reason", whatever the Status says, every time kubectl's
// discovery cache is cold (first use, every 6 hours, an unknown resource name). Discovery is the
// same for every user (the API server's system:discovery role), so it loses nothing to run as the
// caller: it goes on (headers.ts drops the client's Impersonate-*), and the command's own request,
// read with a Status-decoding call, is refused with the message.
// Must never: pass a request that is not a discovery GET carrying any Impersonate-* header, in
// any letter case.
import { KubegateError } from '../errors.js';

type Headers = Readonly<Record<string, string | readonly string[] | undefined>>;

/** What this check reads of the request head (parse.ts's RequestHead). */
export interface ImpersonationHead {
  readonly method: string;
  readonly target: string;
  readonly headers: Headers;
}

const PREFIX = 'impersonate-';

/**
 * The discovery documents, literally: at most a version (core) or a group and version after the
 * root, lower-case names, any query (kubectl adds ?timeout=32s). canonical.ts still checks the
 * target afterwards like any other.
 */
const DISCOVERY = /^\/(?:api(?:\/[a-z0-9]+)?|apis(?:\/[a-z0-9][a-z0-9.-]*(?:\/[a-z0-9]+)?)?)(?:\?[^#]*)?$/u;

/** The Impersonate-* header names in `headers` (as sent, in order); empty when there are none. */
export function impersonationHeaders(headers: Headers): string[] {
  const found: string[] = [];
  for (const name of Object.keys(headers)) {
    if (name.length >= PREFIX.length && name.slice(0, PREFIX.length).toLowerCase() === PREFIX) {
      if (headers[name] !== undefined) found.push(name);
    }
  }
  return found;
}

/** A GET of an API discovery document, which runs as the caller whatever it asks (see above). */
export function isDiscovery(method: string, target: string): boolean {
  return method === 'GET' && DISCOVERY.test(target);
}

/** "impersonate-extra-scopes" → "Impersonate-Extra-scopes": how kubectl users know the header. */
function displayName(name: string): string {
  const parts = name.split('-');
  return parts.map((p, i) => (i < 2 ? p.charAt(0).toUpperCase() + p.slice(1).toLowerCase() : p)).join('-');
}

/** The order kubectl's flags come in: --as, --as-group, --as-uid, then extras. */
const ORDER = ['Impersonate-User', 'Impersonate-Group', 'Impersonate-Uid'];
const rank = (name: string): number => (ORDER.includes(name) ? ORDER.indexOf(name) : ORDER.length);

/** Throws KG_REQUEST_IMPERSONATION when the request asks to act as another identity. */
export function refuseImpersonation(head: ImpersonationHead): void {
  const found = impersonationHeaders(head.headers);
  if (found.length === 0 || isDiscovery(head.method, head.target)) return;
  const names = [...new Set(found.map(displayName))].sort((a, b) => rank(a) - rank(b)).join(', ');
  throw new KubegateError(
    'KG_REQUEST_IMPERSONATION',
    `kubegate refused this request because it asks to act as another user (${names}, sent by ` +
      'kubectl --as, --as-group, --as-uid or a kubeconfig user with "as"). kubegate always acts as ' +
      'the user who authenticated to it, so impersonation is not supported through kubegate and ' +
      'nothing was sent to the cluster. Run the command again without --as, --as-group and ' +
      '--as-uid (and remove "as", "as-groups", "as-uid" and "as-user-extra" from the kubeconfig ' +
      "user); to act as someone else, use that user's own kubegate kubeconfig.",
  );
}
