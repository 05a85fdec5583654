// The web UI's sign-in through an OpenID provider, its part without I/O (oidc-sign-in.ts does the
// I/O): the sign-ins in progress, the cookie that binds one to the browser that started it, the
// checks on the provider's answer, where the person lands afterwards, and the page that tells them
// what went wrong. Must never accept an answer for a sign-in this browser did not start (the flow
// cookie and `state` must both match, compared in constant time), never let one be used twice or
// after FLOW_TTL_MS, never show a provider's error text unless the answer's state matched (else any
// page could make kubegate's origin show text of its choosing), and never send the person anywhere
// but a page of the UI afterwards (no open redirect).
//
// A sign-in in progress is kept server-side, keyed by a random id that only its browser holds (the
// flow cookie): its state, nonce and PKCE verifier never leave the server. The cookie is HttpOnly,
// Secure, `__Host-` and SameSite=Lax: Lax so that the browser sends it on the provider's redirect
// back (a top-level GET from another site), which Strict would not. Where it is kept is a
// SignInFlowStore (identity/sign-in-flows.ts): this process's memory for one replica, the shared database for several (the
// provider's answer may reach any replica; take() lets exactly one of them have it). The store
// sees only the SHA-256 of the id.
import { createHash, randomBytes } from 'node:crypto';
import { KubegateError } from '../errors.js';
import { memorySignInFlows, type PendingSignIn, type SignInFlowStore } from '../identity/sign-in-flows.js';
import { secretCookie, secretsEqual } from './session.js';

export const FLOW_COOKIE = '__Host-kubegate-oidc-flow';
/** How long a person has at the provider (sign-in, consent) before the sign-in must start again. */
export const FLOW_TTL_MS = 10 * 60_000;
/** Sign-ins in progress kept at most (starting one needs no credential: memory stays bounded). */
export const MAX_FLOWS = 10_000;

const UI_HOME = '/ui/';
const SIGN_IN_PAGE = '/ui/sign-in';

export type TakenSignIn =
  | { readonly kind: 'found'; readonly flow: PendingSignIn }
  | { readonly kind: 'none' }
  | { readonly kind: 'expired'; readonly flow: PendingSignIn };

const keyOf = (id: string): string => createHash('sha256').update(id).digest('base64url');

/** The sign-ins in progress, in their store. */
export class PendingSignIns {
  readonly #store: SignInFlowStore;
  readonly #now: () => number;
  readonly #ttlMs: number;
  readonly #max: number;

  constructor(options: { now: () => number; ttlMs?: number; max?: number; store?: SignInFlowStore }) {
    this.#store = options.store ?? memorySignInFlows();
    this.#now = options.now;
    this.#ttlMs = options.ttlMs ?? FLOW_TTL_MS;
    this.#max = options.max ?? MAX_FLOWS;
  }

