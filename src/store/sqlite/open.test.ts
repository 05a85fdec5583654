// openStore over SQLite files, above all files kubegate wrote before the store layer existed
// (testdata/v1, made by the code of commit 399ee60): they open as they are, approvals.db is
// migrated in place (pending requests and grants kept, web sessions added), the audit chain in
// audit.db still verifies and continues, and `kubegate audit` reads it without writing. A file
// from a newer kubegate is refused, by the gateway and by the CLI, as invalid data.
import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import Database from './driver.js';
import { auditEvent } from '../../audit/event.js';
import { storeIn } from '../../config/schema.js';
import { KubegateError } from '../../errors.js';
import { Sessions } from '../../web/session.js';
import { openStore } from '../open.js';
import { APPROVALS_DB, APPROVALS_LAYOUT, AUDIT_LAYOUT } from './layouts.js';

const V1 = join(import.meta.dirname, 'testdata', 'v1');
let root: string;
let n = 0;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'kubegate-store-open-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A data directory holding copies of the v1 files. */
async function v1DataDir(): Promise<string> {
  const dir = join(root, `v1-${++n}`);
  await mkdir(dir, { mode: 0o700 });
  for (const file of ['audit.db', APPROVALS_DB]) await copyFile(join(V1, file), join(dir, file));
  return dir;
}

function pragmaOf(file: string, name: string): unknown {
  const db = new Database(file, { readonly: true });
  try {
    return db.pragma(name, { simple: true });
  } finally {
    db.close();
  }
}

function tablesOf(file: string): string[] {
  const db = new Database(file, { readonly: true });
  try {
    return db
      .prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
      .all()
      .map((r) => r.name);
  } finally {
    db.close();
  }
}

test('the v1 files are what the code before the store layer wrote (layout 1 of each)', async () => {
  // Copies: even a read-only connection leaves -wal and -shm files beside a WAL database.
  const dir = await v1DataDir();
  assert.equal(pragmaOf(join(dir, 'audit.db'), 'user_version'), 1);
  assert.equal(pragmaOf(join(dir, APPROVALS_DB), 'user_version'), 1);
  assert.deepEqual(tablesOf(join(dir, APPROVALS_DB)), ['pending_requests']);
});

test('a v1 approvals.db is migrated in place: its requests and grants kept, web sessions and requester reasons added', async () => {
  const dir = await v1DataDir();
  const store = await openStore(storeIn(dir));
  try {
    const file = join(dir, APPROVALS_DB);
    assert.equal(pragmaOf(file, 'user_version'), APPROVALS_LAYOUT.migrations.length);
    assert.deepEqual(tablesOf(file), ['pending_requests', 'requester_reasons', 'web_sessions']);
    const stored = await store.approvals.list();
    assert.deepEqual(
      stored.map((s) => [s.pending.id, s.pending.state, s.version]),
      [
        ['kg-webwebweb0', 'pending', 1],
        ['kg-apiapiapi0', 'approved', 2],
      ],
    );
    // The grant written then is still usable within its TTL, and the pending one still joinable.
    const at = new Date(Date.UTC(2026, 10, 25, 10, 1));
    assert.deepEqual(
      (await store.approvals.findActive('fp-api', at)).map((s) => s.pending.id),
      ['kg-apiapiapi0'],
    );
    assert.deepEqual(
      (await store.approvals.findActive('fp-web', at)).map((s) => s.pending.id),
      ['kg-webwebweb0'],
    );
    const web = stored[0];
    assert.ok(web);
    assert.equal((await store.approvals.put({ ...web.pending, escalated: true }, web.version))?.version, 2);
    const sessions = new Sessions(store.sessions, { ttlMs: 60_000 });
    const { id } = await sessions.create({ user: 'bob', groups: ['sre'] }, 'd'.repeat(64));
    assert.equal((await sessions.get(id))?.user, 'bob');
  } finally {
    await store.close();
  }
  // Opened again, nothing is migrated twice.
  const again = await openStore(storeIn(dir));
  assert.equal((await again.approvals.list()).length, 2);
  await again.close();
});

