import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  approverLabel,
  formatAge,
  formatRelative,
  formatSpan,
  formatTime,
  objectRef,
  resourceRef,
  shellQuote,
  shortHash,
} from './format.js';

const spans: readonly { name: string; input: number; want: string }[] = [
  { name: 'under five seconds is just now', input: 4_999, want: 'just now' },
  { name: 'seconds', input: 42_000, want: '42s' },
  { name: 'minutes', input: 5 * 60_000 + 59_000, want: '5m' },
  { name: 'whole hours', input: 2 * 3_600_000, want: '2h' },
  { name: 'hours and minutes', input: 3 * 3_600_000 + 20 * 60_000, want: '3h 20m' },
  { name: 'whole days', input: 48 * 3_600_000, want: '2d' },
  { name: 'days and hours', input: 52 * 3_600_000 + 59 * 60_000, want: '2d 4h' },
];
for (const row of spans) {
  test(`formatSpan: ${row.name}`, () => assert.equal(formatSpan(row.input), row.want));
}

test('formatAge measures from the given now and never goes negative', () => {
  const now = Date.parse('2025-05-01T12:00:00Z');
  assert.equal(formatAge('2025-05-01T11:55:00Z', now), '5m');
  assert.equal(formatAge('2025-05-01T12:00:30Z', now), 'just now');
  assert.equal(formatAge('not a time', now), '');
});

test('formatRelative says which side of now a time is on', () => {
  const now = Date.parse('2025-05-01T12:00:00Z');
  assert.equal(formatRelative('2025-05-01T12:04:00Z', now), 'in 4m');
  assert.equal(formatRelative('2025-05-01T11:00:00Z', now), '1h ago');
  assert.equal(formatRelative('2025-05-01T12:00:01Z', now), 'just now');
});

test('formatTime writes local time without a locale', () => {
  const d = new Date(2025, 0, 2, 3, 4, 5);
  assert.equal(formatTime(d.toISOString()), '2025-01-02 03:04:05');
  assert.equal(formatTime(null), '');
  assert.equal(formatTime('garbage'), 'garbage');
});

test('shortHash keeps short hashes whole', () => {
  assert.equal(shortHash('abc'), 'abc');
  assert.equal(shortHash('0123456789abcdef'), '0123456789ab…');
});

test('approverLabel reads kind:name and Approver objects', () => {
  assert.equal(approverLabel('group:sre'), 'group sre');
  assert.equal(approverLabel('user:bob'), 'bob');
  assert.equal(approverLabel({ kind: 'group', name: 'security' }), 'group security');
  assert.equal(approverLabel({ kind: 'user', name: 'carol' }), 'carol');
});

test('objectRef and resourceRef join what is there', () => {
  assert.equal(objectRef('prod', 'db'), 'prod/db');
  assert.equal(objectRef('prod', ''), 'prod');
  assert.equal(objectRef(null, 'node-1'), 'node-1');
  assert.equal(objectRef(null, null), '');
  assert.equal(resourceRef('pods', 'exec'), 'pods/exec');
  assert.equal(resourceRef('pods', ''), 'pods');
});

const quoting: readonly { name: string; input: readonly string[]; want: string }[] = [
  { name: 'plain words stay as they are', input: ['ls', '-la', '/tmp'], want: 'ls -la /tmp' },
  { name: 'a word with a space is quoted', input: ['sh', '-c', 'cat /etc/x'], want: "sh -c 'cat /etc/x'" },
  { name: 'an empty word is quoted', input: ['echo', ''], want: "echo ''" },
  { name: 'a single quote is escaped', input: ['echo', "it's"], want: "echo 'it'\\''s'" },
  { name: 'shell characters are quoted', input: ['sh', '-c', 'a;b|c$HOME'], want: "sh -c 'a;b|c$HOME'" },
];
for (const row of quoting) {
  test(`shellQuote: ${row.name}`, () => assert.equal(shellQuote(row.input), row.want));
}
