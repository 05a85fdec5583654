import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import Database from './driver.js';
import { useGrant } from '../../approvals/state-machine.js';
import type { ApprovalStore } from '../../approvals/store.js';
import type { PendingRequest } from '../../approvals/types.js';
import { at, T0, testPending, testReviewed } from '../../approvals/test-pending.js';
import { storeIn } from '../../config/schema.js';
import { openStore } from '../open.js';
import { APPROVALS_DB } from './layouts.js';

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});
function dataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'kubegate-approvals-'));
  dirs.push(dir);
  return dir;
}

/** The approval store of the SQLite store in `dir`, with the store's close. */
async function openSqliteApprovalStore(dir: string): Promise<ApprovalStore & { close(): Promise<void> }> {
  const store = await openStore(storeIn(dir));
  return { ...store.approvals, close: () => store.close() };
}

const pending = (id: string, fingerprint = 'fp-a', now = T0): PendingRequest =>
  testPending(id, { fingerprint, now });
const approved = (p: PendingRequest, now: Date): PendingRequest => testReviewed(p, 'approve', now);

test('a put request reads back equal, at version 1', async () => {
  const store = await openSqliteApprovalStore(dataDir());
  const p = pending('kg-aaaaaaaaaa');
  assert.deepEqual(await store.put(p, 0), { pending: p, version: 1 });
  assert.deepEqual(await store.get(p.id), { pending: p, version: 1 });
  assert.equal(await store.get('kg-nothere00'), null);
  await store.close();
});

test('an id that exists already is not overwritten by a new put', async () => {
  const store = await openSqliteApprovalStore(dataDir());
  const p = pending('kg-aaaaaaaaaa');
  await store.put(p, 0);
  assert.equal(await store.put({ ...p, fingerprint: 'other' }, 0), null);
  assert.equal((await store.get(p.id))?.pending.fingerprint, 'fp-a');
  await store.close();
});

test('concurrent reviews cannot lose an update: the stale writer is refused and re-reads', async () => {
  const store = await openSqliteApprovalStore(dataDir());
  const p = pending('kg-aaaaaaaaaa');
  await store.put(p, 0);
  const read1 = await store.get(p.id);
  const read2 = await store.get(p.id);
  assert.ok(read1 && read2);
  const first = await store.put({ ...read1.pending, escalated: true }, read1.version);
  assert.equal(first?.version, 2);
  assert.equal(await store.put({ ...read2.pending, context: null, reviews: [] }, read2.version), null);
  const again = await store.get(p.id);
  assert.equal(again?.version, 2);
  assert.equal(again?.pending.escalated, true);
  assert.equal(await store.put({ ...p, id: 'kg-missing000' }, 1), null);
  await store.close();
});

test('list returns every request oldest first, or those in one state', async () => {
  const store = await openSqliteApprovalStore(dataDir());
  const b = pending('kg-bbbbbbbbbb', 'fp-b', at(2000));
  const a = pending('kg-aaaaaaaaaa', 'fp-a', at(1000));
  await store.put(b, 0);
  await store.put(a, 0);
  const stored = await store.get(b.id);
  assert.ok(stored);
  await store.put(approved(b, at(3000)), stored.version);
  assert.deepEqual(
    (await store.list()).map((s) => s.pending.id),
    [a.id, b.id],
  );
  assert.deepEqual(
    (await store.list({ state: 'pending' })).map((s) => s.pending.id),
    [a.id],
  );
  assert.deepEqual(
    (await store.list({ state: 'approved' })).map((s) => s.pending.id),
    [b.id],
  );
  assert.deepEqual(await store.list({ state: 'denied' }), []);
  await store.close();
});

test('findActive finds pending requests and approved ones with an unused, unexpired grant', async () => {
  const store = await openSqliteApprovalStore(dataDir());
  const open = pending('kg-open000000', 'fp');
  const granted = approved(pending('kg-grant00000', 'fp'), T0); // grant until T0 + 10 min
  const spent = useGrant(approved(pending('kg-spent00000', 'fp'), T0), T0);
  assert.ok(spent);
  const denied = { ...pending('kg-denied0000', 'fp'), state: 'denied' as const };
  const expired = { ...pending('kg-expired000', 'fp'), state: 'expired' as const };
  const elsewhere = pending('kg-other00000', 'fp-other');
  for (const p of [open, granted, spent, denied, expired, elsewhere]) await store.put(p, 0);

  const ids = async (now: Date) => (await store.findActive('fp', now)).map((s) => s.pending.id).sort();
  assert.deepEqual(await ids(at(1000)), ['kg-grant00000', 'kg-open000000']);
  assert.deepEqual(await ids(at(600_000)), ['kg-open000000']);
  assert.deepEqual(await store.findActive('fp-none', T0), []);
  await store.close();
});

test('pending requests survive closing and reopening the store', async () => {
  const dir = dataDir();
  const first = await openSqliteApprovalStore(dir);
  const a = pending('kg-aaaaaaaaaa');
  const b = pending('kg-bbbbbbbbbb', 'fp-b', at(1));
  await first.put(a, 0);
  await first.put(b, 0);
  await first.close();

  const second = await openSqliteApprovalStore(dir);
  assert.deepEqual(await second.list({ state: 'pending' }), [
    { pending: a, version: 1 },
    { pending: b, version: 1 },
  ]);
  assert.equal((await second.put(approved(a, at(5)), 1))?.version, 2);
  await second.close();
});

test('the database is in WAL mode, readable by its owner only, at the latest layout', async () => {
  const dir = dataDir();
  const store = await openSqliteApprovalStore(dir);
  await store.put(pending('kg-aaaaaaaaaa'), 0);
  assert.equal((await stat(join(dir, APPROVALS_DB))).mode & 0o777, 0o600);
  const db = new Database(join(dir, APPROVALS_DB), { readonly: true });
  try {
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    assert.equal(db.pragma('user_version', { simple: true }), 4);
  } finally {
    db.close();
  }
  await store.close();
});

test('a database from a newer kubegate is refused rather than misread', async () => {
  const dir = dataDir();
  const db = new Database(join(dir, APPROVALS_DB));
  db.pragma('user_version = 99');
  db.close();
  await assert.rejects(openSqliteApprovalStore(dir), { code: 'KG_CONFIG_INVALID' });
});
