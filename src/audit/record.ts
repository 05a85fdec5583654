// Stage 7, audit: how a request appears in its audit events (audit/event.ts) — the parsed
// request in summary, without bodies, tokens or certificates.
import type { KubeRequest, KubeRequestBody } from '../request/types.js';

export type AuditDecision = 'allow' | 'deny' | 'approve' | 'reject' | 'unauthenticated' | 'error';

export interface AuditRequestSummary {
  readonly method: string;
  /** The request target as received (path and query), truncated when very long. */
  readonly target: string;
  readonly verb: string | null;
  readonly apiGroup: string | null;
  readonly apiVersion: string | null;
  readonly resource: string | null;
  readonly subresource: string | null;
  readonly namespace: string | null;
  readonly name: string | null;
  readonly labelSelector: string | null;
  readonly fieldSelector: string | null;
  readonly upgrade: string | null;
  readonly bodyDigest: string | null;
  readonly kubectlCommand: string | null;
}

const MAX_TARGET = 2048;

export function summarize(
  method: string,
  target: string,
  request: KubeRequest | null,
  body: KubeRequestBody | null,
): AuditRequestSummary {
  return {
    method,
    target: target.length > MAX_TARGET ? `${target.slice(0, MAX_TARGET)}…` : target,
    verb: request?.verb ?? null,
    apiGroup: request?.apiGroup ?? null,
    apiVersion: request?.apiVersion ?? null,
    resource: request?.resource ?? null,
    subresource: request?.subresource ?? null,
    namespace: request?.namespace ?? null,
    name: request?.name ?? null,
    labelSelector: request?.labelSelector ?? null,
    fieldSelector: request?.fieldSelector ?? null,
    upgrade: request?.upgrade ?? null,
    bodyDigest: body && body.digest !== '' ? body.digest : null,
    kubectlCommand: request && request.kubectlCommand !== '' ? request.kubectlCommand : null,
  };
}
