// The sign-in's pure part: a sign-in in progress is answered once, by its own browser, within its
// time; the provider's answer is checked (duplicates, state before anything it says, error, code);
// the landing page never leaves the UI; the failure page shows the message escaped, no script.
import { memorySignInFlows, type PendingSignIn } from '../identity/sign-in-flows.js';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KubegateError } from '../errors.js';
import {
  checkAnswer,
  clearedFlowCookie,
  failurePage,
  FLOW_COOKIE,
  FLOW_TTL_MS,
  flowCookie,
  flowIdOf,
  flowOrRefusal,
  PendingSignIns,
  providerName,
  safeNext,
} from './oidc-sign-in-flow.js';

const flow = (over: Partial<PendingSignIn> = {}): Omit<PendingSignIn, 'startedAt'> => ({
  issuer: 0,
  state: 'state-1234567890',
  nonce: 'nonce-1234567890',
  codeVerifier: 'verifier-1234567890',
  next: '/ui/',
  ...over,
});

const code = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof KubegateError, String(err));
    return err.code;
  }
  assert.fail('no error');
};

const message = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    return (err as Error).message;
  }
  assert.fail('no error');
};

test('a sign-in is found by its id once: a second answer finds nothing', async () => {
  const flows = new PendingSignIns({ now: () => 1_000 });
  const id = await flows.begin(flow());
  assert.match(id, /^[A-Za-z0-9_-]{43}$/u);
  const first = await flows.take(id);
  assert.equal(first.kind, 'found');
  assert.equal(first.kind === 'found' && first.flow.startedAt, 1_000);
  assert.deepEqual(await flows.take(id), { kind: 'none' });
  assert.deepEqual(await flows.take(null), { kind: 'none' });
  assert.deepEqual(await flows.take('x'.repeat(43)), { kind: 'none' });
});

test('the store never sees a sign-in id, only its digest', async () => {
  const store = memorySignInFlows();
  const keys: string[] = [];
  const flows = new PendingSignIns({
    now: () => 1_000,
    store: {
      add: (key, f, limits) => (keys.push(key), store.add(key, f, limits)),
      take: (key) => store.take(key),
    },
  });
  const id = await flows.begin(flow());
  assert.equal(keys.length, 1);
  assert.notEqual(keys[0], id);
  assert.equal((await flows.take(id)).kind, 'found');
});

test('a sign-in answered after FLOW_TTL_MS is expired, and gone', async () => {
  let now = 0;
  const flows = new PendingSignIns({ now: () => now });
  const id = await flows.begin(flow());
  now = FLOW_TTL_MS - 1;
  const again = await flows.begin(flow());
  now = FLOW_TTL_MS;
  assert.equal((await flows.take(id)).kind, 'expired');
  assert.equal((await flows.take(id)).kind, 'none');
  assert.equal((await flows.take(again)).kind, 'found');
  assert.equal(
    code(() => flowOrRefusal({ kind: 'expired', flow: { ...flow(), startedAt: 0 } })),
    'KG_AUTHN_SIGN_IN_FAILED',
  );
  assert.match(
    message(() => flowOrRefusal({ kind: 'expired', flow: { ...flow(), startedAt: 0 } })),
    /10 minutes/u,
  );
  assert.match(
    message(() => flowOrRefusal({ kind: 'none' })),
    /no sign-in in progress/u,
  );
});

test('starting sign-ins never keeps more than the bound, nor expired ones: the oldest go first', async () => {
  let now = 0;
  const store = memorySignInFlows();
  const flows = new PendingSignIns({ now: () => now, max: 3, ttlMs: 100, store });
  const ids = [await flows.begin(flow()), await flows.begin(flow()), await flows.begin(flow())];
  const fourth = await flows.begin(flow());
  assert.equal(store.size, 3);
  assert.equal((await flows.take(ids[0]!)).kind, 'none');
  assert.equal((await flows.take(ids[1]!)).kind, 'found');
  now = 100;
  await flows.begin(flow());
  assert.equal(store.size, 1, 'the expired ones went');
  assert.equal((await flows.take(fourth)).kind, 'none');
});

test('the flow cookie is __Host-, HttpOnly, Secure and SameSite=Lax (sent on the provider’s redirect back)', () => {
  assert.equal(
    flowCookie('a'.repeat(43)),
    `${FLOW_COOKIE}=${'a'.repeat(43)}; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=600`,
  );
  assert.match(clearedFlowCookie(), /^__Host-kubegate-oidc-flow=; .*Max-Age=0$/u);
  const id = 'b'.repeat(43);
  assert.equal(flowIdOf(`x=1; ${FLOW_COOKIE}=${id}`), id);
  assert.equal(flowIdOf(`${FLOW_COOKIE}=${id}; ${FLOW_COOKIE}=${id}`), null, 'named twice: a tossed cookie');
  assert.equal(flowIdOf(`${FLOW_COOKIE}=short`), null);
  assert.equal(flowIdOf(undefined), null);
});

