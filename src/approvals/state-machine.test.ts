import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ApprovalRequirement, ApprovalStage, ApproveDecision, Approver } from '../policy/decision.js';
import { withBody } from '../request/body.js';
import { parseRequest } from '../request/parse.js';
import {
  DEFAULT_GRANT_TTL_MS,
  applyReview,
  createPending,
  eligibility,
  escalate,
  expire,
  grantUsable,
  nextDeadline,
  progressOf,
  denialSticks,
  DENIAL_STICKS_MS,
  requesterBack,
  requesterLeft,
  useGrant,
  withdraw,
  type Person,
} from './state-machine.js';
import type { PendingRequest, PendingState, ReviewRefusal } from './types.js';

const T0 = new Date('2026-11-25T10:00:00.000Z');
const at = (ms: number): Date => new Date(T0.getTime() + ms);
const MIN = 60_000;

const people = {
  alice: { user: 'alice', groups: ['dev', 'sre'] }, // the requester, also in sre
  bob: { user: 'bob', groups: ['sre'] },
  carol: { user: 'carol', groups: ['sre'] },
  dave: { user: 'dave', groups: ['security'] },
  erin: { user: 'erin', groups: ['sre', 'security'] },
  frank: { user: 'frank', groups: ['managers'] },
  mallory: { user: 'mallory', groups: ['dev'] },
  olga: { user: 'olga', groups: [] },
} satisfies Record<string, Person>;
type Who = keyof typeof people;

const group = (name: string): Approver => ({ kind: 'group', name });
const user = (name: string): Approver => ({ kind: 'user', name });
const stage = (approvers: readonly Approver[], count = 1, name = 'approval'): ApprovalStage => ({
  name,
  approvers,
  count,
});

