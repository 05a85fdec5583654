// `kubegate audit query|verify|export|head`, run as the real CLI (node --import tsx
// src/cli/main.ts) against a trail in a temporary data dir; the trail is then tampered with
// through SQL and verify must exit 1 pointing at the changed record (with --against, also at a
// cut the head row was rewritten to hide). The printed text is the product, so it is
// asserted.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { appendFile, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import Database from '../store/sqlite/driver.js';
import { pino } from 'pino';
import { auditEvent } from '../audit/event.js';
import type { AuditEvent } from '../audit/event.js';
import type { AuditRequestSummary } from '../audit/record.js';
import { HEAD_LOG_FIELD, HEAD_LOG_MESSAGE } from '../audit/head.js';
import { startHeadPublisher } from '../audit/head-publisher.js';
import { openSqliteAuditReader } from '../store/sqlite/audit-reader.js';
import { SqliteAuditTrail } from '../store/sqlite/audit-trail.js';
import { parseSince } from './audit.js';

const MAIN = new URL('./main.ts', import.meta.url).pathname;
let root: string;
let n = 0;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'kubegate-cli-audit-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

async function kubegate(...args: string[]): Promise<Run> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [
      '--import',
      'tsx',
      MAIN,
      ...args,
    ]);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const failed = err as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

const t0 = Date.UTC(2026, 0, 1, 9, 0);
const at = (minute: number): Date => new Date(t0 + minute * 60_000);

function request(verb: string, resource: string, namespace: string, name: string): AuditRequestSummary {
  return {
    method: 'DELETE',
    target: `/apis/apps/v1/namespaces/${namespace}/${resource}/${name}`,
    verb,
    apiGroup: 'apps',
    apiVersion: 'v1',
    resource,
    subresource: null,
    namespace,
    name,
    labelSelector: null,
    fieldSelector: null,
    upgrade: null,
    bodyDigest: null,
    kubectlCommand: null,
  };
}

const deleteProd = request('delete', 'deployments', 'prod', 'web');
const patchSts = request('patch', 'statefulsets', 'db', 'pg');

const EVENTS: readonly AuditEvent[] = [
  auditEvent('decided', at(0), {
    requestId: 'r1',
    user: 'alice',
    request: deleteProd,
    decision: 'deny',
    rules: ['never-delete-prod'],
  }),
  auditEvent('refused', at(0), {
    requestId: 'r1',
    user: 'alice',
    request: deleteProd,
    decision: 'deny',
    rules: ['never-delete-prod'],
    status: 403,
    errorCode: 'KG_POLICY_DENIED',
  }),
  auditEvent('decided', at(1), {
    requestId: 'r2',
    user: 'bob',
    request: patchSts,
    decision: 'approve',
    rules: ['statefulsets-need-two'],
  }),
  auditEvent('reviewed', at(2), {
    requestId: 'r2',
    pendingId: 'p1',
    user: 'bob',
    actor: 'carol',
    decision: 'allow',
  }),
  auditEvent('forwarded', at(3), {
    requestId: 'r2',
    user: 'bob',
    request: patchSts,
    decision: 'approve',
    rules: ['statefulsets-need-two'],
    status: 200,
    latencyMs: 12,
  }),
  auditEvent('decided', at(4), {
    requestId: 'r3',
    user: 'alice',
    request: patchSts,
    decision: 'approve',
    rules: ['statefulsets-need-two'],
  }),
];

/** A trail of EVENTS (seq 1–6) at `file`. */
async function trailAt(file: string): Promise<void> {
  const trail = await SqliteAuditTrail.open(file);
  for (const e of EVENTS) await trail.append(e);
  await trail.close();
}

/** A data dir holding a trail of EVENTS (seq 1–6). */
async function dataDir(): Promise<string> {
  const dir = join(root, `d${++n}`);
  await trailAt(join(dir, 'audit.db'));
  return dir;
}

/**
 * A gateway's config file whose audit.file is outside its dataDir (neither default), the trail
 * of EVENTS there, and an empty data dir.
 */
async function configured(): Promise<{ config: string; auditFile: string; dataDir: string }> {
  const dir = join(root, `c${++n}`);
  const auditFile = join(dir, 'trail', 'kept-here.db');
  await trailAt(auditFile);
  const config = join(dir, 'kubegate.yaml');
  await writeFile(config, 'dataDir: state\nupstream: {inCluster: true}\naudit: {file: trail/kept-here.db}\n');
  return { config, auditFile, dataDir: join(dir, 'state') };
}

