// The object a request acts on, as the API server's handlers find it — which is not always the
// name and namespace RequestInfo reports. Read by the decide stage (live-object lookups and the
// `names` condition) and by the reviewer context, so that both look at the object the API
// server will touch.
//
// Input: a KubeRequest. Output: the object's reference, or why it cannot be named.
// Must never guess: a name the API server would read differently is reported as unknown, so that
// a deny or approve rule fails closed on it.
//
// Two differences with RequestInfo:
//   - Proxy: pods/proxy, services/proxy and nodes/proxy (and the legacy /proxy/ verb) name their
//     target "[scheme:]name[:port]"; the handlers split it with SplitSchemeNamePort
//     (k8s.io/apimachinery/pkg/util/net/port_split.go): `https:control-1:10250` is node
//     control-1. More than three parts, an empty name, or a scheme other than http/https is a
//     400 from the API server, so kubegate cannot name an object there.
//   - Namespaces: RequestInfo copies a namespace's name into its namespace field
//     (/api/v1/namespaces/prod is namespace "prod", name "prod"), but the object is
//     cluster-scoped: it is read at /api/v1/namespaces/prod, not under a namespace.
import type { KubeRequest } from './types.js';

/** One object, as a lookup path names it. */
export interface ObjectRef {
  /** 'api' (core group) or 'apis'. */
  readonly apiPrefix: string;
  readonly apiGroup: string;
  readonly apiVersion: string;
  readonly resource: string;
  /** '' for a cluster-scoped resource. */
  readonly namespace: string;
  readonly name: string;
}

/** A pod's streaming (connect) subresources: exec, attach and port-forward. */
export const CONNECT_SUBRESOURCES: ReadonlySet<string> = new Set(['exec', 'attach', 'portforward']);

/**
 * exec, attach or port-forward of a pod over GET or POST: one action whatever the transport
 * (kubectl ≥ 1.30 sends a WebSocket GET, then falls back to a SPDY POST).
 */
export function isPodConnect(
  request: Pick<KubeRequest, 'isResourceRequest' | 'resource' | 'subresource' | 'method'>,
): boolean {
  return (
    request.isResourceRequest &&
    request.resource === 'pods' &&
    CONNECT_SUBRESOURCES.has(request.subresource) &&
    (request.method === 'GET' || request.method === 'POST')
  );
}

/** The core resources whose proxy handler splits "[scheme:]name[:port]". */
const SPLIT_PROXY_RESOURCES = new Set(['pods', 'services', 'nodes']);
const PROXY_SCHEMES = new Set(['', 'http', 'https']);

/** Whether the request goes through a proxy handler (subresource, or the legacy /proxy/ verb). */
export function isProxy(request: Pick<KubeRequest, 'verb' | 'subresource'>): boolean {
  return request.subresource === 'proxy' || request.verb === 'proxy';
}

/** SplitSchemeNamePort's name part, or null when the API server refuses the id. */
export function splitSchemeNamePort(id: string): string | null {
  const parts = id.split(':');
  let scheme = '';
  let name: string;
  switch (parts.length) {
    case 1:
    case 2:
      name = parts[0] as string;
      break;
    case 3:
      scheme = parts[0] as string;
      name = parts[1] as string;
      break;
    default:
      return null;
  }
  return name !== '' && PROXY_SCHEMES.has(scheme) ? name : null;
}

/**
 * The name of the object the request acts on: RequestInfo's name, split for the proxies above;
 * null when the API server would refuse the proxy id (no object can be named).
 */
export function targetName(
  request: Pick<KubeRequest, 'verb' | 'subresource' | 'resource' | 'apiGroup' | 'name'>,
): string | null {
  if (request.name === '' || !isProxy(request)) return request.name;
  if (request.apiGroup !== '' || !SPLIT_PROXY_RESOURCES.has(request.resource)) return request.name;
  return splitSchemeNamePort(request.name);
}

/** The core `namespaces` resource: RequestInfo fills its namespace, the object has none. */
export function isNamespaceObject(request: Pick<KubeRequest, 'resource' | 'apiGroup'>): boolean {
  return request.resource === 'namespaces' && request.apiGroup === '';
}

/** Where the object the request names can be read; null when no object can be named. */
export function targetRef(request: KubeRequest): ObjectRef | null {
  const name = targetName(request);
  if (name === null || name === '' || !request.isResourceRequest) return null;
  return {
    apiPrefix: request.apiPrefix,
    apiGroup: request.apiGroup,
    apiVersion: request.apiVersion,
    resource: request.resource,
    namespace: isNamespaceObject(request) ? '' : request.namespace,
    name,
  };
}
