// SqliteAuditTrail against real SQLite files: durable before append resolves, one transaction
// per batch, the chain continued across restarts and kill -9, and failed writes refused loudly.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, test } from 'node:test';
import Database from './driver.js';
import { GENESIS_HASH } from '../../audit/chain.js';
import { auditEvent } from '../../audit/event.js';
import type { AuditEvent } from '../../audit/event.js';
import { KubegateError } from '../../errors.js';
import { openSqliteAuditReader } from './audit-reader.js';
import { SqliteAuditTrail } from './audit-trail.js';

let root: string;
let n = 0;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'kubegate-audit-trail-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

const freshPath = (): string => join(root, `t${++n}`, 'audit.db');

function event(i: number, fields: Partial<AuditEvent> = {}): AuditEvent {
  return auditEvent('decided', new Date(Date.UTC(2026, 0, 1, 0, 0, 0, i)), {
    requestId: `req-${i}`,
    user: 'alice',
    decision: 'allow',
    ...fields,
  });
}

function rows(path: string): { seq: number; request_id: string }[] {
  const db = new Database(path, { readonly: true });
  try {
    return db
      .prepare<[], { seq: number; request_id: string }>(
        'SELECT seq, request_id FROM audit_events ORDER BY seq',
      )
      .all();
  } finally {
    db.close();
  }
}

async function verified(path: string): Promise<number> {
  const reader = openSqliteAuditReader(path, { verify: 'inline' });
  try {
    const report = await reader.verify();
    assert.equal(report.ok, true, JSON.stringify(report));
    return report.count;
  } finally {
    reader.close();
  }
}

async function rejectsWith(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (err: unknown) => err instanceof KubegateError && err.code === code);
}

test('an append is in the file, seen by another connection, once it resolves', async () => {
  const path = freshPath();
  const trail = await SqliteAuditTrail.open(path);
  await trail.append(event(1));
  assert.deepEqual(rows(path), [{ seq: 1, request_id: 'req-1' }]);
  assert.equal(trail.head.seq, 1);
  assert.notEqual(trail.head.hash, GENESIS_HASH);
  await trail.close();
});

test('the file is in WAL mode and the trail commits with synchronous=FULL', async () => {
  const path = freshPath();
  const trail = await SqliteAuditTrail.open(path);
  const db = new Database(path, { readonly: true });
  assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
  db.close();
  assert.equal(trail.synchronous, 'full');
  await trail.close();
});

test('the file, its WAL and its shared memory are readable by their owner only', async () => {
  const path = freshPath();
  const trail = await SqliteAuditTrail.open(path);
  await trail.append(event(1));
  for (const file of [path, `${path}-wal`, `${path}-shm`]) {
    assert.equal((await stat(file)).mode & 0o777, 0o600, file);
  }
  await trail.close();
});

test('appends made in the same tick share one transaction, chained in call order', async () => {
  const path = freshPath();
  const trail = await SqliteAuditTrail.open(path);
  await Promise.all(Array.from({ length: 32 }, (_, i) => trail.append(event(i + 1))));
  assert.deepEqual(trail.stats, { commits: 1, records: 32 });
  assert.deepEqual(
    rows(path).map((r) => r.request_id),
    Array.from({ length: 32 }, (_, i) => `req-${i + 1}`),
  );
  assert.equal(await verified(path), 32);
  await trail.close();
});

test('batched events wait for their window, and a durable append takes them along in order', async () => {
  const path = freshPath();
  const trail = await SqliteAuditTrail.open(path, { laterBatchMs: 3_600_000 });
  trail.appendLater(event(1));
  trail.appendLater(event(2));
  assert.deepEqual(rows(path), []);
  await trail.append(event(3));
  assert.deepEqual(
    rows(path).map((r) => r.request_id),
    ['req-1', 'req-2', 'req-3'],
  );
  assert.deepEqual(trail.stats, { commits: 1, records: 3 });
  await trail.close();
});

