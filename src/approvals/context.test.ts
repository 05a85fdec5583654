// buildReviewerContext against a fake API server on loopback: exactly what is sent upstream for
// each kind of request (the dry run must never be able to take effect), and how every failure
// becomes a note. test/e2e/reviewer-context.test.ts runs it against the real API server.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, test } from 'node:test';
import { Pool } from 'undici';
import type { Upstream } from '../upstream/pool.js';
import type { ObjectRef } from '../upstream/live-objects.js';
import { parseRequest } from '../request/parse.js';
import { withBody } from '../request/body.js';
import type { HoldRequest } from './types.js';
import { buildReviewerContext, type ReviewerContextDeps } from './context.js';

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
let pool: Pool;
const lookups: ObjectRef[] = [];
let liveObject: Record<string, unknown> | null | Error = null;

function deps(timeoutMs = 5_000): ReviewerContextDeps {
  return {
    upstream,
    timeoutMs,
    liveObjects: {
      get(ref) {
        lookups.push(ref);
        return liveObject instanceof Error ? Promise.reject(liveObject) : Promise.resolve(liveObject);
      },
    },
  };
}

before(async () => {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  pool = new Pool(`http://127.0.0.1:${port}`);
  upstream = {
    origin: `http://127.0.0.1:${port}`,
    pathPrefix: '',
    pool,
    tls: { host: '127.0.0.1', port },
    authorization: () => 'Bearer kubegate-own-token',
    close: () => pool.close(),
  };
});

after(async () => {
  for (const res of hanging) res.destroy();
  await pool.close();
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
