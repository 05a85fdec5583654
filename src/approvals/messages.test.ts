import assert from 'node:assert/strict';
import { test } from 'node:test';
import { toStatus } from '../errors.js';
import type { ApprovalRequirement, ApproveDecision } from '../policy/decision.js';
import { withBody } from '../request/body.js';
import { parseRequest } from '../request/parse.js';
import {
  approvalRequiredMessage,
  approvedWarning,
  deniedMessage,
  expiredMessage,
  holdRefusal,
  holdTimedOutMessage,
  printable,
  refusalMessage,
  requestUrl,
  warningHeaderValue,
} from './messages.js';
import { applyReview, createPending, expire, useGrant } from './state-machine.js';
import type { PendingRequest } from './types.js';

const T0 = new Date('2026-11-25T10:00:00.000Z');
const at = (ms: number): Date => new Date(T0.getTime() + ms);
const ID = 'kg-7x2k9q4m1a';
const NO_URL = { publicUrl: null };
const URL = { publicUrl: 'https://kubegate.example.com/' };

function requirement(fields: Partial<ApprovalRequirement> = {}): ApprovalRequirement {
  return {
    rule: 'statefulsets-need-two',
    message: 'StatefulSets need two SREs',
    stages: [{ name: 'approval', approvers: [{ kind: 'group', name: 'sre' }], count: 2 }],
    escalateAfterMs: null,
    escalateTo: [],
    expiresAfterMs: 3_600_000,
    mode: 'deferred',
    grantTtlMs: null,
    breakGlass: false,
    ...fields,
  };
}

function pendingFor(requirements: readonly ApprovalRequirement[]): PendingRequest {
  const request = parseRequest({
    method: 'PATCH',
    target: '/apis/apps/v1/namespaces/prod/statefulsets/db',
    headers: { 'content-type': 'application/merge-patch+json' },
  });
  const decision: ApproveDecision = { kind: 'approve', rules: [], byDefault: false, approval: requirements };
  return createPending(
    {
      identity: { user: 'alice', groups: ['dev'], method: 'token' },
      request,
      body: withBody(request, Buffer.from('{"spec":{"replicas":0}}')),
      decision,
    },
    'f'.repeat(64),
    ID,
    T0,
  );
}

function reviewed(
  p: PendingRequest,
  user: string,
  decision: 'approve' | 'deny',
  comment = '',
): PendingRequest {
  const r = applyReview(p, { reviewer: { user, groups: ['sre'] }, decision, comment }, at(1000));
  assert.ok(r.ok, r.ok ? '' : r.refusal);
  return r.pending;
}

test('deferred: names the request, who must approve, the approve command, and to run it again', () => {
  assert.equal(
    approvalRequiredMessage(pendingFor([requirement()]), T0, NO_URL),
    [
      `this request needs approval and was not sent. It is pending as ${ID}.`,
      'Who must approve: 2 of group sre (rule "statefulsets-need-two": StatefulSets need two SREs).',
      `A reviewer runs \`kubegate requests approve ${ID}\`;`,
      'then run the same command again: once approved, it goes through once.',
    ].join('\n'),
  );
});

test('deferred with a public URL: the reviewer UI link is given too', () => {
  const message = approvalRequiredMessage(pendingFor([requirement()]), T0, URL);
  assert.match(
    message,
    /A reviewer runs `kubegate requests approve kg-7x2k9q4m1a` or opens https:\/\/kubegate\.example\.com\/ui\/requests\/kg-7x2k9q4m1a;/,
  );
});

test('the grant window is stated when a rule sets grantTTL', () => {
  assert.match(
    approvalRequiredMessage(pendingFor([requirement({ grantTtlMs: 15 * 60_000 })]), T0, NO_URL),
    /once approved, it goes through once within 15m of the approval\.$/,
  );
});

test('who must approve: what is left of the current stage, later stages, every rule, the default policy', () => {
  const p = reviewed(
    pendingFor([
      requirement({
        stages: [
          { name: 'sre', approvers: [{ kind: 'group', name: 'sre' }], count: 2 },
          {
            name: 'owners',
            approvers: [
              { kind: 'user', name: 'carol' },
              { kind: 'group', name: 'db-owners' },
            ],
            count: 1,
          },
        ],
      }),
      requirement({
        rule: null,
        message: undefined,
        stages: [{ name: 'approval', approvers: [{ kind: 'group', name: 'security' }], count: 1 }],
      }),
    ]),
    'bob',
    'approve',
  );
  assert.equal(
    approvalRequiredMessage(p, at(2000), NO_URL).split('\n')[1],
    'Who must approve: 1 more of group sre (approved so far by bob), then 1 of user carol or group db-owners (rule "statefulsets-need-two": StatefulSets need two SREs); and 1 of group security (the default policy).',
  );
});

