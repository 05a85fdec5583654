// AuditReader.verify on real SQLite files tampered with through SQL, as someone with the file
// would: each change is reported at the right seq with the right kind, checked in this process
// and in the child process the gateway uses; a cut or rewritten tail that the recorded head was
// made to match, against heads saved outside the file.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import Database, { type SqliteDatabase } from './driver.js';
import { chainHash } from '../../audit/chain.js';
import type { ChainAnchor, ChainProblem } from '../../audit/chain.js';
import { auditEvent } from '../../audit/event.js';
import type { AuditVerifyReport } from '../../audit/store.js';
import { openSqliteAuditReader } from './audit-reader.js';
import { SqliteAuditTrail } from './audit-trail.js';

let root: string;
let n = 0;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'kubegate-audit-verify-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

const time = (seq: number): string => new Date(Date.UTC(2026, 0, 1, 0, seq)).toISOString();

/** A trail of ten records (seq i at minute i), then `tamper` applied with plain SQL. */
async function tampered(tamper: (db: SqliteDatabase) => void): Promise<AuditVerifyReport> {
  const path = join(root, `t${++n}`, 'audit.db');
  const trail = await SqliteAuditTrail.open(path);
  for (let seq = 1; seq <= 10; seq++) {
    await trail.append(
      auditEvent('decided', new Date(time(seq)), {
        requestId: `req-${seq}`,
        user: 'alice',
        decision: seq === 5 ? 'deny' : 'allow',
        request: null,
      }),
    );
  }
  await trail.close();
  const db = new Database(path);
  tamper(db);
  db.close();
  const reader = openSqliteAuditReader(path, { verify: 'inline' });
  try {
    return await reader.verify();
  } finally {
    reader.close();
  }
}

const swap = (a: number, b: number) => (db: SqliteDatabase) => {
  const cols =
    'time, kind, request_id, pending_id, user, actor, verb, namespace, resource, decision, event, prev_hash, hash';
  db.transaction(() => {
    db.exec(`CREATE TEMP TABLE keep AS SELECT * FROM audit_events WHERE seq IN (${a}, ${b})`);
    for (const [to, from] of [
      [a, b],
      [b, a],
    ] as const) {
      db.prepare(
        `UPDATE audit_events SET (${cols}) = (SELECT ${cols} FROM keep WHERE seq = ?) WHERE seq = ?`,
      ).run(from, to);
    }
  })();
};

const rows: readonly {
  name: string;
  tamper: (db: SqliteDatabase) => void;
  want: { seq: number; problem: ChainProblem; time: string | null } | null;
}[] = [
  { name: 'an untouched trail verifies', tamper: () => {}, want: null },
  {
    name: 'a record whose hashed text was edited is reported at its seq',
    tamper: (db) =>
      db.exec(`UPDATE audit_events SET event = replace(event, '"deny"', '"allow"') WHERE seq = 5`),
    want: { seq: 5, problem: 'edited', time: time(5) },
  },
  {
    name: 'a record whose decision column alone was edited is reported as edited',
    tamper: (db) => db.exec(`UPDATE audit_events SET decision = 'allow' WHERE seq = 5`),
    want: { seq: 5, problem: 'edited', time: time(5) },
  },
  {
    name: 'a record whose user column was cleared is reported as edited',
    tamper: (db) => db.exec(`UPDATE audit_events SET user = NULL WHERE seq = 3`),
    want: { seq: 3, problem: 'edited', time: time(3) },
  },
  {
    name: 'a deleted record is reported at the gap, on the record after it',
    tamper: (db) => db.exec('DELETE FROM audit_events WHERE seq = 4'),
    want: { seq: 5, problem: 'deleted', time: time(5) },
  },
  {
    name: 'a deleted record with the rest renumbered is reported as deleted',
    tamper: (db) =>
      db.exec(
        'DELETE FROM audit_events WHERE seq = 4; UPDATE audit_events SET seq = -(seq - 1) WHERE seq > 4; UPDATE audit_events SET seq = -seq WHERE seq < 0',
      ),
    want: { seq: 4, problem: 'deleted', time: time(5) },
  },
  {
    name: 'a cut tail is reported against the head row',
    tamper: (db) => db.exec('DELETE FROM audit_events WHERE seq > 8'),
    want: { seq: 9, problem: 'deleted', time: null },
  },
  {
    name: 'two rows with swapped contents are reported as reordered',
    tamper: swap(3, 7),
    want: { seq: 3, problem: 'reordered', time: time(7) },
  },
];

