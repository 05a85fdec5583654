// The OpenID provider fixture against the real Ory Hydra (test/fixtures/idp.ts): discovery over
// TLS with the fixture's CA, the authorization code flow with PKCE for a public client (and with a
// secret for a confidential one), ID tokens whose signature checks against Hydra's JWKS and whose
// claims carry the user's email and groups, refresh, revocation, key rotation, a refused password,
// and the login form filled by chromium. The other sign-in tests build on these facts.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  createLocalJWKSet,
  decodeProtectedHeader,
  jwtVerify,
  type JSONWebKeySet,
  type JWTPayload,
} from 'jose';
import { Agent, request } from 'undici';
import { startIdp, type Idp, type IdpClient, type IdpUser } from '../fixtures/idp.js';
import { launchBrowser } from '../fixtures/browser.js';

const BROWSER_WAIT_MS = 30_000;

const alice: IdpUser = {
  username: 'alice',
  password: 'alice-password',
  email: 'alice@example.com',
  groups: ['dev', 'sre'],
};
const bob: IdpUser = {
  username: 'bob',
  password: 'bob-password',
  email: 'bob@example.com',
  emailVerified: false,
  groups: [],
};

/** One running IdP as a relying party sees it: its fixture, a TLS agent trusting its CA, discovery. */
interface Provider {
  readonly idp: Idp;
  readonly tls: Agent;
  readonly discovery: Record<string, unknown>;
}

let main: Provider;
let idp: Idp;
let publicClient: IdpClient;

interface Tokens {
  readonly id_token: string;
  readonly access_token: string;
  readonly refresh_token?: string;
}

async function connect(started: Idp): Promise<Provider> {
  const tls = new Agent({ connect: { ca: started.caPem } });
  const res = await request(`${started.issuer}/.well-known/openid-configuration`, { dispatcher: tls });
  assert.equal(res.statusCode, 200);
  return { idp: started, tls, discovery: (await res.body.json()) as Record<string, unknown> };
}

async function getJson(url: string, op = main): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await request(url, { dispatcher: op.tls });
  return { status: res.statusCode, body: (await res.body.json()) as Record<string, unknown> };
}

/** A POST to the token endpoint; `basic` authenticates a confidential client. */
async function tokenRequest(
  form: Record<string, string>,
  basic?: IdpClient,
  op = main,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (basic) {
    const enc = (s: string): string => encodeURIComponent(s);
    headers.authorization = `Basic ${Buffer.from(`${enc(basic.clientId)}:${enc(basic.clientSecret ?? '')}`).toString('base64')}`;
  }
  const res = await request(op.discovery.token_endpoint as string, {
    method: 'POST',
    dispatcher: op.tls,
    headers,
    body: new URLSearchParams(form).toString(),
  });
  return { status: res.statusCode, body: (await res.body.json()) as Record<string, unknown> };
}

interface Authorization {
  readonly url: string;
  readonly redirectUri: string;
  readonly state: string;
  readonly nonce: string;
  readonly verifier: string;
}

/** An authorization request with PKCE (S256), state and nonce, redirecting to a loopback port. */
function authorization(
  client: IdpClient,
  opts: { port?: number; pkce?: boolean; op?: Provider } = {},
): Authorization {
  const verifier = randomBytes(32).toString('base64url');
  const state = randomBytes(16).toString('base64url');
  const nonce = randomBytes(16).toString('base64url');
  // Registered as http://127.0.0.1/callback: any loopback port matches (RFC 8252 7.3).
  const redirectUri = `http://127.0.0.1:${opts.port ?? 40000 + (randomBytes(2).readUInt16BE() % 20000)}/callback`;
  const url = new URL((opts.op ?? main).discovery.authorization_endpoint as string);
  url.search = new URLSearchParams({
    client_id: client.clientId,
    response_type: 'code',
    scope: 'openid offline_access email profile groups',
    redirect_uri: redirectUri,
    state,
    nonce,
    ...(opts.pkce === false
      ? {}
      : {
          code_challenge: createHash('sha256').update(verifier).digest('base64url'),
          code_challenge_method: 'S256',
        }),
  }).toString();
  return { url: url.toString(), redirectUri, state, nonce, verifier };
}

