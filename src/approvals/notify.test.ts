import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import type { ApprovalRequirement, ApproveDecision } from '../policy/decision.js';
import { withBody } from '../request/body.js';
import { parseRequest } from '../request/parse.js';
import { createNotifier, type NotifierOptions, type WebhookConfig } from './notify.js';
import { applyReview, createPending } from './state-machine.js';
import type { ApprovalEvent, PendingRequest } from './types.js';

const T0 = new Date('2026-11-25T10:00:00.000Z');
const ID = 'kg-7x2k9q4m1a';

interface Received {
  readonly method: string;
  readonly url: string;
  readonly contentType: string | undefined;
  readonly body: unknown;
}

/** A loopback webhook: answers each request with the next status (the last one repeats). */
class Hook {
  readonly received: Received[] = [];
  statuses: number[] = [200];
  hold: Promise<void> | null = null;
  readonly server: Server;
  constructor() {
    this.server = createServer((req, res) => void this.#handle(req, res));
  }
  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    this.received.push({
      method: req.method ?? '',
      url: req.url ?? '',
      contentType: req.headers['content-type'],
      body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown,
    });
    this.server.emit('received');
    if (this.hold) await this.hold;
    const status =
      this.statuses.length > 1 ? (this.statuses.shift() as number) : (this.statuses[0] as number);
    res.writeHead(status, { 'content-type': 'text/plain' }).end(status === 200 ? 'ok' : 'nope');
  }
  async listen(): Promise<string> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/services/T000/B000/secret-token`;
  }
  async close(): Promise<void> {
    this.server.closeAllConnections();
    this.server.close();
    await once(this.server, 'close');
  }
}

class Log {
  readonly entries: { level: 'warn' | 'error'; fields: Record<string, unknown>; message: string }[] = [];
  warn(fields: object, message: string): void {
    this.entries.push({ level: 'warn', fields: fields as Record<string, unknown>, message });
  }
  error(fields: object, message: string): void {
    this.entries.push({ level: 'error', fields: fields as Record<string, unknown>, message });
  }
}

function requirement(fields: Partial<ApprovalRequirement> = {}): ApprovalRequirement {
  return {
    rule: 'statefulsets-need-two',
    stages: [{ name: 'approval', approvers: [{ kind: 'group', name: 'sre' }], count: 2 }],
    escalateAfterMs: null,
    escalateTo: [],
    expiresAfterMs: null,
    mode: 'hold',
    grantTtlMs: null,
    breakGlass: true,
    ...fields,
  };
}

function pending(name = 'db'): PendingRequest {
  const request = parseRequest({
    method: 'DELETE',
    target: `/apis/apps/v1/namespaces/prod/statefulsets/${encodeURIComponent(name)}`,
    headers: {},
  });
  const decision: ApproveDecision = {
    kind: 'approve',
    rules: [{ name: 'statefulsets-need-two', action: 'approve' }],
    byDefault: false,
    approval: [requirement()],
  };
  const p = createPending(
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
  return {
    ...p,
    context: {
      targetLabels: null,
      dryRun: { status: 200, object: { data: { password: 'c2VjcmV0' } }, message: null },
      diff: null,
      objects: null,
      exec: null,
      notes: [],
    },
  };
}

const created = (p = pending()): ApprovalEvent => ({ type: 'created', pending: p });

function breakGlassed(): { reviewed: ApprovalEvent; decided: ApprovalEvent } {
  const r = applyReview(
    pending(),
    {
      reviewer: { user: 'alice', groups: ['dev'] },
      decision: 'approve',
      comment: '',
      breakGlassReason: 'INC-42 <!channel>',
    },
    T0,
  );
  assert.ok(r.ok);
  return {
    reviewed: { type: 'reviewed', pending: r.pending, review: r.review },
    decided: { type: 'decided', pending: r.pending },
  };
}

async function withHook(
  webhook: Omit<WebhookConfig, 'url'>,
  extra: Partial<NotifierOptions>,
  body: (
    hook: Hook,
    notifier: ReturnType<typeof createNotifier>,
    log: Log,
    delays: number[],
  ) => Promise<void>,
): Promise<void> {
  const hook = new Hook();
  const url = await hook.listen();
  const log = new Log();
  const delays: number[] = [];
  const notifier = createNotifier({
    webhooks: [{ url, ...webhook }],
    publicUrl: 'https://kubegate.example.com',
    log,
    backoffMs: 100,
    sleep: (ms) => {
      delays.push(ms);
      return Promise.resolve();
    },
    now: () => T0,
    ...extra,
  });
  try {
    await body(hook, notifier, log, delays);
  } finally {
    await notifier.close();
    await hook.close();
  }
}

test('generic: a JSON POST with the event, a link to the request, and no reviewer context', async () => {
  await withHook({ format: 'generic' }, {}, async (hook, notify) => {
    notify(created());
    await notify.idle();
    assert.equal(hook.received.length, 1);
    const got = hook.received[0] as Received;
    assert.equal(got.method, 'POST');
    assert.equal(got.contentType, 'application/json');
    const body = got.body as Record<string, unknown>;
    assert.equal(body['type'], 'created');
    assert.equal(body['id'], ID);
    assert.equal(body['url'], `https://kubegate.example.com/ui/requests/${ID}`);
    assert.equal(body['breakGlass'], false);
    assert.match(String(body['needs']), /2 of group sre/);
    assert.equal((body['pending'] as Record<string, unknown>)['id'], ID);
    assert.ok(!JSON.stringify(body).includes('c2VjcmV0'), 'the dry run (context) is never sent');
  });
});

