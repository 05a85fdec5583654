// kubectl signs in with a real identity provider through `kubegate login`: real Ory Hydra (two of
// them, trusted at once by a real kubegate), kubeconfigs from `kubegate user add --oidc`, real
// kubectl 1.33 and 1.27, Debian's chromium (playwright-core) for the browser step. The first
// command prints the sign-in URL on kubectl's stderr and waits; chromium signs in; the command
// completes as the IdP's user with the IdP's groups (RBAC grants the group `sre`, not the user).
// Later commands reuse the 0600 cache with no second sign-in; after the ID token expires (20 s
// lifespan on the second IdP) the next command refreshes silently. Bad inputs: a revoked refresh
// token with --no-browser, a client the IdP does not know and a stopped IdP each end kubectl with
// one clear "kubegate:" line; without --no-browser a revoked sign-in falls back to the browser.
// Not covered here: the device flow (Hydra v2.3.0 offers none; src/cli/login-oidc.test.ts has it).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { copyFile, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { type Browser } from 'playwright-core';
import { launchBrowser } from '../fixtures/browser.js';
import { parse, stringify } from 'yaml';
import { useTestbed } from '../fixtures/testbed.js';
import { kubectl, startKubectl, type KubectlResult, type KubectlVersion } from '../fixtures/kubectl.js';
import { kubegate, startGateway, type GatewayHandle } from '../fixtures/gateway.js';
import { startIdp, type Idp, type IdpClient, type IdpUser } from '../fixtures/idp.js';
import type { TestbedState } from '../../src/demo/control-plane.js';
import type { CachedSignIn } from '../../src/identity/oidc-login-cache.js';

const WAIT_MS = 60_000;
const SIGN_IN_LINE = /kubegate: to sign in, open (\S+)/u;
const ns = `oidc-login-${randomBytes(3).toString('hex')}`;

const alice: IdpUser = {
  username: 'alice',
  password: 'alice-password',
  email: 'alice@example.com',
  groups: ['sre'],
};

let tb: TestbedState;
let gw: GatewayHandle;
let browser: Browser;
/** Tokens that last an hour: the cache is reused, never refreshed, during the test. */
let longIdp: Idp;
let longClient: IdpClient;
/** Tokens that last 20 s: refreshes happen during the test. */
let shortIdp: Idp;
let shortClient: IdpClient;
let longKubeconfig: string;
let shortKubeconfig: string;
let stoppedKubeconfig: string;
let work: string;

const admin = (args: string[]) => kubectl(args, { kubeconfig: tb.adminKubeconfig });

before(async () => {
  tb = await useTestbed();
  work = await mkdtemp(join(tmpdir(), 'kubegate-oidc-login-'));
  [longIdp, shortIdp] = await Promise.all([
    startIdp({ users: [alice] }),
    startIdp({ users: [alice], idTokenLifespan: '20s' }),
  ]);
  // A loopback redirect URI without a port matches any port at Hydra (RFC 8252 §7.3).
  const register = (idp: Idp) =>
    idp.createClient({ redirectUris: ['http://127.0.0.1/callback'], public: true });
  [longClient, shortClient] = await Promise.all([register(longIdp), register(shortIdp)]);
  const trust = (idp: Idp, client: IdpClient) => ({
    issuerUrl: idp.issuer,
    clientId: client.clientId,
    usernameClaim: 'email',
    groupsClaim: 'groups',
    caFile: idp.caFile,
  });
  gw = await startGateway(tb, {
    config: { identity: { oidc: [trust(longIdp, longClient), trust(shortIdp, shortClient)] } },
  });
  for (const args of [
    ['create', 'namespace', ns],
    ['create', 'configmap', 'signed-in', '-n', ns, '--from-literal=k=v'],
    // The IdP's group, not the user, is what RBAC grants: the groups must arrive.
    ['create', 'rolebinding', 'sre-view', '-n', ns, '--clusterrole=view', '--group=sre'],
  ]) {
    const r = await admin(args);
    assert.equal(r.code, 0, r.stderr);
  }
  longKubeconfig = await oidcKubeconfig('long', [
    '--issuer',
    longIdp.issuer,
    '--client-id',
    longClient.clientId,
    '--ca-file',
    longIdp.caFile,
  ]);
  // The second from kubegate.yaml, as an operator would: its identity.oidc names issuer and client.
  shortKubeconfig = await oidcKubeconfig('short', ['--config', gw.configFile, '--issuer', shortIdp.issuer]);
  // For when the second IdP is stopped: its fixture removes its CA file, an operator's would stay.
  const caCopy = join(work, 'short-ca.crt');
  await copyFile(shortIdp.caFile, caCopy);
  stoppedKubeconfig = await oidcKubeconfig('stopped', [
    '--issuer',
    shortIdp.issuer,
    '--client-id',
    shortClient.clientId,
    '--ca-file',
    caCopy,
  ]);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await gw?.stop();
  await Promise.all([longIdp?.stop(), shortIdp?.stop()]);
  await admin(['delete', 'namespace', ns, '--wait=false']);
  // The home folders hold the test's sign-in caches (refresh tokens of a provider now stopped).
  if (work) await rm(work, { recursive: true, force: true });
});

