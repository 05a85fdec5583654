// kubegate's own surface on the gateway's port, beside the Kubernetes API it fronts:
//
//   /ui, /ui/…                  the reviewer web UI's files (assets.ts); no data, no sign-in needed
//   /kubegate/v1/session        POST {token} signs in (sets the session cookie), GET who am I, DELETE signs out
//   /kubegate/v1/session/methods         how the sign-in page offers to sign in (no session needed)
//   /kubegate/v1/session/oidc/start|callback   sign-in through an OpenID provider (oidc-sign-in.ts)
//   /kubegate/v1/requests…, /kubegate/v1/watch   approvals (approvals-api.ts)
//   /kubegate/v1/audit…         the audit trail (audit-api.ts)
//   /kubegate/v1/policy…        the policy in force and its simulator (policy-api.ts)
//   /kubegate/slack/interactivity   Slack's button presses, signed with the app's secret (slack/)
//
// Every refusal is a KubegateError, written as a Status by gateway/respond.ts's writeStatus (the
// gateway's own writer); the JSON answers are typed in api-types.ts.
//
// Who the caller is: a client certificate or bearer token, exactly as for the Kubernetes API
// (kubegate's CLI), or else a web session cookie (the browser). A request that lasts (the live
// event stream) is checked again while it runs: it ends when its session is signed out or
// expires, or its token (the bearer token, or the one the session was opened with) is revoked,
// including by `kubegate user` in another process (the token store re-reads its file within a
// second). A client certificate cannot be revoked. Must never forward anything
// upstream, never accept a session cookie on the Kubernetes API (the pipeline never asks this
// module), and never act on a session for a changing request without its CSRF token and a
// same-origin Origin: the browser sends the cookie to kubegate whoever's page asks it to.
import type { Readiness } from '../health/readiness.js';
import type { Logger } from 'pino';
import { KubegateError } from '../errors.js';
import type { ClientRequest } from '../gateway/read-body.js';
import { sendJson, writeStatus } from '../gateway/respond.js';
import type { Authentication, ClientCredentials, Identify } from '../identity/identify.js';
import type { SessionInfo } from '../identity/authenticator.js';
import { tokenDigest } from '../identity/tokens.js';
import type { Identity } from '../identity/types.js';
import type { SessionView, SignInMethods } from './api-types.js';
import type { ReviewerApi } from './approvals-api.js';
import type { AuditApi } from './audit-api.js';
import type { OidcSignIn } from './oidc-sign-in.js';
import type { PolicyApi } from './policy-api.js';
import { SLACK_INTERACTIVITY_PATH, type SlackInteractivity } from '../slack/interactivity.js';
import { isUiPath, type UiAssets } from './assets.js';
import {
  API_VERSION,
  allowMethods,
  apiTarget,
  badRequest,
  onlyFields,
  readJson,
  textField,
  type ApiResponse,
} from './http.js';
import {
  CSRF_HEADER,
  clearedSessionCookie,
  secretsEqual,
  sessionCookie,
  type Session,
  type Sessions,
} from './session.js';

export interface OwnApiDeps {
  /** Certificate, kubegate token, then web session (sessionAuthenticator). */
  readonly identify: Identify;
  readonly tokens: {
    lookup(token: string): Identity | null;
    lookupDigest(digest: string): Identity | null;
  };
  readonly sessions: Sessions;
  readonly sessionTtlMs: number;
  readonly reviewer: ReviewerApi;
  /** Only audit.readers get past its door. */
  readonly audit: AuditApi;
  readonly policy: PolicyApi;
  /** Sign-in through identity.oidc's providers; null when none is configured. */
  readonly oidcSignIn?: OidcSignIn | null;
  /** Slack's interactivity endpoint (config `slack`); null: not served. */
  readonly slack?: SlackInteractivity | null;
  readonly assets: UiAssets;
  /** /kubegate/livez and /kubegate/readyz; absent: not offered. */
  readonly health?: Pick<Readiness, 'ready' | 'results'>;
  readonly log: Pick<Logger, 'info' | 'warn' | 'error' | 'debug'>;
}

export interface OwnApi {
  /** True for the paths this module answers (the pipeline sends nothing else here). */
  owns(target: string): boolean;
  handle(req: ClientRequest, res: ApiResponse, credentials: ClientCredentials): Promise<void>;
  close(): void;
}

