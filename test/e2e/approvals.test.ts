// Approvals end to end, with the real control plane and real kubectl: a request flagged by a rule
// waits (hold) or is told to come back (deferred) until designated reviewers approve that one
// request; then kubectl carries on. Every step lands in the hash-chained audit trail.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import Database from '../../src/store/sqlite/driver.js';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { useTestbed } from '../fixtures/testbed.js';
import { kubectl, startKubectl, type RunningKubectl } from '../fixtures/kubectl.js';
import { startGateway, kubegate, type GatewayHandle } from '../fixtures/gateway.js';
import { reviewerOf, type Reviewer } from '../fixtures/reviewer.js';
import { statefulsetManifest, waitPodRunning } from '../fixtures/workloads.js';
import type { TestbedState } from '../../src/demo/control-plane.js';
import type { PendingRequest } from '../../src/approvals/types.js';

const LONG_HOLD_MS = 3 * 60_000 + 5_000;
const ns = `ap-${randomBytes(3).toString('hex')}`;
const prod = `prod-${ns}`;

let tb: TestbedState;
let gw: GatewayHandle;
let alice: string; // requester (group dev)
let bob: Reviewer; // sre
let erin: Reviewer; // sre
let carol: Reviewer; // security
let aliceReviewer: Reviewer;
let longHold: { kubectl: RunningKubectl; started: number } | null = null;

const policy = {
  apiVersion: 'kubegate.dev/v1alpha1',
  kind: 'Policy',
  defaults: { action: 'allow' },
  rules: [
    {
      name: 'never-delete-prod-deployments',
      match: { verbs: ['delete', 'deletecollection'], resources: ['deployments'], namespaces: [prod] },
      action: 'deny',
      message: 'Deleting deployments in production is not allowed.',
    },
    {
      name: 'statefulsets-need-two',
      match: {
        verbs: ['create', 'update', 'patch', 'delete'],
        resources: ['statefulsets', 'statefulsets/*'],
        namespaces: [ns],
      },
      action: 'approve',
      message: 'Statefulsets hold data; two people from SRE must approve changes.',
      approval: { approvers: ['group:sre'], count: 2 },
    },
    {
      name: 'sensitive-exec',
      match: {
        resources: ['pods/exec', 'pods/attach'],
        namespaces: [ns],
        objectSelector: { matchLabels: { sensitive: 'true' } },
      },
      action: 'approve',
      approval: { approvers: ['group:security'], count: 1 },
    },
    {
      name: 'configmap-changes-deferred',
      match: {
        verbs: ['create', 'update', 'patch'],
        resources: ['configmaps'],
        namespaces: [ns],
        names: ['deferred-*', 'manifest-*'],
      },
      action: 'approve',
      approval: { approvers: ['group:sre'], count: 1, mode: 'deferred', grantTTL: '5m' },
    },
    {
      name: 'long-hold',
      match: { verbs: ['create'], resources: ['configmaps'], namespaces: [ns], names: ['long-hold'] },
      action: 'approve',
      approval: { approvers: ['group:sre'], count: 1, mode: 'hold' },
    },
    {
      name: 'escalating-secrets',
      match: { verbs: ['create'], resources: ['secrets'], namespaces: [ns] },
      action: 'approve',
      approval: {
        approvers: ['user:bob'],
        count: 1,
        // Long enough that the refused approval below comes before it even on a loaded machine
        // (the CLI alone takes seconds to start there).
        escalateAfter: '8s',
        escalateTo: ['group:security'],
        expiresAfter: '60s',
        mode: 'deferred',
      },
    },
    {
      name: 'expiring-services',
      match: { verbs: ['create'], resources: ['services'], namespaces: [ns], names: ['expires-*'] },
      action: 'approve',
      approval: { approvers: ['group:security'], count: 1, expiresAfter: '3s', mode: 'hold' },
    },
    {
      name: 'break-glass-services',
      match: { verbs: ['create'], resources: ['services'], namespaces: [ns], names: ['urgent-*'] },
      action: 'approve',
      approval: { approvers: ['group:security'], count: 1, mode: 'deferred', breakGlass: true },
    },
  ],
};

const as =
  (kubeconfig: string) =>
  (args: string[], stdin?: string, version: '1.27' | '1.33' = '1.33') =>
    kubectl(args, { kubeconfig, version, ...(stdin === undefined ? {} : { stdin }), timeoutMs: 120_000 });
const admin = (args: string[], stdin?: string) => as(tb.adminKubeconfig)(args, stdin);

