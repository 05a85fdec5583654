// Conditions the request alone cannot settle: collections (names), reads across all namespaces
// (namespaces), proxy ids (names, objectSelector), generated names, partial bodies (CEL `body`).
// Each row is a request as the gateway parses it (parseRequest + withBody): a deny or approve
// rule must match, failing closed, where kubegate cannot be sure; an allow rule must not; and the
// rule must still be decided where the request does settle it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { withBody } from '../request/body.js';
import { parseRequest } from '../request/parse.js';
import type { CompiledPolicy } from './compile.js';
import { evaluate, needsObject, needsScope } from './evaluate.js';
import type { TargetObject } from './evaluate.js';
import { loadPolicy } from './load.js';

function compile(rules: string, defaults = 'allow'): CompiledPolicy {
  const text = `apiVersion: kubegate.dev/v1alpha1\nkind: Policy\ndefaults: {action: ${defaults}}\nrules:\n${rules}`;
  const loaded = loadPolicy(text, 'policy.yaml');
  if (!loaded.ok) throw new Error(loaded.issues.map((i) => i.message).join('\n'));
  return loaded.policy;
}

const CRITICAL = compile(`
  - name: critical
    match: {names: ['critical-*']}
    action: deny
    message: critical objects are off limits
`);
const PROD = compile(`
  - name: prod
    match: {namespaces: ['prod*']}
    action: deny
    message: prod is off limits
`);
const ALL_NAMESPACES = compile(
  `
  - name: anywhere
    match: {namespaces: ['*'], verbs: [list]}
    action: allow
`,
  'deny',
);
const PROXY_NODE = compile(`
  - name: control-plane-proxy
    match: {resources: [nodes/proxy], names: [control-1]}
    action: deny
  - name: gpu-proxy
    match: {resources: [nodes/proxy], objectSelector: {matchLabels: {gpu: 'true'}}}
    action: approve
    approval: {approvers: ['group:sre']}
`);
const SENSITIVE_EXEC = compile(`
  - name: sensitive-exec
    match: {resources: [pods/exec], objectSelector: {matchLabels: {sensitive: 'true'}}}
    action: approve
    approval: {approvers: ['group:security']}
`);
const BIG_DEPLOYMENTS = compile(`
  - name: big
    match: {verbs: [create, patch], resources: [deployments], when: 'has(body.spec) && body.spec.replicas > 20'}
    action: approve
    approval: {approvers: ['group:sre']}
`);
const ALLOW_SMALL = compile(
  `
  - name: small
    match: {verbs: [create], resources: [deployments], when: 'has(body.spec) && body.spec.replicas <= 3'}
    action: allow
`,
  'deny',
);
const RE_COMMAND = compile(`
  - name: no-rm
    match: {resources: [pods/exec], query: {command: {values: ['re:rm .*']}}}
    action: deny
`);

interface Case {
  readonly name: string;
  readonly policy: CompiledPolicy;
  readonly method?: string;
  readonly target: string;
  readonly headers?: Record<string, string>;
  readonly body?: Buffer | string;
  readonly object?: TargetObject;
  readonly namespaced?: boolean | null;
  readonly want: 'allow' | 'deny' | 'approve';
  /** Whether the deciding rule failed closed (matched only because something was unknown). */
  readonly failedClosed?: boolean;
}

const pod = (labels: Record<string, string>): TargetObject => ({ metadata: { name: 'x', labels } });
const deployment = (replicas: number): string =>
  JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web' },
    spec: { replicas },
  });

// A protobuf body as kubectl ≥ 1.32 sends `create deployment web`: `k8s\0`, then
// runtime.Unknown{typeMeta{apiVersion, kind}, raw: Deployment{metadata{name}, spec{replicas: 50}}}.
function ld(field: number, ...parts: (Buffer | string)[]): Buffer {
  const payload = Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : p)));
  return Buffer.concat([Buffer.from([(field << 3) | 2, payload.length]), payload]);
}
const protobufDeployment = Buffer.concat([
  Buffer.from('k8s\0', 'latin1'),
  ld(1, ld(1, 'apps/v1'), ld(2, 'Deployment')),
  ld(2, ld(1, ld(1, 'web')), ld(2, Buffer.from([0x08, 50]))),
  ld(4, 'application/vnd.kubernetes.protobuf'),
]);

