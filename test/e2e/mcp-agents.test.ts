// A real MCP Kubernetes server through kubegate, as an AI agent would use it: kubernetes-mcp-server
// (npm, its linux-amd64 Go binary) over stdio, driven by @modelcontextprotocol/sdk's Client, with
// a kubeconfig that names kubegate and the agent `claude` (group agents, marked as an agent by
// identity.agents). Two kubegates in front of the test bed: one with examples/agents.yaml as
// shipped (agents' changes deferred: ApprovalRequired at once, the repeat goes through once), one
// with the same policy in hold mode (the tool call waits for the reviewer, who approves in the web
// UI, chromium). Tools used:
// pods_list_in_namespace, resources_delete, resources_create_or_update, resources_scale, pods_exec.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parse, stringify } from 'yaml';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { useTestbed } from '../fixtures/testbed.js';
import { kubectl, type KubectlResult } from '../fixtures/kubectl.js';
import { startGateway } from '../fixtures/gateway.js';
import { reviewerOf } from '../fixtures/reviewer.js';
import { statefulsetManifest, waitPodRunning } from '../fixtures/workloads.js';
import { launchBrowser, signedInWithToken } from '../fixtures/browser.js';
import type { TestbedState } from '../../src/demo/control-plane.js';
import type { PendingRequest } from '../../src/approvals/types.js';

const root = resolve(import.meta.dirname, '../..');
const MCP_SERVER = join(
  root,
  'node_modules/kubernetes-mcp-server-linux-amd64/bin/kubernetes-mcp-server-linux-amd64',
);
// 'prod*' is what the policy's agents-never-destroy-prod rule protects.
const ns = `prod-mcp-${randomBytes(3).toString('hex')}`;
const PENDING_ID = /kg-[a-z2-7]{10}/u;
const TOOL_TIMEOUT_MS = 120_000;

let tb: TestbedState;
const admin = (args: string[], stdin?: string): Promise<KubectlResult> =>
  kubectl(args, { kubeconfig: tb.adminKubeconfig, ...(stdin === undefined ? {} : { stdin }) });

interface ToolResult {
  readonly isError: boolean;
  readonly text: string;
}

interface Agent {
  call(name: string, args: Record<string, unknown>): Promise<ToolResult>;
  close(): Promise<void>;
}

/** The MCP server over stdio with `kubeconfig`, and an SDK client connected to it. */
async function mcpAgent(kubeconfig: string): Promise<Agent> {
  const transport = new StdioClientTransport({
    command: MCP_SERVER,
    args: ['--kubeconfig', kubeconfig, '--disable-multi-cluster'],
    stderr: 'ignore',
  });
  const client = new Client({ name: 'kubegate-e2e', version: '1.0.0' });
  await client.connect(transport);
  return {
    async call(name, args) {
      const result = await client.callTool({ name, arguments: args }, undefined, {
        timeout: TOOL_TIMEOUT_MS,
      });
      const content = (result.content ?? []) as { type: string; text?: string }[];
      const text = content.map((c) => c.text ?? '').join('\n');
      return { isError: result.isError === true, text };
    },
    close: () => client.close(),
  };
}

function deployment(name: string): string {
  return JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: ns },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: 'app', image: 'registry.example/app:1' }] },
      },
    },
  });
}

function pod(name: string, labels: Record<string, string>): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: ns, labels: { app: name, ...labels } },
    spec: { containers: [{ name: 'main', image: 'registry.example/app:1' }] },
  });
}

async function replicas(kind: string, name: string): Promise<string> {
  const r = await admin(['get', kind, name, '-n', ns, '-o', 'jsonpath={.spec.replicas}']);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
}

/**
 * Waits until the statefulset's controller is done with it: its generation observed and its
 * resourceVersion still for a second. The MCP server's scale reads the object and writes it back
 * with its version, so a status update landing while the call is held would make the approved
 * write a conflict. The statefulset it scales has no replicas, so no pod's readiness can change
 * its status later (a one-replica one once failed to settle within a minute on a loaded machine).
 */
