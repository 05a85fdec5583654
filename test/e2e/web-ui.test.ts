// The reviewer web UI end to end: real kubegate (example policy) in front of the real control
// plane, real kubectl, and Debian's chromium driven by playwright-core (headless). alice's delete
// of a statefulset is held; it appears in bob's queue without a reload; bob opens it, sees what
// the delete would remove, and approves; alice cannot approve her own request (the page says
// why, and the server refuses it too); carol approves; alice's kubectl completes. Then the audit
// view (chain verified, filters) and the policy simulator.
//
// Screenshots are taken on the way. They go to a temporary folder, or to KUBEGATE_SCREENSHOTS
// (the README's come from `KUBEGATE_SCREENSHOTS=docs/img npm test -- web-ui`).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { copyFile, mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type Browser, type BrowserContext, type Page } from 'playwright-core';
import { launchBrowser } from '../fixtures/browser.js';
import { useTestbed } from '../fixtures/testbed.js';
import { kubectl, startKubectl, type RunningKubectl } from '../fixtures/kubectl.js';
import { startGateway, type GatewayHandle } from '../fixtures/gateway.js';
import type { TestbedState } from '../../src/demo/control-plane.js';

const root = resolve(import.meta.dirname, '../..');
const ns = `prod-ui-${randomBytes(3).toString('hex')}`;
const UI_WAIT_MS = 30_000;

let tb: TestbedState;
let gw: GatewayHandle;
let browser: Browser;
let shots: string;
let aliceKubeconfig: string;
const tokens: Record<string, string> = {};
const contexts: BrowserContext[] = [];
let pendingId = '';
let deletion: RunningKubectl | null = null;

const admin = (args: string[], stdin?: string) =>
  kubectl(args, { kubeconfig: tb.adminKubeconfig, ...(stdin === undefined ? {} : { stdin }) });

async function screenshot(page: Page, name: string, fullPage = false): Promise<void> {
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage });
}

/** A fresh browser profile signed in as `who` with their kubegate token; lands on `path`. */
async function signedIn(who: string, path = '/ui/'): Promise<Page> {
  const context = await browser.newContext({
    ignoreHTTPSErrors: true, // kubegate's own CA; a real deployment uses a trusted certificate
    viewport: { width: 1280, height: 860 },
  });
  contexts.push(context);
  const page = await context.newPage();
  await page.goto(`${gw.url}${path}`);
  // Not signed in: the page sends us to the sign-in form, and back after.
  await page.getByTestId('token').waitFor({ timeout: UI_WAIT_MS });
  await page.getByTestId('token').fill(tokens[who]!);
  await page.getByTestId('sign-in').click();
  await page.getByTestId('token').waitFor({ state: 'detached', timeout: UI_WAIT_MS });
  return page;
}

before(async () => {
  tb = await useTestbed();
  shots = process.env.KUBEGATE_SCREENSHOTS
    ? resolve(root, process.env.KUBEGATE_SCREENSHOTS)
    : await mkdtemp(join(tmpdir(), 'kubegate-ui-shots-'));
  await mkdir(shots, { recursive: true });
  const policyFile = join(tb.dir, `web-ui-${ns}.yaml`);
  await copyFile(join(root, 'examples', 'policy.yaml'), policyFile);
  gw = await startGateway(tb, {
    config: {
      policy: { file: policyFile },
      audit: { readers: { users: [], groups: ['security'] } },
    },
  });
  for (const args of [
    ['create', 'namespace', ns],
    ['create', 'rolebinding', 'dev-edit', '-n', ns, '--clusterrole=edit', '--group=dev'],
    ['create', 'rolebinding', 'sre-view', '-n', ns, '--clusterrole=view', '--group=sre'],
  ]) {
    const r = await admin(args);
    assert.equal(r.code, 0, r.stderr);
  }
  const sts = {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'db', namespace: ns, labels: { app: 'db', tier: 'data' } },
    spec: {
      serviceName: 'db',
      replicas: 1,
      selector: { matchLabels: { app: 'db' } },
      template: {
        metadata: { labels: { app: 'db' } },
        spec: { containers: [{ name: 'postgres', image: 'postgres:16' }] },
      },
    },
  };
  const r = await admin(['apply', '-f', '-'], JSON.stringify(sts));
  assert.equal(r.code, 0, r.stderr);
  aliceKubeconfig = await gw.kubeconfigFor('alice', ['dev']);
  tokens.alice = await gw.tokenFor('alice', ['dev']);
  tokens.bob = await gw.tokenFor('bob', ['sre']);
  tokens.carol = await gw.tokenFor('carol', ['sre', 'security']);
  browser = await launchBrowser();
});

