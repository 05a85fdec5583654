// The PostgreSQL audit trail and reader against a real PostgreSQL (test-server.ts): two
// replicas appending at once make one chain (seqs 1..N, no gap, no fork) that verifies, still
// group-committed, with synchronous_commit on; a record edited, a column edited, a row deleted or
// a cut tail in the database is caught by verify; query's filters, export's records and the
// read-only store (`kubegate audit`) work as the SQLite store's do.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { auditEvent, type AuditEvent } from '../../audit/event.js';
import type { AuditRequestSummary } from '../../audit/record.js';
import type { AuditQuery } from '../../audit/store.js';
import { openStore } from '../open.js';
import type { PostgresAuditTrail } from './audit-trail.js';
import { openPool } from './database.js';
import { postgresStoreConfig, startTestPostgres, type TestPostgres } from './test-server.js';

let server: TestPostgres;
before(async () => {
  server = await startTestPostgres();
});
after(async () => {
  await server.stop();
});

const at = (minute: number): Date => new Date(Date.UTC(2026, 0, 1, 10, minute));

function request(
  verb: string,
  resource: string,
  namespace: string | null,
  subresource: string | null = null,
): AuditRequestSummary {
  return {
    method: 'GET',
    target: '/',
    verb,
    apiGroup: '',
    apiVersion: 'v1',
    resource,
    subresource,
    namespace,
    name: 'x',
    labelSelector: null,
    fieldSelector: null,
    upgrade: null,
    bodyDigest: null,
    kubectlCommand: null,
  };
}

/** A database whose trail holds `events`, appended by one store. */
async function trailWith(events: readonly AuditEvent[]): Promise<string> {
  const url = await server.createDatabase();
  const store = await openStore(postgresStoreConfig(url));
  for (const e of events) await store.audit.append(e);
  await store.close();
  return url;
}

async function verify(url: string) {
  const store = await openStore(postgresStoreConfig(url), { readOnly: true });
  try {
    return await store.auditReader.verify();
  } finally {
    await store.close();
  }
}

test('two replicas appending at once make one chain: seqs 1..N, no gap, no fork, verified', async () => {
  const url = await server.createDatabase();
  const [a, b] = await Promise.all([
    openStore(postgresStoreConfig(url)),
    openStore(postgresStoreConfig(url)),
  ]);
  assert.ok(a && b);
  // Each replica writes in rounds, awaiting each round as a request path awaits its record, so
  // both have transactions in flight at once throughout.
  const rounds = 25;
  const perRound = 4;
  const n = 2 * rounds * perRound * 2;
  const writer = async (store: typeof a, name: string) => {
    for (let r = 0; r < rounds; r++) {
      const event = (i: number, suffix = '') =>
        auditEvent('decided', new Date(Date.UTC(2026, 0, 1, 10, 0, r, i)), {
          requestId: `${name}-${r}-${i}${suffix}`,
          user: name,
        });
      for (let i = 0; i < perRound; i++) store.audit.appendLater(event(i, '-later'));
      await Promise.all(Array.from({ length: perRound }, (_, i) => store.audit.append(event(i))));
    }
  };
  await Promise.all([writer(a, 'a'), writer(b, 'b')]);
  const trails = [a.audit, b.audit] as PostgresAuditTrail[];
  await a.close();
  await b.close();

  const rows = await server.sql(url, 'SELECT seq, prev_hash, hash, "user" FROM audit_events ORDER BY seq');
  assert.equal(rows.rows.length, n);
  rows.rows.forEach((row: { seq: string }, i) => assert.equal(Number(row.seq), i + 1));
  // Both replicas' records are interleaved in the one chain, not two chains one after the other.
  const users = rows.rows.map((row: { user: string }) => row.user);
  const switches = users.filter((u, i) => i > 0 && u !== users[i - 1]).length;
  assert.ok(switches > 1, 'the replicas took turns');
  // Group commit: fewer transactions than records on each replica.
  for (const trail of trails)
    assert.ok(trail.stats.commits < trail.stats.records, JSON.stringify(trail.stats));
  const report = await verify(url);
  assert.equal(report.ok, true, JSON.stringify(report));
  assert.equal(report.ok && report.count, n);
});

