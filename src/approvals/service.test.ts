import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setImmediate as turn } from 'node:timers/promises';
import type { AuditEvent, AuditTrail } from '../audit/event.js';
import type { Identity } from '../identity/types.js';
import type { ApprovalRequirement, ApproveDecision } from '../policy/decision.js';
import { withBody } from '../request/body.js';
import { parseRequest } from '../request/parse.js';
import { holdRefusal } from './messages.js';
import type { Approvals } from './service.js';
import { DENIAL_STICKS_MS } from './state-machine.js';
import {
  TRANSPORT_RETRY_GRACE_MS,
  newPendingId,
  openApprovals,
  type ApprovalsDeps,
  type Timers,
} from './service.js';
import { storeIn } from '../config/schema.js';
import { openStore } from '../store/open.js';
import type { ApprovalStore } from './store.js';
import type { ApprovalEvent, HoldOutcome, HoldRequest, PendingRequest, ReviewerContext } from './types.js';

const T0 = new Date('2026-11-25T10:00:00.000Z');
const HOLD_MS = 300_000;
const MIN = 60_000;

const people = {
  alice: { user: 'alice', groups: ['dev'], method: 'token' },
  bob: { user: 'bob', groups: ['sre'], method: 'token' },
  carol: { user: 'carol', groups: ['sre'], method: 'token' },
  dave: { user: 'dave', groups: ['security'], method: 'token' },
  frank: { user: 'frank', groups: ['managers'], method: 'token' },
} satisfies Record<string, Identity>;

// — fakes —

class FakeClock {
  ms = T0.getTime();
  now = (): Date => new Date(this.ms);
}

interface TimerEntry {
  readonly ms: number;
  readonly due: number;
  readonly fn: () => void;
  cancelled: boolean;
  fired: boolean;
}