test('batched events are written when their window ends', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const path = freshPath();
  const trail = await SqliteAuditTrail.open(path);
  trail.appendLater(event(1));
  t.mock.timers.tick(19);
  assert.deepEqual(rows(path), []);
  t.mock.timers.tick(1);
  assert.deepEqual(rows(path), [{ seq: 1, request_id: 'req-1' }]);
  await trail.close();
});

test('close writes what is still queued', async () => {
  const path = freshPath();
  const trail = await SqliteAuditTrail.open(path, { laterBatchMs: 3_600_000 });
  trail.appendLater(event(1));
  await trail.close();
  assert.equal(await verified(path), 1);
});

test('the chain continues across a restart', async () => {
  const path = freshPath();
  const first = await SqliteAuditTrail.open(path);
  await first.append(event(1));
  await first.append(event(2));
  const head = first.head;
  await first.close();
  const second = await SqliteAuditTrail.open(path);
  assert.deepEqual(second.head, head);
  await second.append(event(3));
  await second.close();
  assert.deepEqual(
    rows(path).map((r) => r.seq),
    [1, 2, 3],
  );
  assert.equal(await verified(path), 3);
});

test('two trails on one file continue one chain instead of forking it', async () => {
  const path = freshPath();
  const a = await SqliteAuditTrail.open(path);
  const b = await SqliteAuditTrail.open(path);
  await a.append(event(1));
  await b.append(event(2));
  await a.append(event(3));
  await Promise.all([a.close(), b.close()]);
  assert.equal(await verified(path), 3);
});

test('an append rejects with KG_AUDIT_UNAVAILABLE when the write fails, and the unwritten events are reported', async () => {
  const path = freshPath();
  const reported: [string, number, string[]][] = [];
  const trail = await SqliteAuditTrail.open(path, {
    busyTimeoutMs: 0,
    onError: (err, lost, events) =>
      reported.push([
        err.code,
        lost,
        events.map((text) => (JSON.parse(text) as { requestId: string }).requestId),
      ]),
  });
  await trail.append(event(1));
  // Another writer holds the file's write lock: the commit cannot happen.
  const other = new Database(path);
  other.exec('BEGIN IMMEDIATE');
  trail.appendLater(event(2));
  await rejectsWith(trail.append(event(3)), 'KG_AUDIT_UNAVAILABLE');
  // One lost (batched, nobody waiting), and both events handed over for the log to keep.
  assert.deepEqual(reported, [['KG_AUDIT_UNAVAILABLE', 1, ['req-2', 'req-3']]]);
  other.exec('ROLLBACK');
  other.close();
  // The failed batch left nothing behind: the next record follows seq 1.
  await trail.append(event(4));
  await trail.close();
  assert.deepEqual(rows(path), [
    { seq: 1, request_id: 'req-1' },
    { seq: 2, request_id: 'req-4' },
  ]);
  assert.equal(await verified(path), 2);
});

const replacements: readonly { name: string; change: (path: string) => Promise<void> }[] = [
  { name: 'the file removed', change: (path) => unlink(path) },
  { name: 'the file replaced', change: (path) => rename(`${path}.other`, path) },
  { name: 'its WAL removed', change: (path) => unlink(`${path}-wal`) },
];

for (const row of replacements) {
  test(`an append rejects with KG_AUDIT_UNAVAILABLE after ${row.name} under the open trail`, async () => {
    const path = freshPath();
    const trail = await SqliteAuditTrail.open(path);
    await trail.append(event(1));
    await SqliteAuditTrail.open(`${path}.other`).then((t) => t.close());
    await row.change(path);
    await rejectsWith(trail.append(event(2)), 'KG_AUDIT_UNAVAILABLE');
    await rejectsWith(trail.append(event(3)), 'KG_AUDIT_UNAVAILABLE');
    await trail.close();
  });
}

test('appends after close reject with KG_AUDIT_UNAVAILABLE, batched ones are reported', async () => {
  const reported: string[] = [];
  const trail = await SqliteAuditTrail.open(freshPath(), { onError: (err) => reported.push(err.code) });
  await trail.close();
  await rejectsWith(trail.append(event(1)), 'KG_AUDIT_UNAVAILABLE');
  trail.appendLater(event(2));
  assert.deepEqual(reported, ['KG_AUDIT_UNAVAILABLE']);
});