function tamper(dir: string, sql: string): void {
  const db = new Database(join(dir, 'audit.db'));
  db.exec(sql);
  db.close();
}

test('audit query prints a table of the matching events, oldest first', async () => {
  const dir = await dataDir();
  const run = await kubegate('audit', 'query', '--data-dir', dir, '--user', 'bob');
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(run.stdout.split('\n'), [
    'TIME                       KIND        USER             VERB    RESOURCE       NAMESPACE/NAME   DECISION   STATUS   RULES',
    '2026-01-01T09:01:00.000Z   decided     bob              patch   statefulsets   db/pg            approve    -        statefulsets-need-two',
    '2026-01-01T09:02:00.000Z   reviewed    bob (by carol)   -       -              -                allow      -        -',
    '2026-01-01T09:03:00.000Z   forwarded   bob              patch   statefulsets   db/pg            approve    200      statefulsets-need-two',
    '',
  ]);
});

test('audit query filters by verb, namespace, resource, decision and time range', async () => {
  const dir = await dataDir();
  const cases: readonly [string[], string[]][] = [
    [
      ['--verb', 'delete'],
      ['r1', 'r1'],
    ],
    [
      ['--namespace', 'db', '--kind', 'decided'],
      ['r2', 'r3'],
    ],
    [
      ['--resource', 'deployments'],
      ['r1', 'r1'],
    ],
    [['--decision', 'deny', '--kind', 'refused'], ['r1']],
    [
      ['--since', at(1).toISOString(), '--until', at(3).toISOString()],
      ['r2', 'r2'],
    ],
    [
      ['--limit', '2'],
      ['r2', 'r3'],
    ],
  ];
  for (const [flags, want] of cases) {
    const run = await kubegate('audit', 'query', '--data-dir', dir, '--json', ...flags);
    assert.equal(run.code, 0, run.stderr);
    const got = run.stdout
      .trim()
      .split('\n')
      .map((line) => (JSON.parse(line) as { event: AuditEvent }).event.requestId);
    assert.deepEqual(got, want, flags.join(' '));
  }
});

test('audit query --json prints one stored record per line', async () => {
  const dir = await dataDir();
  const run = await kubegate('audit', 'query', '--data-dir', dir, '--json', '--kind', 'reviewed');
  const record = JSON.parse(run.stdout) as Record<string, unknown>;
  assert.deepEqual(Object.keys(record), ['seq', 'prevHash', 'hash', 'event']);
  assert.equal(record.seq, 4);
  assert.deepEqual(record.event, EVENTS[3]);
});

test('audit query says so when nothing matches', async () => {
  const run = await kubegate('audit', 'query', '--data-dir', await dataDir(), '--user', 'nobody');
  assert.deepEqual([run.code, run.stdout], [0, 'no audit events match\n']);
});

test('audit query refuses a --since that is neither a time nor a duration', async () => {
  const run = await kubegate('audit', 'query', '--data-dir', await dataDir(), '--since', 'yesterday');
  assert.equal(run.code, 1);
  assert.match(run.stderr, /--since/);
});

test('--since takes durations back from now and ISO times with a zone', () => {
  const now = Date.UTC(2026, 0, 2);
  assert.equal(parseSince('1h30m', now).toISOString(), '2026-01-01T22:30:00.000Z');
  assert.equal(parseSince('7d', now).toISOString(), '2025-12-26T00:00:00.000Z');
  assert.equal(parseSince('2026-01-01T10:00:00+02:00', now).toISOString(), '2026-01-01T08:00:00.000Z');
  assert.throws(() => parseSince('2026-01-01T10:00:00', now), { code: 'commander.invalidArgument' });
});

test('audit verify passes on an untouched trail and prints the last hash', async () => {
  const dir = await dataDir();
  const head = new Database(join(dir, 'audit.db'), { readonly: true })
    .prepare<[], { hash: string }>('SELECT hash FROM audit_events WHERE seq = 6')
    .get();
  const run = await kubegate('audit', 'verify', '--data-dir', dir);
  assert.deepEqual([run.code, run.stdout], [0, `audit chain verified: 6 records, last hash ${head?.hash}\n`]);
});