test('after escalation, the escalateTo approvers are named', () => {
  const p = pendingFor([
    requirement({ escalateAfterMs: 60_000, escalateTo: [{ kind: 'group', name: 'managers' }] }),
  ]);
  assert.match(
    approvalRequiredMessage(p, at(60_000), NO_URL),
    /Who must approve: 2 of group sre or group managers /,
  );
});

test('hold timed out: says it is still pending after the wait, and how to get it approved', () => {
  assert.equal(
    holdTimedOutMessage(pendingFor([requirement({ mode: 'hold' })]), T0, { ...NO_URL, waitedMs: 300_000 }),
    [
      `this request needs approval and was not sent: ${ID} is still pending after waiting 5m.`,
      'Who must approve: 2 of group sre (rule "statefulsets-need-two": StatefulSets need two SREs).',
      `A reviewer runs \`kubegate requests approve ${ID}\`;`,
      'then run the same command again: once approved, it goes through once.',
    ].join('\n'),
  );
});

test('denied: names the reviewer and their comment', () => {
  const p = reviewed(pendingFor([requirement()]), 'bob', 'deny', 'not during the freeze');
  assert.equal(
    deniedMessage(p),
    [
      `this request was not sent: ${ID} was denied by bob: "not during the freeze".`,
      'Running the same command again within 1m gets this answer again; after that it asks for a new approval.',
    ].join('\n'),
  );
});

test('denied without a comment says so', () => {
  assert.match(
    deniedMessage(reviewed(pendingFor([requirement()]), 'bob', 'deny')),
    /denied by bob \(no comment\)\./,
  );
});

test('a comment cannot redraw the terminal: control and bidi characters are escaped', () => {
  const p = reviewed(pendingFor([requirement()]), 'bob', 'deny', 'ok\u001b[2J\u202eevil\nline');
  const message = deniedMessage(p);
  const first = message.split('\n')[0] ?? '';
  assert.ok(!first.includes('\u001b') && !first.includes('\u202e'));
  assert.match(message, /"ok\\u001b\[2J\\u202eevil\\u000aline"/);
});

test('printable cuts very long text', () => {
  assert.equal(Array.from(printable('x'.repeat(1000))).length, 301);
});

test('expired: says when, and what it was waiting for', () => {
  const p = expire(pendingFor([requirement()]), at(3_600_000));
  assert.equal(
    expiredMessage(p, at(3_600_000)),
    [
      `this request was not sent: ${ID} expired at 2026-11-25T11:00:00.000Z without a decision (it needed 2 of group sre (rule "statefulsets-need-two": StatefulSets need two SREs)).`,
      'Running the same command again asks for approval anew.',
    ].join('\n'),
  );
});

test('holdRefusal maps each outcome to its code, and names the request in the Status details', () => {
  const opts = { ...NO_URL, holdTimeoutMs: 300_000 };
  const deferred = pendingFor([requirement()]);
  const held = pendingFor([requirement({ mode: 'hold' })]);
  const denied = reviewed(deferred, 'bob', 'deny', 'no');
  const approved = reviewed(reviewed(deferred, 'bob', 'approve'), 'carol', 'approve');
  const spent = useGrant(approved, at(2000));
  assert.ok(spent);

  assert.equal(holdRefusal({ kind: 'proceed', pending: approved, viaGrant: true }, T0, opts), null);
  const cases = [
    {
      outcome: { kind: 'waiting', pending: deferred, created: true },
      code: 'KG_APPROVAL_REQUIRED',
      text: /is pending as/,
    },
    {
      outcome: { kind: 'waiting', pending: held, created: false },
      code: 'KG_APPROVAL_REQUIRED',
      text: /still pending after waiting 5m/,
    },
    {
      outcome: { kind: 'waiting', pending: spent, created: false },
      code: 'KG_APPROVAL_REQUIRED',
      text: /already used/,
    },
    { outcome: { kind: 'denied', pending: denied }, code: 'KG_APPROVAL_DENIED', text: /denied by bob: "no"/ },
    {
      outcome: { kind: 'expired', pending: expire(deferred, at(3_600_000)) },
      code: 'KG_APPROVAL_EXPIRED',
      text: /expired at/,
    },
    {
      // A held client whose request the requester withdrew from elsewhere (CLI or UI).
      outcome: {
        kind: 'waiting',
        pending: { ...held, state: 'withdrawn', decidedAt: at(5000).toISOString() },
        created: false,
      },
      code: 'KG_APPROVAL_WITHDRAWN',
      text: /was withdrawn by its requester at .*\nRunning the same command again asks for approval anew/,
    },
    {
      // The held command stopped waiting (the request is deferred now): its re-run is still told
      // how long it waited and to come back, not that the rule defers it.
      outcome: {
        kind: 'waiting',
        pending: { ...held, mode: 'deferred', requesterLeftAt: T0.toISOString() },
        created: false,
      },
      code: 'KG_APPROVAL_REQUIRED',
      text: /still pending after waiting 5m/,
    },
  ] as const;
  for (const c of cases) {
    const err = holdRefusal(c.outcome, T0, opts);
    assert.ok(err);
    assert.equal(err.code, c.code);
    const status = toStatus(err);
    assert.match(status.message, c.text);
    assert.equal(status.details?.name, ID);
  }
  assert.equal(toStatus(holdRefusal(cases[0].outcome, T0, opts)).reason, 'ApprovalRequired');
});

