// `kubegate up` cleans up after itself also when it is killed (issue 18, item 5): the real CLI in a
// fresh folder with its own demo control plane, as test/e2e/up.test.ts starts it.
//   1. Killed with SIGKILL (no handler runs), its etcd, kube-apiserver, controller-manager,
//      scheduler and kwok exit with it, and a new start in the same folder comes up and serves
//      kubectl.
//   2. A second start in a folder whose `kubegate up` still runs refuses with one line naming that
//      process, and leaves its control plane alone.
//   3. Leftovers that did outlive their `kubegate up` (setpriv was not usable: here a PATH whose
//      setpriv fails) are stopped by the next start in the folder, which says so and comes up.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { kubectl } from '../fixtures/kubectl.js';
import { freePort } from '../../src/demo/ports.js';
import { isRunning, stopPid } from '../../src/demo/processes.js';
import { stopControlPlane } from '../../src/demo/control-plane.js';

const root = resolve(import.meta.dirname, '../..');
const cli = join(root, 'src/cli/main.ts');
// The folder is not the repository: tsx is loaded by its absolute location.
const tsx = import.meta.resolve('tsx');

const folders: string[] = [];
const running = new Set<Up>();

after(async () => {
  for (const up of running) await up.stop().catch(() => null);
  for (const folder of folders) {
    // A safety net if a run failed half-way: nothing of a demo control plane may outlive the test.
    await stopControlPlane(join(folder, '.kubegate', 'testbed'));
    await rm(folder, { recursive: true, force: true });
  }
});

async function newFolder(): Promise<string> {
  const folder = await mkdtemp(join(tmpdir(), 'kubegate-up-crash-'));
  folders.push(folder);
  return folder;
}

interface Up {
  readonly child: ChildProcess;
  readonly pid: number;
  output(): string;
  /** Resolves with the exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>;
  /** Ctrl-C, then waits for the exit; returns the exit code. */
  stop(): Promise<number | null>;
}

