// The PostgreSQL store's approvals, web sessions and migrations against a real PostgreSQL (a
// private server, test-server.ts): the same behaviour as the SQLite store (compare-and-set,
// findActive, findDenied, sessions' bound and revocation), shared by two stores on one database
// as two replicas are, migrated once when both start together, and refused when a newer kubegate
// migrated the database.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { useGrant } from '../../approvals/state-machine.js';
import { revokeStanding, withStanding } from '../../approvals/standing.js';
import type { PendingRequest } from '../../approvals/types.js';
import { at, T0, testPending, testReviewed } from '../../approvals/test-pending.js';
import type { Session } from '../../identity/sessions.js';
import { auditEvent } from '../../audit/event.js';
import { KubegateError } from '../../errors.js';
import { PendingSignIns } from '../../web/oidc-sign-in-flow.js';
import { openStore, type Store } from '../open.js';
import { MIGRATIONS } from './migrate.js';
import { postgresStoreConfig, startTestPostgres, type TestPostgres } from './test-server.js';

let server: TestPostgres;
before(async () => {
  server = await startTestPostgres();
});
after(async () => {
  await server.stop();
});

const pending = (id: string, fingerprint = 'fp-a', now = T0): PendingRequest =>
  testPending(id, { fingerprint, now });
const reviewed = testReviewed;

async function withStore<T>(use: (store: Store, url: string) => Promise<T>): Promise<T> {
  const url = await server.createDatabase();
  const store = await openStore(postgresStoreConfig(url));
  try {
    return await use(store, url);
  } finally {
    await store.close();
  }
}

test('a put request reads back equal at version 1; an existing id is not overwritten', () =>
  withStore(async ({ approvals }) => {
    const p = pending('kg-aaaaaaaaaa');
    assert.deepEqual(await approvals.put(p, 0), { pending: p, version: 1 });
    assert.deepEqual(await approvals.get(p.id), { pending: p, version: 1 });
    assert.equal(await approvals.get('kg-nothere00'), null);
    assert.equal(await approvals.put({ ...p, fingerprint: 'other' }, 0), null);
    assert.equal((await approvals.get(p.id))?.pending.fingerprint, 'fp-a');
  }));

test('two replicas reviewing at once cannot lose an update: the stale writer is refused', () =>
  withStore(async ({ approvals }, url) => {
    const replicaB = await openStore(postgresStoreConfig(url));
    try {
      const p = pending('kg-aaaaaaaaaa');
      await approvals.put(p, 0);
      const readA = await approvals.get(p.id);
      const readB = await replicaB.approvals.get(p.id);
      assert.ok(readA && readB);
      assert.equal((await approvals.put({ ...readA.pending, escalated: true }, readA.version))?.version, 2);
      assert.equal(await replicaB.approvals.put({ ...readB.pending, reviews: [] }, readB.version), null);
      const again = await replicaB.approvals.get(p.id);
      assert.equal(again?.version, 2);
      assert.equal(again?.pending.escalated, true);
      assert.equal(await approvals.put({ ...p, id: 'kg-missing000' }, 1), null);
      // Many writers racing on one version: exactly one wins.
      const racers = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          (i % 2 === 0 ? approvals : replicaB.approvals).put(
            { ...readA.pending, comment: `w${i}` } as PendingRequest,
            2,
          ),
        ),
      );
      assert.equal(racers.filter((r) => r !== null).length, 1);
    } finally {
      await replicaB.close();
    }
  }));

test('list returns every request oldest first, or those in one state', () =>
  withStore(async ({ approvals }) => {
    const b = pending('kg-bbbbbbbbbb', 'fp-b', at(2000));
    const a = pending('kg-aaaaaaaaaa', 'fp-a', at(1000));
    await approvals.put(b, 0);
    await approvals.put(a, 0);
    await approvals.put(reviewed(b, 'approve', at(3000)), 1);
    assert.deepEqual(
      (await approvals.list()).map((s) => s.pending.id),
      [a.id, b.id],
    );
    assert.deepEqual(
      (await approvals.list({ state: 'pending' })).map((s) => s.pending.id),
      [a.id],
    );
    assert.deepEqual(
      (await approvals.list({ state: 'approved' })).map((s) => s.pending.id),
      [b.id],
    );
    assert.deepEqual(await approvals.list({ state: 'denied' }), []);
  }));

test('findActive finds pending requests and approved ones with an unused, unexpired grant', () =>
  withStore(async ({ approvals }) => {
    const open = pending('kg-open000000', 'fp');
    const granted = reviewed(pending('kg-grant00000', 'fp'), 'approve', T0); // grant until T0 + 10 min
    const spent = useGrant(reviewed(pending('kg-spent00000', 'fp'), 'approve', T0), T0);
    assert.ok(spent);
    const denied = reviewed(pending('kg-denied0000', 'fp'), 'deny', T0);
    const expired = { ...pending('kg-expired000', 'fp'), state: 'expired' as const };
    const elsewhere = pending('kg-other00000', 'fp-other');
    for (const p of [open, granted, spent, denied, expired, elsewhere]) await approvals.put(p, 0);
    const ids = async (now: Date) => (await approvals.findActive('fp', now)).map((s) => s.pending.id).sort();
    assert.deepEqual(await ids(at(1000)), ['kg-grant00000', 'kg-open000000']);
    assert.deepEqual(await ids(at(600_000)), ['kg-open000000']);
    assert.deepEqual(await approvals.findActive('fp-none', T0), []);
  }));

