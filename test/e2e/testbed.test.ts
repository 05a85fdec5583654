// Proves the test bed is a real control plane: real kubectl (several versions) creates, applies
// (client- and server-side), runs pods on the kwok node, execs, reads logs, watches,
// port-forwards and deletes; RBAC refuses a user what was not granted; the audit log records it.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { useTestbed, waitForAuditEvents } from '../fixtures/testbed.js';
import { kubectl, startKubectl, type KubectlVersion } from '../fixtures/kubectl.js';
import type { TestbedState } from '../../src/demo/control-plane.js';

let tb: TestbedState;
const ns = `smoke-${randomBytes(3).toString('hex')}`;
const admin = (args: string[], version: KubectlVersion = '1.33', stdin?: string) =>
  kubectl(args, { kubeconfig: tb.adminKubeconfig, version, ...(stdin === undefined ? {} : { stdin }) });

function deployment(name: string, replicas: number): string {
  return JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: ns, labels: { app: name } },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: 'main', image: 'registry.example/web:1' }] },
      },
    },
  });
}

async function runningPods(app: string, want: number): Promise<string[]> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const r = await admin([
      'get',
      'pods',
      '-n',
      ns,
      '-l',
      `app=${app}`,
      '-o',
      'jsonpath={range .items[*]}{.metadata.name} {.status.phase} {.spec.nodeName}{"\\n"}{end}',
    ]);
    const rows = r.stdout
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split(' '));
    const running = rows.filter(([, phase, node]) => phase === 'Running' && node === tb.nodeName);
    if (running.length === want && rows.length === want) return running.map(([name]) => name!);
    if (Date.now() > deadline)
      assert.fail(`pods of ${app} not Running on ${tb.nodeName}: ${r.stdout} ${r.stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

before(async () => {
  tb = await useTestbed();
});

test('the API server reports the pinned Kubernetes version', async () => {
  const r = await admin(['version', '-o', 'json']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(
    (JSON.parse(r.stdout) as { serverVersion: { gitVersion: string } }).serverVersion.gitVersion,
    tb.kubernetesVersion,
  );
});

test('kubectl creates a namespace', async () => {
  const r = await admin(['create', 'namespace', ns]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`namespace/${ns} created`));
});

test('a Deployment applied client-side by kubectl 1.27 runs its pods on the kwok node', async () => {
  const r = await admin(['apply', '-f', '-'], '1.27', deployment('web', 2));
  assert.equal(r.code, 0, r.stderr);
  assert.equal((await runningPods('web', 2)).length, 2);
});

test('a Deployment applied server-side by kubectl 1.33 runs its pods, and a re-apply scales it', async () => {
  let r = await admin(['apply', '--server-side', '-f', '-'], '1.33', deployment('api', 1));
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /serverside-applied/);
  await runningPods('api', 1);
  r = await admin(['apply', '--server-side', '-f', '-'], '1.33', deployment('api', 2));
  assert.equal(r.code, 0, r.stderr);
  await runningPods('api', 2);
});

for (const version of ['1.33', '1.30', '1.27'] as const) {
  test(`kubectl ${version} execs a command in a pod and prints its output`, async () => {
    const [pod] = await runningPods('web', 2);
    const word = `hello-${version}`;
    const r = await admin(['exec', '-n', ns, pod!, '--', 'echo', word], version);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${word}\n`);
  });
}

test('kubectl logs prints the container log', async () => {
  const [pod] = await runningPods('web', 2);
  const r = await admin(['logs', '-n', ns, pod!]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /kwok container started/);
});

test('kubectl get -w receives an event for an object created after the watch began', async () => {
  const watcher = startKubectl(['get', 'configmaps', '-n', ns, '-w', '--output-watch-events'], {
    kubeconfig: tb.adminKubeconfig,
  });
  try {
    await watcher.waitFor(/kube-root-ca\.crt/);
    const r = await admin(['create', 'configmap', 'watched', '-n', ns, '--from-literal=k=v']);
    assert.equal(r.code, 0, r.stderr);
    await watcher.waitFor(/ADDED\s+watched/);
  } finally {
    watcher.stop();
  }
});

test('kubectl port-forward carries bytes to the pod and back', async () => {
  const [pod] = await runningPods('web', 2);
  const pf = startKubectl(['port-forward', '-n', ns, `pod/${pod!}`, ':8080'], {
    kubeconfig: tb.adminKubeconfig,
  });
  try {
    const out = await pf.waitFor(/Forwarding from 127\.0\.0\.1:(\d+)/);
    const port = Number(/Forwarding from 127\.0\.0\.1:(\d+)/.exec(out)![1]);
    const socket = connect(port, '127.0.0.1');
    await once(socket, 'connect');
    socket.write('ping through port-forward\n');
    const [data] = (await once(socket, 'data')) as [Buffer];
    assert.equal(data.toString(), 'ping through port-forward\n');
    socket.destroy();
  } finally {
    pf.stop();
  }
});

test('RBAC refuses a user what was not granted, and allows it once granted', async () => {
  const dave = (args: string[]) => kubectl(args, { kubeconfig: tb.users.dave!.kubeconfig });
  let r = await dave(['get', 'pods', '-n', ns]);
  assert.equal(r.code, 1);
  assert.match(
    r.stderr,
    /Error from server \(Forbidden\): pods is forbidden: User "dave" cannot list resource "pods"/,
  );
  r = await admin(['create', 'rolebinding', 'dave-view', '-n', ns, '--clusterrole=view', '--user=dave']);
  assert.equal(r.code, 0, r.stderr);
  r = await dave(['get', 'pods', '-n', ns]);
  assert.equal(r.code, 0, r.stderr);
  r = await dave(['delete', 'deployment', 'web', '-n', ns]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /Forbidden/);
});

test('the API server audit log records each request with verb and objectRef', async () => {
  const events = await waitForAuditEvents(
    tb,
    (e) => e.verb === 'create' && e.objectRef?.resource === 'namespaces' && e.objectRef?.name === ns,
  );
  assert.equal(events.length, 1);
  assert.equal(events[0]!.user.username, 'admin');
  const exec = await waitForAuditEvents(
    tb,
    (e) => e.objectRef?.subresource === 'exec' && e.objectRef?.namespace === ns,
  );
  // WebSocket exec (kubectl ≥1.30) is recorded as get, SPDY (1.27) as create.
  assert.deepEqual([...new Set(exec.map((e) => e.verb))].sort(), ['create', 'get']);
});

test('kubectl deletes the Deployment, its pods go, and the namespace is removed', async () => {
  let r = await admin(['delete', 'deployment', 'web', 'api', '-n', ns, '--wait=true']);
  assert.equal(r.code, 0, r.stderr);
  const deadline = Date.now() + 30_000;
  for (;;) {
    r = await admin(['get', 'pods', '-n', ns, '-o', 'name']);
    if (r.stdout.trim() === '') break;
    if (Date.now() > deadline) assert.fail(`pods remain: ${r.stdout}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  r = await admin(['delete', 'namespace', ns, '--wait=false']);
  assert.equal(r.code, 0, r.stderr);
});