/** Starts `kubegate up` in `folder` on `port`, with `path` as its PATH. */
function launch(folder: string, port: number, path = process.env.PATH): Up {
  const child = spawn(process.execPath, ['--import', tsx, cli, 'up', '--port', String(port)], {
    cwd: folder,
    env: { PATH: path, HOME: process.env.HOME },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  if (child.pid === undefined) throw new Error('kubegate up did not start');
  const up: Up = {
    child,
    pid: child.pid,
    output: () => out,
    exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
      const code = await Promise.race([
        exited,
        new Promise<'late'>((r) => setTimeout(() => r('late'), 60_000).unref()),
      ]);
      running.delete(up);
      if (code === 'late') {
        await stopPid(up.pid, exited.then(String), 1_000);
        throw new Error(`kubegate up did not stop on SIGINT:\n${out}`);
      }
      return code;
    },
  };
  running.add(up);
  void exited.then(() => running.delete(up));
  return up;
}

/** Waits until `up` says it is ready; throws with its output if it exits first. */
async function ready(up: Up): Promise<Up> {
  const deadline = Date.now() + 180_000;
  while (!up.output().includes('Press Ctrl-C to stop.')) {
    if (up.child.exitCode !== null || up.child.signalCode !== null)
      throw new Error(`kubegate up exited (${up.child.exitCode ?? up.child.signalCode}):\n${up.output()}`);
    if (Date.now() > deadline) throw new Error(`kubegate up did not come up:\n${up.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return up;
}

/** The control plane's processes as the running start recorded them. */
async function controlPlanePids(folder: string): Promise<Record<string, number>> {
  const state = JSON.parse(await readFile(join(folder, '.kubegate', 'testbed', 'state.json'), 'utf8')) as {
    pids: Record<string, number>;
  };
  assert.deepEqual(Object.keys(state.pids).sort(), [
    'etcd',
    'kube-apiserver',
    'kube-controller-manager',
    'kube-scheduler',
    'kwok',
  ]);
  return state.pids;
}

/** Those of `pids` that still run once they all stopped, or at the deadline. */
async function stillRunning(pids: Record<string, number>, ms: number): Promise<string[]> {
  const left = (): string[] =>
    Object.entries(pids)
      .filter(([, pid]) => isRunning(pid))
      .map(([name, pid]) => `${name} (${pid})`);
  const deadline = Date.now() + ms;
  while (left().length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  return left();
}

/** kubectl through the gateway, as alice: the seeded deployment is there. */
async function kubectlWorks(folder: string, up: Up): Promise<void> {
  const r = await kubectl(['get', 'deployment', 'web', '-n', 'staging', '-o', 'name'], {
    kubeconfig: join(folder, '.kubegate', 'alice.kubeconfig'),
  });
  assert.equal(r.code, 0, r.stderr + up.output());
  assert.equal(r.stdout.trim(), 'deployment.apps/web');
}

test('killed with SIGKILL, kubegate up takes its control plane with it, and starts again in the same folder', async () => {
  const folder = await newFolder();
  const port = await freePort();
  const first = await ready(launch(folder, port));
  const pids = await controlPlanePids(folder);
  first.child.kill('SIGKILL');
  assert.equal(await first.exited, null);

  assert.deepEqual(await stillRunning(pids, 30_000), [], 'orphans of the killed kubegate up');

  const second = await ready(launch(folder, port));
  await kubectlWorks(folder, second);
  assert.equal(await second.stop(), 0, second.output());
});

test('a second kubegate up in the folder of a running one refuses, naming it, and leaves its control plane alone', async () => {
  const folder = await newFolder();
  const first = await ready(launch(folder, await freePort()));
  const pids = await controlPlanePids(folder);

  // Another port, so that only the folder is shared.
  const second = launch(folder, await freePort());
  const outcome = await Promise.race([second.exited, ready(second).then(() => 'came up' as const)]);
  if (outcome === 'came up') await second.stop();
  assert.equal(outcome, 1, second.output());
  const printed = second.output();
  assert.match(
    printed,
    new RegExp(
      `^kubegate: the control plane in \\S+ belongs to process ${first.pid}, which is still running \\(.*\\): stop it first \\(Ctrl-C where it runs, or kill ${first.pid}\\)$`,
      'm',
    ),
  );

  for (const [name, pid] of Object.entries(pids)) assert.ok(isRunning(pid), `${name} (${pid}) was stopped`);
  await kubectlWorks(folder, first);
  assert.equal(await first.stop(), 0, first.output());
});

test('leftovers of a kubegate up that ran without setpriv are stopped by the next start, which says so', async () => {
  const folder = await newFolder();
  const port = await freePort();
  // A setpriv that fails: what a machine without a usable one looks like to kubegate.
  const shim = join(folder, 'no-setpriv');
  await mkdir(shim);
  await writeFile(join(shim, 'setpriv'), '#!/bin/sh\necho "setpriv: not here" >&2\nexit 1\n');
  await chmod(join(shim, 'setpriv'), 0o755);
  const first = await ready(launch(folder, port, `${shim}:${process.env.PATH}`));
  assert.match(first.output(), /setpriv \(util-linux\) is not available/);
  const pids = await controlPlanePids(folder);
  first.child.kill('SIGKILL');
  assert.equal(await first.exited, null);
  // Without setpriv they do outlive it: the leftovers this test is about.
  for (const [name, pid] of Object.entries(pids)) assert.ok(isRunning(pid), `${name} (${pid}) exited`);

  const second = await ready(launch(folder, port));
  const line = second.output().match(/stopping what an earlier start left running in \S+: (.*) \(\d+ ms\)$/m);
  assert.ok(line, second.output());
  assert.deepEqual(
    line[1]!.split(', ').sort(),
    Object.entries(pids)
      .map(([name, pid]) => `${name} (pid ${pid})`)
      .sort(),
  );
  assert.deepEqual(await stillRunning(pids, 0), [], 'leftovers still run after the new start');
  await kubectlWorks(folder, second);
  assert.equal(await second.stop(), 0, second.output());
});
