// The Helm chart deploy/helm/kubegate, checked with a real Helm (built from its Go module by
// testbed/build.sh helm) against the real test bed and kubegate's own config loader.
//   - `helm lint --strict` and `helm template` pass for the defaults and every values example;
//     each rendering passes `kubectl apply --dry-run=server` in a namespace that enforces Pod
//     Security "restricted".
//   - Each rendered kubegate.yaml passes kubegate's config loader, and every file it names sits
//     under a volume the pod mounts.
//   - The chart agrees with the plain manifests: the defaults with deploy/kubernetes, and
//     examples/ha-postgres.yaml with deploy/kubernetes-ha, object by object (labels and
//     annotations aside), the kubegate.yaml as the loader reads it. A changed value shows up as a
//     difference, so the comparison can fail.
//   - Values that cannot work fail the render with a message saying what to change: the chart's
//     own checks (`fail`) and values.schema.json (misspelt keys, unknown choices).
//   - A pod loosened through the values draws the Pod Security warning on the dry run.
// The namespace is kubegate-helm, not kubegate: deploy.test.ts creates and deletes kubegate, and
// the test files run at the same time. It gets deploy/kubernetes/namespace.yaml's labels.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse as parseYaml, parseAllDocuments, stringify } from 'yaml';
import { useTestbed } from '../fixtures/testbed.js';
import { kubectl, type KubectlResult } from '../fixtures/kubectl.js';
import { ensureTool } from '../fixtures/testbed-tools.js';
import { loadConfig } from '../../src/config/load.js';
import { ConfigSchema, type Config } from '../../src/config/schema.js';
import type { TestbedState } from '../../src/demo/control-plane.js';

const root = resolve(import.meta.dirname, '../..');
const chartDir = join(root, 'deploy/helm/kubegate');
const examplesDir = join(chartDir, 'examples');
const NAMESPACE = 'kubegate-helm';

let tb: TestbedState;
let helmBin: string;
let helmHome: string;
let createdNamespace = false;
const scratch: string[] = [];

after(async () => {
  if (createdNamespace) await admin(['delete', 'namespace', NAMESPACE, '--wait=false']);
  for (const dir of scratch) await rm(dir, { recursive: true, force: true });
});

before(async () => {
  tb = await useTestbed();
  helmBin = await ensureTool('helm');
  helmHome = await scratchDir();
  const existing = await admin(['get', 'namespace', NAMESPACE, '-o', 'name']);
  const namespace = parseYaml(await readFile(join(root, 'deploy/kubernetes/namespace.yaml'), 'utf8')) as {
    metadata: { name: string };
  };
  namespace.metadata.name = NAMESPACE;
  const r = await admin(['apply', '-f', '-'], JSON.stringify(namespace));
  assert.equal(r.code, 0, r.stderr);
  createdNamespace = existing.code !== 0;
});

interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function run(cmd: string, args: readonly string[], env?: NodeJS.ProcessEnv): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: env ?? process.env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code, stdout, stderr }));
  });
}

/** Helm with its config, cache and data in a scratch folder: nothing of the machine's is read. */
function helm(args: readonly string[]): Promise<RunResult> {
  return run(helmBin, args, {
    PATH: process.env.PATH,
    HOME: helmHome,
    HELM_CACHE_HOME: join(helmHome, 'cache'),
    HELM_CONFIG_HOME: join(helmHome, 'config'),
    HELM_DATA_HOME: join(helmHome, 'data'),
  });
}

function admin(args: readonly string[], stdin?: string): Promise<KubectlResult> {
  return kubectl(args, { kubeconfig: tb.adminKubeconfig, ...(stdin === undefined ? {} : { stdin }) });
}

async function scratchDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'kubegate-helm-'));
  scratch.push(dir);
  return dir;
}

// --- rendering ----------------------------------------------------------------------------------

interface KubeObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string };
  readonly [key: string]: unknown;
}

interface Mount {
  readonly name: string;
  readonly mountPath: string;
  readonly subPath?: string;
  readonly readOnly?: boolean;
}

interface Container {
  readonly name: string;
  readonly image: string;
  readonly ports?: readonly { readonly name?: string; readonly containerPort: number }[];
  readonly volumeMounts?: readonly Mount[];
  readonly readinessProbe?: Readonly<Record<string, unknown>>;
  readonly livenessProbe?: Readonly<Record<string, unknown>>;
  readonly startupProbe?: Readonly<Record<string, unknown>>;
}