/** JSON manifests: kubectl ≥1.32 sends `create <generator>` bodies as protobuf. */
const configmap = (name: string) =>
  JSON.stringify({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace: ns },
    data: { k: 'v' },
  });
const service = (name: string) =>
  JSON.stringify({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: ns },
    spec: { ports: [{ port: 80, targetPort: 80 }], selector: { app: name } },
  });

const pendingFor = (user: string, resource: string, name?: string) => (p: PendingRequest) =>
  p.state === 'pending' &&
  p.requester.user === user &&
  p.request.resource === resource &&
  (name === undefined || p.request.name === name);

before(async () => {
  tb = await useTestbed();
  const policyFile = join(tb.dir, `approvals-${ns}.yaml`);
  await writeFile(policyFile, stringify(policy));
  gw = await startGateway(tb, {
    config: { policy: { file: policyFile }, approvals: { holdTimeoutMs: 5 * 60_000 } },
  });
  for (const args of [
    ['create', 'namespace', ns],
    ['create', 'namespace', prod],
    ['create', 'rolebinding', 'dev-edit', '-n', ns, '--clusterrole=edit', '--group=dev'],
    ['create', 'rolebinding', 'dev-edit', '-n', prod, '--clusterrole=edit', '--group=dev'],
    [
      'create',
      'rolebinding',
      'reviewers-view',
      '-n',
      ns,
      '--clusterrole=view',
      '--group=sre',
      '--group=security',
    ],
  ]) {
    const r = await admin(args);
    assert.equal(r.code, 0, r.stderr);
  }
  alice = await gw.kubeconfigFor('alice', ['dev']);
  bob = await reviewerOf(gw, await gw.kubeconfigFor('bob', ['sre']));
  erin = await reviewerOf(gw, await gw.kubeconfigFor('erin', ['sre']));
  carol = await reviewerOf(gw, await gw.kubeconfigFor('carol', ['security']));
  aliceReviewer = await reviewerOf(gw, alice);
  // The long hold starts first and is approved at the end, after ≥ 3 minutes of waiting.
  longHold = {
    kubectl: startKubectl(['create', '-f', '-'], { kubeconfig: alice, stdin: configmap('long-hold') }),
    started: Date.now(),
  };
  await bob.waitFor(pendingFor('alice', 'configmaps', 'long-hold')).catch((err: unknown) => {
    throw new Error(
      `${String(err)}\nkubectl: ${longHold?.kubectl.output()}\nkubegate:\n${gw.output().slice(-3000)}`,
    );
  });
});

after(async () => {
  longHold?.kubectl.stop();
  for (const r of [bob, erin, carol, aliceReviewer]) await r?.close();
  await gw?.stop();
  await admin(['delete', 'namespace', ns, prod, '--wait=false']);
});

test('a statefulset patch is held until two distinct SRE approvers approve; the requester and a repeat approver are refused', async () => {
  let r = await admin(['apply', '-f', '-'], statefulsetManifest('db', ns));
  assert.equal(r.code, 0, r.stderr);
  const patch = startKubectl(
    ['patch', 'statefulset', 'db', '-n', ns, '-p', '{"metadata":{"labels":{"patched":"yes"}}}'],
    {
      kubeconfig: alice,
    },
  );
  try {
    const pending = await bob.waitFor(pendingFor('alice', 'statefulsets', 'db'));
    assert.deepEqual(
      pending.rules.map((x) => x.name),
      ['statefulsets-need-two'],
    );
    assert.match(pending.request.kubectlEquivalent, /kubectl patch statefulset db/);
    r = await aliceReviewer.cli(['approve', pending.id]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /own request/);
    r = await bob.cli(['approve', pending.id, '--comment', 'looks fine']);
    assert.equal(r.code, 0, r.stderr);
    r = await bob.cli(['approve', pending.id]);
    assert.notEqual(r.code, 0, 'the same person cannot count twice');
    assert.equal(patch.child.exitCode, null, 'one approval is not enough: kubectl still waits');
    r = await erin.cli(['approve', pending.id]);
    assert.equal(r.code, 0, r.stderr);
    await patch.waitFor(/statefulset.apps\/db patched/, 30_000);
    r = await admin(['get', 'statefulset', 'db', '-n', ns, '-o', 'jsonpath={.metadata.labels.patched}']);
    assert.equal(r.stdout, 'yes');
  } finally {
    patch.stop();
  }
});

