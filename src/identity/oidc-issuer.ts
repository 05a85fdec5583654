// One trusted OpenID Connect issuer: its discovery document, its signing keys, and the check of
// an ID token against them (jose's jwtVerify; no JWT code of ours). The network edge of the OIDC
// authenticator (oidc.ts): only this file talks to an identity provider.
// Input: a compact JWT whose `iss` is this issuer. Output: its verified claims and the kid that
// verified it, or a KubegateError (KG_AUTHN_OIDC_INVALID, _EXPIRED, _UNAVAILABLE) a kubectl user
// can act on. Must never accept an unsigned or symmetrically signed token (an HS256 token "signed"
// with the issuer's public key verifies under a naive library), never trust keys from anywhere
// but the issuer's own discovery document, and never hammer a provider that is down or a flood
// of made-up key ids.
//
// The provider is asked:
//   - for its discovery document (<issuerUrl>/.well-known/openid-configuration) once, at start
//     (kubegate starts also when it is down) or at the first token; its `issuer` must equal
//     issuerUrl exactly, as the API server requires; it names jwks_uri;
//   - for its keys (jwks_uri) then, again when a token names a key id it does not know (jose's
//     createRemoteJWKSet: at most once per KEY_COOLDOWN_MS, so a flood of unknown kids costs one
//     fetch), and every KEYS_REFRESH_MS while tokens arrive, so that a key the provider stops
//     publishing stops verifying — and the tokens it verified leave the cache (onKeysRemoved);
//   - never more than once per retryMs after a failure: meanwhile its tokens are refused at once
//     with KG_AUTHN_OIDC_UNAVAILABLE and the last failure's reason.
// Both fetches go through node's http(s) client with the issuer's CA (caFile) when one is set, no
// redirects, a size limit and a timeout.
import { get as httpGet, type IncomingMessage } from 'node:http';
import { get as httpsGet } from 'node:https';
import { createRemoteJWKSet, customFetch, decodeProtectedHeader, errors, jwksCache, jwtVerify } from 'jose';
import type { FetchImplementation, JSONWebKeySet, JWK, JWTPayload, RemoteJWKSet } from 'jose';
import { describeFailure, KubegateError } from '../errors.js';
import type { Logger } from '../log.js';
import { oidcInvalid } from './oidc-claims.js';

/** Asymmetric signatures only: `none` and HS* (a shared secret) are never accepted. */
export const OIDC_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
] as const;

/** Clock skew allowed on exp, nbf and iat, in seconds (the API server's go-oidc allows none on exp). */
export const CLOCK_SKEW_S = 30;
/** After a failed fetch, how long the provider is left alone (requests fail fast meanwhile). */
export const DEFAULT_RETRY_MS = 10_000;
/** How often the keys are fetched again while tokens arrive (a removed key stops verifying). */
export const KEYS_REFRESH_MS = 10 * 60_000;
/** Least time between two fetches caused by unknown key ids (jose's cooldownDuration). */
export const KEY_COOLDOWN_MS = 30_000;
const FETCH_TIMEOUT_MS = 5_000;
/** Discovery documents and key sets are a few KiB; more is not one. */
const MAX_RESPONSE_BYTES = 1024 * 1024;

/** What this issuer checks (config's identity.oidc[], defaults resolved, caFile read). */
export interface OidcIssuerOptions {
  readonly issuerUrl: string;
  /** A token's aud must hold one of these. */
  readonly audiences: readonly string[];
  /** CA bundle (PEM) for the provider's TLS; omitted → the system's CAs. */
  readonly caPem?: string | undefined;
}

export interface OidcIssuerDeps {
  readonly log: Pick<Logger, 'info' | 'warn'>;
  readonly now?: () => number;
  readonly retryMs?: number;
  readonly refreshMs?: number;
  /** Each fetch of the discovery document or the keys, and whether it succeeded (metrics). */
  readonly onFetch?: (ok: boolean) => void;
  /** Keys the provider stopped publishing: the tokens they verified must go. */
  readonly onKeysRemoved?: (issuer: string, kids: ReadonlySet<string> | 'all') => void;
}

export interface VerifiedClaims {
  readonly claims: JWTPayload;
  /** The kid of the key that verified the token, if it named one. */
  readonly kid: string | undefined;
  /**
   * The key generation the token was verified under: it changes whenever a key is removed, and
   * a result from before that must not be cached (it may rest on the removed key).
   */
  readonly generation: number;
}

interface Failure {
  readonly at: number;
  readonly error: KubegateError;
}