test('every connection commits with synchronous_commit on, even where the database says off', async () => {
  const url = await server.createDatabase();
  // A database (or role) whose default trades durability for speed: kubegate's records must not.
  const database = new URL(url).pathname.slice(1);
  await server.sql(url, `ALTER DATABASE ${database} SET synchronous_commit = off`);
  assert.deepEqual((await server.sql(url, 'SHOW synchronous_commit')).rows, [{ synchronous_commit: 'off' }]);
  const pool = openPool(url, 1);
  try {
    assert.deepEqual((await pool.query('SHOW synchronous_commit')).rows, [{ synchronous_commit: 'on' }]);
  } finally {
    await pool.end();
  }
});

const three = [0, 1, 2].map((i) =>
  auditEvent('decided', at(i), { requestId: `r${i}`, user: 'alice', decision: 'allow' }),
);

test('a record edited in the database is caught by verify', async () => {
  const url = await trailWith(three);
  assert.equal((await verify(url)).ok, true);
  await server.sql(
    url,
    `UPDATE audit_events SET event = replace(event, '"alice"', '"mallory"') WHERE seq = 2`,
  );
  const report = await verify(url);
  assert.equal(report.ok, false);
  assert.equal(!report.ok && report.seq, 2);
  assert.equal(!report.ok && report.time, at(1).toISOString());
});

test('a query column edited alone is caught by verify', async () => {
  const url = await trailWith(three);
  await server.sql(url, `UPDATE audit_events SET "user" = 'mallory' WHERE seq = 3`);
  const report = await verify(url);
  assert.equal(!report.ok && report.problem, 'edited');
  assert.equal(!report.ok && report.seq, 3);
});

test('a deleted record and a cut tail are caught by verify', async () => {
  const middle = await trailWith(three);
  await server.sql(middle, 'DELETE FROM audit_events WHERE seq = 2');
  const gap = await verify(middle);
  assert.equal(!gap.ok && gap.problem, 'deleted');
  assert.match(!gap.ok ? gap.detail : '', /seq 2/);

  const tail = await trailWith(three);
  await server.sql(tail, 'DELETE FROM audit_events WHERE seq = 3');
  const cut = await verify(tail);
  assert.equal(!cut.ok && cut.problem, 'deleted');
  assert.equal(!cut.ok && cut.seq, 3);
});

test('appends after a restart continue the chain', async () => {
  const url = await trailWith(three);
  const store = await openStore(postgresStoreConfig(url));
  await store.audit.append(auditEvent('decided', at(9), { requestId: 'r9' }));
  await store.close();
  const report = await verify(url);
  assert.equal(report.ok && report.count, 4);
});

test('an append after close rejects with KG_AUDIT_UNAVAILABLE', async () => {
  const store = await openStore(postgresStoreConfig(await server.createDatabase()));
  await store.close();
  await assert.rejects(store.audit.append(three[0] as AuditEvent), { code: 'KG_AUDIT_UNAVAILABLE' });
});

// The requestId of each event names it, so expectations read as lists of names.
const EVENTS: readonly AuditEvent[] = [
  auditEvent('decided', at(0), {
    requestId: 'a-list',
    user: 'alice',
    request: request('list', 'pods', 'dev'),
    decision: 'allow',
  }),
  auditEvent('decided', at(1), {
    requestId: 'b-delete',
    user: 'bob',
    request: request('delete', 'deployments', 'prod'),
    decision: 'deny',
  }),
  auditEvent('decided', at(2), {
    requestId: 'a-exec',
    user: 'alice',
    request: request('create', 'pods', 'prod', 'exec'),
    decision: 'approve',
  }),
  auditEvent('approval-requested', at(2), {
    requestId: 'a-exec',
    pendingId: 'p1',
    user: 'alice',
    request: request('create', 'pods', 'prod', 'exec'),
    decision: 'approve',
  }),
  auditEvent('reviewed', at(3), {
    requestId: 'a-exec',
    pendingId: 'p1',
    user: 'alice',
    actor: 'carol',
    decision: 'allow',
  }),
  auditEvent('decided', at(4), {
    requestId: 'b-pods_',
    user: 'bob',
    request: request('get', 'pods_', 'dev'),
    decision: 'allow',
  }),
  auditEvent('decided', at(5), {
    requestId: 'c-nodes',
    user: 'carol',
    request: request('list', 'nodes', null),
    decision: 'allow',
  }),
];

