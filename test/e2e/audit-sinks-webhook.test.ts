// The audit trail leaves the box (issue 15, item 4), beyond the JSON-lines file of
// audit-sinks.test.ts: (1) a real `kubegate serve` with a webhook sink, its token in a headersFile,
// POSTs the trail of real kubectl requests to a receiver in this test; the receiver answers 500
// for a while and then recovers, and what it took is every record exactly once, in seq order —
// export's records for the same run, verified against the store by `kubegate audit verify
// --jsonl`. A missing headersFile stops the start naming the file. (2) On a PostgreSQL store, a
// JSON-lines sink at a relative path (a file in dataDir) gets the records the PG store committed;
// the file is renamed mid-run (a forwarder's rotation) and later records go to a new file at the
// path; the two files together are export, and verify against the store.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { TestbedState } from '../../src/demo/control-plane.js';
import { waitFor } from '../../src/demo/api.js';
import { startTestPostgres, type TestPostgres } from '../../src/store/postgres/test-server.js';
import { kubectl } from '../fixtures/kubectl.js';
import { kubegateResult as run, startGateway } from '../fixtures/gateway.js';
import { useTestbed } from '../fixtures/testbed.js';

const ns = `sinkwh-${randomBytes(3).toString('hex')}`;
let tb: TestbedState;
let pg: TestPostgres;

/** Polls `ok` for up to 20 s (the test bed's own wait, src/demo/api.ts). */
const until = (what: string, ok: () => Promise<boolean> | boolean): Promise<void> =>
  waitFor(what, 20_000, async () => ok());

interface Line {
  readonly seq: number;
}

const parseLines = (text: string): Record<string, unknown>[] =>
  text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

before(async () => {
  tb = await useTestbed();
  pg = await startTestPostgres();
  const r = await kubectl(['create', 'namespace', ns], { kubeconfig: tb.adminKubeconfig });
  assert.equal(r.code, 0, r.stderr);
});

after(async () => {
  await pg.stop();
  await kubectl(['delete', 'namespace', ns, '--wait=false'], { kubeconfig: tb.adminKubeconfig });
});

