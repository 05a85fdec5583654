// yamlDiff: what a reviewer reads between the live object and the dry-run result.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_DIFF_CHARS, withoutNoise, yamlDiff } from './diff.js';

const live = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: {
    name: 'web',
    namespace: 'prod',
    resourceVersion: '100',
    generation: 3,
    labels: { app: 'web' },
    managedFields: [{ manager: 'kubectl', operation: 'Update' }],
  },
  spec: { replicas: 2, template: { spec: { containers: [{ name: 'main', image: 'app:1' }] } } },
};

const scaled = {
  ...live,
  metadata: { ...live.metadata, resourceVersion: '101', generation: 4 },
  spec: { ...live.spec, replicas: 5 },
};

interface Row {
  readonly name: string;
  readonly before: unknown;
  readonly after: unknown;
  readonly want: string;
}

const rows: readonly Row[] = [
  {
    name: 'a changed field shows as one removed and one added line, with context',
    before: live,
    after: scaled,
    want: [
      '--- live',
      '+++ dry-run',
      '@@ -6,7 +6,7 @@',
      '   labels:',
      '     app: web',
      ' spec:',
      '-  replicas: 2',
      '+  replicas: 5',
      '   template:',
      '     spec:',
      '       containers:',
      '',
    ].join('\n'),
  },
  {
    name: 'only resourceVersion, generation and managedFields differing is no change at all',
    before: live,
    after: {
      ...live,
      metadata: { ...live.metadata, resourceVersion: '999', generation: 9, managedFields: [] },
    },
    want: '',
  },
  {
    name: 'a deleted object shows every line removed',
    before: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { k: 'v' } },
    after: null,
    want: [
      '--- live',
      '+++ dry-run',
      '@@ -1,6 +0,0 @@',
      '-apiVersion: v1',
      '-kind: ConfigMap',
      '-metadata:',
      '-  name: c',
      '-data:',
      '-  k: v',
      '',
    ].join('\n'),
  },
  {
    name: 'a created object shows every line added',
    before: null,
    after: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', resourceVersion: '1' } },
    want: [
      '--- live',
      '+++ dry-run',
      '@@ -0,0 +1,4 @@',
      '+apiVersion: v1',
      '+kind: ConfigMap',
      '+metadata:',
      '+  name: c',
      '',
    ].join('\n'),
  },
  {
    name: 'a multi-line string changes line by line, not as one escaped string',
    before: { data: { script: 'echo one\necho two\necho three\n' } },
    after: { data: { script: 'echo one\necho 2\necho three\n' } },
    want: [
      '--- live',
      '+++ dry-run',
      '@@ -1,5 +1,5 @@',
      ' data:',
      '   script: |',
      '     echo one',
      '-    echo two',
      '+    echo 2',
      '     echo three',
      '',
    ].join('\n'),
  },
  {
    name: 'two absent objects are no change',
    before: null,
    after: null,
    want: '',
  },
];

for (const row of rows) {
  test(row.name, () => {
    assert.equal(yamlDiff(row.before, row.after), row.want);
  });
}

test('the labels name the two sides', () => {
  const text = yamlDiff({ a: 1 }, { a: 2 }, { before: 'live/web', after: 'dry-run/web' });
  assert.match(text, /^--- live\/web\n\+\+\+ dry-run\/web\n/u);
});

test('withoutNoise leaves the input untouched and keeps every other metadata field', () => {
  const stripped = withoutNoise(live) as typeof live;
  assert.deepEqual(stripped.metadata, { name: 'web', namespace: 'prod', labels: { app: 'web' } });
  assert.equal(live.metadata.resourceVersion, '100');
  assert.equal(withoutNoise('text'), 'text');
});

const big = (v: string, n: number): Record<string, string> =>
  Object.fromEntries(Array.from({ length: n }, (_, i) => [`key${i}`, `${v}${i}`]));

test('objects that differ everywhere are shown as the old removed and the new added, quickly', () => {
  const started = performance.now();
  const text = yamlDiff({ data: big('a', 3_000) }, { data: big('b', 3_000) });
  assert.ok(performance.now() - started < 5_000, 'a worst-case diff must not hold the event loop');
  assert.match(text, /^--- live\n\+\+\+ dry-run\n@@ -1,3001 \+1,3001 @@\n-data:\n- {2}key0: a0\n/u);
  assert.match(text, /\n\+data:\n\+ {2}key0: b0\n/u);
});

test('a diff longer than the limit is cut at a line end and says how much is missing', () => {
  const text = yamlDiff({ data: big('a', 30_000) }, { data: big('b', 30_000) });
  assert.ok(text.length <= MAX_DIFF_CHARS + 100, `length ${text.length}`);
  assert.match(text, /\n… \(diff cut here: \d+ more lines\)\n$/u);
});
