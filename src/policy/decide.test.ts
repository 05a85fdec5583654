// The decide stage with fake deps: which object is looked up (if any), how its labels and body
// change the decision, deletecollection judged per listed object, and failed or slow lookups
// failing closed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KubegateError } from '../errors.js';
import { withBody } from '../request/body.js';
import { parseRequest } from '../request/parse.js';
import type { CompiledPolicy } from './compile.js';
import { createDecide, strictest } from './decide.js';
import type { DecideDeps, ObjectLookups } from './decide.js';
import type { Decision } from './decision.js';
import { loadPolicy } from './load.js';

const POLICY = `apiVersion: kubegate.dev/v1alpha1
kind: Policy
defaults: {action: allow}
rules:
  - name: sensitive-exec
    match: {resources: [pods/exec, pods/attach], objectSelector: {matchLabels: {sensitive: "true"}}}
    action: approve
    approval: {approvers: ["group:security"]}
  - name: sensitive-create
    match: {verbs: [create], resources: [pods], objectSelector: {matchLabels: {sensitive: "true"}}}
    action: approve
    approval: {approvers: ["group:security"]}
  - name: protected-deletes
    match: {verbs: [delete, deletecollection], resources: [pods], objectSelector: {matchLabels: {protected: "true"}}}
    action: deny
    message: Protected pods cannot be deleted.
  - name: db-batches
    match: {verbs: [deletecollection], resources: [pods], objectSelector: {matchLabels: {tier: db}}}
    action: approve
    approval: {approvers: ["group:dba"]}
  - name: web-batches
    match: {verbs: [deletecollection], resources: [pods], objectSelector: {matchLabels: {app: web}}}
    action: approve
    approval: {approvers: ["group:web-leads"]}
  - name: owners-patch-configmaps
    match: {verbs: [patch], resources: [configmaps]}
    exclude: {when: 'object.?metadata.?labels[?"owner"].orValue("") == user.name'}
    action: deny
    message: Only the owner may patch this configmap.
`;

function compile(text: string): CompiledPolicy {
  const loaded = loadPolicy(text, 'policy.yaml');
  if (!loaded.ok) throw new Error(loaded.issues.map((i) => i.message).join('\n'));
  return loaded.policy;
}

const policy = compile(POLICY);

type Obj = Record<string, unknown>;
const obj = (name: string, labels: Record<string, string>): Obj => ({ metadata: { name, labels } });

/** A lookup's outcome in the fake: an object, null (404), or an error to throw. */
type Outcome = Obj | null | KubegateError;

interface Fake extends ObjectLookups {
  readonly calls: string[];
}

/** Discovery in the fake: namespaced unless listed here (null: not served). */
const CLUSTER_SCOPED: Record<string, boolean | null> = {
  nodes: false,
  namespaces: false,
  clusterwidgets: false,
  widgets: null,
};

function fakeObjects(
  objects: Record<string, Outcome> = {},
  listed: Outcome[] | KubegateError = [],
  discovery: KubegateError | null = null,
): Fake {
  const calls: string[] = [];
  return {
    calls,
    namespaced(ref) {
      calls.push(`scope ${ref.resource} (${ref.apiPrefix} ${ref.apiGroup}/${ref.apiVersion})`);
      if (discovery !== null) return Promise.reject(discovery);
      return Promise.resolve(ref.resource in CLUSTER_SCOPED ? (CLUSTER_SCOPED[ref.resource] ?? null) : true);
    },
    get(ref) {
      const key = `${ref.resource} ${ref.namespace}/${ref.name}`;
      calls.push(`get ${key} (${ref.apiPrefix} ${ref.apiGroup}/${ref.apiVersion})`);
      const outcome = objects[key] ?? null;
      return outcome instanceof KubegateError ? Promise.reject(outcome) : Promise.resolve(outcome);
    },
    list(ref) {
      calls.push(
        `list ${ref.resource} ${ref.namespace} labels=${ref.labelSelector} fields=${ref.fieldSelector}`,
      );
      if (listed instanceof KubegateError) return Promise.reject(listed);
      return Promise.resolve(listed.filter((o): o is Obj => o !== null && !(o instanceof KubegateError)));
    },
  };
}

