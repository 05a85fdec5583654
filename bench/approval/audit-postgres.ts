// PostgreSQL audit trail benchmark: what durable audit costs on the PostgreSQL store, next to the
// SQLite one, and whether one chain holds when several replicas append to it at once. Prints
//   - durable appends (append: queued → committed with synchronous_commit on → resolved), p50/p99
//     µs, for one appender in a loop and for 32 concurrent appenders (group commit), SQLite
//     (SqliteAuditTrail, a temporary file, synchronous=FULL) and PostgreSQL side by side;
//   - three replicas (child processes, each with its own pool and PostgresAuditTrail on the same
//     database) each running 32 concurrent durable appenders and a batched stream for SECONDS:
//     records/s over all three, and the durable p50/p99 under that load;
// then checks the chain the replicas wrote: seqs 1..N without a gap, and verify() passes. Exits
// non-zero when it does not.
// Run: npx tsx bench/approval/audit-postgres.ts   (PostgreSQL from test-server.ts: a private
// server on loopback, so the figures are the database's own work without a network between.)
// A replica: <node> --import tsx bench/approval/audit-postgres.ts --replica URL SECONDS; it prints
// "ready" once connected, starts on a line on stdin, and prints its results as one JSON line.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { AuditTrail } from '../../src/audit/event.js';
import { PostgresAuditTrail } from '../../src/store/postgres/audit-trail.js';
import { postgresAuditReader } from '../../src/store/postgres/audit-reader.js';
import { openPool } from '../../src/store/postgres/database.js';
import { migrate } from '../../src/store/postgres/migrate.js';
import { startTestPostgres } from '../../src/store/postgres/test-server.js';
import { SqliteAuditTrail } from '../../src/store/sqlite/audit-trail.js';
import { durable, durableFor, event, quantile } from './measure.js';

const SINGLE_APPENDS = 1_000;
const CONCURRENT = 32;
const APPENDS_PER_WORKER = 200;
const WARMUP = 100;
const REPLICAS = 3;
const REPLICA_SECONDS = 10;
/** Batched events per second from each replica beside its durable appenders (reads, in a gateway). */
const LATER_PER_SECOND = 200;
/** Connections per replica: the trail writes one batch at a time, so two are plenty. */
const POOL_MAX = 4;

interface Latency {
  readonly p50: number;
  readonly p99: number;
  readonly perSecond: number;
  readonly perCommit: number;
}

interface ReplicaResult {
  readonly durable: number[];
  readonly later: number;
  readonly seconds: number;
  readonly records: number;
  readonly commits: number;
  readonly lost: number;
}

type MeasuredTrail = AuditTrail & { readonly stats: { readonly commits: number; readonly records: number } };

async function latency(trail: MeasuredTrail, workers: number, perWorker: number): Promise<Latency> {
  await durable(trail, 1, WARMUP);
  const before = trail.stats;
  const t0 = performance.now();
  const samples = await durable(trail, workers, perWorker);
  const seconds = (performance.now() - t0) / 1000;
  const after = trail.stats;
  return {
    p50: quantile(samples, 0.5),
    p99: quantile(samples, 0.99),
    perSecond: samples.length / seconds,
    perCommit: (after.records - before.records) / (after.commits - before.commits),
  };
}

/** One replica: its own pool and trail on `url`, load for `seconds` once told to start. */
async function replica(url: string, seconds: number): Promise<void> {
  const pool = openPool(url, POOL_MAX);
  let lost = 0;
  const trail = new PostgresAuditTrail(pool, {
    onError: (err, count) => {
      lost += count;
      console.error(`replica ${process.pid}: ${count} batched events lost: ${err.message}`);
    },
  });
  await durable(trail, 1, 20); // connections open, statements planned
  const lines = createInterface({ input: process.stdin });
  const go = once(lines, 'line');
  console.log('ready');
  await go;
  lines.close();
  const t0 = performance.now();
  let stop = false;
  let later = 0;
  // A fixed rate: each event-loop turn sends what the rate owes since the start.
  const background = (async () => {
    while (!stop) {
      const owed = Math.floor(((performance.now() - t0) / 1000) * LATER_PER_SECOND);
      for (; later < owed; later++) trail.appendLater(event('forwarded', 'list'));
      await nextTurn();
    }
  })();
  const samples = await durableFor(trail, CONCURRENT, seconds * 1000);
  stop = true;
  await background;
  await trail.close(); // what is still queued is written: the clock stops when all is committed
  const result: ReplicaResult = {
    durable: Array.from(samples, Math.round),
    later,
    seconds: (performance.now() - t0) / 1000,
    records: trail.stats.records,
    commits: trail.stats.commits,
    lost,
  };
  await pool.end();
  console.log(JSON.stringify(result));
}

