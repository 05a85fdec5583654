// buildReviewerContext against a fake API server on loopback: exactly what is sent upstream for
// each kind of request (the dry run must never be able to take effect), and how every failure
// becomes a note. test/e2e/reviewer-context.test.ts runs it against the real API server.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { after, before, beforeEach, test } from 'node:test';
import type { Upstream } from '../upstream/pool.js';
import type { ObjectRef } from '../upstream/live-objects.js';
import { parseRequest } from '../request/parse.js';
import { withBody } from '../request/body.js';
import type { HoldRequest } from './types.js';
import { buildReviewerContext, type ReviewerContextDeps } from './context.js';
import { loopbackUpstream } from '../../test/fixtures/loopback-upstream.js';

interface Seen {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

type Route = (seen: Seen) => { status: number; json?: unknown } | 'hang';

let seen: Seen[] = [];
let route: Route = () => ({ status: 404 });
const hanging: ServerResponse[] = [];
const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const s = {
      method: req.method!,
      url: req.url!,
      headers: req.headers,
      body: Buffer.concat(chunks).toString(),
    };
    seen.push(s);
    const answer = route(s);
    if (answer === 'hang') {
      hanging.push(res);
      return;
    }
    res.writeHead(answer.status, { 'content-type': 'application/json' });
    res.end(answer.json === undefined ? '' : JSON.stringify(answer.json));
  });
});

let upstream: Upstream;
const lookups: ObjectRef[] = [];
type Found = Record<string, unknown> | null | Error;
/** What kubegate's own reads find: one answer for every object, or one per object. */
let liveObject: Found | ((ref: ObjectRef) => Found) = null;

function deps(timeoutMs = 5_000): ReviewerContextDeps {
  return {
    upstream,
    timeoutMs,
    liveObjects: {
      get(ref) {
        lookups.push(ref);
        const found = typeof liveObject === 'function' ? liveObject(ref) : liveObject;
        return found instanceof Error ? Promise.reject(found) : Promise.resolve(found);
      },
    },
  };
}

before(async () => {
  upstream = await loopbackUpstream(server);
});

after(async () => {
  for (const res of hanging) res.destroy();
  await upstream.close();
  server.close();
});

beforeEach(() => {
  seen = [];
  lookups.length = 0;
  liveObject = null;
  route = () => ({ status: 404 });
});

function hold(
  method: string,
  target: string,
  body: string | null = null,
  contentType = 'application/json',
  who: { user: string; groups: string[] } = { user: 'alice', groups: ['dev'] },
): HoldRequest {
  const request = parseRequest({
    method,
    target,
    headers: body === null ? {} : { 'content-type': contentType },
  });
  const bytes = body === null ? null : Buffer.from(body);
  return {
    identity: { ...who, method: 'client-certificate' },
    request,
    body:
      bytes === null ? { digest: '', size: 0, object: null, deleteOptions: null } : bodyOf(request, bytes),
    bodyBytes: bytes,
    decision: { kind: 'approve', rules: [], byDefault: true, approval: [] },
    requestId: 'req-1',
    sourceAddress: null,
    signal: new AbortController().signal,
  };
}

/** withBody's reading of the body; one it refuses still reaches the context here, to prove it is not sent. */
function bodyOf(request: HoldRequest['request'], bytes: Buffer): HoldRequest['body'] {
  try {
    return withBody(request, bytes);
  } catch {
    return { digest: 'unreadable', size: bytes.length, object: null, deleteOptions: null };
  }
}

const deployment = (replicas: number, rv: string): Record<string, unknown> => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: 'prod', resourceVersion: rv, labels: { app: 'web' } },
  spec: { replicas },
});

const headerList = (s: Seen, name: string): string[] => {
  const v = s.headers[name];
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
};

