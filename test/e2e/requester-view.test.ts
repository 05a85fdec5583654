// The requester is never in the dark, and reviewers see why (issue 16, items 1b, 1c and 4), with
// the real control plane, real kubectl 1.27 and 1.33 and real kubegate processes: alice sets a
// reason with `kubegate reason`, runs a held `kubectl scale`, follows it with `kubegate requests
// wait` (who must approve, then the outcome), bob reads the reason and approves, and kubectl
// prints "Warning: approved by bob after …"; the reason is in the approval-requested record.
// Failure paths: an unknown id, someone else's request, a reason too long or not plain text.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { stringify } from 'yaml';
import { useTestbed } from '../fixtures/testbed.js';
import { launchBrowser, signedInWithToken } from '../fixtures/browser.js';
import { kubectl, type KubectlVersion } from '../fixtures/kubectl.js';
import { kubegate, startGateway, type GatewayHandle } from '../fixtures/gateway.js';
import { reviewerOf, type Reviewer } from '../fixtures/reviewer.js';
import { statefulsetManifest } from '../fixtures/workloads.js';
import type { TestbedState } from '../../src/demo/control-plane.js';
import type { PendingRequest } from '../../src/approvals/types.js';

const root = resolve(import.meta.dirname, '../..');
const ns = `reqview-${randomBytes(3).toString('hex')}`;

let tb: TestbedState;
let gw: GatewayHandle;
let alice: string; // requester (group dev), not a reviewer
let bob: Reviewer; // sre
let aliceAsReviewer: Reviewer;

const policy = {
  apiVersion: 'kubegate.dev/v1alpha1',
  kind: 'Policy',
  defaults: { action: 'allow' },
  rules: [
    {
      name: 'statefulsets-need-sre',
      match: { verbs: ['update', 'patch'], resources: ['statefulsets', 'statefulsets/*'], namespaces: [ns] },
      action: 'approve',
      approval: { approvers: ['group:sre'], count: 1 },
    },
  ],
};

const admin = (args: string[], stdin?: string) =>
  kubectl(args, {
    kubeconfig: tb.adminKubeconfig,
    version: '1.33',
    ...(stdin === undefined ? {} : { stdin }),
  });

/** `kubegate ARGS` run to its end, as the exit code and output. */
async function cli(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await kubegate(args);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** `kubegate ARGS` left running, its output read as it comes. */
function running(args: readonly string[]): {
  child: ChildProcess;
  output: () => string;
  waitFor(p: RegExp): Promise<void>;
} {
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), ...args], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const waiters = new Set<() => void>();
  const onData = (d: Buffer): void => {
    out += d.toString();
    for (const w of [...waiters]) w();
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  return {
    child,
    output: () => out,
    waitFor: (pattern) =>
      new Promise((res, rej) => {
        const timer = setTimeout(
          () => rej(new Error(`timed out waiting for ${String(pattern)}:\n${out}`)),
          60_000,
        );
        const check = (): void => {
          if (!pattern.test(out)) return;
          clearTimeout(timer);
          waiters.delete(check);
          res();
        };
        waiters.add(check);
        check();
      }),
  };
}

async function exitCode(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode;
  const [code] = (await once(child, 'exit')) as [number | null];
  return code;
}

const pendingScale = (name: string) => (p: PendingRequest) =>
  p.state === 'pending' &&
  p.requester.user === 'alice' &&
  p.request.name === name &&
  p.request.subresource === 'scale';

before(async () => {
  tb = await useTestbed();
  const policyFile = join(tb.dir, `reqview-${ns}.yaml`);
  await writeFile(policyFile, stringify(policy));
  gw = await startGateway(tb, {
    config: { policy: { file: policyFile }, approvals: { holdTimeoutMs: 5 * 60_000 } },
  });
  for (const args of [
    ['create', 'namespace', ns],
    ['create', 'rolebinding', 'dev-edit', '-n', ns, '--clusterrole=edit', '--group=dev'],
    ['create', 'rolebinding', 'sre-view', '-n', ns, '--clusterrole=view', '--group=sre'],
  ]) {
    const r = await admin(args);
    assert.equal(r.code, 0, r.stderr);
  }
  alice = await gw.kubeconfigFor('alice', ['dev']);
  aliceAsReviewer = await reviewerOf(gw, alice);
  bob = await reviewerOf(gw, await gw.kubeconfigFor('bob', ['sre']));
});

