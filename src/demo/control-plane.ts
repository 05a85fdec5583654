// The demo control plane of `kubegate up`, and the test bed of the tests and benchmarks: a real
// Kubernetes control plane on loopback.
// etcd + kube-apiserver (RBAC on, static tokens, audit log at level Metadata) + controller-manager
// + scheduler + kwok (one fake node whose pods run, exec and serve logs). Everything it starts is
// recorded in <dir>/state.json (PID and start time, and the process that started it) and stopped
// by stopControlPlane; on Linux each process also dies with the process that started it
// (processes.ts), and a start stops what an earlier one in the same folder left (leftovers.ts).
import { mkdir, writeFile, readFile, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import { readdirSync } from 'node:fs';
import { parseAllDocuments, stringify } from 'yaml';
import { createCertificateAuthority, issueCertificate, createSigningKeyPair } from '../pki/certificates.js';
import { writeKubeconfig } from '../kubeconfig/write.js';
import { ensureBinaries, type Binaries } from './binaries.js';
import { freePort } from './ports.js';
import {
  diesWithParentPrefix,
  observeProcess,
  selfRecord,
  startProcess,
  stopPid,
  stopRecorded,
  type Managed,
  type ProcessRecord,
} from './processes.js';
import { planLeftovers, type RunRecord } from './leftovers.js';
import { apiClient, waitFor, type ApiClient } from './api.js';
import { packageRoot } from '../package-root.js';

/** Users with static tokens. Tests grant RBAC to the plain users themselves. */
const USERS: Readonly<Record<string, readonly string[]>> = {
  admin: ['system:masters'],
  kubegate: [], // kubegate's upstream identity: bound to the impersonator role only
  alice: ['dev'],
  bob: ['sre'],
  carol: ['security'],
  dave: [],
  erin: ['sre'],
};
const COMPONENT_USERS = ['system:kube-controller-manager', 'system:kube-scheduler', 'kwok-controller'];

export const NODE_NAME = 'kwok-node-0';

export interface TestbedUser {
  readonly token: string;
  readonly groups: readonly string[];
  readonly kubeconfig: string;
}

/** Everything a test needs to reach the control plane; also written to <dir>/state.json. */
export interface TestbedState {
  readonly dir: string;
  readonly server: string;
  readonly caFile: string;
  readonly caPem: string;
  readonly kubernetesVersion: string;
  readonly adminKubeconfig: string;
  /** kubegate's upstream identity: may only impersonate (deploy/kubernetes/upstream-rbac.yaml). */
  readonly upstreamKubeconfig: string;
  readonly users: Readonly<Record<string, TestbedUser>>;
  readonly auditLog: string;
  readonly logsDir: string;
  readonly nodeName: string;
  readonly pids: Readonly<Record<string, number>>;
  /** The same processes with their start times: what stopControlPlane and a later start go by. */
  readonly processes: Readonly<Record<string, ProcessRecord>>;
  /** The process that started the control plane; a start in the same folder refuses while it runs. */
  readonly owner: ProcessRecord;
  readonly startedInMs: number;
}

export interface StartOptions {
  /** State directory (certificates, etcd data, logs, kubeconfigs). */
  readonly dir: string;
  /** Print progress to stderr. */
  readonly verbose?: boolean;
}

const token = (): string => randomBytes(24).toString('hex');
const repoRoot = packageRoot();

export async function startControlPlane(options: StartOptions): Promise<TestbedState> {
  const started = Date.now();
  const say = (msg: string): void => {
    if (options.verbose) process.stderr.write(`testbed: ${msg} (${Date.now() - started} ms)\n`);
  };
  const bins = await ensureBinaries();
  const dir = resolve(options.dir);
  const pki = join(dir, 'pki');
  const logsDir = join(dir, 'logs');
  // Every start is a new cluster, also in a directory used before (`kubegate up` run again):
  // the CA, keys and tokens made below are new, so an old etcd store (its node, service-account
  // tokens signed with the old key, objects a demo changed) would not fit them, and creating the
  // node again would fail with 409 AlreadyExists. Processes a crashed start left behind would
  // hold etcd's lock and the old store; they are stopped first.
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await stopLeftovers(dir, say);
  const owner = selfRecord();
  const pids: Record<string, number> = {};
  const processes: Record<string, ProcessRecord> = {};
  const statePath = join(dir, 'state.json');
  // Before anything starts: from now on a start in this folder sees that this process owns it.
  await writeState();
  if (diesWithParentPrefix().length === 0) {
    say(
      'setpriv (util-linux) is not available: if this process is killed, the control plane keeps running until the next start in this folder stops it',
    );
  }
  await rm(join(dir, 'etcd'), { recursive: true, force: true });
  for (const d of [dir, pki, logsDir, join(dir, 'etcd'), join(dir, 'exec'), join(dir, 'kubeconfigs')]) {
    await mkdir(d, { recursive: true, mode: 0o700 });
  }

  // --- certificates and credentials ---
  const ca = await createCertificateAuthority('kubegate test bed CA');
  const serving = await issueCertificate(ca, {
    commonName: 'kube-apiserver',
    dnsNames: ['localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc'],
    ipAddresses: ['127.0.0.1', '10.0.0.1'],
    usage: 'server',
  });
  const kwokServing = await issueCertificate(ca, {
    commonName: NODE_NAME,
    dnsNames: ['localhost', NODE_NAME],
    ipAddresses: ['127.0.0.1'],
    usage: 'server',
  });
  const saKeys = await createSigningKeyPair();
  const file = (name: string): string => join(pki, name);
  await Promise.all([
    writeFile(file('ca.crt'), ca.certPem),
    writeFile(file('ca.key'), ca.keyPem, { mode: 0o600 }),
    writeFile(file('apiserver.crt'), serving.certPem),
    writeFile(file('apiserver.key'), serving.keyPem, { mode: 0o600 }),
    writeFile(file('kwok.crt'), kwokServing.certPem),
    writeFile(file('kwok.key'), kwokServing.keyPem, { mode: 0o600 }),
    writeFile(file('sa.key'), saKeys.privateKeyPem, { mode: 0o600 }),
    writeFile(file('sa.pub'), saKeys.publicKeyPem),
  ]);
  const tokens = new Map<string, { token: string; groups: readonly string[] }>();
  for (const [user, groups] of Object.entries(USERS)) tokens.set(user, { token: token(), groups });
  for (const user of COMPONENT_USERS) tokens.set(user, { token: token(), groups: ['system:masters'] });
  const csv = [...tokens].map(([user, t]) => `${t.token},${user},${user},"${t.groups.join(',')}"`).join('\n');
  await writeFile(file('tokens.csv'), csv + '\n', { mode: 0o600 });
  const auditPolicy = join(dir, 'audit-policy.yaml');
  await writeFile(
    auditPolicy,
    stringify({
      apiVersion: 'audit.k8s.io/v1',
      kind: 'Policy',
      omitStages: ['RequestReceived'],
      rules: [{ level: 'Metadata' }],
    }),
  );

  const [etcdClient, etcdPeer, apiPort] = [await freePort(), await freePort(), await freePort()];
  const server = `https://127.0.0.1:${apiPort}`;
  const kubeconfigFor = async (user: string): Promise<string> => {
    const path = join(dir, 'kubeconfigs', `${user.replace(/[^a-z0-9-]/gi, '_')}.kubeconfig`);
    const t = tokens.get(user);
    if (!t) throw new Error(`unknown test bed user ${user}`);
    await writeKubeconfig(path, {
      clusterName: 'testbed',
      server,
      caPem: ca.certPem,
      userName: user,
      credential: { token: t.token },
    });
    return path;
  };

  const procs: Managed[] = [];
  const track = (m: Managed): Managed => {
    procs.push(m);
    pids[m.name] = m.pid;
    processes[m.name] = { pid: m.pid, startTime: m.startTime };
    return m;
  };
  try {
    // --- etcd ---
    say('starting etcd');
    const etcd = track(
      startProcess(
        'etcd',
        bins.etcd,
        [
          '--name=testbed',
          `--data-dir=${join(dir, 'etcd')}`,
          `--listen-client-urls=http://127.0.0.1:${etcdClient}`,
          `--advertise-client-urls=http://127.0.0.1:${etcdClient}`,
          `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`,
          `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
          `--initial-cluster=testbed=http://127.0.0.1:${etcdPeer}`,
          '--log-level=warn',
          // A throw-away store: durability is not what the tests measure, speed is.
          '--unsafe-no-fsync',
        ],
        join(logsDir, 'etcd.log'),
      ),
    );
    await writeState();
    // Each check is bounded (waitFor, and the fetch's own timeout): a port that accepts but never
    // answers must end the start with an error, not hang it.
    await withLog(
      etcd,
      waitFor('etcd to report healthy', 30_000, async () => {
        await assertAlive(etcd);
        const res = await fetch(`http://127.0.0.1:${etcdClient}/health`, {
          signal: AbortSignal.timeout(5_000),
        });
        return res.ok && ((await res.json()) as { health?: string }).health === 'true';
      }),
    );

    // --- kube-apiserver ---
    say('starting kube-apiserver');
    const auditLog = join(logsDir, 'audit.log');
    const apiserver = track(
      startProcess(
        'kube-apiserver',
        bins.kubeApiserver,
        [
          `--etcd-servers=http://127.0.0.1:${etcdClient}`,
          '--bind-address=127.0.0.1',
          '--advertise-address=127.0.0.1',
          `--secure-port=${apiPort}`,
          `--tls-cert-file=${file('apiserver.crt')}`,
          `--tls-private-key-file=${file('apiserver.key')}`,
          `--client-ca-file=${file('ca.crt')}`,
          `--token-auth-file=${file('tokens.csv')}`,
          '--authorization-mode=Node,RBAC',
          '--anonymous-auth=false',
          `--service-account-key-file=${file('sa.pub')}`,
          `--service-account-signing-key-file=${file('sa.key')}`,
          '--service-account-issuer=https://kubernetes.default.svc',
          '--service-cluster-ip-range=10.0.0.0/24',
          '--allow-privileged=true',
          `--audit-policy-file=${auditPolicy}`,
          `--audit-log-path=${auditLog}`,
          '--audit-log-format=json',
          '--audit-log-mode=blocking',
          '--audit-log-maxsize=0',
          '--profiling=false',
          '--kubelet-preferred-address-types=InternalIP',
          '--v=1',
        ],
        join(logsDir, 'kube-apiserver.log'),
      ),
    );
    await writeState();
    const admin = apiClient(server, ca.certPem, tokens.get('admin')!.token);
    try {
      await withLog(
        apiserver,
        waitFor('kube-apiserver to report ready (/readyz)', 90_000, async () => {
          await assertAlive(apiserver);
          return (await admin.call('GET', '/readyz')).status === 200;
        }),
      );
      say('kube-apiserver ready');
      await applyManifest(admin, join(repoRoot, 'deploy/kubernetes/upstream-rbac.yaml'));

      // --- controller-manager, scheduler, kwok ---
      const kcmKubeconfig = await kubeconfigFor('system:kube-controller-manager');
      track(
        startProcess(
          'kube-controller-manager',
          bins.kubeControllerManager,
          [
            `--kubeconfig=${kcmKubeconfig}`,
            '--leader-elect=false',
            '--secure-port=0',
            `--service-account-private-key-file=${file('sa.key')}`,
            `--root-ca-file=${file('ca.crt')}`,
            '--use-service-account-credentials=false',
            '--node-monitor-period=1s',
            '--v=1',
          ],
          join(logsDir, 'kube-controller-manager.log'),
        ),
      );
      track(
        startProcess(
          'kube-scheduler',
          bins.kubeScheduler,
          [
            `--kubeconfig=${await kubeconfigFor('system:kube-scheduler')}`,
            '--leader-elect=false',
            '--secure-port=0',
          ],
          join(logsDir, 'kube-scheduler.log'),
        ),
      );
      const kwokConfig = await writeKwokConfig(dir, bins);
      const kwokKubeconfig = await kubeconfigFor('kwok-controller');
      // A port taken just before kwok binds it, and a new one for each restart: a port found
      // free seconds earlier may meanwhile be the local end of another process's connection.
      const startKwok = async (): Promise<Managed> => {
        const kwokPort = await freePort();
        return track(
          startProcess(
            'kwok',
            bins.kwok,
            [
              `--kubeconfig=${kwokKubeconfig}`,
              `--config=${kwokConfig}`,
              '--manage-all-nodes=false',
              '--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake',
              '--node-ip=127.0.0.1',
              `--node-port=${kwokPort}`,
              `--server-address=127.0.0.1:${kwokPort}`,
              `--tls-cert-file=${file('kwok.crt')}`,
              `--tls-private-key-file=${file('kwok.key')}`,
              '--cidr=10.244.0.1/16',
            ],
            join(logsDir, 'kwok.log'),
          ),
        );
      };
      let kwok = await startKwok();
      // kwok 0.8 was seen to panic once while starting up; a restart then came up normally.
      let kwokRestarts = 0;
      await writeState();
      say('creating the kwok node');
      await createNode(admin);
      await waitFor(`node ${NODE_NAME} to be Ready and schedulable`, 60_000, async () => {
        if ((await Promise.race([kwok.exited, Promise.resolve(null)])) !== null && kwokRestarts < 2) {
          kwokRestarts++;
          say(`kwok exited during start; restarting it (${kwokRestarts})`);
          procs.splice(procs.indexOf(kwok), 1);
          kwok = await startKwok();
          await writeState();
        }
        for (const p of procs) await assertAlive(p);
        const res = await admin.call('GET', `/api/v1/nodes/${NODE_NAME}`);
        const node = res.json as NodeJson;
        const ready = node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
        const tainted = (node.spec?.taints ?? []).some(
          (t) => t.effect === 'NoSchedule' || t.effect === 'NoExecute',
        );
        const addressed = node.status?.addresses?.some((a) => a.type === 'InternalIP');
        return Boolean(ready) && !tainted && Boolean(addressed);
      });
      await waitFor('the default service account', 30_000, async () => {
        return (await admin.call('GET', '/api/v1/namespaces/default/serviceaccounts/default')).status === 200;
      });
    } finally {
      await admin.close();
    }

    const users: Record<string, TestbedUser> = {};
    for (const [user, groups] of Object.entries(USERS)) {
      users[user] = { token: tokens.get(user)!.token, groups, kubeconfig: await kubeconfigFor(user) };
    }
    const state: TestbedState = {
      dir,
      server,
      caFile: file('ca.crt'),
      caPem: ca.certPem,
      kubernetesVersion: bins.kubernetesVersion,
      adminKubeconfig: users.admin!.kubeconfig,
      upstreamKubeconfig: users.kubegate!.kubeconfig,
      users,
      auditLog,
      logsDir,
      nodeName: NODE_NAME,
      pids,
      processes,
      owner,
      startedInMs: Date.now() - started,
    };
    await writeFile(statePath, JSON.stringify(state, null, 2), { mode: 0o600 });
    say(`ready at ${server}`);
    return state;
  } catch (err) {
    await stopManaged(procs);
    throw err;
  }

  async function writeState(): Promise<void> {
    // Written early and often so that `testbed stop` and the next start can clean up after a
    // crash mid-start.
    const record: RunRecord & { dir: string } = { dir, owner, processes, pids };
    await writeFile(statePath, JSON.stringify(record, null, 2), { mode: 0o600 });
  }
}

interface NodeJson {
  spec?: { taints?: { effect?: string }[] };
  status?: { conditions?: { type: string; status: string }[]; addresses?: { type: string }[] };
}

async function logTail(m: Managed): Promise<string> {
  const log = await readFile(m.logFile, 'utf8').catch(() => '');
  return log.split('\n').slice(-15).join('\n');
}

async function assertAlive(m: Managed): Promise<void> {
  const code = await Promise.race([m.exited, Promise.resolve(null)]);
  if (code !== null) throw new Error(`${m.name} exited (${code}); last log lines:\n${await logTail(m)}`);
}

/** A wait for `m` that timed out says what `m` logged last (why it is not ready, often). */
async function withLog(m: Managed, waiting: Promise<void>): Promise<void> {
  try {
    await waiting;
  } catch (err) {
    if (!(err instanceof Error) || !err.message.startsWith('timed out')) throw err;
    throw new Error(`${err.message}; ${m.name}'s last log lines (${m.logFile}):\n${await logTail(m)}`, {
      cause: err,
    });
  }
}

async function applyManifest(api: ApiClient, path: string): Promise<void> {
  const docs = parseAllDocuments(await readFile(path, 'utf8')).map((d) => d.toJS() as ManifestDoc);
  for (const doc of docs) {
    const plural =
      doc.kind === 'ClusterRole'
        ? 'clusterroles'
        : doc.kind === 'ClusterRoleBinding'
          ? 'clusterrolebindings'
          : null;
    if (!plural || !doc.apiVersion.startsWith('rbac.authorization.k8s.io/')) {
      throw new Error(`the test bed applies only cluster RBAC objects, not ${doc.kind} (${path})`);
    }
    const res = await api.call('POST', `/apis/${doc.apiVersion}/${plural}`, doc);
    if (res.status !== 201 && res.status !== 409)
      throw new Error(`applying ${path}: ${res.status} ${res.text}`);
  }
}

interface ManifestDoc {
  apiVersion: string;
  kind: string;
}

async function createNode(api: ApiClient): Promise<void> {
  const capacity = { cpu: '32', memory: '256Gi', pods: '110' };
  const res = await api.call('POST', '/api/v1/nodes', {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: NODE_NAME,
      annotations: { 'node.alpha.kubernetes.io/ttl': '0', 'kwok.x-k8s.io/node': 'fake' },
      labels: {
        'kubernetes.io/hostname': NODE_NAME,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        'node-role.kubernetes.io/agent': '',
        type: 'kwok',
      },
    },
    spec: {},
    // Addresses up front: port-forward and exec need an InternalIP, and kwok was seen to leave
    // the list empty.
    status: {
      allocatable: capacity,
      capacity,
      addresses: [
        { type: 'InternalIP', address: '127.0.0.1' },
        { type: 'Hostname', address: NODE_NAME },
      ],
    },
  });
  if (res.status !== 201) throw new Error(`creating node ${NODE_NAME}: ${res.status} ${res.text}`);
}