const SAFE_METHODS = new Set(['GET', 'HEAD']);
export const LIVEZ = '/kubegate/livez';
export const READYZ = '/kubegate/readyz';

const pathQuery = (target: string): string => {
  const q = target.indexOf('?');
  return q === -1 ? '' : target.slice(q + 1);
};

const pathOf = (target: string): string => {
  const q = target.indexOf('?');
  return q === -1 ? target : target.slice(0, q);
};

export function createOwnApi(deps: OwnApiDeps): OwnApi {
  /** The caller: certificate or bearer token first, else the session cookie (identity/identify.ts). */
  function authenticate(req: ClientRequest, credentials: ClientCredentials): Promise<Authentication> {
    return deps.identify({ ...credentials, cookie: req.headers.cookie });
  }

  /** A changing request on a session must come from kubegate's own page (CSRF token, Origin). */
  function checkCsrf(req: ClientRequest, caller: Authentication): void {
    if (caller.session === undefined || SAFE_METHODS.has(req.method ?? '')) return;
    checkOrigin(req);
    const sent = req.headers[CSRF_HEADER];
    if (typeof sent !== 'string' || !secretsEqual(sent, caller.session.csrfToken)) {
      throw new KubegateError(
        'KG_AUTHN_CSRF',
        'kubegate refused the request: it came without the web session’s CSRF token, so it may not come from kubegate’s own page. Nothing was done; reload the page and try again.',
      );
    }
  }

  async function signIn(req: ClientRequest, res: ApiResponse): Promise<void> {
    checkOrigin(req);
    const body = await readJson(req);
    onlyFields(body, ['token']);
    const token = (textField(body, 'token', 512) ?? '').trim();
    if (token === '') throw badRequest('paste your kubegate token (it starts with kg_) to sign in');
    const identity = deps.tokens.lookup(token);
    if (identity === null) {
      throw new KubegateError(
        'KG_AUTHN_TOKEN_INVALID',
        'kubegate does not know this token (mistyped, or revoked). Use the token from your kubegate kubeconfig, or ask an operator for one: kubegate user add NAME --token.',
      );
    }
    const { id, session } = await deps.sessions.create(identity, tokenDigest(token));
    deps.log.info({ user: identity.user, groups: identity.groups }, 'web UI sign-in');
    sendJson(res, 200, sessionView(identity, session), {
      'set-cookie': sessionCookie(id, deps.sessionTtlMs),
    });
  }

  async function session(
    req: ClientRequest,
    res: ApiResponse,
    credentials: ClientCredentials,
  ): Promise<void> {
    const method = req.method ?? '';
    allowMethods(method, ['GET', 'POST', 'DELETE']);
    if (method === 'POST') return signIn(req, res);
    const caller = await authenticate(req, credentials);
    checkCsrf(req, caller);
    if (method === 'GET') {
      sendJson(res, 200, sessionView(caller.identity, caller.session ?? null));
      return;
    }
    if (caller.session !== undefined) await deps.sessions.delete(caller.session.id);
    sendJson(
      res,
      200,
      { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 200 },
      { 'set-cookie': clearedSessionCookie() },
    );
  }

  /**
   * The probes: no credential needed, and nothing said beyond ok / not ready to whoever asks;
   * `?verbose` lists each check with its reason, for an authenticated caller only.
   */
  async function health(
    req: ClientRequest,
    res: ApiResponse,
    credentials: ClientCredentials,
    path: string,
    readiness: Pick<Readiness, 'ready' | 'results'>,
  ): Promise<void> {
    allowMethods(req.method ?? '', ['GET']);
    const ok = path === LIVEZ || readiness.ready;
    const verbose = new URLSearchParams(pathQuery(req.url ?? '')).has('verbose');
    if (!verbose) {
      res.writeHead(ok ? 200 : 503, {
        'content-type': 'text/plain; charset=utf-8',
        'cache-control': 'no-store',
      });
      res.end(ok ? 'ok\n' : 'not ready\n');
      return;
    }
    await authenticate(req, credentials);
    const checks = path === LIVEZ ? [] : readiness.results();
    const lines = checks.map(
      (c) => `[${c.ok ? '+' : '-'}]${c.name} ${c.ok ? 'ok' : `failed: ${c.reason ?? ''}`}`,
    );
    res.writeHead(ok ? 200 : 503, {
      'content-type': 'text/plain; charset=utf-8',
      'cache-control': 'no-store',
    });
    res.end(
      `${[...lines, ok ? `${path.slice('/kubegate/'.length)} check passed` : 'readyz check failed'].join('\n')}\n`,
    );
  }

  async function route(req: ClientRequest, res: ApiResponse, credentials: ClientCredentials): Promise<void> {
    const target = req.url ?? '';
    const path = pathOf(target);
    if (isUiPath(path)) return deps.assets.serve(req.method ?? '', path, res);
    if ((path === LIVEZ || path === READYZ) && deps.health !== undefined) {
      return health(req, res, credentials, path, deps.health);
    }
    // Slack carries no kubegate credential: its request signature is checked instead.
    if (path === SLACK_INTERACTIVITY_PATH && deps.slack) return deps.slack.handle(req, res);
    const parsed = apiTarget(target);
    const first = parsed.parts[0];
    if (first === 'session' && parsed.parts.length === 1) return session(req, res, credentials);
    if (first === 'session' && parsed.parts[1] === 'methods' && parsed.parts.length === 2) {
      allowMethods(req.method ?? '', ['GET']);
      const methods: SignInMethods = {
        kind: 'SignInMethods',
        apiVersion: API_VERSION,
        token: true,
        identityProviders: deps.oidcSignIn?.identityProviders() ?? [],
      };
      return sendJson(res, 200, methods);
    }
    if (first === 'session' && parsed.parts[1] === 'oidc') {
      if (!deps.oidcSignIn) {
        throw new KubegateError(
          'KG_API_NOT_FOUND',
          'kubegate offers no sign-in through an identity provider (identity.oidc is empty)',
        );
      }
      return deps.oidcSignIn.handle(req, res, parsed);
    }
    const caller = await authenticate(req, credentials);
    checkCsrf(req, caller);
    if (first === 'audit') return deps.audit.handle(req.method ?? '', parsed, res, caller.identity);
    if (first === 'policy') return deps.policy.handle(req, parsed, res, caller.identity);
    // requests, watch, and the reviewer API's own answer to anything else.
    return deps.reviewer.handle(req, res, caller.identity, { stillValid: caller.stillValid });
  }

  return {
    owns(target) {
      const path = pathOf(target);
      return path === '/kubegate' || path.startsWith('/kubegate/') || isUiPath(path);
    },
    async handle(req, res, credentials) {
      try {
        await route(req, res, credentials);
      } catch (err) {
        if (!(err instanceof KubegateError)) {
          deps.log.error({ err, path: req.url }, 'bug: kubegate API request failed');
        }
        writeStatus(res, err);
      }
    },
    close() {
      deps.reviewer.close();
    },
  };
}

