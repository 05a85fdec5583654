import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runCase, runFixtureFile } from './fixtures.js';
import type { FixtureCase } from './fixtures.js';
import { loadPolicy } from './load.js';

const examples = fileURLToPath(new URL('../../examples/', import.meta.url));
const readText = (path: string): Promise<string> => readFile(path, 'utf8');
const now = new Date('2026-01-05T10:00:00Z');

// Every case of every example fixture is one test, named by the case.
const fixtureDir = join(examples, 'tests');
for (const entry of (await readdir(fixtureDir)).filter((f) => f.endsWith('.yaml')).sort()) {
  const result = await runFixtureFile(join(fixtureDir, entry), { readFile: readText, now });
  test(`${entry} loads and runs`, () => {
    assert.deepEqual(result.errors, []);
  });
  for (const c of result.cases) {
    test(`${entry}: ${c.name}`, () => {
      assert.deepEqual(c.diff, []);
    });
  }
}

const loaded = loadPolicy(await readText(join(examples, 'policy.yaml')), 'examples/policy.yaml');
if (!loaded.ok) throw new Error('examples/policy.yaml does not load');
const policy = loaded.policy;

const base: FixtureCase = {
  name: 'case',
  method: 'DELETE',
  path: '/apis/apps/v1/namespaces/prod/deployments/web',
  expect: { decision: 'deny' },
};

// The parser's own wording is not this module's to assert: a RegExp row matches its line loosely.
const diffRows: readonly { name: string; input: FixtureCase; want: readonly (string | RegExp)[] }[] = [
  {
    name: 'a matching case has no diff',
    input: { ...base, expect: { decision: 'deny', rules: ['never-delete-prod-deployments'] } },
    want: [],
  },
  {
    name: 'a wrong decision and wrong rules are both shown',
    input: { ...base, expect: { decision: 'allow', rules: ['staging-deletes'] } },
    want: [
      'decision: want allow, got deny',
      'rules:    want [staging-deletes], got [never-delete-prod-deployments]',
    ],
  },
  {
    name: 'a wrong message is shown with both texts',
    input: { ...base, expect: { decision: 'deny', message: 'No.' } },
    want: ['message:  want "No."', '          got  "Deleting deployments in production is not allowed."'],
  },
  {
    name: 'an unexpected reject says why the request was rejected',
    input: { ...base, path: '/apis/apps/v1/namespaces/prod//deployments/web' },
    want: [
      'decision: want deny, got reject',
      /^\(the request was rejected before policy: kubegate refused the request path .+\)$/u,
    ],
  },
  {
    name: 'the approvals each requirement asks for are compared, in policy order',
    input: {
      ...base,
      method: 'PATCH',
      path: '/apis/apps/v1/namespaces/data/statefulsets/vault',
      headers: { 'Content-Type': 'application/merge-patch+json' },
      body: { spec: { replicas: 3 } },
      object: { spec: { template: { metadata: { labels: { sensitive: 'true' } } } } },
      expect: { decision: 'approve', approvals: ['1 of group:sre'] },
    },
    want: ['approvals: want [1 of group:sre], got [2 of group:sre, 1 of group:security]'],
  },
  {
    name: 'matching approvals leave no diff',
    input: {
      ...base,
      method: 'GET',
      path: '/api/v1/nodes/node-1/proxy/stats/summary',
      expect: { decision: 'approve', approvals: ['1 of group:security'] },
    },
    want: [],
  },
];

for (const row of diffRows) {
  test(row.name, () => {
    const diff = runCase(policy, row.input, now).diff;
    assert.equal(diff.length, row.want.length);
    row.want.forEach((want, i) => {
      if (typeof want === 'string') assert.equal(diff[i], want);
      else assert.match(diff[i] ?? '', want);
    });
  });
}

test('a fixture file whose policy does not load reports the policy errors', async () => {
  const files: Record<string, string> = {
    '/f/tests/a.yaml':
      'policy: ../bad.yaml\ncases:\n  - {name: x, method: GET, path: /api, expect: {decision: allow}}\n',
    '/f/bad.yaml': 'apiVersion: kubegate.dev/v1alpha1\nkind: Policy\ndefaults: {action: maybe}\nrules: []\n',
  };
  const readFake = (p: string): Promise<string> => {
    const text = files[p];
    return text === undefined ? Promise.reject(new Error(p)) : Promise.resolve(text);
  };
  const result = await runFixtureFile('/f/tests/a.yaml', { readFile: readFake, now });
  assert.deepEqual(result.errors, [
    '/f/tests/a.yaml: its policy does not load:',
    '/f/bad.yaml:3:20: defaults.action: "maybe" is not an action (allow, deny or approve)',
  ]);
});

test('a requirement with stages is written stage by stage, joined with "then"', () => {
  const staged = loadPolicy(
    [
      'apiVersion: kubegate.dev/v1alpha1',
      'kind: Policy',
      'defaults:',
      '  action: approve',
      '  approval:',
      '    stages:',
      '      - { name: leads, approvers: ["group:leads", "user:ann"], count: 1 }',
      '      - { name: sre, approvers: ["group:sre"], count: 2 }',
      'rules: []',
    ].join('\n'),
    'staged.yaml',
  );
  if (!staged.ok) throw new Error('the staged policy does not load');
  const c: FixtureCase = { ...base, expect: { decision: 'approve', approvals: [] } };
  assert.deepEqual(runCase(staged.policy, c, now).diff, [
    'approvals: want [], got [1 of group:leads or user:ann then 2 of group:sre]',
  ]);
});