class FakeTimers implements Timers {
  readonly entries: TimerEntry[] = [];
  readonly #clock: FakeClock;
  readonly #watchers: { match: (e: TimerEntry) => boolean; resolve: (e: TimerEntry) => void }[] = [];
  constructor(clock: FakeClock) {
    this.#clock = clock;
  }
  set(ms: number, fn: () => void): () => void {
    const entry: TimerEntry = { ms, due: this.#clock.ms + ms, fn, cancelled: false, fired: false };
    this.entries.push(entry);
    for (const w of [...this.#watchers]) {
      if (w.match(entry)) {
        this.#watchers.splice(this.#watchers.indexOf(w), 1);
        w.resolve(entry);
      }
    }
    return () => {
      entry.cancelled = true;
    };
  }
  /** Resolves with the first live timer (already set, or set later) that matches. */
  next(match: (e: TimerEntry) => boolean): Promise<TimerEntry> {
    const found = this.entries.find((e) => !e.cancelled && !e.fired && match(e));
    if (found) return Promise.resolve(found);
    return new Promise((resolve) => this.#watchers.push({ match, resolve }));
  }
  /** Moves the clock and fires every live timer now due, in due order. */
  advance(clock: FakeClock, ms: number): void {
    clock.ms += ms;
    for (const e of [...this.entries].sort((a, b) => a.due - b.due)) {
      if (!e.cancelled && !e.fired && e.due <= clock.ms) {
        e.fired = true;
        e.fn();
      }
    }
  }
  live(): TimerEntry[] {
    return this.entries.filter((e) => !e.cancelled && !e.fired);
  }
}

class FakeAudit implements AuditTrail {
  readonly events: AuditEvent[] = [];
  fail: ((e: AuditEvent) => boolean) | null = null;
  gate: ((e: AuditEvent) => Promise<void> | null) | null = null;
  async append(event: AuditEvent): Promise<void> {
    if (this.fail?.(event)) throw new Error('disk full');
    const gate = this.gate?.(event);
    if (gate) await gate;
    this.events.push(event);
  }
  appendLater(event: AuditEvent): void {
    this.events.push(event);
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
  kinds(): string[] {
    return this.events.map((e) => e.kind);
  }
}

class FakeLog {
  readonly entries: { level: string; fields: object; message: string }[] = [];
  info(fields: object, message: string): void {
    this.entries.push({ level: 'info', fields, message });
  }
  warn(fields: object, message: string): void {
    this.entries.push({ level: 'warn', fields, message });
  }
  error(fields: object, message: string): void {
    this.entries.push({ level: 'error', fields, message });
  }
}

/** The approval store of a SQLite store in `dir`, as main.ts opens it, with the store's close. */
async function openSqliteApprovalStore(dir: string): Promise<ApprovalStore & { close(): Promise<void> }> {
  const store = await openStore(storeIn(dir));
  return { ...store.approvals, close: () => store.close() };
}

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

interface World {
  readonly dir: string;
  readonly store: ApprovalStore & { close(): Promise<void> };
  readonly audit: FakeAudit;
  readonly clock: FakeClock;
  readonly timers: FakeTimers;
  readonly log: FakeLog;
  readonly events: ApprovalEvent[];
  readonly notified: ApprovalEvent[];
  readonly approvals: Approvals;
}

async function world(
  extra: Partial<ApprovalsDeps> = {},
  reuse?: Pick<World, 'dir' | 'audit' | 'clock'>,
): Promise<World> {
  const dir = reuse?.dir ?? mkdtempSync(join(tmpdir(), 'kubegate-approvals-svc-'));
  if (!reuse) dirs.push(dir);
  const store = await openSqliteApprovalStore(dir);
  const audit = reuse?.audit ?? new FakeAudit();
  const clock = reuse?.clock ?? new FakeClock();
  const timers = new FakeTimers(clock);
  const log = new FakeLog();
  const notified: ApprovalEvent[] = [];
  let n = 0;
  const approvals = await openApprovals({
    store,
    audit,
    now: clock.now,
    newId: () => `kg-test${String(++n).padStart(6, '0')}`.slice(0, 13),
    holdTimeoutMs: HOLD_MS,
    notify: (e) => notified.push(e),
    log,
    timers,
    ...extra,
  });
  const events: ApprovalEvent[] = [];
  approvals.subscribe((e) => events.push(e));
  return { dir, store, audit, clock, timers, log, events, notified, approvals };
}

async function done(w: World): Promise<void> {
  await w.approvals.close();
  await w.approvals.idle();
  await w.store.close();
}

function requirement(fields: Partial<ApprovalRequirement> = {}): ApprovalRequirement {
  return {
    rule: 'statefulsets-need-two',
    stages: [{ name: 'approval', approvers: [{ kind: 'group', name: 'sre' }], count: 1 }],
    escalateAfterMs: null,
    escalateTo: [],
    expiresAfterMs: null,
    mode: 'hold',
    grantTtlMs: null,
    breakGlass: false,
    ...fields,
  };
}

interface HoldOptions {
  readonly who?: Identity;
  readonly method?: string;
  readonly target?: string;
  readonly headers?: Record<string, string>;
  readonly body?: string;
  readonly requirements?: readonly ApprovalRequirement[];
  readonly signal?: AbortSignal;
}

let requestNo = 0;
function holdRequest(o: HoldOptions = {}): HoldRequest {
  const request = parseRequest({
    method: o.method ?? 'PATCH',
    target: o.target ?? '/apis/apps/v1/namespaces/prod/statefulsets/db',
    headers: o.headers ?? { 'content-type': 'application/merge-patch+json' },
  });
  const bytes = Buffer.from(o.body ?? (o.method === undefined ? '{"spec":{"replicas":3}}' : ''));
  const decision: ApproveDecision = {
    kind: 'approve',
    rules: [{ name: 'statefulsets-need-two', action: 'approve' }],
    byDefault: false,
    approval: o.requirements ?? [requirement()],
  };
  return {
    identity: o.who ?? people.alice,
    request,
    body: withBody(request, bytes),
    bodyBytes: bytes.length === 0 ? null : bytes,
    decision,
    requestId: `req-${++requestNo}`,
    sourceAddress: '10.0.0.7',
    signal: o.signal ?? new AbortController().signal,
  };
}

const deferred = [requirement({ mode: 'deferred' })];

/** Starts a hold-mode hold and resolves once it is waiting (its hold timer is set). */
async function held(
  w: World,
  o: HoldOptions = {},
): Promise<{ outcome: Promise<HoldOutcome>; settled: () => boolean }> {
  const before = w.timers.entries.length;
  let settled = false;
  const outcome = w.approvals.hold(holdRequest(o));
  void outcome.then(
    () => (settled = true),
    () => (settled = true),
  );
  await w.timers.next((e) => e.ms === HOLD_MS && w.timers.entries.indexOf(e) >= before);
  return { outcome, settled: () => settled };
}

async function onlyPending(w: World): Promise<PendingRequest> {
  const list = await w.approvals.list({ state: 'pending' });
  assert.equal(list.length, 1);
  return list[0] as PendingRequest;
}

// — the request in the audit trail —

test('a review’s audit event carries the same request summary as the request’s own events', async () => {
  const w = await world();
  const outcome = await w.approvals.hold(
    holdRequest({
      requirements: deferred,
      target: '/apis/apps/v1/namespaces/prod/statefulsets/db?fieldManager=kubectl-edit',
      headers: { 'content-type': 'application/merge-patch+json', 'kubectl-command': 'kubectl edit' },
    }),
  );
  const result = await w.approvals.review(outcome.pending.id, people.bob, 'approve', '');
  assert.ok(result.ok);
  const [requested, reviewed] = w.audit.events;
  assert.deepEqual([requested?.kind, reviewed?.kind], ['approval-requested', 'reviewed']);
  assert.deepEqual(reviewed?.request, requested?.request);
  assert.equal(
    requested?.request?.target,
    '/apis/apps/v1/namespaces/prod/statefulsets/db?fieldManager=kubectl-edit',
  );
  assert.match(requested?.request?.bodyDigest ?? '', /^[0-9a-f]{64}$/u);
  assert.equal(requested?.request?.kubectlCommand, 'kubectl edit');
  await done(w);
});

test('an OIDC requester’s approval events keep the issuer and subject beside the user name', async () => {
  const w = await world();
  const oidc = { issuer: 'https://idp.example', subject: 'u-123' };
  const outcome = await w.approvals.hold(
    holdRequest({ requirements: deferred, who: { ...people.alice, method: 'oidc', oidc } }),
  );
  assert.deepEqual(outcome.pending.requester.oidc, oidc);
  assert.ok((await w.approvals.review(outcome.pending.id, people.bob, 'approve', '')).ok);
  assert.deepEqual(
    w.audit.events.map((e) => [e.kind, e.oidc]),
    [
      ['approval-requested', oidc],
      ['reviewed', oidc],
    ],
  );
  const plain = await w.approvals.hold(holdRequest({ requirements: deferred, body: '{"b":1}' }));
  assert.equal(plain.pending.requester.oidc, undefined);
  assert.equal(w.audit.events.at(-1)?.oidc, undefined, 'absent for other identities');
  await done(w);
});

// — deferred mode —

test('deferred: the first run creates a pending request, audited durably, and answers at once', async () => {
  const w = await world();
  const outcome = await w.approvals.hold(holdRequest({ requirements: deferred }));
  assert.equal(outcome.kind, 'waiting');
  assert.ok(outcome.kind === 'waiting' && outcome.created);
  const pending = outcome.pending;
  assert.equal(pending.state, 'pending');
  assert.deepEqual(await w.approvals.get(pending.id), pending);
  assert.deepEqual(w.audit.kinds(), ['approval-requested']);
  const [requested] = w.audit.events;
  assert.equal(requested?.pendingId, pending.id);
  assert.equal(requested?.user, 'alice');
  assert.deepEqual(requested?.groups, ['dev']);
  assert.equal(requested?.requestId, 'req-' + String(requestNo));
  assert.equal(requested?.sourceAddress, '10.0.0.7');
  assert.equal(requested?.request?.resource, 'statefulsets');
  assert.deepEqual(requested?.rules, ['statefulsets-need-two']);
  assert.deepEqual(
    w.events.map((e) => e.type),
    ['created'],
  );
  assert.deepEqual(
    w.notified.map((e) => e.type),
    ['created'],
  );
  assert.match(
    holdRefusal(outcome, T0, { publicUrl: null, holdTimeoutMs: HOLD_MS })?.message ?? '',
    /pending as kg-/,
  );
  await done(w);
});

test('deferred: a re-run before approval joins the same pending request', async () => {
  const w = await world();
  const first = await w.approvals.hold(holdRequest({ requirements: deferred }));
  const second = await w.approvals.hold(holdRequest({ requirements: deferred }));
  assert.ok(second.kind === 'waiting' && !second.created);
  assert.equal(second.pending.id, first.pending.id);
  assert.deepEqual(w.audit.kinds(), ['approval-requested']);
  await done(w);
});

test('deferred: after approval the same command goes through once; a third run asks again', async () => {
  const w = await world();
  const first = await w.approvals.hold(holdRequest({ requirements: deferred }));
  const reviewed = await w.approvals.review(first.pending.id, people.bob, 'approve', 'ok');
  assert.ok(reviewed.ok);
  assert.equal(reviewed.pending.state, 'approved');

  const second = await w.approvals.hold(holdRequest({ requirements: deferred }));
  assert.deepEqual(
    { kind: second.kind, id: second.pending.id, viaGrant: second.kind === 'proceed' && second.viaGrant },
    { kind: 'proceed', id: first.pending.id, viaGrant: true },
  );
  assert.equal((await w.approvals.get(first.pending.id))?.grantUsed, true);

  const third = await w.approvals.hold(holdRequest({ requirements: deferred }));
  assert.ok(third.kind === 'waiting' && third.created);
  assert.notEqual(third.pending.id, first.pending.id);
  assert.deepEqual(w.audit.kinds(), ['approval-requested', 'reviewed', 'granted', 'approval-requested']);
  const granted = w.audit.events[2];
  assert.equal(granted?.pendingId, first.pending.id);
  assert.equal(granted?.user, 'alice');
  assert.equal(granted?.requestId, `req-${requestNo - 1}`);
  await done(w);
});

test('an approval is not reused for the same path with another body', async () => {
  const w = await world();
  const first = await w.approvals.hold(holdRequest({ requirements: deferred }));
  assert.ok((await w.approvals.review(first.pending.id, people.bob, 'approve', '')).ok);
  const other = await w.approvals.hold(
    holdRequest({ requirements: deferred, body: '{"spec":{"replicas":0}}' }),
  );
  assert.ok(other.kind === 'waiting' && other.created);
  assert.equal((await w.approvals.get(first.pending.id))?.grantUsed, false);
  await done(w);
});

test('an approval is not used when the policy now asks for something else for the same request', async () => {
  const w = await world();
  const first = await w.approvals.hold(holdRequest({ requirements: deferred }));
  assert.ok((await w.approvals.review(first.pending.id, people.bob, 'approve', '')).ok);
  const stricter = [
    requirement({
      mode: 'deferred',
      stages: [{ name: 'approval', approvers: [{ kind: 'group', name: 'sre' }], count: 2 }],
    }),
  ];
  const next = await w.approvals.hold(holdRequest({ requirements: stricter }));
  assert.ok(next.kind === 'waiting' && next.created);
  await done(w);
});

test('the grant runs out after its TTL', async () => {
  const w = await world();
  const first = await w.approvals.hold(
    holdRequest({ requirements: [requirement({ mode: 'deferred', grantTtlMs: MIN })] }),
  );
  assert.ok((await w.approvals.review(first.pending.id, people.bob, 'approve', '')).ok);
  w.clock.ms += MIN;
  const next = await w.approvals.hold(
    holdRequest({ requirements: [requirement({ mode: 'deferred', grantTtlMs: MIN })] }),
  );
  assert.ok(next.kind === 'waiting' && next.created);
  await done(w);
});

test('two runs at once of a new command create one pending request', async () => {
  const w = await world();
  const [a, b] = await Promise.all([
    w.approvals.hold(holdRequest({ requirements: deferred })),
    w.approvals.hold(holdRequest({ requirements: deferred })),
  ]);
  assert.equal(a.pending.id, b.pending.id);
  assert.equal((await w.approvals.list()).length, 1);
  await done(w);
});

// — hold mode —

test('hold: the client waits until approved, then the grant is used at once and it proceeds', async () => {
  const w = await world();
  const h = await held(w);
  const pending = await onlyPending(w);
  const result = await w.approvals.review(pending.id, people.bob, 'approve', 'looks fine');
  assert.ok(result.ok);
  const outcome = await h.outcome;
  assert.equal(outcome.kind, 'proceed');
  assert.ok(outcome.kind === 'proceed' && !outcome.viaGrant);
  assert.equal(outcome.pending.grantUsed, true);
  assert.deepEqual(w.audit.kinds(), ['approval-requested', 'reviewed', 'granted']);
  assert.deepEqual(
    w.events.map((e) => e.type),
    ['created', 'reviewed', 'decided', 'granted'],
  );
  const reviewed = w.audit.events[1];
  assert.equal(reviewed?.actor, 'bob');
  assert.equal(reviewed?.user, 'alice');
  assert.equal(reviewed?.comment, 'looks fine');
  assert.equal(reviewed?.pendingId, pending.id);
  assert.equal(reviewed?.breakGlass, false);
  assert.equal(reviewed?.decision, 'approve');
  assert.equal(w.timers.live().length, 0);
  await done(w);
});

test('hold: one approval of two is not enough, and the requester cannot approve their own', async () => {
  const w = await world();
  const two = [
    requirement({ stages: [{ name: 'approval', approvers: [{ kind: 'group', name: 'sre' }], count: 2 }] }),
  ];
  const h = await held(w, { requirements: two });
  const pending = await onlyPending(w);
  assert.ok((await w.approvals.review(pending.id, people.bob, 'approve', '')).ok);
  const own = await w.approvals.review(pending.id, { user: 'alice', groups: ['sre'] }, 'approve', '');
  assert.deepEqual({ ok: own.ok, refusal: !own.ok && own.refusal }, { ok: false, refusal: 'own-request' });
  const again = await w.approvals.review(pending.id, people.bob, 'approve', '');
  assert.ok(!again.ok && again.refusal === 'already-reviewed');
  await turn();
  assert.equal(h.settled(), false);
  assert.ok((await w.approvals.review(pending.id, people.carol, 'approve', '')).ok);
  assert.equal((await h.outcome).kind, 'proceed');
  await done(w);
});

test('hold: a deny answers the held client with the reviewer and comment', async () => {
  const w = await world();
  const h = await held(w);
  const pending = await onlyPending(w);
  assert.ok((await w.approvals.review(pending.id, people.bob, 'deny', 'not during the freeze')).ok);
  const outcome = await h.outcome;
  assert.equal(w.audit.events.find((e) => e.kind === 'reviewed')?.decision, 'deny');
  assert.equal(outcome.kind, 'denied');
  const err = holdRefusal(outcome, w.clock.now(), { publicUrl: null, holdTimeoutMs: HOLD_MS });
  assert.equal(err?.code, 'KG_APPROVAL_DENIED');
  assert.match(err?.message ?? '', /denied by bob: "not during the freeze"/);
  await done(w);
});

test('hold: when the hold limit passes, the client is told to re-run; the re-run after approval goes through', async () => {
  const w = await world();
  const h = await held(w);
  w.timers.advance(w.clock, HOLD_MS);
  const outcome = await h.outcome;
  assert.ok(outcome.kind === 'waiting' && outcome.created);
  assert.match(
    holdRefusal(outcome, w.clock.now(), { publicUrl: null, holdTimeoutMs: HOLD_MS })?.message ?? '',
    /still pending after waiting 5m/,
  );
  const pending = await onlyPending(w);
  assert.ok((await w.approvals.review(pending.id, people.bob, 'approve', '')).ok);
  const rerun = await w.approvals.hold(holdRequest());
  assert.ok(rerun.kind === 'proceed' && rerun.viaGrant);
  await done(w);
});

test('hold: a client that leaves stops waiting; the pending request stays for its re-run', async () => {
  const w = await world();
  const controller = new AbortController();
  const h = await held(w, { signal: controller.signal });
  controller.abort();
  const outcome = await h.outcome;
  assert.equal(outcome.kind, 'waiting');
  assert.equal((await onlyPending(w)).id, outcome.pending.id);
  assert.equal(w.timers.live().filter((e) => e.ms === HOLD_MS).length, 0);
  const aborted = new AbortController();
  aborted.abort();
  const again = await w.approvals.hold(holdRequest({ signal: aborted.signal }));
  assert.ok(again.kind === 'waiting' && !again.created);
  await done(w);
});

/** Resolves once the pending request `id` satisfies `match` in the store (background writes). */
async function stored(w: World, id: string, match: (p: PendingRequest) => boolean): Promise<PendingRequest> {
  for (;;) {
    const p = await w.approvals.get(id);
    if (p !== null && match(p)) return p;
    await turn();
  }
}

test('hold: when the last held client leaves, the request turns deferred; an approval then sends nothing and the re-run uses the grant', async () => {
  const w = await world();
  const controller = new AbortController();
  const h = await held(w, { signal: controller.signal });
  w.clock.ms += 1000;
  controller.abort();
  const outcome = await h.outcome;
  assert.equal(outcome.kind, 'waiting');
  const left = await stored(w, outcome.pending.id, (p) => p.mode === 'deferred');
  assert.equal(left.requesterLeftAt, new Date(T0.getTime() + 1000).toISOString());
  assert.ok(w.events.some((e) => e.type === 'updated' && e.pending.requesterLeftAt !== null));
  const review = await w.approvals.review(left.id, people.bob, 'approve', '');
  assert.ok(review.ok && review.pending.state === 'approved');
  await w.approvals.idle();
  const approved = await w.approvals.get(left.id);
  assert.equal(approved?.grantUsed, false, 'nobody was waiting: the grant waits for the re-run');
  assert.ok(!w.audit.kinds().includes('granted'));
  const rerun = await w.approvals.hold(holdRequest());
  assert.ok(rerun.kind === 'proceed' && rerun.viaGrant);
  await done(w);
});

test('hold: the hold limit also turns the request deferred; a re-run while pending is held again', async () => {
  const w = await world();
  const first = await held(w);
  w.timers.advance(w.clock, HOLD_MS);
  const outcome = await first.outcome;
  await stored(w, outcome.pending.id, (p) => p.requesterLeftAt !== null);
  const again = await held(w);
  const back = await stored(w, outcome.pending.id, (p) => p.requesterLeftAt === null);
  assert.equal(back.mode, 'hold', 'a client waits again, so the approval lets it through');
  assert.ok((await w.approvals.review(back.id, people.bob, 'approve', '')).ok);
  assert.equal((await again.outcome).kind, 'proceed');
  await done(w);
});

test('hold: one of two held clients leaving keeps the request held for the other', async () => {
  const w = await world();
  const leaving = new AbortController();
  const a = await held(w, { signal: leaving.signal });
  const b = await held(w);
  leaving.abort();
  assert.equal((await a.outcome).kind, 'waiting');
  await w.approvals.idle();
  const pending = await onlyPending(w);
  assert.equal(pending.mode, 'hold');
  assert.equal(pending.requesterLeftAt, null);
  assert.ok((await w.approvals.review(pending.id, people.bob, 'approve', '')).ok);
  assert.equal((await b.outcome).kind, 'proceed');
  await done(w);
});

test('hold: a client that left while the approval landed does not use the grant', async () => {
  const w = await world();
  const controller = new AbortController();
  const h = await held(w, { signal: controller.signal });
  const pending = await onlyPending(w);
  // The approval wakes the waiter; its client is gone by the time it would take the grant.
  const listener = w.approvals.subscribe((e) => {
    if (e.type === 'decided') controller.abort();
  });
  assert.ok((await w.approvals.review(pending.id, people.bob, 'approve', '')).ok);
  listener();
  assert.equal((await h.outcome).kind, 'waiting');
  assert.equal((await w.approvals.get(pending.id))?.grantUsed, false);
  assert.equal((await w.approvals.hold(holdRequest())).kind, 'proceed', 'the re-run has it');
  await done(w);
});

test('a denial sticks: the same request within DENIAL_STICKS_MS is denied at once (no new request); later it asks anew', async () => {
  const w = await world();
  const target =
    '/api/v1/namespaces/prod/pods/vault-0/exec?command=sh&container=main&stdin=true&stdout=true&tty=true';
  const ws = await held(w, {
    method: 'GET',
    target,
    headers: { connection: 'Upgrade', upgrade: 'websocket' },
  });
  const pending = await onlyPending(w);
  assert.ok((await w.approvals.review(pending.id, people.bob, 'deny', 'not now')).ok);
  assert.equal((await ws.outcome).kind, 'denied');
  // kubectl ≥1.30 falls back to SPDY milliseconds later: the same answer, at once.
  const timers = w.timers.entries.length;
  const spdy = await w.approvals.hold(
    holdRequest({ method: 'POST', target, headers: { connection: 'Upgrade', upgrade: 'SPDY/3.1' } }),
  );
  assert.ok(spdy.kind === 'denied' && spdy.pending.id === pending.id);
  assert.equal(w.timers.entries.length, timers, 'not held');
  assert.match(
    holdRefusal(spdy, w.clock.now(), { publicUrl: null, holdTimeoutMs: HOLD_MS })?.message ?? '',
    /denied by bob: "not now"/,
  );
  assert.equal((await w.approvals.list({})).length, 1, 'no second request that one approval could undo');
  w.clock.ms += DENIAL_STICKS_MS - 1;
  assert.equal(
    (
      await w.approvals.hold(
        holdRequest({ method: 'POST', target, headers: { upgrade: 'SPDY/3.1' }, requirements: deferred }),
      )
    ).kind,
    'waiting',
    'other requirements: another request',
  );
  const rerun = await w.approvals.hold(
    holdRequest({ method: 'POST', target, headers: { upgrade: 'SPDY/3.1' }, signal: AbortSignal.abort() }),
  );
  assert.equal(rerun.kind, 'denied', 'a re-run within the window is still denied');
  w.clock.ms += 1;
  const later = await w.approvals.hold(
    holdRequest({ method: 'POST', target, headers: { upgrade: 'SPDY/3.1' }, signal: AbortSignal.abort() }),
  );
  assert.ok(later.kind === 'waiting' && later.created, 'after the window it asks anew');
  await done(w);
});

test('withdraw: the requester takes a held request back; the held client is told, it is audited, and nobody can approve it', async () => {
  const w = await world();
  const h = await held(w);
  const pending = await onlyPending(w);
  const refused = await w.approvals.withdraw(pending.id, people.bob);
  assert.ok(!refused.ok && refused.refusal === 'not-requester');
  assert.ok(!w.audit.kinds().includes('withdrawn'));
  const result = await w.approvals.withdraw(pending.id, people.alice);
  assert.ok(result.ok && result.pending.state === 'withdrawn');
  const outcome = await h.outcome;
  assert.ok(outcome.kind === 'waiting' && outcome.pending.state === 'withdrawn');
  assert.equal(
    holdRefusal(outcome, w.clock.now(), { publicUrl: null, holdTimeoutMs: HOLD_MS })?.code,
    'KG_APPROVAL_WITHDRAWN',
  );
  const record = w.audit.events.find((e) => e.kind === 'withdrawn');
  assert.equal(record?.actor, 'alice');
  assert.equal(record?.pendingId, pending.id);
  assert.ok(w.notified.some((e) => e.type === 'decided' && e.pending.state === 'withdrawn'));
  const late = await w.approvals.review(pending.id, people.bob, 'approve', '');
  assert.ok(!late.ok && late.refusal === 'not-pending');
  assert.ok(!(await w.approvals.withdraw(pending.id, people.alice)).ok, 'once');
  const again = await w.approvals.hold(holdRequest({ requirements: deferred }));
  assert.ok(again.kind === 'waiting' && again.created, 'running it again asks anew');
  await done(w);
});

test('withdraw that the audit trail refuses changes nothing', async () => {
  const w = await world();
  const outcome = await w.approvals.hold(holdRequest({ requirements: deferred }));
  w.audit.fail = (e) => e.kind === 'withdrawn';
  await assert.rejects(w.approvals.withdraw(outcome.pending.id, people.alice), /audit trail/);
  assert.equal((await w.approvals.get(outcome.pending.id))?.state, 'pending');
  await done(w);
});

test('pending requests expire after pendingExpiryMs when no rule sets expiresAfter', async () => {
  const w = await world({ pendingExpiryMs: 60 * MIN });
  const plain = await w.approvals.hold(holdRequest({ requirements: deferred }));
  assert.equal(plain.pending.expiresAt, new Date(T0.getTime() + 60 * MIN).toISOString());
  const own = await w.approvals.hold(
    holdRequest({
      requirements: [requirement({ mode: 'deferred', expiresAfterMs: 5 * MIN })],
      body: '{"a":1}',
    }),
  );
  assert.equal(own.pending.expiresAt, new Date(T0.getTime() + 5 * MIN).toISOString(), "the rule's own wins");
  w.timers.advance(w.clock, 60 * MIN);
  await w.approvals.idle();
  assert.equal((await w.approvals.get(plain.pending.id))?.state, 'expired');
  await done(w);
});

test('hold: two clients held on one request — the approval lets one through, the other is told', async () => {
  const w = await world();
  const a = await held(w);
  const b = await held(w);
  const pending = await onlyPending(w);
  assert.ok((await w.approvals.review(pending.id, people.bob, 'approve', '')).ok);
  const outcomes = await Promise.all([a.outcome, b.outcome]);
  assert.deepEqual(outcomes.map((o) => o.kind).sort(), ['proceed', 'waiting']);
  const waiting = outcomes.find((o) => o.kind === 'waiting');
  assert.ok(waiting);
  assert.match(
    holdRefusal(waiting, w.clock.now(), { publicUrl: null, holdTimeoutMs: HOLD_MS })?.message ?? '',
    /already used/,
  );
  assert.equal(w.audit.kinds().filter((k) => k === 'granted').length, 1);
  await done(w);
});

test('hold: an exec whose WebSocket hold timed out is not held again when kubectl retries it as SPDY', async () => {
  const w = await world();
  const target =
    '/api/v1/namespaces/prod/pods/vault-0/exec?command=sh&container=main&stdin=true&stdout=true&tty=true';
  const ws = { connection: 'Upgrade', upgrade: 'websocket' };
  const spdy = { connection: 'Upgrade', upgrade: 'SPDY/3.1' };
  const h = await held(w, { method: 'GET', target, headers: ws });
  w.timers.advance(w.clock, HOLD_MS);
  const first = await h.outcome;
  assert.equal(first.kind, 'waiting');
  const timersBefore = w.timers.entries.length;
  const retry = await w.approvals.hold(holdRequest({ method: 'POST', target, headers: spdy }));
  assert.ok(retry.kind === 'waiting' && !retry.created);
  assert.equal(retry.pending.id, first.pending.id);
  assert.equal(w.timers.entries.length, timersBefore);
  // Later, a new run of the command is held again, and meets the same request.
  w.clock.ms += TRANSPORT_RETRY_GRACE_MS;
  const later = await held(w, { method: 'POST', target, headers: spdy });
  assert.ok((await w.approvals.review(first.pending.id, people.bob, 'approve', '')).ok);
  assert.equal((await later.outcome).kind, 'proceed');
  await done(w);
});

test('hold: an exec over WebSocket and its SPDY retry meet one pending request and one grant', async () => {
  const w = await world();
  const target = '/api/v1/namespaces/prod/pods/vault-0/exec?command=ls&container=main&stdout=true';
  const ws = await w.approvals.hold(
    holdRequest({ method: 'GET', target, headers: { upgrade: 'websocket' }, requirements: deferred }),
  );
  const spdy = await w.approvals.hold(
    holdRequest({ method: 'POST', target, headers: { upgrade: 'SPDY/3.1' }, requirements: deferred }),
  );
  assert.equal(spdy.pending.id, ws.pending.id);
  assert.ok((await w.approvals.review(ws.pending.id, people.bob, 'approve', '')).ok);
  const run = await w.approvals.hold(
    holdRequest({ method: 'POST', target, headers: { upgrade: 'SPDY/3.1' }, requirements: deferred }),
  );
  assert.equal(run.kind, 'proceed');
  await done(w);
});

// — reviews —

test('a review is durable in the audit trail before it resolves or wakes the held client', async () => {
  const w = await world();
  const h = await held(w);
  const pending = await onlyPending(w);
  let release = (): void => undefined;
  const gate = new Promise<void>((resolve) => (release = resolve));
  w.audit.gate = (e) => (e.kind === 'reviewed' ? gate : null);
  let reviewDone = false;
  const review = w.approvals.review(pending.id, people.bob, 'approve', '').then((r) => {
    reviewDone = true;
    return r;
  });
  await turn();
  await turn();
  assert.equal(reviewDone, false);
  assert.equal(h.settled(), false);
  assert.deepEqual(
    w.events.map((e) => e.type),
    ['created'],
  );
  release();
  assert.ok((await review).ok);
  assert.equal((await h.outcome).kind, 'proceed');
  await done(w);
});

test('a review the audit trail refuses changes nothing and fails', async () => {
  const w = await world();
  const first = await w.approvals.hold(holdRequest({ requirements: deferred }));
  w.audit.fail = (e) => e.kind === 'reviewed';
  await assert.rejects(w.approvals.review(first.pending.id, people.bob, 'approve', ''), {
    code: 'KG_AUDIT_UNAVAILABLE',
  });
  const now = await w.approvals.get(first.pending.id);
  assert.equal(now?.state, 'pending');
  assert.deepEqual(now?.reviews, []);
  assert.deepEqual(
    w.events.map((e) => e.type),
    ['created'],
  );
  w.audit.fail = null;
  assert.ok((await w.approvals.review(first.pending.id, people.bob, 'approve', '')).ok);
  await done(w);
});

test('a new request the audit trail refuses is not created', async () => {
  const w = await world();
  w.audit.fail = () => true;
  await assert.rejects(w.approvals.hold(holdRequest({ requirements: deferred })), {
    code: 'KG_AUDIT_UNAVAILABLE',
  });
  assert.deepEqual(await w.approvals.list(), []);
  await done(w);
});

test('a grant the audit trail refuses is given back', async () => {
  const w = await world();
  const first = await w.approvals.hold(holdRequest({ requirements: deferred }));
  assert.ok((await w.approvals.review(first.pending.id, people.bob, 'approve', '')).ok);
  w.audit.fail = (e) => e.kind === 'granted';
  await assert.rejects(w.approvals.hold(holdRequest({ requirements: deferred })), {
    code: 'KG_AUDIT_UNAVAILABLE',
  });
  assert.equal((await w.approvals.get(first.pending.id))?.grantUsed, false);
  w.audit.fail = null;
  assert.equal((await w.approvals.hold(holdRequest({ requirements: deferred }))).kind, 'proceed');
  await done(w);
});

test('two reviewers approving at the same moment are both counted', async () => {
  let conflicts = 0;
  const dir = mkdtempSync(join(tmpdir(), 'kubegate-approvals-svc-'));
  dirs.push(dir);
  const inner = await openSqliteApprovalStore(dir);
  const counting: ApprovalStore = {
    ...inner,
    put: async (pending, version) => {
      const written = await inner.put(pending, version);
      if (written === null) conflicts++;
      return written;
    },
  };
  const w = await world({ store: counting });
  const two = [
    requirement({
      mode: 'deferred',
      stages: [{ name: 'a', approvers: [{ kind: 'group', name: 'sre' }], count: 2 }],
    }),
  ];
  const first = await w.approvals.hold(holdRequest({ requirements: two }));
  const [b, c] = await Promise.all([
    w.approvals.review(first.pending.id, people.bob, 'approve', ''),
    w.approvals.review(first.pending.id, people.carol, 'approve', ''),
  ]);
  assert.ok(b.ok && c.ok);
  const final = await w.approvals.get(first.pending.id);
  assert.equal(final?.state, 'approved');
  assert.deepEqual(final?.reviews.map((r) => r.reviewer).sort(), ['bob', 'carol']);
  assert.equal(w.audit.kinds().filter((k) => k === 'reviewed').length, 2);
  assert.equal(conflicts, 1, 'the second writer lost the compare-and-set once and re-applied');
  await done(w);
  await inner.close();
});

test('break-glass: the requester self-approves with a reason, flagged in the audit trail and notified', async () => {
  const w = await world();
  const h = await held(w, { requirements: [requirement({ breakGlass: true })] });
  const pending = await onlyPending(w);
  const refused = await w.approvals.review(pending.id, people.alice, 'approve', '', {
    breakGlassReason: ' ',
  });
  assert.ok(!refused.ok && refused.refusal === 'break-glass-needs-reason');
  const result = await w.approvals.review(pending.id, people.alice, 'approve', '', {
    breakGlassReason: 'INC-42: prod is down',
  });
  assert.ok(result.ok);
  assert.equal((await h.outcome).kind, 'proceed');
  const reviewed = w.audit.events.find((e) => e.kind === 'reviewed');
  assert.equal(reviewed?.breakGlass, true);
  assert.equal(reviewed?.actor, 'alice');
  assert.equal(reviewed?.comment, 'INC-42: prod is down');
  assert.ok(w.log.entries.some((e) => e.level === 'warn' && e.message.startsWith('break-glass')));
  const notifiedReview = w.notified.find((e) => e.type === 'reviewed');
  assert.ok(notifiedReview?.type === 'reviewed' && notifiedReview.review.breakGlass);
  await done(w);
});

test('review refusals: an unknown id, the requester, a non-approver', async () => {
  const w = await world();
  const unknown = await w.approvals.review('kg-nothere000', people.bob, 'approve', '');
  assert.ok(!unknown.ok && unknown.refusal === 'not-found');
  const first = await w.approvals.hold(holdRequest({ requirements: deferred }));
  const own = await w.approvals.review(first.pending.id, people.alice, 'approve', '');
  assert.ok(!own.ok && own.refusal === 'own-request');
  assert.match(own.message, /nobody approves their own request/);
  const outsider = await w.approvals.review(first.pending.id, people.dave, 'deny', '');
  assert.ok(!outsider.ok && outsider.refusal === 'not-an-approver');
  assert.equal(w.approvals.eligibility(first.pending, people.bob), null);
  assert.equal(w.approvals.eligibility(first.pending, people.frank), 'not-an-approver');
  assert.deepEqual(w.audit.kinds(), ['approval-requested']);
  await done(w);
});

// — time —

test('expiry: an unanswered request expires on its timer, audited, and the held client is told', async () => {
  const w = await world();
  const h = await held(w, { requirements: [requirement({ expiresAfterMs: 2 * MIN })] });
  const pending = await onlyPending(w);
  assert.ok(w.timers.live().some((e) => e.ms === 2 * MIN));
  w.timers.advance(w.clock, 2 * MIN);
  const outcome = await h.outcome;
  assert.equal(outcome.kind, 'expired');
  assert.equal((await w.approvals.get(pending.id))?.state, 'expired');
  assert.deepEqual(w.audit.kinds(), ['approval-requested', 'expired']);
  assert.equal(w.audit.events[1]?.pendingId, pending.id);
  assert.equal(w.audit.events[1]?.user, 'alice');
  assert.deepEqual(
    w.events.map((e) => e.type),
    ['created', 'expired'],
  );
  const late = await w.approvals.review(pending.id, people.bob, 'approve', '');
  assert.ok(!late.ok && late.refusal === 'not-pending');
  await done(w);
});

test('escalation: after escalateAfter the escalateTo approvers are asked, audited and notified', async () => {
  const w = await world();
  const first = await w.approvals.hold(
    holdRequest({
      requirements: [
        requirement({
          mode: 'deferred',
          escalateAfterMs: MIN,
          escalateTo: [{ kind: 'group', name: 'managers' }],
          expiresAfterMs: 10 * MIN,
        }),
      ],
    }),
  );
  const early = await w.approvals.review(first.pending.id, people.frank, 'approve', '');
  assert.ok(!early.ok && early.refusal === 'not-an-approver');
  w.timers.advance(w.clock, MIN);
  await w.approvals.idle();
  assert.equal((await w.approvals.get(first.pending.id))?.escalated, true);
  assert.deepEqual(w.audit.kinds(), ['approval-requested', 'escalated']);
  assert.ok(w.notified.some((e) => e.type === 'escalated'));
  // The expiry timer is armed next.
  assert.ok(w.timers.live().some((e) => e.due === T0.getTime() + 10 * MIN));
  assert.ok((await w.approvals.review(first.pending.id, people.frank, 'approve', '')).ok);
  assert.equal(w.timers.live().length, 0);
  await done(w);
});

test('a restart keeps pending requests approvable and re-arms their deadlines', async () => {
  const first = await world();
  const created = await first.approvals.hold(
    holdRequest({ requirements: [requirement({ mode: 'deferred', expiresAfterMs: 30 * MIN })] }),
  );
  await done(first);

  first.clock.ms += 10 * MIN;
  const second = await world({}, first);
  const pending = await onlyPending(second);
  assert.equal(pending.id, created.pending.id);
  const timer = second.timers.live().find((e) => e.due === T0.getTime() + 30 * MIN);
  assert.equal(timer?.ms, 20 * MIN);
  assert.ok((await second.approvals.review(pending.id, people.bob, 'approve', '')).ok);
  const rerun = await second.approvals.hold(
    holdRequest({ requirements: [requirement({ mode: 'deferred', expiresAfterMs: 30 * MIN })] }),
  );
  assert.ok(rerun.kind === 'proceed' && rerun.viaGrant);
  await done(second);
});

test('a deadline that passed while kubegate was down is applied at start', async () => {
  const first = await world();
  const created = await first.approvals.hold(
    holdRequest({ requirements: [requirement({ mode: 'deferred', expiresAfterMs: MIN })] }),
  );
  await done(first);
  first.clock.ms += 5 * MIN;
  const second = await world({}, first);
  assert.equal((await second.approvals.get(created.pending.id))?.state, 'expired');
  assert.deepEqual(second.audit.kinds(), ['approval-requested', 'expired']);
  assert.equal(second.timers.live().length, 0);
  await done(second);
});

// — context, events —

test('reviewer context is built in the background, stored, and announced; the hold does not wait for it', async () => {
  let deliver = (_: ReviewerContext): void => undefined;
  const context: ReviewerContext = {
    targetLabels: { app: 'db' },
    dryRun: null,
    diff: '',
    objects: null,
    exec: null,
    notes: [],
  };
  const seen: string[] = [];
  const w = await world({
    context: (pending, input) => {
      seen.push(`${pending.id} ${input.request.name}`);
      return new Promise((resolve) => (deliver = resolve));
    },
  });
  const outcome = await w.approvals.hold(holdRequest({ requirements: deferred }));
  assert.equal(outcome.kind, 'waiting');
  assert.deepEqual(seen, [`${outcome.pending.id} db`]);
  assert.equal((await w.approvals.get(outcome.pending.id))?.context, null);
  deliver(context);
  await w.approvals.idle();
  assert.deepEqual((await w.approvals.get(outcome.pending.id))?.context, context);
  assert.deepEqual(
    w.events.map((e) => e.type),
    ['created', 'context'],
  );
  await done(w);
});

test('a failing reviewer context is logged and changes nothing else', async () => {
  const w = await world({ context: () => Promise.reject(new Error('dry run refused')) });
  const outcome = await w.approvals.hold(holdRequest({ requirements: deferred }));
  await w.approvals.idle();
  assert.equal((await w.approvals.get(outcome.pending.id))?.state, 'pending');
  assert.ok(w.log.entries.some((e) => e.level === 'warn' && e.message === 'reviewer context failed'));
  await done(w);
});

test('a subscriber or notifier that throws breaks nothing; unsubscribe stops events', async () => {
  const w = await world({
    notify: () => {
      throw new Error('boom');
    },
  });
  const seen: string[] = [];
  const stop = w.approvals.subscribe(() => {
    throw new Error('bad listener');
  });
  const off = w.approvals.subscribe((e) => seen.push(e.type));
  const first = await w.approvals.hold(holdRequest({ requirements: deferred }));
  stop();
  off();
  assert.ok((await w.approvals.review(first.pending.id, people.bob, 'approve', '')).ok);
  assert.deepEqual(seen, ['created']);
  assert.ok(w.log.entries.some((e) => e.message === 'approval notifier failed'));
  await done(w);
});

test('closing answers held clients with waiting and refuses new holds', async () => {
  const w = await world();
  const h = await held(w);
  await w.approvals.close();
  assert.equal((await h.outcome).kind, 'waiting');
  await assert.rejects(w.approvals.hold(holdRequest()), { code: 'KG_INTERNAL' });
  await w.store.close();
});

test('pending ids are kg- and 10 lowercase base32 characters', () => {
  for (let i = 0; i < 50; i++) assert.match(newPendingId(), /^kg-[a-z2-7]{10}$/);
});

// — standing approvals —

const standingRule = (scope: 'identical' | 'rule', maxMs = 60 * MIN): ApprovalRequirement[] => [
  requirement({ mode: 'deferred', standing: { maxMs, scope } }),
];

/** alice's deferred request (a PATCH of `target`), approved by bob with a standing approval. */
async function standingGiven(
  w: World,
  requirements: readonly ApprovalRequirement[],
  ask: { scope: 'identical' | 'rule'; durationMs: number },
): Promise<PendingRequest> {
  const first = await w.approvals.hold(holdRequest({ requirements }));
  assert.equal(first.kind, 'waiting');
  const result = await w.approvals.review(first.pending.id, people.bob, 'approve', 'for the migration', {
    standing: ask,
  });
  assert.ok(result.ok, result.ok ? '' : result.message);
  return result.pending;
}

test('standing, identical: the same request goes through again and again until it ends; each use audited', async () => {
  const w = await world();
  const given = await standingGiven(w, standingRule('identical'), {
    scope: 'identical',
    durationMs: 30 * MIN,
  });
  assert.equal(given.standing?.scope, 'identical');
  const reviewed = w.audit.events.find((e) => e.kind === 'reviewed');
  assert.deepEqual(reviewed?.standing, { scope: 'identical', until: given.standing?.until, uses: 0 });
  for (let i = 1; i <= 3; i++) {
    const again = await w.approvals.hold(holdRequest({ requirements: standingRule('identical') }));
    assert.equal(again.kind, 'proceed', `use ${i}`);
    assert.ok(again.kind === 'proceed' && again.viaGrant && again.pending.id === given.id);
  }
  const uses = w.audit.events.filter((e) => e.kind === 'granted').map((e) => e.standing?.uses);
  assert.deepEqual(uses, [1, 2, 3]);
  // Another body, another requester: not covered, each asks anew.
  const otherBody = await w.approvals.hold(
    holdRequest({ requirements: standingRule('identical'), body: '{"spec":{"replicas":9}}' }),
  );
  assert.ok(otherBody.kind === 'waiting' && otherBody.created);
  const otherUser = await w.approvals.hold(
    holdRequest({ requirements: standingRule('identical'), who: people.frank }),
  );
  assert.ok(otherUser.kind === 'waiting' && otherUser.created);
  // Over: asks anew.
  w.clock.ms += 31 * MIN;
  const late = await w.approvals.hold(holdRequest({ requirements: standingRule('identical') }));
  assert.ok(late.kind === 'waiting' && late.created);
  await done(w);
});

test('standing, rule: the same verb on the same resource in the same namespace, under the same rules only', async () => {
  const w = await world();
  const rule = standingRule('rule');
  const given = await standingGiven(w, rule, { scope: 'rule', durationMs: 10 * MIN });
  const otherName = await w.approvals.hold(
    holdRequest({ requirements: rule, target: '/apis/apps/v1/namespaces/prod/statefulsets/cache' }),
  );
  assert.ok(otherName.kind === 'proceed' && otherName.pending.id === given.id, 'another statefulset');
  for (const [what, o] of [
    ['another namespace', { target: '/apis/apps/v1/namespaces/staging/statefulsets/db' }],
    ['another verb', { method: 'DELETE' }],
    ['another resource', { target: '/apis/apps/v1/namespaces/prod/deployments/db' }],
    ['other rules too', { requirements: [...rule, requirement({ rule: 'sensitive', mode: 'deferred' })] }],
  ] as const) {
    const r = await w.approvals.hold(holdRequest({ requirements: rule, ...o }));
    assert.ok(r.kind === 'waiting' && r.created, what);
  }
  await done(w);
});

test('standing approvals the rules do not allow are refused, and nothing is written', async () => {
  const w = await world();
  const refused = async (
    requirements: readonly ApprovalRequirement[],
    ask: { scope: 'identical' | 'rule'; durationMs: number },
    message: RegExp,
  ): Promise<void> => {
    const held = await w.approvals.hold(holdRequest({ requirements, body: `{"n":${++requestNo}}` }));
    const before = w.audit.events.length;
    const r = await w.approvals.review(held.pending.id, people.bob, 'approve', '', { standing: ask });
    assert.ok(!r.ok && r.refusal === 'standing-not-allowed', JSON.stringify(r));
    assert.match(r.ok ? '' : r.message, message);
    assert.equal(w.audit.events.length, before, 'no record');
    assert.equal((await w.approvals.get(held.pending.id))?.state, 'pending', 'no review');
  };
  await refused(
    deferred,
    { scope: 'identical', durationMs: MIN },
    /rule statefulsets-need-two does not allow/u,
  );
  await refused(standingRule('identical'), { scope: 'rule', durationMs: MIN }, /identical requests only/u);
  await refused(standingRule('rule', 60 * MIN), { scope: 'rule', durationMs: 61 * MIN }, /at most 1h/u);
  const two = [
    requirement({
      mode: 'deferred',
      stages: [{ name: 'approval', approvers: [{ kind: 'group', name: 'sre' }], count: 2 }],
      standing: { maxMs: 60 * MIN, scope: 'rule' },
    }),
  ];
  await refused(
    two,
    { scope: 'rule', durationMs: MIN },
    /does not complete .* the last approver may give one/u,
  );
  await done(w);
});

test('revoking a standing approval ends it at once; only the requester or an approver may', async () => {
  const w = await world();
  const given = await standingGiven(w, standingRule('identical'), {
    scope: 'identical',
    durationMs: 30 * MIN,
  });
  const stranger = await w.approvals.revokeStanding(given.id, people.frank);
  assert.ok(!stranger.ok && stranger.refusal === 'not-an-approver');
  const revoked = await w.approvals.revokeStanding(given.id, people.carol);
  assert.ok(revoked.ok);
  assert.equal(revoked.pending.standing?.revokedBy, 'carol');
  const record = w.audit.events.at(-1);
  assert.equal(record?.kind, 'revoked');
  assert.equal(record?.actor, 'carol');
  const after = await w.approvals.hold(holdRequest({ requirements: standingRule('identical') }));
  assert.ok(after.kind === 'waiting' && after.created, 'asks anew');
  const twice = await w.approvals.revokeStanding(given.id, people.alice);
  assert.ok(!twice.ok && twice.refusal === 'standing-not-allowed');
  await done(w);
});