const forbidden = new KubegateError('KG_UPSTREAM_UNAVAILABLE', 'the API server answered 403');

interface Row {
  readonly name: string;
  readonly method: string;
  readonly target: string;
  readonly headers?: Record<string, string>;
  readonly body?: unknown;
  readonly user?: string;
  readonly objects?: Record<string, Outcome>;
  readonly listed?: Outcome[] | KubegateError;
  readonly want: {
    readonly kind: Decision['kind'];
    readonly rules: readonly string[];
    readonly failedClosed?: readonly string[];
    readonly approvals?: readonly (string | null)[];
    readonly message?: string;
    readonly lookups: readonly string[];
    readonly lookupErrors?: readonly string[];
  };
}

const EXEC = '/api/v1/namespaces/d/pods/db-0/exec?command=sh&stdin=true&tty=true';
const WS = { upgrade: 'websocket', connection: 'Upgrade' };
const DELETE_BY_LABEL =
  '/api/v1/namespaces/d/pods?labelSelector=batch%3D7&fieldSelector=status.phase%3DFailed';
const GET_DB0 = 'get pods d/db-0 (api /v1)';
const LIST = 'list pods d labels=batch=7 fields=status.phase=Failed';

const rows: Row[] = [
  {
    name: 'exec into a sensitive pod looks the pod up and needs approval',
    method: 'POST',
    target: EXEC,
    objects: { 'pods d/db-0': obj('db-0', { sensitive: 'true' }) },
    want: { kind: 'approve', rules: ['sensitive-exec'], approvals: ['sensitive-exec'], lookups: [GET_DB0] },
  },
  {
    name: 'exec over a WebSocket GET looks the pod up too and needs the same approval',
    method: 'GET',
    target: EXEC,
    headers: WS,
    objects: { 'pods d/db-0': obj('db-0', { sensitive: 'true' }) },
    want: { kind: 'approve', rules: ['sensitive-exec'], approvals: ['sensitive-exec'], lookups: [GET_DB0] },
  },
  {
    name: 'exec into an ordinary pod is allowed by the defaults after the lookup',
    method: 'POST',
    target: EXEC,
    objects: { 'pods d/db-0': obj('db-0', { app: 'db' }) },
    want: { kind: 'allow', rules: [], lookups: [GET_DB0] },
  },
  {
    name: 'a list is decided without any lookup, since no rule that could match needs the object',
    method: 'GET',
    target: '/api/v1/namespaces/d/pods',
    want: { kind: 'allow', rules: [], lookups: [] },
  },
  {
    name: 'a get of a secret is decided without any lookup',
    method: 'GET',
    target: '/api/v1/namespaces/d/secrets/s',
    want: { kind: 'allow', rules: [], lookups: [] },
  },
  {
    name: 'a create is judged by the labels in its body, with no lookup',
    method: 'POST',
    target: '/api/v1/namespaces/d/pods',
    headers: { 'content-type': 'application/json' },
    body: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'x', labels: { sensitive: 'true' } } },
    want: { kind: 'approve', rules: ['sensitive-create'], approvals: ['sensitive-create'], lookups: [] },
  },
  {
    name: 'deleting a protected pod is denied with the rule message',
    method: 'DELETE',
    target: '/api/v1/namespaces/d/pods/db-0',
    objects: { 'pods d/db-0': obj('db-0', { protected: 'true' }) },
    want: {
      kind: 'deny',
      rules: ['protected-deletes'],
      message: 'Protected pods cannot be deleted.',
      lookups: [GET_DB0],
    },
  },
  {
    name: 'deleting a pod that does not exist (404) is judged with no labels',
    method: 'DELETE',
    target: '/api/v1/namespaces/d/pods/db-0',
    objects: { 'pods d/db-0': null },
    want: { kind: 'allow', rules: [], lookups: [GET_DB0] },
  },
  {
    name: 'a failed lookup makes a deny rule that needs the object apply, failing closed',
    method: 'DELETE',
    target: '/api/v1/namespaces/d/pods/db-0',
    objects: { 'pods d/db-0': forbidden },
    want: {
      kind: 'deny',
      rules: ['protected-deletes'],
      failedClosed: ['protected-deletes: objectSelector: the target object could not be fetched'],
      message: 'Protected pods cannot be deleted.',
      lookups: [GET_DB0],
      lookupErrors: ['KG_UPSTREAM_UNAVAILABLE'],
    },
  },
  {
    name: 'a failed lookup for an exec needs approval, failing closed',
    method: 'GET',
    target: EXEC,
    headers: WS,
    objects: { 'pods d/db-0': forbidden },
    want: {
      kind: 'approve',
      rules: ['sensitive-exec'],
      failedClosed: ['sensitive-exec: objectSelector: the target object could not be fetched'],
      approvals: ['sensitive-exec'],
      lookups: [GET_DB0],
      lookupErrors: ['KG_UPSTREAM_UNAVAILABLE'],
    },
  },
  {
    name: 'a CEL exclude reading the object lets the owner patch',
    method: 'PATCH',
    target: '/api/v1/namespaces/d/configmaps/c',
    headers: { 'content-type': 'application/merge-patch+json' },
    body: { data: { k: 'v' } },
    user: 'alice',
    objects: { 'configmaps d/c': obj('c', { owner: 'alice' }) },
    want: { kind: 'allow', rules: [], lookups: ['get configmaps d/c (api /v1)'] },
  },
  {
    name: 'a CEL exclude reading the object refuses anyone else',
    method: 'PATCH',
    target: '/api/v1/namespaces/d/configmaps/c',
    headers: { 'content-type': 'application/merge-patch+json' },
    body: { data: { k: 'v' } },
    user: 'bob',
    objects: { 'configmaps d/c': obj('c', { owner: 'alice' }) },
    want: {
      kind: 'deny',
      rules: ['owners-patch-configmaps'],
      message: 'Only the owner may patch this configmap.',
      lookups: ['get configmaps d/c (api /v1)'],
    },
  },
  {
    name: 'a CEL exclude whose object cannot be fetched does not exempt anyone',
    method: 'PATCH',
    target: '/api/v1/namespaces/d/configmaps/c',
    headers: { 'content-type': 'application/merge-patch+json' },
    body: { data: { k: 'v' } },
    user: 'alice',
    objects: { 'configmaps d/c': forbidden },
    want: {
      kind: 'deny',
      rules: ['owners-patch-configmaps'],
      failedClosed: ['owners-patch-configmaps: exclude when: the target object could not be fetched'],
      message: 'Only the owner may patch this configmap.',
      lookups: ['get configmaps d/c (api /v1)'],
      lookupErrors: ['KG_UPSTREAM_UNAVAILABLE'],
    },
  },
  {
    name: 'a deletecollection lists what it would delete with its own selectors and allows when all are allowed',
    method: 'DELETE',
    target: DELETE_BY_LABEL,
    listed: [obj('a', { batch: '7' }), obj('b', { batch: '7' })],
    want: { kind: 'allow', rules: [], lookups: [LIST] },
  },
  {
    name: 'a deletecollection with one protected object among others is denied',
    method: 'DELETE',
    target: DELETE_BY_LABEL,
    listed: [obj('a', {}), obj('b', { tier: 'db' }), obj('c', { protected: 'true' })],
    want: {
      kind: 'deny',
      rules: ['protected-deletes', 'db-batches'],
      message: 'Protected pods cannot be deleted.',
      lookups: [LIST],
    },
  },
  {
    name: 'a deletecollection needs every approval its objects call for, each once',
    method: 'DELETE',
    target: DELETE_BY_LABEL,
    listed: [obj('a', { tier: 'db' }), obj('b', { app: 'web' }), obj('c', { tier: 'db' })],
    want: {
      kind: 'approve',
      rules: ['db-batches', 'web-batches'],
      approvals: ['db-batches', 'web-batches'],
      lookups: [LIST],
    },
  },
  {
    name: 'a deletecollection whose list fails takes every rule that needs objects, failing closed',
    method: 'DELETE',
    target: DELETE_BY_LABEL,
    listed: forbidden,
    want: {
      kind: 'deny',
      rules: ['protected-deletes', 'db-batches', 'web-batches'],
      failedClosed: [
        'protected-deletes: objectSelector: the target object could not be fetched',
        'db-batches: objectSelector: the target object could not be fetched',
        'web-batches: objectSelector: the target object could not be fetched',
      ],
      message: 'Protected pods cannot be deleted.',
      lookups: [LIST],
      lookupErrors: ['KG_UPSTREAM_UNAVAILABLE'],
    },
  },
  {
    name: 'a deletecollection that finds nothing is judged as a collection, failing closed',
    method: 'DELETE',
    target: DELETE_BY_LABEL,
    listed: [],
    want: {
      kind: 'deny',
      rules: ['protected-deletes', 'db-batches', 'web-batches'],
      failedClosed: [
        'protected-deletes: objectSelector: the request acts on a whole collection, which may hold objects of any name',
        'db-batches: objectSelector: the request acts on a whole collection, which may hold objects of any name',
        'web-batches: objectSelector: the request acts on a whole collection, which may hold objects of any name',
      ],
      message: 'Protected pods cannot be deleted.',
      lookups: [LIST],
    },
  },
];