/** kwok's config: the standard fast node/pod stages, plus exec, logs and port-forward for every pod. */
async function writeKwokConfig(dir: string, bins: Binaries): Promise<string> {
  const docs: string[] = [];
  for (const name of readdirSync(bins.kwokStagesDir).sort()) {
    docs.push(await readFile(join(bins.kwokStagesDir, name), 'utf8'));
  }
  const logFile = join(dir, 'exec', 'container.log');
  const lines = ['kwok container started', 'serving on :8080', 'ready'];
  const t0 = Date.parse('2026-01-01T00:00:00Z');
  // CRI log format: <RFC3339Nano> <stream> <P|F> <line>
  await writeFile(
    logFile,
    lines.map((l, i) => `${new Date(t0 + i * 1000).toISOString()} stdout F ${l}`).join('\n') + '\n',
  );
  const kwok = (kind: string, spec: unknown): string =>
    stringify({
      apiVersion: 'kwok.x-k8s.io/v1alpha1',
      kind,
      metadata: { name: `testbed-${kind.toLowerCase()}` },
      spec,
    });
  docs.push(kwok('ClusterExec', { execs: [{ local: { workDir: join(dir, 'exec') } }] }));
  docs.push(kwok('ClusterLogs', { logs: [{ logsFile: logFile, follow: true }] }));
  // Port-forward to any port of any pod reaches `cat`: an echo the tests can check byte for byte.
  docs.push(kwok('ClusterPortForward', { forwards: [{ command: ['cat'] }] }));
  const path = join(dir, 'kwok.yaml');
  await writeFile(path, docs.map((d) => d.trim()).join('\n---\n') + '\n');
  return path;
}

