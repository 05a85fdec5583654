// The audit trail leaves the box (issue 15, item 4): a real `kubegate serve` in front of the test
// bed with a JSON-lines sink to a file serves real kubectl requests — reads, mutations, and one
// held and approved — and the file is then read back: while kubegate runs it already holds the
// records (streamed, not written at exit); after the stop it holds exactly what `kubegate audit
// export` writes for the same run, line for line; every line is valid against
// schema/audit-event.schema.json; `kubegate audit verify --jsonl` accepts it alone and against the
// store; a tampered line and a removed line are each caught; and a cut of the store's last records
// with its head rewritten — invisible to `audit verify` alone — is caught by the copy.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import Database from '../../src/store/sqlite/driver.js';
import { stringify } from 'yaml';
import type { TestbedState } from '../../src/demo/control-plane.js';
import { kubectl, startKubectl } from '../fixtures/kubectl.js';
import { kubegateResult as run, startGateway, type GatewayHandle } from '../fixtures/gateway.js';
import { reviewerOf } from '../fixtures/reviewer.js';
import { useTestbed } from '../fixtures/testbed.js';

const ns = `sinks-${randomBytes(3).toString('hex')}`;
let tb: TestbedState;
let gw: GatewayHandle;
let copy: string;

before(async () => {
  tb = await useTestbed();
  const policyFile = join(tb.dir, `sinks-${ns}.yaml`);
  await writeFile(
    policyFile,
    stringify({
      apiVersion: 'kubegate.dev/v1alpha1',
      kind: 'Policy',
      defaults: { action: 'allow' },
      rules: [
        {
          name: 'secrets-need-sre',
          match: { verbs: ['create'], resources: ['secrets'], namespaces: [ns] },
          action: 'approve',
          approval: { approvers: ['group:sre'], count: 1 },
        },
      ],
    }),
  );
  copy = join(tb.dir, `audit-${ns}.jsonl`);
  gw = await startGateway(tb, {
    config: { policy: { file: policyFile }, audit: { sinks: [{ type: 'jsonl', path: copy }] } },
  });
  for (const args of [
    ['create', 'namespace', ns],
    ['create', 'rolebinding', 'dev-edit', '-n', ns, '--clusterrole=edit', '--group=dev'],
  ]) {
    const r = await kubectl(args, { kubeconfig: tb.adminKubeconfig });
    assert.equal(r.code, 0, r.stderr);
  }
});

after(async () => {
  await gw.stop();
  await kubectl(['delete', 'namespace', ns, '--wait=false'], { kubeconfig: tb.adminKubeconfig });
});

interface Line {
  readonly seq: number;
  readonly event: { readonly kind: string; readonly request: { readonly verb: string | null } | null };
}

const parse = (text: string): Line[] =>
  text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Line);