for (const row of rows) {
  test(row.name, async () => {
    const report = await tampered(row.tamper);
    if (row.want === null) {
      assert.equal(report.ok, true, JSON.stringify(report));
      assert.equal(report.count, 10);
      return;
    }
    assert.equal(report.ok, false);
    if (report.ok) return;
    assert.deepEqual({ seq: report.seq, problem: report.problem, time: report.time }, row.want);
  });
}

test('a running trail verifies from a reader connection, before and after further appends', async () => {
  const path = join(root, `t${++n}`, 'audit.db');
  const trail = await SqliteAuditTrail.open(path);
  for (let i = 0; i < 100; i++) await trail.append(auditEvent('decided', new Date(time(i))));
  const reader = openSqliteAuditReader(path, { verify: 'inline' });
  const report = await reader.verify();
  await trail.append(auditEvent('decided', new Date(time(101))));
  assert.equal((await reader.verify()).count, 101);
  reader.close();
  await trail.close();
  assert.equal(report.count, 100);
});

test('in a child process, as the gateway checks, the verdict is the same', async () => {
  const path = join(root, `t${++n}`, 'audit.db');
  const trail = await SqliteAuditTrail.open(path);
  for (let i = 1; i <= 5; i++) await trail.append(auditEvent('decided', new Date(time(i))));
  await trail.close();
  const reader = openSqliteAuditReader(path, { verify: 'child' });
  const inline = openSqliteAuditReader(path, { verify: 'inline' });
  try {
    assert.deepEqual(await reader.verify(), await inline.verify());
    assert.equal((await reader.verify()).count, 5);
    const db = new Database(path);
    db.exec('DELETE FROM audit_events WHERE seq = 2');
    db.close();
    const report = await reader.verify();
    assert.equal(report.ok, false);
    if (!report.ok) assert.deepEqual([report.seq, report.problem], [3, 'deleted']);
  } finally {
    reader.close();
    inline.close();
  }
});

test('a child check of a trail gone meanwhile rejects with KG_AUDIT_UNAVAILABLE', async () => {
  const dir = join(root, `t${++n}`);
  const path = join(dir, 'audit.db');
  await SqliteAuditTrail.open(path).then((t) => t.close());
  const reader = openSqliteAuditReader(path, { verify: 'child' });
  try {
    await rm(dir, { recursive: true });
    await assert.rejects(reader.verify(), { code: 'KG_AUDIT_UNAVAILABLE', message: /no audit trail at/u });
  } finally {
    reader.close();
  }
});

// Someone with write access to audit.db cuts the last records and rewrites the head row to match:
// the chain and its recorded head agree, so verify alone passes. Only a head saved outside the
// database (`kubegate audit head`, the gateway's log) shows the cut.
const CUT_AND_HIDE = `DELETE FROM audit_events WHERE seq > 7;
  UPDATE audit_head SET (seq, hash) = (SELECT seq, hash FROM audit_events WHERE seq = 7)`;

/** A trail of ten records, and its head at `seq` as saved outside the database. */
async function savedTrail(): Promise<{ path: string; savedAt: (seq: number) => ChainAnchor }> {
  const path = join(root, `t${++n}`, 'audit.db');
  const trail = await SqliteAuditTrail.open(path);
  for (let seq = 1; seq <= 10; seq++) {
    await trail.append(
      auditEvent('decided', new Date(time(seq)), { requestId: `req-${seq}`, user: 'alice' }),
    );
  }
  await trail.close();
  const db = new Database(path, { readonly: true });
  const hashes = new Map(
    db
      .prepare<[], { seq: number; hash: string }>('SELECT seq, hash FROM audit_events')
      .all()
      .map((r) => [r.seq, r.hash]),
  );
  db.close();
  return { path, savedAt: (seq) => ({ seq, hash: hashes.get(seq) ?? '', time: time(seq) }) };
}