// kube-apiserver exits slowly once etcd is gone, so the clients stop first and etcd last.
const STOP_ORDER = ['kwok', 'kube-scheduler', 'kube-controller-manager', 'kube-apiserver', 'etcd'];
const graceMs = (name: string): number => (name === 'kube-apiserver' ? 15_000 : 10_000);
const inStopOrder = <T extends { name: string }>(items: readonly T[]): T[] =>
  [...items].sort((a, b) => STOP_ORDER.indexOf(a.name) - STOP_ORDER.indexOf(b.name));

/** Stops the children this process started (a start that failed half-way). */
async function stopManaged(procs: readonly Managed[]): Promise<void> {
  for (const p of inStopOrder(procs)) await stopPid(p.pid, p.exited, graceMs(p.name));
}

function recordedProcesses(record: RunRecord): { name: string; record: ProcessRecord }[] {
  const entries: [string, ProcessRecord][] =
    record.processes !== undefined
      ? Object.entries(record.processes)
      : Object.entries(record.pids ?? {}).map(([name, pid]) => [name, { pid, startTime: null }]);
  return inStopOrder(entries.map(([name, rec]) => ({ name, record: rec })));
}

/**
 * Before a start in `dir`: refuses while the process that started the control plane there still
 * runs, else kills what that start left running. SIGKILL at once: the store is thrown away next,
 * and a graceful stop of kube-apiserver takes seconds. Throws, naming the process, when one cannot
 * be stopped.
 */
