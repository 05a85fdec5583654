// Reviewer dry runs against the real API server: both halves.
//   - The API server's half: `POST …/serviceaccounts/S/token?dryRun=All` is NOT a dry run. It
//     answers with a real, signed token that the API server itself then accepts (a TokenReview
//     says authenticated). So a reviewer context that dry-ran it would mint a credential before
//     anyone approved, and show it to everyone who can read the request.
//   - kubegate's half: a held `kubectl create token` sends nothing to the API server before
//     approval, and its context says why ("no dry run: …"); allow-listed kinds (ConfigMap create,
//     update, patch, delete; a deployment's scale and status) ARE dry-run, and the live objects
//     stay as they were; a held Secret create or apply shows no secret bytes anywhere — the
//     request as the API gives it, the live event stream, the approvals store on disk.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { Agent, request } from 'undici';
import { readAuditEvents, useTestbed, waitForAuditEvents } from '../fixtures/testbed.js';
import { kubectl, startKubectl, type RunningKubectl } from '../fixtures/kubectl.js';
import { startGateway, type GatewayHandle } from '../fixtures/gateway.js';
import { reviewerOf, type Reviewer } from '../fixtures/reviewer.js';
import { apiClient } from '../../src/demo/api.js';
import type { TestbedState } from '../../src/demo/control-plane.js';
import type { PendingRequest } from '../../src/approvals/types.js';

const ns = `dry-${randomBytes(3).toString('hex')}`;
/** A JWT's first characters: every service account token starts so. */
const JWT_START = /eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\./u;

let tb: TestbedState;
let gw: GatewayHandle;
let alice: string;
let bob: Reviewer;
let bobToken: string;
let agent: Agent;
let stream: { text(): string; stop(): void } | null = null;

const policy = {
  apiVersion: 'kubegate.dev/v1alpha1',
  kind: 'Policy',
  defaults: { action: 'allow' },
  rules: [
    {
      name: 'held-for-review',
      match: {
        verbs: ['create', 'update', 'patch', 'delete'],
        resources: [
          'serviceaccounts/token',
          'configmaps',
          'secrets',
          'deployments/scale',
          'deployments/status',
        ],
        namespaces: [ns],
      },
      action: 'approve',
      approval: { approvers: ['group:sre'], count: 1, mode: 'hold' },
    },
  ],
};

const admin = (args: string[], stdin?: string) =>
  kubectl(args, { kubeconfig: tb.adminKubeconfig, ...(stdin === undefined ? {} : { stdin }) });

async function ok(args: string[], stdin?: string): Promise<string> {
  const r = await admin(args, stdin);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
}

/** GET on kubegate's API as bob (bearer token). */
async function kubegateApi(path: string): Promise<{ status: number; text: string; json: unknown }> {
  const res = await request(`${gw.url}${path}`, {
    dispatcher: agent,
    headers: { authorization: `Bearer ${bobToken}` },
  });
  const text = await res.body.text();
  return { status: res.statusCode, text, json: JSON.parse(text) as unknown };
}

/** The live event stream as bob, accumulating its text. */
async function openStream(): Promise<{ text(): string; stop(): void }> {
  const res = await request(`${gw.url}/kubegate/v1/watch`, {
    dispatcher: agent,
    headers: { authorization: `Bearer ${bobToken}` },
  });
  assert.equal(res.statusCode, 200);
  let text = '';
  res.body.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  res.body.on('error', () => undefined);
  return { text: () => text, stop: () => res.body.destroy() };
}

