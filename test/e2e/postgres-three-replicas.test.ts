// Three real `kubegate serve` replicas on one PostgreSQL store in front of the test bed, with the
// example policy (issue 14): a kubectl held on replica A is released by an approval given on
// another replica, through B's CLI and through C's web UI (where the request reaches C's live
// queue without a reload), and a statefulset change takes its two approvals on B and C. The one
// trail they write together holds each step once, with contiguous seqs, and verifies.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { copyFile, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser, BrowserContext } from 'playwright-core';
import type { TestbedState } from '../../src/demo/control-plane.js';
import type { PendingRequest } from '../../src/approvals/types.js';
import type { AuditEvent } from '../../src/audit/event.js';
import { startTestPostgres, type TestPostgres } from '../../src/store/postgres/test-server.js';
import { launchBrowser } from '../fixtures/browser.js';
import { kubegate, startGateway, type GatewayHandle } from '../fixtures/gateway.js';
import { kubectl, startKubectl, type RunningKubectl } from '../fixtures/kubectl.js';
import { reviewerOf, type Reviewer } from '../fixtures/reviewer.js';
import { useTestbed } from '../fixtures/testbed.js';
import { statefulsetManifest } from '../fixtures/workloads.js';

const root = resolve(import.meta.dirname, '../..');
const ns = `pg3-${randomBytes(3).toString('hex')}`;
const UI_WAIT_MS = 30_000;
/** Generous: a wake-up across replicas normally takes about 100 ms. */
const WAKE_LIMIT_MS = 5_000;

let tb: TestbedState;
let pg: TestPostgres;
let dbUrl: string;
let a: GatewayHandle;
let b: GatewayHandle;
let c: GatewayHandle;
let alice: string; // requester (dev), on A
let bobOnB: Reviewer; // sre, on B
let carolOnC: Reviewer; // sre, on C
let browser: Browser | undefined;
const contexts: BrowserContext[] = [];
const tokens: Record<string, string> = {};
const held: RunningKubectl[] = [];
/** The pending ids the scenarios approved, for the checks on the whole trail. */
const approvedIds: string[] = [];

const admin = (args: string[], stdin?: string) =>
  kubectl(args, { kubeconfig: tb.adminKubeconfig, ...(stdin === undefined ? {} : { stdin }) });

/**
 * `kubeconfig` (a user of the shared data dir) pointed at replica `gw`: the replicas share the
 * CA and serving certificate, so only the server URL differs. Its own file, so that kubectl's
 * discovery cache (beside the file) is per replica too.
 */
async function onReplica(gw: GatewayHandle, kubeconfig: string): Promise<string> {
  const text = await readFile(kubeconfig, 'utf8');
  assert.match(text, /server: \S+/u, kubeconfig);
  const rewritten = text.replace(/server: \S+/u, `server: ${gw.url}`);
  const out = kubeconfig.replace(/\.kubeconfig$/u, `-${new URL(gw.url).port}.kubeconfig`);
  await writeFile(out, rewritten, { mode: 0o600 });
  return out;
}

const heldFor = (resource: string, name: string) => (p: PendingRequest) =>
  p.state === 'pending' &&
  p.requester.user === 'alice' &&
  p.request.namespace === ns &&
  p.request.resource === resource &&
  p.request.name === name;

/** Resolves with kubectl's exit code; fails after `ms` with what kubectl and replica A printed. */
async function exitOf(run: RunningKubectl, ms = 60_000): Promise<number | null> {
  const { child } = run;
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      new Promise<number | null>((res) => child.once('exit', (code) => res(code))),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new Error(
                `kubectl still waits after ${ms} ms:\n${run.output()}\nreplica A:\n${a.output().slice(-3000)}`,
              ),
            ),
          ms,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

async function trailOf(pendingId: string): Promise<AuditEvent[]> {
  const all = await a.auditRecords();
  const requestIds = new Set(
    all.filter((e) => e.pendingId === pendingId && e.requestId !== null).map((e) => e.requestId),
  );
  return all.filter(
    (e) => e.pendingId === pendingId || (e.requestId !== null && requestIds.has(e.requestId)),
  );
}

