// The web-session authenticator, last in kubegate's own API's list (identity/identify.ts) and
// absent from the gateway's: a browser's session cookie names the reviewer signed in with a
// kubegate token. Must never accept a session whose token was revoked (the session keeps the
// token's digest, and every use re-checks it; a revoked one ends the session at once), and never
// authenticate the Kubernetes API (the gateway's list has no session authenticator).
import { KubegateError } from '../errors.js';
import type { Authenticator } from '../identity/authenticator.js';
import type { Identity } from '../identity/types.js';
import { sessionIdOf, type Sessions } from './session.js';

export const SIGN_IN_AGAIN = 'Sign in again at /ui/sign-in with your kubegate token.';

export function sessionAuthenticator(
  sessions: Pick<Sessions, 'get' | 'delete' | 'stillLive'>,
  tokens: { lookupDigest(digest: string): Identity | null },
): Authenticator {
  return {
    reads: 'session',
    async authenticate({ credentials }) {
      const id = sessionIdOf(credentials.cookie);
      const session = id === null ? null : await sessions.get(id);
      if (id === null || session === null) return null;
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
        session: { id, csrfToken: session.csrfToken, expiresAt: new Date(session.expiresAt) },
      };
    },
  };
}
