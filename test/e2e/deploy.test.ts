// The deployment: deploy/kubernetes (kubegate in a cluster) and the Containerfile, checked against
// the real test bed and the repository.
//   - Every manifest, alone and as the kustomization renders them, passes `kubectl apply
//     --dry-run=server` in the namespace kubegate, which enforces Pod Security "restricted";
//     broken copies (a misspelt field, a bad port, a loosened securityContext) are refused.
//   - kubegate.yaml in the kubegate-config ConfigMap passes kubegate's own config loader and
//     agrees with the StatefulSet and the image; the kubegate-policy ConfigMap equals
//     examples/policy.yaml and passes `kubegate policy check`.
//   - The ServiceAccount may impersonate callers and read objects, nothing else.
//   - deploy/example-overlay (own image, own serving certificate) renders and passes a dry run.
//   - With the ConfigMap's listen address the generated serving certificate does not name the
//     address clients dial; a kubeconfig with tls-server-name: localhost reaches kubegate
//     (docs/DEPLOY.md, TLS).
//   - deploy/kubernetes-ha (several replicas on PostgreSQL) gets the same dry runs and broken
//     copies; its kubegate.yaml loads with the postgres store's urlFile and the Deployment mounts
//     the Secrets where the config looks; replicas, rollout, anti-affinity, spread and the PDB are
//     checked, and so is the store-copy Job. Two real kubegate processes start from one data dir
//     made as docs/DEPLOY.md says, on one private PostgreSQL, serve its certificate, accept its
//     token, and write nothing into it (in a pod it is a read-only projection of Secrets).
//   - No container engine runs here, so the Containerfile is checked statically: its COPY sources
//     exist or are built, its ENTRYPOINT is what `npm run build` emits, it runs as a non-root uid.
// The namespace kubegate is created for real (a server dry run of namespaced objects needs it) and
// deleted afterwards; nothing else is persisted in the cluster.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { X509Certificate } from 'node:crypto';
import { connect as tlsConnect } from 'node:tls';
import { tmpdir } from 'node:os';
import { basename, dirname, join, posix, resolve } from 'node:path';
import ts from 'typescript';
import { parse as parseYaml, parseAllDocuments, stringify } from 'yaml';
import { useTestbed } from '../fixtures/testbed.js';
import { kubectl, type KubectlResult, type KubectlVersion } from '../fixtures/kubectl.js';
import { kubegate } from '../fixtures/gateway.js';
import { loadConfig } from '../../src/config/load.js';
import { freePort } from '../../src/demo/ports.js';
import { stopPid } from '../../src/demo/processes.js';
import { startTestPostgres } from '../../src/store/postgres/test-server.js';
import type { TestbedState } from '../../src/demo/control-plane.js';

const root = resolve(import.meta.dirname, '../..');
const deployDir = join(root, 'deploy/kubernetes');
const NAMESPACE = 'kubegate';

let tb: TestbedState;
let createdNamespace = false;
const scratch: string[] = [];

// Registered at the file's root so that it runs when the file's tests end (see fixtures/testbed.ts).
after(async () => {
  if (createdNamespace) await admin(['delete', 'namespace', NAMESPACE, '--wait=false']);
  for (const dir of scratch) await rm(dir, { recursive: true, force: true });
});

before(async () => {
  tb = await useTestbed();
  const existing = await admin(['get', 'namespace', NAMESPACE, '-o', 'name']);
  const r = await admin(['apply', '-f', join(deployDir, 'namespace.yaml')]);
  assert.equal(r.code, 0, r.stderr);
  createdNamespace = existing.code !== 0;
});

function admin(args: readonly string[], stdin?: string, version?: KubectlVersion): Promise<KubectlResult> {
  return kubectl(args, {
    kubeconfig: tb.adminKubeconfig,
    ...(stdin === undefined ? {} : { stdin }),
    ...(version === undefined ? {} : { version }),
  });
}

async function scratchDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'kubegate-deploy-'));
  scratch.push(dir);
  return dir;
}

// --- the manifests, as plain data -------------------------------------------------------------

interface KubeObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: {
    readonly name: string;
    readonly namespace?: string;
    readonly labels?: Readonly<Record<string, string>>;
  };
}

interface ConfigMap extends KubeObject {
  readonly data: Readonly<Record<string, string>>;
}

interface Binding extends KubeObject {
  readonly subjects: readonly { readonly kind: string; readonly name: string; readonly namespace?: string }[];
}

interface Container {
  readonly name: string;
  readonly image: string;
  readonly args?: readonly string[];
  readonly ports?: readonly { readonly name?: string; readonly containerPort: number }[];
  readonly securityContext?: {
    readonly allowPrivilegeEscalation?: boolean;
    readonly readOnlyRootFilesystem?: boolean;
    readonly runAsNonRoot?: boolean;
    readonly runAsUser?: number;
    readonly capabilities?: { readonly drop?: readonly string[]; readonly add?: readonly string[] };
    readonly seccompProfile?: { readonly type: string };
  };
  readonly volumeMounts?: readonly {
    readonly name: string;
    readonly mountPath: string;
    readonly subPath?: string;
    readonly readOnly?: boolean;
  }[];
}

interface StatefulSet extends KubeObject {
  readonly spec: {
    readonly replicas: number;
    readonly template: {
      readonly spec: {
        readonly serviceAccountName: string;
        readonly securityContext: {
          readonly runAsNonRoot?: boolean;
          readonly runAsUser?: number;
          readonly fsGroup?: number;
          readonly seccompProfile?: { readonly type: string };
        };
        readonly containers: readonly Container[];
        readonly volumes: readonly {
          readonly name: string;
          readonly configMap?: { readonly name: string };
          readonly secret?: { readonly secretName: string };
        }[];
      };
    };
    readonly volumeClaimTemplates: readonly { readonly metadata: { readonly name: string } }[];
  };
}

interface Service extends KubeObject {
  readonly spec: {
    readonly type: string;
    readonly ports: readonly { readonly port: number; readonly targetPort: number | string }[];
  };
}

function parseObjects(text: string, where: string): KubeObject[] {
  return parseAllDocuments(text)
    .map((doc) => {
      if (doc.errors.length > 0) throw new Error(`${where}: ${doc.errors[0]!.message}`);
      return doc.toJS() as KubeObject | null;
    })
    .filter((o): o is KubeObject => o !== null);
}

async function objectsIn(file: string): Promise<KubeObject[]> {
  return parseObjects(await readFile(join(deployDir, file), 'utf8'), file);
}

function find<T extends KubeObject>(objects: readonly KubeObject[], kind: string, name: string): T {
  const found = objects.filter((o) => o.kind === kind && o.metadata.name === name);
  assert.equal(found.length, 1, `expected one ${kind} ${name}, found ${found.length}`);
  return found[0] as T;
}

/** The manifests the kustomization lists, in its order. */
async function kustomizationResources(): Promise<string[]> {
  const [k] = parseObjects(await readFile(join(deployDir, 'kustomization.yaml'), 'utf8'), 'kustomization');
  return (k as unknown as { resources: string[] }).resources;
}

async function allObjects(): Promise<KubeObject[]> {
  const out: KubeObject[] = [];
  for (const file of await kustomizationResources()) out.push(...(await objectsIn(file)));
  return out;
}

const MANIFESTS = readdirSync(deployDir)
  .filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')
  .sort();

/** Each object a dry-run apply printed, e.g. `configmap/kubegate-config created (server dry run)`. */
function dryRunLines(stdout: string): string[] {
  return stdout
    .trim()
    .split('\n')
    .filter((l) => l !== '');
}

function assertServerDryRun(r: KubectlResult, objects: readonly KubeObject[]): void {
  assert.equal(r.code, 0, r.stderr);
  const lines = dryRunLines(r.stdout);
  assert.equal(lines.length, objects.length, r.stdout);
  for (const line of lines) assert.match(line, /\(server dry run\)$/);
  // Warnings are printed, not failed: Pod Security "warn" names a pod spec "enforce" would refuse.
  assert.doesNotMatch(r.stderr, /would violate PodSecurity/);
  assert.doesNotMatch(r.stderr, /error/i);
}

