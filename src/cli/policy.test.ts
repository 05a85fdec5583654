// The real `kubegate policy …` commands, run as a process (`node --import tsx src/cli/main.ts`):
// what they print, where, and their exit codes.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';

const root = resolve(import.meta.dirname, '../..');
const cli = join(root, 'src/cli/main.ts');

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function kubegate(args: readonly string[]): Promise<Run> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['--import', 'tsx', cli, ...args], { cwd: root });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', fail);
    child.on('close', (code) => done({ code: code ?? -1, stdout, stderr }));
  });
}

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
    approval: {approvers: ["group:security"]}
  - name: big-deployments
    match: {verbs: [create], resources: [deployments], when: "body.spec.replicas > 10"}
    action: deny
    message: Too many replicas.
`;

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kubegate-cli-policy-'));
  await writeFile(join(dir, 'policy.yaml'), POLICY);
  await writeFile(
    join(dir, 'broken.yaml'),
    'apiVersion: kubegate.dev/v1alpha1\nkind: Policy\ndefaults: {action: deny}\nrules:\n  - name: x\n    match: {verbs: [destroy]}\n    action: allow\n',
  );
  await writeFile(
    join(dir, 'body.json'),
    JSON.stringify({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web' },
      spec: { replicas: 50 },
    }),
  );
  for (const [folder, expectProd] of [
    ['good', 'deny'],
    ['bad', 'allow'],
  ] as const) {
    await mkdir(join(dir, folder));
    await writeFile(
      join(dir, folder, 'cases.yaml'),
      `policy: ../policy.yaml
cases:
  - name: staging deletes pass
    method: DELETE
    path: /apis/apps/v1/namespaces/staging/deployments/web
    expect: {decision: allow, rules: [staging-deletes]}
  - name: prod deletes fall to the defaults
    method: DELETE
    path: /apis/apps/v1/namespaces/prod/deployments/web
    expect: {decision: ${expectProd}}
`,
    );
  }
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('policy check exits 0 and counts the rules of a valid file', async () => {
  const r = await kubegate(['policy', 'check', join(dir, 'policy.yaml')]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, `${join(dir, 'policy.yaml')}: valid, 3 rules\n`);
});

test('policy check exits 1 and names the file, line, column and field of each error', async () => {
  const r = await kubegate(['policy', 'check', join(dir, 'policy.yaml'), join(dir, 'broken.yaml')]);
  assert.equal(r.code, 1);
  assert.match(
    r.stderr,
    new RegExp(`${join(dir, 'broken.yaml')}:6:\\d+: rules\\[0\\]\\.match\\.verbs\\[0\\]: `),
  );
});

test('policy check exits 1 for a file that cannot be read', async () => {
  const r = await kubegate(['policy', 'check', join(dir, 'missing.yaml')]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /missing\.yaml: cannot read: ENOENT/);
});

test('policy eval prints one JSON object with the deciding rule and exits 0', async () => {
  const r = await kubegate([
    'policy',
    'eval',
    '--policy',
    join(dir, 'policy.yaml'),
    '--method',
    'GET',
    '--path',
    '/api/v1/namespaces/d/pods/p/exec?command=sh&stdin=true',
    '--user',
    'alice',
    '--group',
    'dev',
    '--group',
    'oncall',
    '--object-labels',
    'sensitive=true,app=db',
    '--header',
    'Upgrade: websocket',
    '--header',
    'Connection: Upgrade',
  ]);
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout) as Record<string, unknown>;
  assert.deepEqual(report.request, {
    verb: 'create',
    apiGroup: '',
    apiVersion: 'v1',
    resource: 'pods',
    subresource: 'exec',
    namespace: 'd',
    name: 'p',
    labelSelector: '',
    fieldSelector: '',
  });
  assert.equal(report.decision, 'approve');
  assert.deepEqual(report.rules, [{ name: 'sensitive-exec', action: 'approve' }]);
  assert.deepEqual(
    (report.approval as { requirements: { rule: string }[] }).requirements[0]?.rule,
    'sensitive-exec',
  );
});

test('policy eval reads the body from --body', async () => {
  const r = await kubegate([
    'policy',
    'eval',
    '--policy',
    join(dir, 'policy.yaml'),
    '--method',
    'POST',
    '--path',
    '/apis/apps/v1/namespaces/d/deployments',
    '--header',
    'Content-Type: application/json',
    '--body',
    join(dir, 'body.json'),
  ]);
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout) as { decision: string; message: string };
  assert.equal(report.decision, 'deny');
  assert.equal(report.message, 'Too many replicas.');
});

test('policy eval reports a request kubegate refuses to parse as "reject" and still exits 0', async () => {
  const r = await kubegate([
    'policy',
    'eval',
    '--policy',
    join(dir, 'policy.yaml'),
    '--method',
    'GET',
    '--path',
    '/api/v1/namespaces/d/../kube-system/secrets',
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal((JSON.parse(r.stdout) as { decision: string }).decision, 'reject');
});

test('policy eval exits 1 without output on stdout when the policy does not load', async () => {
  const r = await kubegate([
    'policy',
    'eval',
    '--policy',
    join(dir, 'broken.yaml'),
    '--method',
    'GET',
    '--path',
    '/api',
  ]);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /broken\.yaml:6:\d+: rules\[0\]\.match\.verbs\[0\]/);
});

test('policy eval exits 1 when a required option is missing', async () => {
  const r = await kubegate(['policy', 'eval', '--policy', join(dir, 'policy.yaml'), '--method', 'GET']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /--path/);
});

test('policy test exits 0 when every fixture matches', async () => {
  const r = await kubegate(['policy', 'test', join(dir, 'good')]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /2 passed, 0 failed/);
});

test('policy test exits 1 on a mismatch and shows what was wanted and what came out', async () => {
  const r = await kubegate(['policy', 'test', join(dir, 'bad')]);
  assert.equal(r.code, 1);
  assert.match(r.stdout, /✗ prod deletes fall to the defaults\n\s+decision: want allow, got deny/);
  assert.match(r.stdout, /1 passed, 1 failed/);
});

test('policy test runs the examples shipped with kubegate', async () => {
  const r = await kubegate(['policy', 'test', join(root, 'examples/tests')]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, / 0 failed$/m);
});

test('policy test exits 1 for a folder without fixtures', async () => {
  const empty = join(dir, 'empty');
  await mkdir(empty);
  const r = await kubegate(['policy', 'test', empty]);
  assert.equal(r.code, 1);
  assert.match(r.stdout, /no fixture files found/);
});