const tampering: readonly { name: string; sql: string; want: string }[] = [
  {
    name: 'audit verify exits 1 at the record whose text was edited',
    sql: `UPDATE audit_events SET event = replace(event, '"deny"', '"allow"') WHERE seq = 2`,
    want: 'audit chain broken at seq 2 (2026-01-01T09:00:00.000Z): edited: its content does not match its hash\n1 record before it verified\n',
  },
  {
    name: 'audit verify exits 1 at the gap a deleted record leaves',
    sql: 'DELETE FROM audit_events WHERE seq = 3',
    want: 'audit chain broken at seq 4 (2026-01-01T09:02:00.000Z): deleted: seq 3 before it is missing\n2 records before it verified\n',
  },
  {
    name: 'audit verify exits 1 naming reordering when two rows swap contents',
    sql: `CREATE TEMP TABLE keep AS SELECT * FROM audit_events WHERE seq IN (2, 5);
          UPDATE audit_events SET (time, kind, request_id, pending_id, user, actor, verb, namespace, resource, decision, event, prev_hash, hash)
            = (SELECT time, kind, request_id, pending_id, user, actor, verb, namespace, resource, decision, event, prev_hash, hash
               FROM keep WHERE keep.seq = 7 - audit_events.seq)
          WHERE seq IN (2, 5);`,
    want: 'audit chain broken at seq 2 (2026-01-01T09:03:00.000Z): reordered: it was written as seq 5\n1 record before it verified\n',
  },
  {
    name: 'audit verify exits 1 when a column was changed behind the hash',
    sql: `UPDATE audit_events SET user = 'mallory' WHERE seq = 3`,
    want: 'audit chain broken at seq 3 (2026-01-01T09:01:00.000Z): edited: its user column says "mallory" but the hashed record says "bob"\n2 records before it verified\n',
  },
  {
    name: 'audit verify exits 1 when the last records were cut off',
    sql: 'DELETE FROM audit_events WHERE seq >= 5',
    want: 'audit chain broken at seq 5: deleted: seqs 5–6 at the end are missing\n4 records before it verified\n',
  },
];

for (const row of tampering) {
  test(row.name, async () => {
    const dir = await dataDir();
    tamper(dir, row.sql);
    const run = await kubegate('audit', 'verify', '--data-dir', dir);
    assert.deepEqual([run.code, run.stdout, run.stderr], [1, '', row.want]);
  });
}

test('audit verify exits 1 when there is no trail', async () => {
  const run = await kubegate('audit', 'verify', '--data-dir', join(root, 'none'));
  assert.equal(run.code, 1);
  assert.match(run.stderr, /no audit trail at/);
});

test('audit export --format jsonl --out writes every record in seq order, for its owner only', async () => {
  const dir = await dataDir();
  const out = join(dir, 'export.jsonl');
  const run = await kubegate('audit', 'export', '--format', 'jsonl', '--data-dir', dir, '--out', out);
  assert.deepEqual([run.code, run.stdout, run.stderr], [0, '', `exported 6 records to ${out}\n`]);
  const lines = (await readFile(out, 'utf8')).trim().split('\n');
  assert.deepEqual(
    lines.map((l) => (JSON.parse(l) as { seq: number }).seq),
    [1, 2, 3, 4, 5, 6],
  );
  assert.deepEqual((JSON.parse(lines[3] ?? '') as { event: unknown }).event, EVENTS[3]);
  assert.equal((await stat(out)).mode & 0o777, 0o600);
});

test('audit export writes to stdout without --out', async () => {
  const run = await kubegate('audit', 'export', '--format', 'jsonl', '--data-dir', await dataDir());
  assert.equal(run.code, 0);
  assert.equal(run.stdout.trim().split('\n').length, 6);
});

test('audit export refuses a format other than jsonl', async () => {
  const run = await kubegate('audit', 'export', '--format', 'csv', '--data-dir', await dataDir());
  assert.equal(run.code, 1);
  assert.match(run.stderr, /Allowed choices are jsonl/);
});

test('with --config, query, verify and export read the trail at audit.file, not <dataDir>/audit.db', async () => {
  const { config } = await configured();
  const query = await kubegate('audit', 'query', '--config', config, '--json');
  assert.equal(query.code, 0, query.stderr);
  assert.equal(query.stdout.trim().split('\n').length, 6);
  const verify = await kubegate('audit', 'verify', '--config', config);
  assert.equal(verify.code, 0, verify.stderr);
  assert.match(verify.stdout, /^audit chain verified: 6 records/u);
  const exported = await kubegate('audit', 'export', '--format', 'jsonl', '--config', config);
  assert.equal(exported.code, 0, exported.stderr);
  assert.equal(exported.stdout.trim().split('\n').length, 6);
});

