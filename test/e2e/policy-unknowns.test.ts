// What the request alone does not settle, against the real API server: each test first shows
// the API server's half (how it reads the request, sent directly as admin), then that kubegate,
// in front of it with a deny rule, refuses what that reading would let through — where kubegate
// cannot be sure, the rule's condition is unknown and the rule fails closed.
//   - proxy ids `scheme:name:port` are split (nodes/https:kwok-node-0:10250/proxy is node kwok-node-0);
//   - a namespace's labels are read at /api/v1/namespaces/NAME (it is cluster-scoped);
//   - a deletecollection at an old resourceVersion is refused (the API server lists that snapshot;
//     1.34 also deletes each listed object under a resourceVersion precondition, so an object
//     changed since then meets a Conflict, but kubegate does not rely on every server doing so);
//   - `names` on a deletecollection: the objects it would delete are judged by name;
//   - `namespaces` on reads across all namespaces (`get secrets -A`; custom resources by discovery);
//   - CEL on `body` of a protobuf create (kubectl 1.33), which kubegate reads only in part;
//   - the built-in scope table agrees with the API server's discovery.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { useTestbed, waitForAuditEvents } from '../fixtures/testbed.js';
import { kubectl, type KubectlResult, type KubectlVersion } from '../fixtures/kubectl.js';
import { startGateway, type GatewayHandle } from '../fixtures/gateway.js';
import type { TestbedState } from '../../src/demo/control-plane.js';
import { BUILTIN_GROUPS, builtinNamespaced } from '../../src/request/scope.js';

const suffix = randomBytes(3).toString('hex');
const prod = `prod-${suffix}`;
const staging = `staging-${suffix}`;
const guarded = `guarded-${suffix}`;
const plain = `plain-${suffix}`;
const crdGroup = `u${suffix}.example.com`;

