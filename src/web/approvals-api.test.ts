// The reviewer REST API on loopback (HTTP/1.1, and HTTP/2 for the watch) with a fake
// ApprovalService: routing, visibility, eligibility, input checks, refusals as Status objects,
// and server-sent events.
import assert from 'node:assert/strict';
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import { connect as http2Connect, createServer as createH2Server, type Http2Server } from 'node:http2';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, test } from 'node:test';
import { ERROR_CODES, KubegateError, type ErrorCode } from '../errors.js';
import type { Identity } from '../identity/types.js';
import type {
  ApprovalEvent,
  ApprovalService,
  PendingRequest,
  ReviewRefusal,
  ReviewResult,
} from '../approvals/types.js';
import { createReviewerApi, REFUSALS, type ReviewerApi } from './approvals-api.js';
import type { StandingAsk } from '../approvals/standing.js';

function pendingRequest(id: string, over: Partial<PendingRequest> = {}): PendingRequest {
  return {
    id,
    fingerprint: `fp-${id}`,
    state: 'pending',
    requester: { user: 'alice', groups: ['dev'] },
    request: {
      method: 'PATCH',
      path: '/apis/apps/v1/namespaces/prod/statefulsets/db',
      rawQuery: '',
      verb: 'patch',
      apiGroup: 'apps',
      apiVersion: 'v1',
      resource: 'statefulsets',
      subresource: '',
      namespace: 'prod',
      name: 'db',
      labelSelector: '',
      fieldSelector: '',
      bodyDigest: 'abc',
      kubectlCommand: 'kubectl patch',
      kubectlEquivalent: 'kubectl patch statefulset db -n prod',
    },
    rules: [{ name: 'prod-statefulsets', action: 'approve', message: 'two SREs' }],
    requirements: [
      {
        rule: 'prod-statefulsets',
        stages: [{ name: 'approval', approvers: [{ kind: 'group', name: 'sre' }], count: 2 }],
        escalateAfterMs: null,
        escalateTo: [{ kind: 'user', name: 'oncall' }],
        expiresAfterMs: null,
        mode: 'hold',
        grantTtlMs: null,
        breakGlass: false,
      },
    ],
    stageIndex: [0],
    reviews: [],
    mode: 'hold',
    requesterLeftAt: null,
    createdAt: '2026-11-25T10:00:00.000Z',
    expiresAt: null,
    escalateAt: null,
    escalated: false,
    decidedAt: null,
    context: {
      targetLabels: { app: 'db' },
      dryRun: null,
      diff: '-a\n+b\n',
      objects: null,
      exec: null,
      notes: [],
    },
    grantExpiresAt: null,
    grantUsed: false,
    ...over,
  };
}

interface ReviewCall {
  readonly id: string;
  readonly reviewer: Pick<Identity, 'user' | 'groups'>;
  readonly decision: 'approve' | 'deny';
  readonly comment: string;
  readonly options: { readonly breakGlassReason?: string; readonly standing?: StandingAsk } | undefined;
}

/** A plain-object ApprovalService: requests in a map, scripted review answers, events on demand. */
function fakeService() {
  const items = new Map<string, PendingRequest>();
  const listeners = new Set<(e: ApprovalEvent) => void>();
  const calls: ReviewCall[] = [];
  const withdrawals: { id: string; requester: Pick<Identity, 'user' | 'groups'> }[] = [];
  const revocations: { id: string; person: Pick<Identity, 'user' | 'groups'> }[] = [];
  let unsubscribed = (): void => undefined;
  const service = {
    items,
    calls,
    withdrawals,
    revocations,
    listeners,
    failure: null as Error | null,
    reviewAnswer: null as ReviewResult | null,
    whenUnsubscribed: (): Promise<void> => new Promise<void>((r) => (unsubscribed = r)),
    emit(event: ApprovalEvent) {
      for (const l of listeners) l(event);
    },
    hold: () => Promise.reject(new KubegateError('KG_INTERNAL', 'not in this test')),
    list(filter?: { state?: PendingRequest['state'] }) {
      if (service.failure !== null) return Promise.reject(service.failure);
      return Promise.resolve(
        [...items.values()].filter((p) => filter?.state === undefined || p.state === filter.state),
      );
    },
    get(id: string) {
      return Promise.resolve(items.get(id) ?? null);
    },
    eligibility(pending: PendingRequest, reviewer: Pick<Identity, 'user' | 'groups'>): ReviewRefusal | null {
      if (pending.state !== 'pending') return 'not-pending';
      if (pending.requester.user === reviewer.user) return 'own-request';
      if (pending.reviews.some((r) => r.reviewer === reviewer.user)) return 'already-reviewed';
      return reviewer.groups.includes('sre') ? null : 'not-an-approver';
    },
    review(
      id: string,
      reviewer: Pick<Identity, 'user' | 'groups'>,
      decision: 'approve' | 'deny',
      comment: string,
      options?: { readonly breakGlassReason?: string; readonly standing?: StandingAsk },
    ): Promise<ReviewResult> {
      calls.push({ id, reviewer, decision, comment, options });
      if (service.reviewAnswer !== null) return Promise.resolve(service.reviewAnswer);
      const pending = items.get(id)!;
      const reviewed: PendingRequest = {
        ...pending,
        reviews: [
          ...pending.reviews,
          {
            reviewer: reviewer.user,
            reviewerGroups: reviewer.groups,
            decision,
            comment,
            at: '2026-11-25T10:01:00.000Z',
            breakGlass: false,
          },
        ],
      };
      return Promise.resolve({ ok: true, pending: reviewed });
    },
    withdraw(id: string, requester: Pick<Identity, 'user' | 'groups'>): Promise<ReviewResult> {
      withdrawals.push({ id, requester });
      const pending = items.get(id)!;
      if (pending.requester.user !== requester.user) {
        return Promise.resolve({ ok: false, refusal: 'not-requester', message: '' });
      }
      return Promise.resolve({ ok: true, pending: { ...pending, state: 'withdrawn' } });
    },
    revokeStanding(id: string, person: Pick<Identity, 'user' | 'groups'>): Promise<ReviewResult> {
      revocations.push({ id, person });
      const pending = items.get(id)!;
      return Promise.resolve({ ok: true, pending: { ...pending, grantUsed: true } });
    },
    subscribe(listener: (e: ApprovalEvent) => void) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
        unsubscribed();
      };
    },
    close: () => Promise.resolve(),
  };
  return service satisfies ApprovalService;
}