after(async () => {
  for (const r of [aliceAsReviewer, bob]) await r?.close();
  await gw?.stop();
  await admin(['delete', 'namespace', ns, '--wait=false']);
});

for (const version of ['1.27', '1.33'] as const satisfies readonly KubectlVersion[]) {
  test(`kubectl ${version}: the reason reaches the reviewer, requests wait follows the hold, and kubectl prints who approved`, async () => {
    const name = `db-${version.replace('.', '')}`;
    const r = await admin(['apply', '-f', '-'], statefulsetManifest(name, ns));
    assert.equal(r.code, 0, r.stderr);
    const reason = `INC-${version}: <b>restore</b> the replicas`;
    const set = await cli(['reason', reason, '--kubeconfig', alice]);
    assert.equal(set.code, 0, set.stderr);
    assert.match(
      set.stdout,
      /Your next held request \(until .*\) goes to its reviewers with the reason "INC-/,
    );

    const scale = kubectl(['scale', 'statefulset', name, '-n', ns, '--replicas=3'], {
      kubeconfig: alice,
      version,
      timeoutMs: 120_000,
    });
    const pending = await bob.waitFor(pendingScale(name));
    assert.equal(pending.reason, reason, 'the reason went with the held request');

    // The requester follows it; they are no reviewer, and see who must approve.
    const wait = running(['requests', 'wait', pending.id, '--kubeconfig', alice]);
    await wait.waitFor(/Who must still approve: 1 of group sre \(rule "statefulsets-need-sre"\)/);
    assert.match(wait.output(), /your command is waiting/);

    const mine = await cli(['requests', 'list', '--mine', '--kubeconfig', alice]);
    assert.equal(mine.code, 0, mine.stderr);
    assert.match(mine.stdout, new RegExp(pending.id));
    const bobs = await bob.cli(['list', '--mine']);
    assert.equal(bobs.code, 0, bobs.stderr);
    assert.doesNotMatch(bobs.stdout, new RegExp(pending.id), "alice's request is not bob's");
    assert.match(bobs.stdout, /No requests of yours/);

    const show = await bob.cli(['show', pending.id]);
    assert.equal(show.code, 0, show.stderr);
    assert.match(
      show.stdout,
      new RegExp(`Reason: +"INC-${version.replace('.', '\\.')}: <b>restore</b> the replicas"`),
    );

    const approve = await bob.cli(['approve', pending.id]);
    assert.equal(approve.code, 0, approve.stderr);
    const done = await scale;
    assert.equal(done.code, 0, done.stderr);
    assert.match(done.stdout, /scaled/);
    assert.match(done.stderr, new RegExp(`Warning: approved by bob after \\d+(m\\d+)?s \\(${pending.id}\\)`));

    assert.equal(await exitCode(wait.child), 0, wait.output());
    assert.match(wait.output(), /Approved by bob: your waiting command (goes|went) through/);

    const requested = await gw.waitForAudit(
      (e) => e.kind === 'approval-requested' && e.pendingId === pending.id,
    );
    assert.match(requested[0]?.comment ?? '', new RegExp(`reason: INC-${version.replace('.', '\\.')}`));
    const next = await cli(['reason', '--kubeconfig', alice]);
    assert.match(
      next.stdout,
      /No reason is waiting for your next request/,
      'the reason went with one request',
    );
  });
}

test('the requester gives a reason to a pending request from the CLI; the change is audited', async () => {
  const name = 'db-later';
  let r = await admin(['apply', '-f', '-'], statefulsetManifest(name, ns));
  assert.equal(r.code, 0, r.stderr);
  const scale = kubectl(['scale', 'statefulset', name, '-n', ns, '--replicas=2'], {
    kubeconfig: alice,
    version: '1.33',
    timeoutMs: 120_000,
  });
  const pending = await bob.waitFor(pendingScale(name));
  assert.equal(pending.reason, undefined);
  let given = await cli(['reason', '--request', pending.id, 'INC-77: capacity', '--kubeconfig', alice]);
  assert.equal(given.code, 0, given.stderr);
  given = await cli(['reason', '--request', pending.id, 'not mine to give', '--kubeconfig', bob.kubeconfig]);
  assert.equal(given.code, 1);
  assert.match(given.stderr, /only the requester gives the reason/);
  const seen = await bob.waitFor((p) => p.id === pending.id && p.reason === 'INC-77: capacity');
  assert.equal(seen.state, 'pending');
  const records = await gw.waitForAudit((e) => e.kind === 'reason-given' && e.pendingId === pending.id);
  assert.deepEqual([records[0]?.actor, records[0]?.comment], ['alice', 'INC-77: capacity']);
  r = await cli(['requests', 'cancel', pending.id, '--kubeconfig', alice]);
  assert.equal(r.code, 0, r.stderr);
  const ended = await scale;
  assert.notEqual(ended.code, 0);
});

