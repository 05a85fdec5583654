// The published head: its record, and which lines of a saved file hold one (what `audit head`
// prints, kubegate's own log lines), which do not, and which claim to and are broken.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { pino } from 'pino';
import { HEAD_FORMAT, HEAD_LOG_FIELD, HEAD_LOG_MESSAGE, publishedHead, readSavedLine } from './head.js';
import type { SavedLine } from './head.js';

const HASH = 'ab'.repeat(32);
const TIME = '2026-01-01T09:10:00.000Z';
const HEAD = { format: HEAD_FORMAT, seq: 6, count: 6, hash: HASH, time: TIME };

test('publishedHead names its format and carries seq, count, hash and the time it was read', () => {
  assert.deepEqual(publishedHead({ seq: 6, hash: HASH }, new Date(TIME)), HEAD);
});

const rows: readonly { name: string; line: string; want: SavedLine }[] = [
  {
    name: 'a line kubegate audit head printed holds its head',
    line: JSON.stringify(HEAD),
    want: { kind: 'head', head: { seq: 6, hash: HASH, time: TIME } },
  },
  {
    name: 'a kubegate log line carrying a head holds it',
    line: JSON.stringify({ level: 30, time: 1, service: 'kubegate', [HEAD_LOG_FIELD]: HEAD, msg: 'x' }),
    want: { kind: 'head', head: { seq: 6, hash: HASH, time: TIME } },
  },
  {
    name: 'surrounding blanks and a carriage return do not matter',
    line: `  ${JSON.stringify(HEAD)}\r`,
    want: { kind: 'head', head: { seq: 6, hash: HASH, time: TIME } },
  },
  {
    name: 'another log line holds none',
    line: JSON.stringify({ level: 30, msg: 'kubegate listening', url: 'https://127.0.0.1:8443' }),
    want: { kind: 'none' },
  },
  {
    name: 'text that is not JSON holds none',
    line: 'kubegate listening on https://x',
    want: { kind: 'none' },
  },
  { name: 'broken JSON holds none', line: '{"format": "kubegate.audit.head.v1", ', want: { kind: 'none' } },
  { name: 'an empty line holds none', line: '', want: { kind: 'none' } },
  {
    name: 'a record of another format holds none',
    line: JSON.stringify({ ...HEAD, format: 'kubegate.audit.head.v0' }),
    want: { kind: 'none' },
  },
  {
    name: 'a head whose hash is not 64 hex digits is invalid, not skipped',
    line: JSON.stringify({ ...HEAD, hash: HASH.slice(1) }),
    want: { kind: 'invalid', problem: 'hash: expected 64 lowercase hex digits' },
  },
  {
    name: 'a head whose seq is 0 is invalid',
    line: JSON.stringify({ ...HEAD, seq: 0, count: 0 }),
    want: { kind: 'invalid', problem: 'seq: expected a seq from 1' },
  },
  {
    name: 'a head whose seq is text is invalid',
    line: JSON.stringify({ ...HEAD, seq: '6' }),
    want: { kind: 'invalid', problem: 'seq: expected a whole number' },
  },
  {
    name: 'a head whose count differs from its seq is invalid',
    line: JSON.stringify({ ...HEAD, count: 5 }),
    want: { kind: 'invalid', problem: 'count: expected the count to equal the seq' },
  },
  {
    name: 'a head without its time is invalid',
    line: JSON.stringify({ ...HEAD, time: undefined }),
    want: { kind: 'invalid', problem: 'time: expected an ISO 8601 UTC time with milliseconds' },
  },
  {
    name: 'a log line whose head is broken is invalid',
    line: JSON.stringify({ level: 30, [HEAD_LOG_FIELD]: { ...HEAD, hash: 'x' } }),
    want: { kind: 'invalid', problem: 'hash: expected 64 lowercase hex digits' },
  },
];

for (const row of rows) {
  test(row.name, () => {
    assert.deepEqual(readSavedLine(row.line), row.want);
  });
}

test('the line pino writes for a published head is read back as that head', () => {
  let written = '';
  const out = new Writable({
    write(chunk: Buffer, _encoding, done) {
      written += chunk.toString();
      done();
    },
  });
  // As main.ts logs it: the head under HEAD_LOG_FIELD, beside pino's own `time` and `msg`.
  pino({ base: { service: 'kubegate' } }, out).info({ [HEAD_LOG_FIELD]: HEAD }, HEAD_LOG_MESSAGE);
  assert.deepEqual(readSavedLine(written), { kind: 'head', head: { seq: 6, hash: HASH, time: TIME } });
});