function sql(path: string, statements: string): void {
  const db = new Database(path);
  db.exec(statements);
  db.close();
}

async function verifyBoth(path: string, against?: readonly ChainAnchor[]): Promise<AuditVerifyReport> {
  const inline = openSqliteAuditReader(path, { verify: 'inline' });
  const child = openSqliteAuditReader(path, { verify: 'child' });
  try {
    const report = await inline.verify(against);
    assert.deepEqual(await child.verify(against), report, 'the gateway’s child process agrees');
    return report;
  } finally {
    inline.close();
    child.close();
  }
}

test('a cut tail whose head row was rewritten verifies alone, and is caught against a head saved before', async () => {
  const { path, savedAt } = await savedTrail();
  const saved = savedAt(10);
  sql(path, CUT_AND_HIDE);
  const alone = await verifyBoth(path);
  assert.deepEqual([alone.ok, alone.count], [true, 7], 'the gap a chain without an outside anchor has');
  assert.deepEqual(await verifyBoth(path, [saved]), {
    ok: false,
    count: 7,
    seq: 8,
    problem: 'deleted',
    detail: `seqs 8–10 at the end are missing: the head saved at ${time(10)} names seq 10, so records were cut from the end and the recorded head rewritten to match`,
    time: null,
  });
});

test('a cut tail that the gateway then continued is caught as rewritten at the saved seq', async () => {
  const { path, savedAt } = await savedTrail();
  const saved = savedAt(9);
  sql(path, CUT_AND_HIDE);
  const trail = await SqliteAuditTrail.open(path);
  for (let i = 1; i <= 3; i++) await trail.append(auditEvent('decided', new Date(time(20 + i))));
  await trail.close();
  assert.deepEqual((await verifyBoth(path)).ok, true);
  const report = await verifyBoth(path, [savedAt(5), saved]);
  assert.deepEqual(report.ok ? null : [report.seq, report.problem, report.time], [9, 'rewritten', time(22)]);
  assert.match(report.ok ? '' : report.detail, /a record in seqs 6–9 \(seq 5 still matches/u);
});

test('a record rewritten with its hashes and the head row recomputed is caught at the saved seq', async () => {
  const { path, savedAt } = await savedTrail();
  const saved = savedAt(10);
  // As an attacker who knows the chain's layout would: change seq 9's text, re-hash 9 and 10.
  const db = new Database(path);
  db.transaction(() => {
    const row = (seq: number) =>
      db
        .prepare<[number], { event: string; prev_hash: string }>(
          'SELECT event, prev_hash FROM audit_events WHERE seq = ?',
        )
        .get(seq);
    let prev = row(9)?.prev_hash ?? '';
    for (const seq of [9, 10]) {
      const text = (row(seq)?.event ?? '').replace('"user":"alice"', '"user":"bob"');
      const hash = chainHash(prev, seq, text);
      db.prepare('UPDATE audit_events SET event = ?, user = ?, prev_hash = ?, hash = ? WHERE seq = ?').run(
        text,
        'bob',
        prev,
        hash,
        seq,
      );
      prev = hash;
    }
    db.prepare('UPDATE audit_head SET hash = ? WHERE id = 1').run(prev);
  })();
  db.close();
  assert.equal((await verifyBoth(path)).ok, true);
  const report = await verifyBoth(path, [saved]);
  assert.deepEqual(report.ok ? null : [report.seq, report.problem], [10, 'rewritten']);
});

test('a head saved earlier than the current one passes', async () => {
  const { path, savedAt } = await savedTrail();
  const report = await verifyBoth(path, [savedAt(3), savedAt(7)]);
  assert.deepEqual([report.ok, report.count], [true, 10]);
  sql(path, CUT_AND_HIDE);
  assert.deepEqual(
    (await verifyBoth(path, [savedAt(7)])).ok,
    true,
    'a cut after the last saved head stays unseen',
  );
});