test('a patch is dry-run as the requester: dryRun=All first, then the same query and body', async () => {
  route = (s) =>
    s.method === 'PATCH'
      ? { status: 200, json: deployment(3, '11') }
      : { status: 200, json: deployment(1, '10') };
  liveObject = deployment(1, '10');
  const body = '{"spec":{"replicas":3}}';
  const ctx = await buildReviewerContext(
    deps(),
    hold(
      'PATCH',
      '/apis/apps/v1/namespaces/prod/deployments/web?fieldManager=kubectl-edit',
      body,
      'application/strategic-merge-patch+json',
    ),
  );
  const patch = seen.find((s) => s.method === 'PATCH');
  assert.ok(patch);
  assert.equal(
    patch.url,
    '/apis/apps/v1/namespaces/prod/deployments/web?dryRun=All&fieldManager=kubectl-edit',
  );
  assert.equal(patch.body, body);
  assert.equal(patch.headers['content-type'], 'application/strategic-merge-patch+json');
  for (const s of seen) {
    assert.deepEqual(headerList(s, 'impersonate-user'), ['alice']);
    assert.deepEqual(headerList(s, 'impersonate-group'), ['dev']);
    assert.equal(s.headers['authorization'], 'Bearer kubegate-own-token');
  }
  const get = seen.find((s) => s.method === 'GET');
  assert.equal(get?.url, '/apis/apps/v1/namespaces/prod/deployments/web');
  assert.equal(ctx.dryRun?.status, 200);
  assert.match(ctx.diff ?? '', /^- {2}replicas: 1\n\+ {2}replicas: 3$/mu);
  assert.doesNotMatch(ctx.diff ?? '', /resourceVersion/u);
  assert.deepEqual(ctx.targetLabels, { app: 'web' });
  assert.deepEqual(lookups, [
    {
      apiPrefix: 'apis',
      apiGroup: 'apps',
      apiVersion: 'v1',
      resource: 'deployments',
      namespace: 'prod',
      name: 'web',
    },
  ]);
  assert.deepEqual(ctx.notes, []);
});

interface DeleteRow {
  readonly name: string;
  readonly target: string;
  readonly body: string | null;
  readonly contentType?: string;
  /** The DeleteOptions body sent, or null when nothing may be sent. */
  readonly want: Record<string, unknown> | null;
  readonly note?: RegExp;
}

