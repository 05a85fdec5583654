// `kubegate store copy --from-config OLD.yaml --config NEW.yaml`, run as the real CLI on real
// SQLite files and a private PostgreSQL server (store/postgres/test-server.ts): it prints what it
// copied and the chain's verdict and exits 0, after which `audit verify --config NEW.yaml` passes;
// a second copy, configs of the wrong kind and a broken source trail exit 1 with a message.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import Database from '../store/sqlite/driver.js';
import { auditEvent } from '../audit/event.js';
import { openStore } from '../store/open.js';
import { startTestPostgres, type TestPostgres } from '../store/postgres/test-server.js';

const MAIN = new URL('./main.ts', import.meta.url).pathname;
let server: TestPostgres;
let root: string;
before(async () => {
  server = await startTestPostgres();
  root = await mkdtemp(join(tmpdir(), 'kubegate-cli-store-'));
});
after(async () => {
  await server.stop();
  await rm(root, { recursive: true, force: true });
});

async function kubegate(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
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

const T0 = new Date('2026-11-25T10:00:00.000Z');

/** OLD.yaml over a data directory a single gateway wrote (one session, three audit records). */
async function singleGateway(): Promise<{ old: string; dataDir: string; head: string }> {
  const dir = await mkdtemp(join(root, 'old-'));
  const dataDir = join(dir, 'data');
  const store = await openStore({ type: 'sqlite', dir: dataDir, auditFile: join(dataDir, 'audit.db') });
  try {
    await store.sessions.add(
      'key-a',
      {
        user: 'bob',
        groups: ['sre'],
        tokenDigest: 'd'.repeat(64),
        csrfToken: 'c',
        createdAt: T0.getTime(),
        expiresAt: T0.getTime() + 3_600_000,
      },
      { now: T0.getTime(), max: 10 },
    );
    for (let i = 0; i < 3; i++) {
      await store.audit.append(auditEvent('decided', new Date(T0.getTime() + i), { requestId: `r${i}` }));
    }
    const head = await store.auditReader.head();
    assert.ok(head);
    const old = join(dir, 'old.yaml');
    await writeFile(old, 'dataDir: data\nupstream: {inCluster: true}\n');
    return { old, dataDir, head: head.hash };
  } finally {
    await store.close();
  }
}

async function newConfig(): Promise<{ config: string; url: string }> {
  const url = await server.createDatabase();
  const dir = await mkdtemp(join(root, 'new-'));
  await writeFile(join(dir, 'db-url'), `${url}\n`, { mode: 0o600 });
  const config = join(dir, 'new.yaml');
  await writeFile(config, 'upstream: {inCluster: true}\nstore: {type: postgres, urlFile: db-url}\n');
  return { config, url };
}

test('store copy moves a single gateway’s store to PostgreSQL, where audit verify passes', async () => {
  const { old, dataDir, head } = await singleGateway();
  const { config } = await newConfig();

  const copied = await kubegate('store', 'copy', '--from-config', old, '--config', config);
  assert.equal(copied.code, 0, copied.stderr);
  assert.match(copied.stdout, new RegExp(`copied from ${dataDir} \\(approvals\\.db\\)`, 'u'));
  assert.match(copied.stdout, /pending requests: 0\n {2}web sessions: 1\n {2}audit records: 3 /u);
  assert.match(copied.stdout, new RegExp(`^chain verified: 3 records, head 3 ${head}$`, 'mu'));

  const verified = await kubegate('audit', 'verify', '--config', config);
  assert.equal(verified.code, 0, verified.stderr);
  assert.match(verified.stdout, new RegExp(`3 records, last hash ${head}`, 'u'));

  const again = await kubegate('store', 'copy', '--from-config', old, '--config', config);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /already holds web sessions, audit records/u);
  assert.doesNotMatch(again.stdout, /chain verified/u);
});

test('store copy needs a sqlite store to copy from and a postgres store to copy to', async () => {
  const { old } = await singleGateway();
  const { config } = await newConfig();
  const backwards = await kubegate('store', 'copy', '--from-config', config, '--config', old);
  assert.equal(backwards.code, 1);
  assert.match(backwards.stderr, /configures a postgres store, and store copy needs a sqlite one/u);
  const same = await kubegate('store', 'copy', '--from-config', old, '--config', old);
  assert.equal(same.code, 1);
  assert.match(same.stderr, /configures a sqlite store, and store copy needs a postgres one/u);
  const help = await kubegate('store', 'copy', '--help');
  assert.match(help.stdout, /Stop the gateway first/u);
});

test('store copy refuses a source trail that does not verify and writes nothing', async () => {
  const { old, dataDir } = await singleGateway();
  const db = new Database(join(dataDir, 'audit.db'));
  db.prepare(
    `UPDATE audit_events SET event = replace(event, '"r1"', '"rX"'), request_id = 'rX' WHERE seq = 2`,
  ).run();
  db.close();
  const { config, url } = await newConfig();
  const refused = await kubegate('store', 'copy', '--from-config', old, '--config', config);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /does not verify \(seq 2: edited/u);
  const { rows } = await server.sql(url, "SELECT to_regclass('web_sessions') AS t");
  assert.equal((rows[0] as { t: string | null }).t, null);
});