export class OidcIssuer {
  readonly issuerUrl: string;
  readonly #audiences: string[];
  readonly #caPem: string | undefined;
  readonly #deps: OidcIssuerDeps;
  readonly #now: () => number;
  readonly #retryMs: number;
  readonly #refreshMs: number;
  #jwks: RemoteJWKSet | null = null;
  #discovering: Promise<RemoteJWKSet> | null = null;
  #failure: Failure | null = null;
  #keysFetchedAt = -Infinity;
  /** Key ids (or the JSON of a key without one) of the last fetched set. */
  #keyIds: ReadonlySet<string> = new Set();
  #generation = 0;

  constructor(options: OidcIssuerOptions, deps: OidcIssuerDeps) {
    this.issuerUrl = options.issuerUrl;
    this.#audiences = [...options.audiences];
    this.#caPem = options.caPem;
    this.#deps = deps;
    this.#now = deps.now ?? Date.now;
    this.#retryMs = deps.retryMs ?? DEFAULT_RETRY_MS;
    this.#refreshMs = deps.refreshMs ?? KEYS_REFRESH_MS;
  }

  /** Changes whenever a key is removed (see VerifiedClaims.generation). */
  get generation(): number {
    return this.#generation;
  }

  /** Fetches discovery and keys in the background (start-up); failures are logged, not thrown. */
  start(): void {
    this.#ready()
      .then((jwks) => jwks.reload())
      .catch(() => undefined); // logged where it failed; tokens are refused until it answers
  }

  /** The token's verified claims, or a KubegateError saying why it is refused. */
  async verify(token: string): Promise<VerifiedClaims> {
    this.refreshIfDue();
    const generation = this.#generation;
    const nowMs = this.#now();
    try {
      const { payload, protectedHeader } = await jwtVerify(
        token,
        (header, input) => this.#key(header, input),
        {
          issuer: this.issuerUrl,
          audience: this.#audiences,
          algorithms: [...OIDC_ALGORITHMS],
          clockTolerance: CLOCK_SKEW_S,
          currentDate: new Date(nowMs),
          requiredClaims: ['exp', 'sub'],
        },
      );
      // jose checks iat only against a maximum age; a token issued in the future is not yet valid.
      if (typeof payload.iat === 'number' && payload.iat > nowMs / 1000 + CLOCK_SKEW_S) {
        throw this.#notYetValid('iat');
      }
      return { claims: payload, kid: protectedHeader.kid, generation };
    } catch (err) {
      throw this.#refusal(err, token);
    }
  }

  /**
   * Starts a background key refresh when the last one is older than refreshMs (cheap: a clock
   * read). Called on every token of this issuer, cached ones included.
   */
  refreshIfDue(): void {
    const jwks = this.#jwks;
    if (jwks === null || jwks.reloading) return;
    const now = this.#now();
    if (now - this.#keysFetchedAt < this.#refreshMs) return;
    if (this.#failure !== null && now - this.#failure.at < this.#retryMs) return;
    jwks.reload().catch(() => undefined); // logged in #fetchJson; the current keys stay
  }

  #key(...args: Parameters<RemoteJWKSet>): ReturnType<RemoteJWKSet> {
    const jwks = this.#jwks;
    if (jwks !== null) return jwks(...args);
    return this.#ready().then((ready) => ready(...args));
  }

  /** The key set, once discovery succeeded; discovery runs once at a time, and not while backing off. */
  #ready(): Promise<RemoteJWKSet> {
    if (this.#jwks !== null) return Promise.resolve(this.#jwks);
    if (this.#discovering !== null) return this.#discovering;
    const discovering = this.#discover().then((jwks) => {
      this.#jwks = jwks;
      return jwks;
    });
    this.#discovering = discovering;
    const clear = (): void => {
      this.#discovering = null;
    };
    discovering.then(clear, clear);
    return discovering;
  }

