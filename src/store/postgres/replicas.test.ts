// Approval services as replicas on one real PostgreSQL store (test-server.ts): a client held on
// replica A is released by a review on replica B (LISTEN/NOTIFY), each replica's subscribers see
// the other's events, a deadline fires once in the group and still fires when the replica that
// saw the request is gone, a lost notification is caught up by the resync after a reconnect, and
// a step whose audit record cannot be written leaves neither the step nor the record.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import { openApprovals, type Approvals } from '../../approvals/service.js';
import type { ApprovalChange, ApprovalStore } from '../../approvals/store.js';
import type { ApprovalEvent, HoldRequest } from '../../approvals/types.js';
import { KubegateError } from '../../errors.js';
import type { ApprovalRequirement, ApproveDecision } from '../../policy/decision.js';
import { withBody } from '../../request/body.js';
import { parseRequest } from '../../request/parse.js';
import { openStore, type Store } from '../open.js';
import { postgresChanges } from './changes.js';
import { openPool } from './database.js';
import { postgresStoreConfig, startTestPostgres, type TestPostgres } from './test-server.js';

let server: TestPostgres;
before(async () => {
  server = await startTestPostgres();
});
after(async () => {
  await server.stop();
});

const quiet = { info: () => {}, warn: () => {}, error: () => {} };
const sre = { user: 'bob', groups: ['sre'] };

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

let n = 0;
function holdRequest(
  o: { requirements?: readonly ApprovalRequirement[]; signal?: AbortSignal; name?: string } = {},
): HoldRequest {
  const request = parseRequest({
    method: 'DELETE',
    target: `/apis/apps/v1/namespaces/prod/statefulsets/${o.name ?? 'db'}`,
    headers: {},
  });
  const decision: ApproveDecision = {
    kind: 'approve',
    rules: [{ name: 'statefulsets-need-two', action: 'approve' }],
    byDefault: false,
    approval: o.requirements ?? [requirement()],
  };
  return {
    identity: { user: 'alice', groups: ['dev'], method: 'token' },
    request,
    body: withBody(request, Buffer.alloc(0)),
    bodyBytes: null,
    decision,
    requestId: `req-${++n}`,
    sourceAddress: '10.0.0.7',
    signal: o.signal ?? new AbortController().signal,
  };
}

interface Replica {
  readonly store: Store;
  readonly approvals: Approvals;
  readonly events: ApprovalEvent[];
  readonly notified: ApprovalEvent[];
  stop(): Promise<void>;
}

async function replica(url: string, approvalStore?: (store: Store) => ApprovalStore): Promise<Replica> {
  const store = await openStore(postgresStoreConfig(url));
  const notified: ApprovalEvent[] = [];
  const approvals = await openApprovals({
    store: approvalStore?.(store) ?? store.approvals,
    audit: store.audit,
    now: () => new Date(),
    holdTimeoutMs: 30_000,
    notify: (e) => notified.push(e),
    log: quiet,
  });
  const events: ApprovalEvent[] = [];
  approvals.subscribe((e) => events.push(e));
  return {
    store,
    approvals,
    events,
    notified,
    stop: async () => {
      await approvals.close();
      await approvals.idle();
      await store.close();
    },
  };
}