// --- manifests against the API server ----------------------------------------------------------

test('the kustomization lists every manifest in deploy/kubernetes, and each exists', async () => {
  const resources = await kustomizationResources();
  assert.deepEqual([...resources].sort(), MANIFESTS);
});

for (const file of MANIFESTS) {
  test(`${file} passes kubectl apply --dry-run=server`, async () => {
    const r = await admin(['apply', '--dry-run=server', '-f', join(deployDir, file)]);
    assertServerDryRun(r, await objectsIn(file));
  });
}

test('the kustomization renders every manifest once, binds both roles to the ServiceAccount only, and passes a server dry run', async () => {
  const rendered = await admin(['kustomize', deployDir]);
  assert.equal(rendered.code, 0, rendered.stderr);
  const objects = parseObjects(rendered.stdout, 'kubectl kustomize');
  const ids = (list: readonly KubeObject[]) =>
    list.map((o) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`).sort();
  assert.deepEqual(ids(objects), ids(await allObjects()));
  // upstream-rbac.yaml also names the User "kubegate" (the test bed's identity); in a cluster
  // only the ServiceAccount may impersonate.
  for (const name of ['kubegate-impersonator', 'kubegate-object-reader']) {
    assert.deepEqual(find<Binding>(objects, 'ClusterRoleBinding', name).subjects, [
      { kind: 'ServiceAccount', name: 'kubegate', namespace: NAMESPACE },
    ]);
  }
  // The oldest kubectl the tests use (kustomize v5.0) renders the same.
  const old = await admin(['kustomize', deployDir], undefined, '1.27');
  assert.equal(old.code, 0, old.stderr);
  assert.deepEqual(parseObjects(old.stdout, 'kubectl 1.27 kustomize'), objects);

  const r = await admin(['apply', '--dry-run=server', '-f', '-'], rendered.stdout);
  assertServerDryRun(r, objects);
});

const BROKEN: readonly {
  readonly name: string;
  readonly edit: (statefulSet: string) => string;
  readonly want: RegExp;
  readonly refused: boolean;
}[] = [
  {
    name: 'a misspelt securityContext field is refused (it would otherwise be dropped silently)',
    edit: (s) => s.replace('readOnlyRootFilesystem: true', 'readOnlyRootFileSystem: true'),
    want: /strict decoding error: unknown field "spec\.template\.spec\.containers\[0\]\.securityContext\.readOnlyRootFileSystem"/,
    refused: true,
  },
  {
    name: 'a container port out of range is refused',
    edit: (s) => s.replace('containerPort: 8443', 'containerPort: 84430'),
    want: /The StatefulSet "kubegate" is invalid: .*containerPort: Invalid value: 84430/,
    refused: true,
  },
  {
    name: 'a pod that may run as root draws the Pod Security "restricted" warning',
    edit: (s) => s.replaceAll('runAsNonRoot: true', 'runAsNonRoot: false'),
    want: /would violate PodSecurity "restricted:latest": runAsNonRoot != true/,
    refused: false,
  },
];

for (const row of BROKEN) {
  test(`a broken copy of statefulset.yaml: ${row.name}`, async () => {
    const original = await readFile(join(deployDir, 'statefulset.yaml'), 'utf8');
    const broken = row.edit(original);
    assert.notEqual(broken, original, 'the edit changed nothing');
    const r = await admin(['apply', '--dry-run=server', '-f', '-'], broken);
    assert.equal(r.code, row.refused ? 1 : 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stderr, row.want);
  });
}

const SERVICE_ACCOUNT = `system:serviceaccount:${NAMESPACE}:kubegate`;

interface Access {
  readonly verb: string;
  readonly group: string;
  readonly resource: string;
  readonly subresource?: string;
  readonly namespace?: string;
}

// Asked as SubjectAccessReviews rather than `kubectl auth can-i`, which cannot name userextras
// (discovery does not list it). An impersonated extra is resource userextras, subresource the key.
const ACCESS: readonly { readonly access: Access; readonly allowed: boolean }[] = [
  { access: { verb: 'impersonate', group: '', resource: 'users' }, allowed: true },
  { access: { verb: 'impersonate', group: '', resource: 'groups' }, allowed: true },
  {
    access: {
      verb: 'impersonate',
      group: 'authentication.k8s.io',
      resource: 'userextras',
      subresource: 'kubegate.dev/request-id',
    },
    allowed: true,
  },
  {
    access: {
      verb: 'impersonate',
      group: 'authentication.k8s.io',
      resource: 'userextras',
      subresource: 'scopes',
    },
    allowed: false,
  },
  {
    access: { verb: 'impersonate', group: '', resource: 'serviceaccounts', namespace: 'default' },
    allowed: false,
  },
  { access: { verb: 'get', group: '', resource: 'pods', namespace: 'default' }, allowed: true },
  { access: { verb: 'watch', group: 'apps', resource: 'deployments' }, allowed: true },
  { access: { verb: 'create', group: '', resource: 'pods', namespace: 'default' }, allowed: false },
  {
    access: { verb: 'delete', group: 'apps', resource: 'deployments', namespace: 'default' },
    allowed: false,
  },
  {
    access: { verb: 'create', group: '', resource: 'pods', subresource: 'exec', namespace: 'default' },
    allowed: false,
  },
  {
    access: { verb: 'update', group: 'rbac.authorization.k8s.io', resource: 'clusterrolebindings' },
    allowed: false,
  },
  {
    access: { verb: 'escalate', group: 'rbac.authorization.k8s.io', resource: 'clusterroles' },
    allowed: false,
  },
];

test('upstream-rbac.yaml lets the ServiceAccount impersonate callers and read objects, and nothing else', async () => {
  const wrong: string[] = [];
  for (const { access, allowed } of ACCESS) {
    const review = {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SubjectAccessReview',
      spec: {
        user: SERVICE_ACCOUNT,
        groups: ['system:serviceaccounts', `system:serviceaccounts:${NAMESPACE}`, 'system:authenticated'],
        resourceAttributes: access,
      },
    };
    const r = await admin(['create', '-f', '-', '-o', 'json'], JSON.stringify(review));
    assert.equal(r.code, 0, r.stderr);
    const got = (JSON.parse(r.stdout) as { status: { allowed: boolean } }).status.allowed;
    if (got !== allowed) wrong.push(`${JSON.stringify(access)}: allowed ${got}, want ${allowed}`);
  }
  assert.deepEqual(wrong, []);
});

// --- kubegate's own view of the ConfigMaps -----------------------------------------------------

async function statefulSet(): Promise<StatefulSet> {
  return find<StatefulSet>(await objectsIn('statefulset.yaml'), 'StatefulSet', 'kubegate');
}

function mountOf(container: Container, volume: string): { mountPath: string; subPath?: string } {
  const mount = container.volumeMounts?.find((m) => m.name === volume);
  assert.ok(mount, `no volumeMount of ${volume}`);
  return mount;
}

/** The ConfigMap a volume of the pod mounts, and where. */
function configMapMount(sts: StatefulSet, configMap: string): { mountPath: string; subPath?: string } {
  const volume = sts.spec.template.spec.volumes.find((v) => v.configMap?.name === configMap);
  assert.ok(volume, `no volume mounts the ConfigMap ${configMap}`);
  return mountOf(sts.spec.template.spec.containers[0]!, volume.name);
}

async function configMapText(): Promise<string> {
  const cm = find<ConfigMap>(await objectsIn('configmap-config.yaml'), 'ConfigMap', 'kubegate-config');
  const text = cm.data['kubegate.yaml'];
  assert.ok(text !== undefined, 'kubegate-config has no kubegate.yaml');
  return text;
}

test("kubegate.yaml in the kubegate-config ConfigMap passes kubegate's config loader and fits the StatefulSet and the image", async () => {
  const file = join(await scratchDir(), 'kubegate.yaml');
  await writeFile(file, await configMapText());
  const config = await loadConfig({ file });
  assert.equal(config.upstream.inCluster, true);
  assert.equal(config.upstream.kubeconfig, undefined);
  assert.deepEqual(config.listen, { host: '0.0.0.0', port: 8443 });
  assert.equal(config.dataDir, '/var/lib/kubegate');
  assert.equal(dirname(config.audit.file), config.dataDir, 'the audit trail belongs on the volume');

  const sts = await statefulSet();
  const container = sts.spec.template.spec.containers[0]!;
  assert.equal(mountOf(container, 'data').mountPath, config.dataDir);
  assert.deepEqual(
    sts.spec.volumeClaimTemplates.map((v) => v.metadata.name),
    ['data'],
  );
  assert.deepEqual(
    container.ports?.map((p) => p.containerPort),
    [config.listen.port],
  );
  // The config file is where the image's CMD (and the container's args) look for it.
  const configMount = configMapMount(sts, 'kubegate-config');
  assert.equal(configMount.subPath, 'kubegate.yaml');
  const image = await containerfile();
  assert.deepEqual(container.args, image.cmd);
  assert.equal(image.cmd.at(-1), configMount.mountPath);
  assert.deepEqual(image.volumes, [config.dataDir]);
  assert.deepEqual(image.expose, [String(config.listen.port)]);
  // The policy ConfigMap is mounted as a folder (a subPath mount would never see an update, so
  // hot reload would not happen), and policy.file is one of its keys.
  const policy = find<ConfigMap>(await objectsIn('configmap-policy.yaml'), 'ConfigMap', 'kubegate-policy');
  const policyMount = configMapMount(sts, 'kubegate-policy');
  assert.equal(policyMount.subPath, undefined);
  assert.ok(config.policy.file !== undefined);
  assert.equal(dirname(config.policy.file), policyMount.mountPath);
  assert.ok(
    basename(config.policy.file) in policy.data,
    `kubegate-policy has no ${basename(config.policy.file)}`,
  );
});

test('a misspelt field in that kubegate.yaml is refused by the config loader', async () => {
  const file = join(await scratchDir(), 'kubegate.yaml');
  await writeFile(file, (await configMapText()).replace('listen:', 'lisen:'));
  await assert.rejects(loadConfig({ file }), { code: 'KG_CONFIG_INVALID' });
});

test('the kubegate-policy ConfigMap holds examples/policy.yaml, and kubegate policy check accepts it', async () => {
  const cm = find<ConfigMap>(await objectsIn('configmap-policy.yaml'), 'ConfigMap', 'kubegate-policy');
  const example = await readFile(join(root, 'examples/policy.yaml'), 'utf8');
  assert.equal(
    cm.data['policy.yaml'],
    example,
    'deploy/kubernetes/configmap-policy.yaml has drifted from examples/policy.yaml: copy it again',
  );
  const file = join(await scratchDir(), 'policy.yaml');
  await writeFile(file, cm.data['policy.yaml']);
  const r = await kubegate(['policy', 'check', file]);
  assert.match(r.stdout, /policy\.yaml: valid, \d+ rules/);
});

test('kubegate policy check refuses a broken copy of that policy', async () => {
  const file = join(await scratchDir(), 'policy.yaml');
  const example = await readFile(join(root, 'examples/policy.yaml'), 'utf8');
  await writeFile(file, example.replace('action: allow', 'action: alow'));
  await assert.rejects(kubegate(['policy', 'check', file]), (err: { code?: number; stdout?: string }) => {
    assert.equal(err.code, 1);
    return true;
  });
});

test('the StatefulSet runs one replica of the image of this version, as the Containerfile user, locked down', async () => {
  const sts = await statefulSet();
  const pod = sts.spec.template.spec;
  const [container, ...others] = pod.containers;
  assert.ok(container);
  assert.deepEqual(others, []);
  // One replica: the SQLite audit trail and approvals live on one ReadWriteOnce volume.
  assert.equal(sts.spec.replicas, 1);
  assert.equal(pod.serviceAccountName, 'kubegate');
  const { version } = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { version: string };
  assert.equal(container.image, `ghcr.io/kubegate/kubegate:${version}`);
  const uid = (await containerfile()).uid;
  assert.equal(pod.securityContext.runAsNonRoot, true);
  assert.equal(pod.securityContext.runAsUser, uid);
  assert.equal(pod.securityContext.fsGroup, uid, 'the data volume must be writable by that user');
  assert.deepEqual(pod.securityContext.seccompProfile, { type: 'RuntimeDefault' });
  assert.deepEqual(container.securityContext, {
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    runAsNonRoot: true,
    runAsUser: uid,
    runAsGroup: uid,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  });
  const service = find<Service>(await objectsIn('service.yaml'), 'Service', 'kubegate');
  assert.equal(service.spec.type, 'ClusterIP');
  assert.deepEqual(
    service.spec.ports.map((p) => [p.port, p.targetPort]),
    [[443, 'https']],
  );
  assert.equal(container.ports?.find((p) => p.name === 'https')?.containerPort, 8443);
});

test('deploy/example-overlay puts your image, certificate and kubegate.yaml on the base, and passes a server dry run', async () => {
  const overlay = join(root, 'deploy/example-overlay');
  const rendered = await admin(['kustomize', overlay]);
  assert.equal(rendered.code, 0, rendered.stderr);
  const objects = parseObjects(rendered.stdout, 'kubectl kustomize deploy/example-overlay');
  const { version } = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { version: string };
  const sts = find<StatefulSet>(objects, 'StatefulSet', 'kubegate');
  const container = sts.spec.template.spec.containers[0]!;
  assert.equal(container.image, `registry.example.com/platform/kubegate:${version}`);
  const tlsVolume = sts.spec.template.spec.volumes.find((v) => v.name === 'tls');
  assert.deepEqual(tlsVolume?.secret, { secretName: 'kubegate-tls' });
  const tlsMount = mountOf(container, 'tls');

  const text = find<ConfigMap>(objects, 'ConfigMap', 'kubegate-config').data['kubegate.yaml'];
  assert.equal(text, await readFile(join(overlay, 'kubegate.yaml'), 'utf8'));
  const dir = await scratchDir();
  const config = await loadConfig({ file: await writeTemp(dir, 'overlay.yaml', text) });
  const base = await loadConfig({ file: await writeTemp(dir, 'base.yaml', await configMapText()) });
  // The files a Secret of type kubernetes.io/tls holds, where the patch mounts it.
  assert.deepEqual(config.tls, {
    certFile: join(tlsMount.mountPath, 'tls.crt'),
    keyFile: join(tlsMount.mountPath, 'tls.key'),
    hosts: [],
  });
  // Everything else is the base's, so that the two cannot drift apart unnoticed.
  assert.deepEqual({ ...config, tls: base.tls, publicUrl: undefined }, { ...base, publicUrl: undefined });
  assert.deepEqual(
    find<ConfigMap>(objects, 'ConfigMap', 'kubegate-policy').data,
    find<ConfigMap>(await objectsIn('configmap-policy.yaml'), 'ConfigMap', 'kubegate-policy').data,
  );

  const r = await admin(['apply', '--dry-run=server', '-f', '-'], rendered.stdout);
  assertServerDryRun(r, objects);
});

test('with listen.host 0.0.0.0 as in the ConfigMap, kubectl reaches kubegate by another address only with tls-server-name: localhost', async () => {
  // kubegate's generated serving certificate names listen.host, localhost and 127.0.0.1, not the
  // Service's DNS name; docs/DEPLOY.md (TLS) offers tls-server-name until a real certificate is
  // mounted. Here 127.0.0.2 plays the Service address. Paths and upstream are the test bed's, as
  // upstream.inCluster needs a pod; listen, policy and the layout of the data dir are the
  // ConfigMaps'.
  const dir = await scratchDir();
  const port = await freePort();
  const deployed = (await loadConfig({ file: await writeTemp(dir, 'deployed.yaml', await configMapText()) }))
    .listen;
  const policyCm = find<ConfigMap>(await objectsIn('configmap-policy.yaml'), 'ConfigMap', 'kubegate-policy');
  await mkdir(join(dir, 'policy'));
  const policyFile = await writeTemp(join(dir, 'policy'), 'policy.yaml', policyCm.data['policy.yaml']!);
  const dataDir = join(dir, 'data');
  const configFile = await writeTemp(
    dir,
    'kubegate.yaml',
    stringify({
      dataDir,
      listen: { host: deployed.host, port },
      upstream: { kubeconfig: tb.upstreamKubeconfig },
      policy: { file: policyFile },
      audit: { file: join(dataDir, 'audit.db') },
      log: { level: 'warn' },
    }),
  );
  let output = '';
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(root, 'src/cli/main.ts'), 'serve', '--config', configFile],
    {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const exited = once(child, 'exit').then(([code, signal]) => String(signal ?? code));
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  try {
    await waitFor(
      () => output.includes('kubegate listening on'),
      () => child.exitCode !== null,
      () => output,
    );
    const kubeconfig = join(dir, 'bob.kubeconfig');
    await kubegate([
      'user',
      'add',
      'bob',
      '--group',
      'sre',
      '--data-dir',
      dataDir,
      '--out',
      kubeconfig,
      '--server',
      `https://127.0.0.2:${port}`,
    ]);
    const bob = (args: readonly string[]) => kubectl(args, { kubeconfig });
    let r = await bob(['get', '--raw', '/version']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /x509: certificate is valid for .*not 127\.0\.0\.2/);
    r = await bob(['config', 'set-cluster', 'kubegate', '--tls-server-name=localhost']);
    assert.equal(r.code, 0, r.stderr);
    r = await bob(['get', '--raw', '/version']);
    assert.equal(r.code, 0, `${r.stderr}\n${output}`);
    assert.equal((JSON.parse(r.stdout) as { gitVersion: string }).gitVersion, tb.kubernetesVersion);
  } finally {
    if (child.pid !== undefined) await stopPid(child.pid, exited);
  }
});