const answers: readonly { name: string; query: string; want: string | RegExp }[] = [
  {
    name: 'a code with the matching state is the answer',
    query: 'code=c1&state=state-1234567890',
    want: 'code=c1&state=state-1234567890',
  },
  {
    name: 'the issuer parameter goes along to the exchange (RFC 9207); others do not',
    query: 'code=c1&state=state-1234567890&iss=https%3A%2F%2Fidp&session_state=x',
    want: 'code=c1&state=state-1234567890&iss=https%3A%2F%2Fidp',
  },
  { name: 'another state is refused', query: 'code=c1&state=state-other', want: /state does not match/u },
  { name: 'no state is refused', query: 'code=c1', want: /state does not match/u },
  {
    name: 'a provider error with another state is refused for the state, its text not shown',
    query: 'error=access_denied&error_description=call+555-0100&state=forged',
    want: /^(?!.*555).*state does not match/u,
  },
  {
    name: 'the provider’s error with the right state is shown, with its description',
    query: 'error=access_denied&error_description=The+user+denied&state=state-1234567890',
    want: /ended the sign-in with "access_denied" \(The user denied\)/u,
  },
  {
    name: 'characters OAuth does not allow in an error are replaced, and a long description cut',
    query: `error=bad%22%3Cb%3E&error_description=${'d'.repeat(300)}&state=state-1234567890`,
    want: /with "bad\?<b>" \(d{200}…\)/u,
  },
  {
    name: 'an answer without a code is refused',
    query: 'state=state-1234567890',
    want: /no authorization code/u,
  },
  { name: 'an empty code is refused', query: 'code=&state=state-1234567890', want: /no authorization code/u },
  {
    name: 'a parameter named twice is refused before anything else',
    query: 'code=c1&code=c2&state=state-1234567890',
    want: /names code more than once/u,
  },
  {
    name: 'two states are refused, even when one matches',
    query: 'code=c1&state=state-1234567890&state=x',
    want: /names state more than once/u,
  },
];

for (const row of answers) {
  test(`checkAnswer: ${row.name}`, () => {
    const run = () => checkAnswer(new URLSearchParams(row.query), { ...flow(), startedAt: 0 });
    if (typeof row.want === 'string') {
      assert.equal(run().toString(), row.want);
    } else {
      assert.equal(code(run), 'KG_AUTHN_SIGN_IN_FAILED');
      assert.match(message(run), row.want);
    }
  });
}

const nexts: readonly { input: string | null; want: string }[] = [
  { input: null, want: '/ui/' },
  { input: '/ui/requests/kg-1', want: '/ui/requests/kg-1' },
  { input: '/ui/audit?user=alice', want: '/ui/audit?user=alice' },
  { input: '/ui', want: '/ui' },
  { input: '/ui/sign-in', want: '/ui/' },
  { input: '/ui/sign-in/?next=/ui/', want: '/ui/' },
  { input: 'https://evil.example/ui/', want: '/ui/' },
  { input: '//evil.example/ui/', want: '/ui/' },
  { input: '/ui//evil.example', want: '/ui/' },
  { input: '/ui/\\evil', want: '/ui/' },
  { input: '/uix', want: '/ui/' },
  { input: '/kubegate/v1/session', want: '/ui/' },
  { input: '/ui/a b', want: '/ui/' },
  { input: '/ui/\r\nSet-Cookie:x', want: '/ui/' },
  { input: `/ui/${'a'.repeat(1_000)}`, want: '/ui/' },
];

for (const row of nexts) {
  test(`safeNext(${JSON.stringify(row.input?.slice(0, 40))}) lands on ${row.want}`, () =>
    assert.equal(safeNext(row.input), row.want));
}

test('a provider is named by its issuer’s host (with the port)', () => {
  assert.equal(providerName('https://login.example.com/realms/corp'), 'login.example.com');
  assert.equal(providerName('https://127.0.0.1:8443'), '127.0.0.1:8443');
});

test('the failure page shows the message escaped, the code, the way back and no script', () => {
  const page = failurePage(
    new KubegateError(
      'KG_AUTHN_SIGN_IN_FAILED',
      'kubegate did not sign you in: "<script>alert(1)</script>" & more',
    ),
    '/kubegate/v1/session/oidc/start?issuer=0&next=%2Fui%2F',
  );
  assert.doesNotMatch(page, /<script/u);
  assert.match(page, /&#34;&#60;script&#62;alert\(1\)&#60;\/script&#62;&#34; &#38; more/u);
  assert.match(page, /data-code="KG_AUTHN_SIGN_IN_FAILED"/u);
  assert.match(page, /href="\/ui\/sign-in"/u);
  assert.match(page, /href="\/kubegate\/v1\/session\/oidc\/start\?issuer=0&#38;next=%2Fui%2F"/u);
  assert.doesNotMatch(failurePage(new KubegateError('KG_INTERNAL', 'x'), null), /sign-in-retry/u);
});