const cases: Case[] = [
  // names on collections
  {
    name: 'a names deny rule matches a list, failing closed: the list may return critical-a',
    policy: CRITICAL,
    target: '/api/v1/namespaces/d/configmaps',
    want: 'deny',
    failedClosed: true,
  },
  {
    name: 'a names deny rule matches a watch, failing closed',
    policy: CRITICAL,
    target: '/api/v1/namespaces/d/configmaps?watch=1',
    want: 'deny',
    failedClosed: true,
  },
  {
    name: 'a list pinned to one name by a metadata.name field selector is judged by that name',
    policy: CRITICAL,
    target: '/api/v1/namespaces/d/configmaps?fieldSelector=metadata.name%3Dweb',
    want: 'allow',
  },
  {
    name: 'a list pinned to a critical name is denied outright',
    policy: CRITICAL,
    target: '/api/v1/namespaces/d/configmaps?fieldSelector=metadata.name%3Dcritical-a',
    want: 'deny',
    failedClosed: false,
  },
  {
    name: 'a deletecollection with no listed object is judged as a whole collection, failing closed',
    policy: CRITICAL,
    method: 'DELETE',
    target: '/api/v1/namespaces/d/configmaps',
    want: 'deny',
    failedClosed: true,
  },
  {
    name: 'a deletecollection judged for a listed object uses its name',
    policy: CRITICAL,
    method: 'DELETE',
    target: '/api/v1/namespaces/d/configmaps',
    object: { metadata: { name: 'critical-a', namespace: 'd' } },
    want: 'deny',
    failedClosed: false,
  },
  {
    name: 'a deletecollection judged for a harmless listed object is allowed',
    policy: CRITICAL,
    method: 'DELETE',
    target: '/api/v1/namespaces/d/configmaps',
    object: { metadata: { name: 'web', namespace: 'd' } },
    want: 'allow',
  },
  // namespaces on reads across all namespaces
  {
    name: 'a namespaces deny rule matches `get secrets -A`, failing closed',
    policy: PROD,
    target: '/api/v1/secrets?limit=500',
    want: 'deny',
    failedClosed: true,
  },
  {
    name: 'a namespaces deny rule matches a watch across all namespaces, failing closed',
    policy: PROD,
    target: '/apis/apps/v1/deployments?watch=true',
    want: 'deny',
    failedClosed: true,
  },
  {
    name: 'a read across all namespaces pinned to staging by a field selector is judged in staging',
    policy: PROD,
    target: '/api/v1/secrets?fieldSelector=metadata.namespace%3Dstaging',
    want: 'allow',
  },
  {
    name: 'a read across all namespaces pinned to prod by a field selector is denied outright',
    policy: PROD,
    target: '/api/v1/secrets?fieldSelector=metadata.namespace%3Dprod',
    want: 'deny',
    failedClosed: false,
  },
  {
    name: 'a list of a built-in cluster-scoped resource (nodes) is in no namespace',
    policy: PROD,
    target: '/api/v1/nodes',
    want: 'allow',
  },
  {
    name: 'a list of a CRD that discovery says is cluster-scoped is in no namespace',
    policy: PROD,
    target: '/apis/example.com/v1/widgets',
    namespaced: false,
    want: 'allow',
  },
  {
    name: 'a list of a CRD whose scope is not known may read every namespace, failing closed',
    policy: PROD,
    target: '/apis/example.com/v1/widgets',
    namespaced: null,
    want: 'deny',
    failedClosed: true,
  },
  {
    name: 'a `*` namespaces allow rule still matches a read across all namespaces',
    policy: ALL_NAMESPACES,
    target: '/api/v1/pods',
    want: 'allow',
  },
  {
    name: 'a read in one namespace is unaffected',
    policy: PROD,
    target: '/api/v1/namespaces/staging/secrets',
    want: 'allow',
  },
  // proxy ids
  {
    name: 'nodes/https:control-1:10250/proxy is node control-1 to a names rule',
    policy: PROXY_NODE,
    target: '/api/v1/nodes/https:control-1:10250/proxy/pods',
    object: pod({}),
    want: 'deny',
    failedClosed: false,
  },
  {
    name: 'nodes/control-1:10250/proxy is node control-1 to a names rule',
    policy: PROXY_NODE,
    target: '/api/v1/nodes/control-1:10250/proxy/pods',
    object: pod({}),
    want: 'deny',
    failedClosed: false,
  },
  {
    name: 'the legacy /proxy/ verb splits the id too',
    policy: PROXY_NODE,
    target: '/api/v1/proxy/nodes/https:control-1:10250/pods',
    object: pod({}),
    want: 'deny',
    failedClosed: false,
  },
  {
    name: 'a proxy id the API server would refuse leaves names unknown, failing closed',
    policy: PROXY_NODE,
    target: '/api/v1/nodes/ftp:control-1:21/proxy/',
    want: 'deny',
    failedClosed: true,
  },
  {
    name: 'a proxy to a node kubegate did not find leaves its labels unknown, failing closed',
    policy: PROXY_NODE,
    target: '/api/v1/nodes/worker-9/proxy/pods',
    object: null,
    want: 'approve',
    failedClosed: true,
  },
  {
    name: 'a proxy to a found node without the label is allowed',
    policy: PROXY_NODE,
    target: '/api/v1/nodes/https:worker-9:10250/proxy/pods',
    object: pod({ gpu: 'false' }),
    want: 'allow',
  },
  {
    name: 'exec into a pod kubegate did not find leaves its labels unknown, failing closed',
    policy: SENSITIVE_EXEC,
    method: 'POST',
    target: '/api/v1/namespaces/d/pods/db-0/exec?command=sh',
    object: null,
    want: 'approve',
    failedClosed: true,
  },
  // generateName
  {
    name: 'generateName "critical-" always gives a critical-* name',
    policy: CRITICAL,
    method: 'POST',
    target: '/api/v1/namespaces/d/configmaps',
    body: JSON.stringify({ metadata: { generateName: 'critical-' } }),
    want: 'deny',
    failedClosed: false,
  },
  {
    name: 'generateName "crit" may give a critical-* name, failing closed',
    policy: CRITICAL,
    method: 'POST',
    target: '/api/v1/namespaces/d/configmaps',
    body: JSON.stringify({ metadata: { generateName: 'crit' } }),
    want: 'deny',
    failedClosed: true,
  },
  {
    name: 'generateName "web-" never gives a critical-* name',
    policy: CRITICAL,
    method: 'POST',
    target: '/api/v1/namespaces/d/configmaps',
    body: JSON.stringify({ metadata: { generateName: 'web-' } }),
    want: 'allow',
  },
  // CEL on a partial body
  {
    name: 'a body condition is decided on a JSON create',
    policy: BIG_DEPLOYMENTS,
    method: 'POST',
    target: '/apis/apps/v1/namespaces/d/deployments',
    body: deployment(50),
    want: 'approve',
    failedClosed: false,
  },
  {
    name: 'a body condition is decided (false) on a small JSON create',
    policy: BIG_DEPLOYMENTS,
    method: 'POST',
    target: '/apis/apps/v1/namespaces/d/deployments',
    body: deployment(2),
    want: 'allow',
  },
  {
    name: 'a body condition on a protobuf create (metadata only known) is unknown, failing closed',
    policy: BIG_DEPLOYMENTS,
    method: 'POST',
    target: '/apis/apps/v1/namespaces/d/deployments',
    headers: { 'content-type': 'application/vnd.kubernetes.protobuf' },
    body: protobufDeployment,
    want: 'approve',
    failedClosed: true,
  },
  {
    name: 'a body condition on a JSON Patch (an array) is unknown, failing closed',
    policy: BIG_DEPLOYMENTS,
    method: 'PATCH',
    target: '/apis/apps/v1/namespaces/d/deployments/web',
    headers: { 'content-type': 'application/json-patch+json' },
    body: JSON.stringify([{ op: 'replace', path: '/spec/replicas', value: 50 }]),
    want: 'approve',
    failedClosed: true,
  },
  {
    name: 'an allow rule on body does not match a protobuf create',
    policy: ALLOW_SMALL,
    method: 'POST',
    target: '/apis/apps/v1/namespaces/d/deployments',
    headers: { 'content-type': 'application/vnd.kubernetes.protobuf' },
    body: protobufDeployment,
    want: 'deny',
  },
  // re: patterns across newlines
  {
    name: 'a re: pattern matches a command padded with a newline',
    policy: RE_COMMAND,
    method: 'POST',
    target: '/api/v1/namespaces/d/pods/x/exec?command=rm&command=%0A-rf&command=/',
    want: 'deny',
    failedClosed: false,
  },
];

