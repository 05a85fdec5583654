// The example policy (examples/policy.yaml, as shipped) end to end: a real kubegate in front of
// the test bed, a pod labelled sensitive=true and one without (kwok runs them), driven by real
// kubectl. Every way into the sensitive pod (exec and attach, port-forward with 1.33's WebSocket
// and 1.27's SPDY, the pod's proxy, kubectl debug), every change to it (kubectl label sensitive-,
// a pods/status patch, which the API server applies to labels too: shown first as the admin), a
// change to a workload whose pods are sensitive, and the node and service proxies are held for
// security; an SRE approval does not count (SRE is not even shown the request). Exec into the
// other pod goes through. The held requests are checked through the reviewer API (who must
// approve), not by timing; each held kubectl is stopped once its request is seen.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { copyFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { useTestbed } from '../fixtures/testbed.js';
import { kubectl, startKubectl, type KubectlResult, type KubectlVersion } from '../fixtures/kubectl.js';
import { startGateway, type GatewayHandle } from '../fixtures/gateway.js';
import { waitPodRunning } from '../fixtures/workloads.js';
import { reviewerOf, type Reviewer } from '../fixtures/reviewer.js';
import type { TestbedState } from '../../src/demo/control-plane.js';
import type { PendingRequest } from '../../src/approvals/types.js';

const root = resolve(import.meta.dirname, '../..');
const ns = `example-${randomBytes(3).toString('hex')}`;
const SECURITY = ['1 of group:security'];

let tb: TestbedState;
let gw: GatewayHandle;
let alice: string; // requester (group dev)
let bob: Reviewer; // sre
let carol: Reviewer; // security

const admin = (args: string[], stdin?: string): Promise<KubectlResult> =>
  kubectl(args, { kubeconfig: tb.adminKubeconfig, ...(stdin === undefined ? {} : { stdin }) });
const asAlice = (args: string[], version: KubectlVersion = '1.33'): Promise<KubectlResult> =>
  kubectl(args, { kubeconfig: alice, version, timeoutMs: 120_000 });

function pod(name: string, labels: Record<string, string>): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: ns, labels: { app: name, ...labels } },
    spec: { containers: [{ name: 'main', image: 'registry.example/app:1' }] },
  });
}

/** Who must approve, one entry per requirement, as policy fixtures write it (`1 of group:security`). */
function approvals(p: PendingRequest): string[] {
  return p.requirements.map((r) =>
    r.stages
      .map((s) => `${s.count} of ${s.approvers.map((a) => `${a.kind}:${a.name}`).join(' or ')}`)
      .join(' then '),
  );
}

const approveRules = (p: PendingRequest): string[] =>
  p.rules.filter((r) => r.action === 'approve').map((r) => r.name);

interface Target {
  readonly resource: string;
  readonly subresource?: string;
  readonly name: string;
  readonly verb?: string;
}

const pendingFor = (t: Target) => (p: PendingRequest) =>
  p.state === 'pending' &&
  p.requester.user === 'alice' &&
  p.request.resource === t.resource &&
  p.request.subresource === (t.subresource ?? '') &&
  p.request.name === t.name &&
  (t.verb === undefined || p.request.verb === t.verb);

/**
 * Starts `args` as alice, waits until security is asked to review it, and stops kubectl: the
 * request that was held, as security sees it. With `sreTries`, bob (SRE) tries to approve it and
 * must be refused, leaving it pending.
 */
async function heldForSecurity(
  args: string[],
  target: Target,
  options: { version?: KubectlVersion; sreTries?: boolean } = {},
): Promise<PendingRequest> {
  const run = startKubectl(args, { kubeconfig: alice, version: options.version ?? '1.33' });
  try {
    const pending = await carol.waitFor(pendingFor(target), 60_000).catch((err: unknown) => {
      throw new Error(`${String(err)}\nkubectl: ${run.output()}\nkubegate:\n${gw.output().slice(-3000)}`);
    });
    assert.deepEqual(
      pending.rules.filter((r) => r.failedClosed !== undefined),
      [],
      'judged on the live object, not held because a lookup failed',
    );
    if (options.sreTries === true) await sreCannotApprove(pending);
    return pending;
  } finally {
    run.stop();
  }
}

async function sreCannotApprove(pending: PendingRequest): Promise<void> {
  assert.ok(
    !(await bob.requests()).some((p) => p.id === pending.id),
    'SRE is not among those asked, so it is not shown the request',
  );
  const r = await bob.cli(['approve', pending.id]);
  assert.notEqual(r.code, 0, `an SRE approval must be refused: ${r.stdout}`);
  const now = (await carol.requests()).find((p) => p.id === pending.id);
  assert.equal(now?.state, 'pending');
  assert.deepEqual(now.reviews, []);
}

