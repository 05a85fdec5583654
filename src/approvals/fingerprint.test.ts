import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Identity } from '../identity/types.js';
import { withBody } from '../request/body.js';
import { parseRequest } from '../request/parse.js';
import { canonicalForm, fingerprintOf } from './fingerprint.js';

interface Call {
  readonly user?: string;
  readonly groups?: readonly string[];
  readonly method: string;
  readonly target: string;
  readonly headers?: Record<string, string>;
  readonly body?: string;
}

function fp(call: Call): string {
  const identity: Identity = {
    user: call.user ?? 'alice',
    groups: call.groups ?? ['dev', 'system:authenticated'],
    method: 'token',
  };
  const request = parseRequest({ method: call.method, target: call.target, headers: call.headers ?? {} });
  const body = withBody(request, Buffer.from(call.body ?? ''));
  return fingerprintOf(identity, request, body);
}

const EXEC =
  '/api/v1/namespaces/prod/pods/web-0/exec?command=rm&command=-rf&command=%2Fdata&container=main&stderr=true&stdout=true';
const WS = { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-protocol': 'v5.channel.k8s.io' };
const SPDY = { connection: 'Upgrade', upgrade: 'SPDY/3.1', 'content-length': '0' };
const PATCH_TARGET = '/apis/apps/v1/namespaces/prod/statefulsets/db';
const MERGE = { 'content-type': 'application/merge-patch+json' };
const PATCH_BODY = '{"spec":{"replicas":3}}';

const rows: readonly { name: string; a: Call; b: Call; same: boolean }[] = [
  {
    name: 'the same exec over WebSocket GET and SPDY POST has one fingerprint',
    a: { method: 'GET', target: EXEC, headers: WS },
    b: { method: 'POST', target: EXEC, headers: SPDY },
    same: true,
  },
  {
    name: 'the same attach over both transports has one fingerprint',
    a: {
      method: 'GET',
      target: '/api/v1/namespaces/prod/pods/web-0/attach?container=c&stdout=true',
      headers: WS,
    },
    b: {
      method: 'POST',
      target: '/api/v1/namespaces/prod/pods/web-0/attach?container=c&stdout=true',
      headers: SPDY,
    },
    same: true,
  },
  {
    name: 'the same port-forward over both transports has one fingerprint',
    a: { method: 'GET', target: '/api/v1/namespaces/prod/pods/web-0/portforward', headers: WS },
    b: { method: 'POST', target: '/api/v1/namespaces/prod/pods/web-0/portforward', headers: SPDY },
    same: true,
  },
  {
    name: 'an identical patch sent twice has one fingerprint',
    a: { method: 'PATCH', target: PATCH_TARGET, headers: MERGE, body: PATCH_BODY },
    b: { method: 'PATCH', target: PATCH_TARGET, headers: MERGE, body: PATCH_BODY },
    same: true,
  },
  {
    name: 'query parameters in another order have one fingerprint',
    a: { method: 'DELETE', target: '/api/v1/namespaces/prod/pods/x?gracePeriodSeconds=0&dryRun=All' },
    b: { method: 'DELETE', target: '/api/v1/namespaces/prod/pods/x?dryRun=All&gracePeriodSeconds=0' },
    same: true,
  },
  {
    name: 'the groups in another order have one fingerprint',
    a: { groups: ['dev', 'sre'], method: 'DELETE', target: '/api/v1/namespaces/prod/pods/x' },
    b: { groups: ['sre', 'dev', 'sre'], method: 'DELETE', target: '/api/v1/namespaces/prod/pods/x' },
    same: true,
  },
  {
    name: 'another body is another fingerprint',
    a: { method: 'PATCH', target: PATCH_TARGET, headers: MERGE, body: PATCH_BODY },
    b: { method: 'PATCH', target: PATCH_TARGET, headers: MERGE, body: '{"spec":{"replicas":0}}' },
    same: false,
  },
  {
    name: 'the same body as another patch type is another fingerprint',
    a: { method: 'PATCH', target: PATCH_TARGET, headers: MERGE, body: PATCH_BODY },
    b: {
      method: 'PATCH',
      target: PATCH_TARGET,
      headers: { 'content-type': 'application/strategic-merge-patch+json' },
      body: PATCH_BODY,
    },
    same: false,
  },
  {
    name: 'another query value is another fingerprint',
    a: { method: 'GET', target: EXEC, headers: WS },
    b: { method: 'GET', target: EXEC.replace('%2Fdata', '%2Ftmp'), headers: WS },
    same: false,
  },
  {
    name: 'the same exec arguments in another order are another fingerprint',
    a: { method: 'GET', target: '/api/v1/namespaces/prod/pods/p/exec?command=a&command=b', headers: WS },
    b: { method: 'GET', target: '/api/v1/namespaces/prod/pods/p/exec?command=b&command=a', headers: WS },
    same: false,
  },
  {
    name: 'an added query parameter is another fingerprint',
    a: { method: 'DELETE', target: '/api/v1/namespaces/prod/pods/x' },
    b: { method: 'DELETE', target: '/api/v1/namespaces/prod/pods/x?gracePeriodSeconds=0' },
    same: false,
  },
  {
    name: 'another user is another fingerprint',
    a: { user: 'alice', method: 'DELETE', target: '/api/v1/namespaces/prod/pods/x' },
    b: { user: 'bob', method: 'DELETE', target: '/api/v1/namespaces/prod/pods/x' },
    same: false,
  },
  {
    name: 'another set of groups is another fingerprint',
    a: { groups: ['dev'], method: 'DELETE', target: '/api/v1/namespaces/prod/pods/x' },
    b: { groups: ['dev', 'system:masters'], method: 'DELETE', target: '/api/v1/namespaces/prod/pods/x' },
    same: false,
  },
  {
    name: 'another name is another fingerprint',
    a: { method: 'DELETE', target: '/api/v1/namespaces/prod/pods/x' },
    b: { method: 'DELETE', target: '/api/v1/namespaces/prod/pods/y' },
    same: false,
  },
  {
    name: 'another namespace is another fingerprint',
    a: { method: 'DELETE', target: '/api/v1/namespaces/prod/pods/x' },
    b: { method: 'DELETE', target: '/api/v1/namespaces/staging/pods/x' },
    same: false,
  },
  {
    name: 'a GET and a HEAD of the same object are different fingerprints',
    a: { method: 'GET', target: '/api/v1/namespaces/prod/secrets/s' },
    b: { method: 'HEAD', target: '/api/v1/namespaces/prod/secrets/s' },
    same: false,
  },
  {
    name: 'a POST and a GET to a proxy subresource are different fingerprints',
    a: { method: 'GET', target: '/api/v1/nodes/n1/proxy/run' },
    b: { method: 'POST', target: '/api/v1/nodes/n1/proxy/run' },
    same: false,
  },
  {
    name: 'exec and attach on the same pod are different fingerprints',
    a: { method: 'GET', target: '/api/v1/namespaces/prod/pods/p/exec?container=c', headers: WS },
    b: { method: 'GET', target: '/api/v1/namespaces/prod/pods/p/attach?container=c', headers: WS },
    same: false,
  },
];

for (const row of rows) {
  test(row.name, () => {
    if (row.same) assert.equal(fp(row.a), fp(row.b));
    else assert.notEqual(fp(row.a), fp(row.b));
  });
}

test('a fingerprint is 64 lowercase hex characters', () => {
  assert.match(fp({ method: 'DELETE', target: '/api/v1/namespaces/prod/pods/x' }), /^[0-9a-f]{64}$/);
});

test('a value holding a separator cannot pass for two fields', () => {
  const identity = { user: 'a","b', groups: [] };
  const other = { user: 'a', groups: ['b'] };
  const request = parseRequest({ method: 'DELETE', target: '/api/v1/namespaces/prod/pods/x', headers: {} });
  const body = withBody(request, Buffer.alloc(0));
  assert.notEqual(canonicalForm(identity, request, body), canonicalForm(other, request, body));
});
