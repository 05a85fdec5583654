import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KubegateError, toStatus } from '../errors.js';
import { impersonationHeaders, isDiscovery, refuseImpersonation } from './impersonation.js';
import { parseRequest } from './parse.js';

type Headers = Parameters<typeof impersonationHeaders>[0];

const get = (headers: Headers, target = '/api/v1/namespaces/prod/pods') => ({
  method: 'GET',
  target,
  headers,
});

const refused: { name: string; input: Headers; want: string[] }[] = [
  {
    name: 'kubectl --as sends Impersonate-User',
    input: { 'impersonate-user': 'admin' },
    want: ['impersonate-user'],
  },
  {
    name: 'kubectl --as-group sends one Impersonate-Group line per group',
    input: { 'impersonate-user': 'admin', 'impersonate-group': ['system:masters', 'sre'] },
    want: ['impersonate-user', 'impersonate-group'],
  },
  {
    name: 'kubectl --as-uid sends Impersonate-Uid',
    input: { 'impersonate-uid': '1' },
    want: ['impersonate-uid'],
  },
  {
    name: 'a kubeconfig as-user-extra sends Impersonate-Extra-<key>',
    input: { 'impersonate-extra-scopes': 'all' },
    want: ['impersonate-extra-scopes'],
  },
  {
    name: 'a group without a user is refused too (the API server would reject it; kubegate never forwards it)',
    input: { 'impersonate-group': 'system:masters' },
    want: ['impersonate-group'],
  },
  {
    name: 'an empty value still asks to impersonate',
    input: { 'impersonate-user': '' },
    want: ['impersonate-user'],
  },
  {
    name: 'letter case does not matter (a header map not lower-cased by Node)',
    input: { 'Impersonate-User': 'admin', 'IMPERSONATE-GROUP': 'x' },
    want: ['Impersonate-User', 'IMPERSONATE-GROUP'],
  },
  {
    name: 'an unknown Impersonate-* header is refused as a class',
    input: { 'impersonate-foo': 'x' },
    want: ['impersonate-foo'],
  },
];

for (const row of refused) {
  test(`refused: ${row.name}`, () => {
    assert.deepEqual(impersonationHeaders(row.input), row.want);
    assert.throws(
      () => refuseImpersonation(get(row.input)),
      (err: unknown) => err instanceof KubegateError && err.code === 'KG_REQUEST_IMPERSONATION',
    );
  });
}

const passed: { name: string; input: Headers }[] = [
  { name: 'no headers', input: {} },
  {
    name: 'ordinary kubectl headers',
    input: { accept: 'application/json', 'kubectl-command': 'kubectl get' },
  },
  { name: 'a name that only contains the word', input: { 'x-impersonate-user': 'a', impersonate: 'b' } },
  { name: 'a header Node reports as absent', input: { 'impersonate-user': undefined } },
];

for (const row of passed) {
  test(`passed: ${row.name}`, () => {
    assert.deepEqual(impersonationHeaders(row.input), []);
    assert.doesNotThrow(() => refuseImpersonation(get(row.input)));
  });
}

// client-go reads discovery with Result.Raw(), which drops a Status body: kubectl could never print
// the refusal there. Discovery is the same for every user, so it runs as the caller instead.
const discovery: { name: string; method: string; target: string; want: boolean }[] = [
  { name: 'GET /api (kubectl adds a timeout)', method: 'GET', target: '/api?timeout=32s', want: true },
  { name: 'GET /apis', method: 'GET', target: '/apis', want: true },
  { name: 'GET /api/v1', method: 'GET', target: '/api/v1?timeout=32s', want: true },
  { name: 'GET /apis/apps', method: 'GET', target: '/apis/apps', want: true },
  {
    name: 'GET /apis/rbac.authorization.k8s.io/v1',
    method: 'GET',
    target: '/apis/rbac.authorization.k8s.io/v1',
    want: true,
  },
  { name: 'a list of pods is a resource request', method: 'GET', target: '/api/v1/pods', want: false },
  {
    name: 'a list of deployments is a resource request',
    method: 'GET',
    target: '/apis/apps/v1/deployments',
    want: false,
  },
  { name: 'the namespaces of /api/v1', method: 'GET', target: '/api/v1/namespaces', want: false },
  { name: 'a POST to a discovery path', method: 'POST', target: '/apis', want: false },
  { name: 'a HEAD of a discovery path', method: 'HEAD', target: '/api', want: false },
  { name: 'a trailing slash', method: 'GET', target: '/apis/', want: false },
  { name: 'a double slash', method: 'GET', target: '/apis//apps', want: false },
  { name: 'an encoded slash', method: 'GET', target: '/apis/apps%2Fv1/deployments', want: false },
  { name: 'a dot segment', method: 'GET', target: '/apis/apps/../../api/v1/secrets', want: false },
  { name: 'a fragment', method: 'GET', target: '/apis/apps#/v1/deployments', want: false },
  { name: 'another root', method: 'GET', target: '/version', want: false },
  { name: 'OpenAPI', method: 'GET', target: '/openapi/v3', want: false },
  { name: 'upper case', method: 'GET', target: '/API', want: false },
  { name: 'an absolute-form target', method: 'GET', target: 'https://x/apis', want: false },
];

for (const row of discovery) {
  test(`discovery with Impersonate-*: ${row.name} ${row.want ? 'goes on as the caller' : 'is refused'}`, () => {
    assert.equal(isDiscovery(row.method, row.target), row.want);
    const head = { method: row.method, target: row.target, headers: { 'impersonate-user': 'admin' } };
    if (row.want) assert.doesNotThrow(() => refuseImpersonation(head));
    else
      assert.throws(
        () => refuseImpersonation(head),
        (err: unknown) => err instanceof KubegateError && err.code === 'KG_REQUEST_IMPERSONATION',
      );
  });
}

test('the Status kubectl prints says what happened and what to do, naming headers but not values', () => {
  let caught: unknown;
  try {
    refuseImpersonation(
      get({
        'impersonate-extra-scopes': 'secret-value',
        'impersonate-uid': '0',
        'impersonate-user': 'admin',
      }),
    );
  } catch (err) {
    caught = err;
  }
  const status = toStatus(caught);
  assert.equal(status.code, 400);
  assert.equal(status.reason, 'BadRequest');
  assert.match(status.message, /\(Impersonate-User, Impersonate-Uid, Impersonate-Extra-scopes, sent by/);
  assert.match(status.message, /--as/);
  assert.match(status.message, /acts as the user who authenticated/);
  assert.match(status.message, /not supported through kubegate/);
  assert.doesNotMatch(status.message, /secret-value|admin/);
});

test('parseRequest refuses impersonation first, before it reads the target', () => {
  for (const target of ['/api/v1/namespaces/prod/pods', '/api/v1/namespaces/prod//pods']) {
    assert.throws(
      () => parseRequest({ method: 'GET', target, headers: { 'impersonate-user': 'admin' } }),
      (err: unknown) => err instanceof KubegateError && err.code === 'KG_REQUEST_IMPERSONATION',
    );
  }
  assert.throws(
    () =>
      parseRequest({
        method: 'GET',
        target: '/api/v1/namespaces/prod/pods/web/exec?command=id',
        headers: { upgrade: 'websocket', connection: 'Upgrade', 'impersonate-group': 'system:masters' },
      }),
    (err: unknown) => err instanceof KubegateError && err.code === 'KG_REQUEST_IMPERSONATION',
  );
  assert.equal(
    parseRequest({ method: 'GET', target: '/api/v1/namespaces/prod/pods', headers: {} }).verb,
    'list',
  );
});
