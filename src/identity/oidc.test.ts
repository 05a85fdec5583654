// The OIDC authenticator against a provider served by the test (discovery and JWKS over loopback
// http, or https with its own CA), with tokens minted by jose: every bad input is refused with
// its own code and a message a kubectl user can act on, the provider is asked as rarely as the
// header of oidc-issuer.ts says, and a cached token costs no verification but never outlives its
// exp or its key.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { mock, test, type TestContext } from 'node:test';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import { freePort } from '../demo/ports.js';
import { KubegateError, toStatus, type ErrorCode } from '../errors.js';
import { createCertificateAuthority, issueCertificate } from '../pki/certificates.js';
import { REQUEST_ID_EXTRA_HEADER, upstreamHeaders } from '../upstream/headers.js';
import type { Authentication } from './authenticator.js';
import { gatewayIdentify } from './authenticators.js';
import { createOidc, type OidcDeps, type OidcIssuerConfig } from './oidc.js';
import { DEFAULT_RETRY_MS, KEYS_REFRESH_MS, OidcIssuer } from './oidc-issuer.js';
import { tokenDigest } from './tokens.js';

// ---- a provider served by the test ----------------------------------------------------------

interface Provider {
  readonly issuer: string;
  /** The keys it publishes now. */
  keys: JWK[];
  /** What its discovery document says the issuer is (default: the issuer). */
  discoveryIssuer: string | null;
  /** Its answer's status (503: up but failing). */
  status: number;
  readonly hits: { discovery: number; jwks: number };
  close(): Promise<void>;
}

