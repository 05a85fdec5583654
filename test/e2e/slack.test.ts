// Approve from Slack, end to end: a real kubegate in front of the test bed, real kubectl. A held
// request's notification reaches a local server standing in for Slack's incoming webhook, with
// Approve / Deny buttons and a line for the requester; the test then POSTs a block_actions
// payload to kubegate's interactivity endpoint as Slack would (form body, signed with the app's
// signing secret), and kubectl's waiting command completes. The press's response_url receives the
// message updated in place. Wrongly signed, stale and replayed POSTs change nothing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { Agent, request } from 'undici';
import { stringify } from 'yaml';
import { useTestbed } from '../fixtures/testbed.js';
import { kubectl, startKubectl, type RunningKubectl } from '../fixtures/kubectl.js';
import { startGateway, type GatewayHandle } from '../fixtures/gateway.js';
import { reviewerOf, type Reviewer } from '../fixtures/reviewer.js';
import { freePort } from '../../src/demo/ports.js';
import { slackSignature } from '../../src/slack/signature.js';
import { SLACK_INTERACTIVITY_PATH } from '../../src/slack/interactivity.js';
import type { TestbedState } from '../../src/demo/control-plane.js';

const ns = `sl-${randomBytes(3).toString('hex')}`;
const SECRET = randomBytes(16).toString('hex');
const FIXTURES = resolve(import.meta.dirname, '../../src/slack/testdata');

interface SlackMessage {
  text: string;
  replace_original?: boolean;
  response_type?: string;
  blocks?: {
    type: string;
    text?: { text: string };
    elements?: { action_id: string; value: string }[];
  }[];
}

/** Stands in for Slack: its incoming webhook (/services/…) and a press's response_url (/actions/…). */
class FakeSlack {
  readonly webhook: SlackMessage[] = [];
  readonly responses: SlackMessage[] = [];
  readonly server: Server;
  base = '';
  constructor() {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as SlackMessage;
        (req.url?.startsWith('/actions/') ? this.responses : this.webhook).push(body);
        res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      });
    });
  }
  async listen(): Promise<void> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    this.base = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }
  async until<T>(find: () => T | undefined, what: string, timeoutMs = 20_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = find();
      if (found !== undefined) return found;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  async close(): Promise<void> {
    this.server.closeAllConnections();
    this.server.close();
    await once(this.server, 'close');
  }
}

let tb: TestbedState;
let gw: GatewayHandle;
let slack: FakeSlack;
let alice: string;
let bob: Reviewer;
let agent: Agent;

const policy = {
  apiVersion: 'kubegate.dev/v1alpha1',
  kind: 'Policy',
  defaults: { action: 'allow' },
  rules: [
    {
      name: 'configmaps-need-sre',
      match: { verbs: ['create'], resources: ['configmaps'], namespaces: [ns] },
      action: 'approve',
      approval: { approvers: ['group:sre'], count: 1, mode: 'hold' },
    },
  ],
};

const admin = (args: string[]) => kubectl(args, { kubeconfig: tb.adminKubeconfig, timeoutMs: 60_000 });
const configmap = (name: string) =>
  JSON.stringify({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace: ns },
    data: { k: 'v' },
  });

before(async () => {
  tb = await useTestbed();
  slack = new FakeSlack();
  await slack.listen();
  const policyFile = join(tb.dir, `slack-${ns}.yaml`);
  await writeFile(policyFile, stringify(policy));
  const secretFile = join(tb.dir, `slack-${ns}.secret`);
  await writeFile(secretFile, `${SECRET}\n`, { mode: 0o600 });
  const port = await freePort();
  gw = await startGateway(tb, {
    port,
    config: {
      policy: { file: policyFile },
      publicUrl: `https://127.0.0.1:${port}`,
      notifications: {
        webhooks: [{ url: `${slack.base}/services/T0KUBEGATE/B0KUBEGATE/webhook-secret`, format: 'slack' }],
      },
      slack: {
        signingSecretFile: secretFile,
        users: [
          { slackUserId: 'U0BOBSRE01', user: 'bob', groups: ['sre'] },
          { slackUserId: 'U0ALICE001', user: 'alice', groups: ['dev'] },
        ],
      },
    },
  });
  for (const args of [
    ['create', 'namespace', ns],
    ['create', 'rolebinding', 'dev-edit', '-n', ns, '--clusterrole=edit', '--group=dev'],
  ]) {
    const r = await admin(args);
    assert.equal(r.code, 0, r.stderr);
  }
  alice = await gw.kubeconfigFor('alice', ['dev']);
  bob = await reviewerOf(gw, await gw.kubeconfigFor('bob', ['sre']));
  agent = new Agent({ connect: { ca: gw.caPem } });
});

after(async () => {
  await bob?.close();
  await agent?.close();
  await gw?.stop();
  await slack?.close();
  await admin(['delete', 'namespace', ns, '--wait=false']);
});

/** The recorded block_actions payload, pressed by `slackUserId` on `pendingId`, as Slack's form body. */
async function pressBody(
  pendingId: string,
  slackUserId: string,
  fixture = 'block-actions-approve.json',
): Promise<string> {
  const payload = JSON.parse(await readFile(join(FIXTURES, fixture), 'utf8')) as Record<string, unknown>;
  const actions = (payload['actions'] as Record<string, unknown>[]).map((a) => ({ ...a, value: pendingId }));
  return new URLSearchParams({
    payload: JSON.stringify({
      ...payload,
      user: { id: slackUserId, username: slackUserId.toLowerCase(), team_id: 'T0KUBEGATE' },
      actions,
      response_url: `${slack.base}/actions/T0KUBEGATE/1232321423432/${pendingId}`,
    }),
  }).toString();
}

