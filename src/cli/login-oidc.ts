// kubegate login's conversations with the identity provider, through openid-client (discovery,
// authorization code + PKCE, the device flow, refresh): the one place kubegate login reaches the
// network. Input: issuer, client ID, scopes, an optional CA file for the issuer's TLS. Output:
// an ID token with its iat/exp (and a refresh token), or a KubegateError KG_LOGIN_* whose message
// is the one line kubectl shows. Must never put a token in an error message, and never take an
// authorization response without checking its state, the ID token's nonce and the PKCE verifier.
//
// The `--ca-file` replaces the system's trusted CAs for the issuer, as the API server's
// --oidc-ca-file does (and kubegate's own identity.oidc caFile).

import { readFile } from 'node:fs/promises';
import * as oidc from 'openid-client';
import { Agent, fetch as undiciFetch } from 'undici';
import { describeFailure, KubegateError } from '../errors.js';
import { listenForRedirect } from './login-redirect.js';

export interface IdpOptions {
  readonly issuer: string;
  readonly clientId: string;
  readonly scopes: readonly string[];
  readonly caFile?: string;
}

/** What a sign-in or a refresh yields: the cache file's tokens. */
export interface SignInTokens {
  readonly idToken: string;
  readonly idTokenIssuedAt: number;
  readonly idTokenExpiresAt: number;
  readonly refreshToken: string | null;
}

/** Where the person signing in is told (stderr) and shown (their browser). */
export interface SignInUi {
  /** "kubegate: to sign in, open URL" (and the device code), then a browser where one opens. */
  announce(url: string, userCode?: string): void;
}

export interface Idp {
  /** New tokens, or null when the refresh token is no longer accepted (revoked, expired). */
  refresh(refreshToken: string): Promise<SignInTokens | null>;
  /** Fails with KG_LOGIN_UNKNOWN_CLIENT before a browser is sent to a provider that would refuse. */
  checkClient(): Promise<void>;
  signInWithBrowser(ui: SignInUi, listenPort: number, signal: AbortSignal): Promise<SignInTokens>;
  signInWithDevice(ui: SignInUi, signal: AbortSignal): Promise<SignInTokens>;
  close(): Promise<void>;
}

/** Bounds on each request, so a provider that stops answering cannot hang kubectl. */
const CONNECT_TIMEOUT_MS = 10_000;
const REQUEST_TIMEOUT_MS = 30_000;

