// fingerprintOf: who asked for exactly what → one sha256 hex string. A pending request and its
// grant are bound to it, so an approval applies only to the request it was given for (DESIGN.md,
// invariant 3): another body, query value, object, user or group set is another fingerprint.
//
// Place in the pipeline: hold, before looking up a grant or a pending request.
// Input: the caller's Identity, the parsed KubeRequest and its KubeRequestBody. Output: hex digest.
// Must never: make two requests the API server would treat differently share a fingerprint. The
// one equivalence it adds on purpose is the transport of pods/exec|attach|portforward: kubectl
// ≥1.30 sends a WebSocket GET and, when that is refused, retries the same command as a SPDY POST
// (reference/k8s-api-semantics.md §exec); both are the same action (parse reports both as
// `create`), so they must meet the same pending request and the same grant.
//
// What is bound, and why:
// - user, and the *groups* (sorted, deduplicated): groups are sent upstream as Impersonate-Group,
//   so RBAC and policy `subjects` rules judge them; the reviewer approved the request as shown
//   with those groups. A person whose groups changed is asked again (fail closed); the order an
//   identity provider lists them in does not matter.
// - the HTTP method, except for the connect subresources above. The verb alone would merge GET and
//   HEAD, and proxy subresources map methods to verbs loosely.
// - verb, apiGroup, apiVersion, resource, subresource, namespace, name: what policy matched on.
// - the path exactly as received (still percent-encoded): it is what is forwarded.
// - the query as the API server reads it (Go's URL.Query()): parameters sorted by name, each
//   parameter's values in the order sent (order matters: exec's `command` is argv).
// - the body's sha256 and, when there is a body, its media type: the same bytes as a JSON patch,
//   a merge patch or a strategic-merge patch do different things.
// The canonical form is a JSON array with a version tag, so no two field lists encode alike.
import { createHash } from 'node:crypto';
import type { Identity } from '../identity/types.js';
import { isPodConnect } from '../request/target.js';
import type { KubeRequest, KubeRequestBody } from '../request/types.js';

/** True for the requests whose transport (WebSocket GET or SPDY POST) is not part of the action. */
export function isTransportFree(request: KubeRequest): boolean {
  return isPodConnect(request);
}

function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The canonical form hashed by fingerprintOf; exported for tests and for `policy eval` output. */
export function canonicalForm(
  identity: Pick<Identity, 'user' | 'groups'>,
  request: KubeRequest,
  body: KubeRequestBody,
): string {
  const transportFree = isTransportFree(request);
  const groups = [...new Set(identity.groups)].sort(byCodeUnit);
  const query = Object.keys(request.query)
    .sort(byCodeUnit)
    .map((key) => [key, [...(request.query[key] ?? [])]]);
  return JSON.stringify([
    'kubegate-fingerprint/v1',
    identity.user,
    groups,
    transportFree ? '' : request.method,
    request.verb,
    request.apiGroup,
    request.apiVersion,
    request.resource,
    request.subresource,
    request.namespace,
    request.name,
    request.path,
    query,
    body.digest,
    body.digest === '' ? '' : request.contentType,
  ]);
}

/** sha256 (hex) of the canonical form of who asked for exactly what. */
export function fingerprintOf(
  identity: Pick<Identity, 'user' | 'groups'>,
  request: KubeRequest,
  body: KubeRequestBody,
): string {
  return createHash('sha256')
    .update(canonicalForm(identity, request, body))
    .digest('hex');
}
