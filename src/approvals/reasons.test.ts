// Reasons: the checks on the text, the approval-requested comment, and the approval service with
// a real SQLite store taking a requester's next reason into their next held request (and only
// theirs, once, unexpired), and the requester changing it on a pending request, audited.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { AuditEvent, AuditTrail } from '../audit/event.js';
import { storeIn } from '../config/schema.js';
import { KubegateError } from '../errors.js';
import type { Identity } from '../identity/types.js';
import type { ApproveDecision } from '../policy/decision.js';
import { withBody } from '../request/body.js';
import { parseRequest } from '../request/parse.js';
import { openStore, type Store } from '../store/open.js';
import { checkReason, MAX_REASON_LENGTH, requestedComment } from './reasons.js';
import { openApprovals, type Approvals } from './service.js';
import type { HoldRequest } from './types.js';

const T0 = Date.parse('2026-12-04T10:00:00.000Z');
const alice: Identity = { user: 'alice', groups: ['dev'], method: 'token' };
const erin: Identity = { user: 'erin', groups: ['dev'], method: 'token' };

const badReasons = [
  { name: 'an empty reason', input: '   ' },
  { name: 'a reason one character too long', input: 'x'.repeat(MAX_REASON_LENGTH + 1) },
  { name: 'a reason with a line break', input: 'first\nsecond' },
  { name: 'a reason with an escape sequence', input: 'ok\u001b[2J' },
  { name: 'a reason with a bidi override', input: 'ok\u202etxt.exe' },
];
for (const c of badReasons) {
  test(`checkReason refuses ${c.name} with KG_API_BAD_REQUEST`, () => {
    assert.throws(
      () => checkReason(c.input),
      (err: unknown) => err instanceof KubegateError && err.code === 'KG_API_BAD_REQUEST',
    );
  });
}

test('checkReason keeps plain text as it is (trimmed), markup included, up to the limit', () => {
  assert.equal(checkReason('  INC-4711: <b>db</b> is down  '), 'INC-4711: <b>db</b> is down');
  const longest = 'é'.repeat(MAX_REASON_LENGTH);
  assert.equal(checkReason(longest), longest);
});

test("requestedComment: the rule's message, then the reason", () => {
  assert.equal(requestedComment('Two SREs', null), 'Two SREs');
  assert.equal(requestedComment(null, null), null);
  assert.equal(requestedComment('Two SREs', 'INC-1'), 'Two SREs\nreason: INC-1');
  assert.equal(requestedComment(null, 'INC-1'), 'reason: INC-1');
});

// ---- the service --------------------------------------------------------------------------

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

