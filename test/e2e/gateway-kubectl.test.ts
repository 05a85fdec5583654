// kubectl end to end through kubegate, with kubectl 1.27 (SPDY), 1.30 and 1.33 (WebSocket): every
// everyday command works as the impersonated user, and RBAC still applies per person (a user
// without rights gets the API server's own 403 through kubegate). kubegate closes connections idle
// for a second here: a quiet watch, logs -f and port-forward go on regardless.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { useTestbed, waitForAuditEvents } from '../fixtures/testbed.js';
import { kubectl, startKubectl } from '../fixtures/kubectl.js';
import { startGateway, type GatewayHandle } from '../fixtures/gateway.js';
import type { TestbedState } from '../../src/demo/control-plane.js';

let tb: TestbedState;
let gw: GatewayHandle;
let aliceConfig: string; // client certificate issued by kubegate
let bobConfig: string; // kubegate bearer token
let daveConfig: string; // no RBAC rights at all
/** kubegate's timeouts.clientIdleMs here, and how long the streams below stay quiet: longer. */
const IDLE_MS = 1000;
const QUIET_MS = 2.5 * IDLE_MS;
const ns = `gw-${randomBytes(3).toString('hex')}`;
const admin = (args: string[], stdin?: string) =>
  kubectl(args, { kubeconfig: tb.adminKubeconfig, ...(stdin === undefined ? {} : { stdin }) });

function deployment(name: string, replicas: number, extraLabel = 'v1'): string {
  return JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: ns, labels: { app: name, tier: 'gw-test', rev: extraLabel } },
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