  async #discover(): Promise<RemoteJWKSet> {
    const url = `${this.issuerUrl.replace(/\/$/u, '')}/.well-known/openid-configuration`;
    const doc = await this.#fetchJson(url, 'discovery document', AbortSignal.timeout(FETCH_TIMEOUT_MS));
    const issuer = (doc as { issuer?: unknown }).issuer;
    if (issuer !== this.issuerUrl) {
      throw this.#failed(
        `its discovery document names the issuer ${JSON.stringify(issuer)}, not ${JSON.stringify(this.issuerUrl)} (identity.oidc issuerUrl must be exactly the provider's issuer)`,
      );
    }
    const jwksUri = (doc as { jwks_uri?: unknown }).jwks_uri;
    if (typeof jwksUri !== 'string' || !isSafeUrl(jwksUri)) {
      throw this.#failed('its discovery document has no https jwks_uri');
    }
    const fetchKeys: FetchImplementation = (href, init) => this.#fetchKeys(href, init.signal);
    // jose writes a fetched key set into this "cache" right after it starts using it: the one
    // moment at which a removed key has stopped verifying, so its cached tokens can go.
    const applied = (jwks: JSONWebKeySet): void => this.#keysApplied(jwks);
    const seen = {
      set jwks(jwks: JSONWebKeySet) {
        applied(jwks);
      },
    };
    return createRemoteJWKSet(new URL(jwksUri), {
      [customFetch]: fetchKeys,
      [jwksCache]: seen as unknown as Record<string, never>,
      timeoutDuration: FETCH_TIMEOUT_MS,
      cooldownDuration: KEY_COOLDOWN_MS,
      // Keys stay until a refresh replaces them (refreshIfDue): an expired cache would make
      // jose refetch on the request path and fail every token while the provider is down.
      cacheMaxAge: Infinity,
    });
  }

  /** jose's fetch of the key set, through #fetchJson (the CA, the back-off after a failure). */
  async #fetchKeys(url: string, signal: AbortSignal): Promise<Response> {
    const body = await this.#fetchJson(url, 'signing keys', signal);
    if (!Array.isArray((body as { keys?: unknown }).keys)) {
      throw this.#failed('its signing keys (jwks_uri) are not a JSON Web Key Set');
    }
    return new Response(JSON.stringify(body), {
      status: 200,
      headers: { 'content-type': 'application/json' },
    });
  }

  /** A new key set is in use: note which keys went away, and drop what they verified. */
  #keysApplied(jwks: JSONWebKeySet): void {
    // A key is known by its kid, or (without one) by its whole JSON.
    const ids = new Set(
      jwks.keys.map((k: JWK) => (typeof k.kid === 'string' ? `kid:${k.kid}` : `jwk:${JSON.stringify(k)}`)),
    );
    const removed = [...this.#keyIds].filter((id) => !ids.has(id));
    this.#keyIds = ids;
    this.#keysFetchedAt = this.#now();
    this.#deps.log.info(
      { issuer: this.issuerUrl, keys: ids.size, removed: removed.length },
      'OIDC signing keys fetched',
    );
    if (removed.length > 0) {
      this.#generation++;
      const kids = removed.every((id) => id.startsWith('kid:'))
        ? new Set(removed.map((id) => id.slice('kid:'.length)))
        : 'all';
      this.#deps.onKeysRemoved?.(this.issuerUrl, kids);
    }
  }

  /** GET `url` as JSON, or a KG_AUTHN_OIDC_UNAVAILABLE; within retryMs of a failure, that failure. */
  async #fetchJson(url: string, what: string, signal: AbortSignal): Promise<unknown> {
    const now = this.#now();
    if (this.#failure !== null && now - this.#failure.at < this.#retryMs) throw this.#failure.error;
    try {
      const res = await getText(url, this.#caPem, signal);
      if (res.status !== 200) throw this.#failed(`its ${what} (${url}) answered HTTP ${res.status}`);
      const text = res.text;
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        throw this.#failed(`its ${what} (${url}) are not JSON`);
      }
      if (typeof value !== 'object' || value === null)
        throw this.#failed(`its ${what} (${url}) are not a JSON object`);
      this.#failure = null;
      this.#deps.onFetch?.(true);
      return value;
    } catch (err) {
      this.#deps.onFetch?.(false);
      const error =
        err instanceof KubegateError
          ? err
          : this.#failed(
              `it cannot be reached for its ${what} (${signal.aborted ? `no answer within ${FETCH_TIMEOUT_MS / 1000} s` : describeFailure(err, 'failed')})`,
              err,
            );
      this.#failure = { at: this.#now(), error };
      this.#deps.log.warn(
        { issuer: this.issuerUrl, url, reason: error.message, retryInMs: this.#retryMs },
        'OIDC identity provider unreachable; its tokens are refused until it answers',
      );
      throw error;
    }
  }

  #failed(why: string, cause?: unknown): KubegateError {
    return new KubegateError(
      'KG_AUTHN_OIDC_UNAVAILABLE',
      `kubegate cannot check your ID token: your identity provider ${this.issuerUrl} is not usable now: ${why}. Retry in a minute; if it persists, tell the kubegate operators.`,
      cause === undefined ? undefined : { cause },
    );
  }

  #notYetValid(claim: string): KubegateError {
    return oidcInvalid(
      `your ID token from ${this.issuerUrl} is not valid yet (its ${claim} is in the future): check the clock of the identity provider, or wait a moment and sign in again.`,
    );
  }

  /** jose's verdict (or ours) → the refusal a kubectl user reads. */
  #refusal(err: unknown, token: string): KubegateError {
    if (err instanceof KubegateError) return err;
    const from = `your ID token from ${this.issuerUrl}`;
    if (err instanceof errors.JWTExpired) {
      const exp =
        typeof err.payload.exp === 'number' ? ` at ${new Date(err.payload.exp * 1000).toISOString()}` : '';
      return new KubegateError(
        'KG_AUTHN_OIDC_EXPIRED',
        `kubegate could not authenticate you: your sign-in with ${this.issuerUrl} expired${exp}. Run the command again to sign in anew (\`kubegate login\` does it for you; a token pasted into the kubeconfig must be replaced).`,
        { cause: err },
      );
    }
    if (err instanceof errors.JWTClaimValidationFailed) {
      if (err.claim === 'aud') {
        return oidcInvalid(
          `${from} was issued for another application (its audience is not one kubegate accepts). Sign in with the kubeconfig from \`kubegate user add --oidc\`, which uses kubegate's client.`,
          err,
        );
      }
      if ((err.claim === 'nbf' || err.claim === 'iat') && err.reason === 'check_failed')
        return this.#notYetValid(err.claim);
      return oidcInvalid(
        `${from} has a missing or malformed ${JSON.stringify(err.claim)} claim. Sign in again.`,
        err,
      );
    }
    if (err instanceof errors.JOSEAlgNotAllowed) {
      return oidcInvalid(
        `${from} is signed with ${algorithmOf(token)}, which kubegate does not accept (only ${OIDC_ALGORITHMS.join(', ')}). Sign in again through your identity provider.`,
        err,
      );
    }
    if (err instanceof errors.JWKSNoMatchingKey) {
      return oidcInvalid(
        `${from} is signed with a key the provider does not publish (rotated away, or not its key). Sign in again.`,
        err,
      );
    }
    if (err instanceof errors.JWSSignatureVerificationFailed) {
      return oidcInvalid(
        `${from} does not carry a valid signature of the provider (it was altered, or signed by someone else). Sign in again.`,
        err,
      );
    }
    if (err instanceof errors.JWKSInvalid) {
      return this.#failed('its signing keys (jwks_uri) are not a valid JSON Web Key Set', err);
    }
    if (err instanceof errors.JWKSTimeout) {
      return this.#failed(`it did not send its signing keys within ${FETCH_TIMEOUT_MS / 1000} s`, err);
    }
    // A malformed token (JWSInvalid, JWTInvalid), an unsupported header (crit), several keys
    // matching: refused, with no detail that would help forge the next one.
    return oidcInvalid(`${from} is not a well-formed, verifiable ID token. Sign in again.`, err);
  }
}