async function startProvider(
  options: { port?: number; tls?: { certPem: string; keyPem: string } } = {},
): Promise<Provider> {
  const state = { keys: [] as JWK[], discoveryIssuer: null as string | null, status: 200 };
  const hits = { discovery: 0, jwks: 0 };
  let issuer = '';
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    if (req.url === '/.well-known/openid-configuration') hits.discovery++;
    else if (req.url === '/keys') hits.jwks++;
    if (state.status !== 200) {
      res.writeHead(state.status).end('down');
      return;
    }
    const body =
      req.url === '/.well-known/openid-configuration'
        ? { issuer: state.discoveryIssuer ?? issuer, jwks_uri: `${issuer}/keys` }
        : req.url === '/keys'
          ? { keys: state.keys }
          : null;
    if (body === null) res.writeHead(404).end();
    else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };
  const server: Server =
    options.tls === undefined
      ? createHttpServer(handler)
      : createHttpsServer({ cert: options.tls.certPem, key: options.tls.keyPem }, handler);
  server.listen(options.port ?? 0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  issuer = `${options.tls === undefined ? 'http' : 'https'}://127.0.0.1:${port}`;
  return {
    issuer,
    get keys() {
      return state.keys;
    },
    set keys(keys) {
      state.keys = keys;
    },
    get discoveryIssuer() {
      return state.discoveryIssuer;
    },
    set discoveryIssuer(value) {
      state.discoveryIssuer = value;
    },
    get status() {
      return state.status;
    },
    set status(value) {
      state.status = value;
    },
    hits,
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

interface SigningKey {
  readonly kid: string;
  readonly alg: string;
  readonly privateKey: CryptoKey;
  readonly jwk: JWK;
}

async function signingKey(kid: string, alg = 'RS256'): Promise<SigningKey> {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
  return { kid, alg, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

/** A clock the test moves; tokens are minted relative to it. */
function clock(): { now: () => number; advance(ms: number): void; s(): number } {
  let t = Math.floor(Date.now() / 1000) * 1000;
  return {
    now: () => t,
    advance: (ms) => (t += ms),
    s: () => t / 1000,
  };
}

function mint(key: SigningKey, claims: JWTPayload, header: Record<string, unknown> = {}): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: key.alg, kid: key.kid, ...header })
    .sign(key.privateKey);
}

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

interface LogLine {
  readonly level: 'info' | 'warn';
  readonly fields: Record<string, unknown>;
  readonly msg: string;
}

function logSpy(): { log: OidcDeps['log']; lines: LogLine[]; next(msg: string): Promise<LogLine> } {
  const lines: LogLine[] = [];
  const waiting: { msg: string; resolve: (l: LogLine) => void }[] = [];
  const write = (level: LogLine['level']) => (fields: Record<string, unknown>, msg: string) => {
    const line = { level, fields, msg };
    lines.push(line);
    for (const w of waiting.splice(0)) {
      if (w.msg === msg) w.resolve(line);
      else waiting.push(w);
    }
  };
  const log = { info: write('info'), warn: write('warn') } as unknown as OidcDeps['log'];
  return {
    log,
    lines,
    next: (msg) => new Promise((resolve) => waiting.push({ msg, resolve })),
  };
}

interface Setup {
  readonly idp: Provider;
  readonly key: SigningKey;
  readonly time: ReturnType<typeof clock>;
  readonly logs: ReturnType<typeof logSpy>;
  authenticate(token: string): Promise<Authentication | null>;
  /** A token from this provider for alice, claims overridable. */
  token(claims?: JWTPayload, key?: SigningKey, header?: Record<string, unknown>): Promise<string>;
  config: OidcIssuerConfig;
}

async function setup(
  t: TestContext,
  options: {
    config?: Partial<OidcIssuerConfig>;
    deps?: Partial<OidcDeps>;
    time?: ReturnType<typeof clock>;
  } = {},
): Promise<Setup> {
  const idp = await startProvider();
  t.after(() => idp.close());
  const key = await signingKey('k1');
  idp.keys = [key.jwk];
  const time = options.time ?? clock();
  const logs = logSpy();
  const config: OidcIssuerConfig = {
    issuerUrl: idp.issuer,
    audiences: ['kubegate'],
    usernameClaim: 'email',
    usernamePrefix: '',
    groupsClaim: 'groups',
    groupsPrefix: 'oidc:',
    requiredClaims: {},
    ...options.config,
  };
  const oidc = createOidc([config], { log: logs.log, now: time.now, ...options.deps });
  t.after(() => oidc.close());
  return {
    idp,
    key,
    time,
    logs,
    config,
    authenticate: (token) =>
      oidc.authenticator.authenticate({
        credentials: { certificate: null, authorization: `Bearer ${token}` },
        bearerToken: token,
      }),
    token: (claims = {}, signer = key, header = {}) =>
      mint(
        signer,
        {
          iss: idp.issuer,
          aud: 'kubegate',
          sub: 'u-alice',
          email: 'alice@example.com',
          email_verified: true,
          groups: ['sre', 'dev'],
          iat: time.s(),
          exp: time.s() + 600,
          ...claims,
        },
        header,
      ),
  };
}

async function refusal(promise: Promise<unknown>): Promise<KubegateError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof KubegateError, `not a KubegateError: ${String(err)}`);
    assert.equal(err.status, 401, 'every refusal is a 401, as the API server answers');
    return err;
  }
  assert.fail('the token was accepted');
}

async function refused(promise: Promise<unknown>, code: ErrorCode, message: RegExp): Promise<void> {
  const err = await refusal(promise);
  assert.equal(err.code, code, err.message);
  assert.match(err.message, message);
  assert.match(err.message, /^kubegate (could not authenticate you|cannot check your ID token): /u);
}

// ---- accepted tokens ---------------------------------------------------------------------------

test('a valid ID token names the caller, with prefixed groups, the issuer and the subject', async (t) => {
  const s = await setup(t);
  const auth = await s.authenticate(await s.token());
  assert.deepEqual(auth?.identity, {
    user: 'alice@example.com',
    groups: ['oidc:sre', 'oidc:dev'],
    method: 'oidc',
    oidc: { issuer: s.idp.issuer, subject: 'u-alice' },
  });
  assert.equal(auth?.stillValid(), true);
  assert.deepEqual(s.idp.hits, { discovery: 1, jwks: 1 });
});

