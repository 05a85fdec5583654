// Table tests for parseRequest: every row of k8s-api-semantics §1.3, the upstream requestinfo
// table run through the whole stage, kubegate's exec/attach/portforward normalisation, and the
// fields parse reads from headers.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KubegateError } from '../errors.js';
import type { RequestHead } from './parse.js';
import { parseRequest } from './parse.js';
import type { KubeRequest } from './types.js';
import {
  upstreamKindRows,
  upstreamSelectorRows,
  upstreamSuccessCases,
} from './upstream-requestinfo-cases.test.js';

function head(method: string, target: string, headers: RequestHead['headers'] = {}): RequestHead {
  return { method, target, headers };
}

type Mapping = Pick<KubeRequest, 'verb' | 'namespace' | 'resource' | 'subresource' | 'name'>;

function mapping(r: KubeRequest): Mapping {
  return {
    verb: r.verb,
    namespace: r.namespace,
    resource: r.resource,
    subresource: r.subresource,
    name: r.name,
  };
}

const m = (
  verb: string,
  namespace: string,
  resource: string,
  subresource: string,
  name: string,
): Mapping => ({
  verb,
  namespace,
  resource,
  subresource,
  name,
});

// k8s-api-semantics §1.3, one row each. Two rows differ from the API server on purpose: the
// WebSocket exec GET is `create` (kubegate's normalisation), and `namespaces//pods` is refused.
const semanticsRows: { name: string; input: RequestHead; want: Mapping | 'refused' }[] = [
  {
    name: '§1.3: GET /api/v1/namespaces lists namespaces',
    input: head('GET', '/api/v1/namespaces'),
    want: m('list', '', 'namespaces', '', ''),
  },
  {
    name: '§1.3: GET /api/v1/namespaces/foo gets namespace foo, whose namespace is foo',
    input: head('GET', '/api/v1/namespaces/foo'),
    want: m('get', 'foo', 'namespaces', '', 'foo'),
  },
  {
    name: '§1.3: PUT /api/v1/namespaces/foo/finalize updates namespaces/finalize of foo',
    input: head('PUT', '/api/v1/namespaces/foo/finalize'),
    want: m('update', 'foo', 'namespaces', 'finalize', 'foo'),
  },
  {
    name: '§1.3: GET /api/v1/namespaces/foo/pods?watch=1 watches pods in foo',
    input: head('GET', '/api/v1/namespaces/foo/pods?watch=1'),
    want: m('watch', 'foo', 'pods', '', ''),
  },
  {
    name: '§1.3: a metadata.name field selector names x while the verb stays list',
    input: head('GET', '/api/v1/pods?fieldSelector=metadata.name%3Dx'),
    want: m('list', '', 'pods', '', 'x'),
  },
  {
    name: '§1.3: the legacy watch prefix watches pod x in d',
    input: head('GET', '/api/v1/watch/namespaces/d/pods/x'),
    want: m('watch', 'd', 'pods', '', 'x'),
  },
  {
    name: '§1.3: GET of a pod log is get pods/log',
    input: head('GET', '/api/v1/namespaces/d/pods/x/log'),
    want: m('get', 'd', 'pods', 'log', 'x'),
  },
  {
    name: '§1.3: a WebSocket GET of exec is create pods/exec in kubegate (get in the API server)',
    input: head('GET', '/api/v1/namespaces/d/pods/x/exec?command=sh', {
      upgrade: 'websocket',
      connection: 'Upgrade',
    }),
    want: m('create', 'd', 'pods', 'exec', 'x'),
  },
  {
    name: '§1.3: a SPDY POST of exec is create pods/exec',
    input: head('POST', '/api/v1/namespaces/d/pods/x/exec', { upgrade: 'SPDY/3.1', connection: 'Upgrade' }),
    want: m('create', 'd', 'pods', 'exec', 'x'),
  },
  {
    name: '§1.3: POST of an eviction is create pods/eviction',
    input: head('POST', '/api/v1/namespaces/d/pods/x/eviction'),
    want: m('create', 'd', 'pods', 'eviction', 'x'),
  },
  {
    name: '§1.3: PATCH of a deployment scale is patch deployments/scale',
    input: head('PATCH', '/apis/apps/v1/namespaces/d/deployments/x/scale'),
    want: m('patch', 'd', 'deployments', 'scale', 'x'),
  },
  {
    name: '§1.3: GET deep into a service proxy is get services/proxy',
    input: head('GET', '/api/v1/namespaces/d/services/s/proxy/a/b'),
    want: m('get', 'd', 'services', 'proxy', 's'),
  },
  {
    name: '§1.3: DELETE of the pods collection is deletecollection',
    input: head('DELETE', '/api/v1/namespaces/d/pods'),
    want: m('deletecollection', 'd', 'pods', '', ''),
  },
  {
    name: '§1.3: OPTIONS on a pod proxy has the empty verb',
    input: head('OPTIONS', '/api/v1/namespaces/d/pods/x/proxy'),
    want: m('', 'd', 'pods', 'proxy', 'x'),
  },
  {
    name: '§1.3: GET /api/v1/namespaces//pods, an all-namespaces list to the API server, is refused',
    input: head('GET', '/api/v1/namespaces//pods'),
    want: 'refused',
  },
];