let service: ReturnType<typeof fakeService>;
let api: ReviewerApi;
let server: Server;
let h2: Http2Server;
let port = 0;
let h2port = 0;
const bugs: unknown[] = [];

/** The test's stand-in for the gateway's authentication: who is calling, from two headers. */
function identityOf(headers: IncomingMessage['headers']): Identity {
  const groups = String(headers['x-test-groups'] ?? '');
  return {
    user: String(headers['x-test-user'] ?? 'nobody'),
    groups: groups === '' ? [] : groups.split(','),
    method: 'client-certificate',
  };
}

/** For callers that send x-test-checked: whether their credential is still valid. */
let credentialValid = true;

before(async () => {
  server = createServer((req, res) => {
    const checked = req.headers['x-test-checked'] !== undefined;
    void api.handle(req, res, identityOf(req.headers), checked ? { stillValid: () => credentialValid } : {});
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  port = (server.address() as AddressInfo).port;
  h2 = createH2Server((req, res) => {
    void api.handle(req, res, identityOf(req.headers));
  });
  h2.listen(0, '127.0.0.1');
  await once(h2, 'listening');
  h2port = (h2.address() as AddressInfo).port;
});

after(() => {
  api.close();
  server.closeAllConnections();
  server.close();
  h2.close();
});

beforeEach(() => {
  api?.close();
  credentialValid = true;
  service = fakeService();
  bugs.length = 0;
  api = createReviewerApi({
    approvals: service,
    publicUrl: 'https://kubegate.example:8443/',
    heartbeatMs: 10,
    log: {
      error: (obj: unknown) => void bugs.push(obj),
      warn: () => undefined,
      debug: () => undefined,
    } as never,
  });
  service.items.set('kg-aaaaaaaaaa', pendingRequest('kg-aaaaaaaaaa'));
  service.items.set(
    'kg-bbbbbbbbbb',
    pendingRequest('kg-bbbbbbbbbb', {
      state: 'approved',
      createdAt: '2026-11-25T11:00:00.000Z',
    }),
  );
  // Someone else's request that names neither sre nor bob: invisible to them.
  service.items.set(
    'kg-cccccccccc',
    pendingRequest('kg-cccccccccc', {
      requester: { user: 'erin', groups: [] },
      requirements: [{ ...pendingRequest('x').requirements[0]!, stages: [], escalateTo: [] }],
    }),
  );
});

interface Answer {
  readonly status: number;
  readonly headers: IncomingMessage['headers'];
  readonly json: Record<string, unknown>;
}

function call(
  method: string,
  path: string,
  who: { user: string; groups?: string[] },
  body?: string,
  contentType = 'application/json',
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        headers: {
          'x-test-user': who.user,
          'x-test-groups': (who.groups ?? []).join(','),
          ...(body === undefined ? {} : { 'content-type': contentType }),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () =>
          resolve({
            status: res.statusCode!,
            headers: res.headers,
            json: JSON.parse(text) as Record<string, unknown>,
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const bob = { user: 'bob', groups: ['sre'] };
const alice = { user: 'alice', groups: ['dev'] };

test('the list shows the requests the caller may see, newest first, without their context', async () => {
  const r = await call('GET', '/kubegate/v1/requests', bob);
  assert.equal(r.status, 200);
  assert.equal(r.json.kind, 'ApprovalRequestList');
  const items = r.json.items as (PendingRequest & { url: string })[];
  assert.deepEqual(
    items.map((i) => i.id),
    ['kg-bbbbbbbbbb', 'kg-aaaaaaaaaa'],
  );
  assert.equal(items[0]!.context, null);
  assert.equal(items[1]!.url, 'https://kubegate.example:8443/ui/requests/kg-aaaaaaaaaa');
});

test('the list filters by state', async () => {
  const r = await call('GET', '/kubegate/v1/requests?state=pending', bob);
  assert.equal(r.status, 200);
  assert.deepEqual(
    (r.json.items as PendingRequest[]).map((i) => i.id),
    ['kg-aaaaaaaaaa'],
  );
});

test('one request comes with its context and what the caller may do', async () => {
  const r = await call('GET', '/kubegate/v1/requests/kg-aaaaaaaaaa', bob);
  assert.equal(r.status, 200);
  assert.equal(r.json.kind, 'ApprovalRequest');
  assert.deepEqual((r.json as unknown as PendingRequest).context?.targetLabels, { app: 'db' });
  assert.deepEqual(r.json.eligibility, {
    canReview: true,
    refusal: null,
    message: null,
    breakGlass: false,
    canWithdraw: false,
    canGiveReason: false,
    canDeny: true,
  });
});

test('a reviewer who approved may no longer approve but may still deny while it is pending', async () => {
  const base = pendingRequest('kg-aaaaaaaaaa');
  const reviews = [
    {
      reviewer: 'bob',
      reviewerGroups: ['sre'],
      decision: 'approve' as const,
      comment: '',
      at: base.createdAt,
      breakGlass: false,
    },
  ];
  service.items.set('kg-aaaaaaaaaa', { ...base, reviews });
  let r = await call('GET', '/kubegate/v1/requests/kg-aaaaaaaaaa', bob);
  assert.deepEqual(r.json.eligibility, {
    canReview: false,
    refusal: 'already-reviewed',
    message: 'you have already reviewed this request',
    breakGlass: false,
    canWithdraw: false,
    canGiveReason: false,
    canDeny: true,
  });
  service.items.set('kg-aaaaaaaaaa', { ...base, state: 'approved', reviews });
  r = await call('GET', '/kubegate/v1/requests/kg-aaaaaaaaaa', bob);
  assert.equal((r.json.eligibility as { canDeny: boolean }).canDeny, false, 'not once it is decided');
  r = await call('GET', '/kubegate/v1/requests/kg-aaaaaaaaaa', { user: 'oncall' });
  assert.equal(
    (r.json.eligibility as { canDeny: boolean }).canDeny,
    false,
    'not for someone who may not review',
  );
});

test('the requester sees that they cannot approve, and whether break-glass is open to them', async () => {
  let r = await call('GET', '/kubegate/v1/requests/kg-aaaaaaaaaa', alice);
  assert.deepEqual(r.json.eligibility, {
    canReview: false,
    refusal: 'own-request',
    message: 'you cannot approve your own request',
    breakGlass: false,
    canWithdraw: true,
    canGiveReason: false, // this fake service keeps no reasons
    canDeny: false,
  });
  const base = pendingRequest('kg-aaaaaaaaaa');
  service.items.set(
    'kg-aaaaaaaaaa',
    pendingRequest('kg-aaaaaaaaaa', { requirements: [{ ...base.requirements[0]!, breakGlass: true }] }),
  );
  r = await call('GET', '/kubegate/v1/requests/kg-aaaaaaaaaa', alice);
  assert.equal((r.json.eligibility as { breakGlass: boolean }).breakGlass, true);
});

test('cancel: the requester withdraws; a reviewer is refused with not-requester; nobody else even sees it', async () => {
  let r = await call('POST', '/kubegate/v1/requests/kg-aaaaaaaaaa/cancel', bob, '{}');
  assert.equal(r.status, 403);
  assert.equal(r.headers['x-kubegate-error-code'], 'KG_REVIEW_NOT_REQUESTER');
  assert.equal(r.json.message, 'only the requester may withdraw a request');
  r = await call('POST', '/kubegate/v1/requests/kg-aaaaaaaaaa/cancel', { user: 'mallory' }, '{}');
  assert.equal(r.status, 404);
  r = await call('POST', '/kubegate/v1/requests/kg-aaaaaaaaaa/cancel', alice, '{"comment":"x"}');
  assert.equal(r.status, 400, 'a cancel takes no fields');
  assert.deepEqual(
    service.withdrawals.map((w) => w.requester.user),
    ['bob'],
    'the refused and malformed calls reached the service only where it decides',
  );
  r = await call('POST', '/kubegate/v1/requests/kg-aaaaaaaaaa/cancel', alice, '{}');
  assert.equal(r.status, 200);
  assert.equal(r.json.state, 'withdrawn');
  r = await call('GET', '/kubegate/v1/requests/kg-aaaaaaaaaa/cancel', alice);
  assert.equal(r.status, 405);
});

test('an escalation target may see a request it may not yet review', async () => {
  const r = await call('GET', '/kubegate/v1/requests/kg-aaaaaaaaaa', { user: 'oncall' });
  assert.equal(r.status, 200);
  assert.equal((r.json.eligibility as { refusal: string }).refusal, 'not-an-approver');
});

interface ErrorRow {
  readonly name: string;
  readonly method: string;
  readonly path: string;
  readonly who?: { user: string; groups?: string[] };
  readonly body?: string;
  readonly contentType?: string;
  readonly code: number;
  readonly reason: string;
  readonly errorCode: ErrorCode;
  readonly message: RegExp;
  readonly cause?: string;
  readonly allow?: string;
}

const errorRows: readonly ErrorRow[] = [
  {
    name: 'an unknown id is not found',
    method: 'GET',
    path: '/kubegate/v1/requests/kg-zzzzzzzzzz',
    code: 404,
    reason: 'NotFound',
    errorCode: 'KG_REVIEW_NOT_FOUND',
    message: /^kubegate has no request "kg-zzzzzzzzzz" that you may see$/u,
    cause: 'not-found',
  },
  {
    name: "someone else's request that does not name the caller is not found either",
    method: 'GET',
    path: '/kubegate/v1/requests/kg-cccccccccc',
    code: 404,
    reason: 'NotFound',
    errorCode: 'KG_REVIEW_NOT_FOUND',
    message: /^kubegate has no request "kg-cccccccccc" that you may see$/u,
    cause: 'not-found',
  },
  {
    name: 'an id that cannot be one is not found, and quoted safely',
    method: 'GET',
    path: '/kubegate/v1/requests/..%0a%1b',
    code: 404,
    reason: 'NotFound',
    errorCode: 'KG_REVIEW_NOT_FOUND',
    message: /^kubegate has no request "\.\.%0a%1b" that you may see$/u,
  },
  {
    name: 'an unknown state is a bad request',
    method: 'GET',
    path: '/kubegate/v1/requests?state=open',
    code: 400,
    reason: 'BadRequest',
    errorCode: 'KG_API_BAD_REQUEST',
    message: /^state must be one of pending, approved, denied, expired, withdrawn; got "open"$/u,
  },
  {
    name: 'an unknown path is not found',
    method: 'GET',
    path: '/kubegate/v1/requests/kg-aaaaaaaaaa/comments',
    code: 404,
    reason: 'NotFound',
    errorCode: 'KG_API_NOT_FOUND',
    message: /^no such kubegate API path: "\/kubegate\/v1\/requests\/kg-aaaaaaaaaa\/comments"$/u,
  },
  {
    name: 'a DELETE of a request is not allowed, and the answer says what is',
    method: 'DELETE',
    path: '/kubegate/v1/requests/kg-aaaaaaaaaa',
    code: 405,
    reason: 'MethodNotAllowed',
    errorCode: 'KG_API_METHOD',
    message: /^"DELETE" is not allowed here; use GET$/u,
    allow: 'GET',
  },
  {
    name: 'approving with GET is not allowed',
    method: 'GET',
    path: '/kubegate/v1/requests/kg-aaaaaaaaaa/approve',
    code: 405,
    reason: 'MethodNotAllowed',
    errorCode: 'KG_API_METHOD',
    message: /use POST$/u,
    allow: 'POST',
  },
  {
    name: 'a denial without a comment is a bad request',
    method: 'POST',
    path: '/kubegate/v1/requests/kg-aaaaaaaaaa/deny',
    body: '{"comment":"  "}',
    code: 400,
    reason: 'BadRequest',
    errorCode: 'KG_API_BAD_REQUEST',
    message: /^a denial needs a comment saying why/u,
  },
  {
    name: 'a review that is not JSON is refused (no cross-site form can send one)',
    method: 'POST',
    path: '/kubegate/v1/requests/kg-aaaaaaaaaa/approve',
    body: 'comment=ok',
    contentType: 'application/x-www-form-urlencoded',
    code: 415,
    reason: 'UnsupportedMediaType',
    errorCode: 'KG_API_MEDIA_TYPE',
    message: /^send the body as application\/json$/u,
  },
  {
    name: 'a body that does not parse is a bad request',
    method: 'POST',
    path: '/kubegate/v1/requests/kg-aaaaaaaaaa/approve',
    body: '{"comment":',
    code: 400,
    reason: 'BadRequest',
    errorCode: 'KG_API_BAD_REQUEST',
    message: /^the body is not valid JSON$/u,
  },
  {
    name: 'a misspelt field is a bad request, not silently ignored',
    method: 'POST',
    path: '/kubegate/v1/requests/kg-aaaaaaaaaa/approve',
    body: '{"breakglassReason":"prod is down"}',
    code: 400,
    reason: 'BadRequest',
    errorCode: 'KG_API_BAD_REQUEST',
    message: /^unknown field "breakglassReason"; expected comment, breakGlassReason, standing$/u,
  },
  {
    name: 'a comment that is not a string is a bad request',
    method: 'POST',
    path: '/kubegate/v1/requests/kg-aaaaaaaaaa/approve',
    body: '{"comment":42}',
    code: 400,
    reason: 'BadRequest',
    errorCode: 'KG_API_BAD_REQUEST',
    message: /^comment must be a string$/u,
  },
  {
    name: 'an empty break-glass reason is a bad request',
    method: 'POST',
    path: '/kubegate/v1/requests/kg-aaaaaaaaaa/approve',
    who: alice,
    body: '{"breakGlassReason":" "}',
    code: 400,
    reason: 'BadRequest',
    errorCode: 'KG_API_BAD_REQUEST',
    message: /^breakGlassReason must say why/u,
  },
  {
    name: 'a standing approval without a usable duration is a bad request',
    method: 'POST',
    path: '/kubegate/v1/requests/kg-aaaaaaaaaa/approve',
    body: '{"standing":{"duration":"soon","scope":"identical"}}',
    code: 400,
    reason: 'BadRequest',
    errorCode: 'KG_API_BAD_REQUEST',
    message: /^standing\.duration must be a duration such as "30m"/u,
  },
  {
    name: 'a standing approval of an unknown scope is a bad request',
    method: 'POST',
    path: '/kubegate/v1/requests/kg-aaaaaaaaaa/approve',
    body: '{"standing":{"duration":"30m","scope":"namespace"}}',
    code: 400,
    reason: 'BadRequest',
    errorCode: 'KG_API_BAD_REQUEST',
    message: /^standing\.scope must be identical or rule$/u,
  },
  {
    name: 'approving a request the caller may not see is not found, and never reaches the service',
    method: 'POST',
    path: '/kubegate/v1/requests/kg-cccccccccc/approve',
    body: '{}',
    code: 404,
    reason: 'NotFound',
    errorCode: 'KG_REVIEW_NOT_FOUND',
    message: /^kubegate has no request "kg-cccccccccc"/u,
    cause: 'not-found',
  },
];

for (const row of errorRows) {
  test(row.name, async () => {
    const r = await call(row.method, row.path, row.who ?? bob, row.body, row.contentType);
    assert.equal(r.status, row.code);
    assert.equal(r.json.kind, 'Status');
    assert.equal(r.json.status, 'Failure');
    assert.equal(r.json.code, row.code);
    assert.equal(r.json.reason, row.reason);
    assert.equal(r.headers['x-kubegate-error-code'], row.errorCode);
    assert.match(String(r.json.message), row.message);
    if (row.cause !== undefined) {
      assert.equal((r.json.details as { causes: { reason: string }[] }).causes[0]!.reason, row.cause);
    }
    if (row.allow !== undefined) assert.equal(r.headers.allow, row.allow);
    assert.deepEqual(service.calls, []);
  });
}

test('an approval reaches the service with the caller, the comment and the break-glass reason', async () => {
  const r = await call(
    'POST',
    '/kubegate/v1/requests/kg-aaaaaaaaaa/approve',
    bob,
    '{"comment":"looks right","breakGlassReason":"outage"}',
    'application/json; charset=utf-8',
  );
  assert.equal(r.status, 200);
  assert.equal((r.json as unknown as PendingRequest).reviews[0]!.reviewer, 'bob');
  assert.deepEqual(service.calls, [
    {
      id: 'kg-aaaaaaaaaa',
      reviewer: { user: 'bob', groups: ['sre'] },
      decision: 'approve',
      comment: 'looks right',
      options: { breakGlassReason: 'outage' },
    },
  ]);
});

test('a standing approval reaches the service with its scope and duration; a revoke with the caller', async () => {
  const r = await call(
    'POST',
    '/kubegate/v1/requests/kg-aaaaaaaaaa/approve',
    bob,
    '{"standing":{"duration":"1h30m","scope":"rule"}}',
  );
  assert.equal(r.status, 200);
  assert.deepEqual(service.calls[0]?.options, { standing: { scope: 'rule', durationMs: 90 * 60_000 } });
  const revoked = await call('POST', '/kubegate/v1/requests/kg-aaaaaaaaaa/revoke', bob, '{}');
  assert.equal(revoked.status, 200);
  assert.deepEqual(service.revocations, [{ id: 'kg-aaaaaaaaaa', person: { user: 'bob', groups: ['sre'] } }]);
});

test('a denial reaches the service with its comment', async () => {
  const r = await call(
    'POST',
    '/kubegate/v1/requests/kg-aaaaaaaaaa/deny',
    bob,
    '{"comment":"not during the freeze"}',
  );
  assert.equal(r.status, 200);
  assert.deepEqual(
    service.calls.map((c) => [c.decision, c.comment, c.options]),
    [['deny', 'not during the freeze', {}]],
  );
});

interface RefusalRow {
  readonly name: string;
  readonly refusal: ReviewRefusal;
  readonly message: string;
  readonly code: number;
  readonly reason: string;
  readonly want: string;
}

const refusalRows: readonly RefusalRow[] = [
  {
    name: "the requester's own approval is forbidden, with the service's reason",
    refusal: 'own-request',
    message: 'you cannot approve your own request',
    code: 403,
    reason: 'Forbidden',
    want: 'you cannot approve your own request',
  },
  {
    name: "a non-approver's review is forbidden, in the service's words",
    refusal: 'not-an-approver',
    message: 'stage "approval" needs a member of group sre',
    code: 403,
    reason: 'Forbidden',
    want: 'stage "approval" needs a member of group sre',
  },
  {
    name: "a second review by the same person conflicts, in kubegate's words when the service gives none",
    refusal: 'already-reviewed',
    message: '',
    code: 409,
    reason: 'Conflict',
    want: 'you have already reviewed this request',
  },
  {
    name: 'a review of a decided request conflicts',
    refusal: 'not-pending',
    message: 'request kg-aaaaaaaaaa was already approved',
    code: 409,
    reason: 'Conflict',
    want: 'request kg-aaaaaaaaaa was already approved',
  },
  {
    name: 'break-glass where no rule allows it is forbidden',
    refusal: 'break-glass-not-allowed',
    message: '',
    code: 403,
    reason: 'Forbidden',
    want: 'no rule that matched this request allows break-glass approval',
  },
];

for (const row of refusalRows) {
  test(row.name, async () => {
    service.reviewAnswer = { ok: false, refusal: row.refusal, message: row.message };
    const r = await call('POST', '/kubegate/v1/requests/kg-aaaaaaaaaa/approve', alice, '{}');
    assert.equal(r.status, row.code);
    assert.equal(r.json.reason, row.reason);
    assert.equal(r.json.message, row.want);
    assert.deepEqual(r.json.details, { causes: [{ reason: row.refusal, message: row.want }] });
    assert.equal(r.headers['x-kubegate-error-code'], REFUSALS[row.refusal].code);
  });
}

test("every review refusal's code sends the service's word for it, which the CLI and the UI read", () => {
  for (const [refusal, { code }] of Object.entries(REFUSALS)) {
    assert.equal((ERROR_CODES[code] as { cause?: string }).cause, refusal, code);
  }
});

test("a store that is down answers with kubegate's Status for it", async () => {
  service.failure = new KubegateError('KG_AUDIT_UNAVAILABLE', 'the approval store is unavailable');
  const r = await call('GET', '/kubegate/v1/requests', bob);
  assert.equal(r.status, 503);
  assert.equal(r.json.reason, 'ServiceUnavailable');
  assert.deepEqual(bugs, []);
});

test('an unexpected failure is a 500 without its message, logged as a bug', async () => {
  service.failure = new TypeError('secret internals');
  const r = await call('GET', '/kubegate/v1/requests', bob);
  assert.equal(r.status, 500);
  assert.equal(r.json.reason, 'InternalError');
  assert.doesNotMatch(String(r.json.message), /secret internals/u);
  assert.equal(bugs.length, 1);
});

// ---- watch ----------------------------------------------------------------------------------

interface SseEvent {
  readonly event: string;
  readonly data: { type: string; pending: PendingRequest; review: unknown; url: string | null };
}

/** Reads server-sent events from a text stream; resolves `until` when its condition holds. */
function sseReader(source: NodeJS.ReadableStream) {
  let buffer = '';
  const events: SseEvent[] = [];
  let comments = 0;
  const waiters: { check: () => boolean; resolve: () => void }[] = [];
  source.setEncoding('utf8');
  source.on('data', (chunk: string) => {
    buffer += chunk;
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = '';
      let data = '';
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) comments++;
        else if (line.startsWith('event: ')) event = line.slice(7);
        else if (line.startsWith('data: ')) data = line.slice(6);
      }
      if (event !== '') events.push({ event, data: JSON.parse(data) as SseEvent['data'] });
    }
    for (const w of [...waiters]) {
      if (w.check()) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  });
  return {
    events,
    comments: () => comments,
    until(check: () => boolean): Promise<void> {
      if (check()) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ check, resolve }));
    },
  };
}

test('the watch streams an event per change the caller may see, and heartbeats, over HTTP/1.1', async () => {
  const res = await new Promise<IncomingMessage>((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        path: '/kubegate/v1/watch',
        headers: { 'x-test-user': 'bob', 'x-test-groups': 'sre' },
      },
      resolve,
    );
    req.on('error', reject);
    req.end();
  });
  assert.equal(res.statusCode, 200);
  assert.equal(res.headers['content-type'], 'text/event-stream; charset=utf-8');
  assert.equal(res.headers['cache-control'], 'no-store');
  const reader = sseReader(res);
  await reader.until(() => reader.comments() >= 1); // the opening comment: subscribed by now
  assert.equal(service.listeners.size, 1);
  service.emit({ type: 'created', pending: service.items.get('kg-cccccccccc')! }); // not bob's to see
  service.emit({ type: 'created', pending: service.items.get('kg-aaaaaaaaaa')! });
  await reader.until(() => reader.events.length >= 1);
  assert.equal(reader.events[0]!.event, 'created');
  assert.equal(reader.events[0]!.data.pending.id, 'kg-aaaaaaaaaa');
  assert.equal(reader.events[0]!.data.url, 'https://kubegate.example:8443/ui/requests/kg-aaaaaaaaaa');
  const before = reader.comments();
  await reader.until(() => reader.comments() > before); // a heartbeat (every 10 ms here)
  const gone = service.whenUnsubscribed();
  res.destroy();
  await gone;
  assert.equal(service.listeners.size, 0);
});

