// store/copy.ts against real files and a real PostgreSQL (a private server, test-server.ts): a
// SQLite store written through its own interfaces is copied, and the PostgreSQL store then answers
// the same (versions, grants, denials, sessions) with the very audit chain (same seqs and hashes,
// so a head saved before the move still matches) that verifies and goes on growing. Refused, with
// nothing written: a target that holds anything, a source chain that does not verify, source
// files a gateway has open, and a failure halfway (the one transaction rolls back).
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import Database from './sqlite/driver.js';
import type { PendingRequest } from '../approvals/types.js';
import { at, T0, testPending, testReviewed } from '../approvals/test-pending.js';
import type { StoredAuditRecord } from '../audit/chain.js';
import { auditEvent } from '../audit/event.js';
import type { Session } from '../identity/sessions.js';
import { copySqliteToPostgres } from './copy.js';
import { openStore, type StoreConfig } from './open.js';
import { postgresStoreConfig, startTestPostgres, type TestPostgres } from './postgres/test-server.js';

type SqliteConfig = Extract<StoreConfig, { type: 'sqlite' }>;
type PostgresConfig = Extract<StoreConfig, { type: 'postgres' }>;

let server: TestPostgres;
let root: string;
before(async () => {
  server = await startTestPostgres();
  root = await mkdtemp(join(tmpdir(), 'kubegate-store-copy-'));
});
after(async () => {
  await server.stop();
  await rm(root, { recursive: true, force: true });
});

const pending = (id: string, fingerprint: string, now: Date): PendingRequest =>
  testPending(id, { fingerprint, now });
const reviewed = testReviewed;

const sessionA: Session = {
  user: 'bob',
  groups: ['sre'],
  tokenDigest: 'd'.repeat(64),
  csrfToken: 'csrf-a',
  createdAt: T0.getTime(),
  expiresAt: T0.getTime() + 8 * 3_600_000,
};
const sessionB: Session = {
  user: 'carol',
  groups: ['sre', 'ops'],
  tokenDigest: '',
  oidc: { issuer: 'https://idp.example', subject: 'carol-1' },
  csrfToken: 'csrf-b',
  createdAt: T0.getTime(),
  expiresAt: T0.getTime() + 8 * 3_600_000,
};

interface Source {
  readonly config: SqliteConfig;
  readonly waiting: PendingRequest;
  readonly approved: PendingRequest;
  readonly denied: PendingRequest;
}

/** A single gateway's SQLite store, written through the store's own interfaces, then closed. */
async function sqliteSource(): Promise<Source> {
  const dir = await mkdtemp(join(root, 'data-'));
  const config: SqliteConfig = { type: 'sqlite', dir, auditFile: join(dir, 'audit.db') };
  const store = await openStore(config);
  try {
    const waiting = pending('kg-aaaaaaaaaa', 'fp-wait', at(0));
    await store.approvals.put(waiting, 0);
    const escalated = { ...waiting, escalated: true };
    await store.approvals.put(escalated, 1);
    const asked = pending('kg-bbbbbbbbbb', 'fp-grant', at(1000));
    await store.approvals.put(asked, 0);
    const approved = reviewed(asked, 'approve', at(2000));
    await store.approvals.put(approved, 1);
    const refused = pending('kg-cccccccccc', 'fp-deny', at(3000));
    await store.approvals.put(refused, 0);
    const denied = reviewed(refused, 'deny', at(4000));
    await store.approvals.put(denied, 1);
    await store.sessions.add('key-a', sessionA, { now: T0.getTime(), max: 100 });
    await store.sessions.add('key-b', sessionB, { now: T0.getTime(), max: 100 });
    for (let i = 0; i < 7; i++) {
      await store.audit.append(
        auditEvent(i % 3 === 0 ? 'reviewed' : 'decided', at(i * 1000), {
          requestId: `r${i}`,
          user: 'alice',
          ...(i % 3 === 0 ? { actor: 'bob', pendingId: 'kg-bbbbbbbbbb' } : {}),
        }),
      );
    }
    return { config, waiting: escalated, approved, denied };
  } finally {
    await store.close();
  }
}

