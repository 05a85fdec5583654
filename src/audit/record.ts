// Stage 7, audit: the record of one request — who asked for what, what was decided, and what the
// API server answered. Built from plain data; sinks decide where it goes. Never holds bodies,
// tokens or certificates.
import type { Identity } from '../identity/types.js';
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

export interface AuditRecord {
  readonly time: string;
  readonly requestId: string;
  /** 'forwarded': the API server answered (with any status); 'refused': kubegate answered. */
  readonly outcome: 'forwarded' | 'refused';
  readonly user: string | null;
  readonly groups: readonly string[];
  readonly authMethod: string | null;
  readonly sourceAddress: string | null;
  readonly request: AuditRequestSummary;
  readonly decision: AuditDecision;
  readonly rules: readonly string[];
  readonly status: number;
  readonly errorCode: string | null;
  /** Milliseconds from receiving the request to the response head. */
  readonly latencyMs: number;
  /** Milliseconds from receiving the request to the end of the response (or session). */
  readonly durationMs: number;
}

export interface AuditSink {
  write(record: AuditRecord): void;
  close(): Promise<void>;
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

export function identityFields(
  identity: Identity | null,
): Pick<AuditRecord, 'user' | 'groups' | 'authMethod'> {
  return {
    user: identity?.user ?? null,
    groups: identity?.groups ?? [],
    authMethod: identity?.method ?? null,
  };
}