function parsed(method: string, target: string, headers: Record<string, string> = {}, body?: unknown) {
  const request = parseRequest({ method, target, headers });
  const bytes = body === undefined ? Buffer.alloc(0) : Buffer.from(JSON.stringify(body));
  return { request, body: withBody(request, bytes) };
}

function deps(objects: ObjectLookups, extra: Partial<DecideDeps> = {}): DecideDeps {
  return {
    policy: () => policy,
    objects,
    now: () => new Date('2026-11-25T10:00:00Z'),
    timeoutMs: 1_000,
    ...extra,
  };
}

for (const row of rows) {
  test(row.name, async () => {
    const fake = fakeObjects(row.objects, row.listed);
    const lookupErrors: string[] = [];
    const decide = createDecide(
      deps(fake, { onLookupError: (err) => lookupErrors.push((err as KubegateError).code) }),
    );
    const { request, body } = parsed(row.method, row.target, row.headers, row.body);
    const decision = await decide({
      request,
      body,
      identity: { user: row.user ?? 'alice', groups: ['dev'] },
    });
    assert.equal(decision.kind, row.want.kind);
    assert.deepEqual(
      decision.rules.map((r) => r.name),
      row.want.rules,
    );
    assert.deepEqual(
      decision.rules.filter((r) => r.failedClosed !== undefined).map((r) => `${r.name}: ${r.failedClosed}`),
      row.want.failedClosed ?? [],
    );
    assert.deepEqual(
      decision.kind === 'approve' ? decision.approval.map((a) => a.rule) : [],
      row.want.approvals ?? [],
    );
    if (row.want.message !== undefined) assert.equal(decision.message, row.want.message);
    assert.deepEqual(fake.calls, row.want.lookups);
    assert.deepEqual(lookupErrors, row.want.lookupErrors ?? []);
  });
}

