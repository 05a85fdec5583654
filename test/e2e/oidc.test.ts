// OpenID Connect sign-in end to end: a real OpenID provider (Ory Hydra, test/fixtures/idp.ts), the
// real gateway trusting it (identity.oidc) and kubectl 1.33 with `token: <id_token>` in its
// kubeconfig (the exec-plugin flow, `kubegate login`, has its own tests). The API server trusts
// nothing new: kubegate verifies the ID token and impersonates the user and groups it names.
// Shown: a read is allowed and audited with the issuer and subject; the API server sees the
// impersonated user and prefixed groups (kubectl auth whoami); a held delete waits for an approver
// from the IdP group sre, who approves with their own ID token through the reviewer API; a token
// for another client and a token of a provider that is down are refused with messages kubectl
// prints, while kubegate's other identities keep working.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generateKeyPair, SignJWT } from 'jose';
import { Agent } from 'undici';
import { parse, stringify } from 'yaml';
import { freePort } from '../../src/demo/ports.js';
import type { TestbedState } from '../../src/demo/control-plane.js';
import type { PendingRequest } from '../../src/approvals/types.js';
import { useTestbed } from '../fixtures/testbed.js';
import { kubectl, startKubectl } from '../fixtures/kubectl.js';
import { startGateway, type GatewayHandle } from '../fixtures/gateway.js';
import { reviewerOf, type Reviewer } from '../fixtures/reviewer.js';
import { startIdp, type Idp, type IdpClient, type IdpUser } from '../fixtures/idp.js';
import { idTokenFor, kubeconfigWithToken } from '../fixtures/oidc-tokens.js';

const ns = `oidc-${randomBytes(3).toString('hex')}`;

const alice: IdpUser = {
  username: 'alice',
  password: 'alice-pw',
  email: 'alice@example.com',
  groups: ['dev'],
};
const sam: IdpUser = { username: 'sam', password: 'sam-pw', email: 'sam@example.com', groups: ['sre'] };

let tb: TestbedState;
let idp: Idp;
let idpTls: Agent;
let kubegateClient: IdpClient;
let otherClient: IdpClient;
let gw: GatewayHandle;
/** An issuer kubegate trusts whose provider never answers (the port is closed). */
let downIssuer: string;
let aliceKubeconfig: string;
let sam_: Reviewer;

const admin = (args: string[], stdin?: string) =>
  kubectl(args, { kubeconfig: tb.adminKubeconfig, ...(stdin === undefined ? {} : { stdin }) });
const as = (kubeconfig: string) => (args: string[]) =>
  kubectl(args, { kubeconfig, version: '1.33', timeoutMs: 120_000 });

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

before(async () => {
  tb = await useTestbed();
  idp = await startIdp({ users: [alice, sam] });
  idpTls = new Agent({ connect: { ca: idp.caPem } });
  kubegateClient = await idp.createClient({ redirectUris: ['http://127.0.0.1/callback'], public: true });
  otherClient = await idp.createClient({ redirectUris: ['http://127.0.0.1/callback'], public: true });
  downIssuer = `https://127.0.0.1:${await freePort()}`;
  const policyFile = join(tb.dir, `oidc-${ns}.yaml`);
  await writeFile(policyFile, stringify(policy));
  gw = await startGateway(tb, {
    config: {
      policy: { file: policyFile },
      approvals: { holdTimeoutMs: 5 * 60_000 },
      identity: {
        oidc: [
          {
            issuerUrl: idp.issuer,
            clientId: kubegateClient.clientId,
            usernameClaim: 'email',
            groupsClaim: 'groups',
            groupsPrefix: 'oidc:',
            caFile: idp.caFile,
          },
          { issuerUrl: downIssuer, clientId: 'kubegate' },
        ],
      },
      log: { level: 'info' },
    },
  });
  for (const args of [
    ['create', 'namespace', ns],
    ['create', 'rolebinding', 'idp-dev-edit', '-n', ns, '--clusterrole=edit', '--group=oidc:dev'],
    ['create', 'rolebinding', 'idp-sre-view', '-n', ns, '--clusterrole=view', '--group=oidc:sre'],
    ['create', 'configmap', 'settings', '-n', ns, '--from-literal=k=v'],
  ]) {
    const r = await admin(args);
    assert.equal(r.code, 0, r.stderr);
  }
  aliceKubeconfig = await kubeconfigWithToken(gw, 'alice', await idTokenFor(idp, alice, kubegateClient));
  sam_ = await reviewerOf(
    gw,
    await kubeconfigWithToken(gw, 'sam', await idTokenFor(idp, sam, kubegateClient)),
  );
});

after(async () => {
  await sam_?.close();
  await gw?.stop();
  await idpTls?.close();
  await idp?.stop();
  if (tb) await admin(['delete', 'namespace', ns, '--wait=false']);
});

test('a read with an ID token is allowed and audited with the issuer and subject beside the user', async () => {
  const r = await as(aliceKubeconfig)(['get', 'configmap', 'settings', '-n', ns, '-o', 'jsonpath={.data.k}']);
  assert.equal(r.code, 0, `${r.stderr}\n${gw.output().slice(-3000)}`);
  assert.equal(r.stdout, 'v');
  const [decided] = await gw.waitForAudit(
    (e) => e.kind === 'decided' && e.user === 'alice@example.com' && e.request?.name === 'settings',
  );
  assert.ok(decided, 'the read was audited');
  assert.deepEqual(decided.groups, ['oidc:dev']);
  assert.deepEqual(decided.oidc, { issuer: idp.issuer, subject: 'alice' });
  const [forwarded] = await gw.waitForAudit(
    (e) => e.kind === 'forwarded' && e.requestId === decided.requestId,
  );
  assert.deepEqual(forwarded?.oidc, { issuer: idp.issuer, subject: 'alice' });
  assert.equal(forwarded?.status, 200);
});