/** `kubegate user add --oidc … --scope groups` (the IdP puts groups in the ID token when asked). */
async function oidcKubeconfig(name: string, args: readonly string[]): Promise<string> {
  const out = join(work, `${name}.kubeconfig`);
  await kubegate([
    'user',
    'add',
    '--oidc',
    ...args,
    '--scope',
    'groups',
    '--server',
    gw.url,
    '--data-dir',
    gw.dataDir,
    '--out',
    out,
  ]);
  return out;
}

/** A copy of `kubeconfig` whose kubegate login gets `flag` too. */
async function withLoginFlag(kubeconfig: string, flag: string): Promise<string> {
  const doc = parse(await readFile(kubeconfig, 'utf8')) as {
    users: { user: { exec: { args: string[] } } }[];
  };
  doc.users[0]!.user.exec.args.push(flag);
  const out = kubeconfig.replace(/\.kubeconfig$/u, `${flag}.kubeconfig`);
  await writeFile(out, stringify(doc), { mode: 0o600 });
  return out;
}

/** A fresh home folder: kubegate login's cache lives in ~/.kube/cache/kubegate. */
async function home(name: string): Promise<string> {
  return mkdtemp(join(work, `home-${name}-`));
}

function get(kubeconfig: string, version: KubectlVersion, homeDir: string): Promise<KubectlResult> {
  return kubectl(['get', 'configmap', 'signed-in', '-n', ns, '-o', 'name'], {
    kubeconfig,
    version,
    env: { HOME: homeDir },
    timeoutMs: WAIT_MS,
  });
}

/** Runs kubectl, waits for the sign-in line, signs in as alice in chromium, and waits for kubectl. */
async function getSigningIn(
  kubeconfig: string,
  version: KubectlVersion,
  homeDir: string,
): Promise<{ code: number | null; output: string; url: URL }> {
  const run = startKubectl(['get', 'configmap', 'signed-in', '-n', ns, '-o', 'name'], {
    kubeconfig,
    version,
    env: { HOME: homeDir },
  });
  const closed = once(run.child, 'close') as Promise<[number | null]>;
  try {
    const url = new URL(SIGN_IN_LINE.exec(await run.waitFor(SIGN_IN_LINE, WAIT_MS))![1]!);
    const context = await browser.newContext({ ignoreHTTPSErrors: true }); // the IdP's throwaway CA
    try {
      const page = await context.newPage();
      await page.goto(url.href);
      await page.locator('#username').fill(alice.username);
      await page.locator('#password').fill(alice.password);
      await page.locator('button[type=submit]').click();
      // kubegate login's loopback page, shown once the code has been exchanged.
      await page.locator('#kubegate-sign-in').waitFor({ timeout: WAIT_MS });
      assert.match((await page.textContent('#kubegate-sign-in')) ?? '', /kubegate has your sign-in/u);
    } finally {
      await context.close();
    }
    const [code] = await closed;
    return { code, output: run.output(), url };
  } catch (err) {
    run.stop();
    throw new Error(`${String(err)}\nkubectl so far:\n${run.output()}\ngateway:\n${gw.output()}`, {
      cause: err,
    });
  }
}

