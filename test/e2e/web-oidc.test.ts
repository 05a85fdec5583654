// The reviewer web UI signs in through the identity provider, end to end: a real OpenID provider
// (Ory Hydra, test/fixtures/idp.ts), the real gateway trusting it (identity.oidc with a
// confidential client, clientSecretFile, publicUrl), real kubectl, and Debian's chromium driven
// by playwright-core; kubectl has its own public client, accepted through `audiences`. Shown: the
// sign-in page offers the provider beside the token form; sam (IdP group sre) signs in at the
// provider's own form, lands on the queue, sees alice's held delete (alice is an IdP user too,
// with an ID token of kubectl's client in her kubeconfig) arrive live, approves it, and
// alice's kubectl completes; the approval is audited as sam's; sam signs out and the old cookie
// no longer works. Then, over plain HTTP against the same gateway and provider: a forged answer
// (another state), a replayed one (its own cookie; and its spent code with a fresh sign-in's state,
// which the provider refuses), an answer in another browser (no cookie), the provider's error,
// and a user whose email the provider has not verified (the OIDC authenticator's rule) are each
// refused on a page that says so, and nobody is signed in.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Browser, type BrowserContext } from 'playwright-core';
import { launchBrowser } from '../fixtures/browser.js';
import { Agent, request } from 'undici';
import { stringify } from 'yaml';
import { freePort } from '../../src/demo/ports.js';
import type { TestbedState } from '../../src/demo/control-plane.js';
import { useTestbed } from '../fixtures/testbed.js';
import { kubectl, startKubectl, type RunningKubectl } from '../fixtures/kubectl.js';
import { startGateway, type GatewayHandle } from '../fixtures/gateway.js';
import { startIdp, type Idp, type IdpClient, type IdpUser } from '../fixtures/idp.js';
import { idTokenFor, kubeconfigWithToken } from '../fixtures/oidc-tokens.js';

const UI_WAIT_MS = 30_000;
const CALLBACK = '/kubegate/v1/session/oidc/callback';
const ns = `web-oidc-${randomBytes(3).toString('hex')}`;

const alice: IdpUser = {
  username: 'alice',
  password: 'alice-pw',
  email: 'alice@example.com',
  groups: ['dev'],
};
const sam: IdpUser = { username: 'sam', password: 'sam-pw', email: 'sam@example.com', groups: ['sre'] };
const una: IdpUser = {
  username: 'una',
  password: 'una-pw',
  email: 'una@example.com',
  emailVerified: false,
  groups: ['sre'],
};

let tb: TestbedState;
let idp: Idp;
/** The web UI's client: confidential (clientSecretFile), redirect URI under publicUrl. */
let webClient: IdpClient;
/** kubectl's: public, loopback redirect; its ID tokens are accepted through `audiences`. */
let kubectlClient: IdpClient;
let gw: GatewayHandle;
/** Trusts both kubegate's CA and the provider's (the HTTP tests talk to both). */
let tls: Agent;
let browser: Browser;
const contexts: BrowserContext[] = [];
let held: RunningKubectl | null = null;

const admin = (args: string[], stdin?: string) =>
  kubectl(args, { kubeconfig: tb.adminKubeconfig, ...(stdin === undefined ? {} : { stdin }) });

const policy = {
  apiVersion: 'kubegate.dev/v1alpha1',
  kind: 'Policy',
  defaults: { action: 'allow' },
  rules: [
    {
      name: 'configmap-deletes-need-sre',
      match: { verbs: ['delete'], resources: ['configmaps'], namespaces: [ns] },
      action: 'approve',
      approval: { approvers: ['group:oidc:sre'], count: 1, mode: 'hold' },
    },
  ],
};

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
}

/** One GET, redirects not followed, with the gateway's and the provider's CA. */
async function get(url: string, cookie?: string): Promise<Answer> {
  const res = await request(url, { dispatcher: tls, headers: cookie === undefined ? {} : { cookie } });
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
}

const cookieNamed = (answer: Answer, name: string): string | undefined => {
  const all = answer.headers['set-cookie'];
  return (Array.isArray(all) ? all : all === undefined ? [] : [all])
    .find((c) => c.startsWith(`${name}=`) && !/Max-Age=0/u.test(c))
    ?.split(';')[0];
};

/** A sign-in begun as a browser would (the sign-in page's button): its cookie and the provider's URL. */
async function begin(): Promise<{ cookie: string; authorizeUrl: string; state: string }> {
  const answer = await get(`${gw.url}/kubegate/v1/session/oidc/start?issuer=0&next=%2Fui%2F`);
  assert.equal(answer.status, 302, answer.text);
  const cookie = cookieNamed(answer, '__Host-kubegate-oidc-flow');
  assert.ok(cookie);
  const authorizeUrl = String(answer.headers.location);
  assert.ok(authorizeUrl.startsWith(`${idp.issuer}/`), authorizeUrl);
  return { cookie, authorizeUrl, state: new URL(authorizeUrl).searchParams.get('state') ?? '' };
}

