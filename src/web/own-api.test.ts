// kubegate's own surface on loopback HTTP/1.1 with real parts: the token store, sessions, the
// audit trail (SQLite) with its verifier worker, the example policy, and UI files on disk. The
// approvals API is a stand-in that reports who reached it (its own tests are in approvals/).
// What is checked: sign-in and its cookie, CSRF and Origin refusals (nothing reaches the API),
// revocation ending a session, the live event stream ending when its credential does (the real
// approvals API over a stand-in service), the audit and policy endpoints' answers and refusals,
// the UI files.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, beforeEach, test } from 'node:test';
import { createAuditApi } from './audit-api.js';
import { auditEvent } from '../audit/event.js';
import { createChainVerifier } from '../audit/verifier.js';
import { createReviewerApi, type ReviewerApi } from './approvals-api.js';
import type { ApprovalEvent, ApprovalService, PendingRequest } from '../approvals/types.js';
import { gatewayAuthenticators } from '../identity/authenticators.js';
import { createIdentify } from '../identity/identify.js';
import { TokenStore } from '../identity/tokens.js';
import { createPolicyApi } from './policy-api.js';
import { PolicyStore } from '../policy/reload.js';
import { createUiAssets } from './assets.js';
import { createOwnApi, type OwnApi } from './own-api.js';
import { Sessions } from './session.js';
import { storeIn } from '../config/schema.js';
import { openStore, type Store } from '../store/open.js';
import { SIGN_IN_AGAIN, sessionAuthenticator } from './session-authenticator.js';

const root = resolve(import.meta.dirname, '../..');
let dir: string;
let server: Server;
let host: string;
let api: OwnApi;
let tokens: TokenStore;
let store: Store;
let policy: PolicyStore;
let aliceToken: string;
let carolToken: string;
/** Who reached the approvals API, in order. */
const reached: string[] = [];

const stubReviewer: ReviewerApi = {
  handle(req, res, identity) {
    reached.push(`${req.method} ${req.url} as ${identity.user}`);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ user: identity.user }));
    return Promise.resolve();
  },
  close: () => undefined,
};

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kubegate-web-'));
  await mkdir(join(dir, 'ui', 'assets'), { recursive: true });
  await writeFile(join(dir, 'ui', 'index.html'), '<!doctype html><title>kubegate</title>');
  await writeFile(join(dir, 'ui', 'assets', 'app.js'), 'console.log(1)');
  await writeFile(join(dir, 'secret.txt'), 'not for the web');
  tokens = await TokenStore.open(dir);
  aliceToken = await tokens.issue('alice', ['dev']);
  carolToken = await tokens.issue('carol', ['sre', 'security']);
  store = await openStore(storeIn(dir));
  const t0 = Date.parse('2026-11-25T10:00:00Z');
  for (const [i, user, verb, ns] of [
    [0, 'alice', 'delete', 'prod'],
    [1, 'alice', 'get', 'staging'],
    [2, 'bob', 'delete', 'staging'],
  ] as const) {
    await store.audit.append(
      auditEvent('decided', new Date(t0 + i * 60_000), {
        user,
        decision: verb === 'delete' && ns === 'prod' ? 'approve' : 'allow',
        request: {
          method: verb === 'get' ? 'GET' : 'DELETE',
          path: `/apis/apps/v1/namespaces/${ns}/statefulsets/db`,
          verb,
          apiGroup: 'apps',
          resource: 'statefulsets',
          namespace: ns,
          name: 'db',
        } as never,
      }),
    );
  }
  policy = new PolicyStore({ file: join(root, 'examples', 'policy.yaml') });
  await policy.reload();
  server = createServer((req, res) => {
    const authorization = req.headers.authorization;
    void api.handle(req, res, { certificate: null, authorization });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  server.close();
  await store.close();
  policy.close();
  await rm(dir, { recursive: true, force: true });
});