test('failure paths: an unknown id, someone else’s request, a reason too long or not one line', async () => {
  let r = await cli(['requests', 'wait', 'kg-zzzzzzzzzz', '--kubeconfig', alice]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /kubegate has no request "kg-zzzzzzzzzz" that you may see/);

  const name = 'db-theirs';
  const applied = await admin(['apply', '-f', '-'], statefulsetManifest(name, ns));
  assert.equal(applied.code, 0, applied.stderr);
  const scale = kubectl(['scale', 'statefulset', name, '-n', ns, '--replicas=2'], {
    kubeconfig: alice,
    version: '1.33',
    timeoutMs: 120_000,
  });
  const pending = await bob.waitFor(pendingScale(name));
  r = await bob.cli(['wait', pending.id]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /was asked by alice, not you/);
  r = await cli(['requests', 'cancel', pending.id, '--kubeconfig', alice]);
  assert.equal(r.code, 0, r.stderr);
  await scale;

  r = await cli(['reason', 'x'.repeat(501), '--kubeconfig', alice]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /the reason is 501 characters long; at most 500 are kept/);
  r = await cli(['reason', 'two\nlines', '--kubeconfig', alice]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /one line of plain text/);
  r = await cli(['reason', 'ok', '--for', '3d', '--kubeconfig', alice]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /--for takes a duration/);
  r = await cli(['reason', '--kubeconfig', alice]);
  assert.match(r.stdout, /No reason is waiting/, 'nothing was kept from the refused ones');
});

test('in the browser, the requester gives a reason on the request page; it shows as text, to the reviewer too', async () => {
  const name = 'db-ui';
  const applied = await admin(['apply', '-f', '-'], statefulsetManifest(name, ns));
  assert.equal(applied.code, 0, applied.stderr);
  const scale = kubectl(['scale', 'statefulset', name, '-n', ns, '--replicas=2'], {
    kubeconfig: alice,
    version: '1.33',
    timeoutMs: 120_000,
  });
  const pending = await bob.waitFor(pendingScale(name));
  const browser = await launchBrowser();
  try {
    const page = await signedInWithToken(
      browser,
      gw.url,
      await gw.tokenFor('alice', ['dev']),
      `/ui/requests/${pending.id}`,
    );
    await page.getByTestId('reason-none').waitFor({ timeout: 30_000 });
    await page.getByTestId('reason-edit').click();
    const hostile = '<img src=x onerror="document.title=1"> INC-5: rollout';
    await page.getByTestId('reason-input').fill(hostile);
    await page.getByTestId('reason-save').click();
    await page.getByTestId('reason').filter({ hasText: 'INC-5' }).waitFor({ timeout: 30_000 });
    assert.equal(await page.getByTestId('reason').innerText(), hostile, 'shown as the text it is');
    assert.equal(await page.locator('[data-testid="reason"] img').count(), 0, 'never as markup');
    const seen = await bob.waitFor((p) => p.id === pending.id && p.reason === hostile);
    assert.equal(seen.state, 'pending');

    const reviewer = await signedInWithToken(
      browser,
      gw.url,
      await gw.tokenFor('bob', ['sre']),
      `/ui/requests/${pending.id}`,
    );
    await reviewer.getByTestId('reason').waitFor({ timeout: 30_000 });
    assert.equal(await reviewer.getByTestId('reason').innerText(), hostile);
    assert.equal(await reviewer.getByTestId('reason-edit').count(), 0, 'only the requester may change it');
    await page.context().close();
    await reviewer.context().close();
  } finally {
    await browser.close();
    const r = await cli(['requests', 'cancel', pending.id, '--kubeconfig', alice]);
    assert.equal(r.code, 0, r.stderr);
    await scale;
  }
});
