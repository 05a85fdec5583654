// kubegate's Prometheus metrics end to end: a real kubegate with metrics.listen in front of the
// test bed, real kubectl through it — a read, an allowed mutation, a denied delete, a delete held
// for approval and approved by an SRE through the CLI, a watch — then GET /metrics on the metrics
// listener (not the gateway's port): every family is there, the counts match the audit trail the
// same run wrote (requests, approvals requested, reviews, grants), the watch shows as an open
// stream while it runs, the pending gauge shows the held request while it waits, and no user or
// object name is a label.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { stringify } from 'yaml';
import type { AuditEvent } from '../../src/audit/event.js';
import type { TestbedState } from '../../src/demo/control-plane.js';
import { freePort } from '../../src/demo/ports.js';
import { startGateway, type GatewayHandle } from '../fixtures/gateway.js';
import { kubectl, startKubectl, type KubectlResult } from '../fixtures/kubectl.js';
import { reviewerOf, type Reviewer } from '../fixtures/reviewer.js';
import { useTestbed } from '../fixtures/testbed.js';

const ns = `metrics-${randomBytes(3).toString('hex')}`;
let tb: TestbedState;
let gw: GatewayHandle;
let metricsUrl: string;
let alice: string;
let bob: Reviewer;

const admin = (args: string[]): Promise<KubectlResult> => kubectl(args, { kubeconfig: tb.adminKubeconfig });
const asAlice = (args: string[]): Promise<KubectlResult> => kubectl(args, { kubeconfig: alice });

before(async () => {
  tb = await useTestbed();
  for (const args of [
    ['create', 'namespace', ns],
    ['create', 'rolebinding', 'dev-edit', '-n', ns, '--clusterrole=edit', '--group=dev'],
    ['create', 'configmap', 'blocked-1', '-n', ns],
    ['create', 'configmap', 'held-1', '-n', ns],
  ]) {
    const r = await admin(args);
    assert.equal(r.code, 0, r.stderr);
  }
  const port = await freePort();
  metricsUrl = `http://127.0.0.1:${port}/metrics`;
  const policyFile = join(tb.dir, `metrics-policy-${ns}.yaml`);
  await writeFile(
    policyFile,
    stringify({
      apiVersion: 'kubegate.dev/v1alpha1',
      kind: 'Policy',
      defaults: { action: 'allow' },
      rules: [
        {
          name: 'blocked-configmaps',
          match: { verbs: ['delete'], resources: ['configmaps'], namespaces: [ns], names: ['blocked-*'] },
          action: 'deny',
          message: 'blocked configmaps stay.',
        },
        {
          name: 'held-configmaps',
          match: { verbs: ['delete'], resources: ['configmaps'], namespaces: [ns], names: ['held-*'] },
          action: 'approve',
          approval: { approvers: ['group:sre'], count: 1 },
        },
      ],
    }),
  );
  gw = await startGateway(tb, {
    config: { policy: { file: policyFile }, metrics: { listen: { host: '127.0.0.1', port } } },
  });
  alice = await gw.kubeconfigFor('alice', ['dev']);
  bob = await reviewerOf(gw, await gw.kubeconfigFor('bob', ['sre']));
});

after(async () => {
  await bob?.close();
  await gw?.stop();
  await admin(['delete', 'namespace', ns, '--wait=false']);
});

/** One sample's value: `name{labels}` summed over the samples whose labels include `labels`. */
function value(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/u.exec(line);
    if (match?.[1] !== name) continue;
    const have = new Map(
      [...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/gu)].map((m) => [m[1], m[2]] as const),
    );
    if (Object.entries(labels).every(([k, v]) => have.get(k) === v)) sum += Number(match[3]);
  }
  return sum;
}

async function scrape(): Promise<string> {
  const res = await fetch(metricsUrl);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/u);
  return res.text();
}

async function records(kinds: readonly AuditEvent['kind'][]): Promise<AuditEvent[]> {
  return (await gw.auditRecords()).filter((r) => kinds.includes(r.kind));
}

