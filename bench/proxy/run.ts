// Proxy benchmark: the same load, in one run, against the API server directly, through kubegate,
// through `kubectl proxy`, and through HAProxy (Debian's; TLS on both sides: the best-in-class
// proxy floor). Load: wrk (HTTP/1.1 keep-alive), single-object GET and a small LIST, at
// concurrency 1 and 32. Prints requests/s, p50/p99 latency, each proxy's CPU µs per request
// (from /proc), and the ratios. Usage: npm run build && npx tsx bench/proxy/run.ts [--seconds N]
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir, cpus, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { startControlPlane, stopControlPlane, type TestbedState } from '../../src/demo/control-plane.js';
import { freePort } from '../../src/demo/ports.js';
import { stopPid } from '../../src/demo/processes.js';
import { apiClient, waitFor } from '../../src/demo/api.js';
import { createCertificateAuthority, issueCertificate } from '../../src/pki/certificates.js';
import { kubectlPath } from '../../test/fixtures/kubectl.js';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '../..');
const seconds = Number(process.argv[process.argv.indexOf('--seconds') + 1] || 5);
const NS = 'bench';

interface Target {
  readonly name: string;
  readonly url: string;
  readonly authorization: string | null;
  /** PID whose CPU time is charged to the proxy (null: direct). */
  readonly pid: number | null;
}

interface Result {
  readonly target: string;
  readonly load: string;
  readonly connections: number;
  readonly rps: number;
  readonly p50ms: number;
  readonly p99ms: number;
  readonly requests: number;
  readonly cpuUsPerRequest: number | null;
}

const TICKS_PER_SECOND = 100; // getconf CLK_TCK on Linux

async function cpuTicks(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 (1-based) of /proc/PID/stat; here offset by the 2 skipped.
  return Number(fields[11]) + Number(fields[12]);
}

function toMs(value: string): number {
  const m = /^([\d.]+)(us|ms|s)$/.exec(value.trim());
  if (!m) throw new Error(`unparsable wrk latency ${value}`);
  const n = Number(m[1]);
  return m[2] === 'us' ? n / 1000 : m[2] === 's' ? n * 1000 : n;
}

async function wrk(
  target: Target,
  path: string,
  connections: number,
  duration: number,
  dir: string,
): Promise<Omit<Result, 'target' | 'load' | 'cpuUsPerRequest'>> {
  const script = join(dir, `${target.name}.lua`);
  await writeFile(
    script,
    target.authorization
      ? `wrk.headers["Authorization"] = "${target.authorization}"\nwrk.headers["Accept"] = "application/json"\n`
      : 'wrk.headers["Accept"] = "application/json"\n',
  );
  const threads = Math.min(connections, 2);
  const { stdout } = await run(
    'wrk',
    [
      '-t',
      String(threads),
      '-c',
      String(connections),
      '-d',
      `${duration}s`,
      '--latency',
      '-s',
      script,
      target.url + path,
    ],
    {
      maxBuffer: 1 << 20,
    },
  );
  const p50 = /^\s+50%\s+(\S+)/m.exec(stdout)?.[1];
  const p99 = /^\s+99%\s+(\S+)/m.exec(stdout)?.[1];
  const rps = /^Requests\/sec:\s+([\d.]+)/m.exec(stdout)?.[1];
  const total = /^\s+(\d+) requests in/m.exec(stdout)?.[1];
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(stdout)?.[1];
  if (!p50 || !p99 || !rps || !total) throw new Error(`unexpected wrk output:\n${stdout}`);
  if (non2xx) throw new Error(`${target.name}: ${non2xx} non-2xx responses from ${path}`);
  return { connections, rps: Number(rps), p50ms: toMs(p50), p99ms: toMs(p99), requests: Number(total) };
}

