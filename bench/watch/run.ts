// Watch fan-out benchmark: N concurrent watches (default 5,000) of configmaps through one kubegate
// process, opened as kubectl opens them (HTTP/2, many streams per TLS session, JSON, a bearer
// token), then M idle HTTP/2 connections (default 1,000) on a new kubegate process. Prints
// kubegate's RSS at rest, with the watches open and after they close (memory per watch, and
// whether it comes back), its open fds and its connections to the API server (one per watch:
// upstream is HTTP/1.1) and how long those take to close once the clients left, the fan-out
// latency of one update to every watch and the CPU kubegate spent on it, and the same watches
// against the API server directly as a baseline (its Go heap+stacks in use from its /metrics, since
// Go's RSS keeps what it freed). The target is ≤ 20 KiB of kubegate RSS per watch. A benchmark: it
// prints figures, asserts nothing and does not run in CI.
// Usage: npm run build && npx tsx bench/watch/run.ts [--watches 5000] [--idle 1000] [--no-direct]
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { connect, type ClientHttp2Session, type ClientHttp2Stream } from 'node:http2';
import { mkdtemp, readFile, readdir, readlink, writeFile } from 'node:fs/promises';
import { tmpdir, cpus, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { parse, stringify } from 'yaml';
import { startControlPlane, stopControlPlane, type TestbedState } from '../../src/demo/control-plane.js';
import { freePort } from '../../src/demo/ports.js';
import { stopPid } from '../../src/demo/processes.js';
import { apiClient, waitFor, type ApiClient } from '../../src/demo/api.js';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '../..');
const flag = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(name);
  return i === -1 ? fallback : Number(process.argv[i + 1]);
};
const WATCHES = flag('--watches', 5000);
const IDLE = flag('--idle', 1000);
const DIRECT = !process.argv.includes('--no-direct');
const NS = 'bench';
/** kubectl multiplexes its requests on one connection; 100 streams per session keeps well under
 * what either server announces (kubegate 250, the API server Go's default). */
const STREAMS_PER_SESSION = 100;
/** Watches being opened at once: 5,000 TLS handshakes to the API server at once would be a
 * connect-storm benchmark (and hit kubegate's 5 s upstream connect timeout), not this one. */
const OPENING_AT_ONCE = 100;
const TICKS_PER_SECOND = 100; // getconf CLK_TCK on Linux
const MARKER = 'kubegate-bench-watch';

// --- /proc readings ---------------------------------------------------------------------------

async function rssKiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+) kB/m.exec(status);
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]);
}

async function cpuTicks(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 (1-based) of /proc/PID/stat; here offset by the 2 skipped.
  return Number(fields[11]) + Number(fields[12]);
}

const cpuMs = (ticks: number): number => (ticks / TICKS_PER_SECOND) * 1000;

interface Sockets {
  readonly fds: number;
  /** Established TCP connections of the process whose remote port is `remotePort`. */
  readonly toRemote: number;
  /** Established TCP connections of the process whose local port is `localPort`. */
  readonly onLocal: number;
}

/** Counts a process's fds, and its TCP connections by port (its fds' inodes in /proc/net/tcp). */
async function sockets(pid: number, remotePort: number, localPort: number): Promise<Sockets> {
  const fdDir = `/proc/${pid}/fd`;
  const fds = await readdir(fdDir);
  const inodes = new Set<string>();
  await Promise.all(
    fds.map(async (fd) => {
      const target = await readlink(join(fdDir, fd)).catch(() => '');
      const m = /^socket:\[(\d+)\]$/.exec(target);
      if (m) inodes.add(m[1]!);
    }),
  );
  let toRemote = 0;
  let onLocal = 0;
  for (const table of ['tcp', 'tcp6']) {
    const text = await readFile(`/proc/${pid}/net/${table}`, 'utf8').catch(() => '');
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      // sl local rem st tx:rx tr:when retrnsmt uid timeout inode; st 01 is ESTABLISHED.
      if (f.length < 10 || f[3] !== '01' || !inodes.has(f[9]!)) continue;
      if (parseInt(f[2]!.split(':')[1]!, 16) === remotePort) toRemote++;
      if (parseInt(f[1]!.split(':')[1]!, 16) === localPort) onLocal++;
    }
  }
  return { fds: fds.length, toRemote, onLocal };
}

