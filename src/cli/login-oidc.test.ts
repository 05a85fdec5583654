// kubegate login against a local fake OpenID provider (HTTPS with its own CA), for the protocol's
// shape and every way it can end: the browser flow sends PKCE S256, state and nonce and is checked
// on the way back; refresh rotates, a revoked refresh token is "sign in again"; an unknown client,
// a provider that refuses, a wrong nonce, an unreachable or untrusted provider each become one
// clear line. The device flow (RFC 8628) is covered here only: Hydra v2.3, the real provider of
// the e2e tests, offers none. The real provider is in test/e2e/oidc-login.test.ts.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { KubegateError } from '../errors.js';
import { createCertificateAuthority, issueCertificate } from '../pki/certificates.js';
import { connectIdp } from './login-oidc.js';
import type { IdpOptions, SignInUi } from './login-oidc.js';

const CLIENT = 'kubectl';

/** What the fake provider does next; each test sets what it needs. */
interface Behaviour {
  device: boolean;
  /** The authorization response: a code, or an error such as access_denied. */
  authorize: 'code' | { error: string };
  /** Put another nonce in the ID token than the one asked for. */
  wrongNonce: boolean;
  /** Device token polls: answered pending this many times, then with tokens or this error. */
  devicePending: number;
  deviceOutcome: 'tokens' | 'access_denied' | 'expired_token';
  /** Discovery names this issuer instead of its own. */
  issuerOverride: string | null;
}

interface Fake {
  issuer: string;
  caFile: string;
  behaviour: Behaviour;
  /** Authorization requests seen, by their parameters. */
  authorizations: URLSearchParams[];
  refreshTokens: Set<string>;
  server: Server;
}

let fake: Fake;
let dir: string;

