// kubegate login's order of steps, with everything that touches the world in `deps`: read the
// cache; use its ID token, refresh it, or sign in anew (identity/oidc-login-cache.ts decides);
// save what the provider gave. Input: the login target and deps. Output: the ID token and its
// expiry for the ExecCredential, or a KubegateError KG_LOGIN_* whose message is the line kubectl
// shows. Must never start a sign-in nobody can complete (--no-browser without a terminal): it says
// at once what to do instead of waiting for the timeout.

import { KubegateError } from '../errors.js';
import { decide, normaliseScopes } from '../identity/oidc-login-cache.js';
import type { CachedSignIn, LoginTarget } from '../identity/oidc-login-cache.js';
import type { SignInTokens } from './login-oidc.js';

export interface LoginFlowDeps {
  now(): number;
  readCache(): Promise<CachedSignIn | null>;
  writeCache(signIn: CachedSignIn): Promise<void>;
  /** Takes the cache's lock (see login-cache-file.ts) and returns its release. */
  lock(): Promise<() => Promise<void>>;
  /** New tokens, or null when the provider no longer accepts the refresh token. */
  refresh(refreshToken: string): Promise<SignInTokens | null>;
  /** An interactive sign-in (browser or device code); only called when `canSignIn`. */
  signIn(): Promise<SignInTokens>;
  /** identity/oidc-login-cache.ts canSignIn, for this run. */
  readonly canSignIn: boolean;
}

export interface Credential {
  readonly idToken: string;
  readonly expiresAt: number;
}

export async function obtainCredential(target: LoginTarget, deps: LoginFlowDeps): Promise<Credential> {
  const first = await deps.readCache();
  if (decide(first, deps.now()) === 'use') return credentialOf(first!);
  const release = await deps.lock();
  try {
    // Another kubectl may have refreshed or signed in while this one waited for the lock.
    const cached = await deps.readCache();
    const decision = decide(cached, deps.now());
    if (decision === 'use') return credentialOf(cached!);
    if (decision === 'refresh') {
      let tokens: SignInTokens | null;
      try {
        tokens = await deps.refresh(cached!.refreshToken!);
      } catch (err) {
        // Refreshing early is a courtesy: a provider that is down for a moment must not end a
        // sign-in whose token still works. Once it has expired, the failure is the answer.
        const stillValid = cached!.idTokenExpiresAt > deps.now();
        if (err instanceof KubegateError && err.code === 'KG_LOGIN_IDP_UNREACHABLE' && stillValid) {
          return credentialOf(cached!);
        }
        throw err;
      }
      if (tokens !== null) return await save(target, tokens, deps);
    }
    if (!deps.canSignIn) {
      throw new KubegateError(
        'KG_LOGIN_EXPIRED',
        cached === null
          ? 'you are not signed in, and cannot sign in without a terminal: run kubectl again in a terminal to sign in'
          : 'your sign-in expired and cannot be renewed: run kubectl again in a terminal to sign in',
      );
    }
    return await save(target, await deps.signIn(), deps);
  } finally {
    await release();
  }
}

async function save(target: LoginTarget, tokens: SignInTokens, deps: LoginFlowDeps): Promise<Credential> {
  await deps.writeCache({
    version: 1,
    issuer: target.issuer,
    clientId: target.clientId,
    scopes: normaliseScopes(target.scopes),
    idToken: tokens.idToken,
    idTokenIssuedAt: tokens.idTokenIssuedAt,
    idTokenExpiresAt: tokens.idTokenExpiresAt,
    refreshToken: tokens.refreshToken,
  });
  return { idToken: tokens.idToken, expiresAt: tokens.idTokenExpiresAt };
}

function credentialOf(cached: CachedSignIn): Credential {
  return { idToken: cached.idToken, expiresAt: cached.idTokenExpiresAt };
}