export async function connectIdp(opts: IdpOptions): Promise<Idp> {
  const issuerUrl = parseIssuer(opts.issuer);
  const ca = opts.caFile === undefined ? undefined : await readCaFile(opts.caFile);
  const agent = new Agent({
    connect: { timeout: CONNECT_TIMEOUT_MS, ...(ca === undefined ? {} : { ca }) },
    headersTimeout: REQUEST_TIMEOUT_MS,
    bodyTimeout: REQUEST_TIMEOUT_MS,
  });
  // undici's fetch is the one Node ships (with a dispatcher that trusts --ca-file).
  const customFetch: oidc.CustomFetch = (url, options) => undiciFetch(url, { ...options, dispatcher: agent });
  let config: oidc.Configuration;
  try {
    config = await oidc.discovery(issuerUrl, opts.clientId, undefined, oidc.None(), {
      [oidc.customFetch]: customFetch,
      timeout: REQUEST_TIMEOUT_MS / 1000,
      ...(issuerUrl.protocol === 'http:' ? { execute: [oidc.allowInsecureRequests] } : {}),
    });
  } catch (err) {
    await agent.close();
    throw discoveryError(opts.issuer, err);
  }
  const scope = opts.scopes.join(' ');
  const fail = (err: unknown): never => {
    throw loginError(opts, err);
  };

  return {
    async refresh(refreshToken) {
      try {
        return tokensOf(await oidc.refreshTokenGrant(config, refreshToken), refreshToken);
      } catch (err) {
        // invalid_grant: revoked, expired, or already used (RFC 6749 §5.2).
        if (err instanceof oidc.ResponseBodyError && err.error === 'invalid_grant') return null;
        if (err instanceof NoIdToken) return null;
        return fail(err);
      }
    },
    async checkClient() {
      // A token request with a made-up refresh token: a provider authenticates the client before
      // it looks at the grant (RFC 6749 §5.2), so it answers invalid_client for an unknown client
      // and invalid_grant (or unauthorized_client) for a known one. The browser flow cannot tell:
      // a provider shows its own error page for an unknown client and never comes back.
      try {
        await oidc.refreshTokenGrant(config, `kubegate-client-check-${oidc.randomState()}`);
      } catch (err) {
        if (err instanceof oidc.ResponseBodyError && err.error !== 'invalid_client') return;
        if (err instanceof NoIdToken) return;
        fail(err);
      }
    },
    async signInWithBrowser(ui, listenPort, signal) {
      const state = oidc.randomState();
      const nonce = oidc.randomNonce();
      const verifier = oidc.randomPKCECodeVerifier();
      const redirect = await listenForRedirect(listenPort, state);
      try {
        const url = oidc.buildAuthorizationUrl(config, {
          redirect_uri: redirect.redirectUri,
          scope,
          code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
          code_challenge_method: 'S256',
          state,
          nonce,
        });
        ui.announce(url.href);
        const callback = await redirect.callback(signal).catch((err: unknown) => fail(aborted(signal, err)));
        try {
          const tokens = tokensOf(
            await oidc.authorizationCodeGrant(config, callback.url, {
              pkceCodeVerifier: verifier,
              expectedState: state,
              expectedNonce: nonce,
            }),
            null,
          );
          callback.reply({ signedIn: true });
          return tokens;
        } catch (err) {
          const why = loginError(opts, err);
          callback.reply({ signedIn: false, why: `${why.message}.` });
          throw why;
        }
      } finally {
        await redirect.close();
      }
    },
    async signInWithDevice(ui, signal) {
      if (config.serverMetadata().device_authorization_endpoint === undefined) {
        throw new KubegateError(
          'KG_LOGIN_FAILED',
          `the identity provider at ${opts.issuer} offers no device sign-in (its discovery has no device_authorization_endpoint): sign in without --device`,
        );
      }
      try {
        const device = await oidc.initiateDeviceAuthorization(config, { scope });
        ui.announce(device.verification_uri_complete ?? device.verification_uri, device.user_code);
        return tokensOf(await oidc.pollDeviceAuthorizationGrant(config, device, undefined, { signal }), null);
      } catch (err) {
        return fail(aborted(signal, err));
      }
    },
    close: () => agent.close(),
  };
}

class NoIdToken extends Error {}

function tokensOf(
  response: oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers,
  previousRefreshToken: string | null,
): SignInTokens {
  const claims = response.claims();
  if (response.id_token === undefined || claims === undefined) throw new NoIdToken('no ID token');
  return {
    idToken: response.id_token,
    idTokenIssuedAt: claims.iat * 1000,
    idTokenExpiresAt: claims.exp * 1000,
    // A provider that does not rotate refresh tokens answers a refresh without one: keep the old.
    refreshToken: response.refresh_token ?? previousRefreshToken,
  };
}

/** Hosts where plain http stays on the machine: a provider run locally (as identity.oidc allows). */
const LOOPBACK_HOST = /^(?:localhost|127(?:\.\d{1,3}){3}|\[::1\])$/u;

function parseIssuer(issuer: string): URL {
  let url: URL;
  try {
    url = new URL(issuer);
  } catch {
    throw new KubegateError(
      'KG_CONFIG_INVALID',
      `--issuer ${JSON.stringify(issuer)} is not a URL: give https://…`,
    );
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK_HOST.test(url.hostname))) {
    throw new KubegateError(
      'KG_CONFIG_INVALID',
      `--issuer ${issuer} must be an https:// URL (OpenID Connect requires TLS; http only on this machine's loopback)`,
    );
  }
  return url;
}

async function readCaFile(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new KubegateError(
      'KG_CONFIG_INVALID',
      `cannot read --ca-file ${path} (${describeFailure(err, 'unreadable')}): give the PEM file of the CA that signed the identity provider's certificate`,
      { cause: err },
    );
  }
}