for (const version of ['1.33', '1.27'] as const) {
  test(`kubectl ${version} exec into a sensitive pod waits for one security approval, asked once, then prints its output`, async () => {
    const pod = `secret-box-${version.replace('.', '')}`;
    let r = await admin(['run', pod, '-n', ns, '--image=registry.example/x:1', '--labels=sensitive=true']);
    assert.equal(r.code, 0, r.stderr);
    await waitPodRunning(admin, ns, pod);
    const exec = startKubectl(['exec', '-n', ns, pod, '--', 'echo', `approved-${version}`], {
      kubeconfig: alice,
      version,
    });
    try {
      const pending = await carol.waitFor(pendingFor('alice', 'pods', pod));
      assert.equal(pending.request.subresource, 'exec');
      r = await bob.cli(['approve', pending.id]);
      assert.notEqual(r.code, 0, 'sre is not a security approver');
      r = await carol.cli(['approve', pending.id]);
      assert.equal(r.code, 0, r.stderr);
      await exec.waitFor(new RegExp(`approved-${version}`), 30_000);
      const asked = (await carol.requests()).filter(
        (p) => p.requester.user === 'alice' && p.request.name === pod,
      );
      assert.equal(
        asked.length,
        1,
        'one command, one request to review (WebSocket and SPDY fallback share it)',
      );
    } finally {
      exec.stop();
    }
  });
}

test('a prod deployment delete is refused with the rule message', async () => {
  let r = await admin(['create', 'deployment', 'web', '-n', prod, '--image=registry.example/web:1']);
  assert.equal(r.code, 0, r.stderr);
  r = await as(alice)(['delete', 'deployment', 'web', '-n', prod]);
  assert.equal(r.code, 1);
  assert.match(
    r.stderr,
    /Error from server \(Forbidden\): .*Deleting deployments in production is not allowed\./,
  );
});

test('deferred: kubectl prints ApprovalRequired with the id; after approval the re-run goes through once; a third run asks again', async () => {
  let r = await admin(['create', 'configmap', 'deferred-a', '-n', ns, '--from-literal=k=v']);
  assert.equal(r.code, 0, r.stderr);
  const label = ['label', 'configmap', 'deferred-a', '-n', ns, 'reviewed=yes', '--overwrite'];
  r = await as(alice)(label);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /Error from server \(ApprovalRequired\)/);
  const id = /kg-[a-z0-9]+/.exec(r.stderr)?.[0];
  assert.ok(id, `no request id in: ${r.stderr}`);
  assert.match(r.stderr, /group sre/);
  r = await as(alice)(label);
  assert.match(r.stderr, new RegExp(id), 'the same command before approval meets the same pending request');
  r = await bob.cli(['approve', id]);
  assert.equal(r.code, 0, r.stderr);
  r = await as(alice)(label);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /labeled|not labeled/);
  r = await as(alice)(label);
  assert.equal(r.code, 1, 'the grant was used once');
  assert.match(r.stderr, /ApprovalRequired/);
  assert.doesNotMatch(r.stderr, new RegExp(id), 'a new request, not the used one');
});

test('an approval cannot be reused for the same path with another body', async () => {
  const manifest = (value: string) =>
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'manifest-a', namespace: ns },
      data: { value },
    });
  let r = await as(alice)(['apply', '-f', '-'], manifest('one'));
  const first = /kg-[a-z0-9]+/.exec(r.stderr)?.[0];
  assert.ok(first, r.stderr);
  r = await bob.cli(['approve', first]);
  assert.equal(r.code, 0, r.stderr);
  r = await as(alice)(['apply', '-f', '-'], manifest('two'));
  assert.equal(r.code, 1);
  const second = /kg-[a-z0-9]+/.exec(r.stderr)?.[0];
  assert.ok(second && second !== first, 'another body is another request');
  r = await as(alice)(['apply', '-f', '-'], manifest('one'));
  assert.equal(r.code, 0, `the approved body still goes through: ${r.stderr}`);
});

test('escalation: after escalateAfter the escalateTo group may approve, not before', async () => {
  let r = await as(alice)(['create', 'secret', 'generic', 'esc', '-n', ns, '--from-literal=k=v']);
  const id = /kg-[a-z0-9]+/.exec(r.stderr)?.[0];
  assert.ok(id, r.stderr);
  r = await carol.cli(['approve', id]);
  assert.notEqual(r.code, 0, 'security is not an approver before escalation');
  const deadline = Date.now() + 30_000;
  let escalated: PendingRequest | undefined;
  while (!escalated && Date.now() < deadline) {
    escalated = (await carol.requests()).find((p) => p.id === id && p.escalated);
    if (!escalated) await new Promise((res) => setTimeout(res, 200));
  }
  assert.ok(escalated, 'the request escalated');
  r = await carol.cli(['approve', id]);
  assert.equal(r.code, 0, r.stderr);
  r = await as(alice)(['create', 'secret', 'generic', 'esc', '-n', ns, '--from-literal=k=v']);
  assert.equal(r.code, 0, r.stderr);
});

