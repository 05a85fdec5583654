// The web UI's sign-in through an OpenID provider (identity.oidc): the authorization code flow
// with PKCE (S256), state and nonce, through openid-client. kubegate's own API sends it two paths:
//
//   GET /kubegate/v1/session/oidc/start?issuer=N&next=/ui/…   → 302 to the provider
//   GET /kubegate/v1/session/oidc/callback?code=…&state=…      → 303 to `next`, signed in
//
// and asks it which providers the sign-in page offers (identityProviders). Input: the browser's
// two visits and the provider's answers. Output: the same web session as the token sign-in (the
// HttpOnly session cookie; the page then reads its CSRF token from GET /kubegate/v1/session), or a
// page saying what went wrong and what to do (oidc-sign-in-flow.ts failurePage), never a stack.
// Must never open a session for an ID token the OIDC authenticator (identity/oidc.ts verify) has
// not accepted, so a browser is named exactly as kubectl with the same token would be (claims
// mapping, prefixes, email_verified, audiences); never for an answer this browser did not ask
// for (oidc-sign-in-flow.ts); and never keep a token: the session holds the user, groups, issuer
// and subject, and ends at the ID token's exp at the latest.
//
// The redirect URI is `${publicUrl}/kubegate/v1/session/oidc/callback`: without publicUrl there is
// none to give the provider, and the sign-in is refused with that reason. The client is
// confidential when identity.oidc[].clientSecretFile is set (client_secret_basic), else public
// (PKCE alone). Scopes: openid, plus email, profile and groups where the provider's discovery
// lists them (claims follow the scopes at most providers). Signing out ends kubegate's session
// only (DELETE /kubegate/v1/session), not the person's session at the provider: other
// applications signed in through it stay signed in, and the provider's logout would need a
// post-logout redirect URI registered there.
// This file alone talks to the provider for the sign-in (discovery and the token endpoint, through
// oidc-sign-in-fetch.ts with the issuer's CA when caFile is set); the ID token's keys are the
// authenticator's.
import type { SignInFlowStore } from '../identity/sign-in-flows.js';
import { readFile } from 'node:fs/promises';
import * as client from 'openid-client';
import { describeFailure, ERROR_CODE_HEADER, KubegateError } from '../errors.js';
import type { ClientRequest } from '../gateway/read-body.js';
import type { Authentication } from '../identity/authenticator.js';
import type { Logger } from '../log.js';
import type { IdentityProviderView } from './api-types.js';
import { SECURITY_HEADERS } from './assets.js';
import { providerFetch } from './oidc-sign-in-fetch.js';
import { allowMethods, API_PREFIX, type ApiResponse, type ApiTarget } from './http.js';
import {
  checkAnswer,
  clearedFlowCookie,
  failurePage,
  flowCookie,
  flowIdOf,
  flowOrRefusal,
  PendingSignIns,
  providerName,
  safeNext,
  signInFailed,
  signInUnavailable,
} from './oidc-sign-in-flow.js';
import { sessionCookie, type Sessions } from './session.js';

export const START_PATH = `${API_PREFIX}session/oidc/start`;
export const CALLBACK_PATH = `${API_PREFIX}session/oidc/callback`;

/** One provider the sign-in offers: identity.oidc[] with its files read. */
export interface OidcSignInIssuer {
  readonly issuerUrl: string;
  readonly clientId: string;
  /** CA bundle (PEM) for the provider's TLS; omitted → the system's CAs. */
  readonly caPem?: string | undefined;
  /** Omitted → a public client. */
  readonly clientSecret?: string | undefined;
}

export interface OidcSignInDeps {
  /** kubegate's public address (config publicUrl): the redirect URI is made from it. */
  readonly publicUrl: string | null;
  /** The OIDC authenticator's check of an ID token (identity/oidc.ts). */
  readonly verify: (idToken: string) => Promise<Authentication>;
  readonly sessions: Pick<Sessions, 'create'>;
  readonly log: Pick<Logger, 'info' | 'warn' | 'error'>;
  readonly now?: () => number;
  /** Where sign-ins in progress are kept: the shared store with several replicas; memory by default. */
  readonly flows?: SignInFlowStore;
}

