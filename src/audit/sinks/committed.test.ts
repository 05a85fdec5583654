// The trails' onCommitted hook (committed.ts) on both stores: each committed batch is handed over
// in seq order with its prevHash, hash and canonical text, exactly the records the store keeps
// (export's lines byte for byte); nothing of a failed batch is handed over; and on PostgreSQL with
// two replicas each hands over the records it committed — the trail's own batches and an approval
// step written with its record — so each copy is a partial copy that checks, and together they
// are the whole chain.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import { testPending } from '../../approvals/test-pending.js';
import { storeIn } from '../../config/schema.js';
import { openStore, type Store } from '../../store/open.js';
import {
  postgresStoreConfig,
  startTestPostgres,
  type TestPostgres,
} from '../../store/postgres/test-server.js';
import { SqliteAuditTrail } from '../../store/sqlite/audit-trail.js';
import type { StoredAuditRecord } from '../chain.js';
import { auditEvent } from '../event.js';
import { exportLine } from '../export.js';
import { checkCopy } from './check-copy.js';

let server: TestPostgres;
before(async () => {
  server = await startTestPostgres();
});
after(async () => {
  await server.stop();
});

const T0 = new Date('2026-12-01T10:00:00.000Z');
const event = (n: number) =>
  auditEvent('decided', new Date(T0.getTime() + n), { user: `u${n}`, requestId: `r${n}` });

async function stored(store: Store): Promise<StoredAuditRecord[]> {
  const records: StoredAuditRecord[] = [];
  for await (const record of store.auditReader.records()) records.push(record);
  return records;
}

const lines = (records: readonly StoredAuditRecord[]) => Readable.from(records.map((r) => exportLine(r)));

test('SQLite: each committed batch is handed over in seq order, exactly as stored', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kubegate-committed-'));
  try {
    const batches: StoredAuditRecord[][] = [];
    const store = await openStore(storeIn(dir), {
      onAuditCommitted: (records) => batches.push([...records]),
    });
    await Promise.all([1, 2, 3].map((n) => store.audit.append(event(n))));
    store.audit.appendLater(event(4));
    await store.audit.append(event(5));
    const all = await stored(store);
    await store.close();
    // Three durable appends in one tick share one transaction: one batch of three.
    assert.equal(batches[0]?.length, 3);
    assert.deepEqual(batches.flat(), all);
    assert.deepEqual(
      batches.flat().map((r) => r.seq),
      [1, 2, 3, 4, 5],
    );
    assert.deepEqual(await checkCopy(lines(batches.flat())), {
      ok: true,
      count: 5,
      first: 1,
      last: { seq: 5, hash: all[4]?.hash },
      missing: 0,
      compared: 0,
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('SQLite: a batch that could not be committed is not handed over', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kubegate-committed-'));
  try {
    const file = join(dir, 'audit.db');
    const handed: StoredAuditRecord[] = [];
    const trail = await SqliteAuditTrail.open(file, { onCommitted: (records) => handed.push(...records) });
    await trail.append(event(1));
    // The file replaced under the open trail: the next commit is refused (audit-trail.ts).
    await rm(file);
    await assert.rejects(trail.append(event(2)), { code: 'KG_AUDIT_UNAVAILABLE' });
    await trail.close();
    assert.deepEqual(
      handed.map((r) => r.seq),
      [1],
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('SQLite: a handler that throws does not break the trail', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kubegate-committed-'));
  try {
    const trail = await SqliteAuditTrail.open(join(dir, 'audit.db'), {
      onCommitted: () => {
        throw new TypeError('a buggy sink');
      },
    });
    await trail.append(event(1));
    await trail.append(event(2));
    assert.equal(trail.head.seq, 2);
    await trail.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('PostgreSQL, two replicas: each hands over what it committed; each copy checks as partial, together the chain', async () => {
  const url = await server.createDatabase();
  const copies: StoredAuditRecord[][] = [[], []];
  const [a, b] = await Promise.all(
    copies.map((copy) =>
      openStore(postgresStoreConfig(url), { onAuditCommitted: (records) => copy.push(...records) }),
    ),
  );
  assert.ok(a && b);
  for (let round = 0; round < 10; round++) {
    await Promise.all([a.audit.append(event(round * 2)), b.audit.append(event(round * 2 + 1))]);
  }
  // An approval step written with its record, in the approval store's own transaction.
  const pending = testPending('pending-1', { fingerprint: 'fp', now: T0 });
  assert.ok(a.approvals.putWithRecord);
  await a.approvals.putWithRecord(
    pending,
    0,
    auditEvent('approval-requested', T0, { pendingId: 'pending-1' }),
  );
  const all = await stored(a);
  await Promise.all([a.close(), b.close()]);

  const [copyA = [], copyB = []] = copies;
  assert.equal(all.length, 21);
  assert.ok(copyA.some((r) => (JSON.parse(r.canonical) as { kind: string }).kind === 'approval-requested'));
  assert.deepEqual(
    [...copyA, ...copyB].sort((x, y) => x.seq - y.seq),
    all,
  );
  for (const copy of [copyA, copyB]) {
    assert.ok(copy.length > 0 && copy.length < all.length);
    // A replica's copy alone: every record verifies, and has gaps where the other one wrote.
    const whole = await checkCopy(lines(copy));
    assert.equal(whole.ok, false);
    assert.equal(!whole.ok && whole.problem, 'deleted');
    const partial = await checkCopy(lines(copy), { partial: true });
    assert.equal(partial.ok && partial.count, copy.length);
  }
});
