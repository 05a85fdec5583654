// Protobuf request bodies end to end: kubectl ≥ 1.32 sends `kubectl create configmap|namespace|
// deployment …` as protobuf (k8s\0 + runtime.Unknown), older kubectl as JSON. A real kubegate in
// front of the test bed reads the name and labels of both, so a policy on `names` or
// `objectSelector` decides the same way whichever kubectl the user runs: kubectl 1.33 (protobuf)
// and 1.31 (JSON) are refused a configmap named forbidden-*, with the rule's message, and create
// allowed-a; a deployment whose generated labels match a deny selector is refused while another
// is created; a namespace whose (empty) labels do not match a deny selector is created, which
// could not happen if kubegate failed closed on a body it cannot read, while a namespace labelled
// to match is refused (sent with `create -f`, as JSON: `kubectl create namespace` sets no labels).
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { useTestbed } from '../fixtures/testbed.js';
import { kubectl, type KubectlResult, type KubectlVersion } from '../fixtures/kubectl.js';
import { startGateway, type GatewayHandle } from '../fixtures/gateway.js';
import type { TestbedState } from '../../src/demo/control-plane.js';

const suffix = randomBytes(3).toString('hex');
const group = `protobuf-e2e-${suffix}`;
const clusterRole = `kubegate-e2e-namespace-creator-${suffix}`;
const VERSIONS = [
  { version: '1.33', wire: 'protobuf', namespace: `pb-${suffix}-133` },
  { version: '1.31', wire: 'JSON', namespace: `pb-${suffix}-131` },
] as const satisfies readonly { version: KubectlVersion; wire: string; namespace: string }[];
const createdNamespaces: string[] = VERSIONS.map((v) => v.namespace);

const CONFIGMAP_MESSAGE = 'Configmaps named forbidden-* may not be created.';
const DEPLOYMENT_MESSAGE = 'The blocked app may not be deployed.';
const NAMESPACE_MESSAGE = 'Namespaces labelled env=prod are made by the platform team.';

const policy = {
  apiVersion: 'kubegate.dev/v1alpha1',
  kind: 'Policy',
  defaults: { action: 'allow' },
  rules: [
    {
      name: 'no-forbidden-configmaps',
      match: { verbs: ['create'], resources: ['configmaps'], names: ['forbidden-*'] },
      action: 'deny',
      message: CONFIGMAP_MESSAGE,
    },
    {
      name: 'no-blocked-app',
      // `kubectl create deployment NAME` labels the deployment app=NAME.
      match: {
        verbs: ['create'],
        resources: ['deployments'],
        objectSelector: { matchLabels: { app: 'blocked' } },
      },
      action: 'deny',
      message: DEPLOYMENT_MESSAGE,
    },
    {
      name: 'no-prod-namespaces',
      match: {
        verbs: ['create'],
        resources: ['namespaces'],
        objectSelector: { matchLabels: { env: 'prod' } },
      },
      action: 'deny',
      message: NAMESPACE_MESSAGE,
    },
  ],
};

let tb: TestbedState;
let gw: GatewayHandle;
let dir: string;
let userConfig: string;

const admin = (args: string[], stdin?: string): Promise<KubectlResult> =>
  kubectl(args, { kubeconfig: tb.adminKubeconfig, ...(stdin === undefined ? {} : { stdin }) });

const user = (version: KubectlVersion, args: string[], stdin?: string): Promise<KubectlResult> =>
  kubectl(args, { kubeconfig: userConfig, version, ...(stdin === undefined ? {} : { stdin }) });

async function exists(kind: string, name: string, namespace?: string): Promise<boolean> {
  const r = await admin([
    'get',
    kind,
    name,
    ...(namespace === undefined ? [] : ['-n', namespace]),
    '-o',
    'name',
  ]);
  if (r.code === 0) return true;
  assert.match(r.stderr, /NotFound/);
  return false;
}

before(async () => {
  tb = await useTestbed();
  dir = await mkdtemp(join(tmpdir(), 'kubegate-protobuf-e2e-'));
  const policyFile = join(dir, 'policy.yaml');
  await writeFile(policyFile, stringify(policy));
  gw = await startGateway(tb, { config: { policy: { file: policyFile } } });

  // The user may edit its own namespaces and create namespaces; nothing else in the test bed.
  for (const { namespace } of VERSIONS) {
    let r = await admin(['create', 'namespace', namespace]);
    assert.equal(r.code, 0, r.stderr);
    r = await admin([
      'create',
      'rolebinding',
      'edit',
      '-n',
      namespace,
      '--clusterrole=edit',
      `--group=${group}`,
    ]);
    assert.equal(r.code, 0, r.stderr);
  }
  let r = await admin(['create', 'clusterrole', clusterRole, '--verb=create', '--resource=namespaces']);
  assert.equal(r.code, 0, r.stderr);
  r = await admin([
    'create',
    'clusterrolebinding',
    clusterRole,
    `--clusterrole=${clusterRole}`,
    `--group=${group}`,
  ]);
  assert.equal(r.code, 0, r.stderr);
  userConfig = await gw.kubeconfigFor(`carol-${suffix}`, [group]);
});