test('every asymmetric algorithm family verifies (RS, PS, ES, EdDSA)', async (t) => {
  const s = await setup(t);
  const keys = await Promise.all(
    (['RS384', 'PS256', 'ES256', 'ES384', 'EdDSA'] as const).map((alg, i) => signingKey(`a${i}`, alg)),
  );
  s.idp.keys = [s.key.jwk, ...keys.map((k) => k.jwk)];
  for (const key of keys) {
    const auth = await s.authenticate(await s.token({ sub: key.alg }, key));
    assert.equal(auth?.identity.oidc?.subject, key.alg);
  }
});

test('a token within the clock skew of its exp is accepted (30 s), but not cached', async (t) => {
  const s = await setup(t);
  const verify = mock.method(OidcIssuer.prototype, 'verify');
  t.after(() => verify.mock.restore());
  const token = await s.token({ exp: s.time.s() - 10 });
  assert.ok(await s.authenticate(token));
  assert.ok(await s.authenticate(token));
  assert.equal(verify.mock.callCount(), 2);
});

// ---- refused tokens ----------------------------------------------------------------------------

test('a token signed by another key under the same kid is refused: bad signature', async (t) => {
  const s = await setup(t);
  const forger = await signingKey('k1');
  await refused(
    s.authenticate(await s.token({}, forger)),
    'KG_AUTHN_OIDC_INVALID',
    /does not carry a valid signature/u,
  );
});

test('a token whose payload was altered after signing is refused', async (t) => {
  const s = await setup(t);
  const [header, , signature] = (await s.token()).split('.');
  const altered = `${header}.${b64({ iss: s.idp.issuer, aud: 'kubegate', sub: 'u-root', email: 'root@example.com', email_verified: true, exp: s.time.s() + 600 })}.${signature}`;
  await refused(s.authenticate(altered), 'KG_AUTHN_OIDC_INVALID', /does not carry a valid signature/u);
});