interface Workload extends KubeObject {
  readonly spec: {
    readonly replicas: number;
    readonly template: { readonly spec: { readonly containers: readonly Container[] } };
  };
}

interface ConfigMap extends KubeObject {
  readonly data: Readonly<Record<string, string>>;
}

function parseObjects(text: string, where: string): KubeObject[] {
  return parseAllDocuments(text)
    .map((doc) => {
      if (doc.errors.length > 0) throw new Error(`${where}: ${doc.errors[0]!.message}`);
      return doc.toJS() as KubeObject | null;
    })
    .filter((o): o is KubeObject => o !== null);
}

interface RenderOptions {
  readonly values?: readonly string[];
  readonly set?: readonly string[];
  readonly namespace?: string;
}

function templateArgs(opts: RenderOptions): string[] {
  return [
    'template',
    'kubegate',
    chartDir,
    '--namespace',
    opts.namespace ?? NAMESPACE,
    ...(opts.values ?? []).flatMap((v) => ['-f', v]),
    ...(opts.set ?? []).flatMap((s) => ['--set', s]),
  ];
}

async function render(opts: RenderOptions = {}): Promise<{ text: string; objects: KubeObject[] }> {
  const r = await helm(templateArgs(opts));
  assert.equal(r.code, 0, r.stderr);
  return { text: r.stdout, objects: parseObjects(r.stdout, 'helm template') };
}

function find<T extends KubeObject>(objects: readonly KubeObject[], kind: string, name: string): T {
  const found = objects.filter((o) => o.kind === kind && o.metadata.name === name);
  assert.equal(found.length, 1, `expected one ${kind} ${name}, found ${found.length}`);
  return found[0] as T;
}

function workloadOf(objects: readonly KubeObject[]): Workload {
  const found = objects.filter((o) => o.kind === 'StatefulSet' || o.kind === 'Deployment');
  assert.equal(found.length, 1, `expected one StatefulSet or Deployment, found ${found.length}`);
  return found[0] as Workload;
}

async function loadRendered(objects: readonly KubeObject[]): Promise<Config> {
  const text = find<ConfigMap>(objects, 'ConfigMap', 'kubegate-config').data['kubegate.yaml'];
  assert.ok(text !== undefined, 'kubegate-config has no kubegate.yaml');
  return loadText(text);
}

async function loadText(text: string): Promise<Config> {
  const file = join(await scratchDir(), 'kubegate.yaml');
  await writeFile(file, text);
  return loadConfig({ file });
}

function assertServerDryRun(r: KubectlResult, objects: readonly KubeObject[]): void {
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout
    .trim()
    .split('\n')
    .filter((l) => l !== '');
  assert.equal(lines.length, objects.length, r.stdout);
  for (const line of lines) assert.match(line, /\(server dry run\)$/);
  // Pod Security "warn" names what "enforce" would refuse; a warning is a failure here.
  assert.doesNotMatch(r.stderr, /would violate PodSecurity/);
  assert.doesNotMatch(r.stderr, /error/i);
}

const EXAMPLES = (await readdir(examplesDir)).filter((f) => f.endsWith('.yaml')).sort();

// --- lint, template, dry run, config loader ------------------------------------------------------

test('the values examples include one replica on SQLite, several on PostgreSQL, and OIDC', () => {
  for (const name of ['single-sqlite.yaml', 'ha-postgres.yaml', 'oidc.yaml'])
    assert.ok(EXAMPLES.includes(name));
});

test('helm lint --strict passes with the default values', async () => {
  const r = await helm(['lint', '--strict', chartDir]);
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
});

