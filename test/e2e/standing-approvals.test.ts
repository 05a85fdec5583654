// Standing approvals end to end: a real kubegate in front of the test bed, a policy whose
// statefulset rule allows standing approvals of identical requests (1h at most) and whose
// sensitive-exec rule allows them for the rule (30m at most), real kubectl 1.33 and 1.27.
// An SRE approves a held `kubectl scale` with `--standing`: the same scale again goes through at
// once, another replica count waits. Security approves a held exec (kubectl 1.27, SPDY) for the
// rule: another command, and another sensitive pod of the namespace, go through at once; once
// revoked, exec waits again. A standing approval the rule does not allow, or longer than it
// allows, is refused and the request stays pending. The trail records each use and the revocation.
// In the web UI (chromium), security gives a standing approval with the approval, sees it on the
// request page, and revokes it there.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { stringify } from 'yaml';
import type { PendingRequest } from '../../src/approvals/types.js';
import type { TestbedState } from '../../src/demo/control-plane.js';
import type { Browser } from 'playwright-core';
import { launchBrowser, signedInWithToken } from '../fixtures/browser.js';
import { startGateway, type GatewayHandle } from '../fixtures/gateway.js';
import { kubectl, startKubectl, type KubectlResult, type KubectlVersion } from '../fixtures/kubectl.js';
import { reviewerOf, type Reviewer } from '../fixtures/reviewer.js';
import { useTestbed } from '../fixtures/testbed.js';
import { statefulsetManifest, waitPodRunning } from '../fixtures/workloads.js';

const ns = `standing-${randomBytes(3).toString('hex')}`;

let tb: TestbedState;
let gw: GatewayHandle;
let alice: string;
let bob: Reviewer; // sre
let sec: Reviewer; // security
let browser: Browser | undefined;

const admin = (args: string[], stdin?: string): Promise<KubectlResult> =>
  kubectl(args, { kubeconfig: tb.adminKubeconfig, ...(stdin === undefined ? {} : { stdin }) });
const asAlice = (args: string[], version: KubectlVersion): Promise<KubectlResult> =>
  kubectl(args, { kubeconfig: alice, version, timeoutMs: 60_000 });

const pendingFor = (resource: string, name: string) => (p: PendingRequest) =>
  p.state === 'pending' &&
  p.requester.user === 'alice' &&
  p.request.resource === resource &&
  p.request.name === name;

before(async () => {
  tb = await useTestbed();
  const policyFile = join(tb.dir, `standing-policy-${ns}.yaml`);
  await writeFile(
    policyFile,
    stringify({
      apiVersion: 'kubegate.dev/v1alpha1',
      kind: 'Policy',
      defaults: { action: 'allow' },
      rules: [
        {
          name: 'statefulsets-need-sre',
          match: {
            verbs: ['update', 'patch'],
            resources: ['statefulsets', 'statefulsets/*'],
            namespaces: [ns],
          },
          action: 'approve',
          approval: {
            approvers: ['group:sre'],
            standing: { maxDuration: '1h', scope: 'identical' },
          },
        },
        {
          name: 'sensitive-exec',
          match: {
            resources: ['pods/exec'],
            namespaces: [ns],
            objectSelector: { matchLabels: { sensitive: 'true' } },
          },
          action: 'approve',
          approval: { approvers: ['group:security'], standing: { maxDuration: '30m', scope: 'rule' } },
        },
        {
          name: 'configmaps-no-standing',
          match: { verbs: ['delete'], resources: ['configmaps'], namespaces: [ns] },
          action: 'approve',
          approval: { approvers: ['group:sre'] },
        },
      ],
    }),
  );
  gw = await startGateway(tb, {
    config: { policy: { file: policyFile }, approvals: { holdTimeoutMs: 5 * 60_000 } },
  });
  for (const args of [
    ['create', 'namespace', ns],
    ['create', 'rolebinding', 'dev-edit', '-n', ns, '--clusterrole=edit', '--group=dev'],
    ['run', 'vault', '-n', ns, '--image=registry.example/vault:1', '--labels=sensitive=true'],
    ['run', 'vault2', '-n', ns, '--image=registry.example/vault:1', '--labels=sensitive=true'],
    ['create', 'configmap', 'settings', '-n', ns],
  ]) {
    const r = await admin(args);
    assert.equal(r.code, 0, r.stderr);
  }
  const r = await admin(['apply', '-f', '-'], statefulsetManifest('db', ns));
  assert.equal(r.code, 0, r.stderr);
  await waitPodRunning(admin, ns, 'vault');
  await waitPodRunning(admin, ns, 'vault2');
  alice = await gw.kubeconfigFor('alice', ['dev']);
  bob = await reviewerOf(gw, await gw.kubeconfigFor('bob', ['sre']));
  sec = await reviewerOf(gw, await gw.kubeconfigFor('sec', ['security']));
});

after(async () => {
  await browser?.close();
  await bob?.close();
  await sec?.close();
  await gw?.stop();
  await admin(['delete', 'namespace', ns, '--wait=false']);
});

/** Starts `args` as alice, waits until `reviewer` sees it held, and returns both. */
async function held(
  args: string[],
  version: KubectlVersion,
  reviewer: Reviewer,
  resource: string,
  name: string,
): Promise<{ run: ReturnType<typeof startKubectl>; pending: PendingRequest }> {
  const run = startKubectl(args, { kubeconfig: alice, version });
  try {
    return { run, pending: await reviewer.waitFor(pendingFor(resource, name), 60_000) };
  } catch (err) {
    run.stop();
    throw new Error(`${String(err)}\nkubectl: ${run.output()}`, { cause: err });
  }
}

