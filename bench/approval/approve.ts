// Approval benchmark, through a real kubegate in front of the test bed:
//   1. approve → the held request goes upstream: a held `create` waits; a reviewer approves over
//      the REST API; measured from sending the approval to the requester's response (end to end,
//      incl. the API server's create), and from the 'reviewed' to the 'granted' audit event
//      (kubegate's own part; millisecond timestamps).
//   2. what durable audit adds to a mutation: p50 of allowed creates and of allowed GETs through
//      kubegate and direct; (create added) − (GET added) ≈ the durable 'decided' record's cost.
// Usage: npm run build && npx tsx bench/approval/approve.ts [--rounds N]
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

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '../..');
const rounds = Number(process.argv[process.argv.indexOf('--rounds') + 1] || 40);
const NS = 'bench';

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'kubegate-bench-approve-'));
  let tb: TestbedState | null = null;
  let kg: ChildProcess | null = null;
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

    const gwDir = join(dir, 'kubegate');
    await mkdir(gwDir, { recursive: true });
    const port = await freePort();
    const url = `https://127.0.0.1:${port}`;
    await writeFile(
      join(gwDir, 'policy.yaml'),
      stringify({
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
      }),
    );
    await writeFile(
      join(gwDir, 'kubegate.yaml'),
      stringify({
        dataDir: gwDir,
        listen: { host: '127.0.0.1', port },
        upstream: { kubeconfig: state.upstreamKubeconfig },
        policy: { file: join(gwDir, 'policy.yaml') },
        log: { level: 'warn' },
      }),
    );
    const cli = join(root, 'dist/src/cli/main.js');
    kg = spawn(process.execPath, [cli, 'serve', '--config', join(gwDir, 'kubegate.yaml')], {
      stdio: 'ignore',
    });
    await waitFor('kubegate to listen', 20_000, async () => {
      await fetch(url).catch((err: unknown) => {
        if ((err as { cause?: { code?: string } }).cause?.code === 'ECONNREFUSED') throw err;
      });
      return true;
    });
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
        url,
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

    // 1. approve → forwarded
    const endToEnd: number[] = [];
    for (let i = 0; i < rounds; i++) {
      const body = JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `held-${i}` } });
      const held = request(`${url}/api/v1/namespaces/${NS}/configmaps`, {
        dispatcher: agent,
        method: 'POST',
        headers: { ...alice, 'content-type': 'application/json' },
        body,
      });
      let id: string | undefined;
      const deadline = Date.now() + 10_000;
      while (!id && Date.now() < deadline) {
        const res = await request(`${url}/kubegate/v1/requests?state=pending`, {
          dispatcher: agent,
          headers: bob,
        });
        const list = (await res.body.json()) as { items?: { id: string; request: { name: string } }[] };
        id = list.items?.find((p) => p.request.name === `held-${i}`)?.id;
      }
      if (!id) throw new Error(`held-${i} never became pending`);
      const t0 = performance.now();
      const approve = await request(`${url}/kubegate/v1/requests/${id}/approve`, {
        dispatcher: agent,
        method: 'POST',
        headers: { ...bob, 'content-type': 'application/json' },
        body: '{}',
      });
      await approve.body.text();
      const res = await held;
      await res.body.text();
      endToEnd.push(performance.now() - t0);
      if (res.statusCode !== 201) throw new Error(`held create answered ${res.statusCode}`);
    }
    const config = await loadConfig({ file: join(gwDir, 'kubegate.yaml') });
    const store = await openStore(config.store, { readOnly: true });
    const reviewed = new Map<string, number>();
    const granted: number[] = [];
    for (const { event } of await store.auditReader.query({ kind: 'reviewed' }))
      reviewed.set(event.pendingId!, Date.parse(event.time));
    for (const { event } of await store.auditReader.query({ kind: 'granted' })) {
      const t = reviewed.get(event.pendingId!);
      if (t !== undefined) granted.push(Date.parse(event.time) - t);
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
      (base: string, dispatcher: Agent, headers: Record<string, string>, prefix: string) =>
      async (i: number) => {
        const res = await request(`${base}/api/v1/namespaces/${NS}/configmaps`, {
          dispatcher,
          method: 'POST',
          headers: { ...headers, 'content-type': 'application/json' },
          body: JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `${prefix}-${i}` } }),
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
    await timed(20, get(url, agent, alice)); // warm-up
    const kgGet = await timed(n, get(url, agent, alice));
    const dGet = await timed(n, get(state.server, direct, aliceDirect));
    const kgCreate = await timed(n, create(url, agent, alice, 'kg'));
    const dCreate = await timed(n, create(state.server, direct, aliceDirect, 'direct'));
    await agent.close();
    await direct.close();

    const f = (x: number) => x.toFixed(2);
    console.log(
      `\n# bench/approval — ${new Date().toISOString().slice(0, 10)}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}\n`,
    );
    console.log('| measure | n | p50 ms | p99 ms |');
    console.log('|---|---:|---:|---:|');
    console.log(
      `| approve sent → held create answered (end to end, incl. the API server's create) | ${endToEnd.length} | ${f(pct(endToEnd, 50))} | ${f(pct(endToEnd, 99))} |`,
    );
    console.log(
      `| 'reviewed' → 'granted' audit events (kubegate's part; ms timestamps) | ${granted.length} | ${f(pct(granted, 50))} | ${f(pct(granted, 99))} |`,
    );
    console.log(`| GET one configmap, direct | ${n} | ${f(pct(dGet, 50))} | ${f(pct(dGet, 99))} |`);
    console.log(
      `| GET one configmap, through kubegate (batched audit) | ${n} | ${f(pct(kgGet, 50))} | ${f(pct(kgGet, 99))} |`,
    );
    console.log(`| create a configmap, direct | ${n} | ${f(pct(dCreate, 50))} | ${f(pct(dCreate, 99))} |`);
    console.log(
      `| create a configmap, through kubegate (durable audit first) | ${n} | ${f(pct(kgCreate, 50))} | ${f(pct(kgCreate, 99))} |`,
    );
    const added = pct(kgCreate, 50) - pct(dCreate, 50) - (pct(kgGet, 50) - pct(dGet, 50));
    console.log(
      `\nDurable audit on a mutation adds ≈ ${f(added)} ms at p50 (create's added latency minus GET's).`,
    );
  } finally {
    if (kg?.pid !== undefined && kg.exitCode === null) await stopPid(kg.pid, null, 5_000);
    if (tb) await stopControlPlane(tb.dir);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
