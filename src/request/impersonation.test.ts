import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KubegateError, toStatus } from '../errors.js';
import { impersonationHeaders, refuseImpersonation } from './impersonation.js';
import { parseRequest } from './parse.js';

type Headers = Parameters<typeof refuseImpersonation>[0];

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
      () => refuseImpersonation(row.input),
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
    assert.doesNotThrow(() => refuseImpersonation(row.input));
  });
}

test('the Status kubectl prints says what happened and what to do, naming headers but not values', () => {
  let caught: unknown;
  try {
    refuseImpersonation({ 'impersonate-user': 'admin', 'impersonate-extra-scopes': 'secret-value' });
  } catch (err) {
    caught = err;
  }
  const status = toStatus(caught);
  assert.equal(status.code, 400);
  assert.equal(status.reason, 'BadRequest');
  assert.match(status.message, /Impersonate-User, Impersonate-Extra-scopes/);
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
