// A web session, as kubegate's store keeps it: the identity layer's record of a reviewer who
// signed in with a kubegate token or through an OpenID provider (web/session.ts gives sessions
// their life and cookie, web/oidc-sign-in.ts opens the OpenID ones;
// store/sqlite/sessions.ts keeps them). Here, below both, so that the store implements it without
// reaching up into web/.
import type { OidcSubject } from './types.js';

export interface Session {
  readonly user: string;
  readonly groups: readonly string[];
  /** SHA-256 of the token the reviewer signed in with; '' for a session opened through OIDC. */
  readonly tokenDigest: string;
  /**
   * Set for a session opened through an OpenID provider: the issuer and subject of the ID token
   * that named the reviewer (user and groups are that token's, as its claims mapped them).
   */
  readonly oidc?: OidcSubject;
  readonly csrfToken: string;
  /** Epoch milliseconds. */
  readonly createdAt: number;
  readonly expiresAt: number;
}

/**
 * Where sessions are kept (store/sqlite/sessions.ts). Every session is keyed by the SHA-256 of
 * its id (`key`), never by the id.
 */
export interface SessionStore {
  /**
   * Keeps `session` under `key`, first dropping the sessions expired at `now` and, while `max` or
   * more remain, the oldest. Resolves to the live sessions it dropped (their keys and expiry).
   */
  add(
    key: string,
    session: Session,
    limits: { readonly now: number; readonly max: number },
  ): Promise<readonly { readonly key: string; readonly expiresAt: number }[]>;
  /** The session kept under `key`, expired or not; null when there is none. */
  get(key: string): Promise<Session | null>;
  delete(key: string): Promise<void>;
}