after(async () => {
  deletion?.stop();
  for (const c of contexts) await c.close().catch(() => undefined);
  await browser?.close();
  await gw?.stop();
  await admin(['delete', 'namespace', ns, '--wait=false']);
});

test('a held delete reaches the queue live; two SREs approve in the browser; kubectl completes; the requester cannot approve', async () => {
  const bob = await signedIn('bob');
  const queue = bob.getByTestId('queue');
  await queue.waitFor({ timeout: UI_WAIT_MS });
  await bob.evaluate(() => ((globalThis as unknown as { notReloaded: boolean }).notReloaded = true));

  deletion = startKubectl(['delete', 'statefulset', 'db', '-n', ns], { kubeconfig: aliceKubeconfig });
  const row = queue.locator('[data-request-id]', { hasText: ns });
  await row
    .first()
    .waitFor({ timeout: UI_WAIT_MS })
    .catch((err: unknown) => {
      throw new Error(
        `${String(err)}\nkubectl: ${deletion?.output()}\nkubegate:\n${gw.output().slice(-3000)}`,
      );
    });
  assert.equal(
    await bob.evaluate(() => (globalThis as unknown as { notReloaded?: boolean }).notReloaded),
    true,
    'the request appeared without reloading the page',
  );
  pendingId = (await row.first().getAttribute('data-request-id')) ?? '';
  assert.match(pendingId, /^kg-[a-z0-9]+$/u);
  assert.match(await row.first().innerText(), /alice/u);
  await screenshot(bob, 'ui-queue');

  // bob opens it: the command, the rule, and what the delete would remove.
  await row.first().getByRole('link').first().click();
  await bob.waitForURL(`**/ui/requests/${pendingId}`);
  await bob.getByText('statefulsets-need-two').first().waitFor({ timeout: UI_WAIT_MS });
  await bob.getByText(`kubectl delete statefulset db -n ${ns}`).first().waitFor({ timeout: UI_WAIT_MS });
  const diff = bob.getByTestId('diff');
  await diff.waitFor({ timeout: UI_WAIT_MS });
  assert.match(await diff.innerText(), /name: db/u, 'the diff shows the statefulset being removed');
  assert.match(await bob.locator('body').innerText(), /tier/u, 'target labels are shown');
  await screenshot(bob, 'ui-request', true);

  // alice may look but not approve her own request: the page says why, and the server agrees.
  const alice = await signedIn('alice', `/ui/requests/${pendingId}`);
  await alice.getByTestId('refusal').waitFor({ timeout: UI_WAIT_MS });
  assert.match(await alice.getByTestId('refusal').innerText(), /you cannot approve your own request/u);
  assert.equal(await alice.getByTestId('approve').isDisabled(), true);
  const forced = await alice.evaluate(async (id) => {
    const session = (await (await fetch('/kubegate/v1/session')).json()) as { csrfToken: string };
    const res = await fetch(`/kubegate/v1/requests/${id}/approve`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-kubegate-csrf': session.csrfToken },
      body: '{}',
    });
    return { status: res.status, body: (await res.json()) as { message: string } };
  }, pendingId);
  assert.equal(forced.status, 403);
  assert.match(forced.body.message, /own request/u);
  // The session cookie is for kubegate's own API only: the Kubernetes API does not take it.
  const kubeApi = await alice.evaluate(async (namespace) => {
    const res = await fetch(`/apis/apps/v1/namespaces/${namespace}/statefulsets`);
    return res.status;
  }, ns);
  assert.equal(kubeApi, 401);
  await screenshot(alice, 'ui-own-request');

  // bob approves with a comment: one of two.
  await bob.getByTestId('comment').fill('db is being migrated; ok to remove');
  await bob.getByTestId('approve').click();
  await bob.getByText('db is being migrated; ok to remove').first().waitFor({ timeout: UI_WAIT_MS });
  assert.equal(deletion.child.exitCode, null, 'one approval of two: kubectl still waits');
  // Having approved, bob may not approve again but may still deny while it is pending.
  await bob.getByTestId('deny-still-open').waitFor({ timeout: UI_WAIT_MS });
  assert.equal(await bob.getByTestId('approve').isDisabled(), true);
  assert.equal(await bob.getByTestId('deny').isDisabled(), false, 'a past approver keeps Deny');
  assert.equal(await bob.getByTestId('comment').isDisabled(), false, 'and the comment a denial needs');

  // carol approves: kubectl carries on and deletes.
  const carol = await signedIn('carol', `/ui/requests/${pendingId}`);
  await carol.getByTestId('approve').click();
  await deletion.waitFor(/statefulset.apps "db" deleted/u, 60_000);
  if (deletion.child.exitCode === null) await once(deletion.child, 'exit');
  assert.equal(deletion.child.exitCode, 0, deletion.output());

  // bob's open page follows along.
  await bob
    .getByTestId('state')
    .filter({ hasText: /approved/iu })
    .waitFor({ timeout: UI_WAIT_MS });
  const gone = await admin(['get', 'statefulset', 'db', '-n', ns]);
  assert.notEqual(gone.code, 0, 'the statefulset is gone');
});