const deleteRows: readonly DeleteRow[] = [
  {
    name: 'a delete without a body gets one holding dryRun and the options its query gave',
    target: '/apis/apps/v1/namespaces/prod/deployments/web?gracePeriodSeconds=5&propagationPolicy=Orphan',
    body: null,
    want: { gracePeriodSeconds: 5, propagationPolicy: 'Orphan', dryRun: ['All'] },
  },
  {
    name: "a delete with kubectl's body keeps its options and adds dryRun",
    target: '/apis/apps/v1/namespaces/prod/deployments/web',
    body: '{"kind":"DeleteOptions","apiVersion":"v1","propagationPolicy":"Background"}',
    want: { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Background', dryRun: ['All'] },
  },
  {
    name: 'a delete body with an empty dryRun in any spelling has each replaced by dryRun=All, last',
    target: '/apis/apps/v1/namespaces/prod/deployments/web',
    body: '{"dryRun":[],"DRYRUN":[],"gracePeriodSeconds":0}',
    want: { gracePeriodSeconds: 0, dryRun: ['All'] },
  },
  {
    name: 'a delete whose body is not JSON is not sent at all',
    target: '/apis/apps/v1/namespaces/prod/deployments/web',
    body: '\x0a\x02k8s',
    contentType: 'application/vnd.kubernetes.protobuf',
    want: null,
    note: /^no dry run: the DELETE body is not JSON/u,
  },
  {
    name: 'a delete whose body is a JSON array is not sent at all',
    target: '/apis/apps/v1/namespaces/prod/deployments/web',
    body: '[]',
    want: null,
    note: /^no dry run: the DELETE body is not a JSON DeleteOptions object/u,
  },
];

for (const row of deleteRows) {
  test(row.name, async () => {
    route = (s) =>
      s.method === 'DELETE'
        ? { status: 200, json: { kind: 'Status', status: 'Success' } }
        : { status: 200, json: deployment(1, '10') };
    const ctx = await buildReviewerContext(deps(), hold('DELETE', row.target, row.body, row.contentType));
    const sent = seen.filter((s) => s.method === 'DELETE');
    if (row.want === null) {
      assert.equal(sent.length, 0);
      assert.equal(ctx.dryRun, null);
      assert.ok(
        ctx.notes.some((n) => row.note?.test(n)),
        ctx.notes.join('\n'),
      );
      return;
    }
    assert.equal(sent.length, 1);
    assert.ok(sent[0]!.url.includes('?dryRun=All'), sent[0]!.url);
    assert.equal(sent[0]!.headers['content-type'], 'application/json');
    assert.equal(sent[0]!.body, JSON.stringify(row.want));
    // The whole live object is what goes.
    assert.match(ctx.diff ?? '', /^-kind: Deployment$/mu);
    assert.doesNotMatch(ctx.diff ?? '', /^\+(?!\+\+ dry-run$)/mu);
  });
}

interface ConnectRow {
  readonly name: string;
  readonly method: string;
  readonly target: string;
  readonly exec: { command: string[]; container: string } | null;
}

const connectRows: readonly ConnectRow[] = [
  {
    name: 'exec over WebSocket shows its command and container and sends nothing as the requester',
    method: 'GET',
    target:
      '/api/v1/namespaces/prod/pods/vault/exec?command=cat&command=%2Fetc%2Fsecret&container=main&stdout=true',
    exec: { command: ['cat', '/etc/secret'], container: 'main' },
  },
  {
    name: 'exec over SPDY is the same',
    method: 'POST',
    target: '/api/v1/namespaces/prod/pods/vault/exec?command=sh&container=main&stdin=true',
    exec: { command: ['sh'], container: 'main' },
  },
  {
    name: 'attach shows its container and no command',
    method: 'POST',
    target: '/api/v1/namespaces/prod/pods/vault/attach?container=main&stdin=true',
    exec: { command: [], container: 'main' },
  },
  {
    name: 'a POST through the pod proxy is never sent, dry run or not',
    method: 'POST',
    target: '/api/v1/namespaces/prod/pods/vault/proxy/admin/reset',
    exec: null,
  },
];

for (const row of connectRows) {
  test(row.name, async () => {
    liveObject = { metadata: { name: 'vault', labels: { sensitive: 'true', app: 'vault' } } };
    const ctx = await buildReviewerContext(deps(), hold(row.method, row.target));
    assert.deepEqual(seen, []);
    assert.deepEqual(ctx.exec, row.exec);
    assert.deepEqual(ctx.targetLabels, { sensitive: 'true', app: 'vault' });
    assert.equal(ctx.dryRun, null);
    assert.equal(ctx.diff, null);
    assert.deepEqual(
      lookups.map((l) => `${l.resource} ${l.namespace}/${l.name}`),
      ['pods prod/vault'],
    );
  });
}

test('a create is diffed against nothing when the object does not exist yet', async () => {
  const cm = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'settings', namespace: 'prod' },
    data: { a: '1' },
  };
  route = (s) =>
    s.method === 'POST'
      ? { status: 201, json: { ...cm, metadata: { ...cm.metadata, uid: 'u', resourceVersion: '5' } } }
      : { status: 404, json: { kind: 'Status', code: 404, reason: 'NotFound' } };
  const ctx = await buildReviewerContext(
    deps(),
    hold('POST', '/api/v1/namespaces/prod/configmaps', JSON.stringify(cm)),
  );
  assert.deepEqual(
    seen.map((s) => `${s.method} ${s.url}`).sort(),
    [
      'POST /api/v1/namespaces/prod/configmaps?dryRun=All',
      'GET /api/v1/namespaces/prod/configmaps/settings',
    ].sort(),
  );
  assert.equal(ctx.dryRun?.status, 201);
  assert.match(ctx.diff ?? '', /^@@ -0,0 \+1,\d+ @@$/mu);
  assert.match(ctx.diff ?? '', /^\+ {2}a: "1"$/mu);
  assert.equal(ctx.targetLabels, null);
  assert.deepEqual(lookups, []);
  assert.deepEqual(ctx.notes, []);
});

