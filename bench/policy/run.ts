// Policy benchmark: decisions per second and p50/p99 latency of one decision, for generated
// policies of 10, 1,000 and 10,000 rules and a realistic request mix. Prints a table.
// Run: npx tsx bench/policy/run.ts
//
// The rules imitate a platform team's policy: per-team namespaces (dev, staging, prod), team
// allow rules, prod deny rules by namespace prefix, protected object names, per-user exec
// grants, approvals on sensitive pods (objectSelector), CEL conditions, selector and query
// conditions, a few regular-expression rules the index cannot narrow, and global rules. The
// requests mix reads (most traffic), writes, deletes, exec and discovery across those teams.
// Everything is generated from a fixed seed, so runs are comparable.

import { performance } from 'node:perf_hooks';
import { stringify } from 'yaml';
import type { KubeRequest, KubeRequestBody } from '../../src/request/types.js';
import type { CompiledPolicy } from '../../src/policy/compile.js';
import { evaluate } from '../../src/policy/evaluate.js';
import type { EvaluationInput } from '../../src/policy/evaluate.js';
import { formatIssue, loadPolicy } from '../../src/policy/load.js';

const SIZES = [10, 1_000, 10_000] as const;
const REQUESTS = 5_000;
const WARMUP_ROUNDS = 20;
const TIMED_ROUNDS = 40;

