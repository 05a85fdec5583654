// The web UI's sign-in through an OpenID provider, through kubegate's own API on loopback HTTP/1.1
// with real parts: openid-client against a provider served by the test (discovery, a token
// endpoint that checks the code, PKCE and the client, JWKS; ID tokens minted by jose), the real
// OIDC authenticator (identity/oidc.ts) deciding who signed in, and real sessions in SQLite.
// The browser's step at the provider is played by `authorize` (the provider's answer is the
// redirect it would send). What is checked: the redirect to the provider (PKCE S256, state,
// nonce, scopes, redirect URI, a bound cookie), the session it ends in (the authenticator's
// mapping, the ID token's exp, a public and a confidential client), sign-out, and every failure:
// each a page with its code, what happened and what to do, no stack, nobody signed in.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, test } from 'node:test';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import { request } from 'undici';
import { storeIn } from '../config/schema.js';
import { freePort } from '../demo/ports.js';
import { gatewayAuthenticators } from '../identity/authenticators.js';
import { createIdentify } from '../identity/identify.js';
import { createOidc, type Oidc } from '../identity/oidc.js';
import { TokenStore } from '../identity/tokens.js';
import { openStore, type Store } from '../store/open.js';
import type { ReviewerApi } from './approvals-api.js';
import type { AuditApi } from './audit-api.js';
import type { UiAssets } from './assets.js';
import { FLOW_COOKIE, FLOW_TTL_MS } from './oidc-sign-in-flow.js';
import { CALLBACK_PATH, createOidcSignIn, type OidcSignInIssuer } from './oidc-sign-in.js';
import { createOwnApi, type OwnApi } from './own-api.js';
import type { PolicyApi } from './policy-api.js';
import { SESSION_COOKIE, Sessions } from './session.js';
import { sessionAuthenticator } from './session-authenticator.js';

const CLIENT_ID = 'kubegate-web';
const SECRET = 'the-client-secret';
const PUBLIC_URL = 'https://kubegate.example.com';
const silent = {
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  debug: () => undefined,
};

// ---- a provider served by the test ----------------------------------------------------------

interface Grant {
  readonly challenge: string;
  readonly redirectUri: string;
  readonly claims: JWTPayload;
}

interface Provider {
  readonly issuer: string;
  /** Grants by code; a code is taken by its first exchange. */
  readonly grants: Map<string, Grant>;
  /** What the token endpoint saw: its Authorization header and form. */
  readonly exchanges: { authorization: string | undefined; form: URLSearchParams }[];
  /** When set, the token endpoint answers this instead. */
  failWith: { status: number; body: object } | null;
  sign(claims: JWTPayload): Promise<string>;
  close(): Promise<void>;
}

/** `id:secret` of a Basic header, each form-urlencoded first (RFC 6749 §2.3.1), decoded. */
function basicCredentials(header: string | undefined): string | null {
  if (header === undefined || !header.startsWith('Basic ')) return null;
  const [id = '', secret = ''] = Buffer.from(header.slice(6), 'base64').toString('utf8').split(':');
  return `${decodeURIComponent(id)}:${decodeURIComponent(secret)}`;
}

