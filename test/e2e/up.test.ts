// `kubegate up` as README's first command runs it (`npm start` → `kubegate up`): the real CLI in a
// fresh folder, with its own demo control plane, on a free port. Started, stopped with Ctrl-C
// (SIGINT) and started again in the same folder, each run must come up and the walkthrough's first
// commands (the ones it prints) must work; kubectl's self-checks (auth can-i, auth whoami) answer
// at once under its policy. It starts its own control plane, not the shared test bed.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { appendFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { kubectl, type KubectlVersion } from '../fixtures/kubectl.js';
import { freePort } from '../../src/demo/ports.js';
import { isRunning, stopPid } from '../../src/demo/processes.js';
import { stopControlPlane } from '../../src/demo/control-plane.js';
import type { AuditEvent } from '../../src/audit/event.js';
import type { PendingRequest } from '../../src/approvals/types.js';
import { readAuditTrail } from '../fixtures/gateway.js';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '../..');
const cli = join(root, 'src/cli/main.ts');
// The folder is not the repository: tsx is loaded by its absolute location, as npm would not
// find it from there.
const tsx = import.meta.resolve('tsx');

const folder = await mkdtemp(join(tmpdir(), 'kubegate-up-'));
const dataDir = join(folder, '.kubegate');
const port = await freePort();
let running: Up | null = null;

after(async () => {
  if (running !== null) await running.stop();
  // A safety net if a run failed half-way: nothing of the demo control plane may outlive the test.
  await stopControlPlane(join(dataDir, 'testbed'));
  await rm(folder, { recursive: true, force: true });
});

interface Up {
  readonly child: ChildProcess;
  output(): string;
  /** Ctrl-C, then waits for the exit; returns the exit code. */
  stop(): Promise<number | null>;
}

