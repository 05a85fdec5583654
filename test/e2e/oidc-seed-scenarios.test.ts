// The three day-one scenarios under the example policy (examples/policy.yaml), with people who
// sign in at a real OpenID provider (Ory Hydra) and whose groups come from it: deleting a
// deployment is allowed in staging and refused in prod; a statefulset change waits for two
// people of the IdP's group sre; exec into a pod labelled sensitive waits for the IdP's group
// security, and an sre approval does not count. kubectl 1.33 presents each person's ID token.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { packageRoot } from '../../src/package-root.js';
import type { TestbedState } from '../../src/demo/control-plane.js';
import type { PendingRequest } from '../../src/approvals/types.js';
import { useTestbed } from '../fixtures/testbed.js';
import { kubectl, startKubectl } from '../fixtures/kubectl.js';
import { startGateway, type GatewayHandle } from '../fixtures/gateway.js';
import { reviewerOf, type Reviewer } from '../fixtures/reviewer.js';
import { startIdp, type Idp, type IdpUser } from '../fixtures/idp.js';
import { idTokenFor, kubeconfigWithToken } from '../fixtures/oidc-tokens.js';
import { statefulsetManifest, waitPodRunning } from '../fixtures/workloads.js';

const suffix = randomBytes(3).toString('hex');
const staging = 'staging';
const prod = `prod-${suffix}`;
const data = `data-${suffix}`;

const person = (username: string, groups: string[]): IdpUser => ({
  username,
  password: `${username}-pw`,
  email: `${username}@example.com`,
  groups,
});
const people = {
  alice: person('alice', ['dev']),
  sam: person('sam', ['sre']),
  tess: person('tess', ['sre']),
  sec: person('sec', ['security']),
};

let tb: TestbedState;
let idp: Idp;
let gw: GatewayHandle;
let alice: string;
let sam: Reviewer;
let tess: Reviewer;
let sec: Reviewer;

const admin = (args: string[], stdin?: string) =>
  kubectl(args, { kubeconfig: tb.adminKubeconfig, ...(stdin === undefined ? {} : { stdin }) });
const asAlice = (args: string[]) => kubectl(args, { kubeconfig: alice, version: '1.33', timeoutMs: 120_000 });

const pendingFor = (resource: string, name: string) => (p: PendingRequest) =>
  p.state === 'pending' &&
  p.requester.user === 'alice@example.com' &&
  p.request.resource === resource &&
  p.request.name === name;

before(async () => {
  tb = await useTestbed();
  idp = await startIdp({ users: Object.values(people) });
  const client = await idp.createClient({ redirectUris: ['http://127.0.0.1/callback'], public: true });
  gw = await startGateway(tb, {
    config: {
      policy: { file: join(packageRoot(import.meta.dirname), 'examples', 'policy.yaml') },
      identity: {
        oidc: [
          {
            issuerUrl: idp.issuer,
            clientId: client.clientId,
            usernameClaim: 'email',
            groupsClaim: 'groups',
            caFile: idp.caFile,
          },
        ],
      },
    },
  });
  for (const args of [
    ['create', 'namespace', prod],
    ['create', 'namespace', data],
    ['create', 'rolebinding', 'dev-edit', '-n', prod, '--clusterrole=edit', '--group=dev'],
    ['create', 'rolebinding', 'dev-edit', '-n', data, '--clusterrole=edit', '--group=dev'],
  ]) {
    const r = await admin(args);
    assert.equal(r.code, 0, r.stderr);
  }
  const token = (who: IdpUser) => idTokenFor(idp, who, client);
  alice = await kubeconfigWithToken(gw, 'alice', await token(people.alice));
  sam = await reviewerOf(gw, await kubeconfigWithToken(gw, 'sam', await token(people.sam)));
  tess = await reviewerOf(gw, await kubeconfigWithToken(gw, 'tess', await token(people.tess)));
  sec = await reviewerOf(gw, await kubeconfigWithToken(gw, 'sec', await token(people.sec)));
});