before(async () => {
  tb = await useTestbed();
  const policyFile = join(tb.dir, `example-policy-${ns}.yaml`);
  await copyFile(join(root, 'examples', 'policy.yaml'), policyFile);
  gw = await startGateway(tb, {
    config: { policy: { file: policyFile }, approvals: { holdTimeoutMs: 5 * 60_000 } },
  });
  for (const args of [
    ['create', 'namespace', ns],
    ['create', 'rolebinding', 'dev-edit', '-n', ns, '--clusterrole=edit', '--group=dev'],
  ]) {
    const r = await admin(args);
    assert.equal(r.code, 0, r.stderr);
  }
  for (const manifest of [
    pod('vault', { sensitive: 'true' }),
    pod('vault-label', { sensitive: 'true' }),
    pod('vault-status', { sensitive: 'true' }),
    pod('shop', {}),
  ]) {
    const r = await admin(['apply', '-f', '-'], manifest);
    assert.equal(r.code, 0, r.stderr);
  }
  for (const name of ['vault', 'shop']) await waitPodRunning(admin, ns, name);
  alice = await gw.kubeconfigFor('alice', ['dev']);
  bob = await reviewerOf(gw, await gw.kubeconfigFor('bob', ['sre']));
  carol = await reviewerOf(gw, await gw.kubeconfigFor('carol', ['security']));
});

after(async () => {
  for (const r of [bob, carol]) await r?.close();
  await gw?.stop();
  await admin(['delete', 'namespace', ns, '--wait=false']);
});

const labelsOf = async (name: string): Promise<Record<string, string>> => {
  const r = await admin(['get', 'pod', name, '-n', ns, '-o', 'jsonpath={.metadata.labels}']);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Record<string, string>;
};

test('kubectl label pod sensitive- waits for security: an SRE approval is refused, security approval removes the label', async () => {
  const run = startKubectl(['label', 'pod', 'vault-label', '-n', ns, 'sensitive-'], { kubeconfig: alice });
  try {
    const pending = await carol.waitFor(pendingFor({ resource: 'pods', name: 'vault-label' }), 60_000);
    assert.equal(pending.request.verb, 'patch');
    assert.deepEqual(approveRules(pending), ['sensitive-pod-changes']);
    assert.equal(pending.rules[0]?.failedClosed, undefined, 'judged on the live labels');
    assert.deepEqual(approvals(pending), SECURITY);
    await sreCannotApprove(pending);
    assert.equal(run.child.exitCode, null, 'kubectl still waits after the SRE attempt');
    assert.equal((await labelsOf('vault-label')).sensitive, 'true');
    const r = await carol.cli(['approve', pending.id]);
    assert.equal(r.code, 0, r.stderr);
    await run.waitFor(/pod\/vault-label unlabeled/, 60_000);
    assert.equal((await labelsOf('vault-label')).sensitive, undefined);
  } finally {
    run.stop();
  }
});

test('the API server applies a label change sent to pods/status, and kubegate holds that patch for security', async () => {
  // The API server half, as the admin: the pod status strategy resets spec and ownerReferences,
  // not labels.
  const statusPatch = [
    '--subresource=status',
    '--type=merge',
    '-p',
    '{"metadata":{"labels":{"sensitive":null}}}',
  ];
  let r = await admin(['apply', '-f', '-'], pod('status-probe', { sensitive: 'true' }));
  assert.equal(r.code, 0, r.stderr);
  r = await admin(['patch', 'pod', 'status-probe', '-n', ns, ...statusPatch]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal((await labelsOf('status-probe')).sensitive, undefined, 'pods/status removed the label');
  // kubegate's half: the same patch by alice waits for security.
  const pending = await heldForSecurity(['patch', 'pod', 'vault-status', '-n', ns, ...statusPatch], {
    resource: 'pods',
    subresource: 'status',
    name: 'vault-status',
  });
  assert.deepEqual(approveRules(pending), ['sensitive-pod-changes']);
  assert.deepEqual(approvals(pending), SECURITY);
  assert.equal((await labelsOf('vault-status')).sensitive, 'true');
});

for (const version of ['1.33', '1.27'] as const) {
  describe(`kubectl ${version}`, () => {
    test('exec into the sensitive pod waits for security, and an SRE approval is refused', async () => {
      const pending = await heldForSecurity(
        ['exec', '-n', ns, 'vault', '--', 'echo', `held-${version}`],
        { resource: 'pods', subresource: 'exec', name: 'vault' },
        { version, sreTries: true },
      );
      assert.deepEqual(approveRules(pending), ['sensitive-exec']);
      assert.deepEqual(approvals(pending), SECURITY);
    });

    test('port-forward to the sensitive pod waits for security, and an SRE approval is refused', async () => {
      const pending = await heldForSecurity(
        ['port-forward', '-n', ns, 'pod/vault', version === '1.33' ? ':8200' : ':8201'],
        { resource: 'pods', subresource: 'portforward', name: 'vault' },
        { version, sreTries: true },
      );
      assert.deepEqual(approveRules(pending), ['sensitive-exec']);
      assert.deepEqual(approvals(pending), SECURITY);
    });

    test('exec into the pod without the label goes through', async () => {
      const r = await asAlice(['exec', '-n', ns, 'shop', '--', 'echo', `hello-${version}`], version);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, `hello-${version}\n`);
    });
  });
}