for (const example of EXAMPLES) {
  const values = join(examplesDir, example);

  test(`helm lint --strict passes with examples/${example}`, async () => {
    const r = await helm(['lint', '--strict', chartDir, '-f', values]);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
  });

  test(`helm template with examples/${example} passes kubectl apply --dry-run=server under Pod Security restricted`, async () => {
    const { text, objects } = await render({ values: [values] });
    for (const o of objects.filter((x) => x.metadata.namespace !== undefined))
      assert.equal(o.metadata.namespace, NAMESPACE);
    const r = await admin(['apply', '--dry-run=server', '-f', '-'], text);
    assertServerDryRun(r, objects);
  });

  test(`the kubegate.yaml rendered from examples/${example} passes the config loader, and the pod mounts every file it names`, async () => {
    const { objects } = await render({ values: [values] });
    const config = await loadRendered(objects);
    const workload = workloadOf(objects);
    const container = workload.spec.template.spec.containers[0]!;
    assert.deepEqual(config.upstream, { inCluster: true });
    assert.deepEqual(
      container.ports?.filter((p) => p.name === 'https').map((p) => p.containerPort),
      [config.listen.port],
    );
    const mounts = container.volumeMounts ?? [];
    const mounted = (path: string) =>
      mounts.some((m) =>
        m.subPath === undefined ? path.startsWith(`${m.mountPath}/`) : path === m.mountPath,
      );
    const files = [
      config.policy.file,
      config.tls.certFile,
      config.tls.keyFile,
      config.tls.clientCAFile,
      config.store.type === 'postgres' ? config.store.urlFile : config.audit.file,
      ...config.identity.oidc.flatMap((i) => [i.caFile, i.clientSecretFile]),
    ].filter((f): f is string => f !== undefined);
    for (const file of files) assert.ok(mounted(file), `${file} is on no volume the pod mounts`);
    assert.ok(mounted(`${config.dataDir}/pki/ca.crt`), 'the data dir is not mounted');
    assert.equal(workload.kind, config.store.type === 'postgres' ? 'Deployment' : 'StatefulSet');
  });
}

test('examples/ha-postgres.yaml: three replicas, store.urlFile from the Secret, the pki Secrets as the data dir, a PDB', async () => {
  const { objects } = await render({ values: [join(examplesDir, 'ha-postgres.yaml')] });
  const config = await loadRendered(objects);
  assert.equal(config.store.type, 'postgres');
  assert.equal(config.store.type === 'postgres' ? config.store.urlFile : null, '/etc/kubegate/db/url');
  const workload = workloadOf(objects);
  assert.equal(workload.spec.replicas, 3);
  const pdb = find<KubeObject & { spec: { maxUnavailable: number } }>(
    objects,
    'PodDisruptionBudget',
    'kubegate',
  );
  assert.equal(pdb.spec.maxUnavailable, 1);
  const policy = find<KubeObject & { spec: { egress: { ports: { port: number }[] }[] } }>(
    objects,
    'NetworkPolicy',
    'kubegate',
  );
  const egressPorts = policy.spec.egress.flatMap((e) => e.ports.map((p) => p.port));
  for (const port of [53, 443, 6443, 5432])
    assert.ok(egressPorts.includes(port), `no egress to port ${port}`);
});

test('examples/oidc.yaml: the issuer, the cert-manager Secret as the serving certificate, the webhook and an existing policy ConfigMap', async () => {
  const { objects } = await render({ values: [join(examplesDir, 'oidc.yaml')] });
  const config = await loadRendered(objects);
  assert.deepEqual(
    config.identity.oidc.map((i) => [i.issuerUrl, i.clientId, i.usernameClaim, i.groupsClaim]),
    [['https://login.example.com/realms/platform', 'kubegate', 'email', 'groups']],
  );
  assert.deepEqual(config.tls, {
    certFile: '/etc/kubegate/tls/tls.crt',
    keyFile: '/etc/kubegate/tls/tls.key',
    hosts: [],
  });
  assert.deepEqual(config.notifications.webhooks, [
    { url: 'https://hooks.example.com/kubegate', format: 'slack' },
  ]);
  assert.deepEqual(config.audit.readers.groups, ['oidc:security']);
  // The chart makes no policy ConfigMap: the pod mounts the existing one.
  assert.equal(
    objects.filter((o) => o.kind === 'ConfigMap' && o.metadata.name === 'kubegate-policy').length,
    0,
  );
  const volumes = (
    workloadOf(objects).spec.template.spec as unknown as { volumes: { name: string; [k: string]: unknown }[] }
  ).volumes;
  assert.deepEqual(volumes.find((v) => v.name === 'policy')?.['configMap'], { name: 'kubegate-policy' });
  assert.deepEqual(volumes.find((v) => v.name === 'tls')?.['secret'], {
    secretName: 'kubegate-tls',
    defaultMode: 288,
  });
});

test('a misspelt key in values.config reaches kubegate.yaml and the config loader refuses it', async () => {
  const { objects } = await render({ set: ['config.lisen.port=8443'] });
  await assert.rejects(loadRendered(objects), { code: 'KG_CONFIG_INVALID' });
});