test('alg none is refused before any key is fetched', async (t) => {
  const s = await setup(t);
  const unsigned = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ iss: s.idp.issuer, aud: 'kubegate', sub: 'u', email: 'a@example.com', email_verified: true, exp: s.time.s() + 600 })}.`;
  await refused(
    s.authenticate(unsigned),
    'KG_AUTHN_OIDC_INVALID',
    /signed with none, which kubegate does not accept/u,
  );
  assert.deepEqual(s.idp.hits, { discovery: 0, jwks: 0 });
});

test("HS256 'signed' with the issuer's public key is refused", async (t) => {
  const s = await setup(t);
  // The classic confusion: a library that takes the key's bytes as an HMAC secret verifies this.
  const secret = new TextEncoder().encode(JSON.stringify(s.key.jwk));
  const forged = await new SignJWT({
    iss: s.idp.issuer,
    aud: 'kubegate',
    sub: 'u',
    email: 'a@example.com',
    email_verified: true,
    exp: s.time.s() + 600,
  })
    .setProtectedHeader({ alg: 'HS256', kid: 'k1' })
    .sign(secret);
  await refused(
    s.authenticate(forged),
    'KG_AUTHN_OIDC_INVALID',
    /signed with HS256, which kubegate does not accept/u,
  );
  assert.deepEqual(s.idp.hits, { discovery: 0, jwks: 0 });
});

test('a token from an issuer kubegate does not trust is refused, naming it, without any fetch', async (t) => {
  const s = await setup(t);
  const other = await signingKey('k1');
  await refused(
    s.authenticate(await s.token({ iss: 'https://evil.example' }, other)),
    'KG_AUTHN_OIDC_INVALID',
    /issued by "https:\/\/evil\.example", which kubegate does not trust/u,
  );
  assert.deepEqual(s.idp.hits, { discovery: 0, jwks: 0 });
});

test('a token for another client (wrong audience) is refused', async (t) => {
  const s = await setup(t);
  await refused(
    s.authenticate(await s.token({ aud: 'grafana' })),
    'KG_AUTHN_OIDC_INVALID',
    /was issued for another application/u,
  );
});

test('several configured audiences: a token for any of them is accepted', async (t) => {
  const s = await setup(t, { config: { audiences: ['kubegate', 'kubegate-ui'] } });
  assert.ok(await s.authenticate(await s.token({ aud: ['other', 'kubegate-ui'] })));
});

test('an expired token is refused with its own code and what to do', async (t) => {
  const s = await setup(t);
  await refused(
    s.authenticate(await s.token({ exp: s.time.s() - 31 })),
    'KG_AUTHN_OIDC_EXPIRED',
    /your sign-in with http:\/\/127\.0\.0\.1:\d+ expired at \d{4}-.*Run the command again to sign in anew/u,
  );
});

test('a token whose nbf is beyond the clock skew is not valid yet', async (t) => {
  const s = await setup(t);
  await refused(
    s.authenticate(await s.token({ nbf: s.time.s() + 60 })),
    'KG_AUTHN_OIDC_INVALID',
    /not valid yet \(its nbf/u,
  );
  assert.ok(await s.authenticate(await s.token({ nbf: s.time.s() + 20 })), 'within the skew');
});

test('a token issued in the future (iat) is not valid yet', async (t) => {
  const s = await setup(t);
  await refused(
    s.authenticate(await s.token({ iat: s.time.s() + 60 })),
    'KG_AUTHN_OIDC_INVALID',
    /not valid yet \(its iat/u,
  );
});

test('a token without exp is refused', async (t) => {
  const s = await setup(t);
  await refused(
    s.authenticate(await s.token({ exp: undefined })),
    'KG_AUTHN_OIDC_INVALID',
    /missing or malformed "exp" claim/u,
  );
});

test('a missing required claim, email_verified false and a missing username claim are refused', async (t) => {
  const s = await setup(t, { config: { requiredClaims: { hd: 'example.com' } } });
  await refused(s.authenticate(await s.token()), 'KG_AUTHN_OIDC_INVALID', /"hd" claim/u);
  await refused(
    s.authenticate(await s.token({ hd: 'example.com', email_verified: false })),
    'KG_AUTHN_OIDC_INVALID',
    /email_verified is not true/u,
  );
  await refused(
    s.authenticate(await s.token({ hd: 'example.com', email: undefined })),
    'KG_AUTHN_OIDC_INVALID',
    /has no "email" claim/u,
  );
  await refused(
    s.authenticate(await s.token({ hd: 'example.com', groups: 7 })),
    'KG_AUTHN_OIDC_INVALID',
    /"groups" claim that is not a list/u,
  );
  assert.ok(await s.authenticate(await s.token({ hd: 'example.com' })));
});

test('a token that is not a JWT is not an OIDC token, and never reaches the provider', async (t) => {
  const s = await setup(t);
  assert.equal(await s.authenticate('kg_7Qm2v9xJrL0aTqP4nS8wE1yU6iO3bH5cK2dF7gZ9jX0'), null);
  assert.equal(await s.authenticate('not.a.jwt!'), null);
  assert.deepEqual(s.idp.hits, { discovery: 0, jwks: 0 });
});

// ---- keys: rotation, removal, floods ---------------------------------------------------------

test('a token signed with a new key is accepted after one refetch; a flood of unknown kids fetches at most once more', async (t) => {
  t.mock.timers.enable({ apis: ['Date'], now: Math.floor(Date.now() / 1000) * 1000 });
  const time = {
    now: () => Date.now(),
    advance: (ms: number) => t.mock.timers.tick(ms),
    s: () => Date.now() / 1000,
  };
  const s = await setup(t, { time });
  assert.ok(await s.authenticate(await s.token()));
  assert.equal(s.idp.hits.jwks, 1);
  // The provider rotates: k2 is published; a token under it arrives after jose's cooldown.
  const k2 = await signingKey('k2');
  s.idp.keys = [s.key.jwk, k2.jwk];
  time.advance(31_000);
  const auth = await s.authenticate(await s.token({ sub: 'u-rotated' }, k2));
  assert.equal(auth?.identity.oidc?.subject, 'u-rotated');
  assert.equal(s.idp.hits.jwks, 2, 'one refetch for the unknown kid');
  // 50 made-up kids, sequential and concurrent, after the cooldown: one more fetch at most.
  time.advance(31_000);
  const liar = await signingKey('x');
  const tokens = await Promise.all(
    Array.from({ length: 50 }, (_, i) => s.token({}, { ...liar, kid: `made-up-${i}` })),
  );
  for (const token of tokens.slice(0, 25)) {
    await refused(
      s.authenticate(token),
      'KG_AUTHN_OIDC_INVALID',
      /signed with a key the provider does not publish/u,
    );
  }
  await Promise.all(
    tokens
      .slice(25)
      .map((token) =>
        refused(
          s.authenticate(token),
          'KG_AUTHN_OIDC_INVALID',
          /signed with a key the provider does not publish/u,
        ),
      ),
  );
  assert.equal(s.idp.hits.jwks, 3);
  assert.equal(s.idp.hits.discovery, 1);
});

test('a key the provider stops publishing stops verifying, and takes its cached tokens with it', async (t) => {
  const s = await setup(t);
  const token = await s.token({ exp: s.time.s() + 3600 }); // outlives the refresh interval
  const first = await s.authenticate(token);
  assert.equal(first?.stillValid(), true);
  // The provider replaces k1 by k2; kubegate notices at its next refresh.
  const k2 = await signingKey('k2');
  s.idp.keys = [k2.jwk];
  s.time.advance(KEYS_REFRESH_MS);
  const fetched = s.logs.next('OIDC signing keys fetched');
  assert.ok(await s.authenticate(token), 'served from the cache while the refresh runs');
  assert.deepEqual((await fetched).fields, { issuer: s.idp.issuer, keys: 1, removed: 1 });
  assert.equal(first?.stillValid(), false, 'a long request authenticated by it ends');
  await refused(
    s.authenticate(token),
    'KG_AUTHN_OIDC_INVALID',
    /signed with a key the provider does not publish/u,
  );
  assert.ok(await s.authenticate(await s.token({}, k2)));
});

// ---- the provider down, wrong, or behind its own CA -----------------------------------------

test('a provider down at start: kubegate starts, refuses with a clear reason, does not hammer it, and accepts once it is back', async (t) => {
  const port = await freePort();
  const time = clock();
  const logs = logSpy();
  const issuerUrl = `http://127.0.0.1:${port}`;
  const oidc = createOidc(
    [
      {
        issuerUrl,
        audiences: ['kubegate'],
        usernameClaim: 'sub',
        usernamePrefix: 'oidc:',
        groupsPrefix: '',
        requiredClaims: {},
      },
    ],
    { log: logs.log, now: time.now },
  );
  t.after(() => oidc.close());
  const failed = logs.next('OIDC identity provider unreachable; its tokens are refused until it answers');
  oidc.start();
  assert.match(String((await failed).fields.reason), /ECONNREFUSED/u);
  const key = await signingKey('k1');
  const token = await mint(key, { iss: issuerUrl, aud: 'kubegate', sub: 'u-1', exp: time.s() + 600 });
  const authenticate = () =>
    oidc.authenticator.authenticate({
      credentials: { certificate: null, authorization: `Bearer ${token}` },
      bearerToken: token,
    });
  await refused(
    authenticate(),
    'KG_AUTHN_OIDC_UNAVAILABLE',
    /identity provider http:\/\/127\.0\.0\.1:\d+ is not usable now: it cannot be reached for its discovery document \(ECONNREFUSED\)\. Retry in a minute/u,
  );
  // It comes back; within the retry interval kubegate does not ask it (nor does a flood of tokens).
  const idp = await startProvider({ port });
  t.after(() => idp.close());
  idp.keys = [key.jwk];
  await Promise.all(
    Array.from({ length: 20 }, () => refused(authenticate(), 'KG_AUTHN_OIDC_UNAVAILABLE', /ECONNREFUSED/u)),
  );
  assert.deepEqual(idp.hits, { discovery: 0, jwks: 0 });
  assert.equal(
    logs.lines.filter((l) => l.level === 'warn').length,
    1,
    'one warning per failed attempt, not per token',
  );
  time.advance(DEFAULT_RETRY_MS);
  assert.equal((await authenticate())?.identity.user, 'oidc:u-1');
  assert.deepEqual(idp.hits, { discovery: 1, jwks: 1 });
});