test('a dry run the API server refuses becomes a note with its status and message, and no diff', async () => {
  const forbidden = {
    kind: 'Status',
    code: 403,
    reason: 'Forbidden',
    message: 'deployments.apps "web" is forbidden: User "dave" cannot patch resource "deployments"',
  };
  route = () => ({ status: 403, json: forbidden });
  liveObject = deployment(1, '10');
  const ctx = await buildReviewerContext(
    deps(),
    hold('PATCH', '/apis/apps/v1/namespaces/prod/deployments/web', '{}', 'application/merge-patch+json', {
      user: 'dave',
      groups: [],
    }),
  );
  assert.deepEqual(ctx.dryRun, { status: 403, object: null, message: `403 Forbidden: ${forbidden.message}` });
  assert.equal(ctx.diff, null);
  assert.deepEqual(ctx.notes, [
    `dry run refused by the API server: 403 Forbidden: ${forbidden.message}`,
    `the live object could not be read as the requester: 403 Forbidden: ${forbidden.message}`,
  ]);
  assert.deepEqual(ctx.targetLabels, { app: 'web' }, 'the labels are read as kubegate');
});

test('a deletecollection lists what it would delete, page by page, with its selectors, as the requester', async () => {
  route = (s) => {
    const page = s.url.includes('continue=') ? 2 : 1;
    return {
      status: 200,
      json: {
        metadata: page === 1 ? { continue: 'next page' } : {},
        items:
          page === 1
            ? [{ metadata: { namespace: 'prod', name: 'a' } }]
            : [{ metadata: { namespace: 'prod', name: 'b' } }],
      },
    };
  };
  const ctx = await buildReviewerContext(
    deps(),
    hold(
      'DELETE',
      '/api/v1/namespaces/prod/configmaps?labelSelector=batch%3Dold&fieldSelector=metadata.name!%3Dkeep',
    ),
  );
  assert.deepEqual(
    seen.map((s) => `${s.method} ${s.url}`),
    [
      'GET /api/v1/namespaces/prod/configmaps?limit=500&labelSelector=batch%3Dold&fieldSelector=metadata.name!%3Dkeep',
      'GET /api/v1/namespaces/prod/configmaps?limit=500&labelSelector=batch%3Dold&fieldSelector=metadata.name!%3Dkeep&continue=next%20page',
    ],
  );
  assert.match(String(seen[0]!.headers.accept), /as=PartialObjectMetadataList/u);
  assert.deepEqual(headerList(seen[0]!, 'impersonate-user'), ['alice']);
  assert.deepEqual(ctx.objects, ['prod/a', 'prod/b']);
  assert.equal(ctx.dryRun, null);
  assert.deepEqual(ctx.notes, []);
});

test('an API server that does not answer in time leaves notes, never an exception', async () => {
  route = () => 'hang';
  liveObject = new Error('never used');
  const lookup = new Promise<never>(() => undefined); // a live-object lookup that never settles
  const ctx = await buildReviewerContext(
    { ...deps(100), liveObjects: { get: () => lookup } },
    hold('PATCH', '/apis/apps/v1/namespaces/prod/deployments/web', '{}', 'application/merge-patch+json'),
  );
  assert.equal(ctx.dryRun, null);
  assert.equal(ctx.diff, null);
  assert.deepEqual(ctx.notes, [
    'dry run failed: no answer in time',
    'the live object could not be read: no answer in time',
    'the labels of deployments.apps prod/web could not be read: no answer in time',
  ]);
});

test('a request that names no object and changes nothing has an empty context', async () => {
  const ctx = await buildReviewerContext(deps(), hold('GET', '/api/v1/namespaces/prod/secrets'));
  assert.deepEqual(ctx, {
    targetLabels: null,
    dryRun: null,
    diff: null,
    objects: null,
    exec: null,
    notes: [],
  });
  assert.deepEqual(seen, []);
});