export interface OidcSignIn {
  /** The providers the sign-in page offers a button for, in identity.oidc's order. */
  identityProviders(): readonly IdentityProviderView[];
  /** GET session/oidc/start and session/oidc/callback: a redirect, or a page that says what failed. */
  handle(req: ClientRequest, res: ApiResponse, target: ApiTarget): Promise<void>;
}

/** Each request to the provider, connecting included (openid-client's timeout). */
const REQUEST_TIMEOUT_MS = 10_000;
/** Asked for when the provider's discovery lists them (or, without a list, email and profile). */
const OPTIONAL_SCOPES = ['email', 'profile', 'groups'] as const;

const NO_PUBLIC_URL =
  'kubegate’s publicUrl is not set, so it has no address to give the identity provider to send you back to. Sign in with a kubegate token meanwhile; operators: set publicUrl to the https address people open kubegate at, and register <publicUrl>/kubegate/v1/session/oidc/callback as a redirect URI of the client at the provider.';

/** identity.oidc's issuers with their CA and secret files read (a file that cannot be read stops the start). */
export async function readSignInIssuers(
  issuers: readonly {
    readonly issuerUrl: string;
    readonly clientId: string;
    readonly caFile?: string | undefined;
    readonly clientSecretFile?: string | undefined;
  }[],
): Promise<OidcSignInIssuer[]> {
  const read = async (path: string, field: string): Promise<string> => {
    try {
      return await readFile(path, 'utf8');
    } catch (err) {
      throw new KubegateError(
        'KG_CONFIG_INVALID',
        `${field}: ${path} cannot be read (${describeFailure(err, 'unreadable')})`,
        { cause: err },
      );
    }
  };
  return Promise.all(
    issuers.map(async (issuer, i) => ({
      issuerUrl: issuer.issuerUrl,
      clientId: issuer.clientId,
      caPem:
        issuer.caFile === undefined ? undefined : await read(issuer.caFile, `identity.oidc[${i}].caFile`),
      // A secret file usually ends with a line break, which is not part of the secret.
      clientSecret:
        issuer.clientSecretFile === undefined
          ? undefined
          : (await read(issuer.clientSecretFile, `identity.oidc[${i}].clientSecretFile`)).trim(),
    })),
  );
}

interface Provider {
  readonly issuer: OidcSignInIssuer;
  readonly name: string;
  readonly fetch: client.CustomFetch;
  /** openid-client's view of the provider, once its discovery succeeded. */
  configuration: Promise<client.Configuration> | null;
}

