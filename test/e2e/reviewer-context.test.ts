// The reviewer context against the real API server of the test bed: kubegate's upstream identity
// (impersonation only, plus kubegate-object-reader) dry-runs each held request as its requester.
// A patch shows its diff, a delete the whole object going, a deletecollection the objects it would
// delete, an exec its command and the pod's labels, a create the object it would add; a dry run
// that the requester's RBAC refuses becomes a note; a custom resource is dry-run once kubegate has
// read its CustomResourceDefinition, a group without one is not. Afterwards nothing has changed:
// every dry run stayed a dry run (test/e2e/dry-run-safety.test.ts: what is never dry-run).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { useTestbed } from '../fixtures/testbed.js';
import { kubectl, type KubectlResult } from '../fixtures/kubectl.js';
import type { TestbedState } from '../../src/demo/control-plane.js';
import { upstreamFromKubeconfig } from '../../src/kubeconfig/read.js';
import { createUpstream, type Upstream } from '../../src/upstream/pool.js';
import { createLiveObjects, type LiveObjects } from '../../src/upstream/live-objects.js';
import { parseRequest } from '../../src/request/parse.js';
import { withBody } from '../../src/request/body.js';
import type { HoldRequest } from '../../src/approvals/types.js';
import { buildReviewerContext } from '../../src/approvals/context.js';

const ns = `review-${randomBytes(3).toString('hex')}`;

let tb: TestbedState;
let upstream: Upstream;
let liveObjects: LiveObjects;

const admin = (args: string[], stdin?: string): Promise<KubectlResult> =>
  kubectl(args, { kubeconfig: tb.adminKubeconfig, ...(stdin === undefined ? {} : { stdin }) });

async function apply(object: Record<string, unknown>): Promise<void> {
  const r = await admin(['apply', '-f', '-'], JSON.stringify(object));
  assert.equal(r.code, 0, r.stderr);
}

before(async () => {
  tb = await useTestbed();
  upstream = createUpstream(await upstreamFromKubeconfig(tb.upstreamKubeconfig), {
    upstreamConnectMs: 5_000,
    upstreamHeadersMs: 10_000,
  });
  liveObjects = createLiveObjects(upstream, { ttlMs: 60_000, now: Date.now });
  let r = await admin(['create', 'namespace', ns]);
  assert.equal(r.code, 0, r.stderr);
  r = await admin(['create', 'rolebinding', 'dev-edit', '-n', ns, '--clusterrole=edit', '--group=dev']);
  assert.equal(r.code, 0, r.stderr);
  await apply({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: ns, labels: { app: 'web', tier: 'frontend' } },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: { containers: [{ name: 'main', image: 'registry.example/app:1' }] },
      },
    },
  });
  for (const [name, batch] of [
    ['old-1', 'old'],
    ['old-2', 'old'],
    ['old-3', 'old'],
    ['keep', 'new'],
  ] as const) {
    await apply({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name, namespace: ns, labels: { batch } },
      data: { k: name },
    });
  }
  await apply({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'vault', namespace: ns, labels: { app: 'vault', sensitive: 'true' } },
    spec: { containers: [{ name: 'main', image: 'registry.example/vault:1' }] },
  });
});

after(async () => {
  await liveObjects?.close();
  await upstream?.close();
  await admin(['delete', 'namespace', ns, '--wait=false']);
});

function hold(
  user: 'alice' | 'dave',
  method: string,
  target: string,
  body: string | null = null,
  contentType = 'application/json',
): HoldRequest {
  const request = parseRequest({
    method,
    target,
    headers: body === null ? {} : { 'content-type': contentType },
  });
  const bytes = body === null ? null : Buffer.from(body);
  return {
    identity: { user, groups: tb.users[user]!.groups, method: 'client-certificate' },
    request,
    body:
      bytes === null ? { digest: '', size: 0, object: null, deleteOptions: null } : withBody(request, bytes),
    bodyBytes: bytes,
    decision: { kind: 'approve', rules: [], byDefault: true, approval: [] },
    requestId: randomUUID(),
    sourceAddress: null,
    signal: new AbortController().signal,
  };
}