/** The alg a token claims, for the message (it was refused; a junk value is shown as such). */
function algorithmOf(token: string): string {
  try {
    const alg = decodeProtectedHeader(token).alg;
    return typeof alg === 'string' && /^[A-Za-z0-9+-]{1,16}$/u.test(alg) ? alg : 'an unknown algorithm';
  } catch {
    return 'an unknown algorithm';
  }
}

/** https, or http on the machine itself (as config's issuerUrl). */
function isSafeUrl(text: string): boolean {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return false;
  }
  if (url.protocol === 'https:') return true;
  return url.protocol === 'http:' && /^(?:localhost|127(?:\.\d{1,3}){3}|\[::1\])$/u.test(url.hostname);
}

/**
 * GET `url` as text: node's http(s) client (undici is for the API server, upstream/), with the
 * issuer's CA when set, no redirects followed (a 3xx is an answer that is not 200), and at most
 * MAX_RESPONSE_BYTES read.
 */
function getText(
  url: string,
  caPem: string | undefined,
  signal: AbortSignal,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const options = {
      signal,
      headers: { accept: 'application/json' },
      ...(caPem === undefined ? {} : { ca: caPem }),
    };
    const onResponse = (res: IncomingMessage): void => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_RESPONSE_BYTES)
          res.destroy(new Error(`answer larger than ${MAX_RESPONSE_BYTES} bytes`));
        else chunks.push(chunk);
      });
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
      );
      res.on('error', reject);
    };
    const req =
      target.protocol === 'https:'
        ? httpsGet(target, options, onResponse)
        : httpGet(target, options, onResponse);
    req.on('error', reject);
  });
}
