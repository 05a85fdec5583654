// Policy end to end: a real kubegate with the example policy (examples/policy.yaml, its staging
// rule pointed at this run's namespace) in front of the test bed, driven by real kubectl. Deletes
// are allowed in staging and refused in prod with the rule's message; exec into a pod labelled
// sensitive=true stops at the approval seam (the pod's labels are read live, as kubegate itself)
// while exec into another pod goes through, with kubectl 1.33 (WebSocket) and 1.27 (SPDY); the
// policy file is edited on disk and the next request follows it without a restart, while a
// broken edit changes nothing and is reported.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse, stringify } from 'yaml';
import { useTestbed, waitForAuditEvents } from '../fixtures/testbed.js';
import { kubectl, type KubectlResult } from '../fixtures/kubectl.js';
import { kubegate, startGateway, type GatewayHandle } from '../fixtures/gateway.js';
import type { TestbedState } from '../../src/demo/control-plane.js';

const root = resolve(import.meta.dirname, '../..');
const suffix = randomBytes(3).toString('hex');
const staging = `staging-${suffix}`;
const prod = `prod-${suffix}`;

let tb: TestbedState;
let gw: GatewayHandle;
let dir: string;
let policyFile: string;
let goodPolicy: string;
let aliceConfig: string;
let gatewayLog = '';

const admin = (args: string[], stdin?: string): Promise<KubectlResult> =>
  kubectl(args, { kubeconfig: tb.adminKubeconfig, ...(stdin === undefined ? {} : { stdin }) });

function deployment(namespace: string, name: string, podLabels: Record<string, string> = {}): string {
  return JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name, ...podLabels } },
        spec: { containers: [{ name: 'main', image: 'registry.example/app:1' }] },
      },
    },
  });
}

/** Polls `probe` until `done` says yes; fails with the last result after the deadline. */
async function until<T>(
  probe: () => Promise<T>,
  done: (value: T) => boolean,
  what: string,
  ms = 20_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (done(value)) return value;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}; last: ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function runningPod(app: string): Promise<string> {
  const r = await until(
    () =>
      admin([
        'get',
        'pods',
        '-n',
        prod,
        '-l',
        `app=${app}`,
        '--field-selector=status.phase=Running',
        '-o',
        'name',
      ]),
    (x) => x.stdout.trim() !== '',
    `a running ${app} pod`,
    30_000,
  );
  return r.stdout.trim().split('\n')[0]!.replace('pod/', '');
}

before(async () => {
  tb = await useTestbed();
  dir = await mkdtemp(join(tmpdir(), 'kubegate-policy-e2e-'));
  policyFile = join(dir, 'policy.yaml');
  // The example policy as shipped, with its staging rule pointed at this run's staging namespace
  // (the prod rule's `prod*` already matches prod-<suffix>).
  const example = parse(await readFile(join(root, 'examples/policy.yaml'), 'utf8')) as {
    rules: { name: string; match: { namespaces?: string[] } }[];
  };
  const stagingRule = example.rules.find((r) => r.name === 'staging-deletes');
  assert.ok(stagingRule, 'examples/policy.yaml has the staging-deletes rule');
  stagingRule.match.namespaces = [staging];
  goodPolicy = stringify(example);
  await writeFile(policyFile, goodPolicy);

  gw = await startGateway(tb, {
    config: { policy: { file: policyFile }, log: { level: 'info' }, approvals: { holdTimeoutMs: 2000 } },
  });
  gw.process.stderr!.on('data', (d: Buffer) => (gatewayLog += d.toString()));

  for (const ns of [staging, prod]) {
    let r = await admin(['create', 'namespace', ns]);
    assert.equal(r.code, 0, r.stderr);
    r = await admin(['create', 'rolebinding', 'dev-edit', '-n', ns, '--clusterrole=edit', '--group=dev']);
    assert.equal(r.code, 0, r.stderr);
  }
  for (const [ns, name, labels] of [
    [staging, 'web', {}],
    [prod, 'web', {}],
    [prod, 'vault', { sensitive: 'true' }],
    [prod, 'shop', { sensitive: 'false' }],
  ] as const) {
    const r = await admin(['apply', '-f', '-'], deployment(ns, name, labels));
    assert.equal(r.code, 0, r.stderr);
  }
  aliceConfig = await gw.kubeconfigFor('alice', ['dev']);
});

after(async () => {
  await gw?.stop();
  await admin(['delete', 'namespace', staging, prod, '--wait=false']);
  if (dir) await rm(dir, { recursive: true, force: true });
});

const alice = (args: string[], version: '1.27' | '1.33' = '1.33'): Promise<KubectlResult> =>
  kubectl(args, { kubeconfig: aliceConfig, version });

test('kubectl delete deploy is allowed in staging', async () => {
  const r = await alice(['delete', 'deployment', 'web', '-n', staging]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /deployment\.apps "web" deleted/);
});