async function writeTemp(dir: string, name: string, text: string): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, text);
  return file;
}

async function waitFor(ready: () => boolean, failed: () => boolean, log: () => string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!ready()) {
    if (failed() || Date.now() > deadline) assert.fail(`kubegate did not start:\n${log()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

// --- deploy/kubernetes-ha: several replicas on PostgreSQL --------------------------------------

const haDir = join(root, 'deploy/kubernetes-ha');

const HA_MANIFESTS = readdirSync(haDir)
  .filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')
  .sort();

interface PodSpec {
  readonly serviceAccountName: string;
  readonly securityContext: Readonly<Record<string, unknown>>;
  readonly affinity?: {
    readonly podAntiAffinity?: {
      readonly preferredDuringSchedulingIgnoredDuringExecution?: readonly {
        readonly weight: number;
        readonly podAffinityTerm: {
          readonly topologyKey: string;
          readonly labelSelector: { readonly matchLabels: Readonly<Record<string, string>> };
        };
      }[];
      readonly requiredDuringSchedulingIgnoredDuringExecution?: readonly unknown[];
    };
  };
  readonly topologySpreadConstraints?: readonly {
    readonly topologyKey: string;
    readonly whenUnsatisfiable: string;
    readonly labelSelector: { readonly matchLabels: Readonly<Record<string, string>> };
  }[];
  readonly containers: readonly Container[];
  readonly volumes: readonly {
    readonly name: string;
    readonly configMap?: { readonly name: string };
    readonly secret?: {
      readonly secretName: string;
      readonly items?: readonly unknown[];
      readonly defaultMode?: number;
    };
    readonly projected?: {
      readonly defaultMode?: number;
      readonly sources: readonly {
        readonly secret?: {
          readonly name: string;
          readonly optional?: boolean;
          readonly items?: readonly { readonly key: string; readonly path: string }[];
        };
      }[];
    };
    readonly emptyDir?: unknown;
    readonly persistentVolumeClaim?: unknown;
  }[];
}

interface Deployment extends KubeObject {
  readonly spec: {
    readonly replicas: number;
    readonly selector: { readonly matchLabels: Readonly<Record<string, string>> };
    readonly strategy: {
      readonly type: string;
      readonly rollingUpdate: {
        readonly maxUnavailable: number | string;
        readonly maxSurge: number | string;
      };
    };
    readonly template: {
      readonly metadata: { readonly labels: Readonly<Record<string, string>> };
      readonly spec: PodSpec;
    };
  };
}

interface PodDisruptionBudget extends KubeObject {
  readonly spec: {
    readonly minAvailable?: number | string;
    readonly maxUnavailable?: number | string;
    readonly selector: { readonly matchLabels: Readonly<Record<string, string>> };
  };
}

async function haObjectsIn(file: string): Promise<KubeObject[]> {
  return parseObjects(await readFile(join(haDir, file), 'utf8'), `kubernetes-ha/${file}`);
}

async function haKustomization(): Promise<{
  resources: string[];
  patches: { path?: string; patch?: string }[];
}> {
  const [k] = parseObjects(await readFile(join(haDir, 'kustomization.yaml'), 'utf8'), 'kustomization');
  return k as unknown as { resources: string[]; patches: { path?: string; patch?: string }[] };
}

async function haDeployment(): Promise<Deployment> {
  return find<Deployment>(await haObjectsIn('deployment.yaml'), 'Deployment', 'kubegate');
}

async function haConfigText(): Promise<string> {
  const cm = find<ConfigMap>(await haObjectsIn('configmap-config.yaml'), 'ConfigMap', 'kubegate-config');
  const text = cm.data['kubegate.yaml'];
  assert.ok(text !== undefined, 'the HA kubegate-config has no kubegate.yaml');
  return text;
}

function podMount(pod: PodSpec, volume: string): { mountPath: string; subPath?: string; readOnly?: boolean } {
  const mount = pod.containers[0]!.volumeMounts?.find((m) => m.name === volume);
  assert.ok(mount, `no volumeMount of ${volume}`);
  return mount;
}

/** Every file under `dir` with its content and mtime: what a run changed shows as a difference. */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const file = join(entry.parentPath, entry.name);
    const { mtimeMs } = await stat(file);
    out[file.slice(dir.length + 1)] = `${mtimeMs}:${await readFile(file, 'utf8')}`;
  }
  return out;
}

test('deploy/kubernetes-ha builds on deploy/kubernetes and lists each of its own manifests', async () => {
  const k = await haKustomization();
  assert.ok(k.resources.includes('../kubernetes'), 'the single-replica deployment is the base');
  const own = [
    ...k.resources.filter((r) => r !== '../kubernetes'),
    ...k.patches.flatMap((p) => p.path ?? []),
  ];
  assert.deepEqual(own.sort(), HA_MANIFESTS);
});

for (const file of HA_MANIFESTS) {
  test(`kubernetes-ha/${file} passes kubectl apply --dry-run=server`, async () => {
    const r = await admin(['apply', '--dry-run=server', '-f', join(haDir, file)]);
    assertServerDryRun(r, await haObjectsIn(file));
  });
}

test('the kubernetes-ha kustomization swaps the StatefulSet for a Deployment and a PDB, keeps the base otherwise, and passes a server dry run', async () => {
  const rendered = await admin(['kustomize', haDir]);
  assert.equal(rendered.code, 0, rendered.stderr);
  const objects = parseObjects(rendered.stdout, 'kubectl kustomize deploy/kubernetes-ha');
  const ids = (list: readonly KubeObject[]) =>
    list.map((o) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`).sort();
  const want = [
    ...(await allObjects()).filter((o) => o.kind !== 'StatefulSet'),
    ...(await haObjectsIn('deployment.yaml')),
    ...(await haObjectsIn('pod-disruption-budget.yaml')),
  ];
  assert.deepEqual(ids(objects), ids(want));
  assert.deepEqual(
    find<ConfigMap>(objects, 'ConfigMap', 'kubegate-config').data,
    find<ConfigMap>(await haObjectsIn('configmap-config.yaml'), 'ConfigMap', 'kubegate-config').data,
  );
  assert.deepEqual(
    find<ConfigMap>(objects, 'ConfigMap', 'kubegate-policy').data,
    find<ConfigMap>(await objectsIn('configmap-policy.yaml'), 'ConfigMap', 'kubegate-policy').data,
  );
  for (const name of ['kubegate-impersonator', 'kubegate-object-reader']) {
    assert.deepEqual(find<Binding>(objects, 'ClusterRoleBinding', name).subjects, [
      { kind: 'ServiceAccount', name: 'kubegate', namespace: NAMESPACE },
    ]);
  }
  const old = await admin(['kustomize', haDir], undefined, '1.27');
  assert.equal(old.code, 0, old.stderr);
  assert.deepEqual(parseObjects(old.stdout, 'kubectl 1.27 kustomize deploy/kubernetes-ha'), objects);

  const r = await admin(['apply', '--dry-run=server', '-f', '-'], rendered.stdout);
  assertServerDryRun(r, objects);
});