test('slack: an incoming-webhook payload with text, blocks and the link; names cannot inject markup', async () => {
  await withHook({ format: 'slack' }, {}, async (hook, notify) => {
    notify(created(pending('<!channel>')));
    await notify.idle();
    const body = hook.received[0]?.body as { text: string; blocks: { type: string }[] };
    assert.match(
      body.text,
      /^Approval requested: alice wants .* \(kg-7x2k9q4m1a\) <https:\/\/kubegate\.example\.com\/ui\/requests\/kg-7x2k9q4m1a\|open>$/,
    );
    const json = JSON.stringify(body.blocks);
    assert.ok(body.blocks.some((b) => b.type === 'rich_text'));
    assert.match(json, /rich_text_preformatted/);
    assert.match(json, /kubectl delete statefulset/);
    assert.match(json, /Open kg-7x2k9q4m1a/);
    // The object name appears only in plain_text / rich_text, never as mrkdwn.
    for (const block of body.blocks as { type: string; text?: { type: string; text: string } }[]) {
      if (block.text?.type === 'mrkdwn') assert.ok(!block.text.text.includes('<!channel>'));
    }
    assert.ok(!body.text.includes('<!channel>'));
  });
});

test('a webhook that fails twice then succeeds gets the notification on the third attempt, with backoff', async () => {
  await withHook({ format: 'generic' }, {}, async (hook, notify, log, delays) => {
    hook.statuses = [500, 503, 200];
    notify(created());
    await notify.idle();
    assert.equal(hook.received.length, 3);
    assert.deepEqual(delays, [100, 200]);
    assert.deepEqual(
      log.entries.map((e) => [e.level, e.message, e.fields['status']]),
      [
        ['warn', 'notification failed; retrying', 500],
        ['warn', 'notification failed; retrying', 503],
      ],
    );
  });
});

