// Approval benchmark, through real kubegate processes in front of the test bed, once on the
// embedded SQLite store (one replica) and once on a real PostgreSQL (two replicas, A and B), side
// by side:
//   1. approve → the held request goes upstream: a held `create` waits on A; a reviewer approves
//      over the REST API (on A with SQLite; on B with PostgreSQL, so the wake-up crosses replicas
//      through LISTEN/NOTIFY); measured from sending the approval to the requester's response (end
//      to end, incl. the API server's create), and from the 'reviewed' to the 'granted' audit
//      event (kubegate's own part; millisecond timestamps).
//   2. what durable audit adds to a mutation: p50 of allowed creates and of allowed GETs through
//      kubegate and direct; (create added) − (GET added) ≈ the durable 'decided' record's cost.
// Usage: npm run build && npx tsx bench/approval/approve.ts [--rounds N] [--sqlite-only]
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtemp, readFile, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir, cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { Agent, request } from 'undici';
import { stringify } from 'yaml';
import { startControlPlane, stopControlPlane, type TestbedState } from '../../src/demo/control-plane.js';
import { freePort } from '../../src/demo/ports.js';
import { stopPid } from '../../src/demo/processes.js';
import { apiClient, waitFor } from '../../src/demo/api.js';
import { loadConfig } from '../../src/config/load.js';
import { openStore } from '../../src/store/open.js';
import { startTestPostgres, type TestPostgres } from '../../src/store/postgres/test-server.js';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '../..');
const cli = join(root, 'dist/src/cli/main.js');
// Without --rounds, indexOf is -1 and argv[0] (node's path) must not be read as the count.
const roundsAt = process.argv.indexOf('--rounds');
const rounds = roundsAt === -1 ? 40 : Number(process.argv[roundsAt + 1]);
const NS = 'bench';

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};

interface Row {
  readonly measure: string;
  readonly samples: number[];
}

const POLICY = {
  apiVersion: 'kubegate.dev/v1alpha1',
  kind: 'Policy',
  defaults: { action: 'allow' },
  rules: [
    {
      name: 'held',
      match: { verbs: ['create'], resources: ['configmaps'], names: ['held-*'] },
      action: 'approve',
      approval: { approvers: ['group:sre'], count: 1 },
    },
  ],
};

/** A kubegate process on `gwDir` (shared by replicas: one CA, one token file) and `store`. */
async function startKubegate(
  state: TestbedState,
  gwDir: string,
  store: Record<string, unknown> | undefined,
  procs: ChildProcess[],
): Promise<{ url: string; configFile: string }> {
  const port = await freePort();
  const url = `https://127.0.0.1:${port}`;
  const configFile = join(gwDir, `kubegate-${port}.yaml`);
  await writeFile(
    configFile,
    stringify({
      dataDir: gwDir,
      listen: { host: '127.0.0.1', port },
      upstream: { kubeconfig: state.upstreamKubeconfig },
      policy: { file: join(gwDir, 'policy.yaml') },
      log: { level: 'warn' },
      ...(store === undefined ? {} : { store }),
    }),
  );
  procs.push(spawn(process.execPath, [cli, 'serve', '--config', configFile], { stdio: 'ignore' }));
  await waitFor('kubegate to listen', 20_000, async () => {
    await fetch(url).catch((err: unknown) => {
      if ((err as { cause?: { code?: string } }).cause?.code === 'ECONNREFUSED') throw err;
    });
    return true;
  });
  return { url, configFile };
}