test("the HA kubegate.yaml passes kubegate's config loader with the postgres store's urlFile, and the Deployment mounts what it names", async () => {
  const text = await haConfigText();
  // The URL holds the database password: it belongs in the Secret, never in the ConfigMap.
  assert.doesNotMatch(text, /postgres(ql)?:\/\//);
  const dir = await scratchDir();
  const config = await loadConfig({ file: await writeTemp(dir, 'kubegate.yaml', text) });
  assert.equal(config.store.type, 'postgres');
  assert.ok(config.store.type === 'postgres');
  assert.equal(config.store.url, undefined);
  assert.ok(config.store.urlFile !== undefined);
  assert.equal(config.upstream.inCluster, true);
  assert.deepEqual(config.listen, { host: '0.0.0.0', port: 8443 });
  assert.equal(config.tls.certFile, undefined, "kubegate's own serving certificate, from kubegate-pki");
  // Everything but the store is the single replica's, so that the two cannot drift apart unnoticed.
  const base = await loadConfig({ file: await writeTemp(dir, 'base.yaml', await configMapText()) });
  assert.deepEqual({ ...config, store: base.store }, base);

  const deployment = await haDeployment();
  const pod = deployment.spec.template.spec;
  const container = pod.containers[0]!;
  // The Secret kubegate-db at the folder of store.urlFile, its key `url` the file.
  const db = pod.volumes.find((v) => v.secret?.secretName === 'kubegate-db');
  assert.ok(db, 'no volume mounts the Secret kubegate-db');
  assert.equal(db.secret?.items, undefined, 'every key of kubegate-db is a file');
  const dbMount = podMount(pod, db.name);
  assert.equal(dbMount.mountPath, dirname(config.store.urlFile));
  assert.equal(basename(config.store.urlFile), 'url');
  assert.equal(dbMount.readOnly, true);
  // The files are readable by kubegate's group (fsGroup) only: the password, and below the CA key.
  assert.equal(pod.securityContext['fsGroup'], 65532);
  assert.equal(db.secret?.defaultMode, 0o440);
  // dataDir: the Secrets kubegate-pki (the files gateway-pki.ts reads in <dataDir>/pki) and
  // kubegate-tokens (<dataDir>/tokens.json), read-only and the same in every pod.
  const dataMount = podMount(pod, 'data');
  assert.equal(dataMount.mountPath, config.dataDir);
  assert.equal(dataMount.readOnly, true);
  const data = pod.volumes.find((v) => v.name === 'data');
  assert.ok(data?.projected, 'the data directory is a projection of Secrets');
  assert.equal(data.persistentVolumeClaim, undefined);
  assert.equal(data.projected.defaultMode, 0o440);
  const files = data.projected.sources.map((s) => [
    s.secret?.name,
    s.secret?.items?.map((i) => [i.key, i.path]),
  ]);
  assert.deepEqual(files, [
    [
      'kubegate-pki',
      [
        ['ca.crt', 'pki/ca.crt'],
        ['ca.key', 'pki/ca.key'],
        ['server.crt', 'pki/server.crt'],
        ['server.key', 'pki/server.key'],
      ],
    ],
    ['kubegate-tokens', [['tokens.json', 'tokens.json']]],
  ]);
  // The config where the image's CMD looks for it, the policy as a folder (hot reload), the port.
  const image = await containerfile();
  assert.deepEqual(container.args, image.cmd);
  const configVolume = pod.volumes.find((v) => v.configMap?.name === 'kubegate-config');
  assert.ok(configVolume);
  assert.deepEqual(podMount(pod, configVolume.name).mountPath, image.cmd.at(-1));
  const policyVolume = pod.volumes.find((v) => v.configMap?.name === 'kubegate-policy');
  assert.ok(policyVolume && config.policy.file !== undefined);
  const policyMount = podMount(pod, policyVolume.name);
  assert.equal(policyMount.subPath, undefined);
  assert.equal(dirname(config.policy.file), policyMount.mountPath);
  assert.deepEqual(
    container.ports?.map((p) => p.containerPort),
    [config.listen.port],
  );
});

test('the HA config loader refuses a postgres store with both url and urlFile', async () => {
  const text = (await haConfigText()).replace(
    'urlFile: /etc/kubegate/db/url',
    'urlFile: /etc/kubegate/db/url\n  url: postgres://kubegate@db/kubegate',
  );
  assert.notEqual(text, await haConfigText());
  const file = await writeTemp(await scratchDir(), 'kubegate.yaml', text);
  await assert.rejects(loadConfig({ file }), { code: 'KG_CONFIG_INVALID' });
});

test('the Deployment runs several replicas, spread over nodes and zones, rolls without losing one, and the PDB guards the same pods', async () => {
  const deployment = await haDeployment();
  const { spec } = deployment;
  assert.ok(spec.replicas >= 2, `replicas ${spec.replicas}`);
  assert.equal(spec.replicas, 3);
  assert.deepEqual(spec.strategy, {
    type: 'RollingUpdate',
    rollingUpdate: { maxUnavailable: 0, maxSurge: 1 },
  });
  const selector = spec.selector.matchLabels;
  for (const [k, v] of Object.entries(selector)) assert.equal(spec.template.metadata.labels[k], v);
  const pdb = find<PodDisruptionBudget>(
    await haObjectsIn('pod-disruption-budget.yaml'),
    'PodDisruptionBudget',
    'kubegate',
  );
  assert.deepEqual(pdb.spec.selector.matchLabels, selector);
  // One pod at a time may be evicted: a drain goes on, and two replicas keep serving.
  assert.deepEqual([pdb.spec.maxUnavailable, pdb.spec.minAvailable], [1, undefined]);
  const service = find<Service & { spec: { selector: Record<string, string> } }>(
    await objectsIn('service.yaml'),
    'Service',
    'kubegate',
  );
  assert.deepEqual(service.spec.selector, selector);

  const pod = spec.template.spec;
  const anti = pod.affinity?.podAntiAffinity;
  assert.equal(anti?.requiredDuringSchedulingIgnoredDuringExecution, undefined, 'preferred, not required');
  assert.deepEqual(
    anti?.preferredDuringSchedulingIgnoredDuringExecution?.map((t) => [
      t.podAffinityTerm.topologyKey,
      t.podAffinityTerm.labelSelector.matchLabels,
    ]),
    [['kubernetes.io/hostname', selector]],
  );
  const spread = pod.topologySpreadConstraints ?? [];
  assert.deepEqual(spread.map((c) => c.topologyKey).sort(), [
    'kubernetes.io/hostname',
    'topology.kubernetes.io/zone',
  ]);
  for (const c of spread) {
    assert.equal(c.whenUnsatisfiable, 'ScheduleAnyway');
    assert.deepEqual(c.labelSelector.matchLabels, selector);
  }
  // The same image, identity and lock-down as the single replica, and no volume of its own.
  const sts = await statefulSet();
  const single = sts.spec.template.spec;
  assert.equal(pod.serviceAccountName, single.serviceAccountName);
  // fsGroupChangePolicy is about the single replica's PersistentVolume, which the Deployment has not.
  const { fsGroupChangePolicy, ...singlePod } = single.securityContext as Record<string, unknown>;
  assert.equal(fsGroupChangePolicy, 'OnRootMismatch');
  assert.deepEqual(pod.securityContext, singlePod);
  const [container, ...others] = pod.containers;
  assert.deepEqual(others, []);
  assert.equal(container!.image, single.containers[0]!.image);
  assert.deepEqual(container!.securityContext, single.containers[0]!.securityContext);
  assert.deepEqual(
    pod.volumes.filter((v) => v.persistentVolumeClaim !== undefined),
    [],
  );
});

const HA_BROKEN: readonly {
  readonly name: string;
  readonly file: string;
  readonly edit: (text: string) => string;
  readonly want: RegExp;
  readonly refused: boolean;
}[] = [
  {
    name: 'a misspelt rollingUpdate field in deployment.yaml is refused',
    file: 'deployment.yaml',
    edit: (s) => s.replace('maxUnavailable: 0', 'maxUnavailible: 0'),
    want: /strict decoding error: unknown field "spec\.strategy\.rollingUpdate\.maxUnavailible"/,
    refused: true,
  },
  {
    name: 'a Deployment whose pods may run as root draws the Pod Security "restricted" warning',
    file: 'deployment.yaml',
    edit: (s) => s.replaceAll('runAsNonRoot: true', 'runAsNonRoot: false'),
    want: /would violate PodSecurity "restricted:latest": runAsNonRoot != true/,
    refused: false,
  },
  {
    name: 'a PodDisruptionBudget with both minAvailable and maxUnavailable is refused',
    file: 'pod-disruption-budget.yaml',
    edit: (s) => s.replace('maxUnavailable: 1', 'maxUnavailable: 1\n  minAvailable: 2'),
    want: /minAvailable and maxUnavailable cannot be both set/,
    refused: true,
  },
];

for (const row of HA_BROKEN) {
  test(`a broken copy of kubernetes-ha/${row.file}: ${row.name}`, async () => {
    const original = await readFile(join(haDir, row.file), 'utf8');
    const broken = row.edit(original);
    assert.notEqual(broken, original, 'the edit changed nothing');
    const r = await admin(['apply', '--dry-run=server', '-f', '-'], broken);
    assert.equal(r.code, row.refused ? 1 : 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stderr, row.want);
  });
}

test('the store-copy Job passes a server dry run, reads the single replica store from its volume and writes the replicas store', async () => {
  const file = join(haDir, 'store-copy/store-copy.yaml');
  const objects = parseObjects(await readFile(file, 'utf8'), 'store-copy.yaml');
  const r = await admin(['apply', '--dry-run=server', '-f', file]);
  assertServerDryRun(r, objects);

  const cm = find<ConfigMap>(objects, 'ConfigMap', 'kubegate-store-copy');
  const job = find<
    KubeObject & { spec: { template: { metadata: { labels: Record<string, string> }; spec: PodSpec } } }
  >(objects, 'Job', 'kubegate-store-copy');
  const pod = job.spec.template.spec;
  const container = pod.containers[0]!;
  const configMount = podMount(
    pod,
    pod.volumes.find((v) => v.configMap?.name === 'kubegate-store-copy')!.name,
  );
  assert.deepEqual(container.args, [
    'store',
    'copy',
    '--from-config',
    join(configMount.mountPath, 'from.yaml'),
    '--config',
    join(configMount.mountPath, 'to.yaml'),
  ]);
  const dir = await scratchDir();
  const from = await loadConfig({ file: await writeTemp(dir, 'from.yaml', cm.data['from.yaml']!) });
  const to = await loadConfig({ file: await writeTemp(dir, 'to.yaml', cm.data['to.yaml']!) });
  // The stores the two deployments run with.
  const single = await loadConfig({ file: await writeTemp(dir, 'single.yaml', await configMapText()) });
  const ha = await loadConfig({ file: await writeTemp(dir, 'ha.yaml', await haConfigText()) });
  assert.deepEqual(from.store, single.store);
  // A postgres store also carries dataDir's paths, which it never uses: to.yaml needs no dataDir.
  const { dir: _toDir, auditFile: _toAudit, ...toStore } = to.store;
  const { dir: _haDir, auditFile: _haAudit, ...haStore } = ha.store;
  assert.equal(to.store.type, 'postgres');
  assert.deepEqual(toStore, haStore);
  // The single replica's volume where its config says, and the database URL where the HA config says.
  const data = pod.volumes.find((v) => v.name === 'data') as {
    persistentVolumeClaim?: { claimName: string };
  };
  const sts = await statefulSet();
  assert.deepEqual(data.persistentVolumeClaim, {
    claimName: `${sts.spec.volumeClaimTemplates[0]!.metadata.name}-${sts.metadata.name}-0`,
  });
  assert.equal(podMount(pod, 'data').mountPath, single.dataDir);
  const db = pod.volumes.find((v) => v.secret?.secretName === 'kubegate-db');
  assert.ok(db && ha.store.type === 'postgres' && ha.store.urlFile !== undefined);
  assert.equal(podMount(pod, db.name).mountPath, dirname(ha.store.urlFile));
  // The Service does not select the Job's pod.
  assert.notEqual(job.spec.template.metadata.labels['app.kubernetes.io/name'], 'kubegate');
});

/** Starts `kubegate serve` on `config`; resolves once it listens. */
async function startServe(configFile: string): Promise<{ stop: () => Promise<void>; output: () => string }> {
  let output = '';
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(root, 'src/cli/main.ts'), 'serve', '--config', configFile],
    {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const exited = once(child, 'exit').then(([code, signal]) => String(signal ?? code));
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const stop = async () => {
    if (child.pid !== undefined && child.exitCode === null) await stopPid(child.pid, exited);
  };
  try {
    await waitFor(
      () => output.includes('kubegate listening on'),
      () => child.exitCode !== null,
      () => output,
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return { stop, output: () => output };
}

function servedCertificate(port: number, caPem: string): Promise<string> {
  return new Promise((resolvePem, reject) => {
    const socket = tlsConnect(
      { host: '127.0.0.1', port, servername: 'kubegate.kubegate.svc', ca: caPem },
      () => {
        resolvePem(socket.getPeerX509Certificate()?.fingerprint256 ?? '');
        socket.end();
      },
    );
    socket.on('error', reject);
  });
}

test('kubegate-pki made as docs/DEPLOY.md says: two replicas on one PostgreSQL serve its certificate, accept one token file, and write nothing in the data directory', async () => {
  const dir = await scratchDir();
  const haConfig = await writeTemp(dir, 'kubegate.yaml', await haConfigText());
  const dataDir = join(dir, 'kubegate-ha');
  // The documented step: kubegate makes its CA and serving certificate before it looks for the
  // cluster, then stops, as it runs outside a pod.
  await assert.rejects(
    kubegate(['serve', '--config', haConfig, '--data-dir', dataDir]),
    (err: { code?: number; stderr?: string }) => {
      assert.equal(err.code, 1);
      assert.match(err.stderr ?? '', /not running in a Kubernetes pod/);
      return true;
    },
  );
  const pkiFiles = readdirSync(join(dataDir, 'pki')).sort();
  assert.deepEqual(pkiFiles, ['ca.crt', 'ca.key', 'server.crt', 'server.key']);
  const serverCert = new X509Certificate(await readFile(join(dataDir, 'pki', 'server.crt'), 'utf8'));
  assert.match(serverCert.subjectAltName ?? '', /DNS:kubegate\.kubegate\.svc\b/);
  const caPem = await readFile(join(dataDir, 'pki', 'ca.crt'), 'utf8');
  // A token added locally, as kubegate-tokens is made.
  const kubeconfig = join(dir, 'bob.kubeconfig');
  await kubegate([
    'user',
    'add',
    'bob',
    '--group',
    'sre',
    '--token',
    '--data-dir',
    dataDir,
    '--out',
    kubeconfig,
    '--server',
    'https://kubegate.kubegate.svc',
  ]);
  assert.ok(existsSync(join(dataDir, 'tokens.json')));

  const pg = await startTestPostgres();
  const replicas: { stop: () => Promise<void>; output: () => string }[] = [];
  try {
    await mkdir(join(dir, 'db'));
    const urlFile = await writeTemp(join(dir, 'db'), 'url', `${await pg.createDatabase()}\n`);
    const policyCm = find<ConfigMap>(
      await objectsIn('configmap-policy.yaml'),
      'ConfigMap',
      'kubegate-policy',
    );
    const policyFile = await writeTemp(dir, 'policy.yaml', policyCm.data['policy.yaml']!);
    const before = await snapshot(dataDir);
    const ha = parseYaml(await haConfigText()) as Record<string, unknown>;
    const ports = [await freePort(), await freePort()];
    // The ConfigMap's config, with the test bed for the pod's ServiceAccount and local paths for
    // the mounts.
    const configFor = (port: number, hosts?: readonly string[]) =>
      stringify({
        ...ha,
        dataDir,
        listen: { host: '0.0.0.0', port },
        upstream: { kubeconfig: tb.upstreamKubeconfig },
        policy: { file: policyFile },
        store: { ...(ha['store'] as object), urlFile },
        ...(hosts === undefined ? {} : { tls: { hosts } }),
        log: { level: 'warn' },
      });
    for (const port of ports) {
      replicas.push(await startServe(await writeTemp(dir, `replica-${port}.yaml`, configFor(port))));
    }
    for (const port of ports) {
      assert.equal(await servedCertificate(port, caPem), serverCert.fingerprint256);
      const r = await kubectl(['--server', `https://127.0.0.1:${port}`, 'get', '--raw', '/version'], {
        kubeconfig,
      });
      assert.equal(r.code, 0, `${r.stderr}\n${replicas.map((x) => x.output()).join('\n')}`);
    }
    assert.deepEqual(
      await snapshot(dataDir),
      before,
      'a replica wrote into the data directory (read-only in a pod)',
    );
    for (const replica of replicas.splice(0)) await replica.stop();

    // The check can fail: tls.hosts other than the certificate's make kubegate reissue it, a write
    // that the read-only mount in a pod refuses.
    const other = await freePort();
    replicas.push(
      await startServe(await writeTemp(dir, 'other.yaml', configFor(other, ['kubegate.example.com']))),
    );
    const after = await snapshot(dataDir);
    assert.notEqual(after['pki/server.crt'], before['pki/server.crt']);
  } finally {
    for (const replica of replicas) await replica.stop();
    await pg.stop();
  }
});

// --- the Containerfile, statically -------------------------------------------------------------

interface Instruction {
  readonly keyword: string;
  readonly args: string;
}

interface Stage {
  readonly image: string;
  readonly name: string | null;
  readonly instructions: readonly Instruction[];
}

interface ImageDefinition {
  readonly stages: readonly Stage[];
  readonly entrypoint: readonly string[];
  readonly cmd: readonly string[];
  readonly user: string;
  readonly uid: number;
  readonly volumes: readonly string[];
  readonly expose: readonly string[];
}

/**
 * Docker's rules, as far as the Containerfile uses them: `#` lines are comments (inside a
 * continued instruction too), a trailing backslash continues the line, and ARGs before the first
 * FROM are the defaults FROM substitutes.
 */
function parseContainerfile(text: string): Stage[] {
  const logical: string[] = [];
  let current = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('#') || line === '') continue;
    if (line.endsWith('\\')) {
      current += `${line.slice(0, -1)} `;
      continue;
    }
    logical.push(`${current}${line}`);
    current = '';
  }
  assert.equal(current, '', 'the Containerfile ends inside a continued line');
  const defaults = new Map<string, string>();
  const stages: { image: string; name: string | null; instructions: Instruction[] }[] = [];
  for (const line of logical) {
    const [, word = '', args = ''] = /^(\S+)\s*(.*)$/su.exec(line) ?? [];
    const keyword = word.toUpperCase();
    if (keyword === 'ARG' && stages.length === 0) {
      const [name = '', value = ''] = args.split('=');
      defaults.set(name, value);
    } else if (keyword === 'FROM') {
      const substituted = args.replace(/\$\{(\w+)\}/gu, (_, name: string) => defaults.get(name) ?? '');
      const [image = '', as, name] = substituted.split(/\s+/u);
      stages.push({ image, name: as?.toUpperCase() === 'AS' ? (name ?? null) : null, instructions: [] });
    } else {
      assert.ok(stages.length > 0, `${keyword} before the first FROM`);
      stages.at(-1)!.instructions.push({ keyword, args });
    }
  }
  return stages;
}

function last(stage: Stage, keyword: string): string {
  const found = stage.instructions.filter((i) => i.keyword === keyword).at(-1);
  assert.ok(found, `the final stage has no ${keyword}`);
  return found.args;
}

async function containerfile(): Promise<ImageDefinition> {
  const stages = parseContainerfile(await readFile(join(root, 'Containerfile'), 'utf8'));
  const final = stages.at(-1)!;
  const user = last(final, 'USER');
  const volume = last(final, 'VOLUME');
  return {
    stages,
    entrypoint: JSON.parse(last(final, 'ENTRYPOINT')) as string[],
    cmd: JSON.parse(last(final, 'CMD')) as string[],
    user,
    uid: /^\d+(:\d+)?$/u.test(user) ? Number(user.split(':')[0]) : NaN,
    volumes: volume.startsWith('[') ? (JSON.parse(volume) as string[]) : volume.split(/\s+/u),
    expose: last(final, 'EXPOSE').split(/\s+/u),
  };
}

interface Copy {
  readonly from: string | null;
  readonly sources: readonly string[];
  readonly dest: string;
}

function copyOf(args: string): Copy {
  const words = args.trim().split(/\s+/u);
  const flags = words.filter((w) => w.startsWith('--'));
  const paths = words.filter((w) => !w.startsWith('--'));
  const from = flags.find((f) => f.startsWith('--from='))?.slice('--from='.length) ?? null;
  assert.ok(paths.length >= 2, `COPY ${args}: needs a source and a destination`);
  return { from, sources: paths.slice(0, -1), dest: paths.at(-1)! };
}

/** Each COPY of a stage with the WORKDIR it runs in. */
function copiesOf(stage: Stage): { copy: Copy; workdir: string }[] {
  let workdir = '/';
  const out: { copy: Copy; workdir: string }[] = [];
  for (const i of stage.instructions) {
    if (i.keyword === 'WORKDIR') workdir = posix.resolve(workdir, i.args.trim());
    if (i.keyword === 'COPY') out.push({ copy: copyOf(i.args), workdir });
  }
  return out;
}

/** .dockerignore / .containerignore patterns (`*`, `**`, `?`, `!`); a match on a folder covers its files. */
function ignoreMatcher(text: string): (path: string) => boolean {
  const rules = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((line) => {
      const negate = line.startsWith('!');
      const pattern = (negate ? line.slice(1) : line).replace(/^\/+/u, '');
      let re = '';
      for (let i = 0; i < pattern.length; i++) {
        const c = pattern[i]!;
        if (c === '*' && pattern[i + 1] === '*') {
          i++;
          if (pattern[i + 1] === '/') {
            i++;
            re += '(?:.*/)?';
          } else re += '.*';
        } else if (c === '*') re += '[^/]*';
        else if (c === '?') re += '[^/]';
        else re += c.replace(/[.+^${}()|[\]\\]/gu, '\\$&');
      }
      return { negate, re: new RegExp(`^${re}$`, 'u') };
    });
  return (path) => {
    const parts = path.split('/');
    const prefixes = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
    let ignored = false;
    for (const rule of rules) if (prefixes.some((p) => rule.re.test(p))) ignored = !rule.negate;
    return ignored;
  };
}

async function contextIgnored(): Promise<(path: string) => boolean> {
  return ignoreMatcher(await readFile(join(root, '.containerignore'), 'utf8'));
}

/** What `npm run build` compiles with, read as tsc reads it. */
function buildTsconfig(): ts.ParsedCommandLine {
  const parsed = ts.getParsedCommandLineOfConfigFile(
    join(root, 'tsconfig.build.json'),
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) =>
        assert.fail(ts.flattenDiagnosticMessageText(d.messageText, '\n')),
    },
  );
  assert.ok(parsed);
  return parsed;
}

