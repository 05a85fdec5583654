// `kubegate audit verify|query|export --config` on a PostgreSQL store, run as the real CLI
// against a private PostgreSQL server (store/postgres/test-server.ts): the config's store section
// (the URL in a file, as from a Secret) names the database, the trail two replicas wrote verifies,
// query and export read it, and a record edited in the database fails verify with exit code 1.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { auditEvent } from '../audit/event.js';
import { openStore } from '../store/open.js';
import { postgresStoreConfig, startTestPostgres, type TestPostgres } from '../store/postgres/test-server.js';

const MAIN = new URL('./main.ts', import.meta.url).pathname;
let server: TestPostgres;
let root: string;
before(async () => {
  server = await startTestPostgres();
  root = await mkdtemp(join(tmpdir(), 'kubegate-cli-audit-pg-'));
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

const at = (minute: number): Date => new Date(Date.UTC(2026, 0, 1, 9, minute));

test('audit verify, query and export read the trail of a PostgreSQL store named in the config', async () => {
  const url = await server.createDatabase();
  const replicas = await Promise.all([
    openStore(postgresStoreConfig(url)),
    openStore(postgresStoreConfig(url)),
  ]);
  for (let i = 0; i < 6; i++) {
    await replicas[i % 2]?.audit.append(
      auditEvent(i === 3 ? 'reviewed' : 'decided', at(i), { requestId: `r${i}`, user: `user-${i % 2}` }),
    );
  }
  for (const store of replicas) await store.close();
  await writeFile(join(root, 'db-url'), `${url}\n`, { mode: 0o600 });
  const config = join(root, 'kubegate.yaml');
  await writeFile(config, 'upstream: {inCluster: true}\nstore: {type: postgres, urlFile: db-url}\n');

  const verified = await kubegate('audit', 'verify', '--config', config);
  assert.equal(verified.code, 0, verified.stderr);
  assert.match(verified.stdout, /6 records/u);

  const query = await kubegate('audit', 'query', '--config', config, '--json', '--kind', 'reviewed');
  assert.equal(query.code, 0, query.stderr);
  assert.equal((JSON.parse(query.stdout) as { seq: number }).seq, 4);

  const exported = await kubegate('audit', 'export', '--format', 'jsonl', '--config', config);
  assert.equal(exported.code, 0, exported.stderr);
  const lines = exported.stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { seq: number });
  assert.deepEqual(
    lines.map((line) => line.seq),
    [1, 2, 3, 4, 5, 6],
  );

  await server.sql(url, `UPDATE audit_events SET event = replace(event, '"r2"', '"rX"') WHERE seq = 3`);
  const tampered = await kubegate('audit', 'verify', '--config', config);
  assert.equal(tampered.code, 1);
  assert.match(tampered.stdout + tampered.stderr, /seq 3/u);
});