async function measure(
  target: Target,
  load: string,
  path: string,
  connections: number,
  dir: string,
): Promise<Result> {
  await wrk(target, path, connections, 1, dir); // warm-up: connections, JIT, caches
  const before = target.pid === null ? 0 : await cpuTicks(target.pid);
  const r = await wrk(target, path, connections, seconds, dir);
  const after = target.pid === null ? 0 : await cpuTicks(target.pid);
  const cpuUs = ((after - before) / TICKS_PER_SECOND) * 1e6;
  return {
    target: target.name,
    load,
    ...r,
    cpuUsPerRequest: target.pid === null ? null : cpuUs / r.requests,
  };
}

function started(child: ChildProcess, name: string): number {
  if (child.pid === undefined) throw new Error(`could not start ${name}`);
  return child.pid;
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'kubegate-bench-'));
  const children: ChildProcess[] = [];
  let tb: TestbedState | null = null;
  try {
    tb = await startControlPlane({ dir: join(dir, 'testbed') });
    const state = tb;
    const admin = apiClient(state.server, state.caPem, state.users.admin!.token);
    await admin.call('POST', '/api/v1/namespaces', {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: NS },
    });
    for (let i = 0; i < 10; i++) {
      await admin.call('POST', `/api/v1/namespaces/${NS}/configmaps`, {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: `cm-${i}`, labels: { app: 'bench' } },
        data: { key: `value-${i}` },
      });
    }
    await admin.call('POST', `/apis/rbac.authorization.k8s.io/v1/namespaces/${NS}/rolebindings`, {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'alice-view' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'alice' }],
    });
    await admin.close();

    // kubegate, compiled (dist/), as a separate process like production.
    const gwPort = await freePort();
    const gwDir = join(dir, 'kubegate');
    await run('mkdir', ['-p', gwDir]);
    await writeFile(
      join(gwDir, 'kubegate.yaml'),
      stringify({
        dataDir: gwDir,
        listen: { host: '127.0.0.1', port: gwPort },
        upstream: { kubeconfig: state.upstreamKubeconfig },
        log: { level: 'warn' },
      }),
    );
    const kg = spawn(
      process.execPath,
      [join(root, 'dist/src/cli/main.js'), 'serve', '--config', join(gwDir, 'kubegate.yaml')],
      { stdio: 'ignore' },
    );
    children.push(kg);
    await waitFor('kubegate to listen', 20_000, async () => {
      await fetch(`https://127.0.0.1:${gwPort}/`).catch((err: unknown) => {
        if ((err as { cause?: { code?: string } }).cause?.code === 'ECONNREFUSED') throw err;
      });
      return true;
    });
    await run(process.execPath, [
      join(root, 'dist/src/cli/main.js'),
      'user',
      'add',
      'alice',
      '--group',
      'dev',
      '--token',
      '--out',
      join(gwDir, 'alice.kubeconfig'),
      '--data-dir',
      gwDir,
      '--server',
      `https://127.0.0.1:${gwPort}`,
    ]);
    const kgToken = /token: (\S+)/.exec(await readFile(join(gwDir, 'alice.kubeconfig'), 'utf8'))![1]!;

    // kubectl proxy (plain HTTP on loopback, alice's own kubeconfig).
    const proxyPort = await freePort();
    const kp = spawn(
      kubectlPath('1.33'),
      ['proxy', `--port=${proxyPort}`, '--address=127.0.0.1', '--kubeconfig', state.users.alice!.kubeconfig],
      { stdio: 'ignore' },
    );
    children.push(kp);

    // HAProxy: TLS + h2/http1.1 in front, verified TLS to the API server behind.
    const haPort = await freePort();
    const ca = await createCertificateAuthority('bench CA');
    const cert = await issueCertificate(ca, {
      commonName: 'haproxy',
      ipAddresses: ['127.0.0.1'],
      usage: 'server',
    });
    await writeFile(join(dir, 'haproxy.pem'), cert.certPem + cert.keyPem);
    const apiHostPort = state.server.replace('https://', '');
    await writeFile(
      join(dir, 'haproxy.cfg'),
      [
        'global',
        '  nbthread 1',
        '  maxconn 4096',
        'defaults',
        '  mode http',
        '  timeout connect 5s',
        '  timeout client 300s',
        '  timeout server 300s',
        '  http-reuse always',
        'frontend fe',
        `  bind 127.0.0.1:${haPort} ssl crt ${join(dir, 'haproxy.pem')} alpn h2,http/1.1`,
        '  default_backend apiserver',
        'backend apiserver',
        `  server api ${apiHostPort} ssl verify required ca-file ${state.caFile} alpn http/1.1`,
        '',
      ].join('\n'),
    );
    const ha = spawn('haproxy', ['-db', '-f', join(dir, 'haproxy.cfg')], { stdio: 'ignore' });
    children.push(ha);
    for (const [port, name] of [
      [proxyPort, 'kubectl proxy'],
      [haPort, 'haproxy'],
    ] as const) {
      await waitFor(`${name} to listen`, 20_000, async () => {
        await fetch(`http://127.0.0.1:${port}/`).catch((err: unknown) => {
          if ((err as { cause?: { code?: string } }).cause?.code === 'ECONNREFUSED') throw err;
        });
        return true;
      });
    }

    const aliceToken = `Bearer ${state.users.alice!.token}`;
    const targets: Target[] = [
      { name: 'direct', url: state.server, authorization: aliceToken, pid: null },
      {
        name: 'kubegate',
        url: `https://127.0.0.1:${gwPort}`,
        authorization: `Bearer ${kgToken}`,
        pid: started(kg, 'kubegate'),
      },
      {
        name: 'kubectl proxy',
        url: `http://127.0.0.1:${proxyPort}`,
        authorization: null,
        pid: started(kp, 'kubectl proxy'),
      },
      {
        name: 'haproxy',
        url: `https://127.0.0.1:${haPort}`,
        authorization: aliceToken,
        pid: started(ha, 'haproxy'),
      },
    ];
    const loads = [
      { load: 'GET one object', path: `/api/v1/namespaces/${NS}/configmaps/cm-0` },
      { load: 'LIST 10 objects', path: `/api/v1/namespaces/${NS}/configmaps?limit=500` },
    ];
    const results: Result[] = [];
    for (const { load, path } of loads) {
      for (const connections of [1, 32]) {
        for (const target of targets) {
          const r = await measure(target, load, path, connections, dir);
          results.push(r);
          process.stderr.write(
            `${load} c=${connections} ${target.name}: ${r.rps.toFixed(0)} req/s p50 ${r.p50ms.toFixed(2)} ms\n`,
          );
        }
      }
    }
    print(results);
  } finally {
    for (const child of children) {
      if (child.pid !== undefined && child.exitCode === null) await stopPid(child.pid, null, 5_000);
    }
    if (tb) await stopControlPlane(tb.dir);
  }
}