  /** Keeps a new sign-in; returns the id its browser's cookie holds. */
  async begin(flow: Omit<PendingSignIn, 'startedAt'>): Promise<string> {
    const id = randomBytes(32).toString('base64url');
    await this.#store.add(
      keyOf(id),
      { ...flow, startedAt: this.#now() },
      { ttlMs: this.#ttlMs, max: this.#max },
    );
    return id;
  }

  /** The sign-in the cookie names, removed: each is answered once, whatever the outcome. */
  async take(id: string | null): Promise<TakenSignIn> {
    if (id === null) return { kind: 'none' };
    const flow = await this.#store.take(keyOf(id));
    if (flow === null) return { kind: 'none' };
    if (flow.startedAt + this.#ttlMs <= this.#now()) return { kind: 'expired', flow };
    return { kind: 'found', flow };
  }
}

/** The Set-Cookie value that binds a sign-in to this browser for `ttlMs`. */
export function flowCookie(id: string, ttlMs = FLOW_TTL_MS): string {
  return `${FLOW_COOKIE}=${id}; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=${Math.floor(ttlMs / 1000)}`;
}

/** The Set-Cookie value that removes it (sent with every answer to the provider's redirect). */
export function clearedFlowCookie(): string {
  return `${FLOW_COOKIE}=; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=0`;
}

/** The flow id from a Cookie header, or null (absent, named twice, not one kubegate set). */
export function flowIdOf(cookie: string | readonly string[] | undefined): string | null {
  return secretCookie(cookie, FLOW_COOKIE);
}

/** A refusal of the provider's answer: nobody is signed in, the person starts again. */
export function signInFailed(why: string, cause?: unknown): KubegateError {
  return new KubegateError(
    'KG_AUTHN_SIGN_IN_FAILED',
    `kubegate did not sign you in: ${why}`,
    cause === undefined ? undefined : { cause },
  );
}

export function signInUnavailable(why: string, cause?: unknown): KubegateError {
  return new KubegateError(
    'KG_AUTHN_SIGN_IN_UNAVAILABLE',
    `kubegate cannot sign you in through your identity provider now: ${why}`,
    cause === undefined ? undefined : { cause },
  );
}

const START_AGAIN = 'Start again from the sign-in page.';

/** What a taken sign-in means for the answer in hand: the flow to check it against, or a refusal. */
export function flowOrRefusal(taken: TakenSignIn): PendingSignIn {
  switch (taken.kind) {
    case 'found':
      return taken.flow;
    case 'expired':
      return throwing(
        signInFailed(
          `the sign-in took longer than ${FLOW_TTL_MS / 60_000} minutes at the identity provider. ${START_AGAIN}`,
        ),
      );
    case 'none':
      return throwing(
        signInFailed(
          `this browser has no sign-in in progress for this answer (it was already used, kubegate restarted, or the link was opened in another browser or sent by someone else). ${START_AGAIN}`,
        ),
      );
  }
}

const throwing = (err: KubegateError): never => {
  throw err;
};

/** Parameters of the provider's answer kubegate reads; each may appear at most once. */
const ANSWER_PARAMS = ['code', 'state', 'iss', 'error', 'error_description', 'error_uri'] as const;

/**
 * Checks the provider's answer (the redirect's query) against the sign-in it belongs to, in this
 * order: one value per parameter, the state (a forged or crossed answer stops here, before
 * anything it says is shown), then the provider's error, then the code. Returns the query to hand
 * to the code exchange.
 */
export function checkAnswer(query: URLSearchParams, flow: PendingSignIn): URLSearchParams {
  for (const name of ANSWER_PARAMS) {
    if (query.getAll(name).length > 1) {
      throw signInFailed(
        `the answer names ${name} more than once, so it is not the provider's. ${START_AGAIN}`,
      );
    }
  }
  const state = query.get('state');
  if (state === null || !secretsEqual(state, flow.state)) {
    throw signInFailed(
      `the answer's state does not match the sign-in this browser started (a forged or crossed answer, or an old link). ${START_AGAIN}`,
    );
  }
  const error = query.get('error');
  if (error !== null) {
    const description = query.get('error_description');
    throw signInFailed(
      `the identity provider ended the sign-in with "${oauthText(error, 60)}"${
        description === null ? '' : ` (${oauthText(description, 200)})`
      }. If you cancelled, start again; if the provider refused you, ask whoever runs it.`,
    );
  }
  const code = query.get('code');
  if (code === null || code === '') {
    throw signInFailed(`the identity provider's answer has no authorization code. ${START_AGAIN}`);
  }
  const answer = new URLSearchParams();
  for (const name of ['code', 'state', 'iss'] as const) {
    const value = query.get(name);
    if (value !== null) answer.set(name, value);
  }
  return answer;
}

/**
 * An OAuth error or description as shown: RFC 6749 allows only printable ASCII without " and \
 * in them (§5.2); anything else is replaced, and the text is cut at `max`.
 */
function oauthText(text: string, max: number): string {
  const cleaned = text.replace(/[^\x20\x21\x23-\x5b\x5d-\x7e]/gu, '?');
  return cleaned.length > max ? `${cleaned.slice(0, max)}…` : cleaned;
}

/**
 * Where to land after signing in: `next` when it is a page of the UI, else the queue. As the
 * page's own safeNext (ui/src/routes.ts): nothing that could leave the origin (`//host`, `/\host`,
 * a scheme) or the UI, no control characters, and not the sign-in page itself.
 */
export function safeNext(next: string | null): string {
  if (next === null || next.length > 1_000) return UI_HOME;
  if (next !== '/ui' && !next.startsWith('/ui/')) return UI_HOME;
  if (next.includes('//') || next.includes('\\') || !/^[\x21-\x7e]*$/u.test(next)) return UI_HOME;
  const path = next.split(/[?#]/u, 1)[0]!.replace(/\/+$/u, '');
  return path === SIGN_IN_PAGE ? UI_HOME : next;
}

/** How the sign-in page names a provider: the host of its issuer URL. */
export function providerName(issuerUrl: string): string {
  return new URL(issuerUrl).host;
}

const escapeHtml = (text: string): string => text.replace(/[&<>"']/gu, (c) => `&#${c.charCodeAt(0)};`);

/**
 * The page a browser gets when its sign-in fails: what happened (the error's message, which names
 * no secret) and the way back, in the UI's own style sheet. No script. `retryUrl` starts the same
 * provider's sign-in again.
 */
export function failurePage(err: KubegateError, retryUrl: string | null): string {
  const retry =
    retryUrl === null
      ? ''
      : `\n    <a class="button" href="${escapeHtml(retryUrl)}" data-testid="sign-in-retry">Try again</a>`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign-in failed · kubegate</title>
<link rel="stylesheet" href="/ui/assets/app.css">
</head>
<body>
<main id="main">
<div class="sign-in">
  <div class="card sign-in-card" data-testid="sign-in-failure" data-code="${err.code}">
    <div class="brand brand-large" aria-hidden="true"><span class="brand-mark">kg</span> kubegate</div>
    <h1>Sign-in failed</h1>
    <p class="notice notice-error" role="alert" data-testid="sign-in-failure-message">${escapeHtml(err.message)}</p>
    <p class="muted">Error code <code>${err.code}</code>.</p>
    <a class="button button-primary" href="${SIGN_IN_PAGE}" data-testid="sign-in-again">Back to sign-in</a>${retry}
  </div>
</div>
</main>
</body>
</html>
`;
}