test('the Containerfile builds in two stages on node:24-bookworm-slim, with the tools better-sqlite3 compiles with', async () => {
  const { stages } = await containerfile();
  assert.deepEqual(
    stages.map((s) => [s.image, s.name]),
    [
      ['docker.io/library/node:24-bookworm-slim', 'build'],
      ['docker.io/library/node:24-bookworm-slim', null],
    ],
  );
  const run = stages[0]!.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args);
  const all = run.join('\n');
  for (const tool of ['g++', 'make', 'python3'])
    assert.match(all, new RegExp(`install .*\\s${tool.replace('+', '\\+')}(\\s|$)`));
  // Without --ignore-scripts, `npm ci` runs the `prepare` script (the build) before the sources
  // are copied in, and fails.
  assert.ok(
    run.some((r) => /npm ci --ignore-scripts/.test(r) && /npm rebuild better-sqlite3/.test(r)),
    all,
  );
  assert.ok(
    run.some((r) => /npm run build/.test(r) && /npm prune --omit=dev/.test(r)),
    all,
  );
  assert.ok(!stages[1]!.instructions.some((i) => i.keyword === 'RUN' && /npm|apt-get install/.test(i.args)));
});

test('every COPY source in the Containerfile exists in the build context or is made by the build stage', async () => {
  const { stages } = await containerfile();
  const ignored = await contextIgnored();
  const [build, runtime] = stages;
  const fromContext = (path: string): void => {
    assert.ok(path === '.' || existsSync(join(root, path)), `${path} is not in the repository`);
    assert.ok(path === '.' || !ignored(path), `${path} is excluded by .containerignore`);
  };
  const buildCopies = copiesOf(build!);
  for (const { copy } of buildCopies) {
    assert.equal(copy.from, null);
    copy.sources.forEach(fromContext);
  }
  // The build stage holds the whole context, plus what `npm ci` and `npm run build` make: those
  // are excluded from the context, so a developer's own node_modules or dist never slip in.
  const workdir = buildCopies.find(({ copy }) => copy.sources.includes('.'))?.workdir;
  assert.ok(workdir, 'the build stage copies the context (COPY . .)');
  const outDir = buildTsconfig().options.outDir;
  assert.ok(outDir !== undefined, 'tsconfig.build.json has no outDir');
  const made = ['node_modules', posix.relative(root, outDir)];
  for (const path of made) assert.ok(ignored(path), `${path} is made by the build, so it must be ignored`);
  const runtimeCopies = copiesOf(runtime!);
  assert.ok(runtimeCopies.length > 0);
  for (const { copy } of runtimeCopies) {
    assert.equal(copy.from, 'build');
    for (const source of copy.sources) {
      assert.ok(source.startsWith(`${workdir}/`), `${source} is outside the build stage's ${workdir}`);
      const path = posix.relative(workdir, source);
      if (!made.includes(path.split('/')[0]!)) fromContext(path);
    }
  }
});