test('an event whose time is not toISOString text is refused with KG_INTERNAL', async () => {
  const trail = await SqliteAuditTrail.open(freshPath());
  await rejectsWith(trail.append({ ...event(1), time: '2026-01-01 00:00:00' }), 'KG_INTERNAL');
  await rejectsWith(trail.append({ ...event(1), latencyMs: Number.NaN }), 'KG_INTERNAL');
  await trail.close();
});

test('opening a file that is not an audit database rejects with KG_AUDIT_UNAVAILABLE', async () => {
  const path = freshPath();
  await SqliteAuditTrail.open(path).then((t) => t.close());
  await writeFile(path, 'not a database, just text that is long enough to be read as a header\n'.repeat(20));
  await rejectsWith(SqliteAuditTrail.open(path), 'KG_AUDIT_UNAVAILABLE');
});

test('opening a trail where no directory can be made rejects with KG_AUDIT_UNAVAILABLE', async () => {
  const file = join(root, `plain-file-${++n}`);
  await writeFile(file, '');
  await rejectsWith(SqliteAuditTrail.open(join(file, 'audit.db')), 'KG_AUDIT_UNAVAILABLE');
});

test('reading a trail that does not exist throws KG_AUDIT_UNAVAILABLE', () => {
  assert.throws(
    () => openSqliteAuditReader(join(root, 'nowhere', 'audit.db'), { verify: 'inline' }),
    (err: unknown) => err instanceof KubegateError && err.code === 'KG_AUDIT_UNAVAILABLE',
  );
});

// A writer killed with SIGKILL while appending: every append it saw resolve is in the file,
// nothing half-written remains, and the chain verifies and continues.
const WRITER = `
import { SqliteAuditTrail } from ${JSON.stringify(new URL('./audit-trail.ts', import.meta.url).pathname)};
const trail = await SqliteAuditTrail.open(process.argv[1]);
let i = 0;
const writer = async () => {
  for (;;) {
    const id = 'req-' + process.pid + '-' + (i++);
    trail.appendLater({ time: new Date().toISOString(), kind: 'forwarded', requestId: id + '-later', pendingId: null, user: 'load', groups: [], actor: null, sourceAddress: null, request: null, decision: 'allow', rules: [], status: 200, errorCode: null, latencyMs: 1, durationMs: 1, comment: null, breakGlass: false });
    await trail.append({ time: new Date().toISOString(), kind: 'decided', requestId: id, pendingId: null, user: 'load', groups: [], actor: null, sourceAddress: null, request: null, decision: 'allow', rules: [], status: null, errorCode: null, latencyMs: null, durationMs: null, comment: null, breakGlass: false });
    process.stdout.write(id + '\\n');
  }
};
await Promise.all(Array.from({ length: 8 }, writer));
`;

async function killMidWrite(path: string, acks: number): Promise<string[]> {
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', WRITER, path], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const acked: string[] = [];
  const exited = new Promise<NodeJS.Signals | null>((resolve) =>
    child.on('exit', (_code, signal) => resolve(signal)),
  );
  for await (const line of createInterface({ input: child.stdout })) {
    acked.push(line);
    if (acked.length === acks) child.kill('SIGKILL');
  }
  assert.equal(await exited, 'SIGKILL');
  return acked;
}

test('after kill -9 mid-batch, every acknowledged append is stored and the chain verifies and continues', async () => {
  const path = freshPath();
  let before = 0;
  for (let round = 0; round < 3; round++) {
    const acked = await killMidWrite(path, 300 + round * 100);
    const stored = new Set(rows(path).map((r) => r.request_id));
    for (const id of acked) assert.ok(stored.has(id), `${id} was acknowledged but is not stored`);
    const count = await verified(path);
    // Each acknowledged append carried its writer's batched event into the same commit.
    assert.ok(count >= before + acked.length * 2, `${count} records after round ${round}`);
    before = count;
  }
  const trail = await SqliteAuditTrail.open(path);
  await trail.append(event(1));
  await trail.close();
  assert.equal(await verified(path), before + 1);
});