test('a lookup slower than timeoutMs is given up and the request fails closed', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const calls: string[] = [];
  const hanging: ObjectLookups = {
    get: () => {
      calls.push('get');
      return new Promise(() => undefined);
    },
    list: () => new Promise(() => undefined),
    namespaced: () => new Promise(() => undefined),
  };
  const errors: string[] = [];
  const decide = createDecide(
    deps(hanging, { timeoutMs: 250, onLookupError: (err) => errors.push((err as KubegateError).code) }),
  );
  const { request, body } = parsed('GET', EXEC, WS);
  const pending = decide({ request, body, identity: { user: 'alice', groups: [] } });
  t.mock.timers.tick(249);
  await Promise.resolve();
  assert.deepEqual(errors, [], 'not before the timeout');
  t.mock.timers.tick(1);
  const decision = await pending;
  assert.equal(decision.kind, 'approve');
  assert.deepEqual(
    decision.rules.map((r) => [r.name, r.failedClosed]),
    [['sensitive-exec', 'objectSelector: the target object could not be fetched']],
  );
  assert.deepEqual(errors, ['KG_UPSTREAM_TIMEOUT']);
  assert.deepEqual(calls, ['get']);
});

test('a deletecollection whose list is slower than timeoutMs fails closed', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const decide = createDecide(
    deps(
      {
        get: () => new Promise(() => undefined),
        list: () => new Promise(() => undefined),
        namespaced: () => new Promise(() => undefined),
      },
      { timeoutMs: 100 },
    ),
  );
  const { request, body } = parsed('DELETE', DELETE_BY_LABEL);
  const pending = decide({ request, body, identity: { user: 'alice', groups: [] } });
  t.mock.timers.tick(100);
  assert.equal((await pending).kind, 'deny');
});