test('probes.type httpGet (the default) probes /kubegate/readyz and /kubegate/livez over HTTPS on the gateway port, and passes a server dry run', async () => {
  const { text, objects } = await render({ set: ['probes.type=httpGet'] });
  const container = workloadOf(objects).spec.template.spec.containers[0]!;
  const action = (probe: Readonly<Record<string, unknown>> | undefined) => probe?.['httpGet'];
  assert.deepEqual(action(container.readinessProbe), {
    path: '/kubegate/readyz',
    port: 'https',
    scheme: 'HTTPS',
  });
  assert.deepEqual(action(container.startupProbe), {
    path: '/kubegate/readyz',
    port: 'https',
    scheme: 'HTTPS',
  });
  assert.deepEqual(action(container.livenessProbe), {
    path: '/kubegate/livez',
    port: 'https',
    scheme: 'HTTPS',
  });
  assert.equal(container.readinessProbe?.['tcpSocket'], undefined);
  assertServerDryRun(await admin(['apply', '--dry-run=server', '-f', '-'], text), objects);
});

test('metrics.enabled renders metrics.listen, a metrics port on the pod and the Service, and the ServiceMonitor', async (t) => {
  const { objects } = await render({
    values: [join(examplesDir, 'single-sqlite.yaml')],
    set: ['metrics.enabled=true', 'metrics.port=9090', 'metrics.serviceMonitor.enabled=true'],
  });
  const text = find<ConfigMap>(objects, 'ConfigMap', 'kubegate-config').data['kubegate.yaml']!;
  assert.deepEqual((parseYaml(text) as { metrics: unknown }).metrics, {
    listen: { host: '0.0.0.0', port: 9090 },
  });
  const container = workloadOf(objects).spec.template.spec.containers[0]!;
  assert.equal(container.ports?.find((p) => p.name === 'metrics')?.containerPort, 9090);
  const service = find<KubeObject & { spec: { ports: { name: string; port: number }[] } }>(
    objects,
    'Service',
    'kubegate',
  );
  assert.deepEqual(
    service.spec.ports.map((p) => [p.name, p.port]),
    [
      ['https', 443],
      ['metrics', 9090],
    ],
  );
  const monitor = find<KubeObject & { spec: { endpoints: { port: string; path: string }[] } }>(
    objects,
    'ServiceMonitor',
    'kubegate',
  );
  assert.deepEqual(
    monitor.spec.endpoints.map((e) => [e.port, e.path]),
    [['metrics', '/metrics']],
  );
  // Off by default: the defaults render no metrics key, port or ServiceMonitor.
  const plain = await render();
  assert.ok(!plain.objects.some((o) => o.kind === 'ServiceMonitor'));
  assert.ok(
    !(
      'metrics' in
      (parseYaml(
        find<ConfigMap>(plain.objects, 'ConfigMap', 'kubegate-config').data['kubegate.yaml']!,
      ) as object)
    ),
  );
  // The test bed has no prometheus-operator CRD: everything but the ServiceMonitor is dry-run.
  const rest = objects.filter((o) => o.kind !== 'ServiceMonitor');
  assertServerDryRun(
    await admin(['apply', '--dry-run=server', '-f', '-'], rest.map((o) => stringify(o)).join('---\n')),
    rest,
  );
  // kubegate's config learns `metrics` in its own change (issue 15, item 2); until then the loader
  // refuses the key, and this part waits for it.
  const knowsMetrics = ConfigSchema.safeParse({
    upstream: { inCluster: true },
    metrics: { listen: { host: '0.0.0.0', port: 9090 } },
  }).success;
  if (!knowsMetrics) {
    t.diagnostic("kubegate's config has no metrics key yet: the rendered kubegate.yaml was not loaded");
    return;
  }
  await loadText(text);
});

test('a securityContext loosened through the values draws the Pod Security "restricted" warning on the dry run', async () => {
  const { text } = await render({ set: ['securityContext.allowPrivilegeEscalation=true'] });
  const r = await admin(['apply', '--dry-run=server', '-f', '-'], text);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /would violate PodSecurity "restricted:latest": allowPrivilegeEscalation != false/);
});

// --- broken values ------------------------------------------------------------------------------