async function openFileLimit(): Promise<number> {
  const limits = await readFile('/proc/self/limits', 'utf8');
  const m = /^Max open files\s+(\d+|unlimited)/m.exec(limits);
  return m?.[1] === undefined || m[1] === 'unlimited' ? Infinity : Number(m[1]);
}

// kubegate is started with this preload: on SIGUSR2 it collects garbage and writes
// process.memoryUsage(), so each reading is taken after a full GC and splits RSS into the V8 heap,
// ArrayBuffers and the rest (native: OpenSSL, nghttp2, llhttp, the allocator). Nothing else changes.
const PRELOAD = [
  "import { writeFileSync } from 'node:fs';",
  "process.on('SIGUSR2', () => {",
  '  globalThis.gc?.(); globalThis.gc?.();',
  '  writeFileSync(process.env.KG_BENCH_MEMORY_FILE, JSON.stringify({ at: Date.now(), ...process.memoryUsage() }));',
  '});',
].join('\n');

interface MemoryUsage {
  readonly at: number;
  readonly rss: number;
  readonly heapTotal: number;
  readonly heapUsed: number;
  readonly external: number;
  readonly arrayBuffers: number;
}

interface Snapshot {
  readonly label: string;
  readonly rssKiB: number;
  readonly memory: MemoryUsage | null;
  readonly sockets: Sockets;
  readonly apiserverRssKiB: number;
  /** The API server's Go heap and stacks in use (its /metrics): RSS keeps what Go freed. */
  readonly apiserverInUseKiB: number;
}

/** go_memstats_heap_inuse_bytes + go_memstats_stack_inuse_bytes of the API server, in KiB. */
async function apiserverInUseKiB(admin: ApiClient): Promise<number> {
  const { text } = await admin.call('GET', '/metrics');
  const value = (name: string): number => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
  return (value('go_memstats_heap_inuse_bytes') + value('go_memstats_stack_inuse_bytes')) / 1024;
}

// --- HTTP/2 client ----------------------------------------------------------------------------

interface Endpoint {
  readonly name: string;
  readonly url: string;
  readonly caPem: string;
  readonly token: string;
}

function session(endpoint: Endpoint): Promise<ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const s = connect(endpoint.url, { ca: endpoint.caPem });
    s.once('error', reject);
    s.once('remoteSettings', () => {
      s.off('error', reject);
      s.on('error', () => undefined); // counted by 'close'; an unhandled error would end the bench
      resolve(s);
    });
  });
}

function headers(endpoint: Endpoint, path: string): Record<string, string> {
  return {
    ':path': path,
    accept: 'application/json',
    authorization: `Bearer ${endpoint.token}`,
    'user-agent': MARKER,
  };
}

/** One GET; resolves with its status and milliseconds. */
function get(
  s: ClientHttp2Session,
  endpoint: Endpoint,
  path: string,
): Promise<{ status: number; ms: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const stream = s.request(headers(endpoint, path), { endStream: true });
    let status = 0;
    stream.on('response', (h) => (status = Number(h[':status'])));
    stream.on('error', reject);
    stream.resume();
    stream.on('end', () => resolve({ status, ms: performance.now() - started }));
  });
}

interface Watch {
  readonly stream: ClientHttp2Stream;
  /** performance.now() when the first MODIFIED event arrived; null until then. */
  modifiedAt: number | null;
  closed: boolean;
}

/** Opens a watch; resolves once the response head is in (200), rejects with the refusal. */
function openWatch(s: ClientHttp2Session, endpoint: Endpoint, path: string): Promise<Watch> {
  return new Promise((resolve, reject) => {
    const stream = s.request(headers(endpoint, path), { endStream: true });
    const watch: Watch = { stream, modifiedAt: null, closed: false };
    let status = 0;
    let pending = '';
    stream.setEncoding('utf8');
    stream.on('response', (h) => {
      status = Number(h[':status']);
      if (status === 200) resolve(watch);
    });
    stream.on('data', (chunk: string) => {
      if (status !== 200) {
        pending += chunk;
        return;
      }
      if (watch.modifiedAt !== null) return;
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop()!;
      for (const line of lines) {
        if (line.includes('"type":"MODIFIED"')) watch.modifiedAt ??= performance.now();
      }
    });
    stream.on('error', (err: Error) => reject(err));
    stream.on('close', () => {
      watch.closed = true;
      if (status !== 200) reject(new Error(`${status || 'no answer'} ${pending.slice(0, 300)}`));
    });
  });
}