test('the watch works over HTTP/2', async () => {
  const session = http2Connect(`http://127.0.0.1:${h2port}`);
  try {
    const stream = session.request({
      ':path': '/kubegate/v1/watch',
      'x-test-user': 'bob',
      'x-test-groups': 'sre',
    });
    const [headers] = (await once(stream, 'response')) as [Record<string, string>];
    assert.equal(headers[':status'], 200);
    assert.equal(headers['content-type'], 'text/event-stream; charset=utf-8');
    const reader = sseReader(stream);
    await reader.until(() => reader.comments() >= 1);
    const review = {
      reviewer: 'bob',
      reviewerGroups: ['sre'],
      decision: 'approve' as const,
      comment: '',
      at: '2026-11-25T10:01:00.000Z',
      breakGlass: false,
    };
    service.emit({ type: 'reviewed', pending: service.items.get('kg-aaaaaaaaaa')!, review });
    await reader.until(() => reader.events.length >= 1);
    assert.equal(reader.events[0]!.event, 'reviewed');
    assert.deepEqual(reader.events[0]!.data.review, review);
    const gone = service.whenUnsubscribed();
    stream.close();
    await gone;
  } finally {
    session.close();
  }
});

test('closing the API ends open watches', async () => {
  const res = await new Promise<IncomingMessage>((resolve, reject) => {
    const req = httpRequest(
      { host: '127.0.0.1', port, path: '/kubegate/v1/watch', headers: { 'x-test-user': 'bob' } },
      resolve,
    );
    req.on('error', reject);
    req.end();
  });
  const ended = once(res, 'end');
  res.resume();
  api.close();
  await ended;
});