/** A ConfigMap alice creates in the test namespace: held for one SRE by the example policy's defaults. */
function configMap(name: string): string {
  return JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns } });
}

async function exited(child: RunningKubectl['child']): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  const [code] = (await once(child, 'exit')) as [number | null];
  return code;
}

/** Waits for alice's held request for `ns/name` in `page`'s queue; its id. */
async function queuedId(page: Page, name: string, held: RunningKubectl): Promise<string> {
  const row = page.getByTestId('queue').locator('[data-request-id]', { hasText: `${ns}/${name}` });
  await row.waitFor({ timeout: UI_WAIT_MS }).catch((err: unknown) => {
    throw new Error(`${String(err)}\nkubectl: ${held.output()}\nkubegate:\n${gw.output().slice(-3000)}`);
  });
  const id = (await row.getAttribute('data-request-id')) ?? '';
  assert.match(id, /^kg-[a-z0-9]+$/u);
  return id;
}

test('the requester withdraws a held request in the browser: the waiting kubectl is told so, the queue moves it to decided', async () => {
  const name = 'withdraw-me';
  const bob = await signedIn('bob');
  await bob.getByTestId('queue').waitFor({ timeout: UI_WAIT_MS });
  const create = startKubectl(['create', '-f', '-'], { kubeconfig: aliceKubeconfig, stdin: configMap(name) });
  try {
    const id = await queuedId(bob, name, create);

    // bob reviews but may not withdraw: the action is the requester's.
    const bobPage = await signedIn('bob', `/ui/requests/${id}`);
    await bobPage.getByTestId('approve').waitFor({ timeout: UI_WAIT_MS });
    assert.equal(await bobPage.getByTestId('withdraw').count(), 0, 'a reviewer is not offered Withdraw');

    const alice = await signedIn('alice', `/ui/requests/${id}`);
    await alice.getByTestId('withdraw').click();
    // Asked to confirm: nothing has happened yet.
    await alice.getByTestId('withdraw-confirm').waitFor({ timeout: UI_WAIT_MS });
    assert.equal(await alice.getByTestId('state').getAttribute('data-state'), 'pending');
    assert.equal(create.child.exitCode, null, 'kubectl still waits until the withdrawal is confirmed');
    await screenshot(alice, 'ui-withdraw');
    await alice.getByTestId('withdraw-confirm').click();

    await alice
      .getByTestId('review-done')
      .filter({ hasText: /You withdrew this request/u })
      .waitFor({
        timeout: UI_WAIT_MS,
      });
    // The page may be re-reading the request for the watch event the withdrawal sent: wait for it.
    await alice.locator('[data-testid="state"][data-state="withdrawn"]').waitFor({ timeout: UI_WAIT_MS });
    assert.match(await alice.getByTestId('state-line').innerText(), /^withdrawn by its requester at \d{4}-/u);
    assert.equal(await alice.getByTestId('withdraw').count(), 0, 'nothing left to withdraw');

    // The held kubectl ends at once with kubegate's words.
    assert.equal(await exited(create.child), 1, create.output());
    assert.match(create.output(), new RegExp(`${id} was withdrawn by its requester`, 'u'));

    // bob's queue and open request page follow without a reload.
    await bob
      .locator(`[data-decided-request-id="${id}"]`)
      .filter({ hasText: /withdrawn/u })
      .waitFor({ timeout: UI_WAIT_MS });
    assert.equal(await bob.getByTestId('queue').locator(`[data-request-id="${id}"]`).count(), 0);
    await bobPage
      .getByTestId('state')
      .filter({ hasText: /withdrawn/u })
      .waitFor({ timeout: UI_WAIT_MS });
    assert.equal(await bobPage.getByTestId('approve').isDisabled(), true);
    const get = await admin(['get', 'configmap', name, '-n', ns]);
    assert.notEqual(get.code, 0, 'nothing was created');
  } finally {
    create.stop();
  }
});