function crd(plural: string, scope: 'Namespaced' | 'Cluster'): string {
  return JSON.stringify({
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.${crdGroup}` },
    spec: {
      group: crdGroup,
      scope,
      names: { plural, singular: plural.slice(0, -1), kind: plural[0]!.toUpperCase() + plural.slice(1, -1) },
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
}

const POLICY = `apiVersion: kubegate.dev/v1alpha1
kind: Policy
defaults: {action: allow}
rules:
  - name: kwok-node-proxy
    match: {resources: [nodes/proxy], objectSelector: {matchLabels: {type: kwok}}}
    action: deny
    message: The kwok nodes' kubelets are off limits.
  - name: named-node-proxy
    match: {resources: [nodes/proxy], names: [kwok-node-0]}
    action: deny
    message: Node kwok-node-0's kubelet is off limits.
  - name: protected-namespaces
    match: {verbs: [delete], resources: [namespaces], objectSelector: {matchLabels: {protected: "true"}}}
    action: deny
    message: Protected namespaces cannot be deleted.
  - name: critical-configmaps
    match: {verbs: [delete, deletecollection], resources: [configmaps], names: [critical-*]}
    action: deny
    message: Critical configmaps cannot be deleted.
  - name: prod-secrets
    match: {verbs: [get, list, watch], resources: [secrets], namespaces: ['prod-*']}
    action: deny
    message: Secrets in production cannot be read.
  - name: prod-custom-resources
    match: {verbs: [list, watch], apiGroups: ['*.example.com'], namespaces: ['prod-*']}
    action: deny
    message: Custom resources in production cannot be listed.
  - name: big-deployments
    match: {verbs: [create], resources: [deployments], when: 'has(body.spec) && body.spec.replicas > 20'}
    action: deny
    message: More than 20 replicas is not allowed.
`;

let tb: TestbedState;
let gw: GatewayHandle;
let dir: string;
let aliceConfig: string;

const admin = (args: string[], stdin?: string): Promise<KubectlResult> =>
  kubectl(args, { kubeconfig: tb.adminKubeconfig, ...(stdin === undefined ? {} : { stdin }) });
const alice = (args: string[], version: KubectlVersion = '1.33'): Promise<KubectlResult> =>
  kubectl(args, { kubeconfig: aliceConfig, version });

async function ok(r: Promise<KubectlResult>): Promise<string> {
  const result = await r;
  assert.equal(result.code, 0, result.stderr);
  return result.stdout;
}

before(async () => {
  tb = await useTestbed();
  dir = await mkdtemp(join(tmpdir(), 'kubegate-unknowns-'));
  const policyFile = join(dir, 'policy.yaml');
  await writeFile(policyFile, POLICY);
  gw = await startGateway(tb, { config: { policy: { file: policyFile } } });
  for (const ns of [prod, staging]) {
    await ok(admin(['create', 'namespace', ns]));
    await ok(admin(['create', 'rolebinding', 'dev-admin', '-n', ns, '--clusterrole=admin', '--group=dev']));
    await ok(admin(['create', 'secret', 'generic', 'db', '-n', ns, '--from-literal=password=hunter2']));
  }
  await ok(admin(['create', 'namespace', guarded]));
  await ok(admin(['label', 'namespace', guarded, 'protected=true']));
  await ok(admin(['create', 'namespace', plain]));
  // alice may read secrets everywhere, delete namespaces and proxy to nodes as far as RBAC goes:
  // what stops her below is kubegate's policy, not the API server.
  await ok(
    admin([
      'create',
      'clusterrole',
      `unknowns-${suffix}`,
      '--verb=get,list,watch,delete',
      '--resource=secrets,namespaces,nodes,nodes/proxy',
    ]),
  );
  await ok(
    admin([
      'create',
      'clusterrolebinding',
      `unknowns-${suffix}`,
      `--clusterrole=unknowns-${suffix}`,
      '--group=dev',
    ]),
  );
  for (const [plural, scope] of [
    ['widgets', 'Namespaced'],
    ['gizmos', 'Cluster'],
  ] as const) {
    await ok(admin(['apply', '-f', '-'], crd(plural, scope)));
    await ok(admin(['wait', '--for=condition=Established', `crd/${plural}.${crdGroup}`, '--timeout=30s']));
  }
  await ok(
    admin([
      'create',
      'clusterrole',
      `unknowns-crds-${suffix}`,
      '--verb=get,list,watch',
      `--resource=widgets.${crdGroup},gizmos.${crdGroup}`,
    ]),
  );
  await ok(
    admin([
      'create',
      'clusterrolebinding',
      `unknowns-crds-${suffix}`,
      `--clusterrole=unknowns-crds-${suffix}`,
      '--group=dev',
    ]),
  );
  aliceConfig = await gw.kubeconfigFor('alice', ['dev']);
});

after(async () => {
  await gw?.stop();
  await admin(['delete', 'namespace', prod, staging, guarded, plain, '--wait=false', '--ignore-not-found']);
  await admin(['delete', 'clusterrole,clusterrolebinding', `unknowns-${suffix}`, '--ignore-not-found']);
  await admin(['delete', 'clusterrole,clusterrolebinding', `unknowns-crds-${suffix}`, '--ignore-not-found']);
  await admin([
    'delete',
    'crd',
    `widgets.${crdGroup}`,
    `gizmos.${crdGroup}`,
    '--ignore-not-found',
    '--wait=false',
  ]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('proxy ids: the API server reads nodes/https:kwok-node-0:10250/proxy as node kwok-node-0', async () => {
  const node = tb.nodeName;
  // Found: the API server resolves the node and then refuses its loopback address.
  const found = await admin(['get', '--raw', `/api/v1/nodes/https:${node}:10250/proxy/healthz`]);
  assert.match(found.stderr, /address not allowed/);
  const missing = await admin(['get', '--raw', '/api/v1/nodes/https:no-such-node:10250/proxy/healthz']);
  assert.match(missing.stderr, /nodes "no-such-node" not found/);
  // Two parts are name:port, so `http:NODE` is a node named "http".
  const twoParts = await admin(['get', '--raw', `/api/v1/nodes/http:${node}/proxy/healthz`]);
  assert.match(twoParts.stderr, /nodes "http" not found/);
  const refused = await admin(['get', '--raw', `/api/v1/nodes/ftp:${node}:21/proxy/healthz`]);
  assert.match(refused.stderr, /BadRequest.*invalid node request/);
});

test('proxy ids: kubegate splits them too, so neither objectSelector nor names is bypassed', async () => {
  const node = tb.nodeName;
  for (const id of [node, `https:${node}:10250`, `${node}:10250`, `http:${node}:10250`]) {
    const r = await alice(['get', '--raw', `/api/v1/nodes/${id}/proxy/healthz`]);
    assert.equal(r.code, 1, id);
    assert.match(r.stderr, /Forbidden.*The kwok nodes' kubelets are off limits\./, id);
    assert.match(r.stderr, /Node kwok-node-0's kubelet is off limits\./, id);
  }
  // An id the API server refuses: kubegate cannot name the node, so both rules fail closed.
  const bad = await alice(['get', '--raw', `/api/v1/nodes/ftp:${node}:21/proxy/healthz`]);
  assert.match(bad.stderr, /Forbidden.*off limits/);
  // A node that does not exist: exec-capable, so a failed lookup is not "no labels".
  const missing = await alice(['get', '--raw', '/api/v1/nodes/https:no-such-node:10250/proxy/healthz']);
  assert.match(missing.stderr, /Forbidden.*The kwok nodes' kubelets are off limits\./);
  const records = await gw.waitForAudit(
    (x) =>
      x.kind === 'refused' &&
      x.request?.subresource === 'proxy' &&
      x.request.name === 'https:no-such-node:10250',
  );
  assert.equal(records[0]?.decision, 'deny');
});

test('namespaces: the object is cluster-scoped, at /api/v1/namespaces/NAME', async () => {
  const labels = JSON.parse(await ok(admin(['get', '--raw', `/api/v1/namespaces/${guarded}`]))) as {
    metadata: { labels: Record<string, string> };
  };
  assert.equal(labels.metadata.labels.protected, 'true');
  const nested = await admin(['get', '--raw', `/api/v1/namespaces/${guarded}/namespaces/${guarded}`]);
  assert.equal(nested.code, 1);
  assert.match(nested.stderr, /NotFound/);
});

test("namespaces: kubegate reads a namespace's labels, so deleting a protected one is refused", async () => {
  const r = await alice(['delete', 'namespace', guarded, '--wait=false']);
  assert.equal(r.code, 1, r.stdout);
  assert.match(r.stderr, /Forbidden.*Protected namespaces cannot be deleted\./);
  const still = await ok(admin(['get', 'namespace', guarded, '-o', 'jsonpath={.status.phase}']));
  assert.equal(still, 'Active');
  const other = await alice(['delete', 'namespace', plain, '--wait=false']);
  assert.equal(other.code, 0, other.stderr);
});

/** The list's resourceVersion of a namespace's configmaps, read directly as admin. */
async function listVersion(namespace: string): Promise<string> {
  const list = JSON.parse(
    await ok(admin(['get', '--raw', `/api/v1/namespaces/${namespace}/configmaps`])),
  ) as {
    metadata: { resourceVersion: string };
  };
  return list.metadata.resourceVersion;
}

async function configmaps(namespace: string): Promise<string[]> {
  const out = await ok(admin(['get', 'configmaps', '-n', namespace, '-o', 'name']));
  return out
    .split('\n')
    .filter((l) => l !== '' && l !== 'configmap/kube-root-ca.crt')
    .sort();
}

test('deletecollection at a snapshot: the API server picks the objects from that older state', async () => {
  const ns = staging;
  await ok(admin(['create', 'configmap', 'old-a', '-n', ns]));
  await ok(admin(['label', 'configmap', 'old-a', '-n', ns, 'batch=1']));
  const rv = await listVersion(ns);
  await ok(admin(['create', 'configmap', 'new-b', '-n', ns]));
  await ok(admin(['label', 'configmap', 'new-b', '-n', ns, 'batch=1']));
  // new-b matches the selector today but did not exist at the snapshot: the API server keeps it.
  await ok(
    admin([
      'delete',
      '--raw',
      `/api/v1/namespaces/${ns}/configmaps?labelSelector=batch%3D1&resourceVersion=${rv}&resourceVersionMatch=Exact`,
    ]),
  );
  assert.deepEqual(await configmaps(ns), ['configmap/new-b']);
  await ok(admin(['delete', 'configmap', 'new-b', '-n', ns]));
});

test('deletecollection at a snapshot: kubegate refuses it and deletes nothing', async () => {
  const ns = staging;
  await ok(admin(['create', 'configmap', 'snap-a', '-n', ns]));
  const rv = await listVersion(ns);
  for (const query of [
    `resourceVersion=${rv}&resourceVersionMatch=Exact`,
    `resourceVersion=${rv}`,
    'continue=x',
  ]) {
    const r = await alice(['delete', '--raw', `/api/v1/namespaces/${ns}/configmaps?${query}`]);
    assert.equal(r.code, 1, query);
    assert.match(r.stderr, /BadRequest.*older state than the one kubegate checks/, query);
  }
  assert.deepEqual(await configmaps(ns), ['configmap/snap-a']);
  await ok(admin(['delete', 'configmap', 'snap-a', '-n', ns]));
});

test('names on a deletecollection: the API server deletes critical-a along with the rest', async () => {
  const ns = staging;
  await ok(admin(['create', 'configmap', 'critical-a', '-n', ns]));
  await ok(admin(['create', 'configmap', 'web', '-n', ns]));
  await ok(
    admin([
      'delete',
      '--raw',
      `/api/v1/namespaces/${ns}/configmaps?fieldSelector=metadata.name%21%3Dkube-root-ca.crt`,
    ]),
  );
  assert.deepEqual(await configmaps(ns), []);
});

test('names on a deletecollection: kubegate judges each object it would delete by name', async () => {
  const ns = prod;
  await ok(admin(['create', 'configmap', 'critical-a', '-n', ns]));
  await ok(admin(['create', 'configmap', 'web', '-n', ns]));
  await ok(admin(['label', 'configmap', 'web', '-n', ns, 'app=web']));
  const r = await alice(['delete', '--raw', `/api/v1/namespaces/${ns}/configmaps`]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /Forbidden.*Critical configmaps cannot be deleted\./);
  assert.deepEqual(await configmaps(ns), ['configmap/critical-a', 'configmap/web']);
  // Without critical-a among them, the same request goes through.
  const some = await alice([
    'delete',
    '--raw',
    `/api/v1/namespaces/${ns}/configmaps?labelSelector=app%3Dweb`,
  ]);
  assert.equal(some.code, 0, some.stderr);
  assert.deepEqual(await configmaps(ns), ['configmap/critical-a']);
  const records = await gw.waitForAudit(
    (x) => x.kind !== 'decided' && x.request?.verb === 'deletecollection' && x.request.namespace === ns,
  );
  assert.deepEqual(
    records.map((x) => `${x.kind} ${x.decision}`),
    ['refused deny', 'forwarded allow'],
  );
});

test('reads across all namespaces: the API server returns the secrets of prod too', async () => {
  const list = JSON.parse(await ok(admin(['get', '--raw', '/api/v1/secrets']))) as {
    items: { metadata: { namespace: string; name: string } }[];
  };
  assert.ok(list.items.some((s) => s.metadata.namespace === prod && s.metadata.name === 'db'));
});

test('reads across all namespaces: a prod-only deny rule refuses `get secrets -A`, not `-n staging`', async () => {
  const all = await alice(['get', 'secrets', '-A']);
  assert.equal(all.code, 1, all.stdout);
  assert.match(all.stderr, /Forbidden.*Secrets in production cannot be read\./);
  assert.doesNotMatch(all.stdout, /hunter2|db/);
  const staged = await alice(['get', 'secrets', '-n', staging, '-o', 'name']);
  assert.equal(staged.code, 0, staged.stderr);
  assert.equal(staged.stdout.trim(), 'secret/db');
  // Pinned to staging by a field selector, the read across all namespaces is decidable again.
  const pinned = await alice([
    'get',
    'secrets',
    '-A',
    '--field-selector',
    `metadata.namespace=${staging}`,
    '-o',
    'name',
  ]);
  assert.equal(pinned.code, 0, pinned.stderr);
  assert.equal(pinned.stdout.trim(), 'secret/db');
  // Nodes are cluster-scoped: a namespace rule has nothing to say about them.
  const nodes = await alice(['get', 'nodes', '-o', 'name']);
  assert.equal(nodes.code, 0, nodes.stderr);
});

test('reads across all namespaces of custom resources: discovery tells namespaced from cluster-scoped', async () => {
  const widgets = await alice(['get', `widgets.${crdGroup}`, '-A']);
  assert.equal(widgets.code, 1, widgets.stdout);
  assert.match(widgets.stderr, /Forbidden.*Custom resources in production cannot be listed\./);
  const inStaging = await alice(['get', `widgets.${crdGroup}`, '-n', staging]);
  assert.equal(inStaging.code, 0, inStaging.stderr);
  const gizmos = await alice(['get', `gizmos.${crdGroup}`]);
  assert.equal(gizmos.code, 0, gizmos.stderr);
  // kubegate asked discovery, as itself, for the CRDs' group version.
  const reads = await waitForAuditEvents(
    tb,
    (e) =>
      e.user.username === 'kubegate' &&
      e.impersonatedUser === undefined &&
      e.requestURI === `/apis/${crdGroup}/v1`,
  );
  assert.ok(reads.length >= 1);
});

test('protobuf bodies: the API server reads the whole deployment kubectl 1.33 sends', async () => {
  const out = await ok(
    kubectl(
      [
        'create',
        'deployment',
        'big',
        '-n',
        staging,
        '--image=registry.example/app:1',
        '--replicas=50',
        '--dry-run=server',
        '-o',
        'jsonpath={.spec.replicas}',
      ],
      { kubeconfig: tb.adminKubeconfig, version: '1.33' },
    ),
  );
  assert.equal(out, '50');
});

test('protobuf bodies: a CEL rule on body.spec fails closed on kubectl 1.33, and is decided on 1.31 (JSON)', async () => {
  const create = (version: KubectlVersion, name: string, replicas: number) =>
    alice(
      [
        'create',
        'deployment',
        name,
        '-n',
        staging,
        '--image=registry.example/app:1',
        `--replicas=${replicas}`,
      ],
      version,
    );
  const proto = await create('1.33', 'big-proto', 50);
  assert.equal(proto.code, 1, proto.stdout);
  assert.match(proto.stderr, /More than 20 replicas is not allowed\./);
  const json = await create('1.31', 'big-json', 50);
  assert.equal(json.code, 1, json.stdout);
  assert.match(json.stderr, /More than 20 replicas is not allowed\./);
  const small = await create('1.31', 'small-json', 2);
  assert.equal(small.code, 0, small.stderr);
  const records = await gw.waitForAudit(
    (x) => x.kind === 'refused' && x.request?.resource === 'deployments' && x.decision === 'deny',
  );
  assert.equal(records.length, 2);
  const absent = await admin([
    'get',
    'deployment',
    'big-proto',
    'big-json',
    '-n',
    staging,
    '--ignore-not-found',
    '-o',
    'name',
  ]);
  assert.equal(absent.stdout.trim(), '');
});

test("the built-in scope table agrees with the API server's discovery", async () => {
  const groups = JSON.parse(await ok(admin(['get', '--raw', '/apis']))) as {
    groups: { name: string; preferredVersion: { groupVersion: string } }[];
  };
  const versions = [
    { group: '', path: '/api/v1' },
    ...groups.groups.map((g) => ({ group: g.name, path: `/apis/${g.preferredVersion.groupVersion}` })),
  ];
  const checked: string[] = [];
  for (const { group, path } of versions) {
    if (!BUILTIN_GROUPS.includes(group)) continue;
    const list = JSON.parse(await ok(admin(['get', '--raw', path]))) as {
      resources: { name: string; namespaced: boolean }[];
    };
    for (const r of list.resources) {
      const [resource] = r.name.split('/');
      assert.equal(builtinNamespaced(group, resource!), r.namespaced, `${group}/${r.name}`);
      checked.push(`${group}/${r.name}`);
    }
  }
  assert.ok(checked.includes('/nodes') && checked.includes('rbac.authorization.k8s.io/clusterroles'));
});