test('the policy is read for each request, so a reload decides the next one', async () => {
  let current = policy;
  const decide = createDecide(deps(fakeObjects(), { policy: () => current }));
  const { request, body } = parsed('GET', '/api/v1/namespaces/d/pods');
  const identity = { user: 'alice', groups: [] };
  assert.equal((await decide({ request, body, identity })).kind, 'allow');
  current = compile('apiVersion: kubegate.dev/v1alpha1\nkind: Policy\ndefaults: {action: deny}\nrules: []\n');
  assert.equal((await decide({ request, body, identity })).kind, 'deny');
});

test('the decision is made with the clock from deps', async () => {
  const timed = compile(`apiVersion: kubegate.dev/v1alpha1
kind: Policy
defaults: {action: allow}
rules:
  - name: no-night-changes
    match: {verbs: [delete], when: 'now.getHours("UTC") >= 22'}
    action: deny
`);
  const decide = createDecide(
    deps(fakeObjects(), { policy: () => timed, now: () => new Date('2026-11-25T23:00:00Z') }),
  );
  const { request, body } = parsed('DELETE', '/api/v1/namespaces/d/pods/x');
  assert.equal((await decide({ request, body, identity: { user: 'alice', groups: [] } })).kind, 'deny');
});

test('strictest of one decision is that decision', () => {
  const only: Decision = { kind: 'allow', rules: [], byDefault: true };
  assert.equal(strictest([only]), only);
});

test('strictest of no decisions is a bug and says so with KG_INTERNAL', () => {
  assert.throws(() => strictest([]), { code: 'KG_INTERNAL' });
});

test('strictest keeps a default approval once and reports it came from the defaults', () => {
  const approval = {
    rule: null,
    stages: [{ name: 'approval', approvers: [{ kind: 'group' as const, name: 'sre' }], count: 1 }],
    escalateAfterMs: null,
    escalateTo: [],
    expiresAfterMs: null,
    mode: 'hold' as const,
    grantTtlMs: null,
    breakGlass: false,
  };
  const byDefault: Decision = {
    kind: 'approve',
    rules: [],
    byDefault: true,
    approval: [approval],
    message: 'ask',
  };
  const allowed: Decision = { kind: 'allow', rules: [{ name: 'ok', action: 'allow' }], byDefault: false };
  assert.deepEqual(strictest([allowed, byDefault, byDefault]), {
    kind: 'approve',
    rules: [{ name: 'ok', action: 'allow' }],
    byDefault: true,
    approval: [approval],
    message: 'ask',
  });
});