test("kubectl delete deploy is refused in prod, and kubectl prints the rule's message", async () => {
  const r = await alice(['delete', 'deployment', 'web', '-n', prod]);
  assert.equal(r.code, 1);
  assert.match(
    r.stderr,
    /Error from server \(Forbidden\): .*Deleting deployments in production is not allowed\./,
  );
  const still = await admin(['get', 'deployment', 'web', '-n', prod, '-o', 'name']);
  assert.equal(still.stdout.trim(), 'deployment.apps/web');
  const records = await gw.waitForAudit((x) => x.request?.namespace === prod && x.request.verb === 'delete');
  assert.equal(records[0]?.decision, 'deny');
  assert.deepEqual(records[0]?.rules, ['never-delete-prod-deployments']);
});

for (const version of ['1.33', '1.27'] as const) {
  describe(`exec with kubectl ${version}`, () => {
    test('exec into a pod labelled sensitive=true stops at the approval seam, naming the rule', async () => {
      const pod = await runningPod('vault');
      const r = await alice(['exec', '-n', prod, pod, '--', 'echo', 'secret'], version);
      assert.equal(r.code, 1, r.stdout);
      assert.match(
        r.stderr,
        /Error from server \(ApprovalRequired\): [\s\S]*1 of group security \(rule "sensitive-exec"/,
      );
      assert.equal(r.stdout, '');
    });

    test('exec into another pod goes through', async () => {
      const pod = await runningPod('shop');
      const r = await alice(['exec', '-n', prod, pod, '--', 'echo', `hello-${version}`], version);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, `hello-${version}\n`);
    });
  });
}

test('the exec decisions were audited with the rules that matched', async () => {
  const records = await gw.waitForAudit(
    (x) => x.kind === 'decided' && x.request?.namespace === prod && x.request.subresource === 'exec',
  );
  const byDecision = new Map(records.map((x) => [x.decision, x.rules]));
  assert.deepEqual(byDecision.get('approve'), ['exec-is-allowed', 'sensitive-exec']);
  assert.deepEqual(byDecision.get('allow'), ['exec-is-allowed']);
});

test("the pods' labels were read as kubegate itself, and kept fresh by a watch", async () => {
  const own = (verb: string) =>
    waitForAuditEvents(
      tb,
      (e) =>
        e.user.username === 'kubegate' &&
        e.impersonatedUser === undefined &&
        e.verb === verb &&
        e.objectRef?.resource === 'pods' &&
        e.objectRef.namespace === prod,
    );
  const gets = await own('get');
  assert.ok(
    gets.some((e) => e.objectRef?.name?.startsWith('vault-')),
    'kubegate read the sensitive pod',
  );
  assert.ok((await own('watch')).length > 0, 'kubegate watches the pods of the namespace');
});

test('an edit of the policy file decides the next request without a restart; a broken edit changes nothing', async () => {
  const get = (): Promise<KubectlResult> => alice(['get', 'configmaps', '-n', staging, '-o', 'name']);
  let r = await get();
  assert.equal(r.code, 0, r.stderr);

  // 1. A new deny rule, written in place: the next requests follow it.
  const frozen = parse(goodPolicy) as { rules: unknown[] };
  frozen.rules.push({
    name: 'freeze-staging',
    match: { namespaces: [staging] },
    action: 'deny',
    message: 'Staging is frozen for the release.',
  });
  await writeFile(policyFile, stringify(frozen));
  r = await until(get, (x) => x.code !== 0, 'the freeze to take effect');
  assert.match(r.stderr, /Error from server \(Forbidden\): .*Staging is frozen for the release\./);

  // 2. A broken edit: reported in the log and by `kubegate policy check`, and the freeze stays.
  const logBefore = gatewayLog.length;
  const broken = parse(stringify(frozen)) as { rules: { name: string; action: string }[] };
  broken.rules[6]!.action = 'refuse';
  await writeFile(policyFile, stringify(broken));
  await until(
    () => Promise.resolve(gatewayLog.slice(logBefore)),
    (log) => log.includes('policy reload failed; the last good policy stays'),
    'the reload failure in the gateway log',
  );
  assert.match(gatewayLog.slice(logBefore), /policy\.yaml:\d+:\d+: rules\[6\]\.action/);
  await assert.rejects(
    kubegate(['policy', 'check', policyFile]),
    (err: { code?: number; stderr?: string }) => {
      assert.equal(err.code, 1);
      assert.match(err.stderr ?? '', /rules\[6\]\.action/);
      return true;
    },
  );
  r = await get();
  assert.equal(r.code, 1);
  assert.match(r.stderr, /Staging is frozen for the release\./);

  // 3. Back to the original: reads in staging are free again.
  await writeFile(policyFile, goodPolicy);
  r = await until(get, (x) => x.code === 0, 'the original policy to take effect');
  assert.equal(r.stderr, '');
});

test('SIGHUP reloads the policy, and the reload is logged', async () => {
  const logBefore = gatewayLog.length;
  gw.process.kill('SIGHUP');
  const log = await until(
    () => Promise.resolve(gatewayLog.slice(logBefore)),
    (text) => text.includes('"msg":"policy loaded"'),
    'a policy reload after SIGHUP',
  );
  assert.match(log, /"signal":"SIGHUP".*"msg":"reloading the policy"/);
  const r = await alice(['get', 'configmaps', '-n', staging, '-o', 'name']);
  assert.equal(r.code, 0, r.stderr);
});