async function startFake(): Promise<Fake> {
  dir = await mkdtemp(join(tmpdir(), 'kubegate-login-oidc-'));
  const ca = await createCertificateAuthority('kubegate login test CA');
  const cert = await issueCertificate(ca, {
    commonName: '127.0.0.1',
    ipAddresses: ['127.0.0.1'],
    usage: 'server',
  });
  const caFile = join(dir, 'ca.pem');
  await writeFile(caFile, ca.certPem);
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
  const codes = new Map<string, { challenge: string; nonce: string; redirectUri: string }>();
  const deviceCodes = new Map<string, number>();
  const self: Fake = {
    issuer: '',
    caFile,
    behaviour: defaults(),
    authorizations: [],
    refreshTokens: new Set(),
    server: createServer({ key: cert.keyPem, cert: cert.certPem }),
  };

  const tokens = async (nonce?: string) => {
    const refresh = `rt-${randomBytes(8).toString('hex')}`;
    self.refreshTokens.add(refresh);
    const now = Math.floor(Date.now() / 1000);
    const idToken = await new SignJWT({ email: 'ada@example.com', ...(nonce ? { nonce } : {}) })
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
      .setIssuer(self.issuer)
      .setSubject('ada')
      .setAudience(CLIENT)
      .setIssuedAt(now)
      .setExpirationTime(now + 600)
      .sign(privateKey);
    return {
      access_token: 'at',
      token_type: 'Bearer',
      expires_in: 600,
      id_token: idToken,
      refresh_token: refresh,
    };
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', self.issuer);
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify(body));
    };
    if (url.pathname === '/.well-known/openid-configuration') {
      json(200, {
        issuer: self.behaviour.issuerOverride ?? self.issuer,
        authorization_endpoint: `${self.issuer}/authorize`,
        token_endpoint: `${self.issuer}/token`,
        jwks_uri: `${self.issuer}/jwks`,
        ...(self.behaviour.device ? { device_authorization_endpoint: `${self.issuer}/device` } : {}),
        response_types_supported: ['code'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['ES256'],
        code_challenge_methods_supported: ['S256'],
      });
      return;
    }
    if (url.pathname === '/jwks') return json(200, { keys: [jwk] });
    if (req.method !== 'POST') return json(404, {});
    let body = '';
    for await (const chunk of req) body += String(chunk);
    const form = new URLSearchParams(body);
    if (form.get('client_id') !== CLIENT) {
      return json(401, { error: 'invalid_client', error_description: 'Client authentication failed.' });
    }
    if (url.pathname === '/device') {
      const code = `dc-${randomBytes(4).toString('hex')}`;
      deviceCodes.set(code, 0);
      return json(200, {
        device_code: code,
        user_code: 'WDJB-MJHT',
        verification_uri: `${self.issuer}/device-verify`,
        verification_uri_complete: `${self.issuer}/device-verify?user_code=WDJB-MJHT`,
        expires_in: 600,
        interval: 0.01,
      });
    }
    switch (form.get('grant_type')) {
      case 'authorization_code': {
        const code = codes.get(form.get('code') ?? '');
        codes.delete(form.get('code') ?? '');
        const verifier = form.get('code_verifier') ?? '';
        const s256 = createHash('sha256').update(verifier).digest('base64url');
        if (!code || code.challenge !== s256 || code.redirectUri !== form.get('redirect_uri')) {
          return json(400, {
            error: 'invalid_grant',
            error_description: 'code, PKCE verifier or redirect_uri',
          });
        }
        return json(200, await tokens(self.behaviour.wrongNonce ? 'another-nonce' : code.nonce));
      }
      case 'refresh_token': {
        const rt = form.get('refresh_token') ?? '';
        if (!self.refreshTokens.delete(rt))
          return json(400, { error: 'invalid_grant', error_description: 'revoked' });
        return json(200, await tokens());
      }
      case 'urn:ietf:params:oauth:grant-type:device_code': {
        const code = form.get('device_code') ?? '';
        const polls = deviceCodes.get(code);
        if (polls === undefined) return json(400, { error: 'invalid_grant' });
        deviceCodes.set(code, polls + 1);
        if (polls < self.behaviour.devicePending) return json(400, { error: 'authorization_pending' });
        if (self.behaviour.deviceOutcome !== 'tokens')
          return json(400, { error: self.behaviour.deviceOutcome });
        return json(200, await tokens());
      }
      default:
        return json(400, { error: 'unsupported_grant_type' });
    }
  };
  self.server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch((err: unknown) => {
      res.writeHead(500);
      res.end(String(err));
    });
  });
  self.server.listen({ host: '127.0.0.1', port: 0 });
  await once(self.server, 'listening');
  self.issuer = `https://127.0.0.1:${(self.server.address() as { port: number }).port}`;
  // The provider's side of the browser step: the person signs in and the browser is sent back.
  approve = (authorizeUrl: string): string => {
    const params = new URL(authorizeUrl).searchParams;
    self.authorizations.push(params);
    const back = new URL(params.get('redirect_uri') ?? '');
    const outcome = self.behaviour.authorize;
    if (outcome === 'code') {
      const code = `code-${randomBytes(6).toString('hex')}`;
      codes.set(code, {
        challenge: params.get('code_challenge') ?? '',
        nonce: params.get('nonce') ?? '',
        redirectUri: back.href,
      });
      back.searchParams.set('code', code);
    } else back.searchParams.set('error', outcome.error);
    back.searchParams.set('state', params.get('state') ?? '');
    return back.href;
  };
  return self;
}

let approve: (authorizeUrl: string) => string;

function defaults(): Behaviour {
  return {
    device: true,
    authorize: 'code',
    wrongNonce: false,
    devicePending: 1,
    deviceOutcome: 'tokens',
    issuerOverride: null,
  };
}

before(async () => {
  fake = await startFake();
});
after(async () => {
  fake.server.closeAllConnections();
  fake.server.close();
  await rm(dir, { recursive: true, force: true });
});

function options(over: Partial<IdpOptions> = {}): IdpOptions {
  return {
    issuer: fake.issuer,
    clientId: CLIENT,
    scopes: ['openid', 'offline_access', 'email'],
    caFile: fake.caFile,
    ...over,
  };
}

/** A UI that records what kubegate printed and plays the person in the browser. */
function browserUser(): SignInUi & { lines: string[]; pages: Promise<Response>[] } {
  const lines: string[] = [];
  const pages: Promise<Response>[] = [];
  return {
    lines,
    pages,
    announce(url, userCode) {
      lines.push(userCode === undefined ? url : `${url} ${userCode}`);
      if (!url.includes('/authorize')) return;
      pages.push(fetch(approve(url)));
    },
  };
}