async function sqliteTrail(config: SqliteConfig): Promise<StoredAuditRecord[]> {
  const store = await openStore(config, { readOnly: true });
  try {
    const all: StoredAuditRecord[] = [];
    for await (const record of store.auditReader.records()) all.push(record);
    return all;
  } finally {
    await store.close();
  }
}

async function emptyTarget(): Promise<{ url: string; config: PostgresConfig }> {
  const url = await server.createDatabase();
  return { url, config: postgresStoreConfig(url) as PostgresConfig };
}

/** Rows in each of the target's tables (after kubegate created them). */
async function rowCounts(url: string): Promise<Record<string, number>> {
  const { rows } = await server.sql(
    url,
    `SELECT (SELECT count(*) FROM pending_requests)::int AS pending,
            (SELECT count(*) FROM web_sessions)::int AS sessions,
            (SELECT count(*) FROM audit_events)::int AS audit,
            (SELECT count(*) FROM audit_head)::int AS head`,
  );
  return rows[0] as Record<string, number>;
}

const NOTHING = { pending: 0, sessions: 0, audit: 0, head: 0 };

test('a copied store answers on PostgreSQL as it did on SQLite, with the very audit chain', async () => {
  const source = await sqliteSource();
  const before = await sqliteTrail(source.config);
  const sqliteHead = await (async () => {
    const store = await openStore(source.config, { readOnly: true });
    try {
      return await store.auditReader.head();
    } finally {
      await store.close();
    }
  })();
  assert.ok(sqliteHead);
  const { config } = await emptyTarget();

  const report = await copySqliteToPostgres(source.config, config);
  assert.equal(report.pending, 3);
  assert.equal(report.sessions, 2);
  assert.equal(report.auditRecords, 7);
  assert.deepEqual(report.head, sqliteHead);
  assert.ok(report.verified.ok);
  assert.equal(report.verified.count, 7);
  assert.deepEqual(report.verified.head, sqliteHead);

  const pg = await openStore(config);
  try {
    assert.deepEqual(await pg.approvals.get(source.waiting.id), { pending: source.waiting, version: 2 });
    // The unused grant still lets its fingerprint through once; the denial is still found.
    assert.deepEqual(await pg.approvals.findActive('fp-grant', at(3000)), [
      { pending: source.approved, version: 2 },
    ]);
    assert.deepEqual(await pg.approvals.findDenied('fp-deny', at(3500)), [
      { pending: source.denied, version: 2 },
    ]);
    // A copied version is the one a writer must name: a stale one is refused.
    assert.equal(await pg.approvals.put({ ...source.approved, grantUsed: true }, 1), null);
    assert.equal((await pg.approvals.put({ ...source.approved, grantUsed: true }, 2))?.version, 3);
    assert.deepEqual(await pg.approvals.findActive('fp-grant', at(3000)), []);

    assert.deepEqual(await pg.sessions.get('key-a'), sessionA);
    assert.deepEqual(await pg.sessions.get('key-b'), sessionB);
    await pg.sessions.delete('key-a');
    assert.equal(await pg.sessions.get('key-a'), null);

    const after: StoredAuditRecord[] = [];
    for await (const record of pg.auditReader.records()) after.push(record);
    assert.deepEqual(after, before);
    // A head saved outside the database before the move still matches after it.
    const saved = { ...sqliteHead, time: T0.toISOString() };
    assert.equal((await pg.auditReader.verify([saved])).ok, true);

    // The replicas chain on from the copied head.
    await pg.audit.append(auditEvent('decided', at(60_000), { requestId: 'r-after' }));
    const grown = await pg.auditReader.verify([saved]);
    assert.ok(grown.ok);
    assert.equal(grown.count, 8);
    assert.equal(grown.head.seq, 8);
  } finally {
    await pg.close();
  }
});

test('a request stored before requesterLeftAt existed reads back on PostgreSQL as SQLite reads it', async () => {
  const source = await sqliteSource();
  const db = new Database(join(source.config.dir, 'approvals.db'));
  db.prepare("UPDATE pending_requests SET data = json_remove(data, '$.requesterLeftAt') WHERE id = ?").run(
    source.waiting.id,
  );
  db.close();
  const { config } = await emptyTarget();
  await copySqliteToPostgres(source.config, config);
  const pg = await openStore(config);
  try {
    assert.deepEqual(await pg.approvals.get(source.waiting.id), { pending: source.waiting, version: 2 });
  } finally {
    await pg.close();
  }
});

