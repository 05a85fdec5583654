// Before parse (first check of stage 2): refuses a request that asks to act as someone else.
//
// Input: the request's headers as Node received them. Output: nothing, or KG_REQUEST_IMPERSONATION.
// kubectl --as / --as-group / --as-uid (and a kubeconfig user's `as:`, `as-groups:`, `as-uid:`,
// `as-user-extra:`) send Impersonate-User, -Group, -Uid and -Extra-<key> (k8s-api-semantics §2).
// kubegate always sends a request upstream as the person who authenticated to it, so it cannot
// honour them; upstream/headers.ts strips them (a client's Impersonate-* would be evaluated with
// kubegate's privileges). Stripping alone would let a user who meant to act as someone else act as
// themselves without knowing, so the request is refused, with a message kubectl prints, before
// anything is decided or forwarded.
// Must never: pass a request carrying any Impersonate-* header, in any letter case.
import { KubegateError } from '../errors.js';

type Headers = Readonly<Record<string, string | readonly string[] | undefined>>;

const PREFIX = 'impersonate-';

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

/** "impersonate-extra-scopes" → "Impersonate-Extra-scopes": how kubectl users know the header. */
function displayName(name: string): string {
  const parts = name.split('-');
  return parts.map((p, i) => (i < 2 ? p.charAt(0).toUpperCase() + p.slice(1).toLowerCase() : p)).join('-');
}

/** Throws KG_REQUEST_IMPERSONATION when the request asks to act as another identity. */
export function refuseImpersonation(headers: Headers): void {
  const found = impersonationHeaders(headers);
  if (found.length === 0) return;
  const names = [...new Set(found.map(displayName))].join(', ');
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
