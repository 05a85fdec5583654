// Sessions (their life: expiry, sign-out, the bound on live sessions) over the SQLite store in a
// temporary folder, and the session cookie, pure: which Cookie headers yield an id.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { storeIn } from '../config/schema.js';
import { openStore, type Store } from '../store/open.js';
import {
  SESSION_COOKIE,
  Sessions,
  secretsEqual,
  sessionCookie,
  sessionIdOf,
  type Session,
  type SessionStore,
} from './session.js';

const alice = { user: 'alice', groups: ['dev'] };
let dir: string;
let store: Store;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kubegate-sessions-'));
  store = await openStore(storeIn(dir));
});
after(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

/** What the store keeps for `id` (its key is the id's SHA-256). */
const kept = (id: string): Promise<Session | null> =>
  store.sessions.get(createHash('sha256').update(id).digest('hex'));

test('a session lasts its TTL and not a millisecond more', async () => {
  let now = 1_000;
  const sessions = new Sessions(store.sessions, { ttlMs: 500, now: () => now });
  const { id, session } = await sessions.create(alice, 'd'.repeat(64));
  assert.equal(session.expiresAt, 1_500);
  now = 1_499;
  assert.equal((await sessions.get(id))?.user, 'alice');
  assert.equal(sessions.stillLive(id, session), true);
  now = 1_500;
  assert.equal(sessions.stillLive(id, session), false);
  assert.equal(await sessions.get(id), null);
  assert.equal(await kept(id), null, 'an expired session is dropped from the store when seen');
});

test('ids and CSRF tokens are fresh 256-bit values; an unknown id finds nothing', async () => {
  const sessions = new Sessions(store.sessions, { ttlMs: 60_000 });
  const a = await sessions.create(alice, 'x');
  const b = await sessions.create(alice, 'x');
  assert.match(a.id, /^[A-Za-z0-9_-]{43}$/u);
  assert.notEqual(a.id, b.id);
  assert.notEqual(a.session.csrfToken, b.session.csrfToken);
  assert.notEqual(a.id, a.session.csrfToken);
  assert.equal(await sessions.get('z'.repeat(43)), null);
  await sessions.delete(a.id);
  assert.equal(await sessions.get(a.id), null);
  assert.equal(await kept(a.id), null);
  assert.equal((await sessions.get(b.id))?.user, 'alice');
});

test('signing out ends the session for a running check before the store has answered', async () => {
  let release = (): void => undefined;
  const slow: SessionStore = {
    add: (key, session, limits) => store.sessions.add(key, session, limits),
    get: (key) => store.sessions.get(key),
    delete: async (key) => {
      await new Promise<void>((resolve) => (release = resolve));
      await store.sessions.delete(key);
    },
  };
  const sessions = new Sessions(slow, { ttlMs: 60_000 });
  const { id, session } = await sessions.create(alice, 'x');
  const signingOut = sessions.delete(id);
  assert.equal(sessions.stillLive(id, session), false);
  assert.equal(await sessions.get(id), null);
  release();
  await signingOut;
  assert.equal(sessions.stillLive(id, session), false);
});

test('past maxSessions the oldest session goes, and a stream on it ends', async () => {
  const own = await mkdtemp(join(tmpdir(), 'kubegate-sessions-max-'));
  const bounded = await openStore(storeIn(own));
  try {
    let now = 1_000;
    const sessions = new Sessions(bounded.sessions, { ttlMs: 60_000, maxSessions: 2, now: () => now++ });
    const first = await sessions.create(alice, 'x');
    const second = await sessions.create(alice, 'x');
    const third = await sessions.create(alice, 'x');
    assert.equal(await sessions.get(first.id), null);
    assert.equal(sessions.stillLive(first.id, first.session), false);
    assert.notEqual(await sessions.get(second.id), null);
    assert.notEqual(await sessions.get(third.id), null);
  } finally {
    await bounded.close();
    await rm(own, { recursive: true, force: true });
  }
});

test('the cookie is read from one or several Cookie headers; doubled or malformed ids are refused', () => {
  const id = 'a'.repeat(43);
  assert.equal(sessionIdOf(`${SESSION_COOKIE}=${id}`), id);
  assert.equal(sessionIdOf(`theme=dark; ${SESSION_COOKIE}=${id}; lang=en`), id);
  assert.equal(sessionIdOf(['theme=dark', `${SESSION_COOKIE}=${id}`]), id);
  assert.equal(sessionIdOf(undefined), null);
  assert.equal(sessionIdOf('theme=dark'), null);
  assert.equal(sessionIdOf(`${SESSION_COOKIE}=${id}; ${SESSION_COOKIE}=${'b'.repeat(43)}`), null);
  assert.equal(sessionIdOf(`${SESSION_COOKIE}=short`), null);
  assert.equal(sessionIdOf(`${SESSION_COOKIE}=${'a'.repeat(42)}!`), null);
  assert.equal(sessionIdOf(`x${SESSION_COOKIE}=${id}`), null);
});

test('the Set-Cookie value keeps the id from scripts, other sites and plain HTTP', () => {
  assert.equal(
    sessionCookie('abc', 3_600_000),
    `${SESSION_COOKIE}=abc; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=3600`,
  );
});

test('secretsEqual compares values, whatever their lengths', () => {
  assert.equal(secretsEqual('same', 'same'), true);
  assert.equal(secretsEqual('same', 'Same'), false);
  assert.equal(secretsEqual('short', 'much longer value'), false);
  assert.equal(secretsEqual('', ''), true);
});

test("a sign-out on another replica ends this replica's open streams within recheckMs", async () => {
  // Two replicas: two Sessions over one store.
  const here = new Sessions(store.sessions, { ttlMs: 60_000, recheckMs: 20 });
  const there = new Sessions(store.sessions, { ttlMs: 60_000, recheckMs: 20 });
  const { id, session } = await here.create(alice, 'd'.repeat(64));
  assert.equal(here.stillLive(id, session), true, 'an open stream asks');
  await there.delete(id);
  assert.equal(await here.get(id), null, 'the next request sees it at once');
  const deadline = Date.now() + 2_000;
  while (here.stillLive(id, session) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  assert.equal(here.stillLive(id, session), false, 'the open stream sees it too');
});