test('a provider answering errors is retried only after the interval, and its keys stay usable meanwhile', async (t) => {
  const s = await setup(t);
  assert.ok(await s.authenticate(await s.token()));
  s.idp.status = 503;
  s.time.advance(KEYS_REFRESH_MS);
  const failed = s.logs.next('OIDC identity provider unreachable; its tokens are refused until it answers');
  assert.ok(
    await s.authenticate(await s.token({ sub: 'u-2' })),
    'the refresh runs behind; the known key still verifies',
  );
  assert.match(String((await failed).fields.reason), /answered HTTP 503/u);
  const jwksHits = s.idp.hits.jwks;
  for (let i = 0; i < 10; i++) assert.ok(await s.authenticate(await s.token({ sub: `u-${i + 3}` })));
  assert.equal(s.idp.hits.jwks, jwksHits, 'no refetch within the retry interval');
});

test("a discovery document naming another issuer is refused (the provider's issuer must match exactly)", async (t) => {
  const s = await setup(t);
  s.idp.discoveryIssuer = `${s.idp.issuer}/`;
  await refused(
    s.authenticate(await s.token()),
    'KG_AUTHN_OIDC_UNAVAILABLE',
    /its discovery document names the issuer "http:\/\/127\.0\.0\.1:\d+\/", not "http:\/\/127\.0\.0\.1:\d+"/u,
  );
  assert.equal(s.idp.hits.jwks, 0, 'no keys are taken from a provider that is not the issuer');
});