/** The code from the final redirect, after checking it goes to our redirect_uri with our state. */
function codeFrom(finalUrl: string, auth: Authorization): string {
  const u = new URL(finalUrl);
  assert.equal(`${u.origin}${u.pathname}`, auth.redirectUri, finalUrl);
  assert.equal(u.searchParams.get('error'), null, finalUrl);
  assert.equal(u.searchParams.get('state'), auth.state);
  const code = u.searchParams.get('code');
  assert.ok(code, finalUrl);
  return code;
}

async function exchange(
  code: string,
  auth: Authorization,
  client: IdpClient,
  basic = false,
  op = main,
): Promise<Tokens> {
  const r = await tokenRequest(
    {
      grant_type: 'authorization_code',
      code,
      redirect_uri: auth.redirectUri,
      code_verifier: auth.verifier,
      ...(basic ? {} : { client_id: client.clientId }),
    },
    basic ? client : undefined,
    op,
  );
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body as unknown as Tokens;
}

async function signIn(
  user: IdpUser,
  client = publicClient,
): Promise<{ tokens: Tokens; auth: Authorization }> {
  const auth = authorization(client);
  const tokens = await exchange(codeFrom(await idp.loginWithHttp(auth.url, user), auth), auth, client);
  return { tokens, auth };
}

async function jwks(op = main): Promise<JSONWebKeySet> {
  const r = await getJson(op.discovery.jwks_uri as string, op);
  assert.equal(r.status, 200);
  return r.body as unknown as JSONWebKeySet;
}

/** Verifies an ID token as a relying party would: signature against the JWKS, iss, aud, exp. */
async function verifyIdToken(
  idToken: string,
  client: IdpClient,
  keys?: JSONWebKeySet,
  op = main,
): Promise<JWTPayload> {
  const { payload } = await jwtVerify(idToken, createLocalJWKSet(keys ?? (await jwks(op))), {
    issuer: op.idp.issuer,
    audience: client.clientId,
    algorithms: ['RS256'],
  });
  return payload;
}

function refresh(refreshToken: string, client = publicClient): ReturnType<typeof tokenRequest> {
  return tokenRequest({
    grant_type: 'refresh_token',
    refresh_token: refreshToken,
    client_id: client.clientId,
  });
}

before(async () => {
  idp = await startIdp({ users: [alice, bob] });
  main = await connect(idp);
  publicClient = await idp.createClient({ redirectUris: ['http://127.0.0.1/callback'], public: true });
});

after(async () => {
  await main?.tls.close();
  await idp?.stop();
});

test('the discovery document is served over https with a certificate from caPem, for the issuer it names', async () => {
  assert.match(idp.issuer, /^https:\/\/127\.0\.0\.1:\d+$/);
  assert.equal(main.discovery.issuer, idp.issuer);
  assert.equal(await readFile(idp.caFile, 'utf8'), idp.caPem);
  assert.ok((main.discovery.code_challenge_methods_supported as string[]).includes('S256'));
  assert.ok((main.discovery.scopes_supported as string[]).includes('groups'));
  // Without the fixture's CA the certificate is not trusted: the CA is what kubegate must be given.
  await assert.rejects(request(`${idp.issuer}/.well-known/openid-configuration`), (err: Error) => {
    assert.match(String((err.cause as Error | undefined)?.message ?? err.message), /certificate/i);
    return true;
  });
});

test('Hydra v2.3.0 offers no device authorization grant (RFC 8628): kubegate login cannot use it here', () => {
  assert.equal(main.discovery.device_authorization_endpoint, undefined);
  assert.ok(
    !(main.discovery.grant_types_supported as string[]).includes(
      'urn:ietf:params:oauth:grant-type:device_code',
    ),
  );
});

test('authorization code + PKCE for a public client: the ID token is signed by a JWKS key and carries email, email_verified and groups', async () => {
  const { tokens, auth } = await signIn(alice);
  const claims = await verifyIdToken(tokens.id_token, publicClient);
  assert.equal(claims.sub, 'alice');
  assert.equal(claims.email, 'alice@example.com');
  assert.equal(claims.email_verified, true);
  assert.deepEqual(claims.groups, ['dev', 'sre']);
  assert.equal(claims.name, 'alice');
  assert.equal(claims.nonce, auth.nonce);
  assert.ok(tokens.refresh_token, 'offline_access yields a refresh token');
  // A tampered token fails the same check: the verification above is real.
  const [h, p, s] = tokens.id_token.split('.') as [string, string, string];
  const forged = Buffer.from(JSON.stringify({ ...claims, groups: ['system:masters'] })).toString('base64url');
  await assert.rejects(verifyIdToken(`${h}.${forged}.${s}`, publicClient), {
    code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
  });
  assert.notEqual(p, forged);
});