test('kubectl through kubegate shows in /metrics, counted as the audit trail counts it', async () => {
  assert.equal((await asAlice(['get', 'configmaps', '-n', ns])).code, 0);
  assert.equal((await asAlice(['create', 'configmap', 'free', '-n', ns])).code, 0);
  const denied = await asAlice(['delete', 'configmap', 'blocked-1', '-n', ns]);
  assert.notEqual(denied.code, 0);
  assert.match(denied.stderr, /blocked configmaps stay/u);

  // A watch is an open stream while it runs.
  const watch = startKubectl(['get', 'configmaps', '-n', ns, '--watch'], { kubeconfig: alice });
  try {
    await watch.waitFor(/free/u, 30_000);
    assert.equal(value(await scrape(), 'kubegate_open_streams', { kind: 'watch' }), 1);
  } finally {
    watch.stop();
  }

  // A held delete: pending in the gauge while it waits, then approved by bob.
  const held = startKubectl(['delete', 'configmap', 'held-1', '-n', ns], { kubeconfig: alice });
  try {
    const pending = await bob.waitFor((p) => p.state === 'pending' && p.request.name === 'held-1', 60_000);
    assert.equal(value(await scrape(), 'kubegate_pending_requests', { rule: 'held-configmaps' }), 1);
    const approved = await bob.cli(['approve', pending.id]);
    assert.equal(approved.code, 0, approved.stderr);
    await held.waitFor(/deleted/u, 60_000);
  } finally {
    held.stop();
  }

  // The trail and the counters agree once every record is in (reads are batched).
  let text: string;
  const deadline = Date.now() + 15_000;
  for (;;) {
    text = await scrape();
    const answered = (await records(['forwarded', 'refused'])).length;
    if (value(text, 'kubegate_requests_total') === answered && value(text, 'kubegate_open_streams') === 0)
      break;
    if (Date.now() > deadline)
      assert.fail(`requests_total ${value(text, 'kubegate_requests_total')} vs ${answered} answered records`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const kinds = async (kind: AuditEvent['kind']): Promise<number> => (await records([kind])).length;
  assert.equal(value(text, 'kubegate_approvals_requested_total'), await kinds('approval-requested'));
  assert.equal(value(text, 'kubegate_approvals_requested_total', { rule: 'held-configmaps' }), 1);
  assert.equal(value(text, 'kubegate_reviews_total', { verdict: 'approve' }), await kinds('reviewed'));
  assert.equal(value(text, 'kubegate_grants_used_total'), await kinds('granted'));
  assert.equal(value(text, 'kubegate_grants_used_total'), 1);
  assert.equal(value(text, 'kubegate_approval_decisions_total', { outcome: 'approved' }), 1);
  assert.equal(value(text, 'kubegate_approval_time_to_decision_seconds_count', { outcome: 'approved' }), 1);
  assert.equal(value(text, 'kubegate_pending_requests'), 0, 'nothing waits any more');
  const denials = (await records(['refused'])).filter((r) => r.errorCode === 'KG_POLICY_DENIED').length;
  assert.equal(value(text, 'kubegate_requests_total', { decision: 'deny', code: '403' }), denials);
  assert.equal(denials, 1);
  assert.ok(
    value(text, 'kubegate_requests_total', { verb: 'create', resource: 'configmaps', code: '201' }) >= 1,
  );
  for (const stage of ['identify', 'parse', 'decide']) {
    assert.ok(value(text, 'kubegate_stage_duration_seconds_count', { stage }) > 0, stage);
  }
  assert.ok(value(text, 'kubegate_upstream_duration_seconds_count') > 0);
  assert.ok(value(text, 'kubegate_audit_appends_total', { mode: 'durable' }) > 0);
  assert.ok(value(text, 'kubegate_audit_appends_total', { mode: 'batched' }) > 0);
  assert.ok(value(text, 'kubegate_audit_durable_append_seconds_count') > 0);
  assert.equal(value(text, 'kubegate_policy_reloads_total', { result: 'loaded' }), 1);

  // Every family is declared (a family with no sample yet still has its HELP and TYPE).
  for (const family of [
    'kubegate_requests_total',
    'kubegate_stage_duration_seconds',
    'kubegate_upstream_duration_seconds',
    'kubegate_pending_requests',
    'kubegate_approvals_requested_total',
    'kubegate_approval_decisions_total',
    'kubegate_approval_time_to_decision_seconds',
    'kubegate_reviews_total',
    'kubegate_break_glass_total',
    'kubegate_approval_escalations_total',
    'kubegate_grants_used_total',
    'kubegate_audit_appends_total',
    'kubegate_audit_durable_append_seconds',
    'kubegate_audit_append_failures_total',
    'kubegate_policy_reloads_total',
    'kubegate_oidc_key_refreshes_total',
    'kubegate_open_streams',
    'kubegate_webhook_deliveries_total',
    'kubegate_process_cpu_seconds_total',
  ]) {
    assert.match(text, new RegExp(`^# TYPE ${family} `, 'mu'), family);
  }
  // Bounded labels: no person, namespace or object name.
  for (const name of ['alice', 'bob', ns, 'held-1', 'blocked-1']) {
    assert.doesNotMatch(text, new RegExp(`"${name}"`, 'u'), name);
  }
});

test('the metrics listener serves /metrics only, and the gateway port does not serve it', async () => {
  const other = await fetch(metricsUrl.replace('/metrics', '/'));
  assert.equal(other.status, 404);
  const head = await fetch(metricsUrl, { method: 'POST' });
  assert.equal(head.status, 405);
  // On the gateway's port, /metrics is an API server path like any other: forwarded, not ours.
  const r = await asAlice(['get', '--raw', '/metrics']);
  assert.doesNotMatch(r.stdout, /kubegate_requests_total/u);
});
