// kubegate login's steps with fake deps: a valid cache is used without the provider, an expiring
// one is refreshed and saved, a revoked refresh token falls back to a sign-in where someone can
// do it and to one clear line where nobody can, the lock is always released.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KubegateError } from '../errors.js';
import type { CachedSignIn, LoginTarget } from '../identity/oidc-login-cache.js';
import { obtainCredential } from './login-flow.js';
import type { LoginFlowDeps } from './login-flow.js';
import type { SignInTokens } from './login-oidc.js';

const NOW = 1_900_000_000_000;
const target: LoginTarget = {
  issuer: 'https://idp.example.com',
  clientId: 'kubectl',
  scopes: ['email', 'openid'],
};

function cached(over: Partial<CachedSignIn> = {}): CachedSignIn {
  return {
    version: 1,
    issuer: target.issuer,
    clientId: target.clientId,
    scopes: ['openid', 'email'],
    idToken: 'cached-id-token',
    idTokenIssuedAt: NOW - 60 * 60_000,
    idTokenExpiresAt: NOW + 30 * 60_000,
    refreshToken: 'refresh-1',
    ...over,
  };
}
const expiring = cached({ idTokenExpiresAt: NOW + 30_000 });
const fresh: SignInTokens = {
  idToken: 'new-id-token',
  idTokenIssuedAt: NOW,
  idTokenExpiresAt: NOW + 60 * 60_000,
  refreshToken: 'refresh-2',
};

interface Fake extends LoginFlowDeps {
  readonly calls: string[];
  readonly written: CachedSignIn[];
  locked: boolean;
}

/** `reads` are what successive cache reads return (the last one repeats). */
function fake(
  reads: (CachedSignIn | null)[],
  over: { refresh?: SignInTokens | null | Error; signIn?: SignInTokens | Error; canSignIn?: boolean } = {},
): Fake {
  const calls: string[] = [];
  const written: CachedSignIn[] = [];
  let i = 0;
  const deps: Fake = {
    calls,
    written,
    locked: false,
    now: () => NOW,
    readCache: () => Promise.resolve(reads[Math.min(i++, reads.length - 1)] ?? null),
    writeCache: (c) => {
      written.push(c);
      return Promise.resolve();
    },
    lock: () => {
      calls.push('lock');
      deps.locked = true;
      return Promise.resolve(() => {
        calls.push('unlock');
        deps.locked = false;
        return Promise.resolve();
      });
    },
    refresh: (rt) => {
      calls.push(`refresh ${rt}`);
      const r = over.refresh === undefined ? fresh : over.refresh;
      return r instanceof Error ? Promise.reject(r) : Promise.resolve(r);
    },
    signIn: () => {
      calls.push('sign-in');
      const r = over.signIn ?? fresh;
      return r instanceof Error ? Promise.reject(r) : Promise.resolve(r);
    },
    canSignIn: over.canSignIn ?? true,
  };
  return deps;
}

test('a cached token valid for long enough is handed to kubectl without the provider or the lock', async () => {
  const deps = fake([cached()]);
  assert.deepEqual(await obtainCredential(target, deps), {
    idToken: 'cached-id-token',
    expiresAt: NOW + 30 * 60_000,
  });
  assert.deepEqual(deps.calls, []);
  assert.deepEqual(deps.written, []);
});

test('a token expiring within the minute is refreshed under the lock, and the new tokens saved', async () => {
  const deps = fake([expiring]);
  assert.deepEqual(await obtainCredential(target, deps), {
    idToken: 'new-id-token',
    expiresAt: NOW + 60 * 60_000,
  });
  assert.deepEqual(deps.calls, ['lock', 'refresh refresh-1', 'unlock']);
  assert.deepEqual(deps.written, [
    {
      version: 1,
      issuer: target.issuer,
      clientId: 'kubectl',
      scopes: ['openid', 'email'],
      idToken: 'new-id-token',
      idTokenIssuedAt: NOW,
      idTokenExpiresAt: NOW + 60 * 60_000,
      refreshToken: 'refresh-2',
    },
  ]);
});

