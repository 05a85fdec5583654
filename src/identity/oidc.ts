// The OpenID Connect bearer authenticator: an ID token from a trusted issuer names the caller
// (identity.oidc in the config: several issuers may be trusted at once). One more bearer
// authenticator in the gateway's list (authenticators.ts), after kubegate's own tokens: a token
// that is not a JWT is never tried here beyond a hash and a look at its shape, so it never
// reaches the network.
// Input: a bearer token. Output: the caller (user and groups mapped from the claims, with the
// issuer and subject), null for a token that is not a JWT, or a KG_AUTHN_OIDC_* refusal. Must
// never accept a token it has not verified (oidc-issuer.ts) or one past its exp, and never keep
// the token itself (the cache holds its SHA-256).
//
// A token is tried against the issuer its `iss` names, and only that one. A JWT naming an issuer
// kubegate does not trust is refused here, with that reason: this is the last bearer
// authenticator. (A later authenticator for other JWTs, the cluster's service-account tokens,
// would go before this one.)
//
// A verified token is cached until its exp (oidc-cache.ts): the next request with it costs a
// hash and a map lookup. The cache drops the tokens a key verified when the issuer stops
// publishing that key (noticed at the next key refresh, within KEYS_REFRESH_MS, or at once when
// another token names an unknown key), so a cached token cannot outlive its key.
import type { Logger } from '../log.js';
import type { Authentication, Authenticator } from './authenticator.js';
import { identityFromClaims, issuerOf, oidcInvalid, type ClaimMapping } from './oidc-claims.js';
import { cacheKey, DEFAULT_CACHE_SIZE, VerifiedTokens, type VerifiedToken } from './oidc-cache.js';
import { OidcIssuer, type OidcIssuerOptions } from './oidc-issuer.js';

/** One trusted issuer: config's identity.oidc[] entry (defaults resolved), with caFile's text. */
export interface OidcIssuerConfig extends ClaimMapping, OidcIssuerOptions {}

export interface OidcDeps {
  readonly log: Pick<Logger, 'info' | 'warn'>;
  readonly now?: () => number;
  /** After a failed fetch, how long each provider is left alone (default 10 s). */
  readonly retryMs?: number;
  /** How often each provider's keys are fetched again while its tokens arrive (default 10 min). */
  readonly refreshMs?: number;
  /** Verified tokens kept (default 10,000). */
  readonly cacheSize?: number;
  /** Each fetch of a provider's discovery document or keys, and whether it succeeded (metrics). */
  readonly onFetch?: (ok: boolean) => void;
}

export interface Oidc {
  /** The bearer authenticator for the gateway's list (and kubegate's own API's). */
  readonly authenticator: Authenticator;
  /**
   * The caller an ID token names, checked exactly as the authenticator does (the web UI's
   * sign-in, with a token it got from the code flow); KG_AUTHN_OIDC_INVALID for anything that is
   * not a JWT of a trusted issuer.
   */
  verify(idToken: string): Promise<Authentication>;
  /** Fetches every issuer's discovery document and keys in the background (start-up). */
  start(): void;
  close(): Promise<void>;
}

const MAX_ISSUER_SHOWN = 200;

export function createOidc(issuers: readonly OidcIssuerConfig[], deps: OidcDeps): Oidc {
  const now = deps.now ?? Date.now;
  const cache = new VerifiedTokens(deps.cacheSize ?? DEFAULT_CACHE_SIZE);
  const byIssuer = new Map<string, { readonly issuer: OidcIssuer; readonly mapping: ClaimMapping }>();
  for (const config of issuers) {
    const issuer = new OidcIssuer(config, {
      log: deps.log,
      now,
      ...(deps.retryMs === undefined ? {} : { retryMs: deps.retryMs }),
      ...(deps.refreshMs === undefined ? {} : { refreshMs: deps.refreshMs }),
      ...(deps.onFetch === undefined ? {} : { onFetch: deps.onFetch }),
      onKeysRemoved: (iss, kids) => {
        const dropped = cache.forgetKeys(iss, kids);
        if (dropped > 0)
          deps.log.info({ issuer: iss, dropped }, 'OIDC tokens of removed keys dropped from the cache');
      },
    });
    byIssuer.set(config.issuerUrl, { issuer, mapping: config });
  }

  const authenticationOf = (verified: VerifiedToken): Authentication => ({
    identity: verified.identity,
    stillValid: () => !verified.revoked && now() < verified.expiresAtMs,
  });

  async function authenticate(token: string): Promise<Authentication | null> {
    const key = cacheKey(token);
    const cached = cache.get(key, now());
    if (cached !== undefined) {
      byIssuer.get(cached.issuer)?.issuer.refreshIfDue();
      return authenticationOf(cached);
    }
    const iss = issuerOf(token);
    if (iss === null) return null;
    const trusted = byIssuer.get(iss);
    if (trusted === undefined) {
      const shown = iss.length > MAX_ISSUER_SHOWN ? `${iss.slice(0, MAX_ISSUER_SHOWN)}…` : iss;
      throw oidcInvalid(
        `your token was issued by ${JSON.stringify(shown)}, which kubegate does not trust. Sign in with the kubeconfig from \`kubegate user add --oidc\`, or ask the kubegate operators which identity provider this cluster uses.`,
      );
    }
    const { claims, kid, generation } = await trusted.issuer.verify(token);
    const verified: VerifiedToken = {
      identity: identityFromClaims(claims, trusted.mapping),
      expiresAtMs: (claims.exp ?? 0) * 1000,
      issuer: iss,
      kid,
      revoked: false,
    };
    // A key removed while this token was checked may be the one that verified it: not cached.
    if (generation === trusted.issuer.generation) cache.set(key, verified, now());
    return authenticationOf(verified);
  }

  return {
    authenticator: {
      reads: 'bearer',
      authenticate: ({ bearerToken }) => authenticate(bearerToken),
    },
    async verify(idToken) {
      const found = await authenticate(idToken);
      if (found === null)
        throw oidcInvalid('what you presented is not an ID token (a JWT with an issuer). Sign in again.');
      return found;
    },
    start() {
      for (const { issuer } of byIssuer.values()) issuer.start();
    },
    close() {
      return Promise.resolve(); // nothing held: idle keep-alive sockets do not keep the process
    },
  };
}