test("a Secret's values never reach the context, though the diff still shows which one changed", async () => {
  const secret = (password: string, token: string): Record<string, unknown> => ({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: 'db',
      namespace: 'prod',
      annotations: {
        'kubectl.kubernetes.io/last-applied-configuration': `{"data":{"password":"${password}"}}`,
      },
    },
    data: { password, token },
  });
  route = (s) =>
    s.method === 'PATCH'
      ? { status: 200, json: secret('bmV3LXBhc3N3b3Jk', 'dG9rZW4=') }
      : { status: 200, json: secret('b2xkLXBhc3N3b3Jk', 'dG9rZW4=') };
  const ctx = await buildReviewerContext(
    deps(),
    hold(
      'PATCH',
      '/api/v1/namespaces/prod/secrets/db',
      '{"data":{"password":"bmV3LXBhc3N3b3Jk"}}',
      'application/merge-patch+json',
    ),
  );
  const everything = JSON.stringify(ctx);
  for (const value of ['bmV3LXBhc3N3b3Jk', 'b2xkLXBhc3N3b3Jk', 'dG9rZW4='])
    assert.ok(!everything.includes(value), value);
  const diff = ctx.diff ?? '';
  assert.match(diff, /^- {2}password: \(redacted [0-9a-f]{12}\)$/mu);
  assert.match(diff, /^\+ {2}password: \(redacted [0-9a-f]{12}\)$/mu);
  assert.match(
    diff,
    /^ {3}token: \(redacted [0-9a-f]{12}\)$/mu,
    'an unchanged value is context, not a change',
  );
  assert.match(diff, /^-\s+kubectl\.kubernetes\.io\/last-applied-configuration: \(redacted /mu);
});

// ---- what is never dry-run (dry-run-allow-list.ts) ----------------------------------------------

test('a TokenRequest is never sent: a note says why, and no token can reach the context', async () => {
  route = (s) =>
    s.method === 'POST'
      ? { status: 201, json: { kind: 'TokenRequest', status: { token: 'minted-token' } } }
      : { status: 200, json: { kind: 'ServiceAccount', metadata: { name: 'builder' } } };
  const ctx = await buildReviewerContext(
    deps(),
    hold(
      'POST',
      '/api/v1/namespaces/prod/serviceaccounts/builder/token',
      '{"kind":"TokenRequest","apiVersion":"authentication.k8s.io/v1","spec":{"audiences":null}}',
    ),
  );
  assert.deepEqual(
    seen.filter((s) => s.method !== 'GET'),
    [],
    'nothing but reads went to the API server',
  );
  assert.equal(ctx.dryRun, null);
  assert.equal(ctx.diff, null);
  assert.ok(!JSON.stringify(ctx).includes('minted-token'));
  assert.deepEqual(
    ctx.notes.filter((n) => n.startsWith('no dry run: ')),
    [
      'no dry run: the API server does not honour dryRun for serviceaccounts/token (TokenRequest): it would issue a real token',
    ],
  );
});

const refusedRows: readonly { name: string; method: string; target: string; note: RegExp }[] = [
  {
    name: 'a SelfSubjectAccessReview',
    method: 'POST',
    target: '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews',
    note: /^no dry run: access reviews are answered by a handler that ignores dryRun$/u,
  },
  {
    name: 'a TokenReview',
    method: 'POST',
    target: '/apis/authentication.k8s.io/v1/tokenreviews',
    note: /^no dry run: TokenReview is answered by its own handler, which ignores dryRun$/u,
  },
  {
    name: 'a resource of a built-in group that the allow-list does not name',
    method: 'POST',
    target: '/api/v1/componentstatuses',
    note: /^no dry run: kubegate does not know that the API server honours dryRun for componentstatuses$/u,
  },
  {
    name: 'an unknown subresource of a known resource',
    method: 'PUT',
    target: '/apis/apps/v1/namespaces/prod/deployments/web/rollback',
    note: /^no dry run: kubegate does not know that the API server honours dryRun for deployments\/rollback \(apps\)$/u,
  },
];

