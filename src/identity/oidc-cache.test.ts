// The verified-token cache: bounded, least recently used first out, never past exp, and a key's
// removal takes the tokens it verified with it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cacheKey, VerifiedTokens, type VerifiedToken } from './oidc-cache.js';

const entry = (user: string, fields: Partial<VerifiedToken> = {}): VerifiedToken => ({
  identity: { user, groups: [], method: 'oidc' },
  expiresAtMs: 1_000,
  issuer: 'https://a.example',
  kid: 'k1',
  revoked: false,
  ...fields,
});

test('an entry is served until its exp and never at or after it', () => {
  const cache = new VerifiedTokens();
  const alice = entry('alice');
  cache.set('t', alice, 0);
  assert.equal(cache.get('t', 999), alice);
  assert.equal(cache.get('t', 1_000), undefined);
  assert.equal(alice.revoked, true, "a long request's stillValid sees it end");
  assert.equal(cache.size, 0);
});

test('an entry already past its exp is not kept', () => {
  const cache = new VerifiedTokens();
  cache.set('t', entry('alice'), 1_000);
  assert.equal(cache.size, 0);
});

test('when full, the least recently used entry goes', () => {
  const cache = new VerifiedTokens(2);
  cache.set('a', entry('a'), 0);
  cache.set('b', entry('b'), 0);
  assert.ok(cache.get('a', 0)); // a is now the most recent
  cache.set('c', entry('c'), 0);
  assert.equal(cache.size, 2);
  assert.equal(cache.get('b', 0), undefined);
  assert.ok(cache.get('a', 0));
  assert.ok(cache.get('c', 0));
});

test("a removed key drops the issuer's tokens it (or no named key) verified, and no others", () => {
  const cache = new VerifiedTokens();
  const byK1 = entry('k1');
  const byK2 = entry('k2', { kid: 'k2' });
  const noKid = entry('nokid', { kid: undefined });
  const otherIssuer = entry('other', { issuer: 'https://b.example' });
  cache.set('1', byK1, 0);
  cache.set('2', byK2, 0);
  cache.set('3', noKid, 0);
  cache.set('4', otherIssuer, 0);
  assert.equal(cache.forgetKeys('https://a.example', new Set(['k1'])), 2);
  assert.deepEqual(
    [byK1.revoked, byK2.revoked, noKid.revoked, otherIssuer.revoked],
    [true, false, true, false],
  );
  assert.equal(cache.forgetKeys('https://a.example', 'all'), 1);
  assert.equal(byK2.revoked, true);
  assert.ok(cache.get('4', 0));
});

test('the cache key is the SHA-256 of the token, never the token', () => {
  const token = 'eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJ4In0.c2ln';
  assert.equal(cacheKey(token), '+S+2S5ASD+3rhV0+PJ8FP7O8SLrZvyxHM3HqAWQhT4o=');
  assert.ok(!cacheKey(token).includes(token));
});
