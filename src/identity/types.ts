// Identity: who the caller is, as authenticated by kubegate. The only source of the
// Impersonate-* headers sent upstream.

export type AuthMethod = 'client-certificate' | 'token' | 'oidc';

/**
 * Where an OpenID Connect identity came from: the issuer and the token's `sub`, which together
 * name one person for good (a user name is a claim the IdP may reuse or two issuers may share).
 */
export interface OidcSubject {
  readonly issuer: string;
  readonly subject: string;
}

export interface Identity {
  readonly user: string;
  readonly groups: readonly string[];
  readonly method: AuthMethod;
  /** Set when an OIDC ID token authenticated the caller. */
  readonly oidc?: OidcSubject;
  /** Set when config marks the caller as an AI agent (identity.agents; identity/agents.ts). */
  readonly agent?: true;
  /**
   * The person an agent acts for, as its credential names them (a token file entry, or an OIDC
   * claim). Shown and audited, never matched or impersonated; kept only on agents.
   */
  readonly onBehalfOf?: string;
}