function startReplica(url: string): { ready: Promise<void>; go: () => void; result: Promise<ReplicaResult> } {
  const self = fileURLToPath(import.meta.url);
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', self, '--replica', url, String(REPLICA_SECONDS)],
    {
      cwd: join(dirname(self), '..', '..'),
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  const lines = createInterface({ input: child.stdout });
  const iterator = lines[Symbol.asyncIterator]();
  const next = async (what: string): Promise<string> => {
    const line = await iterator.next();
    if (line.done === true) throw new Error(`replica ${child.pid} ended before ${what}`);
    return line.value;
  };
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    ready: next('ready').then((line) => {
      if (line !== 'ready') throw new Error(`replica ${child.pid}: ${line}`);
    }),
    go: () => child.stdin.end('go\n'),
    result: (async () => {
      const line = await next('its result');
      const code = await exited;
      if (code !== 0) throw new Error(`replica ${child.pid} exited with ${code}`);
      return JSON.parse(line) as ReplicaResult;
    })(),
  };
}

const started = performance.now();
/** Progress on stderr, so a slow machine shows where the time goes. */
const progress = (what: string): void => {
  console.error(`[${((performance.now() - started) / 1000).toFixed(1)} s] ${what}`);
};

async function main(): Promise<number> {
  const dir = await mkdtemp(join(process.env.KUBEGATE_BENCH_DIR ?? tmpdir(), 'kubegate-bench-audit-pg-'));
  const server = await startTestPostgres();
  try {
    // 1. One process: SQLite and PostgreSQL, the same appends.
    const sqlite: Latency[] = [];
    for (const [name, workers, perWorker] of [
      ['single', 1, SINGLE_APPENDS],
      ['concurrent', CONCURRENT, APPENDS_PER_WORKER],
    ] as const) {
      progress(`SQLite, ${workers} appender(s)`);
      const trail = await SqliteAuditTrail.open(join(dir, `${name}.db`));
      try {
        sqlite.push(await latency(trail, workers, perWorker));
      } finally {
        await trail.close();
      }
    }
    const postgres: Latency[] = [];
    let version = '';
    for (const [workers, perWorker] of [
      [1, SINGLE_APPENDS],
      [CONCURRENT, APPENDS_PER_WORKER],
    ] as const) {
      progress(`PostgreSQL, ${workers} appender(s)`);
      const pool = openPool(await server.createDatabase(), POOL_MAX);
      try {
        await migrate(pool);
        version = (await pool.query<{ version: string }>('SELECT version()')).rows[0]?.version ?? '';
        const trail = new PostgresAuditTrail(pool);
        postgres.push(await latency(trail, workers, perWorker));
        await trail.close();
      } finally {
        await pool.end();
      }
    }

    // 2. Several replicas on one database.
    const url = await server.createDatabase();
    const pool = openPool(url, 2);
    try {
      await migrate(pool);
      progress(`${REPLICAS} replicas starting`);
      const replicas = Array.from({ length: REPLICAS }, () => startReplica(url));
      await Promise.all(replicas.map((r) => r.ready));
      const load = loadavg()[0] ?? 0;
      progress(`${REPLICAS} replicas running`);
      for (const r of replicas) r.go();
      const results = await Promise.all(replicas.map((r) => r.result));
      const seconds = Math.max(...results.map((r) => r.seconds));
      const samples = Float64Array.from(results.flatMap((r) => r.durable)).sort();
      const written = results.reduce((n, r) => n + r.records, 0);
      const commits = results.reduce((n, r) => n + r.commits, 0);
      const later = results.reduce((n, r) => n + r.later, 0);
      const lost = results.reduce((n, r) => n + r.lost, 0);

      const fmt = (v: number): string => Math.round(v).toLocaleString('en-US');
      const cpu = cpus();
      console.log(`machine: ${cpu.length} × ${cpu[0]?.model ?? 'cpu'}, load average ${load.toFixed(1)}`);
      console.log(`node ${process.version}; ${version}`);
      console.log(
        'latency = append() called → promise resolved; SQLite WAL synchronous=FULL (temp file), PostgreSQL synchronous_commit=on (loopback)',
      );
      console.log('');
      console.log(
        '| scenario | SQLite p50 µs | SQLite p99 µs | SQLite records/s | PostgreSQL p50 µs | PostgreSQL p99 µs | PostgreSQL records/s |',
      );
      console.log('|:--|--:|--:|--:|--:|--:|--:|');
      const names = ['durable append, 1 appender', `durable append, ${CONCURRENT} concurrent appenders`];
      names.forEach((name, i) => {
        const s = sqlite[i];
        const p = postgres[i];
        if (s === undefined || p === undefined) return;
        console.log(
          `| ${name} | ${fmt(s.p50)} | ${fmt(s.p99)} | ${fmt(s.perSecond)} | ${fmt(p.p50)} | ${fmt(p.p99)} | ${fmt(p.perSecond)} |`,
        );
      });
      console.log(
        `| ${REPLICAS} replicas, each ${CONCURRENT} durable appenders + ${fmt(LATER_PER_SECOND)}/s batched, ${REPLICA_SECONDS} s: all records | – | – | – | – | – | ${fmt(written / seconds)} |`,
      );
      console.log(
        `| … of which durable appends (latency under that load) | – | – | – | ${fmt(quantile(samples, 0.5))} | ${fmt(quantile(samples, 0.99))} | ${fmt(samples.length / seconds)} |`,
      );
      console.log('');
      console.log(
        `records per commit: SQLite ${sqlite.map((s) => s.perCommit.toFixed(1)).join(' / ')}, PostgreSQL ${postgres
          .map((p) => p.perCommit.toFixed(1))
          .join(
            ' / ',
          )} (1 / ${CONCURRENT} appenders); ${REPLICAS} replicas ${(written / commits).toFixed(1)}`,
      );
      console.log(
        `${REPLICAS} replicas: ${fmt(written)} records (${fmt(samples.length)} durable, ${fmt(later)} batched, ${fmt(written - samples.length - later)} warm-up) in ${seconds.toFixed(1)} s`,
      );

      // The chain the replicas wrote together: one record per append, no gap, and it verifies.
      if (lost > 0) {
        console.error(`chain NOT verified: ${lost} batched events were lost`);
        return 1;
      }
      progress('checking the chain');
      const seqs = (await pool.query<{ seq: number }>('SELECT seq FROM audit_events ORDER BY seq')).rows;
      const gap = seqs.findIndex((row, i) => row.seq !== i + 1);
      if (gap !== -1 || seqs.length !== written) {
        console.error(
          `chain NOT verified: ${seqs.length} rows for ${written} records written` +
            (gap === -1 ? '' : `, seq ${seqs[gap]?.seq} at position ${gap + 1}`),
        );
        return 1;
      }
      const report = await postgresAuditReader(pool, { verify: 'inline' }).verify();
      if (!report.ok) {
        console.error(`chain NOT verified: ${JSON.stringify(report)}`);
        return 1;
      }
      console.log(`chain verified: ${fmt(report.count)} records`);
      return 0;
    } finally {
      await pool.end();
    }
  } finally {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

const replicaAt = process.argv.indexOf('--replica');
if (replicaAt === -1) {
  process.exitCode = await main();
} else {
  await replica(process.argv[replicaAt + 1] ?? '', Number(process.argv[replicaAt + 2] ?? REPLICA_SECONDS));
}
