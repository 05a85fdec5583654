import assert from 'node:assert/strict';
import { test } from 'node:test';
import { matchRoute, requestPath, safeNext, signInPath, type Route } from './routes.js';

const routes: readonly { name: string; input: string; want: Route }[] = [
  { name: '/ui is the queue', input: '/ui', want: { name: 'queue' } },
  { name: '/ui/ is the queue', input: '/ui/', want: { name: 'queue' } },
  { name: '/ui/requests is the queue', input: '/ui/requests', want: { name: 'queue' } },
  {
    name: 'a request id is the request page',
    input: '/ui/requests/kg-3jz0q1x8ma',
    want: { name: 'request', id: 'kg-3jz0q1x8ma' },
  },
  { name: 'a trailing slash is ignored', input: '/ui/requests/kg-1/', want: { name: 'request', id: 'kg-1' } },
  { name: 'an encoded id is decoded', input: '/ui/requests/kg%2D1', want: { name: 'request', id: 'kg-1' } },
  { name: 'a malformed escape is not found', input: '/ui/requests/%E0%A4%A', want: { name: 'not-found' } },
  { name: 'the audit view', input: '/ui/audit', want: { name: 'audit' } },
  { name: 'the policy view', input: '/ui/policy/', want: { name: 'policy' } },
  { name: 'sign-in', input: '/ui/sign-in', want: { name: 'sign-in' } },
  {
    name: 'a deeper request path is not found',
    input: '/ui/requests/kg-1/approve',
    want: { name: 'not-found' },
  },
  { name: 'an unknown page is not found', input: '/ui/nothing', want: { name: 'not-found' } },
  { name: 'a path outside the UI is not found', input: '/uix', want: { name: 'not-found' } },
];

for (const row of routes) {
  test(`matchRoute: ${row.name}`, () => assert.deepEqual(matchRoute(row.input), row.want));
}

test('requestPath encodes the id', () => {
  assert.equal(requestPath('kg-1'), '/ui/requests/kg-1');
  assert.equal(requestPath('a/b'), '/ui/requests/a%2Fb');
});

const nexts: readonly { name: string; input: string | null; want: string }[] = [
  { name: 'no next goes to the queue', input: null, want: '/ui/' },
  { name: 'a request page is kept', input: '/ui/requests/kg-1', want: '/ui/requests/kg-1' },
  { name: 'a query is kept', input: '/ui/audit?user=alice', want: '/ui/audit?user=alice' },
  { name: 'a protocol-relative URL is refused', input: '//evil.example/ui/', want: '/ui/' },
  { name: 'a backslash trick is refused', input: '/\\evil.example', want: '/ui/' },
  { name: 'an absolute URL is refused', input: 'https://evil.example/ui/', want: '/ui/' },
  { name: 'a path outside the UI is refused', input: '/kubegate/v1/requests', want: '/ui/' },
  { name: 'a dot-dot escape from the UI is refused', input: '/ui/../kubegate/v1/session', want: '/ui/' },
  { name: 'the sign-in page itself is refused', input: '/ui/sign-in?next=/ui/', want: '/ui/' },
  { name: 'a control character is refused', input: '/ui/\tx', want: '/ui/' },
];

for (const row of nexts) {
  test(`safeNext: ${row.name}`, () => assert.equal(safeNext(row.input), row.want));
}

test('signInPath keeps the page as ?next=, and leaves out the queue', () => {
  assert.equal(signInPath('/ui/requests/kg-1'), '/ui/sign-in?next=%2Fui%2Frequests%2Fkg-1');
  assert.equal(signInPath('/ui/'), '/ui/sign-in');
  assert.equal(signInPath('//evil.example'), '/ui/sign-in');
});