async function runningPod(app: string): Promise<string> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const r = await admin([
      'get',
      'pods',
      '-n',
      ns,
      '-l',
      `app=${app}`,
      '--field-selector=status.phase=Running',
      '-o',
      'name',
    ]);
    const first = r.stdout.trim().split('\n').filter(Boolean)[0];
    if (first) return first.replace('pod/', '');
    if (Date.now() > deadline) assert.fail(`no running pod for ${app}: ${r.stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

before(async () => {
  tb = await useTestbed();
  // Connections with no request in flight are closed after a second, so that the quiet watch,
  // logs -f and port-forward below show that a request in flight is never cut.
  gw = await startGateway(tb, { config: { timeouts: { clientIdleMs: IDLE_MS } } });
  let r = await admin(['create', 'namespace', ns]);
  assert.equal(r.code, 0, r.stderr);
  // alice (group dev) may edit in the namespace and view cluster-wide; bob (sre) may edit too.
  for (const args of [
    ['create', 'rolebinding', 'dev-edit', '-n', ns, '--clusterrole=edit', '--group=dev'],
    ['create', 'rolebinding', 'sre-edit', '-n', ns, '--clusterrole=edit', '--group=sre'],
    ['create', 'clusterrolebinding', `dev-view-${ns}`, '--clusterrole=view', '--group=dev'],
  ]) {
    r = await admin(args);
    assert.equal(r.code, 0, r.stderr);
  }
  aliceConfig = await gw.kubeconfigFor('alice', ['dev']);
  bobConfig = await gw.kubeconfigFor('bob', ['sre'], { token: true });
  daveConfig = await gw.kubeconfigFor('dave', []);
  r = await admin(['apply', '-f', '-'], deployment('web', 2));
  assert.equal(r.code, 0, r.stderr);
});

after(async () => {
  await gw?.stop();
  await admin(['delete', 'namespace', ns, '--wait=false']);
  await admin(['delete', 'clusterrolebinding', `dev-view-${ns}`]);
});

for (const version of ['1.27', '1.30', '1.33'] as const) {
  describe(`kubectl ${version} through kubegate`, () => {
    const as = (kubeconfig: () => string) => (args: string[], stdin?: string) =>
      kubectl(args, { kubeconfig: kubeconfig(), version, ...(stdin === undefined ? {} : { stdin }) });
    const alice = as(() => aliceConfig);
    const bob = as(() => bobConfig);
    const name = `app-${version.replace('.', '')}`;

    test('get, list with a label selector, and list across all namespaces', async () => {
      let r = await alice(['get', 'deployment', 'web', '-n', ns]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^NAME\s+READY/);
      r = await alice(['get', 'pods', '-n', ns, '-l', 'app=web', '-o', 'name']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.trim().split('\n').length, 2);
      r = await alice(['get', 'pods', '-A', '-l', 'app=web', '-o', 'name']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.trim().split('\n').length, 2);
    });

    test('describe shows the object and its events', async () => {
      const r = await alice(['describe', 'deployment', 'web', '-n', ns]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /Name:\s+web/);
      assert.match(r.stdout, /Replicas:/);
    });

    test('create, client-side apply, server-side apply, patch, label, scale, rollout restart', async () => {
      let r = await bob(['create', 'configmap', `cm-${name}`, '-n', ns, '--from-literal=k=v']);
      assert.equal(r.code, 0, r.stderr);
      r = await alice(['apply', '-f', '-'], deployment(name, 1));
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /created/);
      r = await alice(['apply', '-f', '-'], deployment(name, 1, 'v2'));
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /configured/);
      r = await bob(['apply', '--server-side', '--force-conflicts', '-f', '-'], deployment(name, 2, 'v3'));
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /serverside-applied/);
      r = await alice([
        'patch',
        'deployment',
        name,
        '-n',
        ns,
        '-p',
        '{"metadata":{"annotations":{"edited":"yes"}}}',
      ]);
      assert.equal(r.code, 0, r.stderr);
      r = await alice(['label', 'deployment', name, '-n', ns, 'reviewed=true']);
      assert.equal(r.code, 0, r.stderr);
      r = await alice(['scale', 'deployment', name, '-n', ns, '--replicas=3']);
      assert.equal(r.code, 0, r.stderr);
      r = await alice(['rollout', 'restart', 'deployment', name, '-n', ns]);
      assert.equal(r.code, 0, r.stderr);
      r = await admin(['get', 'deployment', name, '-n', ns, '-o', 'json']);
      const live = JSON.parse(r.stdout) as {
        metadata: { labels: Record<string, string>; annotations: Record<string, string> };
        spec: { replicas: number; template: { metadata: { annotations?: Record<string, string> } } };
      };
      assert.equal(live.metadata.labels.reviewed, 'true');
      assert.equal(live.metadata.labels.rev, 'v3');
      assert.equal(live.metadata.annotations.edited, 'yes');
      assert.equal(live.spec.replicas, 3);
      assert.ok(live.spec.template.metadata.annotations?.['kubectl.kubernetes.io/restartedAt']);
    });

    test('get -w streams an event as it happens', async () => {
      const watcher = startKubectl(['get', 'configmaps', '-n', ns, '-w', '--output-watch-events'], {
        kubeconfig: aliceConfig,
        version,
      });
      try {
        await watcher.waitFor(/kube-root-ca\.crt/);
        await sleep(QUIET_MS);
        const r = await admin(['create', 'configmap', `watched-${name}`, '-n', ns, '--from-literal=a=b']);
        assert.equal(r.code, 0, r.stderr);
        await watcher.waitFor(new RegExp(`ADDED\\s+watched-${name}`));
      } finally {
        watcher.stop();
      }
    });

    test('logs and logs -f', async () => {
      const pod = await runningPod('web');
      const r = await alice(['logs', '-n', ns, pod]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /kwok container started/);
      const follower = startKubectl(['logs', '-f', '-n', ns, pod], { kubeconfig: aliceConfig, version });
      try {
        await follower.waitFor(/ready/);
        await sleep(QUIET_MS);
        assert.equal(follower.child.exitCode, null, 'logs -f keeps streaming');
      } finally {
        follower.stop();
      }
    });

    test('exec runs a command, with and without stdin', async () => {
      const pod = await runningPod('web');
      let r = await alice(['exec', '-n', ns, pod, '--', 'echo', `exec-${version}`]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, `exec-${version}\n`);
      // kwok does not pass stdin's EOF on, so read a fixed number of bytes.
      r = await alice(['exec', '-i', '-n', ns, pod, '--', 'head', '-c', '11'], 'from-stdin!rest');
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, 'from-stdin!');
    });

    test('port-forward carries bytes both ways', async () => {
      const pod = await runningPod('web');
      const pf = startKubectl(['port-forward', '-n', ns, `pod/${pod}`, ':8080'], {
        kubeconfig: aliceConfig,
        version,
      });
      try {
        const out = await pf.waitFor(/Forwarding from 127\.0\.0\.1:(\d+)/);
        const port = Number(/Forwarding from 127\.0\.0\.1:(\d+)/.exec(out)![1]);
        await sleep(QUIET_MS);
        const socket = connect(port, '127.0.0.1');
        await once(socket, 'connect');
        socket.write(`hello ${version}\n`);
        const [data] = (await once(socket, 'data')) as [Buffer];
        assert.equal(data.toString(), `hello ${version}\n`);
        socket.destroy();
      } finally {
        pf.stop();
      }
    });

    test('cp copies a file out of a pod', async () => {
      const pod = await runningPod('web');
      const dir = await mkdtemp(join(tmpdir(), 'kubegate-cp-'));
      // kwok runs exec on the host in the test bed's exec folder: the log file lives there.
      const r = await alice(['cp', '-n', ns, `${pod}:container.log`, join(dir, 'copied.log')]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(await readFile(join(dir, 'copied.log'), 'utf8'), /kwok container started/);
    });

    test('auth can-i answers for the caller, not for kubegate', async () => {
      let r = await alice(['auth', 'can-i', 'delete', 'deployments', '-n', ns]);
      assert.equal(r.stdout.trim(), 'yes');
      r = await kubectl(['auth', 'can-i', 'delete', 'deployments', '-n', ns], {
        kubeconfig: daveConfig,
        version,
      });
      assert.equal(r.stdout.trim(), 'no');
      r = await alice(['auth', 'can-i', 'impersonate', 'users']);
      assert.equal(r.stdout.trim(), 'no');
    });

    test("a user without RBAC rights gets the API server's own 403 through kubegate", async () => {
      const r = await kubectl(['get', 'pods', '-n', ns], { kubeconfig: daveConfig, version });
      assert.equal(r.code, 1);
      assert.match(
        r.stderr,
        /Error from server \(Forbidden\): pods is forbidden: User "dave" cannot list resource "pods"/,
      );
    });

    test('delete by name and by label selector', async () => {
      let r = await alice(['delete', 'configmap', `watched-${name}`, '-n', ns]);
      assert.equal(r.code, 0, r.stderr);
      r = await alice(['delete', 'deployment', '-n', ns, '-l', `app=${name}`]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`deployment.apps "${name}" deleted`));
    });
  });
}

test('the API server saw every request as the impersonated user, tagged with its kubegate request id', async () => {
  const events = await waitForAuditEvents(
    tb,
    (e) => e.objectRef?.namespace === ns && e.user.username === 'kubegate',
  );
  assert.ok(events.length > 50, `expected many impersonated requests, saw ${events.length}`);
  const users = new Set(events.map((e) => e.impersonatedUser?.username));
  assert.deepEqual([...users].sort(), ['alice', 'bob', 'dave']);
  for (const e of events) {
    assert.ok(e.impersonatedUser, `request without impersonation: ${e.requestURI}`);
  }
  const idOf = (e: (typeof events)[number]): string | undefined =>
    (e.impersonatedUser as { extra?: Record<string, string[]> }).extra?.['kubegate.dev/request-id']?.[0];
  const wanted = events.map(idOf);
  assert.ok(!wanted.includes(undefined), 'every upstream request carries a kubegate request id');
  // Reads are audited in batches a few milliseconds later: wait for all of them.
  const deadline = Date.now() + 15_000;
  let missing: (string | undefined)[];
  do {
    const ids = new Set((await gw.auditRecords()).map((r) => r.requestId));
    missing = wanted.filter((id) => !ids.has(id!));
    if (missing.length > 0) await new Promise((resolve) => setTimeout(resolve, 100));
  } while (missing.length > 0 && Date.now() < deadline);
  assert.deepEqual(missing, [], 'every upstream request has a kubegate audit record with its id');
});

test('kubegate wrote one audit record per request with identity, request and upstream status', async () => {
  // Two execs and one cp per kubectl version, each recorded when its session ends.
  const isExec = (r: {
    kind: string;
    request: { namespace: string | null; subresource: string | null } | null;
  }) => r.kind === 'forwarded' && r.request?.namespace === ns && r.request.subresource === 'exec';
  const deadline = Date.now() + 15_000;
  let records = (await gw.auditRecords()).filter(isExec);
  while (records.length < 9 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    records = (await gw.auditRecords()).filter(isExec);
  }
  assert.equal(records.length, 9);
  assert.deepEqual([...new Set(records.map((r) => r.request?.upgrade))].sort(), ['spdy', 'websocket']);
  for (const r of records) {
    assert.equal(r.decision, 'allow');
    assert.equal(r.user, 'alice');
    assert.deepEqual(r.groups, ['dev']);
    assert.equal(r.request?.verb, 'create');
    assert.equal(r.status, 101);
  }
  const denied = (await gw.auditRecords()).filter(
    (r) => r.kind === 'forwarded' && r.user === 'dave' && r.status === 403,
  );
  assert.ok(denied.length >= 3);
});