test('a target that already holds kubegate data is refused and left as it was', async () => {
  const source = await sqliteSource();
  const { url, config } = await emptyTarget();
  const live = await openStore(config);
  try {
    await live.audit.append(auditEvent('decided', at(0), { requestId: 'live' }));
  } finally {
    await live.close();
  }
  await assert.rejects(copySqliteToPostgres(source.config, config), (err: unknown) => {
    assert.equal((err as { code?: string }).code, 'KG_CONFIG_INVALID');
    assert.match((err as Error).message, /already holds audit records/u);
    return true;
  });
  assert.deepEqual(await rowCounts(url), { ...NOTHING, audit: 1, head: 1 });

  // A second copy into a copied database is refused the same way.
  const copied = await emptyTarget();
  await copySqliteToPostgres(source.config, copied.config);
  const counts = await rowCounts(copied.url);
  await assert.rejects(copySqliteToPostgres(source.config, copied.config), { code: 'KG_CONFIG_INVALID' });
  assert.deepEqual(await rowCounts(copied.url), counts);
});

test('a SQLite trail that does not verify is not copied', async () => {
  const source = await sqliteSource();
  const db = new Database(source.config.auditFile);
  db.prepare(
    `UPDATE audit_events SET event = replace(event, '"r2"', '"rX"'), request_id = 'rX' WHERE seq = 3`,
  ).run();
  db.close();
  const { url, config } = await emptyTarget();
  await assert.rejects(copySqliteToPostgres(source.config, config), (err: unknown) => {
    assert.equal((err as { code?: string }).code, 'KG_CONFIG_INVALID');
    assert.match((err as Error).message, /does not verify \(seq 3: edited/u);
    return true;
  });
  // Refused before the target was touched: kubegate did not even create its tables.
  const { rows } = await server.sql(url, "SELECT to_regclass('audit_events') AS t");
  assert.equal((rows[0] as { t: string | null }).t, null);
});

test('source files a running gateway has open are refused', async () => {
  const source = await sqliteSource();
  const { url, config } = await emptyTarget();
  const gateway = await openStore(source.config);
  try {
    await assert.rejects(copySqliteToPostgres(source.config, config), (err: unknown) => {
      assert.equal((err as { code?: string }).code, 'KG_CONFIG_INVALID');
      assert.match((err as Error).message, /is in use: stop the kubegate gateway/u);
      return true;
    });
  } finally {
    await gateway.close();
  }
  await openStore(config).then((store) => store.close());
  assert.deepEqual(await rowCounts(url), NOTHING);
  // Stopped, the same files copy.
  assert.equal((await copySqliteToPostgres(source.config, config)).auditRecords, 7);
});

test('a failure halfway through the copy leaves nothing in PostgreSQL', async () => {
  const source = await sqliteSource();
  const { url, config } = await emptyTarget();
  await openStore(config).then((store) => store.close());
  // The database refuses the fifth audit record, after the requests and sessions went in.
  await server.sql(
    url,
    `CREATE FUNCTION refuse_fifth() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN IF NEW.seq = 5 THEN RAISE EXCEPTION 'refused by the test'; END IF; RETURN NEW; END $$;
     CREATE TRIGGER refuse_fifth BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION refuse_fifth();`,
  );
  await assert.rejects(copySqliteToPostgres(source.config, config), /refused by the test/u);
  assert.deepEqual(await rowCounts(url), NOTHING);
});

test('a data directory without kubegate files is refused', async () => {
  const dir = await mkdtemp(join(root, 'empty-'));
  const { config } = await emptyTarget();
  await assert.rejects(
    copySqliteToPostgres({ type: 'sqlite', dir, auditFile: join(dir, 'audit.db') }, config),
    (err: unknown) => {
      assert.equal((err as { code?: string }).code, 'KG_CONFIG_INVALID');
      assert.match((err as Error).message, /no kubegate SQLite store file/u);
      return true;
    },
  );
});
