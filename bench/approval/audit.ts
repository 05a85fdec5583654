// Audit trail benchmark: what durable audit costs the request path. Prints a table of
//   - batched events (appendLater, as reads use it): records/s sustained;
//   - durable appends (append, as mutations and approval events use it): the time from append()
//     to its promise resolving (queued → committed with synchronous=FULL → resolved), p50/p99 µs,
//     for one appender in a loop, for 32 concurrent appenders (group commit shares one fsync), and
//     for one appender while batched events stream in beside it at 2,000 and 10,000 per second.
// Run: npx tsx bench/approval/audit.ts   (KUBEGATE_BENCH_DIR=<dir> puts the file elsewhere; the
// disk under it decides the fsync cost, so say which one when quoting figures.)
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { SqliteAuditTrail } from '../../src/store/sqlite/audit-trail.js';
import { durable, event, quantile } from './measure.js';

const LATER_RECORDS = 200_000;
const LATER_PER_TURN = 200; // about what a busy gateway's event loop turn would produce
const SINGLE_APPENDS = 3_000;
const CONCURRENT = 32;
const APPENDS_PER_WORKER = 300;
const WARMUP = 200;

interface Row {
  readonly scenario: string;
  readonly records: number;
  readonly seconds: number;
  readonly p50: number | null;
  readonly p99: number | null;
  readonly perCommit: number;
}

async function withTrail<T>(
  dir: string,
  name: string,
  run: (trail: SqliteAuditTrail) => Promise<T>,
): Promise<T> {
  const trail = await SqliteAuditTrail.open(join(dir, `${name}.db`));
  try {
    return await run(trail);
  } finally {
    await trail.close();
  }
}

async function durableRow(dir: string, scenario: string, workers: number, perWorker: number): Promise<Row> {
  return withTrail(dir, scenario.replace(/\W+/g, '-'), async (trail) => {
    await durable(trail, 1, WARMUP);
    const before = trail.stats;
    const t0 = performance.now();
    const samples = await durable(trail, workers, perWorker);
    const seconds = (performance.now() - t0) / 1000;
    const after = trail.stats;
    return {
      scenario,
      records: samples.length,
      seconds,
      p50: quantile(samples, 0.5),
      p99: quantile(samples, 0.99),
      perCommit: (after.records - before.records) / (after.commits - before.commits),
    };
  });
}

async function laterRow(dir: string): Promise<Row> {
  return withTrail(dir, 'later', async (trail) => {
    const t0 = performance.now();
    for (let sent = 0; sent < LATER_RECORDS; sent += LATER_PER_TURN) {
      for (let i = 0; i < LATER_PER_TURN; i++) trail.appendLater(event('forwarded', 'list'));
      await nextTurn();
    }
    // close() writes what is still queued: the clock stops when every record is on disk.
    const stats = trail.stats;
    await trail.close();
    const seconds = (performance.now() - t0) / 1000;
    return {
      scenario: 'appendLater (batched, reads)',
      records: LATER_RECORDS,
      seconds,
      p50: null,
      p99: null,
      perCommit: LATER_RECORDS / (stats.commits + 1),
    };
  });
}

/**
 * One durable appender while batched events arrive beside it at a fixed rate (each event-loop
 * turn sends what the rate owes since the start, so a slow loop does not lighten the load).
 */
async function mixedRow(dir: string, laterPerSecond: number): Promise<Row> {
  return withTrail(dir, 'mixed', async (trail) => {
    let stop = false;
    const background = (async () => {
      const start = performance.now();
      let sent = 0;
      while (!stop) {
        const owed = Math.floor(((performance.now() - start) / 1000) * laterPerSecond);
        for (; sent < owed; sent++) trail.appendLater(event('forwarded', 'list'));
        await nextTurn();
      }
    })();
    await durable(trail, 1, WARMUP);
    const before = trail.stats;
    const t0 = performance.now();
    const samples = await durable(trail, 1, SINGLE_APPENDS);
    const seconds = (performance.now() - t0) / 1000;
    const after = trail.stats;
    stop = true;
    await background;
    return {
      scenario: `append, 1 appender, appendLater ${laterPerSecond.toLocaleString('en-US')}/s beside it`,
      records: samples.length,
      seconds,
      p50: quantile(samples, 0.5),
      p99: quantile(samples, 0.99),
      perCommit: (after.records - before.records) / (after.commits - before.commits),
    };
  });
}

const dir = await mkdtemp(join(process.env.KUBEGATE_BENCH_DIR ?? tmpdir(), 'kubegate-bench-audit-'));
const rows: Row[] = [];
try {
  rows.push(await laterRow(dir));
  rows.push(await durableRow(dir, 'append, 1 appender', 1, SINGLE_APPENDS));
  rows.push(
    await durableRow(dir, `append, ${CONCURRENT} concurrent appenders`, CONCURRENT, APPENDS_PER_WORKER),
  );
  rows.push(await mixedRow(dir, 2_000));
  rows.push(await mixedRow(dir, 10_000));
} finally {
  await rm(dir, { recursive: true, force: true });
}

const fmt = (v: number | null): string => (v === null ? '–' : v.toFixed(0));
console.log(`node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, file under ${dir}`);
console.log('SQLite WAL, synchronous=FULL; latency = append() called → promise resolved');
console.log('');
console.log(
  '| scenario                                                 | records | records/s | p50 µs | p99 µs | records/commit |',
);
console.log(
  '|:---------------------------------------------------------|--------:|----------:|-------:|-------:|---------------:|',
);
for (const r of rows) {
  console.log(
    `| ${r.scenario.padEnd(56)} | ${r.records.toLocaleString('en-US').padStart(7)} | ${Math.round(
      r.records / r.seconds,
    )
      .toLocaleString('en-US')
      .padStart(
        9,
      )} | ${fmt(r.p50).padStart(6)} | ${fmt(r.p99).padStart(6)} | ${r.perCommit.toFixed(1).padStart(14)} |`,
  );
}