async function startProvider(confidential: boolean): Promise<Provider> {
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  const key: CryptoKey = privateKey;
  const grants = new Map<string, Grant>();
  const exchanges: Provider['exchanges'] = [];
  let issuer = '';
  const state = { failWith: null as Provider['failWith'] };

  const send = (res: ServerResponse, status: number, body: object): void => {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };
  const token = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    let text = '';
    for await (const chunk of req as AsyncIterable<Buffer>) text += chunk.toString();
    const form = new URLSearchParams(text);
    exchanges.push({ authorization: req.headers.authorization, form });
    if (state.failWith !== null) return send(res, state.failWith.status, state.failWith.body);
    const authenticated = confidential
      ? basicCredentials(req.headers.authorization) === `${CLIENT_ID}:${SECRET}`
      : req.headers.authorization === undefined && form.get('client_id') === CLIENT_ID;
    if (!authenticated) return send(res, 401, { error: 'invalid_client' });
    const grant = grants.get(form.get('code') ?? '');
    grants.delete(form.get('code') ?? '');
    const verifier = form.get('code_verifier') ?? '';
    if (
      grant === undefined ||
      form.get('grant_type') !== 'authorization_code' ||
      form.get('redirect_uri') !== grant.redirectUri ||
      createHash('sha256').update(verifier).digest('base64url') !== grant.challenge
    ) {
      return send(res, 400, { error: 'invalid_grant', error_description: 'code, verifier or redirect_uri' });
    }
    send(res, 200, {
      access_token: 'at',
      token_type: 'Bearer',
      expires_in: 3600,
      id_token: await provider.sign(grant.claims),
    });
  };
  const server: Server = createServer((req, res) => {
    if (req.url === '/.well-known/openid-configuration') {
      return send(res, 200, {
        issuer,
        authorization_endpoint: `${issuer}/auth`,
        token_endpoint: `${issuer}/token`,
        jwks_uri: `${issuer}/keys`,
        response_types_supported: ['code'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['RS256'],
        code_challenge_methods_supported: ['S256'],
        scopes_supported: ['openid', 'offline_access', 'email', 'profile', 'groups'],
      });
    }
    if (req.url === '/keys') return send(res, 200, { keys: [jwk] });
    if (req.url === '/token' && req.method === 'POST') {
      token(req, res).catch((err: unknown) => res.destroy(err as Error));
      return;
    }
    send(res, 404, { error: 'not_found' });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const provider: Provider = {
    issuer,
    grants,
    exchanges,
    get failWith() {
      return state.failWith;
    },
    set failWith(value) {
      state.failWith = value;
    },
    sign: (claims) => new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).sign(key),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  return provider;
}

// ---- kubegate's own API with the sign-in ------------------------------------------------------

let dir: string;
let store: Store;
let tokens: TokenStore;
let publicProvider: Provider;
let confidentialProvider: Provider;
let oidc: Oidc;
let server: Server;
let port: number;
let api: OwnApi;
let now: number;

const sam = { sub: 'sam-1', email: 'sam@example.com', email_verified: true, groups: ['sre'] };

const stubReviewer: ReviewerApi = {
  handle(req, res, identity) {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        user: identity.user,
        groups: identity.groups,
        method: identity.method,
        oidc: identity.oidc,
      }),
    );
    return Promise.resolve();
  },
  close: () => undefined,
};

const mapping = (issuerUrl: string) => ({
  issuerUrl,
  audiences: [CLIENT_ID],
  usernameClaim: 'email',
  usernamePrefix: '',
  groupsClaim: 'groups',
  groupsPrefix: 'oidc:',
  requiredClaims: {},
});

interface Setup {
  readonly publicUrl?: string | null;
  readonly issuers?: readonly OidcSignInIssuer[];
  /** The issuers whose sessions the session authenticator accepts (default: both providers). */
  readonly trusted?: readonly string[];
}