/** Starts `kubegate up` in the folder and waits until it says it is ready (or exits). */
async function startUp(): Promise<Up> {
  const child = spawn(process.execPath, ['--import', tsx, cli, 'up', '--port', String(port)], {
    cwd: folder,
    env: { PATH: process.env.PATH, HOME: process.env.HOME },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const up: Up = {
    child,
    output: () => out,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
      const code = await Promise.race([
        exited,
        new Promise<'late'>((r) => setTimeout(() => r('late'), 60_000).unref()),
      ]);
      if (code === 'late' && child.pid !== undefined) {
        await stopPid(child.pid, exited.then(String), 1_000);
        throw new Error(`kubegate up did not stop on SIGINT:\n${out}`);
      }
      return code === 'late' ? null : code;
    },
  };
  running = up;
  const deadline = Date.now() + 180_000;
  while (!out.includes('Press Ctrl-C to stop.')) {
    if (child.exitCode !== null) throw new Error(`kubegate up exited (${child.exitCode}):\n${out}`);
    if (Date.now() > deadline) throw new Error(`kubegate up did not come up:\n${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return up;
}

/** The kubectl command printed under `heading`: its kubeconfig (absolute) and its arguments. */
function printedCommand(output: string, heading: string): { kubeconfig: string; args: string[] } {
  const lines = output.split('\n');
  const at = lines.findIndex((l) => l.startsWith(heading));
  assert.ok(at >= 0, `"${heading}" not printed:\n${output}`);
  const words = (lines[at + 1] ?? '').trim().split(/\s+/);
  assert.equal(words[0], 'kubectl', output);
  assert.equal(words[1], '--kubeconfig', output);
  return { kubeconfig: resolve(folder, words[2]!), args: words.slice(3) };
}

async function walkthrough(up: Up): Promise<void> {
  const allowed = printedCommand(up.output(), 'Allowed — deleting a deployment in staging');
  assert.deepEqual(allowed.args, ['delete', 'deployment', 'web', '-n', 'staging']);
  let r = await kubectl(allowed.args, { kubeconfig: allowed.kubeconfig });
  assert.equal(r.code, 0, r.stderr + up.output());
  assert.match(r.stdout, /deployment.apps "web" deleted/);

  const denied = printedCommand(up.output(), 'Denied — deleting a deployment in prod');
  r = await kubectl(denied.args, { kubeconfig: denied.kubeconfig });
  assert.equal(r.code, 1);
  assert.match(
    r.stderr,
    /Error from server \(Forbidden\): Deleting deployments in production is not allowed\./,
  );
}

async function auditRecords(): Promise<AuditEvent[]> {
  return (await readAuditTrail(join(dataDir, 'audit.db'))).map((entry) => entry.event);
}

test('kubegate up comes up, stops on Ctrl-C, and comes up again in the same folder', async () => {
  let up = await startUp();
  await walkthrough(up);
  const testbedState = JSON.parse(await readFile(join(dataDir, 'testbed', 'state.json'), 'utf8')) as {
    pids: Record<string, number>;
  };
  assert.equal(await up.stop(), 0, up.output());
  assert.match(up.output(), /Stopping…/);
  for (const [name, pid] of Object.entries(testbedState.pids)) {
    assert.equal(isRunning(pid), false, `${name} (${pid}) still runs after Ctrl-C`);
  }
  running = null;
  assert.doesNotMatch(up.output(), /differs from the example policy/);

  // A policy that is not the shipped example is kept, and the start says so.
  await appendFile(join(dataDir, 'policy.yaml'), '# edited by hand\n');
  up = await startUp();
  assert.match(
    up.output(),
    /Note: \.kubegate\/policy\.yaml differs from the example policy of this kubegate \(kept as it is\)/,
  );
  // The demo starts anew: the deployment deleted by the first run is there again to delete.
  await walkthrough(up);
  assert.equal(await up.stop(), 0, up.output());
  running = null;
});

test("kubectl's self-checks (auth can-i, can-i --list, whoami) are answered at once under up's policy", async () => {
  const up = await startUp();
  try {
    const kubeconfig = join(dataDir, 'alice.kubeconfig');
    // kubectl 1.33 sends the reviews as protobuf, 1.31 as JSON.
    for (const version of ['1.33', '1.31'] as const satisfies readonly KubectlVersion[]) {
      const opts = { kubeconfig, version, timeoutMs: 30_000 };
      let r = await kubectl(['auth', 'can-i', 'delete', 'pods', '-n', 'prod'], opts);
      assert.equal(r.code, 0, `${version}: ${r.stderr}`);
      assert.equal(r.stdout.trim(), 'yes');
      r = await kubectl(['auth', 'can-i', 'delete', 'nodes'], opts);
      assert.equal(r.code, 1, `${version}: ${r.stderr}`);
      assert.equal(r.stdout.trim(), 'no');
      r = await kubectl(['auth', 'can-i', '--list', '-n', 'prod'], opts);
      assert.equal(r.code, 0, `${version}: ${r.stderr}`);
      assert.match(r.stdout, /deployments\.apps/);
      r = await kubectl(['auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}'], opts);
      assert.equal(r.code, 0, `${version}: ${r.stderr}`);
      assert.equal(r.stdout.trim(), 'alice');
    }
    const reviews = (await auditRecords()).filter(
      (e) => e.kind === 'decided' && /^selfsubject/.test(e.request?.resource ?? ''),
    );
    assert.deepEqual(
      [...new Set(reviews.map((e) => `${e.request?.resource} ${e.decision} ${e.rules.join(',')}`))].sort(),
      [
        'selfsubjectaccessreviews allow self-checks-are-free',
        'selfsubjectreviews allow self-checks-are-free',
        'selfsubjectrulesreviews allow self-checks-are-free',
      ],
    );
    // Nothing waits for ever under up: the policy's defaults and up's approvals.pendingExpiryMs
    // (for rules without their own expiresAfter, such as statefulsets-need-two) give an hour.
    const sts = JSON.stringify({
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'expiring', namespace: 'default' },
      spec: {
        serviceName: 'expiring',
        selector: { matchLabels: { app: 'expiring' } },
        template: {
          metadata: { labels: { app: 'expiring' } },
          spec: { containers: [{ name: 'c', image: 'x' }] },
        },
      },
    });
    const held = [
      kubectl(['create', '-f', '-', '--request-timeout=5s'], { kubeconfig, stdin: sts, timeoutMs: 30_000 }),
      kubectl(['create', 'configmap', 'expiring', '-n', 'default', '--request-timeout=5s'], {
        kubeconfig,
        timeoutMs: 30_000,
      }),
    ];
    await Promise.all(held);
    const { stdout } = await run(process.execPath, [
      '--import',
      tsx,
      cli,
      'requests',
      'list',
      '--all',
      '--json',
      '--kubeconfig',
      join(dataDir, 'bob.kubeconfig'),
    ]);
    const items = (JSON.parse(stdout) as { items: PendingRequest[] }).items;
    for (const resource of ['statefulsets', 'configmaps']) {
      const p = items.find((i) => i.request.resource === resource && i.request.name === 'expiring');
      assert.ok(p, `${resource}: ${stdout}`);
      assert.equal(Date.parse(p.expiresAt ?? '') - Date.parse(p.createdAt), 60 * 60_000, resource);
    }
  } finally {
    await up.stop();
    running = null;
  }
});