async function until<T>(what: string, probe: () => T | null | undefined | false, ms = 5_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = probe();
    if (value !== null && value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

async function kinds(url: string): Promise<string[]> {
  return (await server.sql(url, 'SELECT kind FROM audit_events ORDER BY seq')).rows.map(
    (r: { kind: string }) => r.kind,
  );
}

/** Waits until both replicas listen (a change published before that would be missed by design). */
async function listening(url: string, count: number): Promise<void> {
  for (let i = 0; i < 500; i++) {
    const rows = await server.sql(
      url,
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'kubegate-changes' AND datname = current_database()",
    );
    if ((rows.rows[0] as { n: number }).n >= count) return;
    await sleep(10);
  }
  throw new Error('replicas never listened');
}

test('a client held on replica A is released by a review on replica B, and each sees the other', async () => {
  const url = await server.createDatabase();
  const a = await replica(url);
  const b = await replica(url);
  try {
    await listening(url, 2);
    const outcome = a.approvals.hold(holdRequest());
    const created = await until('B hears of the request', () => b.events.find((e) => e.type === 'created'));
    const approvedAt = Date.now();
    const result = await b.approvals.review(created.pending.id, sre, 'approve', 'ok');
    assert.ok(result.ok);
    const held = await outcome;
    const took = Date.now() - approvedAt;
    assert.equal(held.kind, 'proceed');
    assert.ok(took < 1_000, `released ${took} ms after the approval`);
    // A's subscribers saw B's review and decision; notifications went out once, from B.
    await until('A hears the decision', () => a.events.find((e) => e.type === 'decided'));
    const reviewed = a.events.find((e) => e.type === 'reviewed');
    assert.ok(reviewed?.type === 'reviewed' && reviewed.review.reviewer === 'bob');
    assert.deepEqual(
      a.notified.map((e) => e.type),
      ['created', 'granted'],
    );
    assert.deepEqual(
      b.notified.map((e) => e.type),
      ['reviewed', 'decided'],
    );
    await until('B hears the grant', () => b.events.find((e) => e.type === 'granted'));
    assert.deepEqual(await kinds(url), ['approval-requested', 'reviewed', 'granted']);
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
});

test('a deadline fires once in the group, and still fires when the replica that made the request is gone', async () => {
  const url = await server.createDatabase();
  const [a, b, c] = await Promise.all([replica(url), replica(url), replica(url)]);
  try {
    await listening(url, 3);
    const deferred = [requirement({ mode: 'deferred', expiresAfterMs: 400 })];
    const first = await a.approvals.hold(holdRequest({ requirements: deferred, name: 'one' }));
    // The second request's maker goes away before its deadline: the others expire it.
    const second = await c.approvals.hold(holdRequest({ requirements: deferred, name: 'two' }));
    await until('A and B hear of both', () =>
      [a, b].every((r) => r.events.filter((e) => e.type === 'created').length >= 1),
    );
    await until('B hears of the second', () =>
      b.events.find((e) => e.type === 'created' && e.pending.id === second.pending.id),
    );
    await c.stop();
    for (const id of [first.pending.id, second.pending.id]) {
      await until(`${id} expired`, () =>
        [a, b].every((r) => r.events.some((e) => e.type === 'expired' && e.pending.id === id)),
      );
    }
    await sleep(300);
    const expired = (
      await server.sql(url, 'SELECT "pending_id" FROM audit_events WHERE kind = \'expired\' ORDER BY seq')
    ).rows.map((r: { pending_id: string }) => r.pending_id);
    assert.deepEqual(expired.sort(), [first.pending.id, second.pending.id].sort());
    assert.equal((await a.approvals.get(second.pending.id))?.state, 'expired');
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
});

test('a notification lost while the feed was down is caught up by the resync after reconnecting', async () => {
  const url = await server.createDatabase();
  // Replica A's feed is cut by hand: changes are dropped until the test lets them through again.
  let cut = false;
  let resync: () => void = () => {};
  const a = await replica(url, (store) => ({
    ...store.approvals,
    changes: {
      publish: (change) => store.approvals.changes?.publish(change),
      subscribe: (onChange: (change: ApprovalChange) => void, onResync: () => void) => {
        resync = onResync;
        return (
          store.approvals.changes?.subscribe(
            (change) => {
              if (!cut) onChange(change);
            },
            () => {
              if (!cut) onResync();
            },
          ) ?? (() => {})
        );
      },
    },
  }));
  const b = await replica(url);
  try {
    await listening(url, 2);
    let settled = false;
    const outcome = a.approvals.hold(holdRequest());
    void outcome.finally(() => (settled = true));
    const created = await until('B hears of it', () => b.events.find((e) => e.type === 'created'));
    // A's hold re-reads the request once after it starts waiting: let that pass first.
    await sleep(200);
    cut = true;
    assert.ok((await b.approvals.review(created.pending.id, sre, 'approve', '')).ok);
    await sleep(300);
    assert.equal(settled, false, 'the lost notification did not reach A');
    cut = false;
    resync();
    assert.equal((await outcome).kind, 'proceed');
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
});

test('the change feed reconnects after its connection is killed, resyncs, and hears changes again', async () => {
  const url = await server.createDatabase();
  const pool = openPool(url, 2);
  const listener = postgresChanges(url, pool);
  const sender = postgresChanges(url, pool);
  const heard: string[] = [];
  let resyncs = 0;
  listener.subscribe(
    (change) => heard.push(change.id),
    () => (resyncs += 1),
  );
  try {
    await until('connected', () => resyncs === 1);
    sender.publish({ type: 'created', id: 'kg-one' });
    await until('first change', () => heard.includes('kg-one'));
    await server.sql(
      url,
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'kubegate-changes' AND datname = current_database()",
    );
    await until('reconnected and resynced', () => resyncs === 2);
    sender.publish({ type: 'decided', id: 'kg-two' });
    await until('a change after the reconnect', () => heard.includes('kg-two'));
    // Its own changes are not delivered back to the publisher.
    listener.publish({ type: 'created', id: 'kg-own' });
    sender.publish({ type: 'created', id: 'kg-three' });
    await until('third change', () => heard.includes('kg-three'));
    assert.ok(!heard.includes('kg-own'));
  } finally {
    await listener.close();
    await sender.close();
    await pool.end();
  }
});

test('a step whose audit record cannot be written is not applied: no request, no review, no record', async () => {
  const url = await server.createDatabase();
  const a = await replica(url);
  try {
    const blocked = async (on: boolean): Promise<void> => {
      await server.sql(
        url,
        on
          ? `CREATE OR REPLACE FUNCTION refuse_audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'audit refused by the test'; END $$;
             CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION refuse_audit()`
          : 'DROP TRIGGER refuse_audit ON audit_events',
      );
    };
    await blocked(true);
    await assert.rejects(
      a.approvals.hold(holdRequest({ requirements: [requirement({ mode: 'deferred' })] })),
      (err) => {
        assert.ok(err instanceof KubegateError && err.code === 'KG_AUDIT_UNAVAILABLE', String(err));
        return true;
      },
    );
    assert.deepEqual(await a.approvals.list(), []);
    await blocked(false);
    const made = await a.approvals.hold(holdRequest({ requirements: [requirement({ mode: 'deferred' })] }));
    await blocked(true);
    await assert.rejects(
      a.approvals.review(made.pending.id, sre, 'approve', ''),
      /KG_AUDIT_UNAVAILABLE|audit/u,
    );
    const after = await a.store.approvals.get(made.pending.id);
    assert.equal(after?.pending.state, 'pending');
    assert.equal(after?.version, 1);
    await blocked(false);
    assert.ok((await a.approvals.review(made.pending.id, sre, 'approve', '')).ok);
    assert.deepEqual(await kinds(url), ['approval-requested', 'reviewed']);
  } finally {
    await a.stop();
  }
});
