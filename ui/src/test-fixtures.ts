// Plain records for the UI's unit tests: a pending request as the API sends it, with fields
// overridable. Only tests import this file.
import type { ApprovalRequirement, ApprovalStage, Approver, PendingRequest, Review } from './api-types.js';

export const T0 = '2026-11-25T10:00:00.000Z';
export const MIN = 60_000;
export const at = (ms: number): string => new Date(Date.parse(T0) + ms).toISOString();

export const group = (name: string): Approver => ({ kind: 'group', name });
export const user = (name: string): Approver => ({ kind: 'user', name });
export const stage = (approvers: readonly Approver[], count = 1, name = 'approval'): ApprovalStage => ({
  name,
  approvers,
  count,
});

export function requirement(fields: Partial<ApprovalRequirement> = {}): ApprovalRequirement {
  return {
    rule: 'r',
    stages: [stage([group('sre')])],
    escalateAfterMs: null,
    escalateTo: [],
    expiresAfterMs: null,
    mode: 'hold',
    grantTtlMs: null,
    breakGlass: false,
    ...fields,
  };
}

export function review(reviewer: string, groups: readonly string[], fields: Partial<Review> = {}): Review {
  return {
    reviewer,
    reviewerGroups: groups,
    decision: 'approve',
    comment: '',
    at: at(MIN),
    breakGlass: false,
    ...fields,
  };
}

export function pending(fields: Partial<PendingRequest> = {}): PendingRequest {
  return {
    id: 'kg-aaaaaaaaaa',
    fingerprint: 'f'.repeat(64),
    state: 'pending',
    requester: { user: 'alice', groups: ['dev'] },
    request: {
      method: 'DELETE',
      path: '/apis/apps/v1/namespaces/prod/statefulsets/db',
      rawQuery: '',
      verb: 'delete',
      apiGroup: 'apps',
      apiVersion: 'v1',
      resource: 'statefulsets',
      subresource: '',
      namespace: 'prod',
      name: 'db',
      labelSelector: '',
      fieldSelector: '',
      bodyDigest: '',
      kubectlCommand: 'delete',
      kubectlEquivalent: 'kubectl delete statefulsets.apps db -n prod',
    },
    rules: [{ name: 'statefulsets-need-two', action: 'approve', message: 'two SREs' }],
    requirements: [requirement({ rule: 'statefulsets-need-two', stages: [stage([group('sre')], 2)] })],
    stageIndex: [0],
    reviews: [],
    mode: 'hold',
    requesterLeftAt: null,
    createdAt: T0,
    expiresAt: null,
    escalateAt: null,
    escalated: false,
    decidedAt: null,
    context: null,
    grantExpiresAt: null,
    grantUsed: false,
    ...fields,
  };
}
