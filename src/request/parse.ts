// parse: HTTP request head → KubeRequest, exactly as the API server will understand it.
//
// Place in the pipeline: stage 2 (identify → parse → enrich → decide → hold → forward → audit).
// Input: the request line and headers as Node received them (IncomingMessage.method, .url,
// .headers). Output: a KubeRequest; refusals are KubegateErrors (KG_REQUEST_NONCANONICAL,
// KG_REQUEST_METHOD).
// Must never: read a URL through WHATWG `new URL()` (it resolves dot-segments, treats '#' as a
// fragment and "//api" as a host), repair or re-encode a target, or guess: the path and query
// kept here are the exact bytes forwarded, and whatever canonical.ts cannot vouch for is refused.
//
// URL shapes accepted (after canonical.ts; see request-info.ts for the mapping):
//   resource:     /api/{version}/{resource}[/{name}[/{subresource}[/…]]]
//                 /api/{version}/namespaces/{namespace}[/status|/finalize]
//                 /api/{version}/namespaces/{namespace}/{resource}[/{name}[/{subresource}[/…]]]
//                 /apis/{group}/{version}/… the same shapes
//                 /api|/apis/…/{version}/watch|proxy/… (deprecated verb-in-path forms)
//   non-resource: anything else: /, /api, /apis, /api/v1, /apis/{group}[/{version}], /version,
//                 /openapi/v2, /openapi/v3[/…], /healthz, /livez, /readyz, /metrics, /logs/, …
//
// kubegate's one normalisation: GET or POST on pods/{exec,attach,portforward} is verb `create`.
// kubectl ≥1.30 sends exec/attach (≥1.31 port-forward) as a WebSocket GET, which the API server
// records as `get`, and falls back to a SPDY POST (`create`): one action, one verb, one policy.

import { checkMethod, checkQuery, checkRequestInfo, checkTarget } from './canonical.js';
import { parseGoQuery } from './go-query.js';
import { refuseImpersonation } from './impersonation.js';
import { resolveRequestInfo, type RequestInfo } from './request-info.js';
import { isPodConnect } from './target.js';
import type { HttpMethod, KubeRequest, Upgrade } from './types.js';

/** The request line and headers, as node's IncomingMessage exposes them (lower-case header names). */
export interface RequestHead {
  readonly method: string;
  readonly target: string;
  readonly headers: Readonly<Record<string, string | readonly string[] | undefined>>;
}

function header(head: RequestHead, name: string): string {
  const value = head.headers[name];
  if (value === undefined) return '';
  return typeof value === 'string' ? value : value.join(', ');
}

/** Media type without parameters, lower-cased: "Application/JSON; charset=utf-8" → "application/json". */
function mediaType(value: string): string {
  const semicolon = value.indexOf(';');
  return (semicolon === -1 ? value : value.slice(0, semicolon)).trim().toLowerCase();
}

function upgradeOf(value: string): Upgrade {
  if (value === '') return null;
  const lower = value.toLowerCase();
  if (lower.includes('websocket')) return 'websocket';
  if (lower.trimStart().startsWith('spdy/')) return 'spdy';
  return null;
}

/** exec, attach and port-forward are `create` over either transport (see the header). */
function connectVerb(info: RequestInfo, method: HttpMethod): string {
  const { isResourceRequest, resource, subresource } = info;
  return isPodConnect({ isResourceRequest, resource, subresource, method }) ? 'create' : info.verb;
}

/** Maps one request head to a KubeRequest, or throws the refusal kubectl should see. */
export function parseRequest(head: RequestHead): KubeRequest {
  refuseImpersonation(head);
  const method = checkMethod(head.method);
  const target = checkTarget(head.target);
  const query = parseGoQuery(target.rawQuery);
  checkQuery(target.rawQuery, query);
  const info = resolveRequestInfo(method, target.segments, query);
  checkRequestInfo(method, info, query, target);

  const verb = connectVerb(info, method);

  return {
    method,
    path: target.path,
    rawQuery: target.rawQuery,
    isResourceRequest: info.isResourceRequest,
    verb,
    apiPrefix: info.apiPrefix,
    apiGroup: info.apiGroup,
    apiVersion: info.apiVersion,
    namespace: info.namespace,
    resource: info.resource,
    subresource: info.subresource,
    name: info.name,
    parts: info.parts,
    query,
    labelSelector: query['labelSelector']?.[0] ?? '',
    fieldSelector: query['fieldSelector']?.[0] ?? '',
    contentType: mediaType(header(head, 'content-type')),
    upgrade: upgradeOf(header(head, 'upgrade')),
    kubectlCommand: header(head, 'kubectl-command'),
    kubectlSession: header(head, 'kubectl-session'),
  };
}