const rows: readonly { name: string; input: AuditQuery; want: readonly string[] }[] = [
  {
    name: 'no filter',
    input: {},
    want: ['a-list', 'b-delete', 'a-exec', 'a-exec', 'a-exec', 'b-pods_', 'c-nodes'],
  },
  { name: 'user or actor', input: { user: 'carol' }, want: ['a-exec', 'c-nodes'] },
  { name: 'verb', input: { verb: 'list' }, want: ['a-list', 'c-nodes'] },
  { name: 'namespace', input: { namespace: 'prod' }, want: ['b-delete', 'a-exec', 'a-exec'] },
  {
    name: 'resource and its subresources',
    input: { resource: 'pods' },
    want: ['a-list', 'a-exec', 'a-exec'],
  },
  { name: 'one subresource', input: { resource: 'pods/exec' }, want: ['a-exec', 'a-exec'] },
  { name: 'decision', input: { decision: 'deny' }, want: ['b-delete'] },
  { name: 'kind', input: { kind: 'reviewed' }, want: ['a-exec'] },
  { name: 'request id', input: { requestId: 'a-exec' }, want: ['a-exec', 'a-exec', 'a-exec'] },
  { name: 'pending id', input: { pendingId: 'p1' }, want: ['a-exec', 'a-exec'] },
  { name: 'since and until', input: { since: at(1), until: at(3) }, want: ['b-delete', 'a-exec', 'a-exec'] },
  { name: 'filters combined', input: { user: 'alice', namespace: 'dev' }, want: ['a-list'] },
  { name: 'limit keeps the most recent', input: { limit: 2 }, want: ['b-pods_', 'c-nodes'] },
  { name: 'a value holding SQL', input: { user: "alice' OR '1'='1" }, want: [] },
];

test('query: each filter alone and combined, as the SQLite store answers', async () => {
  const store = await openStore(postgresStoreConfig(await trailWith(EVENTS)), { readOnly: true });
  try {
    for (const row of rows) {
      assert.deepEqual(
        (await store.auditReader.query(row.input)).map((e) => e.event.requestId),
        row.want,
        row.name,
      );
    }
    const [entry] = await store.auditReader.query({ kind: 'reviewed' });
    assert.equal(entry?.seq, 5);
    assert.deepEqual(entry?.event, EVENTS[4]);
  } finally {
    await store.close();
  }
});

test('export reads every record in seq order, byte for byte, with the recorded head', async () => {
  const many = Array.from({ length: 2500 }, (_, i) => auditEvent('decided', at(0), { requestId: `r${i}` }));
  const url = await server.createDatabase();
  const writer = await openStore(postgresStoreConfig(url));
  for (const e of many) writer.audit.appendLater(e);
  await writer.close();
  const store = await openStore(postgresStoreConfig(url), { readOnly: true });
  try {
    const seen: number[] = [];
    let last = '';
    for await (const record of store.auditReader.records()) {
      seen.push(record.seq);
      assert.equal((JSON.parse(record.canonical) as AuditEvent).requestId, `r${record.seq - 1}`);
      last = record.hash;
    }
    assert.deepEqual(
      seen,
      Array.from({ length: 2500 }, (_, i) => i + 1),
    );
    assert.deepEqual(await store.auditReader.head(), { seq: 2500, hash: last });
  } finally {
    await store.close();
  }
});

test('`kubegate audit` on a database no gateway has started on says so', async () => {
  const url = await server.createDatabase();
  await assert.rejects(openStore(postgresStoreConfig(url), { readOnly: true }), {
    code: 'KG_AUDIT_UNAVAILABLE',
    message: /no kubegate gateway has started on it yet/,
  });
});

test("the gateway's store verifies in a child process, and catches an edit there too", async () => {
  const url = await trailWith(three);
  const store = await openStore(postgresStoreConfig(url));
  try {
    const ok = await store.auditReader.verify();
    assert.equal(ok.ok && ok.count, 3);
    await server.sql(url, `UPDATE audit_events SET event = replace(event, '"r1"', '"rX"') WHERE seq = 2`);
    const bad = await store.auditReader.verify();
    assert.equal(!bad.ok && bad.seq, 2);
  } finally {
    await store.close();
  }
});