const BROKEN: readonly { readonly name: string; readonly set: readonly string[]; readonly want: RegExp }[] = [
  {
    name: 'store postgres without a URL Secret',
    set: ['store.type=postgres', 'replicaCount=3'],
    want: /store\.type postgres needs store\.postgres\.urlSecret\.name/,
  },
  {
    name: 'several replicas on SQLite',
    set: ['replicaCount=2'],
    want: /store\.type sqlite runs exactly one replica .*not replicaCount 2/,
  },
  {
    name: 'an unknown store type (values.schema.json)',
    set: ['store.type=mysql'],
    want: /at '\/store\/type': value must be one of 'sqlite', 'postgres'/,
  },
  {
    name: 'tls.hosts with your own certificate',
    set: ['tls.existingSecret=kubegate-tls', 'tls.hosts={kubegate.example.com}'],
    want: /with tls\.existingSecret your certificate names the hosts/,
  },
  {
    name: 'a client CA key without a TLS Secret',
    set: ['tls.clientCAKey=ca.crt'],
    want: /tls\.clientCAKey names a key of tls\.existingSecret, which is not set/,
  },
  {
    name: 'both an existing policy ConfigMap and an inline policy',
    set: ['policy.existingConfigMap=mine', 'policy.inline=x'],
    want: /set policy\.existingConfigMap or policy\.inline, not both/,
  },
  {
    name: 'an unknown probe type (values.schema.json)',
    set: ['probes.type=exec'],
    want: /at '\/probes\/type': value must be one of 'tcpSocket', 'httpGet'/,
  },
  {
    name: 'a misspelt key (values.schema.json)',
    set: ['stroe.type=postgres'],
    want: /at '': additional properties 'stroe' not allowed/,
  },
  {
    name: 'a misspelt key inside store (values.schema.json)',
    set: ['store.typ=postgres'],
    want: /at '\/store': additional properties 'typ' not allowed/,
  },
  {
    name: 'a ServiceMonitor without metrics',
    set: ['metrics.serviceMonitor.enabled=true'],
    want: /metrics\.serviceMonitor\.enabled needs metrics\.enabled/,
  },
];

for (const row of BROKEN) {
  test(`helm template fails with a message for broken values: ${row.name}`, async () => {
    const r = await helm(templateArgs({ set: row.set }));
    assert.notEqual(r.code, 0, r.stdout);
    assert.match(r.stderr, row.want);
  });
}

test("postgres with your own serving certificate projects only kubegate's CA into the data dir", async () => {
  const { objects } = await render({
    values: [join(examplesDir, 'ha-postgres.yaml')],
    set: ['tls.existingSecret=kubegate-tls'],
  });
  const config = await loadRendered(objects);
  assert.equal(config.tls.certFile, '/etc/kubegate/tls/tls.crt');
  const volumes = (
    workloadOf(objects).spec.template.spec as unknown as {
      volumes: { name: string; projected?: { sources: { secret: { items: { path: string }[] } }[] } }[];
    }
  ).volumes;
  const data = volumes.find((v) => v.name === 'data')?.projected?.sources[0]?.secret.items.map((i) => i.path);
  assert.deepEqual(data, ['pki/ca.crt', 'pki/ca.key']);
});

test('with the URL Secret named, store postgres renders', async () => {
  const { objects } = await render({
    set: ['store.type=postgres', 'replicaCount=3', 'store.postgres.urlSecret.name=db'],
  });
  const volumes = (
    workloadOf(objects).spec.template.spec as unknown as { volumes: { name: string; secret?: unknown }[] }
  ).volumes;
  assert.deepEqual(volumes.find((v) => v.name === 'db')?.secret, { secretName: 'db', defaultMode: 288 });
});

// --- the chart and the plain manifests agree ------------------------------------------------------

/**
 * An object as far as the comparison goes: labels and selectors reduced to app.kubernetes.io/name
 * (the chart adds app.kubernetes.io/instance, version and Helm's own), annotations dropped (the
 * chart's config checksum), and kubegate.yaml left to the config loader.
 */
function normalize(value: unknown, key?: string): unknown {
  if (Array.isArray(value)) return value.map((v) => normalize(v));
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value as Record<string, unknown>);
  if (
    key === 'labels' ||
    key === 'matchLabels' ||
    (key === 'selector' && entries.every(([, v]) => typeof v === 'string'))
  )
    return Object.fromEntries(entries.filter(([k]) => k === 'app.kubernetes.io/name'));
  return Object.fromEntries(
    entries.filter(([k]) => k !== 'annotations').map(([k, v]) => [k, normalize(v, k)]),
  );
}