async function stopLeftovers(dir: string, say: (msg: string) => void): Promise<void> {
  const text = await readFile(join(dir, 'state.json'), 'utf8').catch(() => null);
  if (text === null) return;
  let record: RunRecord;
  try {
    record = JSON.parse(text) as RunRecord;
  } catch {
    return;
  }
  const plan = planLeftovers(record, dir, process.pid, observeProcess);
  if (plan.kind === 'in-use') {
    const { pid, argv } = plan.owner;
    const command = argv.join(' ');
    throw new Error(
      `the control plane in ${dir} belongs to process ${pid}, which is still running (${command.length > 120 ? `${command.slice(0, 117)}...` : command}): stop it first (Ctrl-C where it runs, or kill ${pid})`,
    );
  }
  if (plan.leftovers.length === 0) return;
  say(
    `stopping what an earlier start left running in ${dir}: ${plan.leftovers.map((l) => `${l.name} (pid ${l.record.pid})`).join(', ')}`,
  );
  await Promise.all(plan.leftovers.map((l) => stopRecorded(l.name, l.record, 0)));
}

/**
 * Stops everything a test bed in `dir` started (by the records in its state.json: a PID whose
 * process is not the recorded one is left alone).
 */
export async function stopControlPlane(dir: string): Promise<void> {
  const text = await readFile(join(dir, 'state.json'), 'utf8').catch(() => null);
  if (text === null) return;
  const record = JSON.parse(text) as RunRecord;
  for (const p of recordedProcesses(record)) await stopRecorded(p.name, p.record, graceMs(p.name));
}

export async function readState(dir: string): Promise<TestbedState> {
  return JSON.parse(await readFile(join(dir, 'state.json'), 'utf8')) as TestbedState;
}
