import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { KubegateError } from '../errors.js';
import { policyCheck, policyEval, policyTest } from './commands.js';

const POLICY = `apiVersion: kubegate.dev/v1alpha1
kind: Policy
defaults: {action: deny}
rules:
  - name: staging-deletes
    match: {verbs: [delete], resources: [deployments], namespaces: [staging]}
    action: allow
  - name: sensitive-exec
    match: {resources: [pods/exec], objectSelector: {matchLabels: {sensitive: "true"}}}
    action: approve
    approval: {approvers: ["group:security"], escalateAfter: 30m, escalateTo: ["group:sre"]}
`;

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kubegate-policy-commands-'));
  await writeFile(join(dir, 'policy.yaml'), POLICY);
  await writeFile(
    join(dir, 'broken.yaml'),
    'apiVersion: kubegate.dev/v1alpha1\nkind: Policy\ndefaults: {action: deny}\nrules: 3\n',
  );
  await mkdir(join(dir, 'tests'));
  await writeFile(
    join(dir, 'tests', 'cases.yaml'),
    `policy: ../policy.yaml
cases:
  - name: staging deletes pass
    method: DELETE
    path: /apis/apps/v1/namespaces/staging/deployments/web
    expect: {decision: allow, rules: [staging-deletes]}
  - name: prod deletes pass too (wrong on purpose)
    method: DELETE
    path: /apis/apps/v1/namespaces/prod/deployments/web
    expect: {decision: allow}
`,
  );
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('policy check says how many rules a valid file has', async () => {
  assert.deepEqual(await policyCheck([join(dir, 'policy.yaml')]), {
    ok: true,
    output: `${join(dir, 'policy.yaml')}: valid, 2 rules`,
  });
});

test('policy check lists the errors of every file and fails', async () => {
  const result = await policyCheck([
    join(dir, 'policy.yaml'),
    join(dir, 'broken.yaml'),
    join(dir, 'missing.yaml'),
  ]);
  assert.equal(result.ok, false);
  assert.equal(
    result.output,
    [
      `${join(dir, 'policy.yaml')}: valid, 2 rules`,
      `${join(dir, 'broken.yaml')}:4:8: rules: rules must be a list, not 3`,
      `${join(dir, 'missing.yaml')}: cannot read: ENOENT`,
    ].join('\n'),
  );
});

test('policy eval prints the request, the decision and the approval', async () => {
  const output = await policyEval({
    policy: join(dir, 'policy.yaml'),
    method: 'GET',
    path: '/api/v1/namespaces/default/pods/vault-0/exec?command=sh&container=c&stdin=true',
    user: 'alice',
    groups: ['dev'],
    objectLabels: 'sensitive=true,app=vault',
    headers: ['Upgrade: websocket', 'Connection: Upgrade'],
    now: new Date(0),
  });
  assert.deepEqual(JSON.parse(output), {
    request: {
      verb: 'create',
      apiGroup: '',
      apiVersion: 'v1',
      resource: 'pods',
      subresource: 'exec',
      namespace: 'default',
      name: 'vault-0',
      labelSelector: '',
      fieldSelector: '',
    },
    decision: 'approve',
    rules: [{ name: 'sensitive-exec', action: 'approve' }],
    approval: {
      requirements: [
        {
          rule: 'sensitive-exec',
          stages: [{ name: 'approval', approvers: ['group:security'], count: 1 }],
          escalateAfter: '30m',
          escalateTo: ['group:sre'],
          expiresAfter: null,
          mode: 'hold',
          grantTTL: null,
          breakGlass: false,
        },
      ],
    },
    message: null,
  });
});

test('policy eval reports a request the parser refuses as reject', async () => {
  const report = JSON.parse(
    await policyEval({
      policy: join(dir, 'policy.yaml'),
      method: 'GET',
      path: '/api/v1/namespaces/a/pods/%2e%2e',
    }),
  ) as { request: unknown; decision: string; rules: unknown; approval: unknown; message: unknown };
  assert.deepEqual(
    { request: report.request, decision: report.decision, rules: report.rules, approval: report.approval },
    { request: null, decision: 'reject', rules: [], approval: null },
  );
  assert.equal(typeof report.message, 'string');
});

test('policy eval refuses to evaluate against a broken policy', async () => {
  await assert.rejects(
    policyEval({ policy: join(dir, 'broken.yaml'), method: 'GET', path: '/api' }),
    (err: unknown) => err instanceof KubegateError && err.code === 'KG_CONFIG_INVALID',
  );
});

test('policy test runs fixtures, skips the policy beside them and shows each mismatch', async () => {
  const result = await policyTest(dir, { now: new Date(0) });
  assert.equal(result.ok, false);
  assert.equal(
    result.output,
    [
      join(dir, 'tests', 'cases.yaml'),
      '  ✓ staging deletes pass',
      '  ✗ prod deletes pass too (wrong on purpose)',
      '      decision: want allow, got deny',
      '',
      '1 passed, 1 failed',
    ].join('\n'),
  );
});

test('policy test fails when there are no fixtures', async () => {
  const empty = await mkdtemp(join(tmpdir(), 'kubegate-policy-empty-'));
  try {
    assert.deepEqual(await policyTest(empty), { ok: false, output: `${empty}: no fixture files found` });
  } finally {
    await rm(empty, { recursive: true, force: true });
  }
});