interface WatchSet {
  readonly sessions: ClientHttp2Session[];
  readonly watches: Watch[];
  readonly openMs: number;
  /** The first refusal (status and message), when fewer than asked opened. */
  readonly failure: string | null;
}

/** Opens `count` watches over sessions of STREAMS_PER_SESSION streams, OPENING_AT_ONCE at a time. */
async function openWatches(endpoint: Endpoint, count: number, path: string): Promise<WatchSet> {
  const started = performance.now();
  const sessions: ClientHttp2Session[] = [];
  const watches: Watch[] = [];
  let failure: string | null = null;
  let next = 0;
  const sessionFor = async (i: number): Promise<ClientHttp2Session> => {
    const k = Math.floor(i / STREAMS_PER_SESSION);
    while (sessions.length <= k) sessions.push(await session(endpoint));
    const s = sessions[k]!;
    const announced = s.remoteSettings.maxConcurrentStreams ?? Infinity;
    if (announced < STREAMS_PER_SESSION) {
      throw new Error(`${endpoint.name} allows only ${announced} streams per connection`);
    }
    return s;
  };
  let opening = Promise.resolve();
  const worker = async (): Promise<void> => {
    while (failure === null && next < count) {
      const i = next++;
      // Sessions are made in order, one at a time (the chain), so stream i lands on session i/100.
      const made = opening.then(() => sessionFor(i));
      opening = made.then(
        () => undefined,
        () => undefined,
      );
      try {
        watches.push(await openWatch(await made, endpoint, path));
      } catch (err) {
        failure ??= `watch #${i + 1}: ${err instanceof Error ? err.message : String(err)}`;
      }
    }
  };
  await Promise.all(Array.from({ length: OPENING_AT_ONCE }, () => worker()));
  return { sessions, watches, openMs: performance.now() - started, failure };
}

function closeWatches(set: WatchSet): void {
  for (const w of set.watches) w.stream.close();
  for (const s of set.sessions) s.close();
}

interface FanOut {
  readonly received: number;
  readonly p50ms: number;
  readonly p99ms: number;
  readonly maxMs: number;
}

const percentile = (sorted: readonly number[], p: number): number =>
  sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;

/** Updates cm-0 directly on the API server; waits (≤ 60 s) for every watch to see it. */
async function fanOut(admin: ApiClient, set: WatchSet, round: number): Promise<FanOut> {
  for (const w of set.watches) w.modifiedAt = null;
  const sent = performance.now();
  const res = await admin.call('PUT', `/api/v1/namespaces/${NS}/configmaps/cm-0`, {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'cm-0', namespace: NS, labels: { app: 'bench' } },
    data: { key: `value-0`, round: String(round) },
  });
  if (res.status !== 200) throw new Error(`updating cm-0: ${res.status} ${res.text}`);
  await waitFor('every watch to see the update', 60_000, () =>
    Promise.resolve(set.watches.every((w) => w.modifiedAt !== null || w.closed)),
  ).catch(() => undefined); // reported as received < open
  const ms = set.watches
    .map((w) => w.modifiedAt)
    .filter((t): t is number => t !== null)
    .map((t) => t - sent)
    .sort((a, b) => a - b);
  return {
    received: ms.length,
    p50ms: percentile(ms, 50),
    p99ms: percentile(ms, 99),
    maxMs: ms.at(-1) ?? NaN,
  };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// --- the run ----------------------------------------------------------------------------------

interface Report {
  snapshots: Snapshot[];
  lines: string[];
  rows: string[][];
}

