// Sessions and the session cookie, pure: expiry, the bound on live sessions, and which Cookie
// headers yield an id.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SESSION_COOKIE, SessionStore, secretsEqual, sessionCookie, sessionIdOf } from './session.js';

const alice = { user: 'alice', groups: ['dev'] };

test('a session lasts its TTL and not a millisecond more', () => {
  let now = 1_000;
  const store = new SessionStore({ ttlMs: 500, now: () => now });
  const { id, session } = store.create(alice, 'd'.repeat(64));
  assert.equal(session.expiresAt, 1_500);
  now = 1_499;
  assert.equal(store.get(id)?.user, 'alice');
  now = 1_500;
  assert.equal(store.get(id), null);
  assert.equal(store.size, 0, 'an expired session is dropped when seen');
});

test('ids and CSRF tokens are fresh 256-bit values; an unknown id finds nothing', () => {
  const store = new SessionStore({ ttlMs: 60_000 });
  const a = store.create(alice, 'x');
  const b = store.create(alice, 'x');
  assert.match(a.id, /^[A-Za-z0-9_-]{43}$/u);
  assert.notEqual(a.id, b.id);
  assert.notEqual(a.session.csrfToken, b.session.csrfToken);
  assert.notEqual(a.id, a.session.csrfToken);
  assert.equal(store.get('z'.repeat(43)), null);
  store.delete(a.id);
  assert.equal(store.get(a.id), null);
  assert.equal(store.get(b.id)?.user, 'alice');
});

test('past maxSessions the oldest session goes, so sign-ins cannot grow memory without bound', () => {
  const store = new SessionStore({ ttlMs: 60_000, maxSessions: 2 });
  const first = store.create(alice, 'x');
  const second = store.create(alice, 'x');
  const third = store.create(alice, 'x');
  assert.equal(store.size, 2);
  assert.equal(store.get(first.id), null);
  assert.notEqual(store.get(second.id), null);
  assert.notEqual(store.get(third.id), null);
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
