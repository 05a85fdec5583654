import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { ApproveDecision } from '../policy/decision.js';
import { withBody } from '../request/body.js';
import { parseRequest } from '../request/parse.js';
import { refusalMessage } from '../approvals/messages.js';
import { applyReview, createPending } from '../approvals/state-machine.js';
import type { ApprovalService, PendingRequest } from '../approvals/types.js';
import {
  createSlackInteractivity,
  SLACK_INTERACTIVITY_PATH,
  type SlackInteractivity,
} from './interactivity.js';
import { createSlackPeople } from './people.js';
import { slackSignature } from './signature.js';

const SECRET = 'test-signing-secret-3f0c9e1d7a';
const BOT_TOKEN = 'xoxb-test-bot-token';
const ID = 'kg-7x2k9q4m1a';
const T0 = new Date('2026-12-04T10:00:00.000Z');

/** A loopback server recording each request (JSON bodies), answering `answer(req)`. */
class Recorder {
  readonly received: { url: string; headers: IncomingMessage['headers']; body: unknown }[] = [];
  readonly server: Server;
  constructor(answer: (url: string) => object = () => ({ ok: true })) {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        this.received.push({
          url: req.url ?? '',
          headers: req.headers,
          body: text === '' ? null : JSON.parse(text),
        });
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer(req.url ?? '')));
      });
    });
  }
  async listen(): Promise<string> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }
  async close(): Promise<void> {
    this.server.closeAllConnections();
    this.server.close();
    await once(this.server, 'close');
  }
}

/** Approvals as the service decides them (the pure state machine), in memory. */
class FakeApprovals implements Pick<ApprovalService, 'review' | 'get'> {
  readonly byId = new Map<string, PendingRequest>();
  readonly calls: {
    id: string;
    user: string;
    groups: readonly string[];
    decision: string;
    comment: string;
  }[] = [];
  get(id: string) {
    return Promise.resolve(this.byId.get(id) ?? null);
  }
  review(
    id: string,
    reviewer: { user: string; groups: readonly string[] },
    decision: 'approve' | 'deny',
    comment: string,
  ): ReturnType<ApprovalService['review']> {
    this.calls.push({ id, user: reviewer.user, groups: reviewer.groups, decision, comment });
    const p = this.byId.get(id);
    if (p === undefined)
      return Promise.resolve({ ok: false, refusal: 'not-found', message: refusalMessage('not-found', id) });
    const r = applyReview(p, { reviewer, decision, comment }, T0);
    if (!r.ok)
      return Promise.resolve({ ok: false, refusal: r.refusal, message: refusalMessage(r.refusal, id) });
    this.byId.set(id, r.pending);
    return Promise.resolve({ ok: true, pending: r.pending });
  }
}

function pending(): PendingRequest {
  const request = parseRequest({
    method: 'DELETE',
    target: '/apis/apps/v1/namespaces/prod/statefulsets/db',
    headers: {},
  });
  const decision: ApproveDecision = {
    kind: 'approve',
    rules: [{ name: 'statefulsets-need-two', action: 'approve' }],
    byDefault: false,
    approval: [
      {
        rule: 'statefulsets-need-two',
        stages: [{ name: 'approval', approvers: [{ kind: 'group', name: 'sre' }], count: 2 }],
        escalateAfterMs: null,
        escalateTo: [],
        expiresAfterMs: null,
        mode: 'hold',
        grantTtlMs: null,
        breakGlass: false,
      },
    ],
  };
  return createPending(
    {
      identity: { user: 'alice', groups: ['dev'], method: 'token' },
      request,
      body: withBody(request, Buffer.alloc(0)),
      decision,
    },
    'f'.repeat(64),
    ID,
    T0,
  );
}

const logs: { level: string; fields: object; message: string }[] = [];
const log = {
  info: (fields: object, message: string) => logs.push({ level: 'info', fields, message }),
  warn: (fields: object, message: string) => logs.push({ level: 'warn', fields, message }),
  error: (fields: object, message: string) => logs.push({ level: 'error', fields, message }),
};

