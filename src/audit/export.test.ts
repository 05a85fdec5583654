// exportJsonl: one line per stored record in seq order, each line re-hashable away from kubegate,
// written with backpressure to a slow reader.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, test } from 'node:test';
import Database from '../store/sqlite/driver.js';
import { canonicalize, chainHash, GENESIS_HASH, verifyChain } from './chain.js';
import type { StoredAuditRecord } from './chain.js';
import { auditEvent } from './event.js';
import { exportJsonl } from './export.js';
import { openSqliteAuditReader } from '../store/sqlite/audit-reader.js';
import { SqliteAuditTrail } from '../store/sqlite/audit-trail.js';

let root: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'kubegate-audit-export-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A writable that takes one chunk at a time and asks the exporter to wait for 'drain'. */
function slowSink(): { stream: Writable; text: () => string; drains: () => number } {
  const chunks: string[] = [];
  let drains = 0;
  const stream = new Writable({
    highWaterMark: 1024,
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString('utf8'));
      setImmediate(done);
    },
  });
  stream.on('drain', () => (drains += 1));
  return { stream, text: () => chunks.join(''), drains: () => drains };
}

async function trailOf(count: number): Promise<string> {
  const path = join(root, `t${count}`, 'audit.db');
  const trail = await SqliteAuditTrail.open(path);
  for (let i = 1; i <= count; i++) {
    trail.appendLater(
      auditEvent('forwarded', new Date(Date.UTC(2026, 0, 1, 0, 0, 0, i)), {
        requestId: `req-${i}`,
        user: 'alice',
        comment: 'quotes " and newlines \n stay inside one line',
        status: 200,
      }),
    );
  }
  await trail.close();
  return path;
}

test('every record is one line in seq order, and the lines re-hash into a verified chain', async () => {
  const reader = openSqliteAuditReader(await trailOf(5000), { verify: 'inline' });
  const sink = slowSink();
  const count = await exportJsonl(reader.records(), sink.stream);
  reader.close();
  assert.equal(count, 5000);
  assert.ok(sink.drains() > 0, 'the exporter never had to wait for the reader');
  const lines = sink.text().split('\n');
  assert.equal(lines.pop(), '');
  assert.equal(lines.length, 5000);
  const records: StoredAuditRecord[] = lines.map((line) => {
    const parsed = JSON.parse(line) as { seq: number; prevHash: string; hash: string; event: unknown };
    assert.deepEqual(Object.keys(parsed), ['seq', 'prevHash', 'hash', 'event']);
    return {
      seq: parsed.seq,
      prevHash: parsed.prevHash,
      hash: parsed.hash,
      canonical: canonicalize(parsed.event),
    };
  });
  assert.equal(records[0]?.prevHash, GENESIS_HASH);
  const result = verifyChain(records);
  assert.equal(result.ok, true);
  assert.equal(result.count, 5000);
});

test('an exported line embeds the hashed text byte for byte', async () => {
  const path = await trailOf(1);
  const db = new Database(path, { readonly: true });
  const stored = db
    .prepare<[], { event: string; hash: string }>('SELECT event, hash FROM audit_events')
    .get();
  db.close();
  const reader = openSqliteAuditReader(path, { verify: 'inline' });
  const sink = slowSink();
  await exportJsonl(reader.records(), sink.stream);
  reader.close();
  assert.ok(stored);
  assert.ok(sink.text().includes(`"event":${stored.event}}`));
  assert.equal(chainHash(GENESIS_HASH, 1, stored.event), stored.hash);
});

test('an empty trail exports nothing', async () => {
  const path = join(root, 'empty', 'audit.db');
  await SqliteAuditTrail.open(path).then((t) => t.close());
  const reader = openSqliteAuditReader(path, { verify: 'inline' });
  const sink = slowSink();
  assert.equal(await exportJsonl(reader.records(), sink.stream), 0);
  reader.close();
  assert.equal(sink.text(), '');
});

test('records appended while an export waits on its reader are left for the next export, and queries still answer meanwhile', async () => {
  const path = await trailOf(3000);
  const reader = openSqliteAuditReader(path, { verify: 'inline' });
  const trail = await SqliteAuditTrail.open(path);
  const sink = slowSink();
  const drained = once(sink.stream, 'drain');
  const exporting = exportJsonl(reader.records(), sink.stream);
  await drained; // the export has read its first rows and waits on the sink
  await trail.append(auditEvent('decided', new Date(Date.UTC(2026, 0, 2))));
  assert.equal((await reader.query({ kind: 'decided' })).length, 1);
  assert.equal(await exporting, 3000);
  const again = slowSink();
  assert.equal(await exportJsonl(reader.records(), again.stream), 3001);
  await trail.close();
  reader.close();
});