class Trail implements AuditTrail {
  readonly events: AuditEvent[] = [];
  append(event: AuditEvent): Promise<void> {
    this.events.push(event);
    return Promise.resolve();
  }
  appendLater(event: AuditEvent): void {
    this.events.push(event);
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

interface World {
  readonly store: Store;
  readonly audit: Trail;
  readonly clock: { ms: number };
  readonly approvals: Approvals;
}

async function world(): Promise<World> {
  const dir = mkdtempSync(join(tmpdir(), 'kubegate-reasons-'));
  dirs.push(dir);
  const store = await openStore(storeIn(dir));
  const audit = new Trail();
  const clock = { ms: T0 };
  const log = { info: () => undefined, warn: () => undefined, error: () => undefined };
  let n = 0;
  const approvals = await openApprovals({
    store: store.approvals,
    reasons: store.reasons!,
    audit,
    now: () => new Date(clock.ms),
    newId: () => `kg-reason${String(++n).padStart(4, '0')}`,
    holdTimeoutMs: 60_000,
    log,
  });
  return { store, audit, clock, approvals };
}

async function done(w: World): Promise<void> {
  await w.approvals.close();
  await w.approvals.idle();
  await w.store.close();
}

/** A deferred request (answered at once): scaling statefulset `name`. */
function ask(who: Identity, name: string): HoldRequest {
  const request = parseRequest({
    method: 'PATCH',
    target: `/apis/apps/v1/namespaces/prod/statefulsets/${name}`,
    headers: { 'content-type': 'application/merge-patch+json' },
  });
  const bytes = Buffer.from('{"spec":{"replicas":3}}');
  const decision: ApproveDecision = {
    kind: 'approve',
    rules: [{ name: 'sts', action: 'approve', message: 'Two SREs' }],
    byDefault: false,
    message: 'Two SREs',
    approval: [
      {
        rule: 'sts',
        message: 'Two SREs',
        stages: [{ name: 'approval', approvers: [{ kind: 'group', name: 'sre' }], count: 1 }],
        escalateAfterMs: null,
        escalateTo: [],
        expiresAfterMs: null,
        mode: 'deferred',
        grantTtlMs: null,
        breakGlass: false,
      },
    ],
  };
  return {
    identity: who,
    request,
    body: withBody(request, bytes),
    bodyBytes: bytes,
    decision,
    requestId: `req-${name}`,
    sourceAddress: null,
    signal: new AbortController().signal,
  };
}

test("the requester's next reason goes with their next held request, into its approval-requested record, once", async () => {
  const w = await world();
  try {
    await w.store.reasons!.set('alice', {
      text: 'INC-4711: db down',
      setAt: T0,
      expiresAt: T0 + 15 * 60_000,
    });
    w.clock.ms += 60_000;
    const first = await w.approvals.hold(ask(alice, 'db'));
    assert.equal(first.pending.reason, 'INC-4711: db down');
    const requested = w.audit.events.find((e) => e.kind === 'approval-requested');
    assert.equal(requested?.comment, 'Two SREs\nreason: INC-4711: db down');
    await w.approvals.idle();
    assert.equal(await w.store.reasons!.get('alice', w.clock.ms), null, 'taken');
    const second = await w.approvals.hold(ask(alice, 'cache'));
    assert.equal(second.pending.reason, undefined, 'a reason goes with one request only');
  } finally {
    await done(w);
  }
});

test("an expired reason, or someone else's, does not go with a request", async () => {
  const w = await world();
  try {
    await w.store.reasons!.set('alice', { text: 'old news', setAt: T0, expiresAt: T0 + 60_000 });
    await w.store.reasons!.set('erin', { text: "erin's reason", setAt: T0, expiresAt: T0 + 3_600_000 });
    w.clock.ms += 60_000;
    const outcome = await w.approvals.hold(ask(alice, 'db'));
    assert.equal(outcome.pending.reason, undefined);
    assert.equal(w.audit.events.find((e) => e.kind === 'approval-requested')?.comment, 'Two SREs');
    assert.equal((await w.store.reasons!.get('erin', w.clock.ms))?.text, "erin's reason", 'still erin’s');
  } finally {
    await done(w);
  }
});

test('the requester changes the reason of their pending request: stored, audited, told; nobody else may', async () => {
  const w = await world();
  try {
    const { pending } = await w.approvals.hold(ask(alice, 'db'));
    const refused = await w.approvals.giveReason(pending.id, erin, 'not mine');
    assert.equal(refused.ok, false);
    assert.equal(!refused.ok && refused.refusal, 'not-requester');
    const told: string[] = [];
    w.approvals.subscribe((e) => told.push(`${e.type}:${e.pending.reason ?? ''}`));
    const given = await w.approvals.giveReason(pending.id, alice, 'INC-9: restore');
    assert.equal(given.ok && given.pending.reason, 'INC-9: restore');
    assert.equal((await w.approvals.get(pending.id))?.reason, 'INC-9: restore');
    assert.deepEqual(told, ['updated:INC-9: restore']);
    const record = w.audit.events.at(-1);
    assert.deepEqual(
      [record?.kind, record?.actor, record?.comment, record?.pendingId],
      ['reason-given', 'alice', 'INC-9: restore', pending.id],
    );
    await w.approvals.withdraw(pending.id, alice);
    const late = await w.approvals.giveReason(pending.id, alice, 'too late');
    assert.equal(!late.ok && late.refusal, 'not-pending');
    assert.equal(await w.approvals.giveReason('kg-nonexistent', alice, 'x').then((r) => r.ok), false);
  } finally {
    await done(w);
  }
});