function requirement(fields: Partial<ApprovalRequirement> = {}): ApprovalRequirement {
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

function pendingFor(requirements: readonly ApprovalRequirement[], now = T0): PendingRequest {
  const request = parseRequest({
    method: 'DELETE',
    target: '/apis/apps/v1/namespaces/prod/statefulsets/db',
    headers: { 'kubectl-command': 'kubectl delete' },
  });
  const decision: ApproveDecision = {
    kind: 'approve',
    rules: [{ name: 'r', action: 'approve' }],
    byDefault: false,
    approval: requirements,
  };
  return createPending(
    {
      identity: { ...people.alice, method: 'token' },
      request,
      body: withBody(request, Buffer.alloc(0)),
      decision,
    },
    'f'.repeat(64),
    'kg-aaaaaaaaaa',
    now,
  );
}

type Step =
  | {
      readonly who: Who;
      readonly decision?: 'approve' | 'deny';
      readonly breakGlassReason?: string;
      readonly comment?: string;
      readonly at?: number;
      readonly want: ReviewRefusal | null;
    }
  | { readonly escalateAt: number };

interface Row {
  readonly name: string;
  readonly requirements: readonly ApprovalRequirement[];
  readonly steps: readonly Step[];
  readonly state: PendingState;
  readonly stageIndex?: readonly number[];
}

const twoStages = requirement({
  stages: [stage([group('sre')], 1, 'sre'), stage([group('managers')], 1, 'managers')],
});

const rows: readonly Row[] = [
  {
    name: 'a member of the approver group approves the request',
    requirements: [requirement()],
    steps: [{ who: 'bob', want: null }],
    state: 'approved',
    stageIndex: [1],
  },
  {
    name: 'the requester cannot approve their own request, even as a member of the approver group',
    requirements: [requirement()],
    steps: [{ who: 'alice', want: 'own-request' }],
    state: 'pending',
    stageIndex: [0],
  },
  {
    name: 'the requester cannot deny their own request either',
    requirements: [requirement()],
    steps: [{ who: 'alice', decision: 'deny', want: 'own-request' }],
    state: 'pending',
  },
  {
    name: 'someone outside the approvers cannot approve',
    requirements: [requirement()],
    steps: [{ who: 'mallory', want: 'not-an-approver' }],
    state: 'pending',
  },
  {
    name: 'someone without any group cannot approve',
    requirements: [requirement()],
    steps: [{ who: 'olga', want: 'not-an-approver' }],
    state: 'pending',
  },
  {
    name: 'a user named as an approver approves',
    requirements: [requirement({ stages: [stage([user('olga')])] })],
    steps: [
      { who: 'bob', want: 'not-an-approver' },
      { who: 'olga', want: null },
    ],
    state: 'approved',
  },
  {
    name: 'a user approver is matched by user name, not by a group of that name',
    requirements: [requirement({ stages: [stage([user('sre')])] })],
    steps: [{ who: 'bob', want: 'not-an-approver' }],
    state: 'pending',
  },
  {
    name: 'count 2 needs two distinct people; the first cannot approve twice',
    requirements: [requirement({ stages: [stage([group('sre')], 2)] })],
    steps: [
      { who: 'bob', want: null },
      { who: 'bob', want: 'already-reviewed' },
      { who: 'carol', want: null },
    ],
    state: 'approved',
  },
  {
    name: 'an approver who approved may still deny while the request is pending, and that denies it',
    requirements: [requirement({ stages: [stage([group('sre')], 2)] })],
    steps: [
      { who: 'bob', want: null },
      { who: 'bob', decision: 'deny', comment: 'on second thought, no', want: null },
      { who: 'carol', want: 'not-pending' },
    ],
    state: 'denied',
  },
  {
    name: 'a deny is final for its reviewer: they cannot deny again or approve after it',
    requirements: [requirement({ stages: [stage([group('sre')], 2)] })],
    steps: [
      { who: 'bob', decision: 'deny', comment: 'no', want: null },
      { who: 'bob', want: 'not-pending' },
    ],
    state: 'denied',
  },
  {
    name: 'one approval of two leaves the request pending',
    requirements: [requirement({ stages: [stage([group('sre')], 2)] })],
    steps: [{ who: 'bob', want: null }],
    state: 'pending',
    stageIndex: [0],
  },
  {
    name: 'a person who denied cannot come back and approve',
    requirements: [requirement({ stages: [stage([group('sre')], 2)] })],
    steps: [
      { who: 'bob', decision: 'deny', want: null },
      { who: 'bob', want: 'not-pending' },
    ],
    state: 'denied',
  },
  {
    name: 'one eligible deny denies the request even after an approval',
    requirements: [requirement({ stages: [stage([group('sre')], 2)] })],
    steps: [
      { who: 'bob', want: null },
      { who: 'carol', decision: 'deny', comment: 'not during the freeze', want: null },
    ],
    state: 'denied',
  },
  {
    name: 'a deny by someone outside the approvers changes nothing',
    requirements: [requirement()],
    steps: [{ who: 'mallory', decision: 'deny', want: 'not-an-approver' }],
    state: 'pending',
  },
  {
    name: 'stages run in order: a stage-2 approver cannot approve before stage 1 is complete',
    requirements: [twoStages],
    steps: [
      { who: 'frank', want: 'not-an-approver' },
      { who: 'bob', want: null },
      { who: 'frank', want: null },
    ],
    state: 'approved',
    stageIndex: [2],
  },
  {
    name: 'a stage-2 approver cannot deny before stage 1 is complete',
    requirements: [twoStages],
    steps: [{ who: 'frank', decision: 'deny', want: 'not-an-approver' }],
    state: 'pending',
  },
  {
    name: 'after stage 1, the request waits in stage 2',
    requirements: [twoStages],
    steps: [{ who: 'bob', want: null }],
    state: 'pending',
    stageIndex: [1],
  },
  {
    name: 'after stage 1, its approvers are no longer asked (stage 2 wants someone else)',
    requirements: [twoStages],
    steps: [
      { who: 'bob', want: null },
      { who: 'carol', want: 'not-an-approver' },
    ],
    state: 'pending',
    stageIndex: [1],
  },
  {
    name: 'a person in both stages counts in the first only; the second needs another person',
    requirements: [
      requirement({ stages: [stage([group('sre')], 1, 'one'), stage([group('security')], 1, 'two')] }),
    ],
    steps: [
      { who: 'erin', want: null },
      { who: 'erin', want: 'already-reviewed' },
      { who: 'dave', want: null },
    ],
    state: 'approved',
  },
  {
    name: 'one approval counts for the current stage of every requirement that lists the approver',
    requirements: [
      requirement({ rule: 'a' }),
      requirement({ rule: 'b', stages: [stage([group('security')])] }),
    ],
    steps: [{ who: 'erin', want: null }],
    state: 'approved',
    stageIndex: [1, 1],
  },
  {
    name: 'every requirement must be met: an sre approval alone leaves the security rule waiting',
    requirements: [
      requirement({ rule: 'a' }),
      requirement({ rule: 'b', stages: [stage([group('security')])] }),
    ],
    steps: [
      { who: 'bob', want: null },
      { who: 'carol', want: 'not-an-approver' },
      { who: 'dave', want: null },
    ],
    state: 'approved',
  },
  {
    name: 'an escalateTo approver cannot act before the escalation',
    requirements: [requirement({ escalateAfterMs: 5 * MIN, escalateTo: [group('managers')] })],
    steps: [{ who: 'frank', at: 4 * MIN, want: 'not-an-approver' }],
    state: 'pending',
  },
  {
    name: 'after the escalation, escalateTo approvers qualify too',
    requirements: [requirement({ escalateAfterMs: 5 * MIN, escalateTo: [group('managers')] })],
    steps: [{ escalateAt: 5 * MIN }, { who: 'frank', at: 6 * MIN, want: null }],
    state: 'approved',
  },
  {
    name: 'once its time has come, escalation applies even before the timer marks it',
    requirements: [requirement({ escalateAfterMs: 5 * MIN, escalateTo: [user('frank')] })],
    steps: [{ who: 'frank', at: 5 * MIN, want: null }],
    state: 'approved',
  },
  {
    name: 'after the escalation, the original approvers still qualify',
    requirements: [requirement({ escalateAfterMs: 5 * MIN, escalateTo: [group('managers')] })],
    steps: [{ escalateAt: 5 * MIN }, { who: 'bob', at: 6 * MIN, want: null }],
    state: 'approved',
  },
  {
    name: 'escalation never lets the requester approve',
    requirements: [requirement({ escalateAfterMs: 5 * MIN, escalateTo: [user('alice')] })],
    steps: [{ escalateAt: 5 * MIN }, { who: 'alice', at: 6 * MIN, want: 'own-request' }],
    state: 'pending',
  },
  {
    name: 'break-glass is refused when the rule does not allow it',
    requirements: [requirement()],
    steps: [{ who: 'alice', breakGlassReason: 'prod is down', want: 'break-glass-not-allowed' }],
    state: 'pending',
  },
  {
    name: 'break-glass needs a written reason',
    requirements: [requirement({ breakGlass: true })],
    steps: [{ who: 'alice', breakGlassReason: '   ', want: 'break-glass-needs-reason' }],
    state: 'pending',
  },
  {
    name: 'break-glass with a reason approves every stage at once',
    requirements: [requirement({ breakGlass: true, stages: twoStages.stages })],
    steps: [{ who: 'alice', breakGlassReason: 'INC-1234: prod is down', want: null }],
    state: 'approved',
    stageIndex: [2],
  },
  {
    name: 'break-glass is only for the requester',
    requirements: [requirement({ breakGlass: true })],
    steps: [{ who: 'bob', breakGlassReason: 'prod is down', want: 'break-glass-not-allowed' }],
    state: 'pending',
  },
  {
    name: 'break-glass is refused when another matching rule does not allow it',
    requirements: [requirement({ rule: 'a', breakGlass: true }), requirement({ rule: 'b' })],
    steps: [{ who: 'alice', breakGlassReason: 'prod is down', want: 'break-glass-not-allowed' }],
    state: 'pending',
  },
  {
    name: 'break-glass approves when every matching rule allows it',
    requirements: [
      requirement({ rule: 'a', breakGlass: true }),
      requirement({ rule: 'b', breakGlass: true, stages: [stage([group('security')], 2)] }),
    ],
    steps: [{ who: 'alice', breakGlassReason: 'prod is down', want: null }],
    state: 'approved',
    stageIndex: [1, 1],
  },
  {
    name: 'break-glass cannot deny',
    requirements: [requirement({ breakGlass: true })],
    steps: [{ who: 'alice', decision: 'deny', breakGlassReason: 'oops', want: 'break-glass-not-allowed' }],
    state: 'pending',
  },
  {
    name: 'without the break-glass reason the requester is refused even where break-glass is allowed',
    requirements: [requirement({ breakGlass: true })],
    steps: [{ who: 'alice', want: 'own-request' }],
    state: 'pending',
  },
  {
    name: 'an approved request takes no more reviews',
    requirements: [requirement()],
    steps: [
      { who: 'bob', want: null },
      { who: 'carol', decision: 'deny', want: 'not-pending' },
    ],
    state: 'approved',
  },
  {
    name: 'a denied request takes no more reviews',
    requirements: [requirement({ stages: [stage([group('sre')], 2)] })],
    steps: [
      { who: 'bob', decision: 'deny', want: null },
      { who: 'carol', want: 'not-pending' },
      { who: 'erin', want: 'not-pending' },
    ],
    state: 'denied',
  },
  {
    name: 'a request past its expiry takes no reviews, even before the timer expires it',
    requirements: [requirement({ expiresAfterMs: 10 * MIN })],
    steps: [
      { who: 'bob', at: 10 * MIN, want: 'not-pending' },
      { who: 'alice', at: 10 * MIN, breakGlassReason: 'x', want: 'not-pending' },
    ],
    state: 'pending',
  },
  {
    name: 'a request just before its expiry can still be approved',
    requirements: [requirement({ expiresAfterMs: 10 * MIN })],
    steps: [{ who: 'bob', at: 10 * MIN - 1, want: null }],
    state: 'approved',
  },
  {
    name: 'a request with no requirement at all can be approved by nobody',
    requirements: [],
    steps: [
      { who: 'bob', want: 'not-an-approver' },
      { who: 'alice', breakGlassReason: 'x', want: 'break-glass-not-allowed' },
    ],
    state: 'pending',
  },
  {
    name: 'a stage that asks for zero people still takes one',
    requirements: [requirement({ stages: [stage([group('sre')], 0)] })],
    steps: [{ who: 'bob', want: null }],
    state: 'approved',
  },
];

for (const row of rows) {
  test(row.name, () => {
    let pending = pendingFor(row.requirements);
    for (const step of row.steps) {
      if ('escalateAt' in step) {
        pending = escalate(pending, at(step.escalateAt));
        assert.equal(pending.escalated, true);
        continue;
      }
      const now = at(step.at ?? 1000);
      const options = step.breakGlassReason === undefined ? {} : { breakGlassReason: step.breakGlassReason };
      const result = applyReview(
        pending,
        {
          reviewer: people[step.who],
          decision: step.decision ?? 'approve',
          comment: step.comment ?? '',
          ...options,
        },
        now,
      );
      if (step.want === null) {
        assert.ok(result.ok, `${step.who}: ${result.ok ? '' : result.refusal}`);
        pending = result.pending;
      } else {
        assert.deepEqual(result, { ok: false, refusal: step.want }, step.who);
        // A refusal from applyReview is exactly what eligibility reports (break-glass deny aside).
        if (step.decision !== 'deny' || step.breakGlassReason === undefined) {
          assert.equal(eligibility(pending, people[step.who], now, options), step.want);
        }
      }
    }
    assert.equal(pending.state, row.state);
    if (row.stageIndex) assert.deepEqual(pending.stageIndex, row.stageIndex);
  });
}

test('a review records who, their groups, the decision, the comment and the time', () => {
  const result = applyReview(
    pendingFor([requirement()]),
    { reviewer: people.bob, decision: 'deny', comment: '  not now  ' },
    at(MIN),
  );
  assert.ok(result.ok);
  assert.deepEqual(result.review, {
    reviewer: 'bob',
    reviewerGroups: ['sre'],
    decision: 'deny',
    comment: 'not now',
    at: at(MIN).toISOString(),
    breakGlass: false,
  });
  assert.deepEqual(result.pending.reviews, [result.review]);
  assert.equal(result.pending.decidedAt, at(MIN).toISOString());
  assert.equal(result.pending.grantExpiresAt, null);
});

test('a break-glass review is flagged and keeps its reason as the comment', () => {
  const result = applyReview(
    pendingFor([requirement({ breakGlass: true })]),
    { reviewer: people.alice, decision: 'approve', comment: 'will write it up', breakGlassReason: 'INC-7' },
    at(MIN),
  );
  assert.ok(result.ok);
  assert.equal(result.review.breakGlass, true);
  assert.equal(result.review.comment, 'INC-7\nwill write it up');
  assert.equal(result.pending.state, 'approved');
});

test('an approval escalateTo gave for one rule does not count later for a rule that escalated since', () => {
  // bob (sre) approves rule a before the escalation; rule b escalates to sre afterwards. bob's
  // earlier approval must not start counting for rule b when the request escalates.
  const requirements = [
    requirement({ rule: 'a', stages: [stage([group('sre')])] }),
    requirement({
      rule: 'b',
      stages: [stage([group('security')])],
      escalateAfterMs: 5 * MIN,
      escalateTo: [group('sre')],
    }),
  ];
  let pending = pendingFor(requirements);
  const first = applyReview(pending, { reviewer: people.bob, decision: 'approve', comment: '' }, at(MIN));
  assert.ok(first.ok);
  pending = escalate(first.pending, at(5 * MIN));
  assert.equal(pending.state, 'pending');
  assert.deepEqual(progressOf(pending, at(6 * MIN))[1]?.approvedBy, []);
  const second = applyReview(
    pending,
    { reviewer: people.carol, decision: 'approve', comment: '' },
    at(6 * MIN),
  );
  assert.ok(second.ok);
  assert.equal(second.pending.state, 'approved');
});

test('a new pending request binds the request, the requester and the decision', () => {
  const p = pendingFor([requirement()]);
  assert.equal(p.id, 'kg-aaaaaaaaaa');
  assert.equal(p.state, 'pending');
  assert.deepEqual(p.requester, { user: 'alice', groups: ['dev', 'sre'] });
  assert.equal(p.request.verb, 'delete');
  assert.equal(p.request.resource, 'statefulsets');
  assert.equal(p.request.kubectlCommand, 'kubectl delete');
  assert.equal(p.request.kubectlEquivalent, 'kubectl delete statefulset db -n prod');
  assert.deepEqual(p.rules, [{ name: 'r', action: 'approve' }]);
  assert.deepEqual(p.stageIndex, [0]);
  assert.equal(p.createdAt, T0.toISOString());
  assert.equal(p.expiresAt, null);
  assert.equal(p.escalateAt, null);
  assert.equal(p.mode, 'hold');
  assert.equal(nextDeadline(p), null);
});

test('deadlines come from the strictest requirement; deferred wins over hold', () => {
  const p = pendingFor([
    requirement({ escalateAfterMs: 30 * MIN, expiresAfterMs: 60 * MIN }),
    requirement({ escalateAfterMs: 10 * MIN, expiresAfterMs: null, mode: 'deferred' }),
    requirement({ escalateAfterMs: null, expiresAfterMs: 45 * MIN }),
  ]);
  assert.equal(p.escalateAt, at(10 * MIN).toISOString());
  assert.equal(p.expiresAt, at(45 * MIN).toISOString());
  assert.equal(p.mode, 'deferred');
  assert.deepEqual(nextDeadline(p), at(10 * MIN));
  assert.deepEqual(nextDeadline(escalate(p, at(10 * MIN))), at(45 * MIN));
});

test('escalate waits for its time, happens once, and never touches a decided request', () => {
  const p = pendingFor([requirement({ escalateAfterMs: 5 * MIN, escalateTo: [group('managers')] })]);
  assert.equal(escalate(p, at(5 * MIN - 1)), p);
  const escalated = escalate(p, at(5 * MIN));
  assert.equal(escalated.escalated, true);
  assert.equal(escalate(escalated, at(6 * MIN)), escalated);
  const approved = applyReview(p, { reviewer: people.bob, decision: 'approve', comment: '' }, at(MIN));
  assert.ok(approved.ok);
  assert.equal(escalate(approved.pending, at(6 * MIN)), approved.pending);
  assert.equal(escalate(pendingFor([requirement()]), at(999 * MIN)).escalated, false);
});

test('expire waits for its time and never touches a decided request', () => {
  const p = pendingFor([requirement({ expiresAfterMs: 5 * MIN })]);
  assert.equal(expire(p, at(5 * MIN - 1)), p);
  const expired = expire(p, at(5 * MIN));
  assert.equal(expired.state, 'expired');
  assert.equal(expired.decidedAt, at(5 * MIN).toISOString());
  assert.equal(nextDeadline(expired), null);
  const denied = applyReview(p, { reviewer: people.bob, decision: 'deny', comment: '' }, at(MIN));
  assert.ok(denied.ok);
  assert.equal(expire(denied.pending, at(6 * MIN)), denied.pending);
  assert.equal(expire(pendingFor([requirement()]), at(9999 * MIN)).state, 'pending');
});

test('the grant lasts the default ten minutes and is used once', () => {
  const approved = applyReview(
    pendingFor([requirement()]),
    { reviewer: people.bob, decision: 'approve', comment: '' },
    at(MIN),
  );
  assert.ok(approved.ok);
  const p = approved.pending;
  assert.equal(p.grantExpiresAt, at(MIN + DEFAULT_GRANT_TTL_MS).toISOString());
  assert.equal(grantUsable(p, at(2 * MIN)), true);
  const used = useGrant(p, at(2 * MIN));
  assert.ok(used);
  assert.equal(used.grantUsed, true);
  assert.equal(useGrant(used, at(2 * MIN)), null);
  assert.equal(useGrant(p, at(MIN + DEFAULT_GRANT_TTL_MS)), null);
});

test('the grant lasts the longest grantTtl any requirement asks for', () => {
  const approved = applyReview(
    pendingFor([requirement({ grantTtlMs: MIN }), requirement({ grantTtlMs: 30 * MIN }), requirement()]),
    { reviewer: people.bob, decision: 'approve', comment: '' },
    T0,
  );
  assert.ok(approved.ok);
  assert.equal(approved.pending.grantExpiresAt, at(30 * MIN).toISOString());
});

test('there is no grant to use on a pending, denied or expired request', () => {
  const p = pendingFor([requirement({ expiresAfterMs: MIN })]);
  assert.equal(useGrant(p, T0), null);
  assert.equal(useGrant(expire(p, at(MIN)), at(MIN)), null);
  const denied = applyReview(p, { reviewer: people.bob, decision: 'deny', comment: '' }, T0);
  assert.ok(denied.ok);
  assert.equal(useGrant(denied.pending, T0), null);
});

test('withdraw: only the requester, only while pending', () => {
  const p = pendingFor([requirement()]);
  assert.deepEqual(withdraw(p, people.bob, at(1)), { ok: false, refusal: 'not-requester' });
  const w = withdraw(p, people.alice, at(1));
  assert.ok(w.ok);
  assert.equal(w.pending.state, 'withdrawn');
  assert.equal(w.pending.decidedAt, at(1).toISOString());
  assert.deepEqual(withdraw(w.pending, people.alice, at(2)), { ok: false, refusal: 'not-pending' });
  const expired = expire(pendingFor([requirement({ expiresAfterMs: MIN })]), at(MIN));
  assert.deepEqual(withdraw(expired, people.alice, at(MIN)), { ok: false, refusal: 'not-pending' });
});

test('the requester leaving turns a held request deferred; coming back holds it again, never a rule-deferred one', () => {
  const held = pendingFor([requirement()]);
  const left = requesterLeft(held, at(5));
  assert.equal(left.mode, 'deferred');
  assert.equal(left.requesterLeftAt, at(5).toISOString());
  assert.equal(requesterLeft(left, at(6)), left, 'leaving twice keeps the first time');
  const back = requesterBack(left);
  assert.equal(back.mode, 'hold');
  assert.equal(back.requesterLeftAt, null);
  const ruleDeferred = pendingFor([requirement({ mode: 'deferred' })]);
  assert.equal(requesterLeft(ruleDeferred, at(5)), ruleDeferred);
  assert.equal(requesterBack(ruleDeferred), ruleDeferred);
  const decided = applyReview(left, { reviewer: people.bob, decision: 'approve', comment: '' }, at(7));
  assert.ok(decided.ok);
  assert.equal(requesterBack(decided.pending), decided.pending, 'a decided request stays as it is');
  assert.equal(requesterLeft({ ...held, state: 'approved' }, at(8)).mode, 'hold');
});

test('a denial sticks for DENIAL_STICKS_MS after the decision, then not', () => {
  const p = pendingFor([requirement()]);
  const denied = applyReview(p, { reviewer: people.bob, decision: 'deny', comment: 'no' }, at(10));
  assert.ok(denied.ok);
  assert.equal(denialSticks(denied.pending, at(10 + DENIAL_STICKS_MS - 1)), true);
  assert.equal(denialSticks(denied.pending, at(10 + DENIAL_STICKS_MS)), false);
  assert.equal(denialSticks(p, at(10)), false, 'only a denied request');
});

test('a default expiry applies only when no requirement sets expiresAfter', () => {
  const request = parseRequest({ method: 'DELETE', target: '/api/v1/namespaces/a/pods/b', headers: {} });
  const input = (requirements: readonly ApprovalRequirement[]) => ({
    identity: { ...people.alice, method: 'token' as const },
    request,
    body: withBody(request, Buffer.alloc(0)),
    decision: { kind: 'approve' as const, rules: [], byDefault: true, approval: requirements },
  });
  const none = createPending(input([requirement()]), 'f', 'kg-b', T0, 60 * MIN);
  assert.equal(none.expiresAt, at(60 * MIN).toISOString());
  const own = createPending(input([requirement({ expiresAfterMs: 5 * MIN })]), 'f', 'kg-c', T0, 60 * MIN);
  assert.equal(own.expiresAt, at(5 * MIN).toISOString());
  assert.equal(createPending(input([requirement()]), 'f', 'kg-d', T0).expiresAt, null);
});

test('progress names the current stage, who approved it so far, what it still needs and what follows', () => {
  let p = pendingFor([
    requirement({
      stages: [stage([group('sre')], 2, 'sre'), stage([user('frank')], 1, 'manager')],
      escalateAfterMs: 5 * MIN,
      escalateTo: [group('security')],
    }),
  ]);
  const r = applyReview(p, { reviewer: people.bob, decision: 'approve', comment: '' }, at(MIN));
  assert.ok(r.ok);
  p = r.pending;
  const [before] = progressOf(p, at(MIN));
  assert.ok(before);
  assert.equal(before.done, false);
  assert.equal(before.stage?.name, 'sre');
  assert.deepEqual(before.approvers, [group('sre')]);
  assert.deepEqual(before.approvedBy, ['bob']);
  assert.equal(before.needed, 1);
  assert.deepEqual(
    before.later.map((s) => s.name),
    ['manager'],
  );
  const [after] = progressOf(p, at(5 * MIN));
  assert.deepEqual(after?.approvers, [group('sre'), group('security')]);
});
