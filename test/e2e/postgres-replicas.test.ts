// Two real `kubegate serve` replicas on one PostgreSQL store in front of the test bed: each
// gateway starts on the shared database (both migrating it at once), records real kubectl
// requests, and the trail they wrote together is one chain (seqs 1..N) holding both replicas'
// requests, which `kubegate audit verify --config` passes and `audit query` reads.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { TestbedState } from '../../src/demo/control-plane.js';
import { startTestPostgres, type TestPostgres } from '../../src/store/postgres/test-server.js';
import { kubectl } from '../fixtures/kubectl.js';
import { kubegate, startGateway } from '../fixtures/gateway.js';
import { useTestbed } from '../fixtures/testbed.js';

let tb: TestbedState;
let pg: TestPostgres;
before(async () => {
  tb = await useTestbed();
  pg = await startTestPostgres();
});
after(async () => {
  await pg.stop();
});

test('two replicas on one PostgreSQL write one audit chain that verifies', async () => {
  const url = await pg.createDatabase();
  const store = { store: { type: 'postgres', url, pool: { max: 4 } } };
  const [a, b] = await Promise.all([
    startGateway(tb, { config: store }),
    startGateway(tb, { config: store }),
  ]);
  try {
    const viaA = await a.kubeconfigFor('alice', ['dev']);
    const viaB = await b.kubeconfigFor('bob', ['dev']);
    await Promise.all([
      kubectl(['get', 'namespaces'], { kubeconfig: viaA, version: '1.33' }),
      kubectl(['get', 'namespaces'], { kubeconfig: viaB, version: '1.33' }),
      kubectl(['auth', 'whoami'], { kubeconfig: viaA, version: '1.33' }),
      kubectl(['auth', 'whoami'], { kubeconfig: viaB, version: '1.33' }),
    ]);
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }

  const rows = await pg.sql(url, 'SELECT seq, "user" FROM audit_events ORDER BY seq');
  assert.ok(rows.rows.length >= 4, `the requests left records (${rows.rows.length})`);
  rows.rows.forEach((row: { seq: number | string }, i) => assert.equal(Number(row.seq), i + 1));
  const users = new Set(rows.rows.map((row: { user: string | null }) => row.user));
  assert.ok(users.has('alice') && users.has('bob'), [...users].join(', '));

  const verified = await kubegate(['audit', 'verify', '--config', a.configFile]);
  assert.match(verified.stdout, new RegExp(`${rows.rows.length} records`, 'u'));
  const bob = await kubegate(['audit', 'query', '--config', b.configFile, '--user', 'bob', '--json']);
  assert.ok(bob.stdout.trim().split('\n').length >= 2, bob.stdout);
});