function print(results: readonly Result[]): void {
  const date = new Date().toISOString().slice(0, 10);
  console.log(
    `\n# bench/proxy — ${date}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${seconds} s per run\n`,
  );
  console.log(
    '| load | conc. | target | req/s | p50 ms | p99 ms | proxy CPU µs/req | req/s vs direct | p50 added ms |',
  );
  console.log('|---|---:|---|---:|---:|---:|---:|---:|---:|');
  for (const r of results) {
    const direct = results.find(
      (d) => d.target === 'direct' && d.load === r.load && d.connections === r.connections,
    )!;
    console.log(
      `| ${r.load} | ${r.connections} | ${r.target} | ${r.rps.toFixed(0)} | ${r.p50ms.toFixed(2)} | ${r.p99ms.toFixed(2)} | ${r.cpuUsPerRequest === null ? '—' : r.cpuUsPerRequest.toFixed(0)} | ${(r.rps / direct.rps).toFixed(2)} | ${r.target === 'direct' ? '—' : (r.p50ms - direct.p50ms).toFixed(2)} |`,
    );
  }
  console.log('\nkubegate vs kubectl proxy (throughput ratio):');
  for (const r of results.filter((x) => x.target === 'kubegate')) {
    const kp = results.find(
      (d) => d.target === 'kubectl proxy' && d.load === r.load && d.connections === r.connections,
    )!;
    console.log(`  ${r.load}, c=${r.connections}: ${(r.rps / kp.rps).toFixed(2)}×`);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