const LOOKUPS = compile(`apiVersion: kubegate.dev/v1alpha1
kind: Policy
defaults: {action: allow}
rules:
  - name: protected-namespaces
    match: {verbs: [delete], resources: [namespaces], objectSelector: {matchLabels: {protected: "true"}}}
    action: deny
  - name: gpu-node-proxy
    match: {resources: [nodes/proxy], objectSelector: {matchLabels: {gpu: "true"}}}
    action: deny
  - name: critical-configmaps
    match: {verbs: [deletecollection], resources: [configmaps], names: [critical-*]}
    action: deny
  - name: prod-widgets
    match: {verbs: [list], namespaces: [prod]}
    action: deny
`);

async function decideWith(fake: Fake, method: string, target: string): Promise<Decision> {
  const decide = createDecide(deps(fake, { policy: () => LOOKUPS }));
  const { request, body } = parsed(method, target);
  return decide({ request, body, identity: { user: 'alice', groups: [] } });
}

test('a namespace is looked up as the cluster-scoped object it is, so its labels count', async () => {
  const fake = fakeObjects({ 'namespaces /prod': obj('prod', { protected: 'true' }) });
  const decision = await decideWith(fake, 'DELETE', '/api/v1/namespaces/prod');
  assert.deepEqual(fake.calls, ['get namespaces /prod (api /v1)']);
  assert.equal(decision.kind, 'deny');
});

test('a node proxy id is split before the lookup: https:gpu-1:10250 is node gpu-1', async () => {
  const fake = fakeObjects({ 'nodes /gpu-1': obj('gpu-1', { gpu: 'true' }) });
  const decision = await decideWith(fake, 'GET', '/api/v1/nodes/https:gpu-1:10250/proxy/pods');
  assert.deepEqual(fake.calls, ['get nodes /gpu-1 (api /v1)']);
  assert.equal(decision.kind, 'deny');
});

test('a proxy id the API server would refuse is not looked up and fails closed', async () => {
  const fake = fakeObjects();
  const decision = await decideWith(fake, 'GET', '/api/v1/nodes/a:b:c:d/proxy/');
  assert.deepEqual(fake.calls, []);
  assert.equal(decision.kind, 'deny');
});

test('a deletecollection under a names rule is judged by the names of the objects it would delete', async () => {
  const listed = [obj('web', {}), obj('critical-a', {})];
  const fake = fakeObjects({}, listed);
  const decision = await decideWith(fake, 'DELETE', '/api/v1/namespaces/d/configmaps');
  assert.deepEqual(fake.calls, ['list configmaps d labels= fields=']);
  assert.equal(decision.kind, 'deny');
  assert.equal(decision.rules[0]?.failedClosed, undefined, 'decided by the listed names');
  const harmless = fakeObjects({}, [obj('web', {})]);
  assert.equal((await decideWith(harmless, 'DELETE', '/api/v1/namespaces/d/configmaps')).kind, 'allow');
});

test('a list across all namespaces of a resource that is not built in asks discovery', async () => {
  const namespaced = fakeObjects();
  assert.equal((await decideWith(namespaced, 'GET', '/apis/example.com/v1/gadgets')).kind, 'deny');
  assert.deepEqual(namespaced.calls, ['scope gadgets (apis example.com/v1)']);
  const clusterScoped = fakeObjects();
  assert.equal((await decideWith(clusterScoped, 'GET', '/api/v1/nodes')).kind, 'allow');
  assert.deepEqual(clusterScoped.calls, [], 'nodes are built in: no discovery');
  const crd = fakeObjects();
  assert.equal((await decideWith(crd, 'GET', '/apis/example.com/v1/clusterwidgets')).kind, 'allow');
  assert.deepEqual(crd.calls, ['scope clusterwidgets (apis example.com/v1)']);
  const notServed = fakeObjects();
  assert.equal((await decideWith(notServed, 'GET', '/apis/example.com/v1/widgets')).kind, 'deny');
  const failing = fakeObjects({}, [], new KubegateError('KG_UPSTREAM_UNAVAILABLE', 'down'));
  assert.equal((await decideWith(failing, 'GET', '/apis/example.com/v1/gadgets')).kind, 'deny');
});