test('a watch ends, sending nothing more, once the credential that opened it is no longer valid', async () => {
  const res = await new Promise<IncomingMessage>((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        path: '/kubegate/v1/watch',
        headers: { 'x-test-user': 'bob', 'x-test-groups': 'sre', 'x-test-checked': '1' },
      },
      resolve,
    );
    req.on('error', reject);
    req.end();
  });
  const reader = sseReader(res);
  const ended = once(res, 'end');
  await reader.until(() => reader.comments() >= 1);
  service.emit({ type: 'created', pending: service.items.get('kg-aaaaaaaaaa')! });
  await reader.until(() => reader.events.length >= 1);
  credentialValid = false;
  const gone = service.whenUnsubscribed();
  service.emit({ type: 'escalated', pending: service.items.get('kg-aaaaaaaaaa')! });
  await ended;
  await gone;
  assert.deepEqual(
    reader.events.map((e) => e.event),
    ['created'],
  );
});

const JWT =
  'eyJhbGciOiJSUzI1NiIsImtpZCI6IngifQ.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6cHJvZDpidWlsZGVyIn0.c2lnbmF0dXJl';

test('a context stored unredacted (by an older kubegate) is redacted on its way out: GET and the watch', async () => {
  const leaky = pendingRequest('kg-dddddddddd', {
    request: {
      ...pendingRequest('x').request,
      method: 'POST',
      path: '/api/v1/namespaces/prod/serviceaccounts/builder/token',
      verb: 'create',
      apiGroup: '',
      resource: 'serviceaccounts',
      subresource: 'token',
      name: 'builder',
    },
    context: {
      targetLabels: {},
      dryRun: {
        status: 201,
        object: { kind: 'TokenRequest', status: { token: JWT, expirationTimestamp: 'soon' } },
        message: null,
      },
      diff: `+status:\n+  token: ${JWT}\n`,
      objects: null,
      exec: null,
      notes: [],
    },
  });
  service.items.set(leaky.id, leaky);
  const r = await call('GET', `/kubegate/v1/requests/${leaky.id}`, bob);
  assert.equal(r.status, 200);
  assert.ok(!JSON.stringify(r.json).includes(JWT), 'GET shows no token');
  assert.match(JSON.stringify(r.json), /\(redacted [0-9a-f]{12}\)/u);

  const res = await new Promise<IncomingMessage>((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        path: '/kubegate/v1/watch',
        headers: { 'x-test-user': 'bob', 'x-test-groups': 'sre' },
      },
      resolve,
    );
    req.on('error', reject);
    req.end();
  });
  const reader = sseReader(res);
  await reader.until(() => reader.comments() >= 1);
  service.emit({ type: 'context', pending: leaky });
  await reader.until(() => reader.events.length >= 1);
  assert.ok(!JSON.stringify(reader.events).includes(JWT), 'the watch shows no token');
  const gone = service.whenUnsubscribed();
  res.destroy();
  await gone;
});

