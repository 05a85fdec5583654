// The metrics' pure part: request counts from audit records with bounded labels (closed verbs,
// at most MAX_RESOURCES resources, never a user or object name), and the approval counters.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { auditEvent } from '../audit/event.js';
import type { AuditRequestSummary } from '../audit/record.js';
import { testPending } from '../approvals/test-pending.js';
import type { ApproveDecision } from '../policy/decision.js';
import { MAX_RESOURCES, Metrics } from './metrics.js';

const request = (verb: string, resource: string): AuditRequestSummary =>
  ({ method: 'GET', target: '/x', verb, apiGroup: '', apiVersion: 'v1', resource }) as AuditRequestSummary;

test('request labels stay bounded: unknown verbs are "other", resources past the bound are "other"', async () => {
  const metrics = new Metrics();
  const t = new Date();
  for (let i = 0; i < MAX_RESOURCES + 5; i++) {
    metrics.recorded(
      auditEvent('forwarded', t, {
        request: request('get', `r${i}`),
        decision: 'allow',
        status: 200,
        user: 'alice',
      }),
    );
  }
  metrics.recorded(
    auditEvent('refused', t, { request: request('frobnicate', 'r0'), decision: 'reject', status: 400 }),
  );
  metrics.recorded(auditEvent('decided', t, { request: request('get', 'r0'), decision: 'allow' }));
  const text = await metrics.registry.metrics();
  assert.match(text, /kubegate_requests_total\{verb="get",resource="other",decision="allow",code="200"\} 5/u);
  assert.match(text, /kubegate_requests_total\{verb="other",resource="r0",decision="reject",code="400"\} 1/u);
  assert.doesNotMatch(text, /alice/u);
  const total = (await metrics.requests.get()).values.reduce((n, v) => n + v.value, 0);
  assert.equal(total, MAX_RESOURCES + 6, "'decided' is not an answer: not counted");
});

test('pending requests and approvals asked count the rules that need approval, not every rule that matched', async () => {
  const decision: ApproveDecision = {
    kind: 'approve',
    rules: [
      { name: 'exec-is-allowed', action: 'allow' },
      { name: 'sensitive-exec', action: 'approve' },
    ],
    byDefault: false,
    approval: [
      {
        rule: 'sensitive-exec',
        stages: [{ name: 'approval', approvers: [{ kind: 'group', name: 'security' }], count: 1 }],
        escalateAfterMs: null,
        escalateTo: [],
        expiresAfterMs: 3_600_000,
        mode: 'hold',
        grantTtlMs: 600_000,
        breakGlass: false,
      },
    ],
  };
  const p = testPending('kg-aaaaaaaaaa', {
    method: 'POST',
    target: '/api/v1/namespaces/data/pods/vault/exec?command=sh',
    decision,
  });
  const metrics = new Metrics({ pendingNow: () => Promise.resolve([p]) });
  metrics.approval({ type: 'created', pending: p });
  const text = await metrics.registry.metrics();
  assert.match(text, /^kubegate_pending_requests\{rule="sensitive-exec"\} 1$/mu);
  assert.match(text, /^kubegate_approvals_requested_total\{rule="sensitive-exec"\} 1$/mu);
  assert.doesNotMatch(text, /exec-is-allowed/u);
});