/** Each difference as "<kind>/<name> <path>: chart X, manifests Y"; [] when they agree. */
async function differences(chart: readonly KubeObject[], plain: readonly KubeObject[]): Promise<string[]> {
  const out: string[] = [];
  const id = (o: KubeObject) => `${o.kind}/${o.metadata.name}`;
  // The chart leaves the namespace to `helm install -n` (Helm's way) and adds an optional
  // NetworkPolicy; everything else must be there in both.
  const chartIds = chart
    .filter((o) => o.kind !== 'NetworkPolicy')
    .map(id)
    .sort();
  const plainIds = plain
    .filter((o) => o.kind !== 'Namespace')
    .map(id)
    .sort();
  for (const x of chartIds.filter((i) => !plainIds.includes(i))) out.push(`${x}: only in the chart`);
  for (const x of plainIds.filter((i) => !chartIds.includes(i))) out.push(`${x}: only in the manifests`);
  for (const p of plain) {
    const c = chart.find((o) => id(o) === id(p));
    if (c === undefined) continue;
    if (p.kind === 'ConfigMap' && p.metadata.name === 'kubegate-config') {
      const [a, b] = await Promise.all([loadRendered([c]), loadRendered([p])]);
      compare(`${id(p)} kubegate.yaml`, a, b, out);
    } else compare(id(p), normalize(c), normalize(p), out);
  }
  return out;
}

function compare(path: string, chart: unknown, plain: unknown, out: string[]): void {
  if (chart !== null && plain !== null && typeof chart === 'object' && typeof plain === 'object') {
    if (Array.isArray(chart) !== Array.isArray(plain)) {
      out.push(`${path}: chart ${JSON.stringify(chart)}, manifests ${JSON.stringify(plain)}`);
      return;
    }
    const a = chart as Record<string, unknown>;
    const b = plain as Record<string, unknown>;
    const keys = Array.isArray(chart)
      ? [...Array(Math.max((chart as unknown[]).length, (plain as unknown[]).length)).keys()].map(String)
      : [...new Set([...Object.keys(a), ...Object.keys(b)])];
    for (const k of keys) compare(`${path}.${k}`, a[k], b[k], out);
    return;
  }
  if (chart !== plain)
    out.push(`${path}: chart ${JSON.stringify(chart)}, manifests ${JSON.stringify(plain)}`);
}

async function kustomize(dir: string): Promise<KubeObject[]> {
  const r = await admin(['kustomize', join(root, dir)]);
  assert.equal(r.code, 0, r.stderr);
  return parseObjects(r.stdout, `kubectl kustomize ${dir}`);
}

test('the default values render what deploy/kubernetes is (kubectl kustomize), object by object', async () => {
  const { objects } = await render({ namespace: 'kubegate' });
  assert.deepEqual(await differences(objects, await kustomize('deploy/kubernetes')), []);
});

test('examples/ha-postgres.yaml renders what deploy/kubernetes-ha is (kubectl kustomize), object by object', async () => {
  const { objects } = await render({
    namespace: 'kubegate',
    values: [join(examplesDir, 'ha-postgres.yaml')],
  });
  assert.deepEqual(await differences(objects, await kustomize('deploy/kubernetes-ha')), []);
});

test('the comparison sees a difference: other resources, a looser securityContext, another pool size', async () => {
  const plain = await kustomize('deploy/kubernetes-ha');
  const { objects } = await render({
    namespace: 'kubegate',
    values: [join(examplesDir, 'ha-postgres.yaml')],
    set: [
      'resources.limits.memory=2Gi',
      'securityContext.readOnlyRootFilesystem=false',
      'store.postgres.poolMax=20',
    ],
  });
  const found = await differences(objects, plain);
  assert.ok(
    found.some((d) => /securityContext\.readOnlyRootFilesystem: chart false, manifests true/.test(d)),
    found.join('\n'),
  );
  assert.ok(
    found.some((d) => /resources\.limits\.memory: chart "2Gi", manifests "1Gi"/.test(d)),
    found.join('\n'),
  );
  assert.ok(
    found.some((d) => /kubegate\.yaml\.store\.pool\.max: chart 20, manifests 10/.test(d)),
    found.join('\n'),
  );
  assert.equal(found.length, 3, found.join('\n'));
});

test("the chart's appVersion is kubegate's version, and files/policy.yaml is examples/policy.yaml", async () => {
  const chart = parseYaml(await readFile(join(chartDir, 'Chart.yaml'), 'utf8')) as { appVersion: string };
  const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { version: string };
  assert.equal(chart.appVersion, pkg.version);
  assert.equal(
    await readFile(join(chartDir, 'files/policy.yaml'), 'utf8'),
    await readFile(join(root, 'examples/policy.yaml'), 'utf8'),
    'deploy/helm/kubegate/files/policy.yaml has drifted from examples/policy.yaml: copy it again',
  );
});