for (const c of cases) {
  test(c.name, () => {
    const request = parseRequest({ method: c.method ?? 'GET', target: c.target, headers: c.headers ?? {} });
    const bytes = c.body === undefined ? Buffer.alloc(0) : Buffer.from(c.body);
    const body = withBody(request, bytes);
    const decision = evaluate(c.policy, {
      request,
      body,
      identity: { user: 'alice', groups: ['dev'] },
      object: c.object ?? null,
      now: new Date('2026-12-04T10:00:00Z'),
      ...(c.namespaced === undefined ? {} : { namespaced: c.namespaced }),
    });
    assert.equal(decision.kind, c.want, JSON.stringify(decision.rules));
    if (c.failedClosed !== undefined) {
      assert.equal(
        decision.rules.some((r) => r.failedClosed !== undefined),
        c.failedClosed,
        JSON.stringify(decision.rules),
      );
    }
  });
}

test('the failed-closed reason says why the namespace is unknown', () => {
  const request = parseRequest({ method: 'GET', target: '/api/v1/secrets', headers: {} });
  const decision = evaluate(PROD, {
    request,
    body: null,
    identity: { user: 'alice', groups: [] },
    object: null,
    now: new Date(0),
  });
  assert.equal(decision.rules[0]?.failedClosed, 'namespaces: the request reads across all namespaces');
});

