import { test } from 'node:test';
import assert from 'node:assert/strict';
import { upstreamHeaders, downstreamHeaders, REQUEST_ID_EXTRA_HEADER } from './headers.js';

const alice = { user: 'alice', groups: ['dev', 'sre'], method: 'token' as const };

function pairs(list: readonly string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i < list.length; i += 2) out.push([list[i]!, list[i + 1]!]);
  return out;
}

test('client credentials and identity claims never reach the API server', () => {
  const got = pairs(
    upstreamHeaders(
      [
        'Authorization',
        'Bearer stolen',
        'Impersonate-User',
        'admin',
        'Impersonate-Group',
        'system:masters',
        'impersonate-uid',
        '0',
        'Impersonate-Extra-scopes',
        'all',
        'Proxy-Authorization',
        'Basic x',
        'Cookie',
        'session=1',
        'X-Remote-User',
        'admin',
        'X-Remote-Group',
        'system:masters',
        'X-Remote-Extra-Foo',
        'bar',
        'Accept',
        'application/json',
      ],
      alice,
      'req-1',
      'Bearer kubegate-token',
    ),
  );
  assert.deepEqual(got, [
    ['accept', 'application/json'],
    ['impersonate-user', 'alice'],
    ['impersonate-group', 'dev'],
    ['impersonate-group', 'sre'],
    [REQUEST_ID_EXTRA_HEADER, 'req-1'],
    ['authorization', 'Bearer kubegate-token'],
  ]);
});

test('hop-by-hop headers are dropped and repeated end-to-end lines stay separate', () => {
  const got = pairs(
    upstreamHeaders(
      [
        'Connection',
        'keep-alive',
        'Host',
        'gateway:8443',
        'Transfer-Encoding',
        'chunked',
        'Content-Length',
        '12',
        'X-Stream-Protocol-Version',
        'v4.channel.k8s.io',
        'X-Stream-Protocol-Version',
        'v3.channel.k8s.io',
        'Kubectl-Command',
        'kubectl exec',
      ],
      { user: 'bob', groups: [], method: 'client-certificate' },
      'req-2',
      null,
    ),
  );
  assert.deepEqual(got, [
    ['x-stream-protocol-version', 'v4.channel.k8s.io'],
    ['x-stream-protocol-version', 'v3.channel.k8s.io'],
    ['kubectl-command', 'kubectl exec'],
    ['impersonate-user', 'bob'],
    [REQUEST_ID_EXTRA_HEADER, 'req-2'],
  ]);
});

test('an upgrade keeps Connection and Upgrade when asked to', () => {
  const got = pairs(
    upstreamHeaders(
      ['Connection', 'Upgrade', 'Upgrade', 'websocket'],
      alice,
      'r',
      null,
      new Set(['connection', 'upgrade']),
    ),
  );
  assert.deepEqual(got.slice(0, 2), [
    ['connection', 'Upgrade'],
    ['upgrade', 'websocket'],
  ]);
});

test('the response to the client keeps end-to-end headers and drops hop-by-hop ones', () => {
  assert.deepEqual(
    downstreamHeaders({
      'content-type': 'application/json',
      'content-length': '10',
      connection: 'keep-alive',
      'keep-alive': 'timeout=5',
      'transfer-encoding': 'chunked',
      warning: ['299 - "a"', '299 - "b"'],
      'audit-id': 'x',
    }),
    {
      'content-type': 'application/json',
      'content-length': '10',
      warning: ['299 - "a"', '299 - "b"'],
      'audit-id': 'x',
    },
  );
});
