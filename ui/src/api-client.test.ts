import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApiError, apiUrl, createApiClient, errorMessage } from './api-client.js';

interface Call {
  readonly url: string;
  readonly init: RequestInit;
}

function fakeFetch(status: number, body: string, statusText = '') {
  const calls: Call[] = [];
  const fetch = (url: string, init: RequestInit): Promise<Response> => {
    calls.push({ url, init });
    return Promise.resolve(new Response(body, { status, statusText }));
  };
  return { calls, fetch };
}

const headersOf = (call: Call | undefined): Record<string, string> =>
  (call?.init.headers ?? {}) as Record<string, string>;

test('a GET sends the cookie same-origin and no CSRF token', async () => {
  const { calls, fetch } = fakeFetch(200, '{"kind":"ApprovalRequestList","items":[]}');
  const client = createApiClient({ fetch, onUnauthorized: () => assert.fail('not a 401') });
  client.setCsrfToken('csrf-1');
  const list = await client.get<{ kind: string }>('requests?state=pending');
  assert.equal(list.kind, 'ApprovalRequestList');
  assert.equal(calls[0]?.url, '/kubegate/v1/requests?state=pending');
  assert.equal(calls[0]?.init.method, 'GET');
  assert.equal(calls[0]?.init.credentials, 'same-origin');
  assert.equal(headersOf(calls[0])['X-Kubegate-CSRF'], undefined);
});

test('a POST sends JSON with the CSRF token', async () => {
  const { calls, fetch } = fakeFetch(200, '{"kind":"ApprovalRequest"}');
  const client = createApiClient({ fetch, onUnauthorized: () => undefined });
  client.setCsrfToken('csrf-1');
  await client.post('requests/kg-1/approve', { comment: 'ok' });
  assert.equal(calls[0]?.init.method, 'POST');
  assert.equal(calls[0]?.init.body, '{"comment":"ok"}');
  assert.equal(headersOf(calls[0])['Content-Type'], 'application/json');
  assert.equal(headersOf(calls[0])['X-Kubegate-CSRF'], 'csrf-1');
});

test('a DELETE sends the CSRF token and no body', async () => {
  const { calls, fetch } = fakeFetch(200, '{"kind":"Status","status":"Success"}');
  const client = createApiClient({ fetch, onUnauthorized: () => undefined });
  client.setCsrfToken('csrf-2');
  await client.del('session');
  assert.equal(calls[0]?.init.body, undefined);
  assert.equal(headersOf(calls[0])['Content-Type'], undefined);
  assert.equal(headersOf(calls[0])['X-Kubegate-CSRF'], 'csrf-2');
});

test('an error carries the Status message and reason', async () => {
  const status = {
    kind: 'Status',
    status: 'Failure',
    code: 403,
    reason: 'Forbidden',
    message: 'you cannot approve your own request',
  };
  const { fetch } = fakeFetch(403, JSON.stringify(status));
  const client = createApiClient({ fetch, onUnauthorized: () => assert.fail('not a 401') });
  await assert.rejects(client.post('requests/kg-1/approve', {}), (err: unknown) => {
    assert.ok(err instanceof ApiError);
    assert.equal(err.status, 403);
    assert.equal(err.reason, 'Forbidden');
    assert.equal(err.message, 'you cannot approve your own request');
    return true;
  });
});

test('a 401 ends the session, unless the caller is signing in', async () => {
  const { fetch } = fakeFetch(401, '{"kind":"Status","status":"Failure","code":401,"message":"sign in"}');
  let ended = 0;
  const client = createApiClient({ fetch, onUnauthorized: () => ended++ });
  await assert.rejects(client.get('requests'), (err: unknown) => err instanceof ApiError && err.unauthorized);
  assert.equal(ended, 1);
  await assert.rejects(client.post('session', { token: 'kg_x' }, { redirectOnUnauthorized: false }));
  assert.equal(ended, 1);
});

test('a failure without a Status body still says what happened', async () => {
  const { fetch } = fakeFetch(502, '<html>bad gateway</html>', 'Bad Gateway');
  const client = createApiClient({ fetch, onUnauthorized: () => undefined });
  await assert.rejects(client.get('policy'), { message: 'kubegate answered HTTP 502 Bad Gateway' });
});

test('a network failure is an ApiError with status 0', async () => {
  const client = createApiClient({
    fetch: () => Promise.reject(new TypeError('Failed to fetch')),
    onUnauthorized: () => undefined,
  });
  await assert.rejects(client.get('policy'), (err: unknown) => err instanceof ApiError && err.status === 0);
});

test('errorMessage ignores an empty message', () => {
  assert.equal(errorMessage(500, '', { kind: 'Status', message: ' ' }), 'kubegate answered HTTP 500');
});

test('apiUrl refuses paths that could leave the API', () => {
  assert.equal(apiUrl('audit?limit=5'), '/kubegate/v1/audit?limit=5');
  for (const bad of ['/etc', '//evil.example/x', 'https://evil.example', 'a\\b', 'javascript:alert(1)']) {
    assert.throws(() => apiUrl(bad), ApiError, bad);
  }
});
