// The seam every way of signing in goes through: an Authenticator reads one kind of credential
// and says who the caller is. The gateway and kubegate's own API each run a list of them
// (identify.ts); a new way in (as OIDC came: identity/oidc.ts) is one more Authenticator in a list.
import type { Identity } from './types.js';

/** What a client presented, as plain data (the gateway reads the socket and headers). */
export interface ClientCredentials {
  /**
   * The verified-or-not client certificate, or null when the client sent none (Node's
   * getPeerCertificate() then returns an empty object). `authorized` is socket.authorized.
   */
  readonly certificate: {
    readonly authorized: boolean;
    /** As getPeerCertificate().subject: a repeated attribute (several O) is an array. */
    readonly subject: Readonly<Record<string, string | readonly string[] | undefined>>;
    /** When the certificate stops being valid (its notAfter), if known. */
    readonly notAfter?: Date;
  } | null;
  /** The Authorization header, as received. */
  readonly authorization: string | undefined;
  /** The Cookie header, as received (only kubegate's own API reads a session from it). */
  readonly cookie?: string | readonly string[] | undefined;
}

/** The credential kinds, in the order they take precedence: the first one presented decides. */
export type CredentialKind = 'certificate' | 'bearer' | 'session';

/** The presented credential an authenticator reads: the certificate, a bearer token, or the cookie. */
export interface Presented {
  readonly credentials: ClientCredentials;
  /** The token of `Authorization: Bearer <token>`; '' unless the kind is bearer. */
  readonly bearerToken: string;
}

/** A web session that authenticated the request (kubegate's own API checks its CSRF token). */
export interface SessionInfo {
  readonly id: string;
  readonly csrfToken: string;
  readonly expiresAt: Date;
}

export interface Authentication {
  readonly identity: Identity;
  /**
   * Whether the credential still holds (not revoked, signed out or expired): a request that
   * lasts (a live event stream) asks again while it runs.
   */
  readonly stillValid: () => boolean;
  /** Set when a web session authenticated the request. */
  readonly session?: SessionInfo;
}

export interface Authenticator {
  /** The kind of credential it reads. */
  readonly reads: CredentialKind;
  /**
   * The caller, or null when this authenticator does not know the credential (another of the
   * same kind may: kubegate's own tokens, then OIDC). Throws a KG_AUTHN_* error for a credential
   * it knows to be bad, which ends the search: a bad certificate never falls back to a token.
   */
  authenticate(presented: Presented): Promise<Authentication | null>;
}