test('attach to the sensitive pod waits for security', async () => {
  const pending = await heldForSecurity(['attach', '-n', ns, 'vault'], {
    resource: 'pods',
    subresource: 'attach',
    name: 'vault',
  });
  assert.deepEqual(approveRules(pending), ['sensitive-exec']);
  assert.deepEqual(approvals(pending), SECURITY);
});

test('kubectl debug (an ephemeral container) on the sensitive pod waits for security', async () => {
  const pending = await heldForSecurity(
    ['debug', '-n', ns, 'vault', '--image=registry.example/busybox:1', '--', 'true'],
    { resource: 'pods', subresource: 'ephemeralcontainers', name: 'vault' },
  );
  assert.deepEqual(approveRules(pending), ['sensitive-exec']);
  assert.deepEqual(approvals(pending), SECURITY);
});

test("a GET through the sensitive pod's proxy waits for security", async () => {
  const pending = await heldForSecurity(
    ['get', '--raw', `/api/v1/namespaces/${ns}/pods/vault:8200/proxy/v1/sys/health`],
    { resource: 'pods', subresource: 'proxy', name: 'vault:8200' },
  );
  assert.deepEqual(approveRules(pending), ['sensitive-exec']);
  assert.deepEqual(approvals(pending), SECURITY);
});

test('a GET through nodes/proxy (the kubelet runs commands) waits for security, and an SRE approval is refused', async () => {
  const pending = await heldForSecurity(
    ['get', '--raw', `/api/v1/nodes/${tb.nodeName}/proxy/run/${ns}/vault/main?cmd=id`],
    { resource: 'nodes', subresource: 'proxy', name: tb.nodeName },
    { sreTries: true },
  );
  assert.deepEqual(approveRules(pending), ['node-and-service-proxies']);
  assert.deepEqual(approvals(pending), SECURITY);
});

test("a GET through a service's proxy waits for security", async () => {
  let r = await admin(['create', 'service', 'clusterip', 'vault', '-n', ns, '--tcp=8200:8200']);
  assert.equal(r.code, 0, r.stderr);
  const pending = await heldForSecurity(
    ['get', '--raw', `/api/v1/namespaces/${ns}/services/vault:8200/proxy/`],
    { resource: 'services', subresource: 'proxy', name: 'vault:8200' },
  );
  assert.deepEqual(approveRules(pending), ['node-and-service-proxies']);
  assert.deepEqual(approvals(pending), SECURITY);
  r = await admin(['get', 'service', 'vault', '-n', ns, '-o', 'name']);
  assert.equal(r.stdout.trim(), 'service/vault');
});

test('changing a statefulset whose pods are sensitive needs two from SRE and one from security', async () => {
  const sts = {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'vault-db', namespace: ns },
    spec: {
      serviceName: 'vault-db',
      replicas: 1,
      selector: { matchLabels: { app: 'vault-db' } },
      template: {
        metadata: { labels: { app: 'vault-db', sensitive: 'true' } },
        spec: { containers: [{ name: 'db', image: 'registry.example/db:1' }] },
      },
    },
  };
  const r = await admin(['apply', '-f', '-'], JSON.stringify(sts));
  assert.equal(r.code, 0, r.stderr);
  const pending = await heldForSecurity(
    ['set', 'image', 'statefulset/vault-db', '-n', ns, 'db=registry.example/other:1'],
    { resource: 'statefulsets', name: 'vault-db' },
  );
  assert.deepEqual(approveRules(pending), ['statefulsets-need-two', 'sensitive-pod-templates']);
  assert.deepEqual(approvals(pending), ['2 of group:sre', ...SECURITY]);
});