/** A collector: takes POSTed arrays while healthy, answers 500 (taking nothing) while failing. */
class Receiver {
  failing = true;
  refused = 0;
  readonly taken: Record<string, unknown>[] = [];
  readonly authorizations = new Set<string>();
  readonly server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      this.authorizations.add(req.headers.authorization ?? '(none)');
      if (this.failing) {
        this.refused += 1;
        res.writeHead(500).end();
        return;
      }
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>[];
      this.taken.push(...body);
      res.writeHead(200).end();
    });
  });
  async listen(): Promise<string> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/in`;
  }
}

test('webhook sink: a collector down for a while gets every record of a real run once, in order, equal to export, verified', async () => {
  const receiver = new Receiver();
  const url = await receiver.listen();
  try {
    const headersFile = join(tb.dir, `collector-${ns}.headers`);
    await writeFile(headersFile, '# from a Secret\nAuthorization: Bearer collector-token\n');
    const gw = await startGateway(tb, {
      config: {
        audit: {
          sinks: [
            {
              type: 'webhook',
              url,
              headersFile,
              batchMaxRecords: 3,
              batchMaxMs: 20,
              retry: { maxAttempts: 1000, initialDelayMs: 20, maxDelayMs: 100 },
            },
          ],
        },
      },
    });
    try {
      const alice = await gw.kubeconfigFor('alice', ['system:masters']);
      const as = (args: string[]) => kubectl(args, { kubeconfig: alice, version: '1.33' });
      for (const args of [
        ['get', 'pods', '-n', ns],
        ['create', 'configmap', 'wh', '-n', ns, '--from-literal=a=1'],
        ['label', 'configmap', 'wh', '-n', ns, 'shipped=yes'],
      ]) {
        const r = await as(args);
        assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
      }
      // The collector refuses several deliveries (retried), then recovers while requests go on.
      await until('the collector has refused 3 POSTs', () => receiver.refused >= 3);
      assert.equal(receiver.taken.length, 0);
      receiver.failing = false;
      for (const args of [
        ['get', 'configmap', 'wh', '-n', ns, '-o', 'name'],
        ['delete', 'configmap', 'wh', '-n', ns],
      ]) {
        const r = await as(args);
        assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
      }
      // Delivered while kubegate runs, not only at its stop.
      await until('the collector took the delete', () =>
        receiver.taken.some((r) => JSON.stringify(r).includes('"verb":"delete"')),
      );
    } finally {
      await gw.stop();
    }

    const exported = await run(['audit', 'export', '--format', 'jsonl', '--config', gw.configFile]);
    assert.equal(exported.code, 0, exported.stderr);
    const want = parseLines(exported.stdout);
    assert.ok(want.length >= 10, `the run left records (${want.length})`);
    assert.deepEqual(
      receiver.taken.map((r) => (r as unknown as Line).seq),
      want.map((_, i) => i + 1),
      'every record once, in seq order',
    );
    assert.deepEqual(receiver.taken, want, "the collector holds export's records for the same run");
    assert.deepEqual([...receiver.authorizations], ['Bearer collector-token']);

    const copy = join(tb.dir, `webhook-${ns}.jsonl`);
    await writeFile(copy, receiver.taken.map((r) => `${JSON.stringify(r)}\n`).join(''));
    const verified = await run(['audit', 'verify', '--jsonl', copy, '--config', gw.configFile]);
    assert.equal(verified.code, 0, verified.stderr);
    assert.match(verified.stdout, new RegExp(`\\(${want.length} records compared\\)`, 'u'));
  } finally {
    receiver.server.close();
  }
});

test('webhook sink: a headersFile that is missing stops the start, naming the file', async () => {
  const missing = join(tb.dir, `no-such-secret-${ns}`);
  await assert.rejects(
    startGateway(tb, {
      config: { audit: { sinks: [{ type: 'webhook', url: 'http://127.0.0.1:9/in', headersFile: missing }] } },
    }),
    (err: Error) => {
      assert.match(err.message, /kubegate exited/u);
      assert.match(err.message, /KG_CONFIG_INVALID|headersFile/u);
      assert.ok(err.message.includes(missing), err.message);
      return true;
    },
  );
});

test('PostgreSQL store: its committed records reach a jsonl sink in dataDir, which follows a rotation; the two files are export and verify', async () => {
  const url = await pg.createDatabase();
  const gw = await startGateway(tb, {
    config: {
      store: { type: 'postgres', url, pool: { max: 4 } },
      audit: { sinks: [{ type: 'jsonl', path: 'copy.jsonl' }] },
    },
  });
  const path = join(gw.dataDir, 'copy.jsonl');
  const rotated = `${path}.1`;
  const read = (p: string) => readFile(p, 'utf8').catch(() => '');
  try {
    const alice = await gw.kubeconfigFor('alice', ['system:masters']);
    const as = (args: string[]) => kubectl(args, { kubeconfig: alice, version: '1.33' });
    const first = await as(['get', 'configmap', 'pg-before', '-n', ns, '--ignore-not-found']);
    assert.equal(first.code, 0, `${first.stderr}\n${gw.output()}`);
    await until('the first get is in the file at the relative path', async () =>
      (await read(path)).includes('pg-before'),
    );
    await rename(path, rotated);
    const second = await as(['get', 'configmap', 'pg-after', '-n', ns, '--ignore-not-found']);
    assert.equal(second.code, 0, `${second.stderr}\n${gw.output()}`);
    await until('the second get is in a new file at the path', async () =>
      (await read(path)).includes('pg-after'),
    );
  } finally {
    await gw.stop();
  }

  const [before, after] = [await read(rotated), await read(path)];
  // The first get's later records (its forwarded one) may land on either side of the rename; the
  // second get, made after it, is only in the new file.
  assert.ok(before.includes('pg-before') && !before.includes('pg-after'), 'the renamed file ends before');
  assert.ok(after.includes('pg-after'), 'the new file holds what came after');
  const rows = await pg.sql(url, 'SELECT count(*)::int AS n FROM audit_events');
  const exported = await run(['audit', 'export', '--format', 'jsonl', '--config', gw.configFile]);
  assert.equal(exported.code, 0, exported.stderr);
  assert.equal(before + after, exported.stdout, 'the rotated file then the new one: export, line for line');
  assert.equal(parseLines(exported.stdout).length, (rows.rows[0] as { n: number }).n);

  const both = join(tb.dir, `pg-copy-${ns}.jsonl`);
  await writeFile(both, before + after);
  const [whole, older, newer] = await Promise.all([
    run(['audit', 'verify', '--jsonl', both, '--config', gw.configFile]),
    run(['audit', 'verify', '--jsonl', rotated, '--partial', '--config', gw.configFile]),
    run(['audit', 'verify', '--jsonl', path, '--partial', '--config', gw.configFile]),
  ]);
  for (const r of [whole, older, newer]) assert.equal(r.code, 0, r.stderr);
  assert.match(whole.stdout, /^audit copy verified: /u);
});
