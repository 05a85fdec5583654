// Stage 7, audit: how a request appears in its audit events (audit/event.ts) — the parsed
// request in summary, without bodies, tokens or certificates.
import { createHash } from 'node:crypto';
import type { KubeRequest, KubeRequestBody } from '../request/types.js';

export type AuditDecision = 'allow' | 'deny' | 'approve' | 'reject' | 'unauthenticated' | 'error';

export interface AuditRequestSummary {
  readonly method: string;
  /** The request target as received (path and query), whole up to MAX_TARGET characters. */
  readonly target: string;
  /**
   * sha256 hex of the whole target when `target` had to be cut, else absent: an exec command
   * padded past the limit is still pinned down by the record.
   */
  readonly targetDigest?: string;
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

/**
 * Targets are kept whole up to here: more than the request line Node's HTTP/1.1 parser takes
 * (16 KiB of headers), so a cut happens only for HTTP/2 header blocks beyond it.
 */
const MAX_TARGET = 64 * 1024;

/**
 * The request fields a summary copies: a KubeRequest's (the gateway), or a pending request's
 * summary (approvals/types.ts RequestSummary uses the same names), so there is one way a request
 * becomes its audit summary.
 */
export type SummarizedRequest = Pick<
  KubeRequest,
  | 'verb'
  | 'apiGroup'
  | 'apiVersion'
  | 'resource'
  | 'subresource'
  | 'namespace'
  | 'name'
  | 'labelSelector'
  | 'fieldSelector'
  | 'upgrade'
  | 'kubectlCommand'
>;

export function summarize(
  method: string,
  target: string,
  request: SummarizedRequest | null,
  body: Pick<KubeRequestBody, 'digest'> | null,
): AuditRequestSummary {
  return {
    method,
    ...auditTarget(target),
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

/** The target a parsed request came with: its path, and its query when it had one. */
export function requestTarget(request: Pick<KubeRequest, 'path' | 'rawQuery'>): string {
  return request.rawQuery === '' ? request.path : `${request.path}?${request.rawQuery}`;
}

/** The target as a record keeps it: whole, or cut with the digest of the whole. */
export function auditTarget(target: string): Pick<AuditRequestSummary, 'target' | 'targetDigest'> {
  if (target.length <= MAX_TARGET) return { target };
  return {
    target: `${target.slice(0, MAX_TARGET)}…`,
    targetDigest: createHash('sha256').update(target).digest('hex'),
  };
}