const context = (input: HoldRequest): ReturnType<typeof buildReviewerContext> =>
  buildReviewerContext({ upstream, liveObjects, timeoutMs: 10_000 }, input);

async function replicas(): Promise<string> {
  const r = await admin(['get', 'deployment', 'web', '-n', ns, '-o', 'jsonpath={.spec.replicas}']);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
}

test('a patch of a deployment shows the dry-run diff, and the deployment is unchanged', async () => {
  const ctx = await context(
    hold(
      'alice',
      'PATCH',
      `/apis/apps/v1/namespaces/${ns}/deployments/web?fieldManager=kubectl-patch`,
      '{"spec":{"replicas":3}}',
      'application/strategic-merge-patch+json',
    ),
  );
  assert.deepEqual(ctx.notes, []);
  assert.equal(ctx.dryRun?.status, 200);
  assert.match(ctx.diff ?? '', /^- {2}replicas: 1\n\+ {2}replicas: 3$/mu);
  assert.doesNotMatch(ctx.diff ?? '', /managedFields|resourceVersion/u);
  assert.deepEqual(ctx.targetLabels, { app: 'web', tier: 'frontend' });
  assert.equal(await replicas(), '1');
});

test('a delete shows the whole live object removed, and the deployment is still there', async () => {
  const ctx = await context(
    hold(
      'alice',
      'DELETE',
      `/apis/apps/v1/namespaces/${ns}/deployments/web`,
      '{"kind":"DeleteOptions","apiVersion":"v1","propagationPolicy":"Background"}',
    ),
  );
  assert.deepEqual(ctx.notes, []);
  assert.equal(ctx.dryRun?.status, 200);
  assert.match(ctx.diff ?? '', /^-kind: Deployment$/mu);
  assert.match(ctx.diff ?? '', /^- {4}tier: frontend$/mu);
  assert.doesNotMatch(ctx.diff ?? '', /^\+(?!\+\+ dry-run$)/mu);
  assert.equal(await replicas(), '1');
});

test('a delete without a body is dry-run too (kubegate writes the DeleteOptions body)', async () => {
  const ctx = await context(
    hold('alice', 'DELETE', `/api/v1/namespaces/${ns}/configmaps/keep?gracePeriodSeconds=0`),
  );
  assert.deepEqual(ctx.notes, []);
  assert.equal(ctx.dryRun?.status, 200);
  assert.match(ctx.diff ?? '', /^-kind: ConfigMap$/mu);
  const r = await admin(['get', 'configmap', 'keep', '-n', ns]);
  assert.equal(r.code, 0, 'the configmap still exists');
});

test('a deletecollection lists the objects it would delete, and deletes none', async () => {
  const ctx = await context(
    hold('alice', 'DELETE', `/api/v1/namespaces/${ns}/configmaps?labelSelector=batch%3Dold`),
  );
  assert.deepEqual(ctx.notes, []);
  assert.deepEqual([...(ctx.objects ?? [])].sort(), [`${ns}/old-1`, `${ns}/old-2`, `${ns}/old-3`]);
  const r = await admin(['get', 'configmaps', '-n', ns, '-l', 'batch=old', '-o', 'name']);
  assert.equal(r.stdout.trim().split('\n').length, 3);
});

test("an exec shows its command, container and the pod's labels", async () => {
  const ctx = await context(
    hold(
      'alice',
      'GET',
      `/api/v1/namespaces/${ns}/pods/vault/exec?command=cat&command=%2Fetc%2Fsecret&container=main&stdout=true&stderr=true`,
    ),
  );
  assert.deepEqual(ctx.notes, []);
  assert.deepEqual(ctx.exec, { command: ['cat', '/etc/secret'], container: 'main' });
  assert.deepEqual(ctx.targetLabels, { app: 'vault', sensitive: 'true' });
  assert.equal(ctx.dryRun, null);
});