/** Runs kubectl as alice, waits for its pending request and the request's reviewer context. */
async function heldWithContext(
  args: string[],
  match: (p: PendingRequest) => boolean,
  stdin?: string,
): Promise<{ kubectl: RunningKubectl; pending: PendingRequest; raw: string }> {
  const run = startKubectl(args, { kubeconfig: alice, ...(stdin === undefined ? {} : { stdin }) });
  try {
    const found = await bob.waitFor((p) => p.state === 'pending' && p.requester.user === 'alice' && match(p));
    const deadline = Date.now() + 20_000;
    for (;;) {
      const r = await kubegateApi(`/kubegate/v1/requests/${found.id}`);
      assert.equal(r.status, 200, r.text);
      const pending = r.json as PendingRequest;
      if (pending.context !== null) return { kubectl: run, pending, raw: r.text };
      if (Date.now() > deadline) throw new Error(`no reviewer context for ${found.id}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } catch (err) {
    run.stop();
    throw new Error(`${String(err)}\nkubectl: ${run.output()}\nkubegate:\n${gw.output().slice(-3000)}`, {
      cause: err,
    });
  }
}

/** Denies the request and waits for kubectl to give up. */
async function deny(held: { kubectl: RunningKubectl; pending: PendingRequest }): Promise<void> {
  const r = await bob.cli(['deny', held.pending.id, '--comment', 'test done']);
  assert.equal(r.code, 0, r.stderr);
  await held.kubectl.waitFor(/denied/u, 30_000);
  held.kubectl.stop();
}

/** Everything kubegate keeps of pending requests on disk (the SQLite file and its WAL). */
async function storeBytes(): Promise<string> {
  const files = (await readdir(gw.dataDir)).filter((f) => f.startsWith('approvals.db'));
  const parts = await Promise.all(files.map((f) => readFile(join(gw.dataDir, f))));
  return Buffer.concat(parts).toString('latin1');
}

before(async () => {
  tb = await useTestbed();
  const policyFile = join(tb.dir, `dry-run-safety-${ns}.yaml`);
  await writeFile(policyFile, stringify(policy));
  gw = await startGateway(tb, {
    config: { policy: { file: policyFile }, approvals: { holdTimeoutMs: 5 * 60_000 } },
  });
  await ok(['create', 'namespace', ns]);
  await ok(['create', 'rolebinding', 'dev-edit', '-n', ns, '--clusterrole=edit', '--group=dev']);
  // `edit` may not write a deployment's status: this role lets alice ask for it.
  await ok([
    'create',
    'role',
    'status-writer',
    '-n',
    ns,
    '--verb=patch,update',
    '--resource=deployments/status',
  ]);
  await ok(['create', 'rolebinding', 'dev-status', '-n', ns, '--role=status-writer', '--group=dev']);
  await ok(['create', 'serviceaccount', 'builder', '-n', ns]);
  await ok(['create', 'configmap', 'held-a', '-n', ns, '--from-literal=k=live']);
  await ok(
    ['apply', '-f', '-'],
    JSON.stringify({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: ns },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web' } },
          spec: { containers: [{ name: 'main', image: 'registry.example/app:1' }] },
        },
      },
    }),
  );
  alice = await gw.kubeconfigFor('alice', ['dev']);
  bob = await reviewerOf(gw, await gw.kubeconfigFor('bob', ['sre']));
  bobToken = await gw.tokenFor('bob', ['sre']);
  agent = new Agent({ connect: { ca: gw.caPem } });
  stream = await openStream();
});

after(async () => {
  stream?.stop();
  await bob?.close();
  await agent?.close();
  await gw?.stop();
  await admin(['delete', 'namespace', ns, '--wait=false']);
});

// ---- the API server's half ----

test("the API server's half: a TokenRequest with dryRun=All returns a real token that authenticates", async () => {
  const asAlice = apiClient(tb.server, tb.caPem, tb.users.alice!.token);
  const asAdmin = apiClient(tb.server, tb.caPem, tb.users.admin!.token);
  try {
    const minted = await asAlice.call(
      'POST',
      `/api/v1/namespaces/${ns}/serviceaccounts/builder/token?dryRun=All`,
      {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenRequest',
        spec: { expirationSeconds: 600 },
      },
    );
    assert.equal(minted.status, 201, minted.text);
    const token = (minted.json as { status?: { token?: string } }).status?.token ?? '';
    assert.match(token, JWT_START, 'a dry run returned a signed token');
    const review = await asAdmin.call('POST', '/apis/authentication.k8s.io/v1/tokenreviews', {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenReview',
      spec: { token },
    });
    assert.equal(review.status, 201, review.text);
    const status = (review.json as { status?: { authenticated?: boolean; user?: { username?: string } } })
      .status;
    assert.equal(status?.authenticated, true, 'the "dry-run" token is accepted by the API server');
    assert.equal(status?.user?.username, `system:serviceaccount:${ns}:builder`);
  } finally {
    await asAlice.close();
    await asAdmin.close();
  }
});

// ---- kubegate's half ----

test('a held `kubectl create token` mints nothing before approval, and says why there is no dry run', async () => {
  const held = await heldWithContext(
    ['create', 'token', 'builder', '-n', ns],
    (p) => p.request.resource === 'serviceaccounts' && p.request.subresource === 'token',
  );
  try {
    const ctx = held.pending.context!;
    assert.equal(ctx.dryRun, null);
    assert.equal(ctx.diff, null);
    assert.ok(
      ctx.notes.includes(
        'no dry run: the API server does not honour dryRun for serviceaccounts/token (TokenRequest): it would issue a real token',
      ),
      ctx.notes.join('\n'),
    );
    assert.doesNotMatch(held.raw, JWT_START, 'GET /kubegate/v1/requests/ID holds no token');
    await waitForStream(new RegExp(`event: context\\n[^\\n]*${held.pending.id}`, 'u'));
    assert.doesNotMatch(stream!.text(), JWT_START, 'the live event stream holds no token');
    assert.doesNotMatch(await storeBytes(), JWT_START, 'the approvals store holds no token');
    // The API server's own audit log: nothing reached the TokenRequest handler for this account.
    // kubegate read the account's labels (as itself) while building the context: once that read
    // is in the log, a dry run sent before it would be too.
    const read = await waitForAuditEvents(
      tb,
      (e) =>
        e.objectRef?.namespace === ns &&
        e.objectRef.resource === 'serviceaccounts' &&
        e.objectRef.name === 'builder' &&
        e.user.username === 'kubegate',
    );
    assert.ok(read.length > 0, "kubegate's read of the account is in the audit log");
    const reached = (await readAuditEvents(tb)).filter(
      (e) =>
        e.objectRef?.namespace === ns &&
        e.objectRef.resource === 'serviceaccounts' &&
        e.objectRef.subresource === 'token' &&
        e.user.username === 'kubegate',
    );
    assert.deepEqual(
      reached.map((e) => e.requestURI),
      [],
    );
  } finally {
    await deny(held);
  }
});

const configmap = (value: string) =>
  JSON.stringify({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'held-a', namespace: ns },
    data: { k: value },
  });

const allowed: readonly {
  name: string;
  args: string[];
  stdin?: string;
  match: (p: PendingRequest) => boolean;
  diff: RegExp;
  /** The live state, read as admin: unchanged by the dry run. */
  check: () => Promise<void>;
}[] = [
  {
    name: 'a ConfigMap create',
    args: ['create', 'configmap', 'held-new', '-n', ns, '--from-literal=k=v'],
    match: (p) => p.request.resource === 'configmaps' && p.request.verb === 'create',
    diff: /^\+ {2}name: held-new$/mu,
    check: async () => {
      const r = await admin(['get', 'configmap', 'held-new', '-n', ns]);
      assert.notEqual(r.code, 0, 'the ConfigMap was not created');
    },
  },
  {
    name: 'a ConfigMap update (replace)',
    args: ['replace', '-f', '-'],
    stdin: configmap('replaced'),
    match: (p) => p.request.resource === 'configmaps' && p.request.verb === 'update',
    diff: /^- {2}k: live\n\+ {2}k: replaced$/mu,
    check: async () =>
      assert.equal(await ok(['get', 'cm', 'held-a', '-n', ns, '-o', 'jsonpath={.data.k}']), 'live'),
  },
  {
    name: 'a ConfigMap patch',
    args: ['patch', 'configmap', 'held-a', '-n', ns, '-p', '{"data":{"k":"patched"}}'],
    match: (p) => p.request.resource === 'configmaps' && p.request.verb === 'patch',
    diff: /^- {2}k: live\n\+ {2}k: patched$/mu,
    check: async () =>
      assert.equal(await ok(['get', 'cm', 'held-a', '-n', ns, '-o', 'jsonpath={.data.k}']), 'live'),
  },
  {
    name: 'a ConfigMap delete',
    args: ['delete', 'configmap', 'held-a', '-n', ns],
    match: (p) => p.request.resource === 'configmaps' && p.request.verb === 'delete',
    diff: /^-kind: ConfigMap$/mu,
    check: async () =>
      assert.equal(await ok(['get', 'cm', 'held-a', '-n', ns, '-o', 'jsonpath={.data.k}']), 'live'),
  },
  {
    name: "a deployment's scale",
    args: ['scale', 'deployment', 'web', '-n', ns, '--replicas=4'],
    match: (p) => p.request.resource === 'deployments' && p.request.subresource === 'scale',
    diff: /^- {2}replicas: 1\n\+ {2}replicas: 4$/mu,
    check: async () =>
      assert.equal(await ok(['get', 'deploy', 'web', '-n', ns, '-o', 'jsonpath={.spec.replicas}']), '1'),
  },
  {
    name: "a deployment's status",
    args: [
      'patch',
      'deployment',
      'web',
      '-n',
      ns,
      '--subresource=status',
      '--type=merge',
      '-p',
      '{"status":{"collisionCount":7}}',
    ],
    match: (p) => p.request.resource === 'deployments' && p.request.subresource === 'status',
    diff: /^\+ {2}collisionCount: 7$/mu,
    check: async () =>
      assert.equal(
        await ok(['get', 'deploy', 'web', '-n', ns, '-o', 'jsonpath={.status.collisionCount}']),
        '',
      ),
  },
];

for (const row of allowed) {
  test(`${row.name} is dry-run for the reviewer, and the live object is unchanged`, async () => {
    const held = await heldWithContext(row.args, row.match, row.stdin);
    try {
      const ctx = held.pending.context!;
      assert.ok(!ctx.notes.some((n) => n.startsWith('no dry run')), ctx.notes.join('\n'));
      assert.ok(
        ctx.dryRun !== null && ctx.dryRun.status >= 200 && ctx.dryRun.status < 300,
        JSON.stringify(ctx),
      );
      assert.match(ctx.diff ?? '', row.diff);
      await row.check();
    } finally {
      await deny(held);
    }
    await row.check();
  });
}

const secretValue = `s3cret-${randomBytes(6).toString('hex')}`;
const secretForms = [secretValue, Buffer.from(secretValue).toString('base64')];

function assertNoSecret(where: string, text: string): void {
  for (const form of secretForms) assert.ok(!text.includes(form), `${where} holds the secret (${form})`);
}

test('a held Secret create shows no secret bytes: API, event stream, store', async () => {
  const held = await heldWithContext(
    ['create', 'secret', 'generic', 'held-s', '-n', ns, `--from-literal=password=${secretValue}`],
    (p) => p.request.resource === 'secrets' && p.request.verb === 'create',
  );
  try {
    const ctx = held.pending.context!;
    assert.equal(ctx.dryRun?.status, 201, JSON.stringify(ctx));
    assert.match(ctx.diff ?? '', /^\+ {2}password: \(redacted [0-9a-f]{12}\)$/mu);
    assertNoSecret('GET /kubegate/v1/requests/ID', held.raw);
    await waitForStream(new RegExp(`event: context\\n[^\\n]*${held.pending.id}`, 'u'));
    assertNoSecret('the event stream', stream!.text());
    assertNoSecret('the approvals store', await storeBytes());
  } finally {
    await deny(held);
  }
});

test('a held Secret apply shows no secret bytes, not even in its last-applied annotation', async () => {
  const manifest = JSON.stringify({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'held-applied', namespace: ns },
    stringData: { token: secretValue },
  });
  const held = await heldWithContext(
    ['apply', '-f', '-'],
    (p) => p.request.resource === 'secrets' && p.request.name === 'held-applied',
    manifest,
  );
  try {
    const ctx = held.pending.context!;
    assert.ok(ctx.dryRun !== null && ctx.dryRun.status < 300, JSON.stringify(ctx));
    assert.match(ctx.diff ?? '', /last-applied-configuration: \(redacted [0-9a-f]{12}\)/u);
    assertNoSecret('GET /kubegate/v1/requests/ID', held.raw);
    await waitForStream(new RegExp(`event: context\\n[^\\n]*${held.pending.id}`, 'u'));
    assertNoSecret('the event stream', stream!.text());
    assertNoSecret('the approvals store', await storeBytes());
    assertNoSecret('the request list', (await kubegateApi('/kubegate/v1/requests')).text);
  } finally {
    await deny(held);
  }
});

async function waitForStream(pattern: RegExp): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!pattern.test(stream!.text())) {
    if (Date.now() > deadline) throw new Error(`the event stream never matched ${String(pattern)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