test('the JSON-lines copy of a real run is export, line for line; valid, verified, and it catches tampering', async () => {
  const alice = await gw.kubeconfigFor('alice', ['dev']);
  const bob = await reviewerOf(gw, await gw.kubeconfigFor('bob', ['sre']));
  try {
    const as = (args: string[]) => kubectl(args, { kubeconfig: alice, version: '1.33', timeoutMs: 120_000 });
    for (const args of [
      ['get', 'pods', '-n', ns],
      ['create', 'configmap', 'plain', '-n', ns, '--from-literal=a=1'],
      ['get', 'configmap', 'plain', '-n', ns, '-o', 'name'],
      ['label', 'configmap', 'plain', '-n', ns, 'shipped=yes'],
      ['delete', 'configmap', 'plain', '-n', ns],
    ]) {
      const r = await as(args);
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    }
    // Held until bob approves it.
    const held = startKubectl(['create', 'secret', 'generic', 'held', '-n', ns, '--from-literal=k=v'], {
      kubeconfig: alice,
      version: '1.33',
      timeoutMs: 120_000,
    });
    try {
      const pending = await bob.waitFor((p) => p.state === 'pending' && p.request.resource === 'secrets');
      const r = await bob.cli(['approve', pending.id]);
      assert.equal(r.code, 0, r.stderr);
      await held.waitFor(/secret\/held created/, 30_000);
    } finally {
      held.stop();
    }
  } finally {
    await bob.close();
  }

  // Streamed while kubegate runs: the approved create's answer reaches the file before any stop.
  const deadline = Date.now() + 10_000;
  let live: Line[] = [];
  while (Date.now() < deadline) {
    live = parse(await readFile(copy, 'utf8').catch(() => ''));
    if (
      live.some(
        (l) =>
          l.event.kind === 'forwarded' &&
          l.event.request?.verb === 'create' &&
          JSON.stringify(l).includes('secrets'),
      )
    )
      break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const kinds = new Set(live.map((l) => l.event.kind));
  for (const kind of ['decided', 'forwarded', 'approval-requested', 'reviewed', 'granted']) {
    assert.ok(kinds.has(kind), `the running gateway's copy holds a ${kind} record: ${[...kinds].join(', ')}`);
  }

  await gw.stop();
  const text = await readFile(copy, 'utf8');
  const exported = await run(['audit', 'export', '--format', 'jsonl', '--config', gw.configFile]);
  assert.equal(exported.code, 0, exported.stderr);
  assert.equal(text, exported.stdout, 'the sink wrote exactly what export writes for the same run');
  const lines = parse(text);
  assert.deepEqual(
    lines.map((l) => l.seq),
    lines.map((_, i) => i + 1),
  );

  const schema = JSON.parse(
    await readFile(new URL('../../schema/audit-event.schema.json', import.meta.url), 'utf8'),
  ) as {
    $id: string;
  };
  const ajv = new Ajv2020({ strict: true, allErrors: true });
  ajv.addSchema(schema);
  const valid = ajv.getSchema(`${schema.$id}#/$defs/record`);
  assert.ok(valid);
  for (const line of lines)
    assert.equal(valid(line), true, `seq ${line.seq}: ${JSON.stringify(valid.errors)}`);

  // A tampered line (a read turned into a list), and a line removed.
  const rows = text.split('\n');
  const target = rows.findIndex((row) => row.includes('"verb":"get"'));
  assert.ok(target >= 0);
  const tampered = join(tb.dir, `tampered-${ns}.jsonl`);
  await writeFile(
    tampered,
    rows.map((row, i) => (i === target ? row.replace('"verb":"get"', '"verb":"list"') : row)).join('\n'),
  );
  const shortened = join(tb.dir, `shortened-${ns}.jsonl`);
  await writeFile(shortened, rows.filter((_, i) => i !== 2).join('\n'));

  // Each command is a process of its own: run them side by side.
  const [alone, both, store, edited, removed] = await Promise.all([
    run(['audit', 'verify', '--jsonl', copy]),
    run(['audit', 'verify', '--jsonl', copy, '--config', gw.configFile]),
    run(['audit', 'verify', '--config', gw.configFile]),
    run(['audit', 'verify', '--jsonl', tampered]),
    run(['audit', 'verify', '--jsonl', shortened]),
  ]);
  assert.equal(alone.code, 0, alone.stderr);
  assert.match(
    alone.stdout,
    new RegExp(`^audit copy verified: ${lines.length} records, seqs 1–${lines.length}\\n`, 'u'),
  );
  assert.equal(both.code, 0, both.stderr);
  assert.match(both.stdout, new RegExp(`\\(${lines.length} records compared\\)`, 'u'));
  assert.equal(store.code, 0, store.stderr);
  assert.match(store.stdout, new RegExp(`^audit chain verified: ${lines.length} records`, 'u'));
  assert.equal(edited.code, 1, edited.stdout);
  assert.match(
    edited.stderr,
    new RegExp(`broken at line ${target + 1} \\(seq ${target + 1}\\): edited`, 'u'),
  );
  assert.equal(removed.code, 1, removed.stdout);
  assert.match(removed.stderr, /broken at line 3 \(seq 4\): deleted: seq 3 is missing before it/u);

  // Someone with the database cuts its last two records and rewrites the head row to match:
  // verify alone passes, the copy shipped before the cut does not.
  const db = new Database(gw.auditFile);
  db.exec(`DELETE FROM audit_events WHERE seq > ${lines.length - 2};
    UPDATE audit_head SET (seq, hash) = (SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1)`);
  db.close();
  const [cutAlone, cut] = await Promise.all([
    run(['audit', 'verify', '--config', gw.configFile]),
    run(['audit', 'verify', '--jsonl', copy, '--config', gw.configFile]),
  ]);
  assert.equal(cutAlone.code, 0, 'the cut is invisible to the chain alone');
  assert.equal(cut.code, 1, cut.stdout);
  assert.match(
    cut.stderr,
    new RegExp(
      `broken at line ${lines.length - 1} \\(seq ${lines.length - 1}\\): deleted: the store does not hold this record`,
      'u',
    ),
  );
});