/** mulberry32: small, fast, seeded. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Rand = () => number;
const pick = <T>(rand: Rand, items: readonly T[]): T => items[Math.floor(rand() * items.length)] as T;
const int = (rand: Rand, n: number): number => Math.floor(rand() * n);

const ENVS = ['dev', 'staging', 'prod'] as const;
const WORKLOADS = ['deployments', 'statefulsets', 'configmaps', 'services', 'jobs', 'cronjobs'] as const;

function teamsFor(rules: number): number {
  return Math.max(2, Math.ceil(rules / 20));
}

function generateRules(count: number, rand: Rand): Record<string, unknown>[] {
  const teams = teamsFor(count);
  const global: Record<string, unknown>[] = [
    {
      name: 'reads-are-free',
      match: { verbs: ['get', 'list', 'watch'] },
      exclude: { resources: ['secrets'] },
      action: 'allow',
    },
    {
      name: 'exec-capable-needs-approval',
      match: { resources: ['@exec-capable'], namespaces: ['kube-system'] },
      action: 'approve',
      approval: { approvers: ['group:sre'] },
    },
    {
      name: 'no-node-deletes',
      match: { verbs: ['delete'], resources: ['nodes'] },
      action: 'deny',
      message: 'No.',
    },
    { name: 'dry-runs-are-free', match: { query: { dryRun: { present: true } } }, action: 'allow' },
  ];
  const rules = global.slice(0, Math.min(global.length, count));
  for (let i = rules.length; i < count; i++) {
    const t = int(rand, teams);
    const team = `team-${t}`;
    const name = `r${i}`;
    const roll = rand();
    if (roll < 0.3) {
      rules.push({
        name,
        match: {
          subjects: { groups: [team] },
          verbs: ['create', 'update', 'patch', 'delete'],
          resources: [pick(rand, WORKLOADS), pick(rand, WORKLOADS)],
          namespaces: [`${team}-dev`, `${team}-staging`],
        },
        action: 'allow',
      });
    } else if (roll < 0.45) {
      rules.push({
        name,
        match: {
          verbs: ['delete', 'deletecollection'],
          resources: [pick(rand, WORKLOADS)],
          namespaces: [`${team}-prod*`],
        },
        action: 'deny',
        message: `Deleting in ${team}'s production is not allowed.`,
      });
    } else if (roll < 0.55) {
      rules.push({
        name,
        match: { verbs: ['delete', 'update', 'patch'], names: [`db-${t}-${int(rand, 5)}`] },
        action: 'deny',
      });
    } else if (roll < 0.67) {
      rules.push({
        name,
        match: {
          subjects: { users: [`user-${int(rand, teams * 8)}`] },
          resources: ['pods/exec', 'pods/log'],
        },
        action: 'allow',
      });
    } else if (roll < 0.77) {
      rules.push({
        name,
        match: {
          resources: ['pods/exec', 'pods/attach'],
          namespaces: [`${team}-prod`],
          objectSelector: { matchLabels: { sensitive: 'true' } },
        },
        action: 'approve',
        approval: { approvers: [`group:${team}-leads`], count: 1 },
      });
    } else if (roll < 0.84) {
      rules.push({
        name,
        match: {
          verbs: ['patch', 'update'],
          resources: ['deployments', 'statefulsets'],
          namespaces: [`${team}-*`],
          when: 'has(body.spec) && has(body.spec.replicas) && body.spec.replicas > 20',
        },
        action: 'approve',
        approval: { approvers: ['group:sre'], count: 2 },
      });
    } else if (roll < 0.9) {
      rules.push({
        name,
        match: { verbs: ['deletecollection'], namespaces: [`${team}-prod`], selector: { present: false } },
        action: 'deny',
      });
    } else if (roll < 0.95) {
      rules.push({
        name,
        match: {
          verbs: ['create'],
          namespaces: [`${team}-staging`],
          query: { fieldManager: ['kubectl-*', 'helm'] },
        },
        action: 'allow',
      });
    } else if (roll < 0.98) {
      rules.push({
        name,
        match: {
          subjects: { groups: [team] },
          resources: ['secrets'],
          verbs: ['get', 'list'],
          namespaces: [`${team}-dev`],
        },
        action: 'allow',
      });
    } else {
      // Not indexable by namespace (a regular expression): every request in its buckets reads it.
      rules.push({
        name,
        match: { verbs: ['patch'], resources: ['configmaps'], namespaces: [`re:${team}-(dev|staging)`] },
        action: 'approve',
        approval: { approvers: [`group:${team}`] },
      });
    }
  }
  return rules;
}

const BASE: KubeRequest = {
  method: 'GET',
  path: '/',
  rawQuery: '',
  isResourceRequest: true,
  verb: 'get',
  apiPrefix: 'api',
  apiGroup: '',
  apiVersion: 'v1',
  namespace: '',
  resource: '',
  subresource: '',
  name: '',
  parts: [],
  query: {},
  labelSelector: '',
  fieldSelector: '',
  contentType: '',
  upgrade: null,
  kubectlCommand: '',
  kubectlSession: '',
};

const NO_BODY: KubeRequestBody = { digest: '', size: 0, object: null, deleteOptions: null };

function generateRequests(rules: number, rand: Rand): EvaluationInput[] {
  const teams = teamsFor(rules);
  const now = new Date('2026-01-05T10:00:00Z');
  const out: EvaluationInput[] = [];
  for (let i = 0; i < REQUESTS; i++) {
    const t = int(rand, teams);
    const namespace = `team-${t}-${pick(rand, ENVS)}`;
    const identity = { user: `user-${int(rand, teams * 8)}`, groups: [`team-${t}`, 'system:authenticated'] };
    const workload = pick(rand, WORKLOADS);
    const apiGroup = workload === 'deployments' || workload === 'statefulsets' ? 'apps' : '';
    const roll = rand();
    let request: KubeRequest;
    let body: KubeRequestBody = NO_BODY;
    let object: EvaluationInput['object'] = null;
    if (roll < 0.35) {
      request = {
        ...BASE,
        verb: pick(rand, ['list', 'watch']),
        apiGroup,
        namespace,
        resource: pick(rand, ['pods', workload]),
      };
    } else if (roll < 0.55) {
      request = {
        ...BASE,
        verb: 'get',
        apiGroup,
        namespace,
        resource: pick(rand, ['pods', workload, 'secrets']),
        name: `obj-${int(rand, 50)}`,
      };
    } else if (roll < 0.7) {
      request = {
        ...BASE,
        method: 'PATCH',
        verb: 'patch',
        apiGroup,
        namespace,
        resource: workload,
        name: `db-${t}-${int(rand, 8)}`,
      };
      body = { ...NO_BODY, object: { spec: { replicas: int(rand, 40) } } };
    } else if (roll < 0.78) {
      request = {
        ...BASE,
        method: 'DELETE',
        verb: 'delete',
        apiGroup,
        namespace,
        resource: workload,
        name: `obj-${int(rand, 50)}`,
      };
      body = {
        ...NO_BODY,
        deleteOptions: {
          dryRun: rand() < 0.1 ? ['All'] : [],
          gracePeriodSeconds: null,
          propagationPolicy: 'Background',
          orphanDependents: null,
        },
      };
    } else if (roll < 0.83) {
      request = {
        ...BASE,
        method: 'POST',
        verb: 'create',
        apiGroup,
        namespace,
        resource: workload,
        query: { fieldManager: [pick(rand, ['kubectl-create', 'helm', 'argocd'])] },
      };
      body = { ...NO_BODY, object: { metadata: { name: `new-${i}`, labels: { app: 'x' } } } };
    } else if (roll < 0.91) {
      request = {
        ...BASE,
        method: 'GET',
        verb: 'create',
        namespace,
        resource: 'pods',
        subresource: pick(rand, ['exec', 'attach', 'log']),
        name: `pod-${int(rand, 30)}`,
        query: { command: ['sh', '-c', 'ls'], container: ['app'] },
        upgrade: 'websocket',
      };
      if (request.subresource === 'log') request = { ...request, verb: 'get', upgrade: null };
      object =
        rand() < 0.05
          ? 'unavailable'
          : { metadata: { labels: { sensitive: rand() < 0.2 ? 'true' : 'false' } } };
    } else if (roll < 0.96) {
      request = {
        ...BASE,
        isResourceRequest: false,
        verb: 'get',
        path: pick(rand, ['/api', '/apis', '/openapi/v3', '/version']),
      };
    } else {
      request = {
        ...BASE,
        method: 'DELETE',
        verb: 'deletecollection',
        apiGroup,
        namespace,
        resource: workload,
        labelSelector: rand() < 0.5 ? 'app=web' : '',
      };
    }
    out.push({ request, body, identity, object, now });
  }
  return out;
}

interface Row {
  readonly rules: number;
  readonly loadMs: number;
  readonly perSecond: number;
  readonly p50: number;
  readonly p99: number;
  readonly mix: string;
}

function measure(
  policy: CompiledPolicy,
  requests: readonly EvaluationInput[],
): { perSecond: number; p50: number; p99: number; mix: string } {
  const counts = { allow: 0, deny: 0, approve: 0 };
  for (let r = 0; r < WARMUP_ROUNDS; r++) for (const input of requests) evaluate(policy, input);
  for (const input of requests) counts[evaluate(policy, input).kind]++;

  // Throughput without per-call timers.
  const start = performance.now();
  for (let r = 0; r < TIMED_ROUNDS; r++) for (const input of requests) evaluate(policy, input);
  const elapsed = performance.now() - start;
  const perSecond = (TIMED_ROUNDS * requests.length) / (elapsed / 1000);

  // Latency per decision (hrtime costs ~30-50 ns, included).
  const samples = new Float64Array(TIMED_ROUNDS * requests.length);
  let k = 0;
  for (let r = 0; r < TIMED_ROUNDS; r++) {
    for (const input of requests) {
      const t0 = process.hrtime.bigint();
      evaluate(policy, input);
      samples[k++] = Number(process.hrtime.bigint() - t0) / 1000;
    }
  }
  samples.sort();
  const at = (q: number): number =>
    samples[Math.min(samples.length - 1, Math.floor(q * samples.length))] ?? 0;
  const total = requests.length;
  const pct = (n: number): string => `${Math.round((100 * n) / total)}%`;
  return {
    perSecond,
    p50: at(0.5),
    p99: at(0.99),
    mix: `${pct(counts.allow)}/${pct(counts.deny)}/${pct(counts.approve)}`,
  };
}

const rows: Row[] = [];
for (const size of SIZES) {
  const rand = random(size);
  const text = stringify({
    apiVersion: 'kubegate.dev/v1alpha1',
    kind: 'Policy',
    defaults: { action: 'approve', approval: { approvers: ['group:sre'] } },
    rules: generateRules(size, rand),
  });
  const t0 = performance.now();
  const loaded = loadPolicy(text, `generated-${size}.yaml`);
  const loadMs = performance.now() - t0;
  if (!loaded.ok) {
    console.error(loaded.issues.slice(0, 5).map(formatIssue).join('\n'));
    process.exit(1);
  }
  const m = measure(loaded.policy, generateRequests(size, rand));
  rows.push({ rules: size, loadMs, ...m });
}

console.log(`node ${process.version}, ${REQUESTS} distinct requests × ${TIMED_ROUNDS} rounds per size`);
console.log('');
console.log('| rules  | load (YAML→compiled) | decisions/s | p50 µs | p99 µs | allow/deny/approve |');
console.log('|-------:|---------------------:|------------:|-------:|-------:|:-------------------|');
for (const r of rows) {
  console.log(
    `| ${r.rules.toLocaleString('en-US').padStart(6)} | ${`${r.loadMs.toFixed(0)} ms`.padStart(20)} | ${Math.round(r.perSecond).toLocaleString('en-US').padStart(11)} | ${r.p50.toFixed(2).padStart(6)} | ${r.p99.toFixed(2).padStart(6)} | ${r.mix.padEnd(18)} |`,
  );
}