test('findDenied finds the denials decided since a time, newest first', () =>
  withStore(async ({ approvals }) => {
    const early = reviewed(pending('kg-early00000', 'fp'), 'deny', at(1000));
    const late = reviewed(pending('kg-late000000', 'fp'), 'deny', at(5000));
    const approved = reviewed(pending('kg-approved00', 'fp'), 'approve', at(6000));
    const other = reviewed(pending('kg-other00000', 'fp-other'), 'deny', at(6000));
    for (const p of [early, late, approved, other]) await approvals.put(p, 0);
    const ids = async (since: Date) => (await approvals.findDenied('fp', since)).map((s) => s.pending.id);
    assert.deepEqual(await ids(T0), ['kg-late000000', 'kg-early00000']);
    assert.deepEqual(await ids(at(2000)), ['kg-late000000']);
    assert.deepEqual(await ids(at(5001)), []);
  }));

test('findStanding finds approved requests with a standing approval in force, whatever the fingerprint', () =>
  withStore(async ({ approvals }) => {
    const ask = { scope: 'rule', durationMs: 60_000 } as const;
    const standing = withStanding(
      reviewed(pending('kg-stand00000', 'fp-1'), 'approve', at(0)),
      ask,
      'bob',
      at(0),
    );
    const other = withStanding(
      reviewed(pending('kg-stand00001', 'fp-2'), 'approve', at(0)),
      ask,
      'bob',
      at(0),
    );
    const revoked = revokeStanding(
      withStanding(reviewed(pending('kg-revoked000', 'fp-3'), 'approve', at(0)), ask, 'bob', at(0)),
      'carol',
      at(10),
    );
    assert.ok(revoked !== null);
    const plain = reviewed(pending('kg-plain00000', 'fp-4'), 'approve', at(0));
    for (const p of [standing, other, revoked, plain]) await approvals.put(p, 0);
    const ids = async (now: Date) => (await approvals.findStanding(now)).map((s) => s.pending.id);
    assert.deepEqual(await ids(at(1000)), ['kg-stand00000', 'kg-stand00001']);
    assert.deepEqual(await ids(at(60_000)), [], 'ended');
  }));

const session = (createdAt: number, expiresAt: number): Session => ({
  user: 'carol',
  groups: ['sre', 'security'],
  tokenDigest: 'd'.repeat(64),
  csrfToken: 'c'.repeat(43),
  createdAt,
  expiresAt,
});

test('sessions: another replica sees a sign-in, and a sign-out (revocation) at once', () =>
  withStore(async ({ sessions }, url) => {
    const replicaB = await openStore(postgresStoreConfig(url));
    try {
      const oidc = { issuer: 'https://idp.example.com', subject: 'sam-1234' };
      await sessions.add('k1', { ...session(10, 1_000), oidc }, { now: 10, max: 10 });
      assert.deepEqual(await replicaB.sessions.get('k1'), { ...session(10, 1_000), oidc });
      await replicaB.sessions.delete('k1');
      assert.equal(await sessions.get('k1'), null);
    } finally {
      await replicaB.close();
    }
  }));

test('sessions: adding drops the expired ones and, at the bound, the oldest live ones', () =>
  withStore(async ({ sessions: s }) => {
    assert.deepEqual(await s.add('expired', session(0, 100), { now: 50, max: 3 }), []);
    assert.deepEqual(await s.add('old', session(10, 1_000), { now: 50, max: 3 }), []);
    assert.deepEqual(await s.add('mid', session(20, 1_000), { now: 50, max: 3 }), []);
    assert.deepEqual(await s.add('new', session(100, 1_100), { now: 100, max: 3 }), []);
    assert.equal(await s.get('expired'), null);
    assert.deepEqual(await s.add('newer', session(101, 1_101), { now: 101, max: 3 }), [
      { key: 'old', expiresAt: 1_000 },
    ]);
    assert.equal(await s.get('old'), null);
    assert.deepEqual(await s.get('mid'), session(20, 1_000));
  }));

test('replicas starting together migrate the database once, and reopening keeps the data', async () => {
  const url = await server.createDatabase();
  const stores = await Promise.all(Array.from({ length: 4 }, () => openStore(postgresStoreConfig(url))));
  const p = pending('kg-aaaaaaaaaa');
  await stores[0]?.approvals.put(p, 0);
  for (const store of stores) await store.close();
  const version = await server.sql(url, 'SELECT version FROM kubegate_schema');
  assert.deepEqual(version.rows, [{ version: MIGRATIONS.length }]);
  const again = await openStore(postgresStoreConfig(url));
  try {
    assert.deepEqual(await again.approvals.get(p.id), { pending: p, version: 1 });
  } finally {
    await again.close();
  }
});

