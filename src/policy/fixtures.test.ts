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