test('a request whose kubectl stopped waiting says so in the browser; its approval sends nothing; the re-run goes through once', async () => {
  const name = 'left-behind';
  const carol = await signedIn('carol');
  await carol.getByTestId('queue').waitFor({ timeout: UI_WAIT_MS });
  const create = startKubectl(['create', '-f', '-'], { kubeconfig: aliceKubeconfig, stdin: configMap(name) });
  try {
    const id = await queuedId(carol, name, create);
    const bob = await signedIn('bob', `/ui/requests/${id}`);
    await bob
      .getByTestId('state-line')
      .filter({ hasText: /the command is waiting/u })
      .waitFor({ timeout: UI_WAIT_MS });
    assert.match(await bob.getByTestId('approve-hint').innerText(), /the waiting command goes through/u);

    create.child.kill('SIGINT');
    await exited(create.child);

    // Both open pages follow the 'updated' event without a reload.
    await bob
      .getByTestId('state-line')
      .filter({ hasText: /the requester is no longer waiting/u })
      .waitFor({ timeout: UI_WAIT_MS });
    const stateLine = await bob.getByTestId('state-line').innerText();
    assert.match(stateLine, /the command stopped at \d{4}-.*once approved, the requester re-runs it once/u);
    assert.match(await bob.getByTestId('mode').innerText(), /no longer waiting/u);
    assert.doesNotMatch(await bob.locator('body').innerText(), /the command is waiting/u);
    assert.doesNotMatch(await bob.getByTestId('approve-hint').innerText(), /waiting command/u);
    const note = carol.getByTestId('queue').locator(`[data-request-id="${id}"]`).getByTestId('waiting-note');
    await note.waitFor({ timeout: UI_WAIT_MS });
    assert.match(await note.innerText(), /no longer waiting: the command stopped at .*re-runs it once/u);
    await screenshot(bob, 'ui-requester-left');

    await bob.getByTestId('approve').click();
    const done = bob.getByTestId('review-done');
    await done.waitFor({ timeout: UI_WAIT_MS });
    assert.match(
      await done.innerText(),
      /no longer waiting, so nothing was sent; their re-run goes through once/u,
    );
    assert.doesNotMatch(await done.innerText(), /waiting command goes through/u);
    await bob.locator('[data-testid="state"][data-state="approved"]').waitFor({ timeout: UI_WAIT_MS });
    let get = await admin(['get', 'configmap', name, '-n', ns]);
    assert.notEqual(get.code, 0, 'the approval sent nothing: nobody was waiting');

    const rerun = await kubectl(['create', '-f', '-'], {
      kubeconfig: aliceKubeconfig,
      stdin: configMap(name),
    });
    assert.equal(rerun.code, 0, rerun.stderr);
    get = await admin(['get', 'configmap', name, '-n', ns]);
    assert.equal(get.code, 0, 'the re-run used the grant');
    await bob
      .getByTestId('state-line')
      .filter({ hasText: /its one re-run was used/u })
      .waitFor({ timeout: UI_WAIT_MS });
  } finally {
    create.stop();
  }
});

test('the audit view shows the chain verified and filters by user; a non-reader is told why not', async () => {
  assert.notEqual(pendingId, '', 'runs after the approval test');
  const carol = await signedIn('carol', `/ui/audit?user=alice&namespace=${ns}`);
  const status = carol.getByTestId('chain-status');
  await status.filter({ hasText: /verified/iu }).waitFor({ timeout: UI_WAIT_MS });
  const table = carol.locator('table');
  await table.filter({ hasText: 'statefulsets' }).first().waitFor({ timeout: UI_WAIT_MS });
  const text = await carol.locator('body').innerText();
  assert.match(text, /approve/u);
  assert.match(text, /alice/u);
  assert.doesNotMatch(text, /\bbob\b.*\bget\b/u);
  await screenshot(carol, 'ui-audit');

  const bob = await signedIn('bob', '/ui/audit');
  await bob
    .getByTestId('audit-error')
    .filter({ hasText: /bob may not read the audit trail/u })
    .waitFor({ timeout: UI_WAIT_MS });
});

test('the policy view shows the rules in force and simulates a request with the gateway’s engine', async () => {
  const bob = await signedIn('bob', '/ui/policy');
  await bob.getByText('statefulsets-need-two').first().waitFor({ timeout: UI_WAIT_MS });
  await bob.getByLabel(/method/iu).selectOption('DELETE');
  await bob.getByLabel(/path/iu).fill('/apis/apps/v1/namespaces/prod/statefulsets/db');
  await bob.getByLabel(/user/iu).fill('alice');
  await bob.getByLabel(/groups/iu).fill('dev');
  await bob.getByTestId('simulate').click();
  const decision = bob.getByTestId('sim-decision');
  await decision.waitFor({ timeout: UI_WAIT_MS });
  assert.match(await decision.innerText(), /approve/iu);
  await screenshot(bob, 'ui-policy');

  await bob.getByLabel(/method/iu).selectOption('DELETE');
  await bob.getByLabel(/path/iu).fill('/apis/apps/v1/namespaces/prod/deployments/web');
  await bob.getByTestId('simulate').click();
  await decision.filter({ hasText: /deny/iu }).waitFor({ timeout: UI_WAIT_MS });
});