/** Sections 1 and 2 for one store: held on `held`, approved on `approver`. */
async function measure(
  state: TestbedState,
  gwDir: string,
  held: { url: string; configFile: string },
  approver: { url: string },
  label: string,
): Promise<Row[]> {
  const token = async (user: string, group: string): Promise<string> => {
    const out = join(gwDir, `${user}.kubeconfig`);
    await run(process.execPath, [
      cli,
      'user',
      'add',
      user,
      '--group',
      group,
      '--token',
      '--out',
      out,
      '--data-dir',
      gwDir,
      '--server',
      held.url,
    ]);
    return /token: (\S+)/.exec(await readFile(out, 'utf8'))![1]!;
  };
  const alice = { authorization: `Bearer ${await token('alice', 'dev')}` };
  const bob = { authorization: `Bearer ${await token('bob', 'sre')}` };
  const ca = await readFile(join(gwDir, 'pki', 'ca.crt'), 'utf8');
  const agent = new Agent({ connect: { ca } });
  const direct = new Agent({ connect: { ca: state.caPem } });
  const aliceDirect = { authorization: `Bearer ${state.users.alice!.token}` };
  await new Promise((r) => setTimeout(r, 1500)); // tokens are re-read once a second
  const prefix = label.replace(/\W+/gu, '').toLowerCase();

  // 1. approve → forwarded
  const endToEnd: number[] = [];
  const sentAt = new Map<string, number>(); // pending id → approve sent (ms since the epoch)
  for (let i = 0; i < rounds; i++) {
    const name = `held-${prefix}-${i}`;
    const body = JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name } });
    const waiting = request(`${held.url}/api/v1/namespaces/${NS}/configmaps`, {
      dispatcher: agent,
      method: 'POST',
      headers: { ...alice, 'content-type': 'application/json' },
      body,
    });
    let id: string | undefined;
    const deadline = Date.now() + 10_000;
    while (!id && Date.now() < deadline) {
      const res = await request(`${approver.url}/kubegate/v1/requests?state=pending`, {
        dispatcher: agent,
        headers: bob,
      });
      const list = (await res.body.json()) as { items?: { id: string; request: { name: string } }[] };
      id = list.items?.find((p) => p.request.name === name)?.id;
    }
    if (!id) throw new Error(`${name} never became pending`);
    // The held client registers its wait right after the request is created.
    await new Promise((r) => setTimeout(r, 20));
    sentAt.set(id, Date.now());
    const t0 = performance.now();
    const approve = await request(`${approver.url}/kubegate/v1/requests/${id}/approve`, {
      dispatcher: agent,
      method: 'POST',
      headers: { ...bob, 'content-type': 'application/json' },
      body: '{}',
    });
    await approve.body.text();
    const res = await waiting;
    await res.body.text();
    endToEnd.push(performance.now() - t0);
    if (res.statusCode !== 201) throw new Error(`held create answered ${res.statusCode}`);
  }
  const config = await loadConfig({ file: held.configFile });
  const store = await openStore(config.store, { readOnly: true });
  // Where the time goes, from the audit records' millisecond timestamps (the same clock).
  const reviewed = new Map<string, number>();
  const grantedAt = new Map<string, number>(); // request id → 'granted'
  const sentToReviewed: number[] = [];
  const granted: number[] = [];
  const grantedToForwarded: number[] = [];
  for (const { event } of await store.auditReader.query({ kind: 'reviewed' })) {
    reviewed.set(event.pendingId!, Date.parse(event.time));
    const sent = sentAt.get(event.pendingId!);
    if (sent !== undefined) sentToReviewed.push(Date.parse(event.time) - sent);
  }
  for (const { event } of await store.auditReader.query({ kind: 'granted' })) {
    const t = reviewed.get(event.pendingId!);
    if (t === undefined) continue;
    granted.push(Date.parse(event.time) - t);
    grantedAt.set(event.requestId!, Date.parse(event.time));
  }
  for (const { event } of await store.auditReader.query({ kind: 'forwarded' })) {
    const t = grantedAt.get(event.requestId!);
    if (t !== undefined) grantedToForwarded.push(Date.parse(event.time) - t);
  }
  await store.close();

  // 2. durable audit on mutations
  const timed = async (n: number, send: (i: number) => Promise<number>): Promise<number[]> => {
    const out: number[] = [];
    for (let i = 0; i < n; i++) {
      const t = performance.now();
      const status = await send(i);
      if (status >= 300) throw new Error(`status ${status}`);
      out.push(performance.now() - t);
    }
    return out;
  };
  const create =
    (base: string, dispatcher: Agent, headers: Record<string, string>, name: string) => async (i: number) => {
      const res = await request(`${base}/api/v1/namespaces/${NS}/configmaps`, {
        dispatcher,
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `${name}-${i}` } }),
      });
      await res.body.text();
      return res.statusCode;
    };
  const get = (base: string, dispatcher: Agent, headers: Record<string, string>) => async () => {
    const res = await request(`${base}/api/v1/namespaces/${NS}/configmaps/cm-0`, { dispatcher, headers });
    await res.body.text();
    return res.statusCode;
  };
  const n = rounds * 5;
  await timed(20, get(held.url, agent, alice)); // warm-up
  const kgGet = await timed(n, get(held.url, agent, alice));
  const dGet = await timed(n, get(state.server, direct, aliceDirect));
  const kgCreate = await timed(n, create(held.url, agent, alice, `kg-${prefix}`));
  const dCreate = await timed(n, create(state.server, direct, aliceDirect, `direct-${prefix}`));
  await agent.close();
  await direct.close();
  const added = pct(kgCreate, 50) - pct(dCreate, 50) - (pct(kgGet, 50) - pct(dGet, 50));
  console.log(
    `${label}: durable audit on a mutation adds ≈ ${added.toFixed(2)} ms at p50 (create's added latency minus GET's).`,
  );
  return [
    {
      measure: `approve sent → held create answered (end to end, incl. the API server's create)`,
      samples: endToEnd,
    },
    { measure: `approve sent → 'reviewed' audit event (ms timestamps)`, samples: sentToReviewed },
    { measure: `'reviewed' → 'granted' audit events (kubegate's part; ms timestamps)`, samples: granted },
    {
      measure: `'granted' → 'forwarded' audit events (the API server's create and the answer)`,
      samples: grantedToForwarded,
    },
    { measure: 'GET one configmap, direct', samples: dGet },
    { measure: 'GET one configmap, through kubegate (batched audit)', samples: kgGet },
    { measure: 'create a configmap, direct', samples: dCreate },
    { measure: 'create a configmap, through kubegate (durable audit first)', samples: kgCreate },
  ].map((row) => ({ ...row, measure: `${label}: ${row.measure}` }));
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'kubegate-bench-approve-'));
  let tb: TestbedState | null = null;
  let pg: TestPostgres | null = null;
  const procs: ChildProcess[] = [];
  try {
    tb = await startControlPlane({ dir: join(dir, 'testbed') });
    const state = tb;
    const admin = apiClient(state.server, state.caPem, state.users.admin!.token);
    await admin.call('POST', '/api/v1/namespaces', {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: NS },
    });
    await admin.call('POST', `/apis/rbac.authorization.k8s.io/v1/namespaces/${NS}/rolebindings`, {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'alice-edit' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'edit' },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'alice' }],
    });
    await admin.call('POST', `/api/v1/namespaces/${NS}/configmaps`, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'cm-0' },
    });
    await admin.close();

    const rows: Row[] = [];
    // SQLite, one replica: held and approved on the same process.
    const sqliteDir = join(dir, 'sqlite');
    await mkdir(sqliteDir, { recursive: true });
    await writeFile(join(sqliteDir, 'policy.yaml'), stringify(POLICY));
    const one = await startKubegate(state, sqliteDir, undefined, procs);
    rows.push(...(await measure(state, sqliteDir, one, one, 'SQLite, 1 replica')));

    // PostgreSQL, two replicas: held on A, approved on B (left out with --sqlite-only).
    if (process.argv.includes('--sqlite-only')) return print(rows);
    pg = await startTestPostgres();
    const store = { type: 'postgres', url: await pg.createDatabase(), pool: { max: 8 } };
    const pgDir = join(dir, 'postgres');
    await mkdir(pgDir, { recursive: true });
    await writeFile(join(pgDir, 'policy.yaml'), stringify(POLICY));
    const a = await startKubegate(state, pgDir, store, procs);
    const b = await startKubegate(state, pgDir, store, procs);
    rows.push(...(await measure(state, pgDir, a, b, 'PostgreSQL, held on A, approved on B')));
    print(rows);
  } finally {
    for (const proc of procs)
      if (proc.pid !== undefined && proc.exitCode === null) await stopPid(proc.pid, null, 5_000);
    await pg?.stop();
    if (tb) await stopControlPlane(tb.dir);
  }
}

function print(rows: readonly Row[]): void {
  const f = (x: number) => x.toFixed(2);
  console.log(
    `\n# bench/approval — ${new Date().toISOString().slice(0, 10)}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}\n`,
  );
  console.log('| measure | n | p50 ms | p99 ms |');
  console.log('|---|---:|---:|---:|');
  for (const row of rows) {
    console.log(
      `| ${row.measure} | ${row.samples.length} | ${f(pct(row.samples, 50))} | ${f(pct(row.samples, 99))} |`,
    );
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