for (const row of refusedRows) {
  test(`${row.name} is not dry-run: a note says why`, async () => {
    route = () => ({ status: 201, json: {} });
    const ctx = await buildReviewerContext(deps(), hold(row.method, row.target, '{}'));
    assert.deepEqual(
      seen.filter((s) => s.method !== 'GET').map((s) => `${s.method} ${s.url}`),
      [],
    );
    assert.equal(ctx.dryRun, null);
    assert.ok(
      ctx.notes.some((n) => row.note.test(n)),
      ctx.notes.join('\n'),
    );
  });
}

const allowedRows: readonly { name: string; method: string; target: string; contentType: string }[] = [
  {
    name: 'a scale of a deployment',
    method: 'PATCH',
    target: '/apis/apps/v1/namespaces/prod/deployments/web/scale',
    contentType: 'application/merge-patch+json',
  },
  {
    name: 'a status update',
    method: 'PUT',
    target: '/apis/apps/v1/namespaces/prod/deployments/web/status',
    contentType: 'application/json',
  },
  {
    name: 'an eviction',
    method: 'POST',
    target: '/api/v1/namespaces/prod/pods/web-0/eviction',
    contentType: 'application/json',
  },
  {
    name: 'a create of a built-in resource',
    method: 'POST',
    target: '/apis/rbac.authorization.k8s.io/v1/namespaces/prod/rolebindings',
    contentType: 'application/json',
  },
];

for (const row of allowedRows) {
  test(`${row.name} is dry-run (the allow-list names it)`, async () => {
    route = (s) => (s.method === 'GET' ? { status: 404 } : { status: 200, json: {} });
    const ctx = await buildReviewerContext(deps(), hold(row.method, row.target, '{}', row.contentType));
    const sent = seen.filter((s) => s.method === row.method);
    assert.equal(sent.length, 1);
    assert.match(sent[0]!.url, /\?dryRun=All(&|$)/u);
    assert.ok(!ctx.notes.some((n) => n.startsWith('no dry run')), ctx.notes.join('\n'));
  });
}

const crd = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'widgets.example.com' },
  spec: {
    group: 'example.com',
    names: { plural: 'widgets', kind: 'Widget' },
    scope: 'Namespaced',
    versions: [{ name: 'v1', served: true, storage: true, subresources: { status: {} } }],
    ...over,
  },
});

const customRows: readonly {
  name: string;
  target: string;
  found: (ref: ObjectRef) => Found;
  dryRun: boolean;
  note?: RegExp;
}[] = [
  {
    name: 'a custom resource whose CustomResourceDefinition kubegate reads is dry-run',
    target: '/apis/example.com/v1/namespaces/prod/widgets/w',
    found: (ref) => (ref.resource === 'customresourcedefinitions' ? crd() : null),
    dryRun: true,
  },
  {
    name: 'its status subresource, which the CRD declares, is dry-run too',
    target: '/apis/example.com/v1/namespaces/prod/widgets/w/status',
    found: (ref) => (ref.resource === 'customresourcedefinitions' ? crd() : null),
    dryRun: true,
  },
  {
    name: 'a scale subresource the CRD does not declare is not',
    target: '/apis/example.com/v1/namespaces/prod/widgets/w/scale',
    found: (ref) => (ref.resource === 'customresourcedefinitions' ? crd() : null),
    dryRun: false,
    note: /^no dry run: the CustomResourceDefinition widgets\.example\.com serves no scale subresource/u,
  },
  {
    name: 'a version the CRD does not serve is not dry-run',
    target: '/apis/example.com/v2/namespaces/prod/widgets/w',
    found: (ref) => (ref.resource === 'customresourcedefinitions' ? crd() : null),
    dryRun: false,
    note: /^no dry run: the CustomResourceDefinition widgets\.example\.com does not serve v2$/u,
  },
  {
    name: 'a group without a CRD (an aggregated API, say) is not dry-run',
    target: '/apis/metrics.example.com/v1beta1/namespaces/prod/widgets/w',
    found: () => null,
    dryRun: false,
    note: /^no dry run: widgets \(metrics\.example\.com\) is not served from a CustomResourceDefinition/u,
  },
  {
    name: 'a group/version an APIService sends to another server is not dry-run, CRD or not',
    target: '/apis/example.com/v1/namespaces/prod/widgets/w',
    found: (ref) =>
      ref.resource === 'customresourcedefinitions'
        ? crd()
        : { kind: 'APIService', spec: { service: { namespace: 'x', name: 'y' }, group: 'example.com' } },
    dryRun: false,
    note: /^no dry run: example\.com\/v1 is served by an aggregated API server \(APIService v1\.example\.com\)/u,
  },
  {
    name: 'a local APIService (what the API server makes for a CRD) does not stop the dry run',
    target: '/apis/example.com/v1/namespaces/prod/widgets/w',
    found: (ref) =>
      ref.resource === 'customresourcedefinitions'
        ? crd()
        : { kind: 'APIService', spec: { group: 'example.com', version: 'v1' } },
    dryRun: true,
  },
  {
    name: 'a new version of a built-in group is checked like a custom one',
    target: '/apis/apps/v2/namespaces/prod/deployments/web',
    found: (ref) =>
      ref.resource === 'apiservices' ? { kind: 'APIService', spec: { service: { name: 'shadow' } } } : null,
    dryRun: false,
    note: /^no dry run: apps\/v2 is served by an aggregated API server/u,
  },
  {
    name: 'a CRD kubegate cannot read leaves no dry run (unknown is not safe)',
    target: '/apis/example.com/v1/namespaces/prod/widgets/w',
    found: () => new Error('403 Forbidden'),
    dryRun: false,
    note: /^no dry run: kubegate could not check that widgets \(example\.com\) is a custom resource \(403 Forbidden\)$/u,
  },
];

