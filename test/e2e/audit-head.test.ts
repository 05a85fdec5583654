// The gateway publishes its audit chain's head in its log, and that copy catches a cut the chain
// alone cannot: a real `kubegate serve` in front of the test bed records real kubectl requests
// and logs the head at shutdown (after its last records are written); someone with the database
// then cuts the last records and rewrites the head row to match. Plain `kubegate audit verify`
// still passes (the gap a chain without an outside anchor has); `audit verify --against` the
// gateway's log exits 1 naming the missing records.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, test } from 'node:test';
import Database from '../../src/store/sqlite/driver.js';
import type { TestbedState } from '../../src/demo/control-plane.js';
import { kubectl } from '../fixtures/kubectl.js';
import { kubegateResult as run, readAuditTrail, startGateway } from '../fixtures/gateway.js';
import { useTestbed } from '../fixtures/testbed.js';

let tb: TestbedState;
before(async () => {
  tb = await useTestbed();
});

test('a cut the recorded head was rewritten to hide passes verify, and fails verify --against the gateway log', async () => {
  const gw = await startGateway(tb, { config: { log: { level: 'info' } } });
  let log: string;
  try {
    const kubeconfig = await gw.kubeconfigFor('alice', ['dev']);
    for (const args of [
      ['get', 'namespaces'],
      ['get', 'pods', '-n', 'default'],
      ['auth', 'whoami'],
    ]) {
      // Allowed or refused by RBAC, each request leaves records in the trail.
      await kubectl(args, { kubeconfig, version: '1.33' });
    }
  } finally {
    await gw.stop();
    log = gw.output();
  }

  const records = await readAuditTrail(gw.auditFile);
  const last = records[records.length - 1];
  assert.ok(last !== undefined && last.seq >= 4, `the requests left records (${records.length})`);
  const logged = log
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { msg?: string; auditHead?: { seq: number; hash: string } })
    .filter((line) => line.msg === 'audit chain head')
    .at(-1)?.auditHead;
  assert.deepEqual(
    logged && { seq: logged.seq, hash: logged.hash },
    { seq: last.seq, hash: last.hash },
    `the head logged at shutdown is the trail's last record:\n${log}`,
  );
  const logFile = join(gw.dataDir, 'kubegate.log');
  await writeFile(logFile, log);

  // Someone with write access to audit.db: the last two records go, and the head row follows.
  const db = new Database(gw.auditFile);
  db.exec(`DELETE FROM audit_events WHERE seq > ${last.seq - 2};
    UPDATE audit_head SET (seq, hash) = (SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1)`);
  db.close();

  const alone = await run(['audit', 'verify', '--config', gw.configFile]);
  assert.equal(alone.code, 0, `without an outside anchor the cut is invisible: ${alone.stderr}`);
  assert.match(alone.stdout, new RegExp(`^audit chain verified: ${last.seq - 2} records`, 'u'));

  const against = await run(['audit', 'verify', '--config', gw.configFile, '--against', logFile]);
  assert.equal(against.code, 1, against.stdout);
  assert.match(
    against.stderr,
    new RegExp(
      `^audit chain broken at seq ${last.seq - 1}: deleted: seqs ${last.seq - 1}–${last.seq} at the end are missing: the head saved at \\S+ names seq ${last.seq}, so records were cut from the end and the recorded head rewritten to match\n`,
      'u',
    ),
  );
});