test('the audit chain of a v1 audit.db still verifies, reads back, and continues', async () => {
  const dir = await v1DataDir();
  const store = await openStore(storeIn(dir));
  try {
    assert.equal(pragmaOf(join(dir, 'audit.db'), 'user_version'), AUDIT_LAYOUT.migrations.length);
    const entries = await store.auditReader.query({});
    assert.deepEqual(
      entries.map((e) => [e.seq, e.event.kind, e.event.pendingId]),
      [
        [1, 'decided', null],
        [2, 'approval-requested', 'kg-webwebweb0'],
        [3, 'decided', null],
        [4, 'approval-requested', 'kg-apiapiapi0'],
        [5, 'reviewed', 'kg-apiapiapi0'],
      ],
    );
    assert.equal((await store.auditReader.query({ user: 'bob' }))[0]?.event.comment, 'ok');
    const head = await store.auditReader.head();
    assert.equal(head?.seq, 5);
    assert.equal(head?.hash, entries[4]?.hash);
    await store.audit.append(auditEvent('decided', new Date(Date.UTC(2026, 10, 25, 11))));
    const report = await store.auditReader.verify();
    assert.equal(report.ok, true, JSON.stringify(report));
    assert.equal(report.count, 6);
  } finally {
    await store.close();
  }
});

test('`kubegate audit` reads a v1 audit.db read-only, changing nothing', async () => {
  const dir = await v1DataDir();
  const store = await openStore(storeIn(dir), { readOnly: true });
  try {
    assert.equal((await store.auditReader.verify()).ok, true);
    assert.equal((await store.auditReader.query({ kind: 'reviewed' })).length, 1);
  } finally {
    await store.close();
  }
  assert.equal(pragmaOf(join(dir, APPROVALS_DB), 'user_version'), 1, 'approvals.db was not touched');
});

test('a new data directory gets both files at their latest layout', async () => {
  const dir = join(root, `new-${++n}`);
  const store = await openStore(storeIn(dir));
  await store.close();
  assert.equal(pragmaOf(join(dir, APPROVALS_DB), 'user_version'), APPROVALS_LAYOUT.migrations.length);
  assert.equal(pragmaOf(join(dir, 'audit.db'), 'user_version'), AUDIT_LAYOUT.migrations.length);
});

/** Marks `file` as written by a kubegate one layout ahead of this one. */
function fromTheFuture(file: string, latest: number): void {
  const db = new Database(file);
  db.pragma(`user_version = ${latest + 1}`);
  db.close();
}

async function refusedAsNewer(open: Promise<unknown>, file: string): Promise<void> {
  await assert.rejects(open, (err: unknown) => {
    assert.ok(err instanceof KubegateError);
    assert.equal(err.code, 'KG_CONFIG_INVALID');
    assert.match(err.message, new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/gu, '\\$&')} \\(`, 'u'));
    assert.match(err.message, /written by a newer kubegate/u);
    return true;
  });
}

test('an approvals.db from a newer kubegate is refused as invalid data, and left as it was', async () => {
  const dir = await v1DataDir();
  const file = join(dir, APPROVALS_DB);
  fromTheFuture(file, APPROVALS_LAYOUT.migrations.length);
  await refusedAsNewer(openStore(storeIn(dir)), file);
  assert.equal(pragmaOf(file, 'user_version'), APPROVALS_LAYOUT.migrations.length + 1);
  assert.deepEqual(tablesOf(file), ['pending_requests']);
});

test('an audit.db from a newer kubegate is refused by the gateway and by `kubegate audit`', async () => {
  const dir = await v1DataDir();
  const file = join(dir, 'audit.db');
  fromTheFuture(file, AUDIT_LAYOUT.migrations.length);
  await refusedAsNewer(openStore(storeIn(dir)), file);
  await refusedAsNewer(openStore(storeIn(dir), { readOnly: true }), file);
});

test('`kubegate audit` on a data directory without a trail says there is none', async () => {
  const dir = join(root, `empty-${++n}`);
  await mkdir(dir);
  await assert.rejects(openStore(storeIn(dir), { readOnly: true }), {
    code: 'KG_AUDIT_UNAVAILABLE',
    message: `no audit trail at ${join(dir, 'audit.db')}`,
  });
  // An empty file (created, nothing ever written) is no trail either.
  await writeFile(join(dir, 'audit.db'), '');
  await assert.rejects(openStore(storeIn(dir), { readOnly: true }), { code: 'KG_AUDIT_UNAVAILABLE' });
});
