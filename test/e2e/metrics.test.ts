// kubegate's Prometheus metrics end to end, read by a real Prometheus server: a real kubegate with
// the example policy (examples/policy.yaml) and metrics.listen in front of the test bed, and the
// three day-one scenarios driven by real kubectl — a deployment deleted in staging and refused in
// prod; a statefulset scaled after two SRE approvals; exec into a pod labelled sensitive after
// security's approval (and into a plain pod at once) — plus a watch and a notification webhook.
// Prometheus (built from its Go module by testbed/build.sh) scrapes the metrics listener every
// second; the test reads what Prometheus made of it through its HTTP API: the scrape is healthy
// (Prometheus's own parser took the text), every family is there with its type, the counts match
// the audit trail the same run wrote, the pending gauge shows a held request by the rule it waits
// on, the watch shows as an open stream while it runs, and no user, namespace or object name is a
// label value.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { PendingRequest } from '../../src/approvals/types.js';
import type { AuditEvent } from '../../src/audit/event.js';
import type { TestbedState } from '../../src/demo/control-plane.js';
import { freePort } from '../../src/demo/ports.js';
import { packageRoot } from '../../src/package-root.js';
import { startGateway, type GatewayHandle } from '../fixtures/gateway.js';
import { kubectl, startKubectl, type KubectlResult } from '../fixtures/kubectl.js';
import { startPrometheus, type Prometheus, type Sample } from '../fixtures/prometheus.js';
import { reviewerOf, type Reviewer } from '../fixtures/reviewer.js';
import { useTestbed } from '../fixtures/testbed.js';
import { statefulsetManifest, waitPodRunning } from '../fixtures/workloads.js';

const suffix = randomBytes(3).toString('hex');
const staging = 'staging';
const prod = `prod-${suffix}`;
const data = `data-${suffix}`;
const deployment = `web-${suffix}`;

let tb: TestbedState;
let gw: GatewayHandle;
let prom: Prometheus;
let metricsPort: number;
let hooks: Server;
let hookPosts = 0;
let alice: string;
let sam: Reviewer;
let tess: Reviewer;
let sec: Reviewer;

const admin = (args: string[], stdin?: string): Promise<KubectlResult> =>
  kubectl(args, { kubeconfig: tb.adminKubeconfig, ...(stdin === undefined ? {} : { stdin }) });
const asAlice = (args: string[]): Promise<KubectlResult> =>
  kubectl(args, { kubeconfig: alice, timeoutMs: 120_000 });

const pendingFor = (resource: string, name: string) => (p: PendingRequest) =>
  p.state === 'pending' &&
  p.requester.user === 'alice' &&
  p.request.resource === resource &&
  p.request.name === name;

before(async () => {
  tb = await useTestbed();
  // The notification webhook's receiver: counts what kubegate delivered.
  hooks = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      hookPosts++;
      res.end('ok');
    });
  });
  await new Promise<void>((r) => hooks.listen(0, '127.0.0.1', r));
  metricsPort = await freePort();
  gw = await startGateway(tb, {
    config: {
      policy: { file: join(packageRoot(import.meta.dirname), 'examples', 'policy.yaml') },
      metrics: { listen: { host: '127.0.0.1', port: metricsPort } },
      notifications: {
        webhooks: [{ url: `http://127.0.0.1:${(hooks.address() as AddressInfo).port}/hook` }],
      },
      approvals: { holdTimeoutMs: 5 * 60_000 },
    },
  });
  prom = await startPrometheus({ target: `127.0.0.1:${metricsPort}`, dir: tb.dir });
  let r = await admin(['create', 'namespace', staging]);
  assert.ok(r.code === 0 || /AlreadyExists/u.test(r.stderr), r.stderr);
  for (const args of [
    ['create', 'namespace', prod],
    ['create', 'namespace', data],
    ['create', 'rolebinding', `dev-edit-${suffix}`, '-n', staging, '--clusterrole=edit', '--group=dev'],
    ['create', 'rolebinding', 'dev-edit', '-n', prod, '--clusterrole=edit', '--group=dev'],
    ['create', 'rolebinding', 'dev-edit', '-n', data, '--clusterrole=edit', '--group=dev'],
    ['create', 'deployment', deployment, '-n', staging, '--image=registry.example/web:1'],
    ['create', 'deployment', deployment, '-n', prod, '--image=registry.example/web:1'],
    ['run', 'vault', '-n', data, '--image=registry.example/vault:1', '--labels=sensitive=true'],
    ['run', 'plain', '-n', data, '--image=registry.example/app:1'],
  ]) {
    r = await admin(args);
    assert.equal(r.code, 0, r.stderr);
  }
  r = await admin(['apply', '-f', '-'], statefulsetManifest('db', data));
  assert.equal(r.code, 0, r.stderr);
  await waitPodRunning(admin, data, 'vault');
  await waitPodRunning(admin, data, 'plain');
  alice = await gw.kubeconfigFor('alice', ['dev']);
  sam = await reviewerOf(gw, await gw.kubeconfigFor('sam', ['sre']));
  tess = await reviewerOf(gw, await gw.kubeconfigFor('tess', ['sre']));
  sec = await reviewerOf(gw, await gw.kubeconfigFor('sec', ['security']));
});

