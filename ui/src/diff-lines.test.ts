import assert from 'node:assert/strict';
import { test } from 'node:test';
import { classifyDiff, diffStats, type DiffLineKind } from './diff-lines.js';

const kinds = (diff: string): string[] => classifyDiff(diff).map((l) => `${l.kind} ${l.text}`);

const rows: readonly { name: string; input: string; want: readonly string[] }[] = [
  { name: 'an empty diff has no lines', input: '', want: [] },
  {
    name: 'file headers, a hunk, context, removed and added lines',
    input: '--- live\n+++ dry-run\n@@ -1,3 +1,3 @@\n a: 1\n-b: 2\n+b: 3\n c: 4\n',
    want: [
      'header --- live',
      'header +++ dry-run',
      'hunk @@ -1,3 +1,3 @@',
      'context  a: 1',
      'del -b: 2',
      'add +b: 3',
      'context  c: 4',
    ],
  },
  {
    name: 'a removed YAML separator (----) inside a hunk is a removed line, not a header',
    input: '--- live\n+++ dry-run\n@@ -1,3 +1,2 @@\n a: 1\n-b: 2\n----\n+b: 3\n',
    want: [
      'header --- live',
      'header +++ dry-run',
      'hunk @@ -1,3 +1,2 @@',
      'context  a: 1',
      'del -b: 2',
      'del ----',
      'add +b: 3',
    ],
  },
  {
    name: 'an added line that starts with +++ inside a hunk is an added line',
    input: '@@ -0,0 +1,1 @@\n+++ x\n',
    want: ['hunk @@ -0,0 +1,1 @@', 'add +++ x'],
  },
  {
    name: 'a count left out means one line',
    input: '@@ -3 +3 @@\n-x\n+y\n',
    want: ['hunk @@ -3 +3 @@', 'del -x', 'add +y'],
  },
  {
    name: 'the no-newline marker and the cut notice are meta lines',
    input: '@@ -1,1 +1,1 @@\n-x\n\\ No newline at end of file\n+y\n… (diff cut here: 3 more lines)\n',
    want: [
      'hunk @@ -1,1 +1,1 @@',
      'del -x',
      'meta \\ No newline at end of file',
      'add +y',
      'meta … (diff cut here: 3 more lines)',
    ],
  },
  {
    name: 'two hunks',
    input: '@@ -1,1 +1,1 @@\n-a\n+b\n@@ -9,2 +9,1 @@\n c\n-d\n',
    want: ['hunk @@ -1,1 +1,1 @@', 'del -a', 'add +b', 'hunk @@ -9,2 +9,1 @@', 'context  c', 'del -d'],
  },
];

for (const row of rows) {
  test(`classifyDiff: ${row.name}`, () => assert.deepEqual(kinds(row.input), row.want));
}

test('classifyDiff numbers lines on both sides', () => {
  const lines = classifyDiff('@@ -10,3 +10,3 @@\n a\n-b\n+c\n d\n');
  const numbers = lines.map(
    (l) => [l.kind, l.oldLine, l.newLine] as [DiffLineKind, number | null, number | null],
  );
  assert.deepEqual(numbers, [
    ['hunk', null, null],
    ['context', 10, 10],
    ['del', 11, null],
    ['add', null, 11],
    ['context', 12, 12],
  ]);
});

test('classifyDiff numbers a whole new object from line 1', () => {
  const lines = classifyDiff('--- live\n+++ dry-run\n@@ -0,0 +1,2 @@\n+a: 1\n+b: 2\n');
  assert.deepEqual(
    lines.filter((l) => l.kind === 'add').map((l) => l.newLine),
    [1, 2],
  );
});

test('diffStats counts added and removed lines', () => {
  assert.deepEqual(diffStats(classifyDiff('@@ -1,2 +1,1 @@\n-a\n-b\n+c\n')), { added: 1, removed: 2 });
});