function assertRefused(answer: Answer, code: string, why: RegExp): void {
  assert.equal(answer.headers['x-kubegate-error-code'], code, answer.text);
  assert.equal(answer.headers['content-type'], 'text/html; charset=utf-8');
  assert.match(answer.text, why);
  assert.match(answer.text, /href="\/ui\/sign-in"/u, 'the way back');
  assert.equal(cookieNamed(answer, '__Host-kubegate-session'), undefined, 'nobody signed in');
}

before(async () => {
  tb = await useTestbed();
  idp = await startIdp({ users: [alice, sam, una] });
  // kubegate's own address is in its config (publicUrl): the port is chosen first.
  const port = await freePort();
  const publicUrl = `https://127.0.0.1:${port}`;
  webClient = await idp.createClient({ redirectUris: [`${publicUrl}${CALLBACK}`] });
  assert.ok(webClient.clientSecret, 'a confidential client');
  kubectlClient = await idp.createClient({ redirectUris: ['http://127.0.0.1/callback'], public: true });
  const secretFile = join(tb.dir, `web-oidc-${ns}.secret`);
  await writeFile(secretFile, `${webClient.clientSecret}\n`, { mode: 0o600 });
  const policyFile = join(tb.dir, `web-oidc-${ns}.yaml`);
  await writeFile(policyFile, stringify(policy));
  gw = await startGateway(tb, {
    port,
    config: {
      publicUrl,
      policy: { file: policyFile },
      approvals: { holdTimeoutMs: 5 * 60_000 },
      identity: {
        oidc: [
          {
            issuerUrl: idp.issuer,
            clientId: webClient.clientId,
            audiences: [webClient.clientId, kubectlClient.clientId],
            usernameClaim: 'email',
            groupsClaim: 'groups',
            groupsPrefix: 'oidc:',
            caFile: idp.caFile,
            clientSecretFile: secretFile,
          },
        ],
      },
      log: { level: 'info' },
    },
  });
  tls = new Agent({ connect: { ca: [gw.caPem, idp.caPem] } });
  for (const args of [
    ['create', 'namespace', ns],
    ['create', 'rolebinding', 'idp-dev-edit', '-n', ns, '--clusterrole=edit', '--group=oidc:dev'],
    ['create', 'configmap', 'settings', '-n', ns, '--from-literal=k=v'],
  ]) {
    const r = await admin(args);
    assert.equal(r.code, 0, r.stderr);
  }
  browser = await launchBrowser();
});

after(async () => {
  held?.stop();
  for (const c of contexts) await c.close().catch(() => undefined);
  await browser?.close();
  await gw?.stop();
  await tls?.close();
  await idp?.stop();
  if (tb) await admin(['delete', 'namespace', ns, '--wait=false']);
});

test('sam signs in through the identity provider in chromium, approves alice’s held delete, and signs out', async () => {
  const aliceKubeconfig = await kubeconfigWithToken(gw, 'alice', await idTokenFor(idp, alice, kubectlClient));
  const context = await browser.newContext({
    ignoreHTTPSErrors: true, // kubegate's and the provider's throwaway CAs
    viewport: { width: 1280, height: 860 },
  });
  contexts.push(context);
  const page = await context.newPage();
  await page.goto(`${gw.url}/ui/`);

  // Not signed in: the sign-in page offers the provider, by its host, beside the token form.
  const button = page.getByTestId('sign-in-idp');
  await button.waitFor({ timeout: UI_WAIT_MS });
  assert.equal((await button.innerText()).trim(), `Sign in with ${new URL(idp.issuer).host}`);
  assert.equal(await page.getByTestId('token').count(), 1, 'token sign-in stays');
  await button.click();

  // The provider's own form.
  await page.waitForURL(`${idp.loginUrl}/**`, { timeout: UI_WAIT_MS });
  await page.locator('#username').fill(sam.username);
  await page.locator('#password').fill(sam.password);
  await page.locator('button[type=submit]').click();

  // Back at kubegate, signed in, on the queue.
  const queue = page.getByTestId('queue');
  await queue.waitFor({ timeout: UI_WAIT_MS }).catch((err: unknown) => {
    throw new Error(`${String(err)}\nat ${page.url()}\nkubegate:\n${gw.output().slice(-3000)}`);
  });
  assert.equal(new URL(page.url()).pathname, '/ui/');
  assert.equal((await page.getByTestId('user-name').innerText()).trim(), 'sam@example.com');
  const [sessionCookie] = (await context.cookies(gw.url)).filter((c) => c.name === '__Host-kubegate-session');
  assert.ok(sessionCookie, 'the session cookie');
  assert.equal(sessionCookie.httpOnly, true);
  assert.equal(sessionCookie.sameSite, 'Strict');
  assert.equal(
    (await context.cookies(gw.url)).some((c) => c.name === '__Host-kubegate-oidc-flow'),
    false,
    'the sign-in cookie is gone',
  );

  // alice (an IdP user with her ID token) deletes; the delete is held for group oidc:sre.
  held = startKubectl(['delete', 'configmap', 'settings', '-n', ns], { kubeconfig: aliceKubeconfig });
  const row = queue.locator('[data-request-id]', { hasText: ns });
  await row
    .first()
    .waitFor({ timeout: UI_WAIT_MS })
    .catch((err: unknown) => {
      throw new Error(`${String(err)}\nkubectl: ${held?.output()}\nkubegate:\n${gw.output().slice(-3000)}`);
    });
  const id = (await row.first().getAttribute('data-request-id')) ?? '';
  assert.match(await row.first().innerText(), /alice@example\.com/u);

  await row.first().getByRole('link').first().click();
  await page.waitForURL(`**/ui/requests/${id}`);
  await page.getByTestId('approve').click();
  await held.waitFor(/configmap "settings" deleted/u, 60_000);
  if (held.child.exitCode === null) await once(held.child, 'exit');
  assert.equal(held.child.exitCode, 0, held.output());
  const [reviewed] = await gw.waitForAudit((e) => e.kind === 'reviewed' && e.pendingId === id);
  assert.equal(reviewed?.actor, 'sam@example.com', 'the approval is sam’s, as the IdP named him');

  // Sign-out ends the session: the page goes to sign-in, and the old cookie opens nothing.
  await page.getByTestId('sign-out').click();
  await page.getByTestId('sign-in-idp').waitFor({ timeout: UI_WAIT_MS });
  const after = await get(`${gw.url}/kubegate/v1/session`, `${sessionCookie.name}=${sessionCookie.value}`);
  assert.equal(after.status, 401, after.text);
});