test('an https provider is reached with the configured CA, and refused without it', async (t) => {
  const ca = await createCertificateAuthority('test idp ca');
  const tls = await issueCertificate(ca, { commonName: 'idp', ipAddresses: ['127.0.0.1'], usage: 'server' });
  const idp = await startProvider({ tls });
  t.after(() => idp.close());
  const key = await signingKey('k1');
  idp.keys = [key.jwk];
  const time = clock();
  const token = await mint(key, { iss: idp.issuer, aud: 'kubegate', sub: 'u-1', exp: time.s() + 600 });
  const base = {
    issuerUrl: idp.issuer,
    audiences: ['kubegate'],
    usernameClaim: 'sub',
    usernamePrefix: '',
    groupsPrefix: '',
    requiredClaims: {},
  };
  for (const [caPem, ok] of [
    [ca.certPem, true],
    [undefined, false],
  ] as const) {
    const oidc = createOidc([{ ...base, caPem }], { log: logSpy().log, now: time.now });
    t.after(() => oidc.close());
    const result = oidc.authenticator.authenticate({
      credentials: { certificate: null, authorization: undefined },
      bearerToken: token,
    });
    if (ok) assert.equal((await result)?.identity.user, 'u-1');
    else await refused(result, 'KG_AUTHN_OIDC_UNAVAILABLE', /cannot be reached for its discovery document/u);
  }
});

// ---- the cache ---------------------------------------------------------------------------------

test('a cached token is not verified again, and is never served past its exp', async (t) => {
  const s = await setup(t);
  const verify = mock.method(OidcIssuer.prototype, 'verify');
  t.after(() => verify.mock.restore());
  const token = await s.token({ exp: s.time.s() + 120 });
  const first = await s.authenticate(token);
  for (let i = 0; i < 5; i++) assert.deepEqual((await s.authenticate(token))?.identity, first?.identity);
  assert.equal(verify.mock.callCount(), 1);
  s.time.advance(120_000); // exp reached: the cache lets go, verification (with its skew) decides
  assert.equal(first?.stillValid(), false);
  assert.ok(await s.authenticate(token));
  assert.equal(verify.mock.callCount(), 2);
  s.time.advance(30_000);
  await refused(s.authenticate(token), 'KG_AUTHN_OIDC_EXPIRED', /expired/u);
});