/** The API over the real parts set up above; `over` replaces some of them. */
function ownApi(over: Partial<Parameters<typeof createOwnApi>[0]> = {}): OwnApi {
  // As main.ts builds it: the gateway's authenticators, then this API's web sessions.
  const sessions = over.sessions ?? new Sessions(store.sessions, { ttlMs: 60_000 });
  return createOwnApi({
    identify: createIdentify([...gatewayAuthenticators(tokens), sessionAuthenticator(sessions, tokens)], {
      missing: `no client certificate, bearer token or web session. ${SIGN_IN_AGAIN}`,
    }),
    tokens,
    sessions,
    sessionTtlMs: 60_000,
    reviewer: stubReviewer,
    audit: createAuditApi({
      reader: store.auditReader,
      verifier: createChainVerifier({ verify: () => store.auditReader.verify() }),
      readers: { users: [], groups: ['security'] },
    }),
    policy: createPolicyApi({ policy, now: () => new Date('2026-11-25T12:00:00Z') }),
    assets: createUiAssets(join(dir, 'ui')),
    log: { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined },
    ...over,
  });
}

beforeEach(() => {
  reached.length = 0;
  api = ownApi();
});

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
  readonly json: Record<string, unknown>;
}

function call(
  method: string,
  path: string,
  options: { headers?: Record<string, string>; body?: unknown } = {},
): Promise<Answer> {
  const body = options.body === undefined ? undefined : JSON.stringify(options.body);
  return new Promise((resolvePromise, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: Number(host.split(':')[1]),
        method,
        path,
        headers: {
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...options.headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: Record<string, unknown> = {};
          try {
            json = JSON.parse(text) as Record<string, unknown>;
          } catch {
            // not JSON (UI files)
          }
          resolvePromise({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Signs in with `token`; returns the Cookie header to send and the CSRF token. */
async function signIn(token: string): Promise<{ cookie: string; csrf: string }> {
  const answer = await call('POST', '/kubegate/v1/session', { body: { token } });
  assert.equal(answer.status, 200, answer.text);
  const setCookie = String(answer.headers['set-cookie']);
  return { cookie: setCookie.split(';')[0]!, csrf: String(answer.json.csrfToken) };
}

// ---- the UI's files ----

test('every /ui page is index.html, with headers that forbid framing, sniffing and foreign scripts', async () => {
  for (const path of ['/ui', '/ui/', '/ui/requests/kg-abc', '/ui/audit?user=alice']) {
    const answer = await call('GET', path);
    assert.equal(answer.status, 200, path);
    assert.match(answer.text, /<title>kubegate<\/title>/u);
    assert.equal(answer.headers['content-type'], 'text/html; charset=utf-8');
    assert.match(
      String(answer.headers['content-security-policy']),
      /script-src 'self'; .*frame-ancestors 'none'/u,
    );
    assert.equal(answer.headers['x-content-type-options'], 'nosniff');
    assert.equal(answer.headers['x-frame-options'], 'DENY');
  }
  const js = await call('GET', '/ui/assets/app.js');
  assert.equal(js.status, 200);
  assert.equal(js.headers['content-type'], 'text/javascript; charset=utf-8');
  assert.equal(js.text, 'console.log(1)');
});

test('UI paths never reach outside the build, and only GET and HEAD are answered', async () => {
  for (const path of [
    '/ui/assets/../../secret.txt',
    '/ui/assets/%2e%2e%2fsecret.txt',
    '/ui/assets/nope.js',
  ]) {
    const answer = await call('GET', path);
    assert.equal(answer.status, 404, path);
    assert.doesNotMatch(answer.text, /not for the web/u);
  }
  const post = await call('POST', '/ui/', { body: {} });
  assert.equal(post.status, 405);
  assert.equal(post.headers.allow, 'GET, HEAD');
});

test('a missing UI build is a 503 that says how to build it; the API still works', async () => {
  api = ownApi({
    policy: createPolicyApi({ policy: null, now: () => new Date() }),
    assets: createUiAssets(join(dir, 'no-such-build')),
  });
  const page = await call('GET', '/ui/');
  assert.equal(page.status, 503);
  assert.equal(page.headers['x-kubegate-error-code'], 'KG_UI_NOT_BUILT');
  assert.match(String(page.json.message), /npm run build/u);
  const list = await call('GET', '/kubegate/v1/requests', {
    headers: { authorization: `Bearer ${aliceToken}` },
  });
  assert.equal(list.status, 200);
});

// ---- sign-in, sessions, CSRF ----

test('a wrong token does not sign in, and sets no cookie', async () => {
  const answer = await call('POST', '/kubegate/v1/session', { body: { token: 'kg_not-a-real-token' } });
  assert.equal(answer.status, 401);
  assert.equal(answer.json.reason, 'Unauthorized');
  assert.match(String(answer.json.message), /does not know this token/u);
  assert.equal(answer.headers['set-cookie'], undefined);
  const empty = await call('POST', '/kubegate/v1/session', { body: {} });
  assert.equal(empty.status, 400);
});

test('signing in sets a __Host- cookie that is Secure, HttpOnly and SameSite=Strict; the session says who', async () => {
  const answer = await call('POST', '/kubegate/v1/session', { body: { token: aliceToken } });
  assert.equal(answer.status, 200);
  const setCookie = String(answer.headers['set-cookie']);
  assert.match(
    setCookie,
    /^__Host-kubegate-session=[A-Za-z0-9_-]{43}; Path=\/; Secure; HttpOnly; SameSite=Strict; Max-Age=60$/u,
  );
  assert.equal(answer.json.user, 'alice');
  assert.deepEqual(answer.json.groups, ['dev']);
  assert.doesNotMatch(answer.text, new RegExp(aliceToken, 'u'), 'the token is never echoed');
  const cookie = setCookie.split(';')[0]!;
  const who = await call('GET', '/kubegate/v1/session', { headers: { cookie } });
  assert.equal(who.status, 200);
  assert.equal(who.json.user, 'alice');
  assert.equal(who.json.csrfToken, answer.json.csrfToken);
});

test('a session reads without a CSRF token, but nothing changes without it', async () => {
  const { cookie, csrf } = await signIn(carolToken);
  const read = await call('GET', '/kubegate/v1/requests', { headers: { cookie } });
  assert.equal(read.status, 200);
  assert.deepEqual(reached, ['GET /kubegate/v1/requests as carol']);
  reached.length = 0;

  const approve = '/kubegate/v1/requests/kg-abc/approve';
  const missing = await call('POST', approve, { headers: { cookie }, body: {} });
  assert.equal(missing.status, 403);
  assert.equal(missing.json.reason, 'Forbidden');
  assert.match(String(missing.json.message), /CSRF token/u);
  const wrong = await call('POST', approve, { headers: { cookie, 'x-kubegate-csrf': `${csrf}x` }, body: {} });
  assert.equal(wrong.status, 403);
  const otherSite = await call('POST', approve, {
    headers: { cookie, 'x-kubegate-csrf': csrf, origin: 'https://evil.example' },
    body: {},
  });
  assert.equal(otherSite.status, 403);
  const crossSite = await call('POST', approve, {
    headers: { cookie, 'x-kubegate-csrf': csrf, 'sec-fetch-site': 'cross-site' },
    body: {},
  });
  assert.equal(crossSite.status, 403);
  assert.deepEqual(reached, [], 'no refused request reached the approvals API');

  const ok = await call('POST', approve, {
    headers: { cookie, 'x-kubegate-csrf': csrf, origin: `https://${host}`, 'sec-fetch-site': 'same-origin' },
    body: {},
  });
  assert.equal(ok.status, 200);
  assert.deepEqual(reached, [`POST ${approve} as carol`]);
});

test('a bearer token needs no CSRF token (a browser never sends one by itself)', async () => {
  const answer = await call('POST', '/kubegate/v1/requests/kg-abc/approve', {
    headers: { authorization: `Bearer ${carolToken}` },
    body: {},
  });
  assert.equal(answer.status, 200);
  assert.deepEqual(reached, ['POST /kubegate/v1/requests/kg-abc/approve as carol']);
});

test('no credential and no session is a 401 that says how to sign in; a doubled cookie is refused', async () => {
  const none = await call('GET', '/kubegate/v1/requests');
  assert.equal(none.status, 401);
  assert.match(String(none.json.message), /\/ui\/sign-in/u);
  const { cookie } = await signIn(aliceToken);
  const doubled = await call('GET', '/kubegate/v1/requests', { headers: { cookie: `${cookie}; ${cookie}` } });
  assert.equal(doubled.status, 401);
  assert.deepEqual(reached, []);
});

test('signing in from another site is refused', async () => {
  const answer = await call('POST', '/kubegate/v1/session', {
    headers: { origin: 'https://evil.example' },
    body: { token: aliceToken },
  });
  assert.equal(answer.status, 403);
  assert.equal(answer.headers['set-cookie'], undefined);
});

test('signing out ends the session and clears the cookie', async () => {
  const { cookie, csrf } = await signIn(aliceToken);
  const refused = await call('DELETE', '/kubegate/v1/session', { headers: { cookie } });
  assert.equal(refused.status, 403, 'sign-out is a change: it needs the CSRF token');
  const out = await call('DELETE', '/kubegate/v1/session', { headers: { cookie, 'x-kubegate-csrf': csrf } });
  assert.equal(out.status, 200);
  assert.match(String(out.headers['set-cookie']), /^__Host-kubegate-session=; .*Max-Age=0$/u);
  const after = await call('GET', '/kubegate/v1/session', { headers: { cookie } });
  assert.equal(after.status, 401);
});

test('revoking the token ends its web sessions at once', async () => {
  const dave = await tokens.issue('dave', ['sre']);
  const { cookie } = await signIn(dave);
  assert.equal((await call('GET', '/kubegate/v1/requests', { headers: { cookie } })).status, 200);
  await tokens.revoke('dave');
  const answer = await call('GET', '/kubegate/v1/requests', { headers: { cookie } });
  assert.equal(answer.status, 401);
  assert.match(String(answer.json.message), /revoked/u);
});

// ---- audit ----

test('the audit trail is for audit.readers only', async () => {
  const { cookie } = await signIn(aliceToken);
  const answer = await call('GET', '/kubegate/v1/audit', { headers: { cookie } });
  assert.equal(answer.status, 403);
  assert.equal(answer.headers['x-kubegate-error-code'], 'KG_AUDIT_NOT_A_READER');
  assert.match(String(answer.json.message), /alice may not read the audit trail.*audit\.readers/u);
  assert.equal(
    (answer.json.details as { causes: { reason: string }[] }).causes[0]!.reason,
    'not-an-audit-reader',
  );
});

test('audit records come newest first, filtered by user, verb, namespace, decision and time', async () => {
  const { cookie } = await signIn(carolToken);
  const get = async (query: string): Promise<Record<string, unknown>[]> => {
    const answer = await call('GET', `/kubegate/v1/audit${query}`, { headers: { cookie } });
    assert.equal(answer.status, 200, answer.text);
    assert.equal(answer.json.kind, 'AuditRecordList');
    return answer.json.items as Record<string, unknown>[];
  };
  const all = await get('');
  assert.deepEqual(
    all.map((e) => e.seq),
    [3, 2, 1],
  );
  const users = (items: Record<string, unknown>[]): unknown[] =>
    items.map((e) => (e.event as { user: string; request: { verb: string } }).request.verb);
  assert.deepEqual(users(await get('?user=alice')), ['get', 'delete']);
  assert.deepEqual(users(await get('?verb=delete&namespace=staging')), ['delete']);
  assert.deepEqual(users(await get('?decision=approve')), ['delete']);
  assert.deepEqual(users(await get('?since=2026-11-25T10:01:00Z&until=2026-11-25T10:02:00Z')), ['get']);
  assert.equal((await get('?limit=1')).length, 1);
});

test('bad audit filters are 400s that name the filter', async () => {
  const { cookie } = await signIn(carolToken);
  for (const [query, words] of [
    ['?since=yesterday', /since must be an ISO 8601 time/u],
    ['?limit=0', /limit must be a whole number from 1 to 1000/u],
    ['?usr=alice', /unknown filter "usr"/u],
  ] as const) {
    const answer = await call('GET', `/kubegate/v1/audit${query}`, { headers: { cookie } });
    assert.equal(answer.status, 400, query);
    assert.equal(answer.headers['x-kubegate-error-code'], 'KG_API_BAD_REQUEST', query);
    assert.match(String(answer.json.message), words);
  }
});

test('the chain verification status comes from a real check of the trail', async () => {
  const { cookie } = await signIn(carolToken);
  const answer = await call('GET', '/kubegate/v1/audit/verify', { headers: { cookie } });
  assert.equal(answer.status, 200, answer.text);
  assert.equal(answer.json.kind, 'AuditVerification');
  assert.equal(answer.json.ok, true);
  assert.equal(answer.json.count, 3);
  assert.match(String(answer.json.verifiedAt), /^\d{4}-\d\d-\d\dT/u);
});

// ---- policy ----

test('the policy view shows the file in force, its text and its rules', async () => {
  const { cookie } = await signIn(aliceToken);
  const answer = await call('GET', '/kubegate/v1/policy', { headers: { cookie } });
  assert.equal(answer.status, 200);
  assert.equal(answer.json.kind, 'Policy');
  assert.equal(answer.json.failClosed, false);
  assert.match(String(answer.json.source), /statefulsets-need-two/u);
  const rules = answer.json.rules as { name: string; action: string; approval: unknown }[];
  const sts = rules.find((r) => r.name === 'statefulsets-need-two');
  assert.equal(sts?.action, 'approve');
  assert.notEqual(sts?.approval, null);
});

test('without a policy the simulator has nothing to judge: a 409 Conflict that says so', async () => {
  api = ownApi({ policy: createPolicyApi({ policy: null, now: () => new Date() }) });
  const answer = await call('POST', '/kubegate/v1/policy/eval', {
    headers: { authorization: `Bearer ${aliceToken}` },
    body: { method: 'GET', path: '/api/v1/pods' },
  });
  assert.equal(answer.status, 409);
  assert.equal(answer.json.reason, 'Conflict');
  assert.equal(answer.headers['x-kubegate-error-code'], 'KG_POLICY_NOT_CONFIGURED');
  assert.match(String(answer.json.message), /runs without a policy/u);
});

test('the simulator gives the gateway’s decision: a prod statefulset delete needs two SREs', async () => {
  const { cookie, csrf } = await signIn(aliceToken);
  const simulate = (body: unknown): Promise<Answer> =>
    call('POST', '/kubegate/v1/policy/eval', { headers: { cookie, 'x-kubegate-csrf': csrf }, body });
  const held = await simulate({ method: 'DELETE', path: '/apis/apps/v1/namespaces/prod/statefulsets/db' });
  assert.equal(held.status, 200, held.text);
  assert.equal(held.json.kind, 'PolicyEvaluation');
  assert.equal(held.json.decision, 'approve');
  assert.ok((held.json.rules as { name: string }[]).some((r) => r.name === 'statefulsets-need-two'));
  assert.equal((held.json.request as { namespace: string }).namespace, 'prod');

  const read = await simulate({
    method: 'GET',
    path: '/api/v1/namespaces/prod/pods',
    user: 'bob',
    groups: ['sre'],
  });
  assert.equal(read.json.decision, 'allow');

  const odd = await simulate({ method: 'GET', path: '/api/v1/namespaces/prod/pods/..' });
  assert.equal(odd.json.decision, 'reject');

  const bad = await simulate({ method: 'BREW', path: '/api' });
  assert.equal(bad.status, 400);
  assert.match(String(bad.json.message), /method must be one of/u);
  const noCsrf = await call('POST', '/kubegate/v1/policy/eval', {
    headers: { cookie },
    body: { method: 'GET', path: '/api' },
  });
  assert.equal(noCsrf.status, 403);
});

// ---- the live event stream lasts no longer than its credential ----

/** An approval service that only streams: what the watch needs. */
function streamingService(): ApprovalService & { emit(event: ApprovalEvent): void } {
  const listeners = new Set<(event: ApprovalEvent) => void>();
  const unused = (): never => {
    throw new Error('not in this test');
  };
  return {
    hold: unused,
    list: unused,
    get: unused,
    eligibility: () => null,
    review: unused,
    withdraw: unused,
    revokeStanding: unused,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    close: () => Promise.resolve(),
    emit(event) {
      for (const l of listeners) l(event);
    },
  };
}

const pendingOf = (user: string): PendingRequest =>
  ({
    id: 'kg-aaaaaaaaaa',
    state: 'pending',
    requester: { user, groups: [] },
    request: { kubectlEquivalent: 'kubectl delete pod x' },
    reviews: [],
    requirements: [],
    context: null,
  }) as unknown as PendingRequest;

interface OpenWatch {
  /** Everything received so far. */
  text(): string;
  /** Resolves when kubegate ends the response. */
  readonly ended: Promise<void>;
  /** Resolves once the text matches `pattern`. */
  waitFor(pattern: RegExp): Promise<void>;
  close(): void;
}

function openWatch(headers: Record<string, string>): Promise<OpenWatch> {
  return new Promise((resolveOpen, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: Number(host.split(':')[1]),
        method: 'GET',
        path: '/kubegate/v1/watch',
        headers,
      },
      (res) => {
        if (res.statusCode !== 200) {
          reject(new Error(`watch answered ${res.statusCode}`));
          return;
        }
        let text = '';
        const waiters = new Set<() => void>();
        res.on('data', (c: Buffer) => {
          text += c.toString('utf8');
          for (const w of waiters) w();
        });
        const ended = new Promise<void>((r) => res.on('end', () => r()));
        const watch: OpenWatch = {
          text: () => text,
          ended,
          waitFor: (pattern) =>
            new Promise((r) => {
              const check = (): void => {
                if (pattern.test(text)) {
                  waiters.delete(check);
                  r();
                }
              };
              waiters.add(check);
              check();
            }),
          close: () => req.destroy(),
        };
        void watch.waitFor(/: kubegate watch/u).then(() => resolveOpen(watch));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** The own API with the real approvals API in front of a streaming stand-in. */
function withWatch(over: Partial<Parameters<typeof createOwnApi>[0]> = {}) {
  const service = streamingService();
  const reviewer = createReviewerApi({
    approvals: service,
    publicUrl: null,
    log: { warn: () => undefined, error: () => undefined, debug: () => undefined },
    // Checks this often between events; the tests wait on the stream's end, not on time.
    credentialCheckMs: 10,
  });
  api = ownApi({ reviewer, ...over });
  return { service, reviewer };
}

test(
  'signing out ends the watch the session opened, before another event is sent',
  { timeout: 20_000 },
  async () => {
    const { service, reviewer } = withWatch();
    try {
      const { cookie, csrf } = await signIn(carolToken);
      const watch = await openWatch({ cookie });
      service.emit({ type: 'created', pending: pendingOf('carol') });
      await watch.waitFor(/event: created/u);
      const out = await call('DELETE', '/kubegate/v1/session', {
        headers: { cookie, 'x-kubegate-csrf': csrf },
      });
      assert.equal(out.status, 200);
      service.emit({ type: 'escalated', pending: pendingOf('carol') });
      await watch.ended;
      assert.doesNotMatch(watch.text(), /event: escalated/u, 'nothing is sent after sign-out');
      assert.match(watch.text(), /: the credential this watch was opened with is no longer valid/u);
    } finally {
      reviewer.close();
    }
  },
);

test(
  'revoking the token ends the watch of a session opened with it, while no event comes',
  { timeout: 20_000 },
  async () => {
    const { reviewer } = withWatch();
    try {
      const erinToken = await tokens.issue('erin', ['sre']);
      const { cookie } = await signIn(erinToken);
      const watch = await openWatch({ cookie });
      await tokens.revoke('erin');
      await watch.ended;
    } finally {
      reviewer.close();
    }
  },
);

test(
  'revoking a bearer token ends its watch, even when another process revokes it',
  { timeout: 20_000 },
  async () => {
    const { reviewer } = withWatch();
    try {
      const frankToken = await tokens.issue('frank', ['sre']);
      const watch = await openWatch({ authorization: `Bearer ${frankToken}` });
      // Another process (`kubegate user …` beside the gateway) rewrites the token file; this
      // store notices on its next re-check.
      const elsewhere = await TokenStore.open(dir);
      assert.equal(await elsewhere.revoke('frank'), 1);
      await watch.ended;
    } finally {
      reviewer.close();
    }
  },
);

test('a session that expires ends its watch', { timeout: 20_000 }, async () => {
  let now = Date.now();
  const { reviewer } = withWatch({
    sessions: new Sessions(store.sessions, { ttlMs: 60_000, now: () => now }),
  });
  try {
    const { cookie } = await signIn(carolToken);
    const watch = await openWatch({ cookie });
    now += 60_001;
    await watch.ended;
  } finally {
    reviewer.close();
  }
});

test('a watch whose credential stays valid goes on', { timeout: 20_000 }, async () => {
  const { service, reviewer } = withWatch();
  try {
    const { cookie } = await signIn(carolToken);
    const watch = await openWatch({ cookie });
    let ended = false;
    void watch.ended.then(() => (ended = true));
    for (let i = 0; i < 3; i++) {
      // Each event is sent only after a credential check: three round trips, with checks between.
      service.emit({ type: 'created', pending: pendingOf('carol') });
      await watch.waitFor(new RegExp(`(event: created[\\s\\S]*){${i + 1}}`, 'u'));
    }
    assert.equal(ended, false);
    watch.close();
  } finally {
    reviewer.close();
  }
});

test('/kubegate/livez and /kubegate/readyz answer anyone with ok or not, and list the checks only to a signed-in caller', async () => {
  let ready = false;
  const results = () => [
    { name: 'policy', ok: true, reason: null, checkedAt: '2026-12-04T00:00:00.000Z' },
    { name: 'store', ok: ready, reason: ready ? null : 'cannot reach kubegate’s database', checkedAt: null },
  ];
  api = ownApi({
    health: {
      get ready() {
        return ready;
      },
      results,
    },
  });
  assert.deepEqual(
    [(await call('GET', '/kubegate/livez')).status, (await call('GET', '/kubegate/livez')).text],
    [200, 'ok\n'],
  );
  const notReady = await call('GET', '/kubegate/readyz');
  assert.deepEqual([notReady.status, notReady.text], [503, 'not ready\n']);
  assert.doesNotMatch(notReady.text, /database/u, 'nothing said to the unauthenticated');
  const anonymousVerbose = await call('GET', '/kubegate/readyz?verbose');
  assert.equal(anonymousVerbose.status, 401);
  assert.doesNotMatch(anonymousVerbose.text, /database/u);
  const verbose = await call('GET', '/kubegate/readyz?verbose', {
    headers: { authorization: `Bearer ${aliceToken}` },
  });
  assert.equal(verbose.status, 503);
  assert.match(
    verbose.text,
    /\[\+\]policy ok\n\[-\]store failed: cannot reach kubegate’s database\nreadyz check failed\n/u,
  );
  ready = true;
  assert.deepEqual(
    [(await call('GET', '/kubegate/readyz')).status, (await call('GET', '/kubegate/readyz')).text],
    [200, 'ok\n'],
  );
  assert.equal((await call('POST', '/kubegate/readyz')).status, 405);
});