/** The one cache file in `homeDir`: its path, mode, and content. Nothing else is written there. */
async function cacheOf(homeDir: string): Promise<{ file: string; mode: number; signIn: CachedSignIn }> {
  const files = (await readdir(homeDir, { recursive: true, withFileTypes: true }))
    .filter((e) => e.isFile())
    .map((e) => relative(homeDir, join(e.parentPath, e.name)));
  assert.equal(files.length, 1, `one file in the home folder, not ${files.join(', ')}`);
  assert.match(files[0]!, /^\.kube\/cache\/kubegate\/[0-9a-f]{64}\.json$/u);
  const file = join(homeDir, files[0]!);
  return {
    file,
    mode: (await stat(file)).mode & 0o777,
    signIn: JSON.parse(await readFile(file, 'utf8')) as CachedSignIn,
  };
}

/**
 * The distinct lines kubegate login printed. kubectl adds its own around them, and runs the plugin
 * again for each of its discovery retries (5 times for a failing first request), so the same one
 * line comes once per run.
 */
function kubegateLines(stderr: string): string[] {
  return [...new Set(stderr.split('\n').filter((l) => l.startsWith('kubegate:')))];
}

async function waitUntilExpired(signIn: CachedSignIn): Promise<void> {
  const deadline = signIn.idTokenExpiresAt + WAIT_MS;
  while (Date.now() <= signIn.idTokenExpiresAt) {
    assert.ok(Date.now() < deadline);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function auditedAsAlice(issuer: string): Promise<void> {
  const records = await gw.waitForAudit(
    (r) =>
      r.user === alice.email &&
      r.oidc?.issuer === issuer &&
      r.oidc.subject === alice.username &&
      r.groups.includes('sre') &&
      r.status === 200,
  );
  assert.ok(records.length > 0, `no 200 recorded for ${alice.email} from ${issuer}`);
}

for (const version of ['1.33', '1.27'] as const) {
  test(`kubectl ${version}: the first command signs in through the browser; later ones reuse the 0600 cache without a prompt`, async () => {
    const homeDir = await home(`long-${version}`);
    const first = await getSigningIn(longKubeconfig, version, homeDir);
    assert.equal(first.code, 0, first.output);
    assert.match(first.output, new RegExp(`configmap/signed-in`, 'u'));
    // The browser step: authorization code with PKCE S256, state and nonce, to a loopback redirect.
    assert.equal(first.url.origin + first.url.pathname, `${longIdp.issuer.replace(/\/$/u, '')}/oauth2/auth`);
    assert.equal(first.url.searchParams.get('client_id'), longClient.clientId);
    assert.equal(first.url.searchParams.get('code_challenge_method'), 'S256');
    assert.ok(first.url.searchParams.get('state') && first.url.searchParams.get('nonce'));
    assert.match(first.url.searchParams.get('redirect_uri') ?? '', /^http:\/\/127\.0\.0\.1:\d+\/callback$/u);
    await auditedAsAlice(longIdp.issuer);

    const cache = await cacheOf(homeDir);
    assert.equal(cache.mode, 0o600);
    assert.equal((await stat(join(homeDir, '.kube/cache/kubegate'))).mode & 0o777, 0o700);
    assert.equal(cache.signIn.issuer, longIdp.issuer);
    assert.ok(cache.signIn.refreshToken, 'offline_access gave a refresh token');
    assert.equal(
      first.output.includes(cache.signIn.idToken),
      false,
      'the token is printed nowhere kubectl shows',
    );

    for (let i = 0; i < 2; i++) {
      const again = await get(longKubeconfig, version, homeDir);
      assert.equal(again.code, 0, again.stderr);
      assert.equal(again.stdout.trim(), 'configmap/signed-in');
      assert.doesNotMatch(again.stderr, /to sign in/u);
      assert.deepEqual((await cacheOf(homeDir)).signIn, cache.signIn, 'the cached sign-in is used as it is');
    }
  });
}

test('after the ID token expires the next command (kubectl 1.27) refreshes silently; the refresh token rotates', async () => {
  const homeDir = await home('short');
  const first = await getSigningIn(shortKubeconfig, '1.33', homeDir);
  assert.equal(first.code, 0, first.output);
  const before = (await cacheOf(homeDir)).signIn;
  assert.equal(before.issuer, shortIdp.issuer);
  await waitUntilExpired(before);

  const refreshed = await get(shortKubeconfig, '1.27', homeDir);
  assert.equal(refreshed.code, 0, refreshed.stderr);
  assert.equal(refreshed.stdout.trim(), 'configmap/signed-in');
  assert.doesNotMatch(refreshed.stderr, /to sign in/u);
  const after = await cacheOf(homeDir);
  assert.equal(after.mode, 0o600);
  assert.notEqual(after.signIn.idToken, before.idToken);
  assert.ok(after.signIn.idTokenExpiresAt > before.idTokenExpiresAt);
  assert.notEqual(after.signIn.refreshToken, before.refreshToken, 'Hydra rotates refresh tokens');
  await auditedAsAlice(shortIdp.issuer);

  // The IdP revokes alice's sign-ins. With --no-browser and no terminal (kubectl here has neither
  // a terminal nor a desktop), nobody could sign in again: one clear line, and kubectl fails.
  await shortIdp.revokeUser(alice.username);
  await waitUntilExpired(after.signIn);
  const noBrowser = await withLoginFlag(shortKubeconfig, '--no-browser');
  const revoked = await get(noBrowser, '1.33', homeDir);
  assert.notEqual(revoked.code, 0);
  assert.deepEqual(kubegateLines(revoked.stderr), [
    'kubegate: your sign-in expired and cannot be renewed: run kubectl again in a terminal to sign in',
  ]);
  assert.equal(revoked.stdout, '');

  // Without --no-browser the same revoked sign-in falls back to a new one in the browser.
  const again = await getSigningIn(shortKubeconfig, '1.33', homeDir);
  assert.equal(again.code, 0, again.output);
  assert.notEqual((await cacheOf(homeDir)).signIn.refreshToken, after.signIn.refreshToken);
});

test('a client ID the IdP does not know is one clear line, before any browser is sent there', async () => {
  const wrong = await oidcKubeconfig('wrong-client', [
    '--issuer',
    longIdp.issuer,
    '--client-id',
    'no-such-client',
    '--ca-file',
    longIdp.caFile,
  ]);
  const r = await get(wrong, '1.33', await home('wrong-client'));
  assert.notEqual(r.code, 0);
  const lines = kubegateLines(r.stderr);
  assert.equal(lines.length, 1, r.stderr);
  assert.match(
    lines[0]!,
    /^kubegate: the identity provider does not know client ID: no-such-client \(invalid_client: .*\): check the --client-id flag; kubegate login needs a public client$/u,
  );
  assert.doesNotMatch(r.stderr, /to sign in/u);
});

test('a stopped IdP is one clear line naming it, and kubectl fails', async () => {
  await shortIdp.stop();
  const r = await get(stoppedKubeconfig, '1.33', await home('stopped'));
  assert.notEqual(r.code, 0);
  assert.deepEqual(kubegateLines(r.stderr), [
    `kubegate: cannot reach the identity provider at ${shortIdp.issuer} (ECONNREFUSED): check the network or the --issuer flag`,
  ]);
});