test('a create shows the object it would add, and adds nothing', async () => {
  const cm = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'fresh', namespace: ns },
    data: { a: '1' },
  };
  const ctx = await context(
    hold(
      'alice',
      'POST',
      `/api/v1/namespaces/${ns}/configmaps?fieldManager=kubectl-create`,
      JSON.stringify(cm),
    ),
  );
  assert.deepEqual(ctx.notes, []);
  assert.equal(ctx.dryRun?.status, 201);
  assert.match(ctx.diff ?? '', /^\+ {2}name: fresh$/mu);
  const r = await admin(['get', 'configmap', 'fresh', '-n', ns]);
  assert.notEqual(r.code, 0, 'the configmap was not created');
});

test("a dry run the requester's RBAC refuses becomes a note, with the API server's reason", async () => {
  const ctx = await context(
    hold(
      'dave',
      'PATCH',
      `/apis/apps/v1/namespaces/${ns}/deployments/web`,
      '{"spec":{"replicas":0}}',
      'application/merge-patch+json',
    ),
  );
  assert.equal(ctx.dryRun?.status, 403);
  assert.equal(ctx.diff, null);
  assert.match(
    ctx.notes[0] ?? '',
    /^dry run refused by the API server: 403 Forbidden: deployments\.apps "web" is forbidden: User "dave" cannot patch resource "deployments"/u,
  );
  assert.match(ctx.notes[1] ?? '', /^the live object could not be read as the requester: 403 Forbidden/u);
  // kubegate reads the labels as itself, whatever the requester may read.
  assert.deepEqual(ctx.targetLabels, { app: 'web', tier: 'frontend' });
  assert.equal(await replicas(), '1');
});

test('a custom resource is dry-run once kubegate has read its CustomResourceDefinition; a group without one is not', async () => {
  const group = `${ns}.example.com`;
  await apply({
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `widgets.${group}` },
    spec: {
      group,
      scope: 'Namespaced',
      names: { plural: 'widgets', singular: 'widget', kind: 'Widget', listKind: 'WidgetList' },
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
        },
      ],
    },
  });
  try {
    let r = await admin(['wait', '--for=condition=established', `crd/widgets.${group}`, '--timeout=30s']);
    assert.equal(r.code, 0, r.stderr);
    await apply({
      apiVersion: `${group}/v1`,
      kind: 'Widget',
      metadata: { name: 'w', namespace: ns },
      spec: { size: 1 },
    });
    // alice may edit widgets here (the aggregated edit role does not cover new kinds).
    r = await admin([
      'create',
      'role',
      'widget-editor',
      '-n',
      ns,
      '--verb=get,patch',
      `--resource=widgets.${group}`,
    ]);
    assert.equal(r.code, 0, r.stderr);
    r = await admin([
      'create',
      'rolebinding',
      'widget-editor',
      '-n',
      ns,
      '--role=widget-editor',
      '--group=dev',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const ctx = await context(
      hold(
        'alice',
        'PATCH',
        `/apis/${group}/v1/namespaces/${ns}/widgets/w`,
        '{"spec":{"size":5}}',
        'application/merge-patch+json',
      ),
    );
    assert.deepEqual(ctx.notes, []);
    assert.equal(ctx.dryRun?.status, 200);
    assert.match(ctx.diff ?? '', /^- {2}size: 1\n\+ {2}size: 5$/mu);
    r = await admin(['get', `widgets.${group}`, 'w', '-n', ns, '-o', 'jsonpath={.spec.size}']);
    assert.equal(r.stdout, '1');

    const none = await context(
      hold(
        'alice',
        'PATCH',
        `/apis/nowhere.${group}/v1/namespaces/${ns}/gadgets/g`,
        '{"spec":{}}',
        'application/merge-patch+json',
      ),
    );
    assert.equal(none.dryRun, null);
    assert.ok(
      none.notes.some((n) =>
        /^no dry run: gadgets \(nowhere\..*\) is not served from a CustomResourceDefinition/u.test(n),
      ),
      none.notes.join('\n'),
    );
  } finally {
    await admin(['delete', 'crd', `widgets.${group}`, '--wait=false']);
  }
});