async function settled(name: string): Promise<void> {
  const state = async (): Promise<{ done: boolean; seen: string }> => {
    const r = await admin([
      'get',
      'statefulset',
      name,
      '-n',
      ns,
      '-o',
      'jsonpath={.metadata.resourceVersion} {.metadata.generation} {.status.observedGeneration}',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const [, generation, observed] = r.stdout.split(' ');
    return { done: generation !== undefined && generation === observed, seen: r.stdout };
  };
  const deadline = Date.now() + 60_000;
  let last = await state();
  for (;;) {
    await new Promise((r) => setTimeout(r, 1000));
    const now = await state();
    if (now.done && now.seen === last.seen) return;
    if (Date.now() > deadline)
      assert.fail(`statefulset ${name} did not settle (version generation observed: ${now.seen})`);
    last = now;
  }
}

/** Who must approve, one entry per requirement, as policy fixtures write it. */
const approvals = (p: PendingRequest): string[] =>
  p.requirements.map((r) =>
    r.stages
      .map((s) => `${s.count} of ${s.approvers.map((a) => `${a.kind}:${a.name}`).join(' or ')}`)
      .join(' then '),
  );

const agentsPolicy = async (): Promise<Record<string, unknown>> =>
  parse(await readFile(join(root, 'examples', 'agents.yaml'), 'utf8')) as Record<string, unknown>;

/** A kubegate with `policy`, its agent `claude` (token), reviewer bob (sre) and carol (security). */
async function gatewayWith(policy: Record<string, unknown>, name: string) {
  const policyFile = join(tb.dir, `agents-${name}-${ns}.yaml`);
  await writeFile(policyFile, stringify(policy));
  const gw = await startGateway(tb, {
    config: {
      policy: { file: policyFile },
      identity: { agents: { groups: ['agents'] } },
      approvals: { holdTimeoutMs: 5 * 60_000 },
    },
  });
  const agent = await mcpAgent(await gw.kubeconfigFor('claude', ['agents'], { token: true }));
  const bob = await reviewerOf(gw, await gw.kubeconfigFor('bob', ['sre']));
  const carol = await reviewerOf(gw, await gw.kubeconfigFor('carol', ['security']));
  return { gw, agent, bob, carol };
}

type Bench = Awaited<ReturnType<typeof gatewayWith>>;

before(async () => {
  tb = await useTestbed();
  for (const args of [
    ['create', 'namespace', ns],
    ['create', 'rolebinding', 'agents-edit', '-n', ns, '--clusterrole=edit', '--group=agents'],
  ]) {
    const r = await admin(args);
    assert.equal(r.code, 0, r.stderr);
  }
  for (const manifest of [
    deployment('web'),
    statefulsetManifest('db', ns),
    statefulsetManifest('cache', ns, 0),
    pod('vault', { sensitive: 'true' }),
    pod('shop', {}),
  ]) {
    const r = await admin(['apply', '-f', '-'], manifest);
    assert.equal(r.code, 0, r.stderr);
  }
  await waitPodRunning(admin, ns, 'vault');
});

after(async () => {
  await admin(['delete', 'namespace', ns, '--wait=false']);
});

describe('examples/agents.yaml as shipped (deferred for agents)', () => {
  let bench: Bench;
  before(async () => {
    bench = await gatewayWith(await agentsPolicy(), 'deferred');
  });
  after(async () => {
    await bench?.agent.close();
    for (const r of [bench?.bob, bench?.carol]) await r?.close();
    await bench?.gw.stop();
  });

  test('pods_list_in_namespace is allowed: the agent sees the pods', async () => {
    const r = await bench.agent.call('pods_list_in_namespace', { namespace: ns });
    assert.equal(r.isError, false, r.text);
    assert.match(r.text, /vault/u);
    assert.match(r.text, /shop/u);
  });

  test("resources_delete of a prod deployment is a tool error carrying the rule's message", async () => {
    const r = await bench.agent.call('resources_delete', {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      name: 'web',
      namespace: ns,
    });
    assert.equal(r.isError, true, r.text);
    assert.match(r.text, /AI agents may not delete anything in production; ask a person to do it\./u);
    const still = await admin(['get', 'deployment', 'web', '-n', ns, '-o', 'name']);
    assert.equal(still.stdout.trim(), 'deployment.apps/web');
  });

  test('resources_create_or_update answers ApprovalRequired with the pending id at once; after approval the repeat goes through, once', async () => {
    // A tool whose request body is what the agent gave, so the repeat is the same request. (A
    // read-modify-write tool such as resources_scale sends the object's resourceVersion back: if
    // the object changed in between, the repeat is another request and asks again.)
    const resource = JSON.stringify({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'settings', namespace: ns },
      data: { mode: 'fast' },
    });
    const apply = () => bench.agent.call('resources_create_or_update', { resource });
    const first = await apply();
    assert.equal(first.isError, true, first.text);
    const id = PENDING_ID.exec(first.text)?.[0];
    assert.ok(id !== undefined, `the tool error names the pending id: ${first.text}`);
    const absent = await admin(['get', 'configmap', 'settings', '-n', ns, '-o', 'name']);
    assert.notEqual(absent.code, 0, 'nothing was sent');
    const pending = await bench.bob.waitFor((p) => p.id === id);
    assert.equal(pending.mode, 'deferred');
    assert.equal(pending.requester.agent, true);
    assert.deepEqual(approvals(pending), ['1 of group:sre']);
    // The reviewer sees an agent in the CLI.
    const shown = await bench.bob.cli(['show', id]);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /agent claude/u);
    const listed = await bench.bob.cli(['list']);
    assert.match(listed.stdout, new RegExp(`${id}.*agent claude`, 'u'));
    const approved = await bench.bob.cli(['approve', id]);
    assert.equal(approved.code, 0, approved.stderr);

    const again = await apply();
    assert.equal(again.isError, false, again.text);
    const made = await admin(['get', 'configmap', 'settings', '-n', ns, '-o', 'jsonpath={.data.mode}']);
    assert.equal(made.stdout, 'fast');
    // Once: the grant is used, and the same call asks again.
    const third = await apply();
    assert.equal(third.isError, true, third.text);
    const next = PENDING_ID.exec(third.text)?.[0];
    assert.ok(next !== undefined && next !== id, third.text);
  });

  test('resources_scale of a prod statefulset answers ApprovalRequired at once, and nothing changes', async () => {
    const r = await bench.agent.call('resources_scale', {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      name: 'db',
      namespace: ns,
      scale: 2,
    });
    assert.equal(r.isError, true, r.text);
    assert.match(r.text, /needs approval and was not sent\. It is pending as kg-/u);
    assert.equal(await replicas('statefulset', 'db'), '1');
  });

  test("the audit trail shows the agent as an agent, its self-checks allowed and each tool's requests decided", async () => {
    const mine = await bench.gw.waitForAudit((r) => r.user === 'claude' && r.kind === 'forwarded');
    const all = (await bench.gw.auditRecords()).filter((r) => r.user === 'claude');
    assert.ok(mine.length > 0 && all.length > 0, "the agent's requests are in the trail");
    assert.deepEqual(
      all.filter((r) => r.agent !== true),
      [],
      'every record of the agent marks it as one',
    );
    const selfChecks = all.filter(
      (r) => r.kind === 'decided' && r.request?.resource === 'selfsubjectaccessreviews',
    );
    assert.ok(selfChecks.length > 0, 'kubernetes-mcp-server checks access before its tool calls');
    assert.ok(selfChecks.every((r) => r.decision === 'allow'));
    const denied = all.find((r) => r.decision === 'deny');
    assert.deepEqual(denied?.rules, ['agents-change-with-a-person', 'agents-never-destroy-prod']);
    const requested = all.find((r) => r.kind === 'approval-requested');
    assert.equal(requested?.agent, true);
    const reviewed = all.find((r) => r.kind === 'reviewed');
    assert.equal(reviewed?.actor, 'bob', "the person who approved is the actor of the agent's record");
    // A person's records carry no agent field.
    // bob has no RBAC upstream: the API server refuses, and the trail has his request all the same.
    await kubectl(['get', 'pods', '-n', ns], { kubeconfig: bench.bob.kubeconfig });
    const people = await bench.gw.waitForAudit((e) => e.user === 'bob' && e.kind === 'forwarded');
    assert.ok(people.length > 0, "a person's request is in the trail");
    assert.ok(people.every((e) => e.agent === undefined && e.onBehalfOf === undefined));
  });
});