async function withIdp<T>(
  over: Partial<Behaviour>,
  run: (idp: Awaited<ReturnType<typeof connectIdp>>) => Promise<T>,
  opts?: Partial<IdpOptions>,
): Promise<T> {
  fake.behaviour = { ...defaults(), ...over };
  const idp = await connectIdp(options(opts));
  try {
    return await run(idp);
  } finally {
    await idp.close();
  }
}

test('the browser sign-in sends PKCE S256, state and nonce to a loopback redirect and returns the ID token', async () => {
  const ui = browserUser();
  const tokens = await withIdp({}, (idp) => idp.signInWithBrowser(ui, 0, AbortSignal.timeout(10_000)));
  const params = fake.authorizations.at(-1)!;
  assert.equal(params.get('client_id'), CLIENT);
  assert.equal(params.get('response_type'), 'code');
  assert.equal(params.get('code_challenge_method'), 'S256');
  assert.match(params.get('code_challenge') ?? '', /^[\w-]{43}$/u);
  assert.ok((params.get('state') ?? '').length >= 22, 'a random state');
  assert.ok((params.get('nonce') ?? '').length >= 22, 'a random nonce');
  assert.equal(params.get('scope'), 'openid offline_access email');
  assert.match(params.get('redirect_uri') ?? '', /^http:\/\/127\.0\.0\.1:\d+\/callback$/u);
  assert.match(tokens.idToken, /^eyJ/u);
  assert.equal(tokens.idTokenExpiresAt - tokens.idTokenIssuedAt, 600_000);
  assert.match(tokens.refreshToken ?? '', /^rt-/u);
  const page = await ui.pages[0]!;
  assert.equal(page.status, 200);
  assert.match(await page.text(), /kubegate has your sign-in/u);
});

test('a fixed --listen-port is the redirect URI’s port', async () => {
  const ui = browserUser();
  const probe = (await import('node:net')).createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const port = (probe.address() as { port: number }).port;
  probe.close();
  await once(probe, 'close');
  await withIdp({}, (idp) => idp.signInWithBrowser(ui, port, AbortSignal.timeout(10_000)));
  assert.equal(fake.authorizations.at(-1)!.get('redirect_uri'), `http://127.0.0.1:${port}/callback`);
});

test('an ID token whose nonce is not the one sent is refused, and the browser is told', async () => {
  const ui = browserUser();
  await assert.rejects(
    withIdp({ wrongNonce: true }, (idp) => idp.signInWithBrowser(ui, 0, AbortSignal.timeout(10_000))),
    {
      code: 'KG_LOGIN_FAILED',
      message:
        "the identity provider's answer failed kubegate's checks (the ID token's \"nonce\" claim is not what kubegate expected, OAUTH_JWT_CLAIM_COMPARISON_FAILED): run kubectl again to sign in",
    },
  );
  const page = await ui.pages[0]!;
  assert.equal(page.status, 400);
});

test('the person cancelling at the provider (access_denied) is one clear line', async () => {
  const ui = browserUser();
  await assert.rejects(
    withIdp({ authorize: { error: 'access_denied' } }, (idp) =>
      idp.signInWithBrowser(ui, 0, AbortSignal.timeout(10_000)),
    ),
    {
      code: 'KG_LOGIN_CANCELLED',
      message: 'the identity provider did not sign you in (access_denied): run kubectl again to sign in',
    },
  );
  assert.equal((await ui.pages[0]!).status, 400);
});

test('nobody coming back from the browser ends with the sign-in timeout', async () => {
  const ui: SignInUi = { announce: () => undefined };
  await assert.rejects(
    withIdp({}, (idp) => idp.signInWithBrowser(ui, 0, AbortSignal.timeout(50))),
    {
      code: 'KG_LOGIN_TIMEOUT',
      message: 'nobody completed the sign-in in time: run kubectl again and finish signing in in the browser',
    },
  );
});

test('a refresh rotates the refresh token; a revoked one means "sign in again" (null)', async () => {
  await withIdp({}, async (idp) => {
    const ui = browserUser();
    const first = await idp.signInWithBrowser(ui, 0, AbortSignal.timeout(10_000));
    const second = await idp.refresh(first.refreshToken!);
    assert.ok(second !== null);
    assert.notEqual(second.refreshToken, first.refreshToken);
    assert.notEqual(second.idToken, first.idToken);
    fake.refreshTokens.clear(); // the provider revokes the user's sign-ins
    assert.equal(await idp.refresh(second.refreshToken!), null);
  });
});