test('the Containerfile ENTRYPOINT runs what npm run build emits for src/cli/main.ts, the package bin', async () => {
  const image = await containerfile();
  const [node, script, ...rest] = image.entrypoint;
  assert.equal(node, 'node');
  assert.ok(script);
  assert.deepEqual(rest, []);
  // Follow the script back through the runtime stage's COPY to the build stage.
  const copies = copiesOf(image.stages[1]!);
  const inImage = posix.resolve(copies.at(-1)!.workdir, script);
  const carried = copies.find(({ copy, workdir }) =>
    inImage.startsWith(`${posix.resolve(workdir, copy.dest)}/`),
  );
  assert.ok(carried, `no COPY puts ${inImage} into the image`);
  const built = posix.join(
    carried.copy.sources[0]!,
    posix.relative(posix.resolve(carried.workdir, carried.copy.dest), inImage),
  );
  const buildWorkdir = copiesOf(image.stages[0]!).at(-1)!.workdir;
  const fromRoot = posix.relative(buildWorkdir, built);

  const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>;
    bin: Record<string, string>;
  };
  assert.match(pkg.scripts.build!, /^tsc -p tsconfig\.build\.json( |$)/);
  const tsconfig = buildTsconfig();
  const source = join(root, 'src/cli/main.ts');
  assert.ok(tsconfig.fileNames.includes(source), 'tsconfig.build.json does not compile src/cli/main.ts');
  assert.ok(
    ts.getOutputFileNames(tsconfig, source, false).includes(join(root, fromRoot)),
    `tsc does not emit ${fromRoot}`,
  );
  assert.equal(fromRoot, 'dist/src/cli/main.js');
  assert.equal(pkg.bin.kubegate, fromRoot);
});