test('a user whose email is not verified gets email_verified false, and no groups when they have none', async () => {
  const claims = await verifyIdToken((await signIn(bob)).tokens.id_token, publicClient);
  assert.equal(claims.email, 'bob@example.com');
  assert.equal(claims.email_verified, false);
  assert.deepEqual(claims.groups, []);
});

test('a public client must use PKCE, and a code redeems only with its verifier', async () => {
  const noPkce = authorization(publicClient, { pkce: false });
  const refused = new URL(await idp.loginWithHttp(noPkce.url, alice));
  assert.equal(refused.searchParams.get('error'), 'invalid_request');
  assert.equal(refused.searchParams.get('code'), null);

  const auth = authorization(publicClient);
  const code = codeFrom(await idp.loginWithHttp(auth.url, alice), auth);
  const wrong = await tokenRequest({
    grant_type: 'authorization_code',
    code,
    redirect_uri: auth.redirectUri,
    code_verifier: randomBytes(32).toString('base64url'),
    client_id: publicClient.clientId,
  });
  assert.equal(wrong.status, 400);
  assert.equal(wrong.body.error, 'invalid_grant');
});

test('a confidential client gets a secret and redeems its code with it', async () => {
  const client = await idp.createClient({ redirectUris: ['http://127.0.0.1/callback'] });
  assert.ok(client.clientSecret);
  const auth = authorization(client);
  const tokens = await exchange(codeFrom(await idp.loginWithHttp(auth.url, alice), auth), auth, client, true);
  assert.deepEqual((await verifyIdToken(tokens.id_token, client)).groups, ['dev', 'sre']);
});

test('the refresh_token grant yields a new ID token with the same claims', async () => {
  const { tokens } = await signIn(alice);
  const r = await refresh(tokens.refresh_token!);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const fresh = r.body as unknown as Tokens;
  assert.notEqual(fresh.id_token, tokens.id_token);
  assert.notEqual(fresh.refresh_token, tokens.refresh_token, 'Hydra rotates refresh tokens');
  const claims = await verifyIdToken(fresh.id_token, publicClient);
  assert.equal(claims.email, 'alice@example.com');
  assert.deepEqual(claims.groups, ['dev', 'sre']);
});

test('revokeUser makes the refresh fail (invalid_grant); a new sign-in works again', async () => {
  const { tokens } = await signIn(alice);
  const other = await signIn(bob);
  await idp.revokeUser('alice');
  const r = await refresh(tokens.refresh_token!);
  assert.equal(r.status, 400, JSON.stringify(r.body));
  assert.equal(r.body.error, 'invalid_grant');
  assert.equal((await refresh(other.tokens.refresh_token!)).status, 200, "bob's session is not touched");
  assert.equal((await refresh((await signIn(alice)).tokens.refresh_token!)).status, 200);
});

test('rotateKeys: a new kid signs new sign-ins; with removeOld, the old key leaves the JWKS', async () => {
  const first = await signIn(alice);
  const oldKid = decodeProtectedHeader(first.tokens.id_token).kid;
  assert.ok(oldKid);
  const newKid = await idp.rotateKeys();
  assert.notEqual(newKid, oldKid);
  const second = await signIn(alice);
  assert.equal(decodeProtectedHeader(second.tokens.id_token).kid, newKid);
  const both = await jwks();
  assert.ok(both.keys.some((k) => k.kid === oldKid) && both.keys.some((k) => k.kid === newKid));
  await verifyIdToken(first.tokens.id_token, publicClient, both);
  await verifyIdToken(second.tokens.id_token, publicClient, both);

  const newest = await idp.rotateKeys({ removeOld: true });
  const after = await jwks();
  const kids = after.keys.map((k) => k.kid);
  assert.ok(kids.includes(newest) && !kids.includes(oldKid) && !kids.includes(newKid), kids.join(', '));
  await assert.rejects(verifyIdToken(second.tokens.id_token, publicClient, after), {
    code: 'ERR_JWKS_NO_MATCHING_KEY',
  });
  const latest = await signIn(alice);
  assert.equal(decodeProtectedHeader(latest.tokens.id_token).kid, newest);
  await verifyIdToken(latest.tokens.id_token, publicClient, after);
});