/** The signal's timeout, as the error it means; other failures pass through. */
function aborted(signal: AbortSignal, err: unknown): unknown {
  if (!signal.aborted) return err;
  return new KubegateError(
    'KG_LOGIN_TIMEOUT',
    'nobody completed the sign-in in time: run kubectl again and finish signing in in the browser',
    { cause: err },
  );
}

/** Certificate errors name the CA file, not the network. */
const TLS_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

function unreachable(issuer: string, err: unknown): KubegateError {
  const detail = oneLine(describeFailure(err, 'no answer'));
  if (TLS_CODES.has(detail)) {
    return new KubegateError(
      'KG_LOGIN_IDP_UNREACHABLE',
      `cannot reach the identity provider at ${issuer} (its TLS certificate is not trusted: ${detail}): check the --ca-file flag`,
      { cause: err },
    );
  }
  return new KubegateError(
    'KG_LOGIN_IDP_UNREACHABLE',
    `cannot reach the identity provider at ${issuer} (${detail}): check the network or the --issuer flag`,
    { cause: err },
  );
}

/** Discovery fails: no provider there, or something that is not one. */
function discoveryError(issuer: string, err: unknown): KubegateError {
  if (err instanceof oidc.ClientError && err.code === 'OAUTH_JSON_ATTRIBUTE_COMPARISON_FAILED') {
    return new KubegateError(
      'KG_LOGIN_FAILED',
      `the identity provider at ${issuer} names another issuer in its discovery document: check the --issuer flag (it must match exactly, trailing slash included)`,
      { cause: err },
    );
  }
  if (err instanceof oidc.ClientError) {
    const status = (err.cause as { status?: unknown } | undefined)?.status;
    return unreachable(
      issuer,
      typeof status === 'number' ? new Error(`HTTP ${status} for its discovery document`) : err,
    );
  }
  return unreachable(issuer, err);
}

/** Any failure after discovery, as the one line kubectl shows. */
export function loginError(opts: Pick<IdpOptions, 'issuer' | 'clientId'>, err: unknown): KubegateError {
  if (err instanceof KubegateError) return err;
  if (err instanceof oidc.ResponseBodyError || err instanceof oidc.AuthorizationResponseError) {
    const what = oneLine(err.error_description ? `${err.error}: ${err.error_description}` : err.error);
    if (err.error === 'invalid_client') {
      return new KubegateError(
        'KG_LOGIN_UNKNOWN_CLIENT',
        `the identity provider does not know client ID: ${opts.clientId} (${what}): check the --client-id flag; kubegate login needs a public client`,
        { cause: err },
      );
    }
    if (err.error === 'expired_token') {
      return new KubegateError(
        'KG_LOGIN_TIMEOUT',
        `the device code expired before the sign-in was completed (${what}): run kubectl again and finish signing in`,
        { cause: err },
      );
    }
    return new KubegateError(
      'KG_LOGIN_CANCELLED',
      `the identity provider did not sign you in (${what}): run kubectl again to sign in`,
      { cause: err },
    );
  }
  if (err instanceof NoIdToken) {
    return new KubegateError(
      'KG_LOGIN_FAILED',
      `the identity provider at ${opts.issuer} answered without an ID token: is the "openid" scope allowed for client ${opts.clientId}?`,
      { cause: err },
    );
  }
  if (err instanceof oidc.ClientError) {
    // openid-client keeps the check that failed (oauth4webapi's error) in `cause`.
    const claim = (err.cause as { cause?: { claim?: unknown } } | undefined)?.cause?.claim;
    const what =
      typeof claim === 'string'
        ? `the ID token's "${claim}" claim is not what kubegate expected`
        : oneLine(err.message);
    return new KubegateError(
      'KG_LOGIN_FAILED',
      `the identity provider's answer failed kubegate's checks (${what}${err.code ? `, ${err.code}` : ''}): run kubectl again to sign in`,
      { cause: err },
    );
  }
  return unreachable(opts.issuer, err);
}

function oneLine(s: string): string {
  return s.replace(/\s+/gu, ' ').trim();
}