test('discovery is asked only for a non-built-in resource read across all namespaces by a namespace rule', () => {
  const ask = (policy: CompiledPolicy, target: string) =>
    needsScope(policy, {
      request: parseRequest({ method: 'GET', target, headers: {} }),
      body: null,
      identity: { user: 'alice', groups: [] },
    });
  assert.equal(ask(PROD, '/apis/example.com/v1/widgets'), true);
  assert.equal(ask(PROD, '/apis/example.com/v1/namespaces/d/widgets'), false, 'one namespace');
  assert.equal(ask(PROD, '/api/v1/secrets'), false, 'built in');
  assert.equal(ask(CRITICAL, '/apis/example.com/v1/widgets'), false, 'no namespace rule');
  assert.equal(
    ask(PROD, '/apis/example.com/v1/widgets?fieldSelector=metadata.namespace%3Dd'),
    false,
    'pinned by a field selector',
  );
});

test('a deletecollection under a names rule needs its objects listed', () => {
  const request = parseRequest({ method: 'DELETE', target: '/api/v1/namespaces/d/configmaps', headers: {} });
  const input = { request, body: null, identity: { user: 'alice', groups: [] } };
  assert.equal(needsObject(CRITICAL, input), true);
  assert.equal(needsObject(PROD, input), false);
});
