import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KubegateError } from '../errors.js';
import { upstreamHeaders, downstreamHeaders, connectionOptions, REQUEST_ID_EXTRA_HEADER } from './headers.js';

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

test("an upgrade sends exactly kubegate's own Connection: Upgrade and the client's Upgrade", () => {
  const got = pairs(
    upstreamHeaders(
      [
        'Connection',
        'Upgrade, Impersonate-User, Impersonate-Group, X-Custom',
        'Upgrade',
        'websocket',
        'X-Custom',
        'dropped',
        'Sec-WebSocket-Key',
        'abc==',
        'Sec-WebSocket-Protocol',
        'v5.channel.k8s.io',
      ],
      alice,
      'r',
      null,
      { upgrade: true, sourceAddress: '192.0.2.7' },
    ),
  );
  assert.deepEqual(got, [
    ['connection', 'Upgrade'],
    ['upgrade', 'websocket'],
    ['sec-websocket-key', 'abc=='],
    ['sec-websocket-protocol', 'v5.channel.k8s.io'],
    ['x-forwarded-for', '192.0.2.7'],
    ['impersonate-user', 'alice'],
    ['impersonate-group', 'dev'],
    ['impersonate-group', 'sre'],
    [REQUEST_ID_EXTRA_HEADER, 'r'],
  ]);
});

test('SPDY keeps its Upgrade value and every X-Stream-Protocol-Version line', () => {
  const got = pairs(
    upstreamHeaders(
      [
        'Connection',
        'Upgrade',
        'Upgrade',
        'SPDY/3.1',
        'X-Stream-Protocol-Version',
        'v4.channel.k8s.io',
        'X-Stream-Protocol-Version',
        'v3.channel.k8s.io',
      ],
      alice,
      'r',
      null,
      { upgrade: true },
    ),
  );
  assert.deepEqual(got.slice(0, 4), [
    ['connection', 'Upgrade'],
    ['upgrade', 'SPDY/3.1'],
    ['x-stream-protocol-version', 'v4.channel.k8s.io'],
    ['x-stream-protocol-version', 'v3.channel.k8s.io'],
  ]);
});

test("every header the client's Connection names is dropped on an ordinary request too", () => {
  const got = pairs(
    upstreamHeaders(
      [
        'Connection',
        'keep-alive, X-Custom ,x-other',
        'Connection',
        'Kubectl-Session',
        'X-Custom',
        '1',
        'X-Other',
        '2',
        'Kubectl-Session',
        's',
        'Accept',
        'application/json',
      ],
      { user: 'bob', groups: [], method: 'token' },
      'r',
      null,
    ),
  );
  assert.deepEqual(got, [
    ['accept', 'application/json'],
    ['impersonate-user', 'bob'],
    [REQUEST_ID_EXTRA_HEADER, 'r'],
  ]);
});

test("naming kubegate's own headers in Connection does not remove them", () => {
  for (const upgrade of [false, true]) {
    const got = pairs(
      upstreamHeaders(
        [
          'Connection',
          'Upgrade, Impersonate-User, Impersonate-Group, Authorization, X-Forwarded-For, Impersonate-Extra-kubegate.dev%2frequest-id',
          'Upgrade',
          'websocket',
        ],
        alice,
        'r',
        'Bearer kubegate-token',
        { upgrade, sourceAddress: '192.0.2.7' },
      ),
    );
    assert.deepEqual(got.slice(upgrade ? 2 : 0), [
      ['x-forwarded-for', '192.0.2.7'],
      ['impersonate-user', 'alice'],
      ['impersonate-group', 'dev'],
      ['impersonate-group', 'sre'],
      [REQUEST_ID_EXTRA_HEADER, 'r'],
      ['authorization', 'Bearer kubegate-token'],
    ]);
  }
});

test('a Connection naming Content-Type, which the decision read, is refused rather than dropped', () => {
  assert.throws(
    () =>
      upstreamHeaders(
        ['Connection', 'close, Content-Type', 'Content-Type', 'application/yaml'],
        alice,
        'r',
        null,
      ),
    (err: unknown) => err instanceof KubegateError && err.code === 'KG_REQUEST_NONCANONICAL',
  );
});

test("the client's forwarding claims are dropped and X-Forwarded-For states the address kubegate saw", () => {
  const raw = [
    'X-Forwarded-For',
    '6.6.6.6',
    'x-forwarded-for',
    '6.6.6.7, 6.6.6.8',
    'X-Real-Ip',
    '6.6.6.9',
    'Forwarded',
    'for=6.6.6.10;proto=https',
    'X-Forwarded-Host',
    'evil',
    'X-Forwarded-Proto',
    'http',
    'X-Forwarded-Port',
    '1',
    'Accept',
    'application/json',
  ];
  assert.deepEqual(
    pairs(upstreamHeaders(raw, alice, 'r', null, { sourceAddress: '::ffff:192.0.2.7' })).slice(0, 2),
    [
      ['accept', 'application/json'],
      ['x-forwarded-for', '::ffff:192.0.2.7'],
    ],
  );
  // Unknown address: the claims are still dropped, and none is made up.
  assert.deepEqual(pairs(upstreamHeaders(raw, alice, 'r', null, { sourceAddress: null })).slice(0, 2), [
    ['accept', 'application/json'],
    ['impersonate-user', 'alice'],
  ]);
});

test('connectionOptions reads every Connection line, trimmed and lower-cased', () => {
  assert.deepEqual(
    [...connectionOptions(['connection', ' Upgrade ,,Keep-Alive', 'Accept', 'x', 'CONNECTION', 'X-A'])],
    ['upgrade', 'keep-alive', 'x-a'],
  );
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