test('the image runs as the numeric non-root uid 65532, with its state in a volume and port 8443', async () => {
  const image = await containerfile();
  assert.equal(image.user, '65532:65532');
  assert.ok(image.uid > 0);
  const final = image.stages.at(-1)!.instructions;
  const userAt = final.findIndex((i) => i.keyword === 'USER');
  assert.ok(
    !final.slice(userAt).some((i) => i.keyword === 'RUN' || (i.keyword === 'USER' && i.args !== image.user)),
    'nothing runs after USER, and the user is not changed back',
  );
  assert.deepEqual(image.volumes, ['/var/lib/kubegate']);
  assert.deepEqual(image.expose, ['8443']);
  assert.deepEqual(image.cmd, ['serve', '--config', '/etc/kubegate/kubegate.yaml']);
});

test('.containerignore and .dockerignore are the same, keep local state and builds out, and let the build inputs in', async () => {
  const text = await readFile(join(root, '.containerignore'), 'utf8');
  assert.equal(await readFile(join(root, '.dockerignore'), 'utf8'), text);
  const ignored = ignoreMatcher(text);
  const out = [
    '.git/config',
    'node_modules/yaml/package.json',
    'ui/node_modules/preact/package.json',
    'dist/src/cli/main.js',
    '.kubegate/pki/ca.key',
    'deploy/.kubegate/tokens.json',
    'alice.kubeconfig',
    'kubegate.yaml',
  ];
  const kept = [
    'package.json',
    'package-lock.json',
    'tsconfig.json',
    'tsconfig.build.json',
    'src/cli/main.ts',
    'testbed/cli.ts',
    'ui/build.ts',
    'schema/policy.json',
    'examples/policy.yaml',
    'deploy/kubernetes/configmap-config.yaml',
  ];
  assert.deepEqual(
    out.filter((p) => !ignored(p)),
    [],
    'these must not reach the builder',
  );
  assert.deepEqual(
    kept.filter((p) => ignored(p)),
    [],
    'the build needs these',
  );
});
