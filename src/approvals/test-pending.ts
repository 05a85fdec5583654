// Pending requests for the tests of what stores and observes them (the stores, the store copy,
// the metrics): alice's DELETE of a pod in prod, held by rule "r" for one person of group sre,
// as createPending makes it, and reviewed by bob. Test support only: no production code imports it.
import assert from 'node:assert/strict';
import type { ApproveDecision } from '../policy/decision.js';
import { withBody } from '../request/body.js';
import { parseRequest } from '../request/parse.js';
import { applyReview, createPending } from './state-machine.js';
import type { PendingRequest } from './types.js';

export const T0 = new Date('2026-11-25T10:00:00.000Z');
/** `ms` after T0. */
export const at = (ms: number): Date => new Date(T0.getTime() + ms);

export const TEST_DECISION: ApproveDecision = {
  kind: 'approve',
  rules: [{ name: 'r', action: 'approve' }],
  byDefault: false,
  approval: [
    {
      rule: 'r',
      stages: [{ name: 'approval', approvers: [{ kind: 'group', name: 'sre' }], count: 1 }],
      escalateAfterMs: null,
      escalateTo: [],
      expiresAfterMs: 3_600_000,
      mode: 'hold',
      grantTtlMs: 600_000,
      breakGlass: false,
    },
  ],
};

export interface TestPendingOptions {
  readonly fingerprint?: string;
  readonly now?: Date;
  /** The request's target; default the pod named after the id. */
  readonly target?: string;
  readonly method?: string;
  readonly decision?: ApproveDecision;
}

export function testPending(id: string, o: TestPendingOptions = {}): PendingRequest {
  const request = parseRequest({
    method: o.method ?? 'DELETE',
    target: o.target ?? `/api/v1/namespaces/prod/pods/${id}`,
    headers: {},
  });
  return createPending(
    {
      identity: { user: 'alice', groups: ['dev'], method: 'token' },
      request,
      body: withBody(request, Buffer.alloc(0)),
      decision: o.decision ?? TEST_DECISION,
    },
    o.fingerprint ?? 'fp-a',
    id,
    o.now ?? T0,
  );
}

/** The request after bob's review (he is in group sre, so an approval decides it). */
export function testReviewed(p: PendingRequest, verdict: 'approve' | 'deny', now: Date): PendingRequest {
  const r = applyReview(
    p,
    { reviewer: { user: 'bob', groups: ['sre'] }, decision: verdict, comment: '' },
    now,
  );
  assert.ok(r.ok);
  return r.pending;
}