test('every review refusal has a sentence that names the request', () => {
  for (const refusal of [
    'own-request',
    'not-an-approver',
    'already-reviewed',
    'not-pending',
    'break-glass-not-allowed',
    'break-glass-needs-reason',
    'not-found',
  ] as const) {
    assert.match(refusalMessage(refusal, ID), /kg-7x2k9q4m1a/);
  }
});

test('the UI link is built from the public URL with or without a trailing slash', () => {
  assert.equal(requestUrl('https://k.example/', ID), `https://k.example/ui/requests/${ID}`);
  assert.equal(requestUrl('https://k.example/base', ID), `https://k.example/base/ui/requests/${ID}`);
});

test('approvedWarning: who approved, how long the approval took, and the id', () => {
  const held = pendingFor([requirement({ mode: 'hold' })]);
  const approved = reviewed(reviewed(held, 'bob', 'approve'), 'carol', 'approve');
  const late = { ...approved, decidedAt: at(133_000).toISOString() };
  assert.equal(approvedWarning(late, false), `approved by bob, carol after 2m13s (${ID})`);
  assert.equal(approvedWarning(approved, false), `approved by bob, carol after 1s (${ID})`);
});

test('approvedWarning: a deferred re-run says it used the approval; a denial or a comment is never in it', () => {
  const deferred = pendingFor([requirement()]);
  const approved = reviewed(reviewed(deferred, 'bob', 'approve', 'secret plan'), 'carol', 'approve');
  assert.equal(
    approvedWarning({ ...approved, decidedAt: at(5_000).toISOString() }, true),
    `approved by bob, carol after 5s (${ID}); this re-run used the one-time approval`,
  );
  assert.doesNotMatch(approvedWarning(approved, true), /secret/u);
});

test('approvedWarning: a request let through by a standing approval says so, with its end and the use', () => {
  const approved = reviewed(pendingFor([requirement()]), 'bob', 'approve');
  const standing = {
    ...approved,
    decidedAt: at(5_000).toISOString(),
    standing: {
      scope: 'rule' as const,
      until: '2026-11-25T11:00:00.000Z',
      grantedBy: 'bob',
      uses: 3,
      revokedAt: null,
      revokedBy: null,
    },
  };
  assert.equal(
    approvedWarning(standing, true),
    `approved by bob after 5s (${ID}); a standing approval until 2026-11-25T11:00:00.000Z let it through (use 3)`,
  );
});

test('approvedWarning: a reviewer name cannot redraw the terminal', () => {
  const p = pendingFor([requirement({ mode: 'hold' })]);
  const approved = reviewed(reviewed(p, 'bob\u001b[2J', 'approve'), 'carol', 'approve');
  assert.match(approvedWarning(approved, false), /^approved by bob\\u001b\[2J, carol/u);
});

const warningCases = [
  {
    name: 'plain text is quoted as it is',
    input: 'approved by bob after 1s (kg-1)',
    want: '299 - "approved by bob after 1s (kg-1)"',
  },
  { name: 'quotes and backslashes are escaped', input: 'a "b" \\c', want: '299 - "a \\"b\\" \\\\c"' },
  {
    name: 'non-ASCII is written as an escaped \\u sequence',
    input: 'J\u00f6rg',
    want: '299 - "J\\\\u00f6rg"',
  },
  { name: 'control characters are escaped, never sent', input: 'a\nb', want: '299 - "a\\\\u000ab"' },
];
for (const c of warningCases) {
  test(`warningHeaderValue: ${c.name}`, () => {
    const value = warningHeaderValue(c.input);
    assert.equal(value, c.want);
    // What Node accepts in a header value.
    assert.doesNotMatch(value, /[^\t\x20-\x7e]/u);
  });
}
