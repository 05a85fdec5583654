// AuditReader.verify on real SQLite files tampered with through SQL, as someone with the file
// would: each change is reported at the right seq with the right kind, checked in this process
// and in the child process the gateway uses.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import Database from 'better-sqlite3';
import type { ChainProblem } from '../../audit/chain.js';
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
async function tampered(tamper: (db: Database.Database) => void): Promise<AuditVerifyReport> {
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

const swap = (a: number, b: number) => (db: Database.Database) => {
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
  tamper: (db: Database.Database) => void;
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