test('identical: the same kubectl scale goes through again at once; another replica count waits', async () => {
  const scale = ['scale', 'statefulset', 'db', '-n', ns, '--replicas=2'];
  const first = await held(scale, '1.33', bob, 'statefulsets', 'db');
  try {
    // Longer than the rule allows: refused, and nothing changes.
    let r = await bob.cli(['approve', first.pending.id, '--standing', '2h']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /at most 1h/u);
    assert.equal((await bob.requests()).find((p) => p.id === first.pending.id)?.state, 'pending');
    r = await bob.cli(['approve', first.pending.id, '--standing', '30m']);
    assert.equal(r.code, 0, r.stderr);
    await first.run.waitFor(/statefulset.apps\/db scaled/u, 30_000);
  } finally {
    first.run.stop();
  }
  const shown = await bob.cli(['show', first.pending.id]);
  assert.match(
    shown.stdout,
    /Standing: +covers the same request again until .*, given by bob; used 1 time /u,
  );
  for (const version of ['1.33', '1.27'] as const) {
    const again = await asAlice(scale, version);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /statefulset.apps\/db scaled/u);
    // kubectl prints the gateway's Warning: who approved, and the standing approval that let it through.
    assert.match(
      again.stderr,
      /Warning: approved by bob after \S+ \(kg-\w+\); a standing approval until \S+ let it through \(use \d\)/u,
    );
  }
  const uses = (await gw.auditRecords()).filter(
    (e) => e.kind === 'granted' && e.pendingId === first.pending.id,
  );
  assert.deepEqual(
    uses.map((e) => e.standing?.uses),
    [1, 2, 3],
    'the held run and each re-run through the standing approval are recorded',
  );
  // Another body: not covered.
  const other = await held(
    ['scale', 'statefulset', 'db', '-n', ns, '--replicas=5'],
    '1.33',
    bob,
    'statefulsets',
    'db',
  );
  other.run.stop();
  assert.notEqual(other.pending.id, first.pending.id);
});

test('rule: exec with another command and into another sensitive pod goes through; revoked, it waits again', async () => {
  const first = await held(['exec', '-n', ns, 'vault', '--', 'echo', 'one'], '1.27', sec, 'pods', 'vault');
  let id: string;
  try {
    id = first.pending.id;
    const r = await sec.cli(['approve', id, '--standing', '10m', '--scope', 'rule']);
    assert.equal(r.code, 0, r.stderr);
    await first.run.waitFor(/one/u, 30_000);
  } finally {
    first.run.stop();
  }
  for (const [pod, word] of [
    ['vault', 'two'],
    ['vault2', 'three'],
  ] as const) {
    const r = await asAlice(['exec', '-n', ns, pod, '--', 'echo', word], '1.27');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(word, 'u'));
  }
  // Revoked by the reviewer: the next exec waits for a new approval.
  const revoked = await sec.cli(['revoke', id]);
  assert.equal(revoked.code, 0, revoked.stderr);
  const trail = await gw.waitForAudit((e) => e.kind === 'revoked' && e.pendingId === id);
  assert.equal(trail[0]?.actor, 'sec');
  const after = await held(['exec', '-n', ns, 'vault', '--', 'echo', 'four'], '1.27', sec, 'pods', 'vault');
  after.run.stop();
  assert.notEqual(after.pending.id, id);
});

test('a standing approval where the rule allows none is refused with the reason; the request stays pending', async () => {
  const del = await held(
    ['delete', 'configmap', 'settings', '-n', ns],
    '1.33',
    bob,
    'configmaps',
    'settings',
  );
  try {
    const r = await bob.cli(['approve', del.pending.id, '--standing', '5m']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /rule configmaps-no-standing does not allow standing approvals/u);
    assert.equal((await bob.requests()).find((p) => p.id === del.pending.id)?.state, 'pending');
  } finally {
    del.run.stop();
  }
});

test('in the web UI: approve with a standing approval for the rule, see it on the page, revoke it there', async () => {
  const first = await held(
    ['exec', '-n', ns, 'vault2', '--', 'echo', 'ui-one'],
    '1.33',
    sec,
    'pods',
    'vault2',
  );
  browser = await launchBrowser();
  const page = await signedInWithToken(
    browser,
    gw.url,
    await gw.tokenFor('sec-ui', ['security']),
    `/ui/requests/${first.pending.id}`,
  );
  try {
    await page.getByTestId('standing-choice').waitFor({ timeout: 30_000 });
    await page.getByTestId('standing-rule').check();
    await page.getByTestId('standing-duration').selectOption({ label: '15m' });
    await page.getByTestId('approve').click();
    await first.run.waitFor(/ui-one/u, 30_000);
    await page.getByTestId('standing').waitFor({ timeout: 30_000 });
    assert.match(
      await page.getByTestId('standing-status').innerText(),
      /In force until .*, given by sec-ui/u,
    );
    // Another command into the other sensitive pod: through at once.
    const r = await asAlice(['exec', '-n', ns, 'vault', '--', 'echo', 'ui-two'], '1.33');
    assert.equal(r.code, 0, r.stderr);
    await page.getByTestId('standing-revoke').click();
    await page.getByTestId('standing-revoke-confirm').click();
    await page.getByText('You revoked the standing approval').waitFor({ timeout: 30_000 });
    await page.getByText(/Revoked by sec-ui/u).waitFor({ timeout: 30_000 });
  } finally {
    first.run.stop();
    await page.context().close();
  }
  const waiting = await held(
    ['exec', '-n', ns, 'vault', '--', 'echo', 'ui-three'],
    '1.33',
    sec,
    'pods',
    'vault',
  );
  waiting.run.stop();
  assert.notEqual(waiting.pending.id, first.pending.id);
});