test('a database a newer kubegate migrated is refused, by the gateway and by `kubegate audit`', async () => {
  const url = await server.createDatabase();
  await (await openStore(postgresStoreConfig(url))).close();
  await server.sql(url, 'UPDATE kubegate_schema SET version = 99');
  const newer = {
    code: 'KG_CONFIG_INVALID',
    message: /migrated by a newer kubegate: its layout is version 99/,
  };
  await assert.rejects(openStore(postgresStoreConfig(url)), newer);
  await assert.rejects(openStore(postgresStoreConfig(url), { readOnly: true }), newer);
});

test('an unreachable database is a clear error that does not print the password', async () => {
  const url = 'postgres://kubegate:s3cret@127.0.0.1:1/nothing';
  await assert.rejects(openStore(postgresStoreConfig(url)), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'KG_AUDIT_UNAVAILABLE');
    assert.match(
      err.message,
      /cannot open kubegate's PostgreSQL store at postgres:\/\/kubegate:\*\*\*@127\.0\.0\.1:1\/nothing/,
    );
    assert.match(err.message, /Check store\.url/);
    assert.equal(err.message.includes('s3cret'), false);
    return true;
  });
});

test('a database that cannot be reached is answered as KG_STORE_UNAVAILABLE, for approvals and sessions', async () => {
  const url = await server.createDatabase();
  const store = await openStore(postgresStoreConfig(url));
  await store.close();
  const unavailable = (err: unknown): boolean => {
    assert.ok(err instanceof KubegateError, String(err));
    assert.equal(err.code, 'KG_STORE_UNAVAILABLE');
    assert.match(err.message, /cannot reach its database.*Retry/u);
    return true;
  };
  await assert.rejects(store.approvals.get('kg-x'), unavailable);
  await assert.rejects(store.approvals.findActive('fp', T0), unavailable);
  await assert.rejects(store.sessions.get('k'), unavailable);
});

test('web sign-ins in progress: one replica starts it, another takes it, once; expired and excess ones go', () =>
  withStore(async (a, url) => {
    const b = await openStore(postgresStoreConfig(url));
    try {
      const flowsA = new PendingSignIns({ now: () => now, ttlMs: 100, max: 2, store: a.signInFlows! });
      const flowsB = new PendingSignIns({ now: () => now, ttlMs: 100, max: 2, store: b.signInFlows! });
      let now = 1_000;
      const flow = { issuer: 0, state: 's', nonce: 'n', codeVerifier: 'v', next: '/ui/' };
      const first = await flowsA.begin(flow);
      const [one, two] = await Promise.all([flowsB.take(first), flowsA.take(first)]);
      assert.deepEqual([one.kind, two.kind].sort(), ['found', 'none'], 'exactly one replica gets it');
      const found = one.kind === 'found' ? one : two;
      assert.deepEqual(found.kind === 'found' && found.flow, { ...flow, startedAt: 1_000 });
      // At the bound the oldest goes; after the TTL every old one goes.
      const ids = [await flowsA.begin(flow), await flowsB.begin(flow), await flowsA.begin(flow)];
      assert.equal((await flowsB.take(ids[0]!)).kind, 'none');
      assert.equal((await flowsB.take(ids[1]!)).kind, 'found');
      now = 1_100;
      await flowsB.begin(flow);
      assert.equal((await flowsA.take(ids[2]!)).kind, 'none');
      const rows = await server.sql(url, 'SELECT id_digest FROM web_sign_in_flows');
      assert.equal(rows.rows.length, 1);
      assert.ok(!ids.includes((rows.rows[0] as { id_digest: string }).id_digest), 'only digests are stored');
    } finally {
      await b.close();
    }
  }));

test('once an owner migrated the database, replicas run as a user without CREATE: reads, writes, the chain', async () => {
  const url = await server.createDatabase();
  await (await openStore(postgresStoreConfig(url))).close(); // the owner's first start migrates
  const name = new URL(url).pathname.slice(1);
  const role = `app_${name}`;
  await server.sql(
    url,
    `CREATE ROLE ${role} LOGIN;
     REVOKE CREATE ON SCHEMA public FROM PUBLIC;
     GRANT USAGE ON SCHEMA public TO ${role};
     GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ${role};
     GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO ${role};`,
  );
  const app = new URL(url);
  app.username = role;
  assert.equal(
    (
      (await server.sql(app.toString(), "SELECT has_schema_privilege('public', 'CREATE') AS c")).rows[0] as {
        c: boolean;
      }
    ).c,
    false,
  );
  const store = await openStore(postgresStoreConfig(app.toString()));
  try {
    assert.ok(await store.approvals.put(pending('kg-bbbbbbbbbb'), 0));
    await store.audit.append(auditEvent('decided', T0, { requestId: 'req-app' }));
    assert.equal((await store.auditReader.verify()).ok, true);
  } finally {
    await store.close();
  }
});