before(async () => {
  tb = await useTestbed();
  pg = await startTestPostgres();
  dbUrl = await pg.createDatabase();
  const policyFile = join(tb.dir, `three-replicas-${ns}.yaml`);
  await copyFile(join(root, 'examples', 'policy.yaml'), policyFile);
  const config = {
    store: { type: 'postgres', url: dbUrl, pool: { max: 4 } },
    policy: { file: policyFile },
  };
  const dataDir = await mkdtemp(join(tmpdir(), 'kubegate-3r-'));
  // The first replica creates the CA, serving certificate and token file the others share.
  a = await startGateway(tb, { config, dataDir });
  // Tokens before the others start: every replica reads tokens.json at startup.
  tokens.carol = await a.tokenFor('carol', ['sre']);
  // One after the other: on a loaded machine two starting at once can miss the fixture's deadline.
  b = await startGateway(tb, { config, dataDir });
  c = await startGateway(tb, { config, dataDir });

  for (const args of [
    ['create', 'namespace', ns],
    ['create', 'rolebinding', 'dev-edit', '-n', ns, '--clusterrole=edit', '--group=dev'],
    ['create', 'rolebinding', 'sre-view', '-n', ns, '--clusterrole=view', '--group=sre'],
  ]) {
    const r = await admin(args);
    assert.equal(r.code, 0, r.stderr);
  }
  alice = await a.kubeconfigFor('alice', ['dev']);
  bobOnB = await reviewerOf(b, await onReplica(b, await a.kubeconfigFor('bob', ['sre'])));
  carolOnC = await reviewerOf(c, await onReplica(c, await a.kubeconfigFor('carol', ['sre'])));
});

after(async () => {
  for (const run of held) run.stop();
  for (const ctx of contexts) await ctx.close().catch(() => undefined);
  await browser?.close();
  for (const r of [bobOnB, carolOnC]) await r?.close();
  await Promise.all([a, b, c].map((gw) => gw?.stop()));
  await pg?.stop();
  await admin(['delete', 'namespace', ns, '--wait=false']);
});

test('a delete held on replica A goes through once bob approves with replica B’s CLI', async (t) => {
  let r = await admin(['create', 'configmap', 'doomed', '-n', ns, '--from-literal=k=v']);
  assert.equal(r.code, 0, r.stderr);
  const deletion = startKubectl(['delete', 'configmap', 'doomed', '-n', ns], { kubeconfig: alice });
  held.push(deletion);
  const exitedAt = new Promise<number>((res) => deletion.child.once('exit', () => res(Date.now())));
  const pending = await bobOnB.waitFor(heldFor('configmaps', 'doomed'));
  assert.equal(pending.mode, 'hold', 'alice’s kubectl waits on replica A');
  assert.equal(deletion.child.exitCode, null);

  r = await bobOnB.cli(['approve', pending.id]);
  const returnedAt = Date.now();
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /waiting command goes through/u);
  const code = await exitOf(deletion, 30_000);
  assert.equal(code, 0, deletion.output());
  assert.match(deletion.output(), /configmap "doomed" deleted/u);
  // The CLI is a Node process of its own: kubectl on A may be done before it returns. So the
  // wake-up is also measured from the review's time as B recorded it (one machine, one clock).
  const review = (await bobOnB.requests()).find((p) => p.id === pending.id)?.reviews.at(-1);
  assert.equal(review?.reviewer, 'bob');
  const exit = await exitedAt;
  const fromReturn = exit - returnedAt;
  const fromReview = exit - Date.parse(review.at);
  t.diagnostic(
    `kubectl on A exited ${fromReview} ms after B recorded the approval, ${fromReturn} ms after the approve command returned`,
  );
  assert.ok(fromReturn < WAKE_LIMIT_MS, `kubectl on A exited ${fromReturn} ms after the approval returned`);
  assert.ok(fromReview < WAKE_LIMIT_MS, `kubectl on A exited ${fromReview} ms after the approval`);
  const gone = await admin(['get', 'configmap', 'doomed', '-n', ns]);
  assert.notEqual(gone.code, 0, 'the configmap is gone from the API server');
  approvedIds.push(pending.id);
});

