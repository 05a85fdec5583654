// The SQLite SessionStore: sessions survive a restart (the store closed and opened again), the
// file holds neither a session id nor a token, expired sessions go at the next sign-in, and past
// the bound the oldest go first.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { storeIn } from '../../config/schema.js';
import { Sessions, type Session } from '../../web/session.js';
import { openStore } from '../open.js';
import { APPROVALS_DB } from './layouts.js';

let root: string;
let n = 0;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'kubegate-sqlite-sessions-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

const fresh = (): string => join(root, `s${++n}`);
const session = (createdAt: number, expiresAt: number): Session => ({
  user: 'carol',
  groups: ['sre', 'security'],
  tokenDigest: 'd'.repeat(64),
  csrfToken: 'c'.repeat(43),
  createdAt,
  expiresAt,
});

test('a session signed in before a restart is there after it, as it was', async () => {
  const dir = fresh();
  const token = `kg_${randomBytes(24).toString('base64url')}`;
  const tokenDigest = createHash('sha256').update(token).digest('hex');
  const first = await openStore(storeIn(dir));
  const { id, session: created } = await new Sessions(first.sessions, { ttlMs: 60_000 }).create(
    { user: 'carol', groups: ['sre'] },
    tokenDigest,
  );
  await first.close();

  const second = await openStore(storeIn(dir));
  try {
    assert.deepEqual(await new Sessions(second.sessions, { ttlMs: 60_000 }).get(id), created);
  } finally {
    await second.close();
  }
  // A copy of the file signs no one in: it holds the id's digest, never the id or the token.
  const file = await readFile(join(dir, APPROVALS_DB));
  assert.equal(file.includes(id), false);
  assert.equal(file.includes(token), false);
  assert.equal(file.includes(createHash('sha256').update(id).digest('hex')), true);
});

test('a session opened through an OpenID provider keeps its issuer and subject across a restart', async () => {
  const dir = fresh();
  const oidc = { issuer: 'https://idp.example.com', subject: 'sam-1234' };
  const first = await openStore(storeIn(dir));
  const { id, session: created } = await new Sessions(first.sessions, { ttlMs: 60_000 }).create(
    { user: 'sam@example.com', groups: ['oidc:sre'], oidc },
    '',
  );
  await first.close();
  assert.deepEqual(created.oidc, oidc);

  const second = await openStore(storeIn(dir));
  try {
    assert.deepEqual(await new Sessions(second.sessions, { ttlMs: 60_000 }).get(id), created);
  } finally {
    await second.close();
  }
});

test('adding drops the expired sessions and, at the bound, the oldest live ones', async () => {
  const store = await openStore(storeIn(fresh()));
  try {
    const s = store.sessions;
    assert.deepEqual(await s.add('expired', session(0, 100), { now: 50, max: 3 }), []);
    assert.deepEqual(await s.add('old', session(10, 1_000), { now: 50, max: 3 }), []);
    assert.deepEqual(await s.add('mid', session(20, 1_000), { now: 50, max: 3 }), []);
    // At 100 the first has expired: it goes without counting as dropped, and the bound holds.
    assert.deepEqual(await s.add('new', session(100, 1_100), { now: 100, max: 3 }), []);
    assert.equal(await s.get('expired'), null);
    assert.deepEqual(await s.add('newer', session(101, 1_101), { now: 101, max: 3 }), [
      { key: 'old', expiresAt: 1_000 },
    ]);
    assert.equal(await s.get('old'), null);
    assert.deepEqual(await s.get('mid'), session(20, 1_000));
    await s.delete('mid');
    assert.equal(await s.get('mid'), null);
  } finally {
    await store.close();
  }
});