test('Hydra quirk (ory/hydra#3573): a refresh begun before a rotation gets an ID token that names the old kid but is signed by the new key', async () => {
  const first = await signIn(alice);
  const oldKid = decodeProtectedHeader(first.tokens.id_token).kid;
  const newKid = await idp.rotateKeys();
  const r = await refresh(first.tokens.refresh_token!);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const refreshed = (r.body as unknown as Tokens).id_token;
  assert.equal(decodeProtectedHeader(refreshed).kid, oldKid);
  // A verifier that trusts the kid (as it must) rejects it; only the new key's signature fits.
  const keys = await jwks();
  await assert.rejects(verifyIdToken(refreshed, publicClient, keys), {
    code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
  });
  const relabelled = { keys: keys.keys.filter((k) => k.kid === newKid).map((k) => ({ ...k, kid: oldKid })) };
  await verifyIdToken(refreshed, publicClient, relabelled);
});

test('a wrong password is refused with 401 and the login is not accepted; the right one then goes through', async () => {
  const auth = authorization(publicClient);
  await assert.rejects(
    idp.loginWithHttp(auth.url, { username: 'alice', password: 'guess' }),
    /401: .*Wrong username or password/,
  );
  await assert.rejects(idp.loginWithHttp(auth.url, { username: 'mallory', password: 'x' }), /401/);
  codeFrom(await idp.loginWithHttp(auth.url, alice), auth);
});

test('chromium fills the login form (#username, #password, button[type=submit]) and lands on the redirect_uri with a code', async () => {
  // The loopback redirect target a CLI would listen on.
  const callback: Server = createServer((_req, res) => res.end('signed in'));
  callback.listen(0, '127.0.0.1');
  await once(callback, 'listening');
  const browser = await launchBrowser();
  try {
    // The throwaway CA is not in chromium's store; the fetches above check the certificate.
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    const page = await context.newPage();
    const auth = authorization(publicClient, { port: (callback.address() as AddressInfo).port });
    await page.goto(auth.url);
    await page.locator('#username').fill('alice');
    await page.locator('#password').fill('not-her-password');
    const refused = page.waitForResponse((r) => r.request().method() === 'POST', {
      timeout: BROWSER_WAIT_MS,
    });
    await page.locator('button[type=submit]').click();
    assert.equal((await refused).status(), 401);
    await page.getByText('Wrong username or password').waitFor({ timeout: BROWSER_WAIT_MS });

    await page.locator('#username').fill(alice.username);
    await page.locator('#password').fill(alice.password);
    await page.locator('button[type=submit]').click();
    await page.waitForURL((u) => u.toString().startsWith(auth.redirectUri), { timeout: BROWSER_WAIT_MS });
    assert.equal(await page.textContent('body'), 'signed in');
    const tokens = await exchange(codeFrom(page.url(), auth), auth, publicClient);
    assert.deepEqual((await verifyIdToken(tokens.id_token, publicClient)).groups, ['dev', 'sre']);
  } finally {
    await browser.close();
    callback.close();
  }
});

test('two IdPs run side by side with their own issuers and CAs; idTokenLifespan applies; stop ends Hydra and the login app', async () => {
  const second = await startIdp({ users: [alice], idTokenLifespan: '10s' });
  let stopped = false;
  try {
    assert.notEqual(second.issuer, idp.issuer);
    assert.notEqual(second.caPem, idp.caPem);
    const op = await connect(second);
    const client = await second.createClient({ redirectUris: ['http://127.0.0.1/callback'], public: true });
    const auth = authorization(client, { op });
    const tokens = await exchange(
      codeFrom(await second.loginWithHttp(auth.url, alice), auth),
      auth,
      client,
      false,
      op,
    );
    const claims = await verifyIdToken(tokens.id_token, client, undefined, op);
    assert.equal(claims.iss, second.issuer);
    assert.equal(claims.exp! - claims.iat!, 10);
    // The first IdP's keys do not verify the second's tokens.
    await assert.rejects(verifyIdToken(tokens.id_token, client, await jwks(main), op));
    await op.tls.close();
    await second.stop();
    stopped = true;
    await assert.rejects(request(`${second.adminUrl}/health/ready`), { code: 'ECONNREFUSED' });
    await assert.rejects(request(`${second.loginUrl}/login`), { code: 'ECONNREFUSED' });
  } finally {
    if (!stopped) await second.stop();
  }
});
