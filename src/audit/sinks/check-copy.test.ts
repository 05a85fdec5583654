// checkCopy (check-copy.ts): a copy of the trail, as a sink or export wrote it, is accepted whole
// or (partial) with gaps, reformatted JSON included; an edited value, a forged record, lines out
// of order, a gap in a whole copy and a line that is not a record are each named at their line;
// against the store, a record the store no longer holds, or holds in another form, shows.
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { canonicalize, chainHash, type StoredAuditRecord } from '../chain.js';
import { exportLine } from '../export.js';
import { checkCopy, type CheckCopyOptions, type CopyResult } from './check-copy.js';
import { chainOf } from './test-records.js';

const chain = chainOf(6);
const line = (r: StoredAuditRecord) => exportLine(r).trimEnd();
const at = (i: number) => chain[i] as StoredAuditRecord;

/** The record with one event field changed and its hash recomputed: it verifies alone. */
function forged(record: StoredAuditRecord): StoredAuditRecord {
  const canonical = canonicalize({ ...(JSON.parse(record.canonical) as object), user: 'mallory' });
  return { ...record, canonical, hash: chainHash(record.prevHash, record.seq, canonical) };
}

function records(list: readonly StoredAuditRecord[]): AsyncIterable<StoredAuditRecord> {
  return Readable.from(list);
}

type Want =
  Pick<Extract<CopyResult, { ok: false }>, 'line' | 'seq' | 'problem'> | { ok: true; count: number };

const rows: { name: string; lines: string[]; options?: CheckCopyOptions; want: Want }[] = [
  { name: 'a whole copy verifies', lines: chain.map(line), want: { ok: true, count: 6 } },
  {
    name: 'a copy whose JSON was reformatted (keys reordered, spaces) still verifies',
    lines: chain.map((r) => {
      const { event, ...rest } = JSON.parse(line(r)) as { event: Record<string, unknown> };
      const reversed = Object.fromEntries(Object.entries(event).reverse());
      return JSON.stringify({ event: reversed, ...rest }, null, 1).replaceAll('\n', ' ');
    }),
    want: { ok: true, count: 6 },
  },
  {
    name: 'an edited value is caught at its line',
    lines: chain.map((r, i) => (i === 2 ? line(r).replace('"alice"', '"bob"') : line(r))),
    want: { line: 3, seq: 3, problem: 'edited' },
  },
  {
    name: 'a forged record that verifies alone is caught by its successor not linking',
    lines: chain.map((r, i) => line(i === 2 ? forged(r) : r)),
    want: { line: 4, seq: 4, problem: 'broken-link' },
  },
  {
    name: 'lines out of order are caught',
    lines: [at(0), at(2), at(1)].map(line),
    options: { partial: true },
    want: { line: 3, seq: 2, problem: 'reordered' },
  },
  {
    name: 'a gap in a whole copy is a deletion',
    lines: [at(0), at(1), at(3)].map(line),
    want: { line: 3, seq: 4, problem: 'deleted' },
  },
  {
    name: 'a partial copy may have gaps',
    lines: [at(0), at(2), at(5)].map(line),
    options: { partial: true },
    want: { ok: true, count: 3 },
  },
  {
    name: 'a line that is not a record is named',
    lines: [line(at(0)), '{"seq":2}'],
    want: { line: 2, seq: null, problem: 'unreadable' },
  },
  {
    name: 'blank lines are skipped',
    lines: [line(at(0)), '', line(at(1)), ''],
    want: { ok: true, count: 2 },
  },
  {
    name: 'against the store: the same records verify',
    lines: [at(1), at(3)].map(line),
    options: { partial: true, store: records(chain) },
    want: { ok: true, count: 2 },
  },
  {
    name: 'against the store: a record cut from the end of the store shows',
    lines: chain.map(line),
    options: { store: records(chain.slice(0, 4)) },
    want: { line: 5, seq: 5, problem: 'deleted' },
  },
  {
    name: 'against the store: a record deleted in the store (a seq missing there) shows',
    lines: chain.map(line),
    options: { store: records([at(0), at(1), at(3), at(4), at(5)]) },
    want: { line: 3, seq: 3, problem: 'deleted' },
  },
  {
    name: 'against the store: a record rewritten in the store shows',
    lines: chain.map(line),
    options: { store: records(chain.map((r, i) => (i === 4 ? forged(r) : r))) },
    want: { line: 5, seq: 5, problem: 'rewritten' },
  },
];

for (const { name, lines, options, want } of rows) {
  test(name, async () => {
    const result = await checkCopy(Readable.from(lines), options);
    if ('ok' in want) {
      assert.equal(result.ok, true, JSON.stringify(result));
      assert.equal(result.ok && result.count, want.count);
    } else {
      assert.equal(result.ok, false);
      assert.deepEqual(
        result.ok ? null : { line: result.line, seq: result.seq, problem: result.problem },
        want,
      );
    }
  });
}

test('a partial copy reports how many seqs it lacks, and how many records it compared', async () => {
  const result = await checkCopy(Readable.from([at(0), at(2), at(5)].map(line)), {
    partial: true,
    store: records(chain),
  });
  assert.deepEqual(result, {
    ok: true,
    count: 3,
    first: 1,
    last: { seq: 6, hash: at(5).hash },
    missing: 3,
    compared: 3,
  });
});