async function postToKubegate(
  body: string,
  headers: { timestamp: string; signature: string },
): Promise<number> {
  const res = await request(`${gw.url}${SLACK_INTERACTIVITY_PATH}`, {
    method: 'POST',
    dispatcher: agent,
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-slack-request-timestamp': headers.timestamp,
      'x-slack-signature': headers.signature,
    },
    body,
  });
  await res.body.text();
  return res.statusCode;
}

const signed = (body: string, at = Math.floor(Date.now() / 1000)) => {
  const timestamp = String(at);
  return { timestamp, signature: slackSignature(SECRET, timestamp, body) };
};

async function heldRequest(
  name: string,
  version: '1.27' | '1.33' = '1.33',
): Promise<{ run: RunningKubectl; id: string; message: SlackMessage }> {
  const run = startKubectl(['create', '-f', '-'], { kubeconfig: alice, stdin: configmap(name), version });
  const pending = await bob.waitFor(
    (p) => p.state === 'pending' && p.request.resource === 'configmaps' && p.request.name === name,
  );
  const message = await slack.until(
    () => slack.webhook.find((m) => m.text.startsWith('Approval requested') && m.text.includes(pending.id)),
    `the Slack notification of ${pending.id}`,
  );
  return { run, id: pending.id, message };
}

test('a held kubectl request is approved from Slack with one press; wrong, stale and replayed presses change nothing', async () => {
  const { run, id, message } = await heldRequest('from-slack');
  try {
    // The notification carries the buttons and a line for the requester.
    const buttons = message.blocks?.find((b) => b.type === 'actions')?.elements ?? [];
    assert.deepEqual(
      buttons.map((b) => [b.action_id, b.value]),
      [
        ['kubegate_approve', id],
        ['kubegate_deny', id],
      ],
    );
    const forRequester = message.blocks
      ?.map((b) => b.text?.text ?? '')
      .find((t) => t.includes('requests wait'));
    assert.match(
      forRequester ?? '',
      new RegExp(`^<@U0ALICE001>: your command is waiting for approval as ${id}`),
    );
    assert.match(forRequester ?? '', new RegExp(`kubegate requests wait ${id}`));
    assert.match(forRequester ?? '', new RegExp(`/ui/requests/${id}\\|Open ${id}>`));

    const body = await pressBody(id, 'U0BOBSRE01');
    // Wrong secret, stale timestamp, and no signature: 401, and the request still waits.
    const wrong = {
      timestamp: String(Math.floor(Date.now() / 1000)),
      signature: slackSignature('not-the-secret', String(Math.floor(Date.now() / 1000)), body),
    };
    assert.equal(await postToKubegate(body, wrong), 401);
    assert.equal(await postToKubegate(body, signed(body, Math.floor(Date.now() / 1000) - 6 * 60)), 401);
    assert.equal(await postToKubegate(body, { timestamp: wrong.timestamp, signature: '' }), 401);
    // The requester's own press is not a review either (the approval service's rule).
    const own = await pressBody(id, 'U0ALICE001');
    assert.equal(await postToKubegate(own, signed(own)), 200);
    const refusal = await slack.until(
      () => slack.responses.find((m) => m.response_type === 'ephemeral'),
      'the private refusal of the requester’s press',
    );
    assert.match(refusal.text, /own request/);
    // An unknown Slack user: 403.
    const stranger = await pressBody(id, 'U0STRANGER');
    assert.equal(await postToKubegate(stranger, signed(stranger)), 403);
    let [still] = (await bob.requests()).filter((p) => p.id === id);
    assert.equal(still?.state, 'pending');
    assert.equal(still?.reviews.length, 0);
    assert.equal(run.child.exitCode, null, 'kubectl still waits');

    // Bob's press, signed as Slack signs it: kubectl's command completes.
    const good = signed(body);
    assert.equal(await postToKubegate(body, good), 200);
    await run.waitFor(/configmap\/from-slack created/, 30_000);
    [still] = (await bob.requests()).filter((p) => p.id === id);
    assert.equal(still?.state, 'approved');
    assert.deepEqual(
      still?.reviews.map((r) => [r.reviewer, r.decision, r.comment]),
      [['bob', 'approve', 'via Slack (U0BOBSRE01)']],
    );
    // The message, replaced in place through the response_url.
    const update = await slack.until(
      () => slack.responses.find((m) => m.replace_original === true && m.text.startsWith('Approved by bob')),
      'the in-place update',
    );
    assert.ok(!update.blocks?.some((b) => b.type === 'actions'), 'decided: no buttons left');
    // The very same signed request again is a replay.
    assert.equal(await postToKubegate(body, good), 401);
    // Audited like any review, with who pressed in Slack.
    const reviewed = await gw.waitForAudit((r) => r.kind === 'reviewed' && r.pendingId === id);
    assert.equal(reviewed.length, 1);
    assert.equal(reviewed[0]?.actor, 'bob');
    assert.equal(reviewed[0]?.comment, 'via Slack (U0BOBSRE01)');
    // Refusals are logged without the secret.
    assert.match(gw.output(), /slack request refused: signature/);
    assert.ok(!gw.output().includes(SECRET), 'the signing secret is never logged');
  } finally {
    run.stop();
  }
});

test('Deny from Slack (kubectl 1.27): kubectl is told the request was denied; the configmap is not created', async () => {
  const { run, id } = await heldRequest('denied-in-slack', '1.27');
  try {
    const body = await pressBody(id, 'U0BOBSRE01', 'block-actions-deny.json');
    assert.equal(await postToKubegate(body, signed(body)), 200);
    await run.waitFor(/denied/i, 30_000);
    const r = await admin(['get', 'configmap', 'denied-in-slack', '-n', ns]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /NotFound/);
  } finally {
    run.stop();
  }
});
