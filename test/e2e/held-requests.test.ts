// Held requests end with their requester, and denials stick (issue 18, items 1–3), with the real
// control plane and real kubectl: a command that stopped waiting never runs later by itself; a
// denied exec is not asked again by kubectl's WebSocket → SPDY fallback, and kubectl prints the
// denial; the requester can withdraw a request; pending requests expire by default.
import type { ChildProcess } from 'node:child_process';
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { useTestbed } from '../fixtures/testbed.js';
import { kubectl, startKubectl, type KubectlVersion } from '../fixtures/kubectl.js';
import { startGateway, type GatewayHandle } from '../fixtures/gateway.js';
import { reviewerOf, type Reviewer } from '../fixtures/reviewer.js';
import { statefulsetManifest, waitPodRunning } from '../fixtures/workloads.js';
import type { TestbedState } from '../../src/demo/control-plane.js';
import type { PendingRequest } from '../../src/approvals/types.js';

const ns = `held-${randomBytes(3).toString('hex')}`;

let tb: TestbedState;
let gw: GatewayHandle;
let alice: string; // requester (group dev)
let aliceReviewer: Reviewer;
let bob: Reviewer; // sre
let carol: Reviewer; // security

const policy = {
  apiVersion: 'kubegate.dev/v1alpha1',
  kind: 'Policy',
  defaults: { action: 'allow' },
  rules: [
    {
      name: 'statefulsets-need-sre',
      match: { verbs: ['update', 'patch'], resources: ['statefulsets', 'statefulsets/*'], namespaces: [ns] },
      action: 'approve',
      approval: { approvers: ['group:sre'], count: 1 },
    },
    {
      name: 'node-proxy-needs-sre',
      match: { resources: ['nodes/proxy'] },
      action: 'approve',
      approval: { approvers: ['group:sre'], count: 1 },
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
      name: 'configmaps-need-two',
      match: { verbs: ['create'], resources: ['configmaps'], namespaces: [ns] },
      action: 'approve',
      approval: { approvers: ['group:sre'], count: 2 },
    },
  ],
};

const as =
  (kubeconfig: string, version: KubectlVersion = '1.33') =>
  (args: string[], stdin?: string) =>
    kubectl(args, { kubeconfig, version, ...(stdin === undefined ? {} : { stdin }), timeoutMs: 120_000 });
const admin = (args: string[], stdin?: string) => as(tb.adminKubeconfig)(args, stdin);

const pendingFor = (resource: string, name: string, subresource?: string) => (p: PendingRequest) =>
  p.state === 'pending' &&
  p.requester.user === 'alice' &&
  p.request.resource === resource &&
  p.request.name === name &&
  (subresource === undefined || p.request.subresource === subresource);

async function replicas(name: string): Promise<string> {
  const r = await admin(['get', 'statefulset', name, '-n', ns, '-o', 'jsonpath={.spec.replicas}']);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
}