test('expiry: a held request nobody answers expires and kubectl says so', async () => {
  const r = await as(alice)(['create', '-f', '-'], service('expires-a'));
  assert.equal(r.code, 1);
  assert.match(r.stderr, /expired/);
  const expired = (await carol.requests()).find((p) => p.request.name === 'expires-a');
  assert.equal(expired?.state, 'expired');
});

test('break-glass: the requester may self-approve with a reason only where the rule allows it, and it is flagged', async () => {
  let r = await as(alice)(['create', '-f', '-'], service('urgent-a'));
  const id = /kg-[a-z0-9]+/.exec(r.stderr)?.[0];
  assert.ok(id, r.stderr);
  r = await aliceReviewer.cli(['approve', id]);
  assert.notEqual(r.code, 0, 'a plain self-approval is refused');
  r = await aliceReviewer.cli([
    'approve',
    id,
    '--break-glass',
    'prod outage INC-42, nobody from security answers',
  ]);
  assert.equal(r.code, 0, r.stderr);
  r = await as(alice)(['create', '-f', '-'], service('urgent-a'));
  assert.equal(r.code, 0, r.stderr);
  const { stdout } = await kubegate(['audit', 'query', '--data-dir', gw.dataDir, '--json']);
  const events = stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map(
      (l) =>
        JSON.parse(l) as {
          event?: { breakGlass?: boolean; pendingId?: string };
          breakGlass?: boolean;
          pendingId?: string;
        },
    );
  const flagged = events.filter((e) => (e.event ?? e).breakGlass === true && (e.event ?? e).pendingId === id);
  assert.ok(flagged.length >= 1, 'the break-glass review is flagged in the audit trail');
  r = await as(alice)(['create', '-f', '-'], service('secure-a'));
  assert.equal(r.code, 0, 'services not named urgent-* need no approval at all');
});

test(
  'hold for more than 3 minutes, then approve: kubectl exits 0 with its normal output',
  { timeout: LONG_HOLD_MS + 60_000 },
  async () => {
    const hold = longHold!;
    const wait = hold.started + LONG_HOLD_MS - Date.now();
    if (wait > 0) await new Promise((res) => setTimeout(res, wait));
    assert.equal(hold.kubectl.child.exitCode, null, 'kubectl is still waiting after 3 minutes');
    const pending = await bob.waitFor(pendingFor('alice', 'configmaps', 'long-hold'));
    const r = await bob.cli(['approve', pending.id, '--comment', 'after a long wait']);
    assert.equal(r.code, 0, r.stderr);
    await hold.kubectl.waitFor(/configmap\/long-hold created/, 30_000);
    const code = await new Promise<number | null>((res) =>
      hold.kubectl.child.exitCode !== null
        ? res(hold.kubectl.child.exitCode)
        : hold.kubectl.child.once('exit', (c) => res(c)),
    );
    assert.equal(code, 0);
  },
);

test('the audit trail of this run verifies, and an edited record is pinpointed', async () => {
  const ok = await kubegate(['audit', 'verify', '--data-dir', gw.dataDir]);
  assert.match(ok.stdout, /verified/);
  // Tamper with a consistent copy (the gateway keeps writing to the original): rewrite who
  // approved the statefulset patch.
  const copyDir = await mkdtemp(join(tmpdir(), 'kubegate-tamper-'));
  const live = new Database(join(gw.dataDir, 'audit.db'), { readonly: true });
  live.exec(`VACUUM INTO '${join(copyDir, 'audit.db')}'`);
  live.close();
  const copy = new Database(join(copyDir, 'audit.db'));
  const row = copy
    .prepare("SELECT seq, event FROM audit_events WHERE kind = 'reviewed' AND actor = 'erin' LIMIT 1")
    .get() as { seq: number; event: string } | undefined;
  assert.ok(row, 'the review is in the trail');
  copy
    .prepare('UPDATE audit_events SET event = ? WHERE seq = ?')
    .run(row.event.replace('"erin"', '"mallory"'), row.seq);
  copy.close();
  const bad = await kubegate(['audit', 'verify', '--data-dir', copyDir]).then(
    () => assert.fail('verify passed on an edited trail'),
    (err: { code?: number; stdout?: string; stderr?: string }) => err,
  );
  assert.equal(bad.code, 1);
  assert.match(
    `${bad.stdout}${bad.stderr}`,
    new RegExp(`\\b${row.seq}\\b`),
    'verify names the edited record',
  );
});