for (const row of customRows) {
  test(row.name, async () => {
    route = (s) => (s.method === 'PATCH' ? { status: 200, json: { kind: 'Widget' } } : { status: 404 });
    liveObject = row.found;
    const ctx = await buildReviewerContext(
      deps(),
      hold('PATCH', row.target, '{"spec":{}}', 'application/merge-patch+json'),
    );
    const patches = seen.filter((s) => s.method === 'PATCH');
    assert.equal(patches.length, row.dryRun ? 1 : 0, ctx.notes.join('\n'));
    if (row.note !== undefined)
      assert.ok(
        ctx.notes.some((n) => row.note!.test(n)),
        ctx.notes.join('\n'),
      );
    const crdLookup = lookups.find((l) => l.resource === 'customresourcedefinitions');
    if (crdLookup !== undefined) {
      assert.equal(crdLookup.apiGroup, 'apiextensions.k8s.io');
      assert.equal(crdLookup.namespace, '');
    }
  });
}

test('what a dry run returns is redacted before the diff is made: a custom resource holding a token', async () => {
  const widget = (token: string): Record<string, unknown> => ({
    apiVersion: 'example.com/v1',
    kind: 'Widget',
    metadata: { name: 'w', namespace: 'prod' },
    spec: { size: 1, auth: { token } },
  });
  route = (s) =>
    s.method === 'PATCH'
      ? { status: 200, json: widget('new-t0ken') }
      : { status: 200, json: widget('old-t0ken') };
  liveObject = (ref) => (ref.resource === 'customresourcedefinitions' ? crd() : null);
  const ctx = await buildReviewerContext(
    deps(),
    hold(
      'PATCH',
      '/apis/example.com/v1/namespaces/prod/widgets/w',
      '{"spec":{}}',
      'application/merge-patch+json',
    ),
  );
  const everything = JSON.stringify(ctx);
  assert.ok(!everything.includes('new-t0ken') && !everything.includes('old-t0ken'), everything);
  assert.match(ctx.diff ?? '', /^- {4}token: \(redacted [0-9a-f]{12}\)$/mu);
  assert.match(ctx.diff ?? '', /^\+ {4}token: \(redacted [0-9a-f]{12}\)$/mu);
  assert.ok(ctx.notes.some((n) => n.startsWith('values that are or look like credentials')));
});