async function main(): Promise<void> {
  const needed = WATCHES + IDLE + 500;
  const limit = await openFileLimit();
  if (limit < needed) {
    throw new Error(
      `the open-file limit is ${limit}; ${WATCHES} watches and ${IDLE} idle connections need about ${needed} (kubegate holds a client stream and an upstream connection per watch): raise it with \`ulimit -n ${needed}\``,
    );
  }
  const dir = await mkdtemp(join(tmpdir(), 'kubegate-bench-watch-'));
  const children: ChildProcess[] = [];
  let tb: TestbedState | null = null;
  const report: Report = { snapshots: [], lines: [], rows: [] };
  const say = (msg: string): boolean => process.stderr.write(`${msg}\n`);
  try {
    say('starting the control plane');
    tb = await startControlPlane({ dir: join(dir, 'testbed') });
    const state = tb;
    const apiPort = Number(new URL(state.server).port);
    const apiserverPid = state.pids['kube-apiserver']!;
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
    const memoryFile = join(dir, 'memory.json');
    let kgPid = 0;
    const startKubegate = async (): Promise<void> => {
      const kg = spawn(
        process.execPath,
        [
          '--expose-gc',
          `--import=data:text/javascript,${encodeURIComponent(PRELOAD)}`,
          join(root, 'dist/src/cli/main.js'),
          'serve',
          '--config',
          join(gwDir, 'kubegate.yaml'),
        ],
        {
          stdio: ['ignore', 'ignore', 'inherit'],
          env: { ...process.env, KG_BENCH_MEMORY_FILE: memoryFile },
        },
      );
      children.push(kg);
      if (kg.pid === undefined) throw new Error('could not start kubegate');
      kgPid = kg.pid;
      await waitFor('kubegate to listen', 20_000, async () => {
        await fetch(`https://127.0.0.1:${gwPort}/`).catch((err: unknown) => {
          if ((err as { cause?: { code?: string } }).cause?.code === 'ECONNREFUSED') throw err;
        });
        return true;
      });
    };
    await startKubegate();
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
    const kubeconfig = parse(await readFile(join(gwDir, 'alice.kubeconfig'), 'utf8')) as {
      clusters: { cluster: { 'certificate-authority-data': string } }[];
      users: { user: { token: string } }[];
    };
    const gateway: Endpoint = {
      name: 'kubegate',
      url: `https://127.0.0.1:${gwPort}`,
      caPem: Buffer.from(kubeconfig.clusters[0]!.cluster['certificate-authority-data'], 'base64').toString(),
      token: kubeconfig.users[0]!.user.token,
    };
    const direct: Endpoint = {
      name: 'API server',
      url: state.server,
      caPem: state.caPem,
      token: state.users.alice!.token,
    };

    const snapshot = async (label: string): Promise<Snapshot> => {
      const before = Date.now();
      process.kill(kgPid, 'SIGUSR2');
      let memory: MemoryUsage | null = null;
      await waitFor('kubegate to report its memory', 10_000, async () => {
        const text = await readFile(memoryFile, 'utf8').catch(() => null);
        memory = text === null ? null : (JSON.parse(text) as MemoryUsage);
        return memory !== null && memory.at >= before;
      }).catch(() => (memory = null));
      const s: Snapshot = {
        label,
        rssKiB: await rssKiB(kgPid),
        memory,
        sockets: await sockets(kgPid, apiPort, gwPort),
        apiserverRssKiB: await rssKiB(apiserverPid),
        apiserverInUseKiB: await apiserverInUseKiB(admin),
      };
      report.snapshots.push(s);
      say(
        `${label}: kubegate RSS ${(s.rssKiB / 1024).toFixed(1)} MiB, fds ${s.sockets.fds}, upstream ${s.sockets.toRemote}, clients ${s.sockets.onLocal}`,
      );
      return s;
    };
    /** Seconds until kubegate holds at most `most` connections to the API server (null: > 90 s). */
    const upstreamDrained = async (most: number): Promise<number | null> => {
      const started = performance.now();
      while (performance.now() - started < 90_000) {
        if ((await sockets(kgPid, apiPort, gwPort)).toRemote <= most)
          return (performance.now() - started) / 1000;
        await sleep(250);
      }
      return null;
    };
    const watchPath = async (endpoint: Endpoint): Promise<string> => {
      const s = await session(endpoint);
      const list = await new Promise<string>((resolve, reject) => {
        const stream = s.request(headers(endpoint, `/api/v1/namespaces/${NS}/configmaps?limit=500`), {
          endStream: true,
        });
        let body = '';
        stream.setEncoding('utf8');
        stream.on('data', (c: string) => (body += c));
        stream.on('end', () => resolve(body));
        stream.on('error', reject);
      });
      s.close();
      const rv = (JSON.parse(list) as { metadata: { resourceVersion: string } }).metadata.resourceVersion;
      return `/api/v1/namespaces/${NS}/configmaps?resourceVersion=${rv}&watch=1`;
    };

    // Warm-up: the JIT, the token file, the audit store, a few upstream connections.
    // Warm-up: the JIT, the token file, the audit store, a few upstream connections.
    const warmUp = async (): Promise<void> => {
      say('warming up');
      const s = await session(gateway);
      // kubegate re-reads its token file at most once a second: alice's token may be new to it.
      await waitFor('kubegate to accept alice', 10_000, async () => {
        return (await get(s, gateway, `/api/v1/namespaces/${NS}/configmaps/cm-0`)).status === 200;
      });
      for (let i = 0; i < 50; i++) await get(s, gateway, `/api/v1/namespaces/${NS}/configmaps/cm-0`);
      s.close();
      const warm = await openWatches(gateway, 20, await watchPath(gateway));
      if (warm.failure !== null) throw new Error(`warm-up watch refused: ${warm.failure}`);
      await fanOut(admin, warm, 0);
      closeWatches(warm);
      const drained = await upstreamDrained(2);
      say(
        `warm-up watches' upstream connections closed ${drained === null ? 'not within 90' : drained.toFixed(1)} s after their clients left`,
      );
      await sleep(2_000);
    };
    await warmUp();
    const rest = await snapshot('at rest');

    // 1. N watches through kubegate.
    say(`opening ${WATCHES} watches through kubegate`);
    const cpuBeforeOpen = await cpuTicks(kgPid);
    const viaGateway = await openWatches(gateway, WATCHES, await watchPath(gateway));
    const openCpuMs = cpuMs((await cpuTicks(kgPid)) - cpuBeforeOpen);
    if (viaGateway.failure !== null) say(`refused: ${viaGateway.failure}`);
    await sleep(2_000);
    const open = await snapshot(`${viaGateway.watches.length} watches open`);
    const n = viaGateway.watches.length;
    // 2. Are they live: one update, every watch must see it.
    const cpuBeforeFan = await cpuTicks(kgPid);
    const fan1 = await fanOut(admin, viaGateway, 1);
    const fan2 = await fanOut(admin, viaGateway, 2);
    const fanCpuMs = cpuMs((await cpuTicks(kgPid)) - cpuBeforeFan) / 2;
    const stillOpen = viaGateway.watches.filter((w) => !w.closed).length;
    // 5. Close them all: memory and upstream connections should return to where they were.
    closeWatches(viaGateway);
    const drainedS = await upstreamDrained(rest.sockets.toRemote + 2);
    await sleep(2_000);
    const afterWatches = await snapshot('watches closed');

    // 4. M idle HTTP/2 connections, each authenticated by one GET, on a new kubegate process: the
    // one that held the watches keeps their memory in its allocator (RSS does not shrink), and new
    // connections would reuse it unseen.
    await stopPid(kgPid, null, 5_000);
    await startKubegate();
    await warmUp();
    const idleRest = await snapshot('new kubegate at rest');
    say(`opening ${IDLE} idle HTTP/2 connections`);
    const idleSessions: ClientHttp2Session[] = [];
    let idleClosed = 0;
    const idleRefusal: { first: string | null } = { first: null };
    {
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < IDLE) {
          next++;
          const s = await session(gateway);
          s.once('close', () => idleClosed++);
          idleSessions.push(s);
          const r = await get(s, gateway, `/api/v1/namespaces/${NS}/configmaps/cm-1`);
          if (r.status !== 200) idleRefusal.first ??= `GET answered ${r.status}`;
        }
      };
      await Promise.all(Array.from({ length: 20 }, () => worker()));
    }
    await sleep(1_000);
    const idleOpen = await snapshot(`${IDLE} idle connections`);
    const probe = await session(gateway);
    const probeMs: number[] = [];
    const idleUntil = Date.now() + 10_000;
    while (Date.now() < idleUntil) {
      const r = await get(probe, gateway, `/api/v1/namespaces/${NS}/configmaps/cm-2`);
      if (r.status !== 200) throw new Error(`GET while idle answered ${r.status}`);
      probeMs.push(r.ms);
      await sleep(200);
    }
    probe.close();
    probeMs.sort((a, b) => a - b);
    const idleClosedByGateway = idleClosed;
    for (const s of idleSessions) s.close();
    await sleep(3_000);
    const afterIdle = await snapshot('idle connections closed');

    // 3. Baseline: the same watches straight to the API server.
    let directRow: string[] | null = null;
    if (DIRECT) {
      say(`opening ${WATCHES} watches directly on the API server`);
      const apiBefore = await rssKiB(apiserverPid);
      const apiInUseBefore = await apiserverInUseKiB(admin);
      const apiCpuBefore = await cpuTicks(apiserverPid);
      const straight = await openWatches(direct, WATCHES, await watchPath(direct));
      const apiOpenCpuMs = cpuMs((await cpuTicks(apiserverPid)) - apiCpuBefore);
      if (straight.failure !== null) say(`refused: ${straight.failure}`);
      await sleep(2_000);
      const apiOpen = await rssKiB(apiserverPid);
      const apiInUseOpen = await apiserverInUseKiB(admin);
      const apiFanBefore = await cpuTicks(apiserverPid);
      await fanOut(admin, straight, 3);
      const d = await fanOut(admin, straight, 4);
      const apiFanCpuMs = cpuMs((await cpuTicks(apiserverPid)) - apiFanBefore) / 2;
      closeWatches(straight);
      const m = straight.watches.length;
      directRow = [
        'API server directly',
        String(m),
        (straight.openMs / 1000).toFixed(1),
        `${((apiInUseOpen - apiInUseBefore) / m).toFixed(1)} (API server heap+stacks)`,
        `${d.received}/${m}`,
        d.p50ms.toFixed(0),
        d.p99ms.toFixed(0),
        d.maxMs.toFixed(0),
        `${((apiOpenCpuMs * 1000) / m).toFixed(0)} (API server)`,
        `${apiFanCpuMs.toFixed(0)} (API server)`,
      ];
      report.lines.push(
        `API server with ${m} direct watches: RSS ${mib(apiBefore)} → ${mib(apiOpen)} MiB, Go heap+stacks in use ${mib(apiInUseBefore)} → ${mib(apiInUseOpen)} MiB (${((apiInUseOpen - apiInUseBefore) / m).toFixed(1)} KiB per watch)${straight.failure === null ? '' : `; refused: ${straight.failure}`}`,
      );
    }

    await admin.close();
    const perWatch = (open.rssKiB - rest.rssKiB) / Math.max(1, n);
    report.rows.push([
      'through kubegate',
      String(n),
      (viaGateway.openMs / 1000).toFixed(1),
      perWatch.toFixed(1),
      `${fan1.received}/${n}, ${fan2.received}/${n}`,
      fan2.p50ms.toFixed(0),
      fan2.p99ms.toFixed(0),
      fan2.maxMs.toFixed(0),
      ((openCpuMs * 1000) / Math.max(1, n)).toFixed(0),
      fanCpuMs.toFixed(0),
    ]);
    if (directRow) report.rows.push(directRow);
    const heapPerWatch =
      open.memory && rest.memory
        ? (open.memory.heapUsed - rest.memory.heapUsed) / 1024 / Math.max(1, n)
        : NaN;
    const bufPerWatch =
      open.memory && rest.memory
        ? (open.memory.arrayBuffers - rest.memory.arrayBuffers) / 1024 / Math.max(1, n)
        : NaN;
    report.lines.push(
      `kubegate memory per watch: ${perWatch.toFixed(1)} KiB RSS (target ≤ 20): V8 heap ${heapPerWatch.toFixed(1)} KiB, ArrayBuffers ${bufPerWatch.toFixed(1)} KiB, the rest native (OpenSSL, nghttp2, llhttp, malloc)`,
      `kubegate with ${n} watches: ${open.sockets.fds} fds (at rest ${rest.sockets.fds}), ${open.sockets.toRemote} connections to the API server (at rest ${rest.sockets.toRemote}), ${open.sockets.onLocal} client connections; ${stillOpen}/${n} watches still open after the fan-out${viaGateway.failure === null ? '' : `; refused after ${n}: ${viaGateway.failure}`}`,
      `API server: RSS ${mib(rest.apiserverRssKiB)} MiB at rest, ${mib(open.apiserverRssKiB)} MiB serving kubegate's ${open.sockets.toRemote} upstream watch connections; Go heap+stacks in use ${mib(rest.apiserverInUseKiB)} → ${mib(open.apiserverInUseKiB)} MiB (${((open.apiserverInUseKiB - rest.apiserverInUseKiB) / Math.max(1, n)).toFixed(1)} KiB per watch)`,
      `kubegate's upstream watch connections closed ${drainedS === null ? 'NOT within 90' : drainedS.toFixed(1)} s after their clients left`,
      `after closing the watches: kubegate RSS ${mib(afterWatches.rssKiB)} MiB (at rest ${mib(rest.rssKiB)}, open ${mib(open.rssKiB)}), V8 heap used ${mibB(afterWatches.memory?.heapUsed)} MiB (at rest ${mibB(rest.memory?.heapUsed)}), ${afterWatches.sockets.toRemote} upstream connections, ${afterWatches.sockets.fds} fds`,
      `${IDLE} idle HTTP/2 connections: ${((idleOpen.rssKiB - idleRest.rssKiB) / IDLE).toFixed(1)} KiB RSS each (V8 heap ${(((idleOpen.memory?.heapUsed ?? NaN) - (idleRest.memory?.heapUsed ?? NaN)) / 1024 / IDLE).toFixed(1)} KiB); ${idleOpen.sockets.onLocal} client connections seen by kubegate; closed by kubegate within 10 s idle: ${idleClosedByGateway}${idleRefusal.first === null ? '' : `; ${idleRefusal.first}`}; a GET meanwhile: p50 ${percentile(probeMs, 50).toFixed(2)} ms, max ${(probeMs.at(-1) ?? NaN).toFixed(2)} ms (${probeMs.length} GETs)`,
      `after closing them: kubegate RSS ${mib(afterIdle.rssKiB)} MiB, ${afterIdle.sockets.onLocal} client connections, ${afterIdle.sockets.fds} fds`,
    );
    print(report);
  } finally {
    for (const child of children) {
      if (child.pid !== undefined && child.exitCode === null) await stopPid(child.pid, null, 5_000);
    }
    if (tb) await stopControlPlane(tb.dir);
  }
}