test("/kubegate/v1/reason: the caller's next reason is set, read, bounded and cleared, for them alone", async () => {
  const kept = new Map<string, { text: string; setAt: number; expiresAt: number }>();
  const now = Date.parse('2026-12-04T10:00:00.000Z');
  api.close();
  api = createReviewerApi({
    approvals: service,
    publicUrl: null,
    log: { error: () => undefined, warn: () => undefined, debug: () => undefined } as never,
    now: () => now,
    reasons: {
      set: (user, reason) => Promise.resolve(void kept.set(user, reason)),
      get: (user, at) => {
        const r = kept.get(user);
        return Promise.resolve(r !== undefined && r.expiresAt > at ? r : null);
      },
      clear: (user) => Promise.resolve(void kept.delete(user)),
    },
  });
  let r = await call('GET', '/kubegate/v1/reason', alice);
  assert.deepEqual(r.json, {
    kind: 'NextReason',
    apiVersion: 'kubegate.dev/v1',
    reason: null,
    expiresAt: null,
  });
  r = await call('PUT', '/kubegate/v1/reason', alice, JSON.stringify({ reason: '  INC-1 <i>x</i> ' }));
  assert.equal(r.status, 200);
  assert.equal(r.json.reason, 'INC-1 <i>x</i>');
  assert.equal(r.json.expiresAt, '2026-12-04T10:15:00.000Z', '15 minutes by default');
  r = await call('PUT', '/kubegate/v1/reason', alice, JSON.stringify({ reason: 'INC-2', ttlSeconds: 3600 }));
  assert.equal(r.json.expiresAt, '2026-12-04T11:00:00.000Z');
  r = await call('GET', '/kubegate/v1/reason', bob);
  assert.equal(r.json.reason, null, "alice's reason is not bob's");
  for (const body of [
    { reason: 'x', ttlSeconds: 0 },
    { reason: 'x', ttlSeconds: 86_401 },
    { reason: 'x', ttlSeconds: 1.5 },
    { reason: 'x'.repeat(501) },
    { reason: 'a\u2028b' },
    { reason: 'x', other: 1 },
  ]) {
    r = await call('PUT', '/kubegate/v1/reason', alice, JSON.stringify(body));
    assert.equal(r.status, 400, JSON.stringify(body));
    assert.equal(r.headers['x-kubegate-error-code'], 'KG_API_BAD_REQUEST');
  }
  assert.equal(kept.get('alice')?.text, 'INC-2', 'a refused reason changes nothing');
  r = await call('DELETE', '/kubegate/v1/reason', alice);
  assert.equal(r.json.reason, null);
  r = await call('POST', '/kubegate/v1/reason', alice, '{}');
  assert.equal(r.status, 405);
});

test('/kubegate/v1/reason is not offered without a place for reasons; a request page reason needs the service', async () => {
  let r = await call('GET', '/kubegate/v1/reason', alice);
  assert.equal(r.status, 404);
  r = await call(
    'POST',
    '/kubegate/v1/requests/kg-aaaaaaaaaa/reason',
    alice,
    JSON.stringify({ reason: 'ok' }),
  );
  assert.equal(r.status, 404, 'this fake service keeps no reasons');
  r = await call('POST', '/kubegate/v1/requests/kg-aaaaaaaaaa/reason', alice, JSON.stringify({ reason: '' }));
  assert.equal(r.status, 400, 'the text is checked first');
});