function runMapping(input: RequestHead, want: Mapping | 'refused'): void {
  if (want === 'refused') {
    assert.throws(
      () => parseRequest(input),
      (err: unknown) => err instanceof KubegateError && err.code === 'KG_REQUEST_NONCANONICAL',
    );
  } else {
    assert.deepEqual(mapping(parseRequest(input)), want);
  }
}

for (const row of semanticsRows) {
  test(row.name, () => runMapping(row.input, row.want));
}

// The upstream requestinfo table through the whole stage.
for (const [
  method,
  url,
  verb,
  apiPrefix,
  apiGroup,
  apiVersion,
  namespace,
  resource,
  subresource,
  name,
  parts,
] of upstreamSuccessCases) {
  test(`parseRequest agrees with upstream that ${method} ${url} is ${verb} ${resource}${subresource ? '/' + subresource : ''}`, () => {
    const r = parseRequest(head(method, url));
    assert.equal(r.isResourceRequest, true);
    assert.deepEqual(
      {
        apiPrefix: r.apiPrefix,
        apiGroup: r.apiGroup,
        apiVersion: r.apiVersion,
        ...mapping(r),
        parts: [...r.parts],
      },
      { verb, apiPrefix, apiGroup, apiVersion, namespace, resource, subresource, name, parts },
    );
  });
}

for (const row of upstreamKindRows) {
  test(`parseRequest ${row.refused ? 'refuses' : 'agrees with'} ${row.name.replace(/^upstream: /, 'upstream that ')}`, () => {
    if (row.refused) {
      assert.throws(
        () => parseRequest(head('GET', row.input)),
        (err: unknown) => err instanceof KubegateError && err.code === 'KG_REQUEST_NONCANONICAL',
      );
    } else {
      assert.equal(parseRequest(head('GET', row.input)).isResourceRequest, row.want);
    }
  });
}

for (const row of upstreamSelectorRows) {
  test(`parseRequest ${row.refused ? 'refuses the case' : 'agrees on the case'} ${row.name.replace(/^upstream: /, '')}`, () => {
    const [method, url] = row.input;
    if (row.refused) {
      assert.throws(
        () => parseRequest(head(method, url)),
        (err: unknown) => err instanceof KubegateError && err.code === 'KG_REQUEST_NONCANONICAL',
      );
      return;
    }
    const r = parseRequest(head(method, url));
    assert.deepEqual({ verb: r.verb, name: r.name }, { verb: row.want.verb, name: row.want.name });
    // KubeRequest keeps the first selector values whatever the verb (upstream captures them only
    // for list, watch and deletecollection, which policy can tell from the verb).
    assert.equal(r.fieldSelector, r.query['fieldSelector']?.[0] ?? '');
    assert.equal(r.labelSelector, r.query['labelSelector']?.[0] ?? '');
  });
}

// GET (WebSocket, kubectl ≥1.30) and POST (SPDY) on exec, attach and portforward are one action.
const connectRows: { name: string; input: RequestHead; want: Mapping }[] = [
  ...(['exec', 'attach', 'portforward'] as const).flatMap((sub) =>
    (['GET', 'POST'] as const).map((method) => ({
      name: `${method} on pods/${sub} is create pods/${sub}`,
      input: head(method, `/api/v1/namespaces/d/pods/x/${sub}`),
      want: m('create', 'd', 'pods', sub, 'x'),
    })),
  ),
  {
    name: 'HEAD on pods/exec stays get, as the API server has no HEAD route there',
    input: head('HEAD', '/api/v1/namespaces/d/pods/x/exec'),
    want: m('get', 'd', 'pods', 'exec', 'x'),
  },
  {
    name: 'PUT on pods/exec stays update',
    input: head('PUT', '/api/v1/namespaces/d/pods/x/exec'),
    want: m('update', 'd', 'pods', 'exec', 'x'),
  },
  {
    name: 'GET on pods/exec through the deprecated watch prefix is create too',
    input: head('GET', '/api/v1/watch/namespaces/d/pods/x/exec'),
    want: m('create', 'd', 'pods', 'exec', 'x'),
  },
  {
    name: 'GET on nodes/proxy is not normalised (policy must treat it as exec-capable)',
    input: head('GET', '/api/v1/nodes/n/proxy/run/d/x/c'),
    want: m('get', '', 'nodes', 'proxy', 'n'),
  },
  {
    name: 'GET on pods/proxy is not normalised',
    input: head('GET', '/api/v1/namespaces/d/pods/x/proxy'),
    want: m('get', 'd', 'pods', 'proxy', 'x'),
  },
  {
    name: 'GET on a services exec-like name is not normalised',
    input: head('GET', '/api/v1/namespaces/d/services/x/exec'),
    want: m('get', 'd', 'services', 'exec', 'x'),
  },
];

for (const row of connectRows) {
  test(row.name, () => runMapping(row.input, row.want));
}

type HeaderFields = Pick<KubeRequest, 'upgrade' | 'contentType' | 'kubectlCommand' | 'kubectlSession'>;