const mib = (kib: number): string => (kib / 1024).toFixed(1);
const mibB = (bytes: number | undefined): string =>
  bytes === undefined ? '?' : (bytes / 2 ** 20).toFixed(1);

function print(report: Report): void {
  const date = new Date().toISOString().slice(0, 10);
  console.log(
    `\n# bench/watch — ${date}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}; ${STREAMS_PER_SESSION} watches per HTTP/2 connection\n`,
  );
  console.log(
    '| phase | kubegate RSS MiB | V8 heap used MiB | external MiB | fds | upstream conns | client conns | API server RSS MiB | API server Go in use MiB |',
  );
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const s of report.snapshots) {
    console.log(
      `| ${s.label} | ${mib(s.rssKiB)} | ${mibB(s.memory?.heapUsed)} | ${mibB(s.memory?.external)} | ${s.sockets.fds} | ${s.sockets.toRemote} | ${s.sockets.onLocal} | ${mib(s.apiserverRssKiB)} | ${mib(s.apiserverInUseKiB)} |`,
    );
  }
  console.log(
    '\n| watches | opened | open s | KiB RSS per watch | saw the update | fan-out p50 ms | p99 ms | max ms | CPU µs per open | CPU ms per fan-out |',
  );
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const row of report.rows) console.log(`| ${row.join(' | ')} |`);
  console.log('');
  for (const line of report.lines) console.log(`- ${line}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