test('the client check passes for a known client and names an unknown one in one clear line', async () => {
  await withIdp({}, (idp) => idp.checkClient());
  await assert.rejects(
    withIdp({}, (idp) => idp.checkClient(), { clientId: 'no-such-client' }),
    {
      code: 'KG_LOGIN_UNKNOWN_CLIENT',
      message:
        'the identity provider does not know client ID: no-such-client (invalid_client: Client authentication failed.): check the --client-id flag; kubegate login needs a public client',
    },
  );
});

test('the device flow prints the verification URL and code, polls while pending, and returns the ID token', async () => {
  const ui = browserUser();
  const tokens = await withIdp({ devicePending: 2 }, (idp) =>
    idp.signInWithDevice(ui, AbortSignal.timeout(10_000)),
  );
  assert.deepEqual(ui.lines, [`${fake.issuer}/device-verify?user_code=WDJB-MJHT WDJB-MJHT`]);
  assert.match(tokens.idToken, /^eyJ/u);
  assert.match(tokens.refreshToken ?? '', /^rt-/u);
});

test('a device sign-in refused at the provider, or whose code expired, is one clear line', async () => {
  await assert.rejects(
    withIdp({ deviceOutcome: 'access_denied' }, (idp) =>
      idp.signInWithDevice(browserUser(), AbortSignal.timeout(10_000)),
    ),
    { code: 'KG_LOGIN_CANCELLED' },
  );
  await assert.rejects(
    withIdp({ deviceOutcome: 'expired_token' }, (idp) =>
      idp.signInWithDevice(browserUser(), AbortSignal.timeout(10_000)),
    ),
    { code: 'KG_LOGIN_TIMEOUT', message: /^the device code expired before the sign-in was completed/u },
  );
});

test('--device with a provider that offers no device flow says so', async () => {
  await assert.rejects(
    withIdp({ device: false }, (idp) => idp.signInWithDevice(browserUser(), AbortSignal.timeout(10_000))),
    {
      code: 'KG_LOGIN_FAILED',
      message: `the identity provider at ${fake.issuer} offers no device sign-in (its discovery has no device_authorization_endpoint): sign in without --device`,
    },
  );
});

test('a provider nobody answers at is one clear line naming the issuer and what to check', async () => {
  const closed = (await import('node:net')).createServer().listen(0, '127.0.0.1');
  await once(closed, 'listening');
  const issuer = `https://127.0.0.1:${(closed.address() as { port: number }).port}`;
  closed.close();
  await once(closed, 'close');
  await assert.rejects(connectIdp(options({ issuer })), {
    code: 'KG_LOGIN_IDP_UNREACHABLE',
    message: `cannot reach the identity provider at ${issuer} (ECONNREFUSED): check the network or the --issuer flag`,
  });
});

test('a provider whose certificate is not trusted (no --ca-file) names the CA file', async () => {
  await assert.rejects(connectIdp(options({ caFile: undefined })), (err: unknown) => {
    assert.ok(err instanceof KubegateError);
    assert.equal(err.code, 'KG_LOGIN_IDP_UNREACHABLE');
    assert.match(err.message, /\(its TLS certificate is not trusted: [A-Z_]+\): check the --ca-file flag$/u);
    return true;
  });
});

test('a discovery document naming another issuer is refused (the --issuer must match exactly)', async () => {
  fake.behaviour = { ...defaults(), issuerOverride: 'https://elsewhere.example.com' };
  await assert.rejects(connectIdp(options()), { code: 'KG_LOGIN_FAILED', message: /names another issuer/u });
});

test('an http:// issuer is refused before anything is sent, except on loopback', async () => {
  await assert.rejects(connectIdp(options({ issuer: 'http://idp.example.com' })), {
    code: 'KG_CONFIG_INVALID',
  });
  // Loopback http is allowed (a provider on this machine): it is asked, and here nobody answers.
  await assert.rejects(connectIdp(options({ issuer: 'http://127.0.0.1:1' })), {
    code: 'KG_LOGIN_IDP_UNREACHABLE',
  });
});