test('a refresh done by another kubectl while this one waited for the lock is used, not repeated', async () => {
  const deps = fake([expiring, cached({ idToken: 'refreshed-by-the-other' })]);
  assert.equal((await obtainCredential(target, deps)).idToken, 'refreshed-by-the-other');
  assert.deepEqual(deps.calls, ['lock', 'unlock']);
});

test('a revoked refresh token falls back to a sign-in when someone can sign in', async () => {
  const deps = fake([expiring], { refresh: null });
  assert.equal((await obtainCredential(target, deps)).idToken, 'new-id-token');
  assert.deepEqual(deps.calls, ['lock', 'refresh refresh-1', 'sign-in', 'unlock']);
  assert.equal(deps.written.length, 1);
});

test('a revoked refresh token with nobody to sign in (--no-browser, no terminal) is one clear line', async () => {
  const deps = fake([expiring], { refresh: null, canSignIn: false });
  await assert.rejects(obtainCredential(target, deps), (err: unknown) => {
    assert.ok(err instanceof KubegateError);
    assert.equal(err.code, 'KG_LOGIN_EXPIRED');
    assert.equal(
      err.message,
      'your sign-in expired and cannot be renewed: run kubectl again in a terminal to sign in',
    );
    return true;
  });
  assert.deepEqual(deps.calls, ['lock', 'refresh refresh-1', 'unlock']);
});

test('an expired sign-in without a refresh token needs a sign-in', async () => {
  const deps = fake([cached({ idTokenExpiresAt: NOW - 1, refreshToken: null })]);
  await obtainCredential(target, deps);
  assert.deepEqual(deps.calls, ['lock', 'sign-in', 'unlock']);
});

test('no sign-in yet and nobody to sign in says so at once, without waiting for a timeout', async () => {
  const deps = fake([null], { canSignIn: false });
  await assert.rejects(obtainCredential(target, deps), {
    code: 'KG_LOGIN_EXPIRED',
    message:
      'you are not signed in, and cannot sign in without a terminal: run kubectl again in a terminal to sign in',
  });
  assert.deepEqual(deps.calls, ['lock', 'unlock']);
});

test('a provider that cannot be reached while the token still works: the cached token is used until it expires', async () => {
  const unreachable = new KubegateError('KG_LOGIN_IDP_UNREACHABLE', 'cannot reach the identity provider');
  const deps = fake([expiring], { refresh: unreachable });
  assert.deepEqual(await obtainCredential(target, deps), {
    idToken: 'cached-id-token',
    expiresAt: expiring.idTokenExpiresAt,
  });
  assert.deepEqual(deps.calls, ['lock', 'refresh refresh-1', 'unlock']);
  assert.deepEqual(deps.written, []);
});

test('a provider that cannot be reached once the token expired fails with its error, and the lock is released', async () => {
  const unreachable = new KubegateError('KG_LOGIN_IDP_UNREACHABLE', 'cannot reach the identity provider');
  const deps = fake([cached({ idTokenExpiresAt: NOW - 1 })], { refresh: unreachable });
  await assert.rejects(obtainCredential(target, deps), { code: 'KG_LOGIN_IDP_UNREACHABLE' });
  assert.equal(deps.locked, false);
  assert.deepEqual(deps.written, []);
});

test('a refresh answered without a new refresh token keeps the old one (providers that do not rotate)', async () => {
  const deps = fake([expiring], { refresh: { ...fresh, refreshToken: 'refresh-1' } });
  await obtainCredential(target, deps);
  assert.equal(deps.written[0]?.refreshToken, 'refresh-1');
});

test('a failed sign-in saves nothing and releases the lock', async () => {
  const deps = fake([null], {
    signIn: new KubegateError('KG_LOGIN_TIMEOUT', 'nobody completed the sign-in'),
  });
  await assert.rejects(obtainCredential(target, deps), { code: 'KG_LOGIN_TIMEOUT' });
  assert.equal(deps.locked, false);
  assert.deepEqual(deps.written, []);
});