test('a forged answer (another state) is refused, and ends its sign-in', async () => {
  const flow = await begin();
  const back = new URL(await idp.loginWithHttp(flow.authorizeUrl, sam));
  assert.equal(back.pathname, CALLBACK);
  back.searchParams.set('state', randomBytes(32).toString('base64url'));
  assertRefused(await get(back.toString(), flow.cookie), 'KG_AUTHN_SIGN_IN_FAILED', /state does not match/u);
  back.searchParams.set('state', flow.state);
  assertRefused(
    await get(back.toString(), flow.cookie),
    'KG_AUTHN_SIGN_IN_FAILED',
    /no sign-in in progress/u,
  );
});

test('a replayed answer is refused: with its own cookie, and its spent code under a fresh sign-in (the provider refuses it)', async () => {
  const flow = await begin();
  const back = new URL(await idp.loginWithHttp(flow.authorizeUrl, sam));
  const first = await get(back.toString(), flow.cookie);
  assert.equal(first.status, 303, first.text);
  assert.equal(first.headers.location, '/ui/');
  const session = cookieNamed(first, '__Host-kubegate-session');
  assert.ok(session);
  const who = JSON.parse((await get(`${gw.url}/kubegate/v1/session`, session)).text) as { user: string };
  assert.equal(who.user, 'sam@example.com');

  assertRefused(
    await get(back.toString(), flow.cookie),
    'KG_AUTHN_SIGN_IN_FAILED',
    /no sign-in in progress/u,
  );
  const fresh = await begin();
  back.searchParams.set('state', fresh.state);
  assertRefused(
    await get(back.toString(), fresh.cookie),
    'KG_AUTHN_SIGN_IN_FAILED',
    /no longer accepts this sign-in(&#39;|')s code/u,
  );
});

test('an answer opened in another browser (no sign-in cookie) is refused', async () => {
  const flow = await begin();
  const back = await idp.loginWithHttp(flow.authorizeUrl, sam);
  assertRefused(await get(back), 'KG_AUTHN_SIGN_IN_FAILED', /no sign-in in progress/u);
});

test('the provider’s error ends the sign-in with its words and a way to try again', async () => {
  const flow = await begin();
  const answer = await get(
    `${gw.url}${CALLBACK}?error=access_denied&error_description=The+resource+owner+denied+the+request&state=${flow.state}`,
    flow.cookie,
  );
  assert.equal(answer.status, 401);
  assertRefused(answer, 'KG_AUTHN_SIGN_IN_FAILED', /access_denied.*The resource owner denied the request/u);
  assert.match(answer.text, /data-testid="sign-in-retry"/u);
});

test('a user whose email the provider has not verified is refused by the OIDC authenticator, as with kubectl', async () => {
  const flow = await begin();
  const back = await idp.loginWithHttp(flow.authorizeUrl, una);
  const answer = await get(back, flow.cookie);
  assert.equal(answer.status, 401);
  assertRefused(answer, 'KG_AUTHN_OIDC_INVALID', /email_verified is not true/u);
});