test('the cache is bounded: the least recently used token is verified again', async (t) => {
  const s = await setup(t, { deps: { cacheSize: 2 } });
  const verify = mock.method(OidcIssuer.prototype, 'verify');
  t.after(() => verify.mock.restore());
  const [a, b, c] = await Promise.all(['a', 'b', 'c'].map((sub) => s.token({ sub })));
  for (const token of [a!, b!, c!, b!, c!]) await s.authenticate(token);
  assert.equal(verify.mock.callCount(), 3);
  await s.authenticate(a!);
  assert.equal(verify.mock.callCount(), 4);
});

// ---- in the gateway's identify stage, and upstream ------------------------------------------

test("in the gateway's list: kubegate tokens still work, an OIDC refusal is a Status kubectl prints", async (t) => {
  const s = await setup(t);
  const oidc = createOidc([s.config], { log: s.logs.log, now: s.time.now });
  t.after(() => oidc.close());
  const kg = 'kg_7Qm2v9xJrL0aTqP4nS8wE1yU6iO3bH5cK2dF7gZ9jX0';
  const identify = gatewayIdentify(
    { lookupDigest: (d) => (d === tokenDigest(kg) ? { user: 'bob', groups: [], method: 'token' } : null) },
    oidc.authenticator,
  );
  const bearer = (token: string) => identify({ certificate: null, authorization: `Bearer ${token}` });
  assert.equal((await bearer(kg)).identity.user, 'bob');
  assert.equal((await bearer(await s.token())).identity.user, 'alice@example.com');
  await refused(bearer('kg_unknown'), 'KG_AUTHN_TOKEN_INVALID', /not one kubegate issued/u);
  const err = await refusal(bearer(await s.token({ aud: 'grafana' })));
  assert.deepEqual(toStatus(err), {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: err.message,
    reason: 'Unauthorized',
    code: 401,
  });
  assert.deepEqual(s.idp.hits, { discovery: 1, jwks: 1 }, "kubegate's tokens never reached the provider");
});

test('upstream, the ID token is gone: the API server sees the impersonated user and prefixed groups', async (t) => {
  const s = await setup(t);
  const token = await s.token();
  const auth = await s.authenticate(token);
  const headers = upstreamHeaders(
    ['Authorization', `Bearer ${token}`, 'Accept', 'application/json'],
    auth!.identity,
    'req-1',
    'Bearer upstream-sa-token',
  );
  assert.ok(
    !headers.some((h) => h.includes(token) || h.includes(token.split('.')[2]!)),
    'no part of the ID token',
  );
  assert.deepEqual(headers, [
    'accept',
    'application/json',
    'impersonate-user',
    'alice@example.com',
    'impersonate-group',
    'oidc:sre',
    'impersonate-group',
    'oidc:dev',
    REQUEST_ID_EXTRA_HEADER,
    'req-1',
    'authorization',
    'Bearer upstream-sa-token',
  ]);
});

test('verify (for the web sign-in) accepts an ID token as the authenticator does, and refuses anything else', async (t) => {
  const s = await setup(t);
  const oidc = createOidc([s.config], { log: s.logs.log, now: s.time.now });
  const auth = await oidc.verify(await s.token());
  assert.equal(auth.identity.user, 'alice@example.com');
  await refused(oidc.verify('kg_not-a-jwt'), 'KG_AUTHN_OIDC_INVALID', /not an ID token/u);
  await refused(
    oidc.verify(await s.token({ aud: 'grafana' })),
    'KG_AUTHN_OIDC_INVALID',
    /another application/u,
  );
});