after(async () => {
  await gw?.stop();
  if (tb) {
    await admin(['delete', 'clusterrolebinding,clusterrole', clusterRole, '--ignore-not-found']);
    await admin(['delete', 'namespace', ...createdNamespaces, '--ignore-not-found', '--wait=false']);
  }
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('kubectl 1.33 sends create configmap as protobuf and kubectl 1.31 as JSON', async () => {
  // The premise of this file: if a kubectl stopped sending protobuf, the tests below would prove
  // nothing about protobuf bodies. -v=8 logs each request body (1.33 as a hex dump, 1.31 as
  // text); --dry-run=server creates nothing.
  const protobufBody = /"Request Body" body=<\s+00000000 {2}6b 38 73 00 /; // k8s\0
  const jsonBody = /Request Body: \{"kind":"ConfigMap"/;
  for (const { version, wire, namespace } of VERSIONS) {
    const r = await user(version, [
      'create',
      'configmap',
      'probe',
      '--from-literal=k=v',
      '-n',
      namespace,
      '--dry-run=server',
      '-v=8',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, wire === 'protobuf' ? protobufBody : jsonBody, `kubectl ${version}`);
    assert.doesNotMatch(r.stderr, wire === 'protobuf' ? jsonBody : protobufBody, `kubectl ${version}`);
  }
});

for (const { version, wire, namespace } of VERSIONS) {
  describe(`kubectl ${version} (${wire} bodies)`, () => {
    test("create configmap forbidden-a is refused, and kubectl prints the rule's message", async () => {
      const r = await user(version, [
        'create',
        'configmap',
        'forbidden-a',
        '--from-literal=k=v',
        '-n',
        namespace,
      ]);
      assert.equal(r.code, 1, r.stdout);
      assert.match(
        r.stderr,
        /error: failed to create configmap: Configmaps named forbidden-\* may not be created\./,
      );
      assert.equal(await exists('configmap', 'forbidden-a', namespace), false);
      const records = await gw.waitForAudit(
        (x) =>
          x.request?.namespace === namespace &&
          x.request.resource === 'configmaps' &&
          x.request.verb === 'create' &&
          !x.request.target.includes('dryRun'),
      );
      assert.equal(records[0]?.decision, 'deny');
      assert.deepEqual(records[0]?.rules, ['no-forbidden-configmaps']);
    });

    test('create configmap allowed-a is created', async () => {
      const r = await user(version, [
        'create',
        'configmap',
        'allowed-a',
        '--from-literal=k=v',
        '-n',
        namespace,
      ]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /configmap\/allowed-a created/);
      const data = await admin([
        'get',
        'configmap',
        'allowed-a',
        '-n',
        namespace,
        '-o',
        'jsonpath={.data.k}',
      ]);
      assert.equal(data.stdout, 'v', 'the body was forwarded byte for byte');
    });

    test('create deployment blocked is refused by its labels, and another deployment is created', async () => {
      let r = await user(version, [
        'create',
        'deployment',
        'blocked',
        '--image=registry.example/app:1',
        '-n',
        namespace,
      ]);
      assert.equal(r.code, 1, r.stdout);
      assert.match(r.stderr, /error: failed to create deployment: The blocked app may not be deployed\./);
      assert.equal(await exists('deployment', 'blocked', namespace), false);

      // Its labels (app=web) were read and do not match: a body kubegate could not read would
      // have made the deny rule match, failing closed.
      r = await user(version, [
        'create',
        'deployment',
        'web',
        '--image=registry.example/app:1',
        '-n',
        namespace,
      ]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /deployment\.apps\/web created/);
    });

    test('create namespace is allowed when its labels do not match the deny selector', async () => {
      const name = `ok-${suffix}-${version.replace('.', '')}`;
      createdNamespaces.push(name);
      const r = await user(version, ['create', 'namespace', name]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`namespace/${name} created`));
    });

    test("create -f of a namespace labelled env=prod is refused with the rule's message", async () => {
      const name = `prod-${suffix}-${version.replace('.', '')}`;
      createdNamespaces.push(name);
      const manifest = JSON.stringify({
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name, labels: { env: 'prod' } },
      });
      const r = await user(version, ['create', '-f', '-'], manifest);
      assert.equal(r.code, 1, r.stdout);
      assert.match(r.stderr, /Namespaces labelled env=prod are made by the platform team\./);
      assert.equal(await exists('namespace', name), false);
    });
  });
}