describe('examples/agents.yaml in hold mode', () => {
  let bench: Bench;
  before(async () => {
    const policy = await agentsPolicy();
    const rules = policy['rules'] as { name: string; approval?: Record<string, unknown> }[];
    for (const rule of rules) {
      if (rule.approval?.['mode'] === 'deferred') {
        rule.approval['mode'] = 'hold';
        delete rule.approval['grantTTL'];
      }
    }
    bench = await gatewayWith(policy, 'hold');
  });
  after(async () => {
    await bench?.agent.close();
    for (const r of [bench?.bob, bench?.carol]) await r?.close();
    await bench?.gw.stop();
  });

  test('resources_scale of a prod statefulset is held; the reviewer approves in the web UI and the tool call returns success', async () => {
    await settled('cache');
    const call = bench.agent.call('resources_scale', {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      name: 'cache',
      namespace: ns,
      scale: 3,
    });
    const pending = await bench.bob.waitFor(
      (p) => p.state === 'pending' && p.requester.user === 'claude' && p.request.name === 'cache',
      60_000,
    );
    assert.equal(pending.mode, 'hold');
    assert.equal(pending.requester.agent, true);
    assert.equal(await replicas('statefulset', 'cache'), '0', 'nothing changes while it is held');
    // bob approves in the web UI, where the requester reads as an agent.
    const browser = await launchBrowser();
    try {
      const token = await bench.gw.tokenFor('bob', ['sre']);
      const page = await signedInWithToken(browser, bench.gw.url, token, `/ui/requests/${pending.id}`);
      await page.getByTestId('requester').waitFor({ timeout: 30_000 });
      assert.equal(await page.getByTestId('requester').innerText(), 'agent claude');
      await page.getByTestId('approve').click();
      // The held tool call completes (the browser stays open until then: its approval was sent).
      const r = await call;
      assert.equal(r.isError, false, r.text);
    } finally {
      await browser.close();
    }
    assert.equal(await replicas('statefulset', 'cache'), '3');
  });

  test('pods_exec into a pod labelled sensitive=true is held for security; denied, the tool call fails', async () => {
    const call = bench.agent.call('pods_exec', { namespace: ns, name: 'vault', command: ['ls', '/'] });
    const pending = await bench.carol.waitFor(
      (p) => p.state === 'pending' && p.requester.user === 'claude' && p.request.subresource === 'exec',
      60_000,
    );
    assert.equal(pending.request.name, 'vault');
    assert.deepEqual(
      pending.rules.filter((r) => r.action === 'approve').map((r) => r.name),
      ['agents-change-with-a-person', 'sensitive-exec'],
    );
    assert.ok(approvals(pending).includes('1 of group:security'), JSON.stringify(approvals(pending)));
    const denied = await bench.carol.cli(['deny', pending.id, '--comment', 'not from an agent']);
    assert.equal(denied.code, 0, denied.stderr);
    const r = await call;
    assert.equal(r.isError, true, r.text);
  });
});
