// Child processes of the test bed: started with their output in a log file, stopped by PID with
// a deadline (SIGTERM, then SIGKILL), so that nothing is left running.
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';

export interface Managed {
  readonly name: string;
  readonly pid: number;
  readonly logFile: string;
  readonly child: ChildProcess;
  /** Resolves with the exit code (or signal) once the process has exited. */
  readonly exited: Promise<string>;
}

const running = new Set<number>();
let reaperInstalled = false;

/**
 * Last resort when this process exits without stopping its children (a crash, process.exit):
 * SIGKILL them synchronously, so no control plane outlives the test run.
 */
function installReaper(): void {
  if (reaperInstalled) return;
  reaperInstalled = true;
  process.on('exit', () => {
    for (const pid of running) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });
}

export function startProcess(
  name: string,
  command: string,
  args: readonly string[],
  logFile: string,
): Managed {
  installReaper();
  const fd = openSync(logFile, 'a');
  // Own process group: a terminal's Ctrl-C reaches only us, and we stop the children in order
  // (etcd last; kube-apiserver hangs for long if etcd goes first).
  const child = spawn(command, args, { stdio: ['ignore', fd, fd], detached: true });
  closeSync(fd);
  if (child.pid === undefined) throw new Error(`could not start ${name} (${command})`);
  const pid = child.pid;
  running.add(pid);
  child.on('exit', () => running.delete(pid));
  const exited = new Promise<string>((resolve) => {
    child.on('exit', (code, signal) => resolve(signal ?? String(code)));
    child.on('error', (err) => resolve(`error: ${err.message}`));
  });
  return { name, pid: child.pid, logFile, child, exited };
}

export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitForExit(pid: number, exited: Promise<string> | null, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  if (exited) {
    const timer = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), ms).unref());
    return (await Promise.race([exited, timer])) !== 'timeout';
  }
  while (Date.now() < deadline) {
    if (!isRunning(pid)) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return !isRunning(pid);
}

/** SIGTERM, wait up to `graceMs`, then SIGKILL and wait for the exit. */
export async function stopPid(pid: number, exited: Promise<string> | null, graceMs = 10_000): Promise<void> {
  if (!isRunning(pid)) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  if (await waitForExit(pid, exited, graceMs)) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return;
  }
  await waitForExit(pid, exited, 5_000);
}