export function createOidcSignIn(issuers: readonly OidcSignInIssuer[], deps: OidcSignInDeps): OidcSignIn {
  const now = deps.now ?? Date.now;
  const flows = new PendingSignIns({ now, ...(deps.flows === undefined ? {} : { store: deps.flows }) });
  const publicUrl = deps.publicUrl?.replace(/\/+$/u, '') ?? null;
  const redirectUri = publicUrl === null ? null : `${publicUrl}${CALLBACK_PATH}`;
  const providers: Provider[] = issuers.map((issuer) => ({
    issuer,
    name: providerName(issuer.issuerUrl),
    fetch: providerFetch(issuer.caPem),
    configuration: null,
  }));
  if (providers.length > 0 && redirectUri === null) {
    deps.log.warn(
      { issuers: providers.map((p) => p.issuer.issuerUrl) },
      'web UI sign-in through identity.oidc is off: publicUrl is not set',
    );
  }

  const startUrl = (index: number): string => `${START_PATH}?issuer=${index}`;

  /** openid-client's configuration for the provider: discovery once, again after a failure. */
  function configurationOf(provider: Provider): Promise<client.Configuration> {
    if (provider.configuration !== null) return provider.configuration;
    const { issuer } = provider;
    const url = new URL(issuer.issuerUrl);
    const discovering = client
      .discovery(
        url,
        issuer.clientId,
        undefined,
        issuer.clientSecret === undefined ? client.None() : client.ClientSecretBasic(issuer.clientSecret),
        {
          [client.customFetch]: provider.fetch,
          timeout: REQUEST_TIMEOUT_MS / 1000,
          // identity.oidc allows plain http on loopback only (config/schema.ts).
          ...(url.protocol === 'http:' ? { execute: [client.allowInsecureRequests] } : {}),
        },
      )
      .catch((err: unknown) => {
        provider.configuration = null;
        throw unreachable(provider, 'its discovery document', err);
      });
    provider.configuration = discovering;
    return discovering;
  }

  function unreachable(provider: Provider, what: string, err: unknown): KubegateError {
    const detail = describeFailure(err, 'no answer').replace(/\s+/gu, ' ').slice(0, 200);
    deps.log.warn(
      { issuer: provider.issuer.issuerUrl, what, err: detail },
      'web UI sign-in: identity provider unreachable',
    );
    return signInUnavailable(
      `the identity provider ${provider.name} could not be reached for ${what} (${detail}). Try again in a minute, or sign in with a kubegate token; if it persists, tell the kubegate operators.`,
      err,
    );
  }

  function providerAt(param: string | null): { provider: Provider; index: number } {
    const index = param !== null && /^(?:0|[1-9]\d{0,3})$/u.test(param) ? Number(param) : -1;
    const provider = providers[index];
    if (provider === undefined) {
      throw signInUnavailable(
        'the sign-in page named an identity provider kubegate does not offer (the configuration changed since the page was loaded). Go back to the sign-in page and choose again.',
      );
    }
    return { provider, index };
  }

  function callbackUri(): string {
    if (redirectUri === null) throw signInUnavailable(NO_PUBLIC_URL);
    return redirectUri;
  }

  async function start(res: ApiResponse, query: URLSearchParams): Promise<void> {
    let retry: string | null = null;
    try {
      const { provider, index } = providerAt(query.get('issuer'));
      const redirect_uri = callbackUri();
      const next = safeNext(query.get('next'));
      retry = `${startUrl(index)}&next=${encodeURIComponent(next)}`;
      const configuration = await configurationOf(provider);
      const state = client.randomState();
      const nonce = client.randomNonce();
      const codeVerifier = client.randomPKCECodeVerifier();
      const id = await flows.begin({ issuer: index, state, nonce, codeVerifier, next });
      const supported = configuration.serverMetadata().scopes_supported;
      const scopes = OPTIONAL_SCOPES.filter((s) =>
        supported === undefined ? s !== 'groups' : supported.includes(s),
      );
      const to = client.buildAuthorizationUrl(configuration, {
        redirect_uri,
        scope: ['openid', ...scopes].join(' '),
        code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
        code_challenge_method: 'S256',
        state,
        nonce,
      });
      res.writeHead(302, {
        location: to.href,
        'set-cookie': flowCookie(id),
        'cache-control': 'no-store',
        'referrer-policy': 'no-referrer',
      });
      res.end();
    } catch (err) {
      failed(res, err, retry, false);
    }
  }

  async function callback(req: ClientRequest, res: ApiResponse, query: URLSearchParams): Promise<void> {
    let retry: string | null = null;
    try {
      const taken = await flows.take(flowIdOf(req.headers.cookie));
      const flow = flowOrRefusal(taken);
      retry = `${startUrl(flow.issuer)}&next=${encodeURIComponent(flow.next)}`;
      const answer = checkAnswer(query, flow);
      const provider = providers[flow.issuer]!;
      const configuration = await configurationOf(provider);
      let tokens: client.TokenEndpointResponse & client.TokenEndpointResponseHelpers;
      try {
        tokens = await client.authorizationCodeGrant(
          configuration,
          new URL(`${callbackUri()}?${answer.toString()}`),
          {
            pkceCodeVerifier: flow.codeVerifier,
            expectedState: flow.state,
            expectedNonce: flow.nonce,
            idTokenExpected: true,
          },
        );
      } catch (err) {
        throw exchangeRefusal(provider, err);
      }
      const idToken = tokens.id_token;
      const exp = tokens.claims()?.exp;
      if (idToken === undefined || exp === undefined) {
        throw signInFailed(
          `the identity provider ${provider.name} answered without an ID token. Tell the kubegate operators: the client must be allowed the openid scope.`,
        );
      }
      // The authenticator decides who this is, exactly as for kubectl with this token.
      const { identity } = await deps.verify(idToken);
      if (identity.oidc?.issuer !== provider.issuer.issuerUrl) {
        throw signInFailed(
          `the ID token was not issued by ${provider.name}, the provider this sign-in went to. Start again from the sign-in page.`,
        );
      }
      const { id, session } = await deps.sessions.create(identity, '', exp * 1000);
      deps.log.info(
        { user: identity.user, groups: identity.groups, issuer: identity.oidc.issuer },
        'web UI sign-in',
      );
      res.writeHead(303, {
        location: flow.next,
        'set-cookie': [sessionCookie(id, session.expiresAt - now()), clearedFlowCookie()],
        'cache-control': 'no-store',
        'referrer-policy': 'no-referrer',
      });
      res.end();
    } catch (err) {
      failed(res, err, retry, true);
    }
  }

  /** The page for a failed start or answer; a bug shows as KG_INTERNAL, its details in the log only. */
  function failed(res: ApiResponse, err: unknown, retry: string | null, clearFlow: boolean): void {
    let error: KubegateError;
    if (err instanceof KubegateError) {
      error = err;
      deps.log.info({ code: err.code, reason: err.message }, 'web UI sign-in refused');
    } else {
      deps.log.error({ err }, 'bug: web UI sign-in failed');
      error = new KubegateError(
        'KG_INTERNAL',
        'kubegate failed to complete the sign-in because of a bug (the log has the details). Start again from the sign-in page; if it persists, report it.',
      );
    }
    const body = failurePage(error, retry);
    res.writeHead(error.status, {
      ...SECURITY_HEADERS,
      'content-type': 'text/html; charset=utf-8',
      'content-length': Buffer.byteLength(body),
      'cache-control': 'no-store',
      [ERROR_CODE_HEADER]: error.code,
      ...(clearFlow ? { 'set-cookie': clearedFlowCookie() } : {}),
    });
    res.end(body);
  }

  /** A failed code exchange, in words: the provider's refusal, a failed check, or no answer. */
  function exchangeRefusal(provider: Provider, err: unknown): KubegateError {
    if (err instanceof KubegateError) return err;
    if (err instanceof client.ResponseBodyError) {
      if (err.error === 'invalid_grant') {
        return signInFailed(
          `the identity provider ${provider.name} no longer accepts this sign-in's code (it was already used, or it expired). Start again from the sign-in page.`,
          err,
        );
      }
      if (err.error === 'invalid_client' || err.error === 'unauthorized_client') {
        return signInFailed(
          `the identity provider ${provider.name} does not accept kubegate's client (${err.error}). Tell the kubegate operators: check identity.oidc clientId and clientSecretFile, and that the client may use the authorization code flow.`,
          err,
        );
      }
      return signInFailed(
        `the identity provider ${provider.name} refused to complete the sign-in (${err.error}). Start again from the sign-in page; if it persists, tell the kubegate operators.`,
        err,
      );
    }
    if (err instanceof client.ClientError) {
      // openid-client keeps the check that failed (oauth4webapi's error) in `cause`.
      const claim = (err.cause as { cause?: { claim?: unknown } } | undefined)?.cause?.claim;
      if (claim === 'nonce') {
        return signInFailed(
          `the ID token ${provider.name} sent does not carry this sign-in's nonce (a replayed or substituted token). Start again from the sign-in page.`,
          err,
        );
      }
      const status = (err.cause as { status?: unknown } | undefined)?.status;
      if (typeof status === 'number' && status >= 500) {
        return unreachable(provider, 'its token endpoint', new Error(`HTTP ${status}`));
      }
      const what = typeof claim === 'string' ? `its "${claim}" claim` : err.message.slice(0, 120);
      return signInFailed(
        `the answer of ${provider.name} failed kubegate's checks (${what}). Start again from the sign-in page; if it persists, tell the kubegate operators.`,
        err,
      );
    }
    return unreachable(provider, 'its token endpoint', err);
  }

  return {
    identityProviders() {
      return providers.map((provider, index) => ({
        name: provider.name,
        startUrl: startUrl(index),
        unavailable: redirectUri === null ? NO_PUBLIC_URL : null,
      }));
    },
    async handle(req, res, target) {
      allowMethods(req.method ?? '', ['GET']);
      const step = target.parts.length === 3 ? target.parts[2] : undefined;
      if (step === 'start') return start(res, target.query);
      if (step === 'callback') return callback(req, res, target.query);
      throw new KubegateError('KG_API_NOT_FOUND', 'no such kubegate API path');
    },
  };
}