test('the API server sees the impersonated user and the IdP groups with their prefix, never the ID token', async () => {
  const r = await as(aliceKubeconfig)(['auth', 'whoami', '-o', 'json']);
  assert.equal(r.code, 0, r.stderr);
  const userInfo = (JSON.parse(r.stdout) as { status: { userInfo: { username: string; groups: string[] } } })
    .status.userInfo;
  assert.equal(userInfo.username, 'alice@example.com');
  assert.deepEqual(userInfo.groups, ['oidc:dev', 'system:authenticated']);
  // The API server does not know Hydra's ID tokens: the token itself is refused there, so
  // everything above reached it as kubegate's impersonation, not as the token.
  const direct = await kubectl(['get', 'configmaps', '-n', ns], {
    kubeconfig: await kubeconfigWithDirectToken(),
    version: '1.33',
  });
  assert.notEqual(direct.code, 0);
  assert.match(direct.stderr, /You must be logged in to the server|Unauthorized/u);
});

/** A kubeconfig for the API server itself with alice's ID token (which it must not accept). */
async function kubeconfigWithDirectToken(): Promise<string> {
  const token = /token: (\S+)/u.exec(await readFile(aliceKubeconfig, 'utf8'))?.[1];
  assert.ok(token);
  const adminConfig = parse(await readFile(tb.adminKubeconfig, 'utf8')) as { clusters: { name: string }[] };
  const file = join(gw.dataDir, 'direct.kubeconfig');
  await writeFile(
    file,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: adminConfig.clusters,
      users: [{ name: 'alice', user: { token } }],
      contexts: [{ name: 'direct', context: { cluster: adminConfig.clusters[0]!.name, user: 'alice' } }],
      'current-context': 'direct',
    }),
    { mode: 0o600 },
  );
  return file;
}

test('a held delete waits for an approver from the IdP group sre, who approves with their own ID token', async () => {
  const del = startKubectl(['delete', 'configmap', 'settings', '-n', ns], {
    kubeconfig: aliceKubeconfig,
    version: '1.33',
  });
  try {
    const pending = await sam_.waitFor(
      (p: PendingRequest) =>
        p.state === 'pending' && p.requester.user === 'alice@example.com' && p.request.name === 'settings',
    );
    assert.deepEqual(pending.requester.groups, ['oidc:dev']);
    const aliceAsReviewer = await reviewerOf(gw, aliceKubeconfig);
    try {
      const own = await aliceAsReviewer.cli(['approve', pending.id]);
      assert.notEqual(own.code, 0, 'the requester cannot approve');
    } finally {
      await aliceAsReviewer.close();
    }
    const r = await sam_.cli(['approve', pending.id, '--comment', 'ok from sre']);
    assert.equal(r.code, 0, `${r.stdout}${r.stderr}`);
    await del.waitFor(/configmap "settings" deleted/u, 60_000);
    const [reviewed] = await gw.waitForAudit((e) => e.kind === 'reviewed' && e.pendingId === pending.id);
    assert.equal(reviewed?.actor, 'sam@example.com');
  } finally {
    del.stop();
  }
  const gone = await admin(['get', 'configmap', 'settings', '-n', ns]);
  assert.notEqual(gone.code, 0);
});

test('an ID token for another client is refused with a message kubectl prints, and audited', async () => {
  const kubeconfig = await kubeconfigWithToken(gw, 'alice-other', await idTokenFor(idp, alice, otherClient));
  // A command that starts with its own request, not API discovery: client-go drops the Status of
  // a failed discovery and prints only "the server has asked for the client to provide credentials".
  const r = await as(kubeconfig)(['get', '--raw', `/api/v1/namespaces/${ns}/configmaps`]);
  assert.notEqual(r.code, 0);
  assert.match(
    r.stderr,
    /error: You must be logged in to the server \(kubegate could not authenticate you: your ID token from https:\/\/127\.0\.0\.1:\d+ was issued for another application/u,
  );
  const refused = await gw.waitForAudit(
    (e) => e.kind === 'refused' && e.errorCode === 'KG_AUTHN_OIDC_INVALID' && e.status === 401,
  );
  assert.ok(refused.length > 0);
  assert.equal(refused[0]?.user, null, 'nobody was authenticated');
});

test('a token of a trusted provider that is down is refused as such; kubegate started anyway, and other identities work', async () => {
  const { privateKey } = await generateKeyPair('RS256');
  const now = Math.floor(Date.now() / 1000);
  const token = await new SignJWT({ iss: downIssuer, aud: 'kubegate', sub: 'x', exp: now + 600, iat: now })
    .setProtectedHeader({ alg: 'RS256', kid: 'k' })
    .sign(privateKey);
  const r = await as(await kubeconfigWithToken(gw, 'down', token))(['auth', 'whoami']);
  assert.notEqual(r.code, 0);
  assert.match(
    r.stderr,
    /kubegate cannot check your ID token: your identity provider https:\/\/127\.0\.0\.1:\d+ is not usable now: it cannot be reached for its discovery document \(ECONNREFUSED\)/u,
  );
  assert.match(gw.output(), /OIDC identity provider unreachable/u);
  const bob = await gw.kubeconfigFor('bob', ['ops'], { token: true });
  const ok = await as(bob)(['auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}']);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(ok.stdout, 'bob');
});