const headerRows: { name: string; input: RequestHead['headers']; want: HeaderFields }[] = [
  {
    name: 'no headers give empty header fields',
    input: {},
    want: { upgrade: null, contentType: '', kubectlCommand: '', kubectlSession: '' },
  },
  {
    name: 'an Upgrade of websocket is a WebSocket upgrade',
    input: { upgrade: 'websocket' },
    want: { upgrade: 'websocket', contentType: '', kubectlCommand: '', kubectlSession: '' },
  },
  {
    name: 'the websocket token is matched case-insensitively inside a list',
    input: { upgrade: 'foo, WebSocket' },
    want: { upgrade: 'websocket', contentType: '', kubectlCommand: '', kubectlSession: '' },
  },
  {
    name: 'an Upgrade of SPDY/3.1 is a SPDY upgrade',
    input: { upgrade: 'SPDY/3.1' },
    want: { upgrade: 'spdy', contentType: '', kubectlCommand: '', kubectlSession: '' },
  },
  {
    name: 'any other Upgrade is no upgrade kubegate knows',
    input: { upgrade: 'h2c' },
    want: { upgrade: null, contentType: '', kubectlCommand: '', kubectlSession: '' },
  },
  {
    name: 'the content type loses its parameters and case',
    input: { 'content-type': 'Application/JSON; charset=utf-8' },
    want: { upgrade: null, contentType: 'application/json', kubectlCommand: '', kubectlSession: '' },
  },
  {
    name: 'a patch content type is kept whole',
    input: { 'content-type': 'application/strategic-merge-patch+json' },
    want: {
      upgrade: null,
      contentType: 'application/strategic-merge-patch+json',
      kubectlCommand: '',
      kubectlSession: '',
    },
  },
  {
    name: 'the protobuf content type is kept',
    input: { 'content-type': 'application/vnd.kubernetes.protobuf' },
    want: {
      upgrade: null,
      contentType: 'application/vnd.kubernetes.protobuf',
      kubectlCommand: '',
      kubectlSession: '',
    },
  },
  {
    name: 'kubectl command and session headers are read',
    input: { 'kubectl-command': 'kubectl delete', 'kubectl-session': '0f8fad5b-d9cb-469f-a165-70867728950e' },
    want: {
      upgrade: null,
      contentType: '',
      kubectlCommand: 'kubectl delete',
      kubectlSession: '0f8fad5b-d9cb-469f-a165-70867728950e',
    },
  },
  {
    name: 'a repeated header is joined as node joins it',
    input: { 'kubectl-command': ['kubectl get', 'kubectl delete'] },
    want: {
      upgrade: null,
      contentType: '',
      kubectlCommand: 'kubectl get, kubectl delete',
      kubectlSession: '',
    },
  },
];

for (const row of headerRows) {
  test(row.name, () => {
    const r = parseRequest(head('GET', '/api/v1/namespaces/d/pods/x', row.input));
    assert.deepEqual(
      {
        upgrade: r.upgrade,
        contentType: r.contentType,
        kubectlCommand: r.kubectlCommand,
        kubectlSession: r.kubectlSession,
      },
      row.want,
    );
  });
}

test('the path and raw query are kept exactly as received', () => {
  const target = '/api/v1/namespaces/d/configmaps/we%20ird?labelSelector=a+in+(b%2Cc)&x=%2f';
  const r = parseRequest(head('GET', target));
  assert.equal(r.path, '/api/v1/namespaces/d/configmaps/we%20ird');
  assert.equal(r.rawQuery, 'labelSelector=a+in+(b%2Cc)&x=%2f');
  assert.equal(r.name, 'we ird');
});

test('the query is read with Go rules into a null-prototype record', () => {
  const r = parseRequest(head('GET', '/api/v1/pods?labelSelector=a+in+(b%2Cc)&watch&dryRun=All'));
  assert.equal(Object.getPrototypeOf(r.query), null);
  assert.deepEqual({ ...r.query }, { labelSelector: ['a in (b,c)'], watch: [''], dryRun: ['All'] });
  assert.equal(r.labelSelector, 'a in (b,c)');
  assert.equal(r.fieldSelector, '');
  assert.equal(r.verb, 'watch');
});

test('a non-resource request has the lower-cased method as its verb and no resource fields', () => {
  const r = parseRequest(head('GET', '/openapi/v3/apis/apps/v1?hash=ABC'));
  assert.deepEqual(
    {
      isResourceRequest: r.isResourceRequest,
      verb: r.verb,
      apiPrefix: r.apiPrefix,
      resource: r.resource,
      parts: [...r.parts],
    },
    { isResourceRequest: false, verb: 'get', apiPrefix: '', resource: '', parts: [] },
  );
});

test('an escaped API prefix maps as the API server decodes it', () => {
  const r = parseRequest(head('GET', '/%61pis/apps/v1/namespaces/d/deployments'));
  assert.deepEqual(mapping(r), m('list', 'd', 'deployments', '', ''));
  assert.equal(r.path, '/%61pis/apps/v1/namespaces/d/deployments');
});