after(async () => {
  for (const r of [sam, tess, sec]) await r?.close();
  await prom?.stop();
  await gw?.stop();
  await new Promise((r) => hooks?.close(r));
  await admin(['delete', 'namespace', prod, data, '--wait=false']);
  await admin(['delete', 'deployment', deployment, '-n', staging, '--ignore-not-found']);
  await admin(['delete', 'rolebinding', `dev-edit-${suffix}`, '-n', staging, '--ignore-not-found']);
});

/** The sum of an instant query's values (0 when Prometheus has no series for it). */
async function sum(expr: string): Promise<number> {
  return (await prom.query(expr)).reduce((n, s) => n + s.value, 0);
}

/** Waits for a fresh scrape, then until `expr` sums to `want` (a scrape may land mid-change). */
async function eventually(expr: string, want: number, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    await prom.waitForScrape();
    const got = await sum(expr);
    if (got === want) return;
    if (Date.now() > deadline) assert.fail(`${expr} is ${got} in prometheus, expected ${want}`);
  }
}

async function records(kind: AuditEvent['kind']): Promise<AuditEvent[]> {
  return (await gw.auditRecords()).filter((r) => r.kind === kind);
}

test('the three seed scenarios, as Prometheus scrapes them, count as the audit trail counts them', async () => {
  // 1. Deployments: deleted in staging, refused in prod with the rule's message.
  let r = await asAlice(['delete', 'deployment', deployment, '-n', staging]);
  assert.equal(r.code, 0, r.stderr);
  r = await asAlice(['delete', 'deployment', deployment, '-n', prod]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /Deleting deployments in production is not allowed\./u);

  // A watch is an open stream while it runs.
  const watch = startKubectl(['get', 'pods', '-n', data, '--watch'], { kubeconfig: alice });
  try {
    await watch.waitFor(/vault/u, 30_000);
    await eventually('kubegate_open_streams{kind="watch"}', 1);
  } finally {
    watch.stop();
  }

  // 2. A statefulset scaled: pending by its rule while it waits for two people of SRE.
  const scale = startKubectl(['scale', 'statefulset', 'db', '-n', data, '--replicas=3'], {
    kubeconfig: alice,
  });
  try {
    const pending = await sam.waitFor(pendingFor('statefulsets', 'db'), 60_000);
    await eventually('kubegate_pending_requests{rule="statefulsets-need-two"}', 1);
    assert.equal((await sam.cli(['approve', pending.id])).code, 0);
    assert.equal((await tess.cli(['approve', pending.id])).code, 0);
    await scale.waitFor(/statefulset.apps\/db scaled/u, 30_000);
  } finally {
    scale.stop();
  }

  // 3. Exec into the sensitive pod waits for security; into the plain pod it goes at once.
  const exec = startKubectl(['exec', '-n', data, 'vault', '--', 'echo', 'opened'], { kubeconfig: alice });
  try {
    const pending = await sec.waitFor(pendingFor('pods', 'vault'), 60_000);
    await eventually('kubegate_pending_requests{rule="sensitive-exec"}', 1);
    assert.equal((await sec.cli(['approve', pending.id])).code, 0);
    await exec.waitFor(/opened/u, 30_000);
  } finally {
    exec.stop();
  }
  r = await asAlice(['exec', '-n', data, 'plain', '--', 'echo', 'plain']);
  assert.equal(r.code, 0, r.stderr);

  // Once every record is in (reads are batched) and scraped, Prometheus and the trail agree.
  const answered = async (): Promise<number> =>
    (await records('forwarded')).length + (await records('refused')).length;
  const deadline = Date.now() + 30_000;
  for (;;) {
    await prom.waitForScrape();
    const [counted, want, open] = [
      await sum('kubegate_requests_total'),
      await answered(),
      await sum('kubegate_open_streams'),
    ];
    if (counted === want && open === 0) break;
    if (Date.now() > deadline)
      assert.fail(`requests_total ${counted} vs ${want} answered records; open streams ${open}`);
  }
  const count = async (kind: AuditEvent['kind']): Promise<number> => (await records(kind)).length;
  const denials = (await records('refused')).filter((e) => e.errorCode === 'KG_POLICY_DENIED');
  assert.equal(denials.length, 1);
  assert.equal(await sum('kubegate_requests_total{decision="deny",code="403"}'), denials.length);
  assert.ok(
    await sum('kubegate_requests_total{verb="delete",resource="deployments",code="200"}'),
    'staging delete',
  );
  assert.equal(await sum('kubegate_approvals_requested_total'), await count('approval-requested'));
  assert.equal(await sum('kubegate_approvals_requested_total{rule="statefulsets-need-two"}'), 1);
  assert.equal(await sum('kubegate_approvals_requested_total{rule="sensitive-exec"}'), 1);
  assert.equal(await sum('kubegate_reviews_total{verdict="approve"}'), await count('reviewed'));
  assert.equal(await count('reviewed'), 3, 'two for the statefulset, one for the exec');
  assert.equal(await sum('kubegate_grants_used_total'), await count('granted'));
  assert.equal(await sum('kubegate_approval_decisions_total{outcome="approved"}'), 2);
  assert.equal(await sum('kubegate_approval_time_to_decision_seconds_count{outcome="approved"}'), 2);
  assert.equal(await sum('kubegate_pending_requests'), 0, 'nothing waits any more');
  assert.equal(await sum('kubegate_break_glass_total'), 0);
  for (const stage of ['identify', 'parse', 'decide'])
    assert.ok(await sum(`kubegate_stage_duration_seconds_count{stage="${stage}"}`), stage);
  assert.ok(await sum('kubegate_upstream_duration_seconds_count'));
  assert.ok(await sum('kubegate_audit_appends_total{mode="durable"}'));
  assert.ok(await sum('kubegate_audit_appends_total{mode="batched"}'));
  assert.ok(await sum('kubegate_audit_durable_append_seconds_count'));
  assert.equal(await sum('kubegate_audit_append_failures_total'), 0);
  assert.equal(await sum('kubegate_policy_reloads_total{result="loaded"}'), 1);
  // Two requests held: each notified when created and when decided.
  await eventually('kubegate_webhook_deliveries_total{result="delivered"}', hookPosts);
  assert.ok(hookPosts >= 4, `${hookPosts} notifications`);

  // Every family, with its type, as Prometheus read it from the HELP and TYPE lines.
  const families = await prom.families();
  for (const [family, type] of Object.entries({
    kubegate_requests_total: 'counter',
    kubegate_stage_duration_seconds: 'histogram',
    kubegate_upstream_duration_seconds: 'histogram',
    kubegate_pending_requests: 'gauge',
    kubegate_approvals_requested_total: 'counter',
    kubegate_approval_decisions_total: 'counter',
    kubegate_approval_time_to_decision_seconds: 'histogram',
    kubegate_reviews_total: 'counter',
    kubegate_break_glass_total: 'counter',
    kubegate_approval_escalations_total: 'counter',
    kubegate_grants_used_total: 'counter',
    kubegate_audit_appends_total: 'counter',
    kubegate_audit_durable_append_seconds: 'histogram',
    kubegate_audit_append_failures_total: 'counter',
    kubegate_policy_reloads_total: 'counter',
    kubegate_oidc_key_refreshes_total: 'counter',
    kubegate_open_streams: 'gauge',
    kubegate_webhook_deliveries_total: 'counter',
    kubegate_process_cpu_seconds_total: 'counter',
  })) {
    assert.equal(families.get(family)?.type, type, `${family} in prometheus's metadata`);
  }

  // Bounded labels: no person, namespace or object name in any series Prometheus holds.
  const series: Sample[] = await prom.query('{__name__=~"kubegate_.+"}');
  assert.ok(series.length > 20);
  const values = new Set(series.flatMap((s) => Object.values(s.labels)));
  for (const name of ['alice', 'sam', 'tess', 'sec', staging, prod, data, deployment, 'db', 'vault', 'plain'])
    assert.ok(!values.has(name), `${name} is a label value`);
});

test('the metrics listener serves /metrics only, and the gateway port does not serve it', async () => {
  const base = `http://127.0.0.1:${metricsPort}`;
  assert.equal((await fetch(`${base}/`)).status, 404);
  assert.equal((await fetch(`${base}/metrics`, { method: 'POST' })).status, 405);
  const text = await (await fetch(`${base}/metrics`)).text();
  assert.match(text, /^# TYPE kubegate_requests_total counter$/mu);
  // On the gateway's port, /metrics is an API server path like any other: forwarded, not ours.
  const r = await asAlice(['get', '--raw', '/metrics']);
  assert.doesNotMatch(r.stdout, /kubegate_requests_total/u);
});