function sessionView(
  identity: Pick<Identity, 'user' | 'groups'>,
  session: Pick<Session, 'csrfToken' | 'expiresAt'> | SessionInfo | null,
): SessionView {
  return {
    kind: 'Session',
    apiVersion: API_VERSION,
    user: identity.user,
    groups: identity.groups,
    csrfToken: session?.csrfToken ?? null,
    expiresAt: session === null ? null : new Date(session.expiresAt).toISOString(),
  };
}

/**
 * A browser names the page that made a request in Origin (always on POST and DELETE from
 * fetch) and says whether it was another site in Sec-Fetch-Site. Either pointing elsewhere is
 * refused; a client that sends neither is not a browser acting for someone else.
 */
function checkOrigin(req: ClientRequest): void {
  const site = req.headers['sec-fetch-site'];
  const origin = req.headers.origin;
  const host = req.headers[':authority'] ?? req.headers.host;
  const crossSite = site !== undefined && site !== 'same-origin' && site !== 'none';
  const otherOrigin = origin !== undefined && (typeof host !== 'string' || origin !== `https://${host}`);
  if (crossSite || otherOrigin) {
    throw new KubegateError(
      'KG_AUTHN_CSRF',
      'kubegate refused a request made by another site’s page on your behalf. Nothing was done; use kubegate’s own UI.',
    );
  }
}