after(async () => {
  for (const r of [sam, tess, sec]) await r?.close();
  await gw?.stop();
  await idp?.stop();
  await admin(['delete', 'namespace', prod, data, '--wait=false']);
  await admin(['delete', 'rolebinding', `dev-edit-${suffix}`, '-n', staging]);
});

test('an IdP user deletes a deployment in staging; in prod the rule refuses it with its message', async () => {
  let r = await admin(['create', 'namespace', staging]);
  assert.ok(r.code === 0 || /AlreadyExists/.test(r.stderr), r.stderr);
  r = await admin([
    'create',
    'rolebinding',
    `dev-edit-${suffix}`,
    '-n',
    staging,
    '--clusterrole=edit',
    '--group=dev',
  ]);
  assert.ok(r.code === 0 || /AlreadyExists/.test(r.stderr), r.stderr);
  for (const ns of [staging, prod]) {
    r = await admin(['create', 'deployment', `web-${suffix}`, '-n', ns, '--image=registry.example/web:1']);
    assert.equal(r.code, 0, r.stderr);
  }
  r = await asAlice(['delete', 'deployment', `web-${suffix}`, '-n', staging]);
  assert.equal(r.code, 0, r.stderr);
  r = await asAlice(['delete', 'deployment', `web-${suffix}`, '-n', prod]);
  assert.equal(r.code, 1);
  assert.match(
    r.stderr,
    /Error from server \(Forbidden\): Deleting deployments in production is not allowed\./,
  );
  const refused = await gw.waitForAudit(
    (e) => e.kind === 'refused' && e.request?.namespace === prod && e.decision === 'deny',
  );
  const record = refused[0];
  assert.equal(record?.user, 'alice@example.com');
  assert.equal(record?.oidc?.issuer, idp.issuer);
  assert.equal(record?.oidc?.subject, 'alice');
});

test('a statefulset change by an IdP user waits for two people of the IdP group sre', async () => {
  let r = await admin(['apply', '-f', '-'], statefulsetManifest('db', data));
  assert.equal(r.code, 0, r.stderr);
  const scale = startKubectl(['scale', 'statefulset', 'db', '-n', data, '--replicas=3'], {
    kubeconfig: alice,
  });
  try {
    const pending = await sam.waitFor(pendingFor('statefulsets', 'db'), 60_000);
    assert.deepEqual(
      pending.requirements.map((q) => q.rule),
      ['statefulsets-need-two'],
    );
    r = await sam.cli(['approve', pending.id]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /1 more of group sre \(approved so far by sam@example\.com\)/);
    assert.equal(scale.child.exitCode, null, 'one approval is not enough');
    r = await tess.cli(['approve', pending.id]);
    assert.equal(r.code, 0, r.stderr);
    await scale.waitFor(/statefulset.apps\/db scaled/, 30_000);
  } finally {
    scale.stop();
  }
  r = await admin(['get', 'statefulset', 'db', '-n', data, '-o', 'jsonpath={.spec.replicas}']);
  assert.equal(r.stdout, '3');
});

test('exec into a sensitive pod by an IdP user waits for the IdP group security; sre cannot approve it', async () => {
  let r = await admin([
    'run',
    'vault',
    '-n',
    data,
    '--image=registry.example/vault:1',
    '--labels=sensitive=true',
  ]);
  assert.equal(r.code, 0, r.stderr);
  await waitPodRunning(admin, data, 'vault');
  const exec = startKubectl(['exec', '-n', data, 'vault', '--', 'echo', 'opened'], { kubeconfig: alice });
  try {
    const pending = await sec.waitFor(pendingFor('pods', 'vault'), 60_000);
    assert.equal(pending.request.subresource, 'exec');
    r = await sam.cli(['approve', pending.id]);
    assert.notEqual(r.code, 0, 'sre is not security');
    r = await sec.cli(['approve', pending.id]);
    assert.equal(r.code, 0, r.stderr);
    await exec.waitFor(/opened/, 30_000);
  } finally {
    exec.stop();
  }
});
