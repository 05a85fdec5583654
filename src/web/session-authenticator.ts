// The web-session authenticator, last in kubegate's own API's list (identity/identify.ts) and
// absent from the gateway's: a browser's session cookie names the reviewer signed in with a
// kubegate token or through an OpenID provider. Must never accept a session whose token was
// revoked (the session keeps the token's digest, and every use re-checks it; a revoked one ends
// the session at once), nor an OpenID one whose issuer kubegate no longer trusts (identity.oidc
// changed since), and never authenticate the Kubernetes API (the gateway's list has no session
// authenticator). An OpenID session holds the user and groups of the ID token it was opened with
// until that token's exp at the latest (web/session.ts): what the bearer path accepts, no longer.
import { KubegateError } from '../errors.js';
import type { Authenticator } from '../identity/authenticator.js';
import type { Identity } from '../identity/types.js';
import { sessionIdOf, type Sessions } from './session.js';

export const SIGN_IN_AGAIN = 'Sign in again at /ui/sign-in with your kubegate token.';

export function sessionAuthenticator(
  sessions: Pick<Sessions, 'get' | 'delete' | 'stillLive'>,
  tokens: { lookupDigest(digest: string): Identity | null },
  /** identity.oidc's issuer URLs: the OpenID providers whose sessions still hold. */
  oidcIssuers: ReadonlySet<string> = new Set(),
): Authenticator {
  return {
    reads: 'session',
    async authenticate({ credentials }) {
      const id = sessionIdOf(credentials.cookie);
      const session = id === null ? null : await sessions.get(id);
      if (id === null || session === null) return null;
      const info = { id, csrfToken: session.csrfToken, expiresAt: new Date(session.expiresAt) };
      if (session.oidc !== undefined) {
        if (!oidcIssuers.has(session.oidc.issuer)) {
          await sessions.delete(id);
          throw new KubegateError(
            'KG_AUTHN_OIDC_INVALID',
            'kubegate could not authenticate you: this web session was opened through an identity provider kubegate no longer trusts. Sign in again at /ui/sign-in.',
          );
        }
        return {
          identity: { user: session.user, groups: session.groups, method: 'oidc', oidc: session.oidc },
          stillValid: () => sessions.stillLive(id, session),
          session: info,
        };
      }
      const current = tokens.lookupDigest(session.tokenDigest);
      if (current === null || current.user !== session.user) {
        await sessions.delete(id);
        throw new KubegateError(
          'KG_AUTHN_TOKEN_INVALID',
          `the token this web session was opened with has been revoked. ${SIGN_IN_AGAIN}`,
        );
      }
      return {
        identity: { ...current, method: 'token' },
        // Signed out, expired, or its token revoked.
        stillValid: () =>
          sessions.stillLive(id, session) && tokens.lookupDigest(session.tokenDigest)?.user === session.user,
        session: info,
      };
    },
  };
}
