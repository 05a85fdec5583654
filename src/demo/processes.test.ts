// The test bed's children die with the process that started them (setpriv --pdeathsig), also when
// it is killed with SIGKILL; and a recorded PID is only signalled while it is still the recorded
// process, so a later process given the same PID is never killed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import {
  isRunning,
  isSameProcess,
  observeProcess,
  parseProcStat,
  selfRecord,
  startProcess,
  stopRecorded,
} from './processes.js';

const linux = { skip: process.platform !== 'linux' ? 'reads /proc' : false };

/** Polls until `pid` no longer runs; false if it still runs at the deadline. */
async function goneWithin(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (!isRunning(pid)) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return !isRunning(pid);
}

test('parseProcStat counts the fields after the last ")" (a command name may hold spaces and parentheses)', () => {
  const rest = Array.from({ length: 50 }, (_, i) => String(i + 3));
  rest[0] = 'S';
  rest[1] = '42';
  rest[22 - 3] = '987654';
  assert.deepEqual(parseProcStat(`1234 (a (b) c) ${rest.join(' ')}`), {
    state: 'S',
    ppid: 42,
    startTime: '987654',
  });
  assert.equal(parseProcStat('1234 no parentheses'), null);
  assert.equal(parseProcStat('1234 (short) S 1 2'), null);
});

test('observeProcess sees this process with a start time, and nothing at a PID no process has', linux, () => {
  const me = observeProcess(process.pid);
  assert.ok(me);
  assert.match(me.startTime, /^\d+$/);
  // Node 24's test runner starts the file by the path it was given (relative), Node 20 absolute.
  assert.ok(
    me.argv.some((a) => a.endsWith('processes.test.ts')),
    `its command line names this test file: ${me.argv.join(' ')}`,
  );
  assert.deepEqual(selfRecord(), { pid: process.pid, startTime: me.startTime });
  assert.ok(isSameProcess(selfRecord(), me));
  assert.ok(!isSameProcess({ pid: process.pid, startTime: '1' }, me));
  // PIDs stop at pid_max (at most 2^22).
  assert.equal(observeProcess(2 ** 22 + 1), null);
});

test('a child started by startProcess dies when its starter is killed with SIGKILL', linux, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'kubegate-processes-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  // The starter: a node process that starts `sleep` through startProcess and prints its PID.
  const script = `
    import { startProcess } from ${JSON.stringify(join(import.meta.dirname, 'processes.ts'))};
    const m = startProcess('sleep', 'sleep', ['1000'], ${JSON.stringify(join(dir, 'sleep.log'))});
    console.log(m.pid);
    setInterval(() => {}, 1000);
  `;
  const starter = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [line] = (await once(createInterface({ input: starter.stdout }), 'line')) as [string];
  const child = Number(line);
  t.after(() => {
    if (isRunning(child)) process.kill(child, 'SIGKILL');
  });
  assert.ok(isRunning(child), 'sleep runs');
  assert.deepEqual(observeProcess(child)?.argv, ['sleep', '1000'], 'setpriv has exec-ed the command');
  starter.kill('SIGKILL');
  await once(starter, 'exit');
  assert.ok(await goneWithin(child, 10_000), `sleep (pid ${child}) outlived its starter`);
});

test(
  'stopRecorded stops the recorded process, and leaves a process whose start time differs',
  linux,
  async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'kubegate-processes-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const m = startProcess('sleep', 'sleep', ['1000'], join(dir, 'sleep.log'));
    t.after(() => m.child.kill('SIGKILL'));
    assert.ok(m.startTime !== null);
    // The same PID with another start time: what a record of an earlier process given this PID is.
    await stopRecorded('sleep', { pid: m.pid, startTime: String(Number(m.startTime) - 1) }, 0);
    assert.ok(isRunning(m.pid), 'a process that is not the recorded one was signalled');
    await stopRecorded('sleep', { pid: m.pid, startTime: m.startTime }, 1_000);
    assert.equal(await m.exited, 'SIGTERM');
  },
);