test('--data-dir beside --config overrides dataDir only: audit.file still names the trail', async () => {
  const { config } = await configured();
  const run = await kubegate('audit', 'verify', '--config', config, '--data-dir', join(root, 'elsewhere'));
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /^audit chain verified: 6 records/u);
});

test('with --config and no audit.file, the trail is <dataDir>/audit.db of the config', async () => {
  const dir = await dataDir();
  const config = join(dir, 'kubegate.yaml');
  await writeFile(config, 'dataDir: .\nupstream: {inCluster: true}\n');
  const run = await kubegate('audit', 'query', '--config', config, '--json', '--kind', 'reviewed');
  assert.equal(run.code, 0, run.stderr);
  assert.equal((JSON.parse(run.stdout) as { seq: number }).seq, 4);
});

test('a config kubegate cannot read stops the command with its issues', async () => {
  const config = join(root, `bad-${++n}.yaml`);
  await writeFile(config, 'upstream: {inCluster: true}\nstore: {type: mysql}\n');
  const run = await kubegate('audit', 'verify', '--config', config);
  assert.equal(run.code, 1);
  assert.match(run.stderr, /store\.type: expected type sqlite or postgres/u);
});

// The chain's head saved outside the database, and `verify --against` checking it. Someone with
// write access to audit.db cuts the last records and rewrites the head row to match, as here:
// plain verify cannot see it, a head saved before the cut can.
const CUT_AND_HIDE = `DELETE FROM audit_events WHERE seq >= 5;
  UPDATE audit_head SET (seq, hash) = (SELECT seq, hash FROM audit_events WHERE seq = 4)`;

/** `kubegate audit head` of `dir`, saved (appended) to `file` as an operator's cron job would. */
async function saveHead(dir: string, file: string): Promise<{ seq: number; hash: string; time: string }> {
  const run = await kubegate('audit', 'head', '--data-dir', dir);
  assert.equal(run.code, 0, run.stderr);
  await appendFile(file, run.stdout);
  return JSON.parse(run.stdout) as { seq: number; hash: string; time: string };
}

async function appendEvents(dir: string, count: number): Promise<void> {
  const trail = await SqliteAuditTrail.open(join(dir, 'audit.db'));
  for (let i = 0; i < count; i++)
    await trail.append(auditEvent('decided', at(10 + i), { requestId: `r${10 + i}` }));
  await trail.close();
}

test('audit head prints the chain head as one JSON line to save', async () => {
  const dir = await dataDir();
  const hash = new Database(join(dir, 'audit.db'), { readonly: true })
    .prepare<[], { hash: string }>('SELECT hash FROM audit_events WHERE seq = 6')
    .get()?.hash;
  const before = Date.now();
  const run = await kubegate('audit', 'head', '--data-dir', dir);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stdout.split('\n').length, 2, 'one line');
  const head = JSON.parse(run.stdout) as Record<string, unknown>;
  assert.deepEqual(
    { ...head, time: undefined },
    {
      format: 'kubegate.audit.head.v1',
      seq: 6,
      count: 6,
      hash,
      time: undefined,
    },
  );
  assert.ok(Date.parse(String(head.time)) >= before - 1000, `time ${String(head.time)} is when it was read`);
});

test('audit head of an empty trail says there is nothing to save yet', async () => {
  const dir = join(root, `e${++n}`);
  await SqliteAuditTrail.open(join(dir, 'audit.db')).then((trail) => trail.close());
  const run = await kubegate('audit', 'head', '--data-dir', dir);
  assert.deepEqual(
    [run.code, run.stdout, run.stderr],
    [1, '', 'the audit trail is empty: there is no head to save yet\n'],
  );
});

test('a cut tail with its head row rewritten verifies alone, and audit verify --against a saved head exits 1', async () => {
  const dir = await dataDir();
  const heads = join(dir, 'heads.jsonl');
  const saved = await saveHead(dir, heads);
  tamper(dir, CUT_AND_HIDE);
  const alone = await kubegate('audit', 'verify', '--data-dir', dir);
  assert.equal(alone.code, 0, 'without an outside anchor the cut is invisible');
  assert.match(alone.stdout, /^audit chain verified: 4 records/u);
  const run = await kubegate('audit', 'verify', '--data-dir', dir, '--against', heads);
  assert.deepEqual(
    [run.code, run.stdout, run.stderr],
    [
      1,
      '',
      `audit chain broken at seq 5: deleted: seqs 5–6 at the end are missing: the head saved at ${saved.time} names seq 6, so records were cut from the end and the recorded head rewritten to match\n4 records before it verified\n`,
    ],
  );
});