test('a create held on replica A reaches replica C’s live queue and is approved in C’s web UI', async () => {
  browser = await launchBrowser();
  const context = await browser.newContext({ ignoreHTTPSErrors: true }); // kubegate's own CA
  contexts.push(context);
  const page = await context.newPage();
  await page.goto(`${c.url}/ui/`);
  await page.getByTestId('token').waitFor({ timeout: UI_WAIT_MS });
  await page.getByTestId('token').fill(tokens.carol!);
  await page.getByTestId('sign-in').click();
  await page.getByTestId('token').waitFor({ state: 'detached', timeout: UI_WAIT_MS });
  const queue = page.getByTestId('queue');
  await queue.waitFor({ timeout: UI_WAIT_MS });
  await page.evaluate(() => ((globalThis as unknown as { notReloaded: boolean }).notReloaded = true));

  const name = 'via-ui';
  const cm = JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns } });
  const create = startKubectl(['create', '-f', '-'], { kubeconfig: alice, stdin: cm });
  held.push(create);
  const row = queue.locator('[data-request-id]', { hasText: `${ns}/${name}` });
  await row.waitFor({ timeout: UI_WAIT_MS }).catch((err: unknown) => {
    throw new Error(`${String(err)}\nkubectl: ${create.output()}\nreplica C:\n${c.output().slice(-3000)}`);
  });
  assert.equal(
    await page.evaluate(() => (globalThis as unknown as { notReloaded?: boolean }).notReloaded),
    true,
    'the request held on A appeared in C’s queue without a reload',
  );
  const id = (await row.getAttribute('data-request-id')) ?? '';
  assert.match(id, /^kg-[a-z0-9]+$/u);
  assert.equal(create.child.exitCode, null, 'kubectl waits on A');

  await row.getByRole('link').first().click();
  await page.waitForURL(`**/ui/requests/${id}`);
  await page.getByTestId('approve').click();
  await page.locator('[data-testid="state"][data-state="approved"]').waitFor({ timeout: UI_WAIT_MS });
  assert.equal(await exitOf(create), 0, create.output());
  const got = await admin(['get', 'configmap', name, '-n', ns]);
  assert.equal(got.code, 0, 'the configmap was created');
  approvedIds.push(id);
});

test('a statefulset scale held on A takes its two approvals on B and C; the trail holds each step once and verifies', async () => {
  const name = 'db';
  let r = await admin(['apply', '-f', '-'], statefulsetManifest(name, ns));
  assert.equal(r.code, 0, r.stderr);
  const scale = startKubectl(['scale', 'statefulset', name, '-n', ns, '--replicas=3'], { kubeconfig: alice });
  held.push(scale);
  const pending = await carolOnC.waitFor(heldFor('statefulsets', name));
  assert.deepEqual(
    pending.rules.map((rule) => rule.name),
    ['statefulsets-need-two'],
  );

  r = await bobOnB.cli(['approve', pending.id]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /1 more of group sre \(approved so far by bob\)/u);
  const half = (await carolOnC.requests()).find((p) => p.id === pending.id);
  assert.equal(half?.state, 'pending', 'one approval of two: still pending');
  assert.equal(scale.child.exitCode, null, 'one approval of two: kubectl still waits');

  r = await carolOnC.cli(['approve', pending.id]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(await exitOf(scale), 0, scale.output());
  r = await admin(['get', 'statefulset', name, '-n', ns, '-o', 'jsonpath={.spec.replicas}']);
  assert.equal(r.stdout, '3', 'the scale reached the API server');
  approvedIds.push(pending.id);

  // The forwarded record is written after kubectl has its answer.
  await a.waitForAudit((e) => e.kind === 'forwarded' && e.request?.name === name && e.status === 200);
  const trail = await trailOf(pending.id);
  const of = (kind: AuditEvent['kind']) => trail.filter((e) => e.kind === kind);
  assert.equal(of('approval-requested').length, 1, JSON.stringify(trail));
  assert.deepEqual(
    of('reviewed').map((e) => [e.actor, e.decision]),
    [
      ['bob', 'approve'],
      ['carol', 'approve'],
    ],
  );
  assert.equal(of('granted').length, 1);
  assert.ok(of('decided').length >= 1, 'the decision is recorded');
  assert.deepEqual(
    of('forwarded').map((e) => e.status),
    [200],
    'the scale was sent once',
  );

  const verified = await kubegate(['audit', 'verify', '--config', b.configFile]);
  assert.match(verified.stdout, /\d+ records/u);
});

test('the replicas wrote one chain: contiguous seqs, one grant per pending request', async () => {
  assert.equal(approvedIds.length, 3, 'runs after the three scenarios');
  const seqs = await pg.sql(dbUrl, 'SELECT seq FROM audit_events ORDER BY seq');
  assert.ok(seqs.rows.length > 0);
  seqs.rows.forEach((row: { seq: number | string }, i) => assert.equal(Number(row.seq), i + 1));
  const twice = await pg.sql(
    dbUrl,
    "SELECT pending_id, count(*) AS n FROM audit_events WHERE kind = 'granted' GROUP BY pending_id HAVING count(*) > 1",
  );
  assert.deepEqual(twice.rows, [], 'no pending request was granted twice');
  const granted = await pg.sql(
    dbUrl,
    "SELECT pending_id FROM audit_events WHERE kind = 'granted' AND pending_id = ANY($1)",
    [approvedIds],
  );
  assert.deepEqual(
    granted.rows.map((row: { pending_id: string }) => row.pending_id).sort(),
    [...approvedIds].sort(),
  );
  const verified = await kubegate(['audit', 'verify', '--config', c.configFile]);
  assert.match(verified.stdout, new RegExp(`${seqs.rows.length} records`, 'u'));
});