function build(setup: Setup = {}): void {
  const sessions = new Sessions(store.sessions, { ttlMs: 60 * 60_000, now: () => Date.now() });
  const signIn = createOidcSignIn(
    setup.issuers ?? [
      { issuerUrl: publicProvider.issuer, clientId: CLIENT_ID },
      { issuerUrl: confidentialProvider.issuer, clientId: CLIENT_ID, clientSecret: SECRET },
    ],
    {
      publicUrl: setup.publicUrl === undefined ? PUBLIC_URL : setup.publicUrl,
      verify: (idToken) => oidc.verify(idToken),
      sessions,
      log: silent,
      now: () => now,
    },
  );
  const trusted = new Set(setup.trusted ?? [publicProvider.issuer, confidentialProvider.issuer]);
  api = createOwnApi({
    identify: createIdentify(
      [...gatewayAuthenticators(tokens, oidc.authenticator), sessionAuthenticator(sessions, tokens, trusted)],
      { missing: 'no credential' },
    ),
    tokens,
    sessions,
    sessionTtlMs: 60 * 60_000,
    reviewer: stubReviewer,
    audit: {} as AuditApi,
    policy: {} as PolicyApi,
    assets: {} as UiAssets,
    oidcSignIn: signIn,
    log: silent,
  });
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kubegate-oidc-sign-in-'));
  store = await openStore(storeIn(dir));
  tokens = await TokenStore.open(dir);
  publicProvider = await startProvider(false);
  confidentialProvider = await startProvider(true);
  oidc = createOidc([mapping(publicProvider.issuer), mapping(confidentialProvider.issuer)], { log: silent });
  server = createServer((req, res) => {
    void api.handle(req, res, { certificate: null, authorization: req.headers.authorization });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  port = (server.address() as AddressInfo).port;
});

after(async () => {
  server.close();
  await publicProvider.close();
  await confidentialProvider.close();
  await oidc.close();
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

beforeEach(() => {
  now = Date.now();
  publicProvider.failWith = null;
  confidentialProvider.failWith = null;
  build();
});

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
}

async function call(method: string, path: string, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await request(`http://127.0.0.1:${port}${path}`, { method, headers });
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
}

const setCookies = (answer: Answer): string[] => {
  const value = answer.headers['set-cookie'];
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
};

/** The `name=value` of the cookie named `name` that `answer` sets. */
const cookieOf = (answer: Answer, name: string): string | undefined =>
  setCookies(answer)
    .find((c) => c.startsWith(`${name}=`))
    ?.split(';')[0];

interface Started {
  /** The provider's authorization URL the browser is sent to. */
  readonly to: URL;
  /** The flow cookie, as the browser sends it back. */
  readonly cookie: string;
  readonly answer: Answer;
}

async function start(issuer = 0, next = '/ui/requests/kg-1'): Promise<Started> {
  const answer = await call(
    'GET',
    `/kubegate/v1/session/oidc/start?issuer=${issuer}&next=${encodeURIComponent(next)}`,
  );
  assert.equal(answer.status, 302, answer.text);
  const cookie = cookieOf(answer, FLOW_COOKIE);
  assert.ok(cookie, 'a flow cookie');
  return { to: new URL(String(answer.headers.location)), cookie, answer };
}

/**
 * The person signs in at the provider as `claims` (the nonce is the request's unless given): the
 * provider's redirect back, as a path on kubegate.
 */
function authorize(provider: Provider, to: URL, claims: JWTPayload): string {
  const code = `code-${provider.grants.size}-${Math.random().toString(36).slice(2)}`;
  const t = Math.floor(Date.now() / 1000);
  provider.grants.set(code, {
    challenge: to.searchParams.get('code_challenge') ?? '',
    redirectUri: to.searchParams.get('redirect_uri') ?? '',
    claims: {
      iss: provider.issuer,
      aud: CLIENT_ID,
      iat: t,
      exp: t + 600,
      nonce: to.searchParams.get('nonce') ?? undefined,
      ...claims,
    },
  });
  const back = new URL(to.searchParams.get('redirect_uri') ?? '');
  back.searchParams.set('code', code);
  back.searchParams.set('state', to.searchParams.get('state') ?? '');
  return `${back.pathname}${back.search}`;
}

/** Asserts a failure page: status, code, a message matching `why`, no stack, nobody signed in. */
function assertFailure(answer: Answer, status: number, code: string, why: RegExp): void {
  assert.equal(answer.status, status, answer.text);
  assert.equal(answer.headers['x-kubegate-error-code'], code);
  assert.equal(answer.headers['content-type'], 'text/html; charset=utf-8');
  assert.match(String(answer.headers['content-security-policy']), /default-src 'self'/u);
  assert.match(answer.text, new RegExp(`data-code="${code}"`, 'u'));
  assert.match(answer.text, why);
  assert.match(answer.text, /href="\/ui\/sign-in"/u);
  assert.doesNotMatch(answer.text, /\n\s+at |Error:|node_modules/u, 'no stack');
  assert.equal(cookieOf(answer, SESSION_COOKIE), undefined, 'no session');
}

// ---- what the sign-in page is offered ----

test('the sign-in page is offered each provider by its host, with kubegate’s start path, without a session', async () => {
  const answer = await call('GET', '/kubegate/v1/session/methods');
  assert.equal(answer.status, 200);
  assert.deepEqual(JSON.parse(answer.text), {
    kind: 'SignInMethods',
    apiVersion: 'kubegate.dev/v1',
    token: true,
    identityProviders: [
      {
        name: new URL(publicProvider.issuer).host,
        startUrl: '/kubegate/v1/session/oidc/start?issuer=0',
        unavailable: null,
      },
      {
        name: new URL(confidentialProvider.issuer).host,
        startUrl: '/kubegate/v1/session/oidc/start?issuer=1',
        unavailable: null,
      },
    ],
  });
});

test('without publicUrl the providers are offered as unavailable, and starting is refused with what to do', async () => {
  build({ publicUrl: null });
  const methods = JSON.parse((await call('GET', '/kubegate/v1/session/methods')).text) as {
    identityProviders: { unavailable: string | null }[];
  };
  assert.match(methods.identityProviders[0]?.unavailable ?? '', /publicUrl is not set/u);
  const answer = await call('GET', '/kubegate/v1/session/oidc/start?issuer=0');
  assertFailure(answer, 503, 'KG_AUTHN_SIGN_IN_UNAVAILABLE', /publicUrl is not set.*set publicUrl/su);
  assert.equal(cookieOf(answer, FLOW_COOKIE), undefined);
});

// ---- the flow ----

test('starting sends the browser to the provider with PKCE S256, state, nonce, the scopes and kubegate’s redirect URI', async () => {
  const { to, answer } = await start();
  assert.equal(`${to.origin}${to.pathname}`, `${publicProvider.issuer}/auth`);
  const p = to.searchParams;
  assert.equal(p.get('client_id'), CLIENT_ID);
  assert.equal(p.get('response_type'), 'code');
  assert.equal(p.get('redirect_uri'), `${PUBLIC_URL}${CALLBACK_PATH}`);
  assert.equal(p.get('scope'), 'openid email profile groups');
  assert.equal(p.get('code_challenge_method'), 'S256');
  assert.match(p.get('code_challenge') ?? '', /^[A-Za-z0-9_-]{43}$/u);
  assert.match(p.get('state') ?? '', /^[A-Za-z0-9_-]{43}$/u);
  assert.match(p.get('nonce') ?? '', /^[A-Za-z0-9_-]{43}$/u);
  assert.notEqual(p.get('state'), p.get('nonce'));
  assert.equal(answer.headers['cache-control'], 'no-store');
  assert.match(
    setCookies(answer)[0] ?? '',
    /^__Host-kubegate-oidc-flow=[A-Za-z0-9_-]{43}; Path=\/; Secure; HttpOnly; SameSite=Lax; Max-Age=600$/u,
  );
  // Every start is its own: new state, nonce and verifier.
  const again = await start();
  assert.notEqual(again.to.searchParams.get('state'), p.get('state'));
  assert.notEqual(again.to.searchParams.get('code_challenge'), p.get('code_challenge'));
});

test('the provider’s answer signs the browser in as the OIDC authenticator names the ID token, until its exp', async () => {
  const { to, cookie } = await start(0, '/ui/requests/kg-1');
  const back = await call('GET', authorize(publicProvider, to, sam), { cookie });
  assert.equal(back.status, 303, back.text);
  assert.equal(back.headers.location, '/ui/requests/kg-1');
  const session = cookieOf(back, SESSION_COOKIE);
  assert.ok(session);
  assert.match(
    setCookies(back).join('\n'),
    /__Host-kubegate-session=[^;]+; Path=\/; Secure; HttpOnly; SameSite=Strict; Max-Age=(59\d|600)\b/u,
  );
  assert.match(setCookies(back).join('\n'), /__Host-kubegate-oidc-flow=; .*Max-Age=0/u);
  // The public client: PKCE and client_id, no secret.
  const exchange = publicProvider.exchanges.at(-1);
  assert.equal(exchange?.authorization, undefined);
  assert.equal(exchange?.form.get('client_id'), CLIENT_ID);
  assert.match(exchange?.form.get('code_verifier') ?? '', /^[A-Za-z0-9_-]{43}$/u);

  const who = await call('GET', '/kubegate/v1/session', { cookie: session });
  assert.equal(who.status, 200, who.text);
  const view = JSON.parse(who.text) as {
    user: string;
    groups: string[];
    csrfToken: string;
    expiresAt: string;
  };
  assert.equal(view.user, 'sam@example.com');
  assert.deepEqual(view.groups, ['oidc:sre']);
  assert.match(view.csrfToken, /^[A-Za-z0-9_-]{43}$/u);
  const exp = (Math.floor(Date.now() / 1000) + 600) * 1000;
  assert.ok(Math.abs(Date.parse(view.expiresAt) - exp) <= 2_000, 'the session ends with the ID token');
  // The rest of the API sees an OIDC identity, with its issuer and subject.
  const reached = await call('GET', '/kubegate/v1/requests', { cookie: session });
  assert.deepEqual(JSON.parse(reached.text), {
    user: 'sam@example.com',
    groups: ['oidc:sre'],
    method: 'oidc',
    oidc: { issuer: publicProvider.issuer, subject: 'sam-1' },
  });

  // Sign-out ends it.
  const out = await call('DELETE', '/kubegate/v1/session', {
    cookie: session,
    'x-kubegate-csrf': view.csrfToken,
    origin: `https://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
  });
  assert.equal(out.status, 200, out.text);
  assert.equal((await call('GET', '/kubegate/v1/session', { cookie: session })).status, 401);
});

test('a confidential client authenticates with its secret (client_secret_basic) and PKCE', async () => {
  const { to, cookie } = await start(1, '/ui/');
  assert.equal(`${to.origin}${to.pathname}`, `${confidentialProvider.issuer}/auth`);
  const back = await call('GET', authorize(confidentialProvider, to, sam), { cookie });
  assert.equal(back.status, 303, back.text);
  assert.equal(back.headers.location, '/ui/');
  const exchange = confidentialProvider.exchanges.at(-1);
  assert.equal(basicCredentials(exchange?.authorization), `${CLIENT_ID}:${SECRET}`);
  assert.equal(exchange?.form.get('client_secret'), null, 'the secret travels in the header only');
  assert.match(exchange?.form.get('code_verifier') ?? '', /^[A-Za-z0-9_-]{43}$/u);
});

test('a session of a provider kubegate no longer trusts is refused and ended', async () => {
  const { to, cookie } = await start();
  const session = cookieOf(await call('GET', authorize(publicProvider, to, sam), { cookie }), SESSION_COOKIE);
  assert.ok(session);
  build({ trusted: [confidentialProvider.issuer] });
  const refused = await call('GET', '/kubegate/v1/session', { cookie: session });
  assert.equal(refused.status, 401);
  assert.equal(refused.headers['x-kubegate-error-code'], 'KG_AUTHN_OIDC_INVALID');
  build();
  assert.equal((await call('GET', '/kubegate/v1/session', { cookie: session })).status, 401, 'ended');
});

// ---- every failure ----

test('an answer without the flow cookie (another browser, a forged link) is refused before the provider is asked', async () => {
  const { to } = await start();
  const before = publicProvider.exchanges.length;
  const answer = await call('GET', authorize(publicProvider, to, sam));
  assertFailure(answer, 401, 'KG_AUTHN_SIGN_IN_FAILED', /no sign-in in progress/u);
  assert.equal(publicProvider.exchanges.length, before);
});

test('an answer with another state is refused, and its sign-in is over', async () => {
  const { to, cookie } = await start();
  const path = authorize(publicProvider, to, sam).replace(/state=[^&]+/u, 'state=forged');
  const answer = await call('GET', path, { cookie });
  assertFailure(answer, 401, 'KG_AUTHN_SIGN_IN_FAILED', /state does not match/u);
  assert.match(setCookies(answer).join('\n'), /__Host-kubegate-oidc-flow=; .*Max-Age=0/u);
  // The right state now finds nothing: one answer per sign-in.
  const right = await call('GET', authorize(publicProvider, to, sam), { cookie });
  assertFailure(right, 401, 'KG_AUTHN_SIGN_IN_FAILED', /no sign-in in progress/u);
});

test('a replayed answer is refused: with its own cookie (used), and with a new sign-in’s cookie and state (the code is spent)', async () => {
  const { to, cookie } = await start();
  const path = authorize(publicProvider, to, sam);
  assert.equal((await call('GET', path, { cookie })).status, 303);
  assertFailure(
    await call('GET', path, { cookie }),
    401,
    'KG_AUTHN_SIGN_IN_FAILED',
    /no sign-in in progress/u,
  );
  const fresh = await start();
  const replay = path.replace(/state=[^&]+/u, `state=${fresh.to.searchParams.get('state')}`);
  assertFailure(
    await call('GET', replay, { cookie: fresh.cookie }),
    401,
    'KG_AUTHN_SIGN_IN_FAILED',
    /no longer accepts this sign-in(&#39;|')s code/u,
  );
});

test('an answer after the flow’s time is refused as expired', async () => {
  const { to, cookie } = await start();
  now += FLOW_TTL_MS;
  assertFailure(
    await call('GET', authorize(publicProvider, to, sam), { cookie }),
    401,
    'KG_AUTHN_SIGN_IN_FAILED',
    /took longer than 10 minutes/u,
  );
});

test('the provider’s error is shown with what to do; a Try again link starts the same provider', async () => {
  const { to, cookie } = await start(0, '/ui/audit');
  const answer = await call(
    'GET',
    `${CALLBACK_PATH}?error=access_denied&error_description=The+resource+owner+denied+the+request&state=${to.searchParams.get('state')}`,
    { cookie },
  );
  assertFailure(
    answer,
    401,
    'KG_AUTHN_SIGN_IN_FAILED',
    /access_denied.*The resource owner denied the request/u,
  );
  assert.match(answer.text, /href="\/kubegate\/v1\/session\/oidc\/start\?issuer=0&#38;next=%2Fui%2Faudit"/u);
});

test('an ID token without this sign-in’s nonce is refused (openid-client’s check)', async () => {
  const { to, cookie } = await start();
  assertFailure(
    await call('GET', authorize(publicProvider, to, { ...sam, nonce: 'another-sign-ins-nonce' }), { cookie }),
    401,
    'KG_AUTHN_SIGN_IN_FAILED',
    /does not carry this sign-in(&#39;|')s nonce/u,
  );
});

test('an ID token the OIDC authenticator refuses opens no session: its rules (email_verified) apply as for kubectl', async () => {
  const { to, cookie } = await start();
  assertFailure(
    await call('GET', authorize(publicProvider, to, { ...sam, email_verified: false }), { cookie }),
    401,
    'KG_AUTHN_OIDC_INVALID',
    /email_verified is not true/u,
  );
  const groups = await start();
  assertFailure(
    await call('GET', authorize(publicProvider, groups.to, { ...sam, groups: { sre: true } }), {
      cookie: groups.cookie,
    }),
    401,
    'KG_AUTHN_OIDC_INVALID',
    /not a list of group names/u,
  );
});

test('a client the provider refuses is refused with a word for the operators', async () => {
  const { to, cookie } = await start();
  publicProvider.failWith = { status: 401, body: { error: 'invalid_client' } };
  assertFailure(
    await call('GET', authorize(publicProvider, to, sam), { cookie }),
    401,
    'KG_AUTHN_SIGN_IN_FAILED',
    /does not accept kubegate(&#39;|')s client.*clientSecretFile/u,
  );
});

test('a provider that fails or cannot be reached is a 503 page: at start, and at the code exchange', async () => {
  const { to, cookie } = await start();
  publicProvider.failWith = { status: 503, body: { error: 'temporarily_unavailable' } };
  assertFailure(
    await call('GET', authorize(publicProvider, to, sam), { cookie }),
    503,
    'KG_AUTHN_SIGN_IN_UNAVAILABLE',
    /could not be reached for its token endpoint/u,
  );
  const down = `http://127.0.0.1:${await freePort()}`;
  build({ issuers: [{ issuerUrl: down, clientId: CLIENT_ID }] });
  assertFailure(
    await call('GET', '/kubegate/v1/session/oidc/start?issuer=0'),
    503,
    'KG_AUTHN_SIGN_IN_UNAVAILABLE',
    /could not be reached for its discovery document \(ECONNREFUSED\)/u,
  );
});

test('a provider the page names that kubegate does not offer is refused; only GET is answered', async () => {
  for (const issuer of ['7', '-1', 'x', '01', '']) {
    assertFailure(
      await call('GET', `/kubegate/v1/session/oidc/start?issuer=${issuer}`),
      503,
      'KG_AUTHN_SIGN_IN_UNAVAILABLE',
      /does not offer/u,
    );
  }
  const post = await call('POST', '/kubegate/v1/session/oidc/start?issuer=0');
  assert.equal(post.status, 405);
  assert.equal((await call('GET', '/kubegate/v1/session/oidc/other')).status, 404);
});