test('audit verify --against exits 1 when the saved seq now holds another record', async () => {
  const dir = await dataDir();
  const heads = join(dir, 'heads.jsonl');
  const saved = await saveHead(dir, heads);
  tamper(dir, CUT_AND_HIDE);
  await appendEvents(dir, 3); // the gateway restarted on the cut trail and wrote seqs 5–7
  assert.equal((await kubegate('audit', 'verify', '--data-dir', dir)).code, 0);
  const run = await kubegate('audit', 'verify', '--data-dir', dir, '--against', heads);
  assert.equal(run.code, 1);
  assert.equal(
    run.stderr,
    `audit chain broken at seq 6 (${at(11).toISOString()}): rewritten: its hash differs from the head saved at ${saved.time} (${saved.hash.slice(0, 12)}…): it or a record before it was replaced or deleted, and the chain rebuilt after it\n0 records before it verified\n`,
  );
});

test('audit verify --against passes with heads saved before the current one', async () => {
  const dir = await dataDir();
  const heads = join(dir, 'heads.jsonl');
  await saveHead(dir, heads);
  await appendEvents(dir, 2);
  const later = await saveHead(dir, heads);
  await appendEvents(dir, 1);
  const run = await kubegate('audit', 'verify', '--data-dir', dir, '--against', heads);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(
    run.stdout.split('\n')[1],
    `it still holds the 2 heads saved in ${heads}, the furthest at seq 8 (read at ${later.time})`,
  );
});

test('audit verify --against reads the heads in kubegate’s JSON log and skips its other lines', async () => {
  const dir = await dataDir();
  const log = join(dir, 'kubegate.log');
  // The gateway's log, as main.ts writes it: the head published at start, among other lines.
  const reader = openSqliteAuditReader(join(dir, 'audit.db'), { verify: 'inline' });
  const logger = pino({ base: { service: 'kubegate' } }, pino.destination({ dest: log, sync: true }));
  logger.info({ url: 'https://127.0.0.1:8443' }, 'kubegate listening');
  const publisher = startHeadPublisher({
    head: () => reader.head(),
    publish: (head) => logger.info({ [HEAD_LOG_FIELD]: head }, HEAD_LOG_MESSAGE),
    onError: (err) => assert.fail(String(err)),
    now: () => new Date(),
    intervalMs: 60_000,
  });
  await publisher.stop();
  reader.close();
  await appendFile(log, 'kubegate listening on https://127.0.0.1:8443\n');
  const logged = (await readFile(log, 'utf8')).split('\n').filter((line) => line.includes('auditHead'));
  assert.equal(logged.length, 1, 'the head was logged once (it did not move before stop)');

  const ok = await kubegate('audit', 'verify', '--data-dir', dir, '--against', log);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /\nit still holds the 1 head saved in .*kubegate\.log, the furthest at seq 6 /u);
  tamper(dir, CUT_AND_HIDE);
  const cut = await kubegate('audit', 'verify', '--data-dir', dir, '--against', log);
  assert.equal(cut.code, 1);
  assert.match(cut.stderr, /^audit chain broken at seq 5: deleted: seqs 5–6 at the end are missing: /u);
});

test('audit verify --against refuses a file without a head, a broken head and a missing file', async () => {
  const dir = await dataDir();
  const none = join(dir, 'none.log');
  await writeFile(none, '{"level":30,"msg":"kubegate listening"}\nnot json\n');
  const broken = join(dir, 'broken.jsonl');
  await writeFile(
    broken,
    `\n${JSON.stringify({ format: 'kubegate.audit.head.v1', seq: 6, count: 6, hash: 'x', time: 'now' })}\n`,
  );
  const cases: readonly [string, string][] = [
    [
      none,
      `kubegate: ${none} holds no audit chain head: give it the lines kubegate audit head printed, or kubegate's JSON log\n`,
    ],
    [
      broken,
      `kubegate: line 2 of ${broken} is not a valid audit chain head (hash: expected 64 lowercase hex digits); save heads with kubegate audit head\n`,
    ],
    [
      join(dir, 'missing.jsonl'),
      `kubegate: cannot read the saved heads in ${join(dir, 'missing.jsonl')} (ENOENT: no such file or directory, open '${join(dir, 'missing.jsonl')}')\n`,
    ],
  ];
  for (const [file, want] of cases) {
    const run = await kubegate('audit', 'verify', '--data-dir', dir, '--against', file);
    assert.deepEqual([run.code, run.stdout, run.stderr], [1, '', want], file);
  }
});