let approvals: FakeApprovals;
let slack: SlackInteractivity;
let server: Server;
let endpoint: string;
const responses = new Recorder();
const slackApi = new Recorder((url) =>
  url.includes('U0CAROL002')
    ? { ok: true, user: { id: 'U0CAROL002', profile: { email: 'Carol@Example.com' } } }
    : { ok: true, user: { id: 'U0STRANGER', profile: { email: 'mallory@example.com' } } },
);
let responseUrl: string;
let nowMs = T0.getTime();

/** slack.teamIds; a test sets it and empties it again. */
const teamIds: string[] = [];

before(async () => {
  responseUrl = `${await responses.listen()}/actions/T0KUBEGATE/1232321423432/D09sSasdasdAS9091209`;
  const apiUrl = `${await slackApi.listen()}/api`;
  slack = createSlackInteractivity({
    signingSecret: SECRET,
    teamIds,
    people: createSlackPeople({
      users: [
        { slackUserId: 'U0BOBSRE01', user: 'bob', groups: ['sre'] },
        { slackUserId: 'U0ERINSRE1', user: 'erin', groups: ['sre'] },
        { slackUserId: 'U0ALICE001', user: 'alice', groups: ['dev', 'sre'] },
        { email: 'carol@example.com', user: 'carol', groups: ['sre'] },
      ],
      lookup: { apiUrl, botToken: BOT_TOKEN },
      log,
    }),
    approvals: {
      review: (id, reviewer, decision, comment) => approvals.review(id, reviewer, decision, comment),
      get: (id) => approvals.get(id),
    },
    publicUrl: 'https://kubegate.example.com',
    message: { interactive: true },
    log,
    now: () => new Date(nowMs),
  });
  server = createServer((req, res) => {
    slack.handle(req, res).catch((err: unknown) => res.writeHead(500).end(String(err)));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}${SLACK_INTERACTIVITY_PATH}`;
});

after(async () => {
  server.closeAllConnections();
  server.close();
  await responses.close();
  await slackApi.close();
});

function reset(): void {
  approvals = new FakeApprovals();
  approvals.byId.set(ID, pending());
  responses.received.length = 0;
  logs.length = 0;
  nowMs += 10_000; // a fresh second: a new signature each test
}

const fixture = (name: string, fields: Record<string, unknown> = {}): string => {
  const payload = JSON.parse(readFileSync(join(import.meta.dirname, 'testdata', name), 'utf8')) as Record<
    string,
    unknown
  >;
  return new URLSearchParams({
    payload: JSON.stringify({ ...payload, response_url: responseUrl, ...fields }),
  }).toString();
};

async function post(
  body: string,
  opts: { secret?: string; timestamp?: number; signature?: string } = {},
): Promise<{ status: number; text: string }> {
  const timestamp = String(opts.timestamp ?? Math.floor(nowMs / 1000));
  const res = await fetch(endpoint, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-slack-request-timestamp': timestamp,
      'x-slack-signature': opts.signature ?? slackSignature(opts.secret ?? SECRET, timestamp, body),
    },
    body,
  });
  const text = await res.text();
  await slack.idle();
  return { status: res.status, text };
}

const noSecretLogged = () => {
  const all = JSON.stringify(logs);
  assert.ok(!all.includes(SECRET) && !all.includes(BOT_TOKEN), 'no secret in the log');
  assert.ok(!all.includes('D09sSasdasdAS9091209'), 'no response_url path in the log');
};

test('a signed Approve from a known SRE is a review by bob; the message is replaced with the outcome, buttons kept while more are needed', async () => {
  reset();
  const r = await post(fixture('block-actions-approve.json'));
  assert.equal(r.status, 200);
  assert.deepEqual(approvals.calls, [
    { id: ID, user: 'bob', groups: ['sre'], decision: 'approve', comment: 'via Slack (U0BOBSRE01)' },
  ]);
  assert.equal(approvals.byId.get(ID)?.reviews.length, 1);
  assert.equal(responses.received.length, 1);
  const update = responses.received[0]!.body as {
    replace_original: boolean;
    text: string;
    blocks: { type: string }[];
  };
  assert.equal(update.replace_original, true);
  assert.match(update.text, /^Approved by bob: kg-7x2k9q4m1a/);
  assert.match(JSON.stringify(update.blocks), /1 more of group sre \(approved so far by bob\)/);
  assert.ok(
    update.blocks.some((b) => b.type === 'actions'),
    'still pending: the buttons stay',
  );
  noSecretLogged();
});

test('the second SRE’s Approve decides it: the replaced message says approved and has no buttons', async () => {
  reset();
  assert.equal((await post(fixture('block-actions-approve.json'))).status, 200);
  nowMs += 1000;
  const erin = fixture('block-actions-approve.json', {
    user: { id: 'U0ERINSRE1', username: 'erin', team_id: 'T0KUBEGATE' },
  });
  assert.equal((await post(erin)).status, 200);
  assert.equal(approvals.byId.get(ID)?.state, 'approved');
  const last = responses.received.at(-1)!.body as { text: string; blocks: { type: string }[] };
  assert.match(last.text, /^Approved by erin/);
  assert.ok(!last.blocks.some((b) => b.type === 'actions'));
  assert.match(JSON.stringify(last.blocks), /State: approved/);
});

test('a wrong signature is refused with 401 and changes nothing', async () => {
  reset();
  const r = await post(fixture('block-actions-approve.json'), { secret: 'not-the-secret' });
  assert.equal(r.status, 401);
  assert.equal(approvals.calls.length, 0);
  assert.equal(responses.received.length, 0);
  assert.ok(
    logs.some(
      (l) =>
        l.message === 'slack request refused: signature' &&
        (l.fields as { refusal?: string }).refusal === 'mismatch',
    ),
  );
  noSecretLogged();
});

test('a body changed after signing is refused', async () => {
  reset();
  const body = fixture('block-actions-approve.json');
  const timestamp = Math.floor(nowMs / 1000);
  const signature = slackSignature(SECRET, String(timestamp), body);
  const r = await post(fixture('block-actions-deny.json'), { timestamp, signature });
  assert.equal(r.status, 401);
  assert.equal(approvals.calls.length, 0);
});

test('a correctly signed request older than five minutes is refused as stale', async () => {
  reset();
  const r = await post(fixture('block-actions-approve.json'), { timestamp: Math.floor(nowMs / 1000) - 301 });
  assert.equal(r.status, 401);
  assert.equal(approvals.calls.length, 0);
  assert.ok(logs.some((l) => (l.fields as { refusal?: string }).refusal === 'stale'));
});

test('the same signed request sent again is refused as a replay; the review happened once', async () => {
  reset();
  const body = fixture('block-actions-approve.json');
  const timestamp = Math.floor(nowMs / 1000);
  assert.equal((await post(body, { timestamp })).status, 200);
  nowMs += 30_000;
  assert.equal((await post(body, { timestamp })).status, 401);
  assert.equal(approvals.calls.length, 1);
  assert.ok(logs.some((l) => (l.fields as { refusal?: string }).refusal === 'replay'));
});

test('an unknown Slack user is refused with 403 and told privately what to do; nothing is reviewed', async () => {
  reset();
  const body = fixture('block-actions-approve.json', { user: { id: 'U0STRANGER', username: 'mallory' } });
  const r = await post(body);
  assert.equal(r.status, 403);
  assert.equal(approvals.calls.length, 0);
  const reply = responses.received[0]?.body as {
    response_type: string;
    replace_original: boolean;
    text: string;
  };
  assert.equal(reply.response_type, 'ephemeral');
  assert.equal(reply.replace_original, false);
  assert.match(reply.text, /does not know your Slack account \(U0STRANGER\)/);
  assert.match(reply.text, /slack\.users/);
  assert.match(reply.text, /kubegate requests approve kg-7x2k9q4m1a/);
  assert.ok(logs.some((l) => l.message === 'slack request refused: unknown Slack user'));
});

test('the requester cannot approve their own request from Slack: the service refuses, they are told privately', async () => {
  reset();
  const body = fixture('block-actions-approve.json', { user: { id: 'U0ALICE001', username: 'alice' } });
  const r = await post(body);
  assert.equal(r.status, 200, 'Slack is told it was received; the refusal is the message');
  assert.equal(approvals.byId.get(ID)?.reviews.length, 0);
  const reply = responses.received[0]?.body as { response_type: string; text: string };
  assert.equal(reply.response_type, 'ephemeral');
  assert.equal(reply.text, refusalMessage('own-request', ID));
});

test('an email entry: users.info (bot token, configured API URL) gives the profile email, matched without case', async () => {
  reset();
  slackApi.received.length = 0;
  const r = await post(fixture('block-actions-deny.json'));
  assert.equal(r.status, 200);
  assert.deepEqual(
    approvals.calls.map((c) => [c.user, c.decision]),
    [['carol', 'deny']],
  );
  assert.equal(approvals.byId.get(ID)?.state, 'denied');
  assert.equal(slackApi.received.length, 1);
  assert.equal(slackApi.received[0]!.url, '/api/users.info?user=U0CAROL002');
  assert.equal(slackApi.received[0]!.headers.authorization, `Bearer ${BOT_TOKEN}`);
  const update = responses.received[0]!.body as { text: string };
  assert.match(update.text, /^Denied by carol/);
  noSecretLogged();
});

test('an email users.info gives that no entry lists is an unknown user', async () => {
  reset();
  const body = fixture('block-actions-approve.json', { user: { id: 'U0STRANGER', username: 'mallory' } });
  assert.equal((await post(body)).status, 403);
  assert.equal(approvals.calls.length, 0);
});

test('a press on a request decided meanwhile: the presser is told, and the message shows its state now', async () => {
  reset();
  const decided = applyReview(
    pending(),
    { reviewer: { user: 'erin', groups: ['sre'] }, decision: 'deny', comment: '' },
    T0,
  );
  assert.ok(decided.ok);
  approvals.byId.set(ID, decided.pending);
  assert.equal((await post(fixture('block-actions-approve.json'))).status, 200);
  const bodies = responses.received.map(
    (r) => r.body as { response_type?: string; replace_original: boolean; text: string },
  );
  assert.equal(bodies.length, 2);
  assert.ok(bodies.some((b) => b.response_type === 'ephemeral'));
  assert.ok(bodies.some((b) => b.replace_original && /^Denied by erin/.test(b.text)));
});

test('only POST is served', async () => {
  await assert.rejects(
    slack.handle({ method: 'GET', headers: {} } as never, {} as never),
    (err: { code?: string }) => err.code === 'KG_API_METHOD',
  );
});

test('with slack.teamIds, a configured user pressing from another workspace (a shared channel) is refused', async () => {
  reset();
  teamIds.push('T0KUBEGATE');
  try {
    const guest = fixture('block-actions-approve.json', {
      user: { id: 'U0BOBSRE01', username: 'bob', team_id: 'T0OTHERORG' },
    });
    const r = await post(guest);
    assert.equal(r.status, 403);
    assert.equal(approvals.calls.length, 0);
    assert.ok(logs.some((l) => l.message === 'slack request refused: another workspace'));
    nowMs += 1000;
    assert.equal((await post(fixture('block-actions-approve.json'))).status, 200, 'a member is served');
    assert.equal(approvals.calls.length, 1);
  } finally {
    teamIds.length = 0;
  }
});
