// kubegate login's decisions: the cache key, when a cached sign-in is used, refreshed or replaced,
// which cache files are trusted, what kubectl is told and what kubectl's KUBERNETES_EXEC_INFO says.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  cacheFileName,
  cacheFileProblem,
  canSignIn,
  decide,
  execCredential,
  normaliseScopes,
  parseCachedSignIn,
  parseExecInfo,
  refreshMargin,
} from './oidc-login-cache.js';
import type { CachedSignIn, FileFacts, LoginTarget, SignInSetting } from './oidc-login-cache.js';

const target: LoginTarget = {
  issuer: 'https://idp.example.com/',
  clientId: 'kubectl',
  scopes: ['openid', 'email', 'offline_access'],
};
const NOW = Date.parse('2030-01-01T00:00:00Z');

function cached(over: Partial<CachedSignIn> = {}): CachedSignIn {
  return {
    version: 1,
    issuer: target.issuer,
    clientId: target.clientId,
    scopes: [...target.scopes],
    idToken: 'eyJ.id.token',
    idTokenIssuedAt: NOW - 10 * 60_000,
    idTokenExpiresAt: NOW + 50 * 60_000,
    refreshToken: 'refresh-1',
    ...over,
  };
}

test('scopes are normalised: openid first, the rest sorted, repeats and blanks dropped', () => {
  assert.deepEqual(normaliseScopes(['groups', 'email groups', '', 'openid']), ['openid', 'email', 'groups']);
  assert.deepEqual(normaliseScopes([]), ['openid']);
});

test('the cache file name is one per issuer, client and scope set, and names neither', () => {
  const name = cacheFileName(target);
  assert.match(name, /^[0-9a-f]{64}\.json$/u);
  assert.equal(cacheFileName({ ...target, scopes: ['offline_access', 'email'] }), name);
  assert.notEqual(cacheFileName({ ...target, issuer: 'https://other.example.com/' }), name);
  assert.notEqual(cacheFileName({ ...target, clientId: 'other' }), name);
  assert.notEqual(cacheFileName({ ...target, scopes: ['email'] }), name);
});

const decisions: { name: string; input: CachedSignIn | null; want: string }[] = [
  { name: 'no cache means a sign-in', input: null, want: 'sign-in' },
  { name: 'a token valid for 50 more minutes is used as it is', input: cached(), want: 'use' },
  {
    name: 'a token expiring within the minute is refreshed',
    input: cached({ idTokenExpiresAt: NOW + 59_000 }),
    want: 'refresh',
  },
  {
    name: 'an expired token is refreshed',
    input: cached({ idTokenExpiresAt: NOW - 1 }),
    want: 'refresh',
  },
  {
    name: 'an expired token without a refresh token means a sign-in',
    input: cached({ idTokenExpiresAt: NOW - 1, refreshToken: null }),
    want: 'sign-in',
  },
  {
    name: 'a 30 s token with 15 s left is used (its margin is a third of its life, 10 s)',
    input: cached({ idTokenIssuedAt: NOW - 15_000, idTokenExpiresAt: NOW + 15_000 }),
    want: 'use',
  },
  {
    name: 'a 30 s token with 9 s left is refreshed',
    input: cached({ idTokenIssuedAt: NOW - 21_000, idTokenExpiresAt: NOW + 9_000 }),
    want: 'refresh',
  },
  {
    name: 'a token whose iat lies after its exp is refreshed (no lifetime, no margin, but expired)',
    input: cached({ idTokenIssuedAt: NOW + 5_000, idTokenExpiresAt: NOW }),
    want: 'refresh',
  },
];
for (const row of decisions) {
  test(row.name, () => assert.equal(decide(row.input, NOW), row.want));
}

test('the refresh margin is a minute for long-lived tokens and a third of the life of short ones', () => {
  assert.equal(refreshMargin(cached()), 60_000);
  assert.equal(refreshMargin(cached({ idTokenIssuedAt: NOW, idTokenExpiresAt: NOW + 20_000 })), 6_666);
});

test('a cache file for this target is read back', () => {
  const c = cached();
  assert.deepEqual(parseCachedSignIn(JSON.stringify(c), target), c);
  assert.deepEqual(
    parseCachedSignIn(JSON.stringify(c), { ...target, scopes: ['email', 'offline_access'] }),
    c,
  );
});