test('a webhook that keeps failing is tried five times, then logged by origin only', async () => {
  await withHook({ format: 'slack' }, {}, async (hook, notify, log, delays) => {
    hook.statuses = [502];
    notify(created());
    await notify.idle();
    assert.equal(hook.received.length, 5);
    assert.deepEqual(delays, [100, 200, 400, 800]);
    const last = log.entries.at(-1);
    assert.equal(last?.level, 'error');
    assert.equal(last?.message, 'notification failed; giving up');
    assert.match(String(last?.fields['webhook']), /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.ok(!JSON.stringify(log.entries).includes('secret-token'));
  });
});

test('a webhook that refuses the payload (4xx) is not retried', async () => {
  await withHook({ format: 'generic' }, {}, async (hook, notify, log) => {
    hook.statuses = [404];
    notify(created());
    await notify.idle();
    assert.equal(hook.received.length, 1);
    assert.equal(log.entries[0]?.message, 'notification refused by the webhook');
  });
});

test('an unreachable webhook is retried and given up without throwing', async () => {
  const hook = new Hook();
  const url = await hook.listen();
  await hook.close();
  const log = new Log();
  const notify = createNotifier({
    webhooks: [{ url, format: 'generic' }],
    log,
    attempts: 2,
    sleep: () => Promise.resolve(),
  });
  notify(created());
  await notify.idle();
  await notify.close();
  assert.deepEqual(
    log.entries.map((e) => e.message),
    ['notification failed; retrying', 'notification failed; giving up'],
  );
});

test('notifying never blocks: the call returns while the webhook is still answering; order is kept', async () => {
  await withHook({ format: 'generic' }, {}, async (hook, notify) => {
    let release = (): void => undefined;
    hook.hold = new Promise((resolve) => (release = resolve));
    const arrived = once(hook.server, 'received');
    const first = created();
    const second: ApprovalEvent = { type: 'expired', pending: { ...first.pending, state: 'expired' } };
    notify(first);
    notify(second);
    await arrived;
    assert.equal(hook.received.length, 1);
    release();
    await notify.idle();
    assert.deepEqual(
      hook.received.map((r) => (r.body as { type: string }).type),
      ['created', 'expired'],
    );
  });
});

test('default events: reviews, grants and context are not sent; a break-glass approval always is, once', async () => {
  await withHook({ format: 'generic', events: ['created'] }, {}, async (hook, notify) => {
    const p = pending();
    const r = applyReview(
      p,
      { reviewer: { user: 'bob', groups: ['sre'] }, decision: 'approve', comment: '' },
      T0,
    );
    assert.ok(r.ok);
    notify({ type: 'reviewed', pending: r.pending, review: r.review });
    notify({ type: 'context', pending: p });
    notify({ type: 'granted', pending: p });
    notify({ type: 'escalated', pending: p });
    const bg = breakGlassed();
    notify(bg.reviewed);
    notify(bg.decided);
    await notify.idle();
    assert.equal(hook.received.length, 1);
    const body = hook.received[0]?.body as Record<string, unknown>;
    assert.equal(body['type'], 'reviewed');
    assert.equal(body['breakGlass'], true);
    assert.equal(body['text'], `BREAK-GLASS: alice approved their own request ${ID}`);
  });
});

test('slack: a break-glass notice carries the reason as plain text', async () => {
  await withHook({ format: 'slack' }, {}, async (hook, notify) => {
    notify(breakGlassed().reviewed);
    await notify.idle();
    const body = hook.received[0]?.body as { text: string; blocks: unknown[] };
    assert.match(body.text, /^:rotating_light: BREAK-GLASS: alice approved their own request/);
    assert.match(
      JSON.stringify(body.blocks),
      /"type":"plain_text","text":"Reason from alice: INC-42 <!channel>"/,
    );
  });
});

test('closing aborts a delivery in flight and drops the queue, saying so', async () => {
  await withHook({ format: 'generic' }, {}, async (hook, notify, log) => {
    hook.hold = new Promise(() => undefined); // never answers
    const arrived = once(hook.server, 'received');
    notify(created());
    notify(created());
    await arrived;
    await notify.close();
    assert.deepEqual(
      log.entries.map((e) => [e.message, e.fields['dropped']]),
      [
        ['notification abandoned at shutdown', undefined],
        ['notifications dropped at shutdown', 1],
      ],
    );
    notify(created());
    await notify.idle();
    assert.equal(hook.received.length, 1);
  });
});

test('without a public URL the notification points at the CLI', async () => {
  await withHook({ format: 'slack' }, { publicUrl: null }, async (hook, notify) => {
    notify(created());
    await notify.idle();
    const body = hook.received[0]?.body as { text: string };
    assert.ok(!body.text.includes('http'));
    assert.match(JSON.stringify(hook.received[0]?.body), /kubegate requests show kg-7x2k9q4m1a/);
  });
});

const withRequester = (p: PendingRequest, user: string): PendingRequest => ({
  ...p,
  requester: { ...p.requester, user },
});

test('generic: the requester is a recipient, with the approvers of the open stage and how to follow the request', async () => {
  await withHook({ format: 'generic' }, {}, async (hook, notify) => {
    notify(created());
    await notify.idle();
    const body = hook.received[0]?.body as Record<string, unknown>;
    assert.deepEqual(body['recipients'], {
      requester: { user: 'alice', groups: ['dev'], email: null },
      approvers: ['group:sre'],
    });
    assert.equal(
      body['requesterText'],
      `your command is waiting for approval as ${ID}; it carries on by itself once approved. Follow it with \`kubegate requests wait ${ID}\`.`,
    );
  });
});

test('generic: a requester whose user name is an email address (OIDC email claim) is given that email', async () => {
  await withHook({ format: 'generic' }, {}, async (hook, notify) => {
    notify(created(withRequester(pending(), 'alice@example.com')));
    await notify.idle();
    const recipients = (hook.received[0]?.body as { recipients: { requester: { email: string | null } } })
      .recipients;
    assert.equal(recipients.requester.email, 'alice@example.com');
  });
});

test('requester text: deferred means re-run; a decided request says what became of the command', async () => {
  await withHook({ format: 'generic', events: ['created', 'decided'] }, {}, async (hook, notify) => {
    const deferred: PendingRequest = { ...pending(), mode: 'deferred' };
    notify(created(deferred));
    const held = pending();
    const approved: PendingRequest = { ...held, state: 'approved' };
    notify({ type: 'decided', pending: approved });
    notify({ type: 'decided', pending: { ...approved, requesterLeftAt: T0.toISOString() } });
    notify({ type: 'decided', pending: { ...held, state: 'denied' } });
    await notify.idle();
    assert.deepEqual(
      hook.received.map((r) => (r.body as { requesterText: string | null }).requesterText),
      [
        `your request ${ID} was recorded, not sent; once it is approved, run the same command again. Follow it with \`kubegate requests wait ${ID}\`.`,
        `${ID} was approved; your waiting command carries on.`,
        `${ID} was approved; run the same command again now, it goes through once.`,
        `${ID} was denied; your command was not sent.`,
      ],
    );
  });
});

interface SlackBody {
  text: string;
  blocks: {
    type: string;
    text?: { type: string; text: string };
    elements?: { type: string; action_id: string; value: string; style: string }[];
  }[];
}

test('slack: a line addressed to the requester, with the wait command and the link; their name cannot inject markup', async () => {
  await withHook({ format: 'slack' }, {}, async (hook, notify) => {
    notify(created(withRequester(pending(), '<!channel>')));
    await notify.idle();
    const body = hook.received[0]?.body as SlackBody;
    const line = body.blocks.find((b) => b.text?.text.includes('kubegate requests wait'));
    assert.ok(line, 'a requester line');
    assert.equal(line.text?.type, 'mrkdwn');
    assert.equal(
      line.text?.text,
      `*&lt;!channel&gt;*: your command is waiting for approval as ${ID}; it carries on by itself once approved. Follow it with \`kubegate requests wait ${ID}\`.  <https://kubegate.example.com/ui/requests/${ID}|Open ${ID}>`,
    );
  });
});

test('slack: the requester is mentioned by their configured Slack id; anything else is not taken as an id', async () => {
  const ids: Record<string, string> = { alice: 'U0ALICE001', mallory: '!channel' };
  await withHook(
    { format: 'slack' },
    { slack: { slackIdOf: (user) => ids[user] ?? null } },
    async (hook, notify) => {
      notify(created());
      notify(created(withRequester(pending(), 'mallory')));
      await notify.idle();
      const lines = hook.received.map((r) =>
        (r.body as SlackBody).blocks.map((b) => b.text?.text ?? '').find((t) => t.includes('requests wait')),
      );
      assert.match(lines[0] ?? '', /^<@U0ALICE001>: your command is waiting/);
      assert.match(lines[1] ?? '', /^\*mallory\*: your command is waiting/);
    },
  );
});

test('slack: with interactivity, a pending request carries Approve and Deny buttons whose value is its id; a decided one none', async () => {
  await withHook(
    { format: 'slack', events: ['created', 'decided'] },
    { slack: { interactive: true } },
    async (hook, notify) => {
      notify(created());
      notify({ type: 'decided', pending: { ...pending(), state: 'approved' } });
      await notify.idle();
      const [open, decided] = hook.received.map((r) => r.body as SlackBody);
      const actions = open?.blocks.filter((b) => b.type === 'actions') ?? [];
      assert.equal(actions.length, 1);
      assert.deepEqual(
        actions[0]?.elements?.map((e) => [e.type, e.action_id, e.value, e.style]),
        [
          ['button', 'kubegate_approve', ID, 'primary'],
          ['button', 'kubegate_deny', ID, 'danger'],
        ],
      );
      assert.ok(!decided?.blocks.some((b) => b.type === 'actions'));
    },
  );
});

test('slack: without interactivity configured there are no buttons (they would lead nowhere)', async () => {
  await withHook({ format: 'slack' }, {}, async (hook, notify) => {
    notify(created());
    await notify.idle();
    assert.ok(!(hook.received[0]?.body as SlackBody).blocks.some((b) => b.type === 'actions'));
  });
});