/** Polls the request until `done` holds (the service records the client leaving asynchronously). */
async function until(
  reviewer: Reviewer,
  id: string,
  done: (p: PendingRequest) => boolean,
): Promise<PendingRequest> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const found = (await reviewer.requests()).find((p) => p.id === id);
    if (found !== undefined && done(found)) return found;
    if (Date.now() > deadline) throw new Error(`timed out waiting on ${id}: ${JSON.stringify(found)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  return new Promise((res) => child.once('exit', (code) => res(code)));
}

before(async () => {
  tb = await useTestbed();
  const policyFile = join(tb.dir, `held-${ns}.yaml`);
  await writeFile(policyFile, stringify(policy));
  gw = await startGateway(tb, {
    config: { policy: { file: policyFile }, approvals: { holdTimeoutMs: 5 * 60_000 } },
  });
  for (const args of [
    ['create', 'namespace', ns],
    ['create', 'rolebinding', 'dev-edit', '-n', ns, '--clusterrole=edit', '--group=dev'],
    [
      'create',
      'clusterrolebinding',
      `${ns}-dev-nodes`,
      '--clusterrole=system:kubelet-api-admin',
      '--group=dev',
    ],
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
  aliceReviewer = await reviewerOf(gw, alice);
  bob = await reviewerOf(gw, await gw.kubeconfigFor('bob', ['sre']));
  carol = await reviewerOf(gw, await gw.kubeconfigFor('carol', ['security']));
});

after(async () => {
  for (const r of [aliceReviewer, bob, carol]) await r?.close();
  await gw?.stop();
  await admin(['delete', 'namespace', ns, '--wait=false']);
  await admin(['delete', 'clusterrolebinding', `${ns}-dev-nodes`]);
});

for (const how of ['Ctrl-C', '--request-timeout'] as const) {
  test(`a held scale whose kubectl stopped waiting (${how}) is not applied on approval; the re-run uses the grant once`, async () => {
    const name = how === 'Ctrl-C' ? 'db-int' : 'db-timeout';
    let r = await admin(['apply', '-f', '-'], statefulsetManifest(name, ns));
    assert.equal(r.code, 0, r.stderr);
    const args = ['scale', 'statefulset', name, '-n', ns, '--replicas=4'];
    const held = startKubectl(how === 'Ctrl-C' ? args : [...args, '--request-timeout=3s'], {
      kubeconfig: alice,
    });
    const pending = await bob.waitFor(pendingFor('statefulsets', name, 'scale'));
    assert.equal(pending.mode, 'hold');
    if (how === 'Ctrl-C') held.child.kill('SIGINT');
    await exited(held.child);
    const left = await until(bob, pending.id, (p) => p.mode === 'deferred');
    assert.ok(
      left.requesterLeftAt !== null,
      'the pending request records that the requester stopped waiting',
    );
    r = await bob.cli(['show', pending.id]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /the requester is no longer waiting/);
    assert.doesNotMatch(r.stdout, /the command is waiting/);
    r = await bob.cli(['approve', pending.id]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /re-run/);
    assert.doesNotMatch(r.stdout, /waiting command goes through/);
    const approved = await until(bob, pending.id, (p) => p.state === 'approved');
    assert.equal(approved.grantUsed, false, 'nobody used the grant');
    assert.equal(await replicas(name), '1', 'the scale was not applied with nobody waiting');
    // kubectl sends ?timeout= only on some runs of `scale --request-timeout`: another query, so
    // another request to the API server. The re-run is shown with the Ctrl-C case.
    if (how !== 'Ctrl-C') return;
    r = await as(alice)(args);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await replicas(name), '4', 'the re-run consumed the grant');
    assert.equal((await until(bob, pending.id, (p) => p.grantUsed)).grantUsed, true);
    const third = startKubectl(args, { kubeconfig: alice });
    try {
      const asked = await bob.waitFor(
        (p) => pendingFor('statefulsets', name, 'scale')(p) && p.id !== pending.id,
      );
      assert.equal(asked.mode, 'hold', 'the grant is used once: a third run asks again');
    } finally {
      third.child.kill('SIGINT');
    }
  });
}

test('a held nodes/proxy GET whose client left is not sent on approval', async () => {
  const nodes = await admin(['get', 'nodes', '-o', 'jsonpath={.items[0].metadata.name}']);
  assert.equal(nodes.code, 0, nodes.stderr);
  const node = nodes.stdout.trim();
  const held = startKubectl(['get', '--raw', `/api/v1/nodes/${node}/proxy/configz`], { kubeconfig: alice });
  const pending = await bob.waitFor(pendingFor('nodes', node, 'proxy'));
  held.child.kill('SIGINT');
  await exited(held.child);
  await until(bob, pending.id, (p) => p.mode === 'deferred');
  const r = await bob.cli(['approve', pending.id]);
  assert.equal(r.code, 0, r.stderr);
  const approved = await until(bob, pending.id, (p) => p.state === 'approved');
  assert.equal(approved.grantUsed, false);
  const sent = (await gw.auditRecords()).filter(
    (e) => e.kind === 'forwarded' && e.request?.name === node && e.request.subresource === 'proxy',
  );
  assert.deepEqual(sent, [], 'nothing reached the kubelet');
});

for (const version of ['1.27', '1.30', '1.33'] as const) {
  test(`kubectl ${version}: a denied exec is one request, kubectl prints the denial and exits 1; a re-run is denied at once`, async () => {
    const pod = `vault-${version.replace('.', '')}`;
    let r = await admin([
      'run',
      pod,
      '-n',
      ns,
      '--image=registry.example/vault:1',
      '--labels=sensitive=true',
    ]);
    assert.equal(r.code, 0, r.stderr);
    await waitPodRunning(admin, ns, pod);
    const args = ['exec', '-n', ns, pod, '--', 'cat', '/etc/secret'];
    const exec = startKubectl(args, { kubeconfig: alice, version });
    const pending = await carol.waitFor(pendingFor('pods', pod, 'exec'));
    r = await carol.cli(['deny', pending.id, '--comment', 'use the break-glass runbook']);
    assert.equal(r.code, 0, r.stderr);
    const code = await exited(exec.child);
    assert.equal(code, 1, exec.output());
    assert.match(
      exec.output(),
      new RegExp(`${pending.id} was denied by carol: "use the break-glass runbook"`),
    );
    // kubectl ≥1.30 retried the refused WebSocket as SPDY: that met the denial, not a new request.
    const asked = (await carol.requests()).filter((p) => p.request.name === pod);
    assert.deepEqual(
      asked.map((p) => [p.id, p.state]),
      [[pending.id, 'denied']],
      'one command, one request; nothing left for one approval to undo the denial',
    );
    const again = await as(alice, version)(args);
    assert.equal(again.code, 1);
    assert.match(again.stderr, new RegExp(`${pending.id} was denied by carol`));
    assert.equal((await carol.requests()).filter((p) => p.request.name === pod).length, 1);
  });
}

test('the requester withdraws a held request: the waiting kubectl is told at once, reviewers cannot approve it', async () => {
  const cm = JSON.stringify({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'withdrawn', namespace: ns },
  });
  const create = startKubectl(['create', '-f', '-'], { kubeconfig: alice, stdin: cm });
  const pending = await bob.waitFor(pendingFor('configmaps', 'withdrawn'));
  let r = await bob.cli(['cancel', pending.id]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /only the requester may withdraw/);
  r = await aliceReviewer.cli(['cancel', pending.id]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(await exited(create.child), 1);
  assert.match(create.output(), new RegExp(`${pending.id} was withdrawn by its requester`));
  r = await bob.cli(['approve', pending.id]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /no longer pending/);
  const get = await admin(['get', 'configmap', 'withdrawn', '-n', ns]);
  assert.notEqual(get.code, 0, 'nothing was created');
  const trail = await gw.waitForAudit((e) => e.kind === 'withdrawn' && e.pendingId === pending.id);
  assert.equal(trail.find((e) => e.kind === 'withdrawn')?.actor, 'alice');
});

test('the CLI says how many approvals are still missing, and a reviewer may deny after approving', async () => {
  const cm = JSON.stringify({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'two-needed', namespace: ns },
  });
  const create = startKubectl(['create', '-f', '-'], { kubeconfig: alice, stdin: cm });
  const pending = await bob.waitFor(pendingFor('configmaps', 'two-needed'));
  let r = await bob.cli(['approve', pending.id]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /1 more of group sre \(approved so far by bob\)/);
  r = await bob.cli(['show', pending.id]);
  assert.match(r.stdout, /← now: 1 more \(approved so far by bob\)/);
  r = await bob.cli(['deny', pending.id, '--comment', 'wrong namespace after all']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(await exited(create.child), 1);
  assert.match(create.output(), /denied by bob: "wrong namespace after all"/);
});
