// The JSON-lines sink (jsonl.ts): a file opened for appending gets each batch's records as export's
// lines, after what it held; stdout gets each batch in one write, whole lines; a path it cannot
// open stops the start; a reader that does not keep up makes it drop batches, counted and logged,
// never buffer without bound.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { setImmediate as once } from 'node:timers/promises';
import type { StoredAuditRecord } from '../chain.js';
import { exportLine } from '../export.js';
import { createJsonlSink } from './jsonl.js';
import { chainOf, recorder } from './test-records.js';

test('a file gets export lines appended after what it held, readable by its owner only', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kubegate-jsonl-'));
  try {
    const path = join(dir, 'audit.jsonl');
    await writeFile(path, 'earlier line\n');
    const records = chainOf(5);
    const { log, logged } = recorder();
    const sink = createJsonlSink({ path, log });
    sink.write(records.slice(0, 2));
    sink.write(records.slice(2));
    await sink.close();
    assert.equal(await readFile(path, 'utf8'), `earlier line\n${records.map((r) => exportLine(r)).join('')}`);
    assert.deepEqual(logged, []);
    const created = join(dir, 'new.jsonl');
    const second = createJsonlSink({ path: created, log });
    await second.close();
    assert.equal((await stat(created)).mode & 0o777, 0o600);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('stdout gets each batch in one write of whole lines', async () => {
  const writes: string[] = [];
  const stdout = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      writes.push(chunk.toString('utf8'));
      callback();
    },
  });
  const { log } = recorder();
  const sink = createJsonlSink({ path: '-', log, stdout });
  const records = chainOf(4);
  sink.write(records.slice(0, 3));
  sink.write(records.slice(3));
  await sink.close();
  assert.deepEqual(writes, [
    records
      .slice(0, 3)
      .map((r) => exportLine(r))
      .join(''),
    exportLine(records[3] as StoredAuditRecord),
  ]);
  assert.equal(stdout.writableEnded, false, 'stdout stays open for others');
});

test('a path it cannot open stops the start with KG_CONFIG_INVALID', () => {
  const { log } = recorder();
  assert.throws(() => createJsonlSink({ path: '/nonexistent-dir/audit.jsonl', log }), {
    code: 'KG_CONFIG_INVALID',
  });
});

test('a reader that does not keep up: batches are dropped and counted, then it resumes', async () => {
  const pending: (() => void)[] = [];
  const writes: string[] = [];
  // Takes one write and then holds its callback until released: a stuck pipe.
  const stdout = new Writable({
    highWaterMark: 1,
    write(chunk: Buffer, _encoding, callback) {
      writes.push(chunk.toString('utf8'));
      pending.push(callback);
    },
  });
  const { log, logged } = recorder();
  const sink = createJsonlSink({ path: '-', log, stdout, maxBufferedBytes: 1 });
  const records = chainOf(5);
  sink.write(records.slice(0, 1)); // written; the reader is stuck on it
  sink.write(records.slice(1, 2)); // dropped: the write in progress is past the limit
  sink.write(records.slice(2, 4)); // dropped
  assert.equal(logged.length, 1, 'one line per episode of dropping');
  assert.equal(logged[0]?.level, 'error');
  assert.equal(logged[0]?.fields.firstSeq, 2);
  // The reader catches up.
  while (pending.length > 0) pending.shift()?.();
  sink.write(records.slice(4));
  assert.equal(logged[1]?.fields.dropped, 3);
  assert.equal(logged[1]?.fields.resumedAtSeq, 5);
  while (pending.length > 0) pending.shift()?.();
  await sink.close();
  assert.equal(logged[2]?.fields.droppedTotal, 3);
  assert.deepEqual(
    writes
      .join('')
      .trimEnd()
      .split('\n')
      .map((line) => (JSON.parse(line) as { seq: number }).seq),
    [1, 5],
  );
});

test('rotation: after the file is renamed or removed, the next batch goes to a new file at the path', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kubegate-jsonl-'));
  try {
    const path = join(dir, 'audit.jsonl');
    const records = chainOf(6);
    const { log, logged } = recorder();
    const sink = createJsonlSink({ path, log });
    sink.write(records.slice(0, 2));
    // Let the first batch reach the file before it is moved, as a forwarder's rotation would.
    const deadline = Date.now() + 5000;
    while ((await readFile(path, 'utf8')) === '' && Date.now() < deadline) await once(setImmediate);
    await rename(path, `${path}.1`);
    sink.write(records.slice(2, 4));
    const moved = join(dir, 'gone.jsonl');
    await rename(path, moved);
    await rm(moved);
    sink.write(records.slice(4));
    await sink.close();
    const lines = (rs: readonly StoredAuditRecord[]) => rs.map((r) => exportLine(r)).join('');
    assert.equal(await readFile(`${path}.1`, 'utf8'), lines(records.slice(0, 2)));
    assert.equal(await readFile(path, 'utf8'), lines(records.slice(4)));
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    assert.deepEqual(logged, []);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('rotation: a path that cannot be reopened is logged once and later batches are dropped', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kubegate-jsonl-'));
  const path = join(dir, 'audit.jsonl');
  const { log, logged } = recorder();
  const sink = createJsonlSink({ path, log });
  await rm(dir, { recursive: true, force: true });
  sink.write(chainOf(1));
  sink.write(chainOf(1, 2));
  await sink.close();
  assert.equal(logged[0]?.message, 'audit sink cannot write; later records are not copied');
  assert.equal(logged[1]?.fields.firstSeq, 1);
});