const unusable: { name: string; input: string }[] = [
  { name: 'text that is not JSON', input: '{"version":' },
  { name: 'another format version', input: JSON.stringify({ ...cached(), version: 2 }) },
  { name: 'an unknown field', input: JSON.stringify({ ...cached(), extra: true }) },
  { name: 'an empty ID token', input: JSON.stringify(cached({ idToken: '' })) },
  { name: 'another issuer’s sign-in', input: JSON.stringify(cached({ issuer: 'https://evil.example/' })) },
  { name: 'another client’s sign-in', input: JSON.stringify(cached({ clientId: 'other' })) },
  { name: 'a sign-in for other scopes', input: JSON.stringify(cached({ scopes: ['openid'] })) },
];
for (const row of unusable) {
  test(`a cache file holding ${row.name} is not used`, () => {
    assert.equal(parseCachedSignIn(row.input, target), null);
  });
}

const files: { name: string; input: FileFacts; want: RegExp | null }[] = [
  {
    name: 'the user’s own 0600 file is trusted',
    input: { isFile: true, uid: 1000, mode: 0o600 },
    want: null,
  },
  { name: 'a 0400 file is trusted', input: { isFile: true, uid: 1000, mode: 0o400 }, want: null },
  {
    name: 'a group-readable file is not',
    input: { isFile: true, uid: 1000, mode: 0o640 },
    want: /open to other users \(mode 0640\)/u,
  },
  {
    name: 'a world-readable file is not',
    input: { isFile: true, uid: 1000, mode: 0o604 },
    want: /mode 0604/u,
  },
  {
    name: 'a group-writable file is not',
    input: { isFile: true, uid: 1000, mode: 0o620 },
    want: /mode 0620/u,
  },
  {
    name: 'another user’s file is not, whatever its mode',
    input: { isFile: true, uid: 0, mode: 0o600 },
    want: /belongs to user ID 0, not to you \(1000\)/u,
  },
  {
    name: 'a directory is not',
    input: { isFile: false, uid: 1000, mode: 0o700 },
    want: /not a regular file/u,
  },
];
for (const row of files) {
  test(row.name, () => {
    const problem = cacheFileProblem(row.input, 1000);
    if (row.want === null) assert.equal(problem, null);
    else assert.match(problem ?? '', row.want);
  });
}

test('the ExecCredential carries the token and its expiry in whole seconds, in kubectl’s version', () => {
  const out = JSON.parse(
    execCredential('client.authentication.k8s.io/v1', 'tok', Date.parse('2030-01-01T00:00:20.750Z')),
  ) as unknown;
  assert.deepEqual(out, {
    apiVersion: 'client.authentication.k8s.io/v1',
    kind: 'ExecCredential',
    status: { token: 'tok', expirationTimestamp: '2030-01-01T00:00:20Z' },
  });
});

const execInfos: { name: string; input: string | undefined; want: unknown }[] = [
  {
    name: 'no KUBERNETES_EXEC_INFO (run by hand) answers in v1',
    input: undefined,
    want: { apiVersion: 'client.authentication.k8s.io/v1', interactive: null },
  },
  {
    name: 'kubectl’s v1 exec info with a terminal',
    input: JSON.stringify({
      kind: 'ExecCredential',
      apiVersion: 'client.authentication.k8s.io/v1',
      spec: { interactive: true },
    }),
    want: { apiVersion: 'client.authentication.k8s.io/v1', interactive: true },
  },
  {
    name: 'a v1beta1 kubeconfig is answered in v1beta1',
    input: JSON.stringify({
      kind: 'ExecCredential',
      apiVersion: 'client.authentication.k8s.io/v1beta1',
      spec: { interactive: false },
    }),
    want: { apiVersion: 'client.authentication.k8s.io/v1beta1', interactive: false },
  },
  {
    name: 'exec info that is not JSON falls back to v1',
    input: '{oops',
    want: { apiVersion: 'client.authentication.k8s.io/v1', interactive: null },
  },
];
for (const row of execInfos) {
  test(row.name, () => assert.deepEqual(parseExecInfo(row.input), row.want));
}

const settings: { name: string; input: SignInSetting; want: boolean }[] = [
  {
    name: 'without --no-browser a sign-in is tried, even with no terminal',
    input: { noBrowser: false, interactive: false, stderrIsTerminal: false },
    want: true,
  },
  {
    name: 'with --no-browser a terminal on stderr lets a person follow the URL',
    input: { noBrowser: true, interactive: null, stderrIsTerminal: true },
    want: true,
  },
  {
    name: 'with --no-browser kubectl’s interactive flag does too',
    input: { noBrowser: true, interactive: true, stderrIsTerminal: false },
    want: true,
  },
  {
    name: 'with --no-browser and no terminal nobody can sign in',
    input: { noBrowser: true, interactive: false, stderrIsTerminal: false },
    want: false,
  },
];
for (const row of settings) {
  test(row.name, () => assert.equal(canSignIn(row.input), row.want));
}
