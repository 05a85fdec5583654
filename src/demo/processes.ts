// Child processes of the test bed: started with their output in a log file, stopped by PID with
// a deadline (SIGTERM, then SIGKILL), so that nothing is left running. On Linux each child is
// started through util-linux's `setpriv --pdeathsig KILL`, so the kernel kills it when this
// process dies, also by SIGKILL, which no handler of ours can catch. A recorded PID is only ever
// signalled while /proc shows the same process (same start time): a PID is reused once its
// process is gone, and a later process given it must never be killed.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, readFileSync } from 'node:fs';

export interface Managed {
  readonly name: string;
  readonly pid: number;
  /** /proc start time (see ProcessRecord); null where there is no /proc. */
  readonly startTime: string | null;
  readonly logFile: string;
  readonly child: ChildProcess;
  /** Resolves with the exit code (or signal) once the process has exited. */
  readonly exited: Promise<string>;
}

/** Enough to find a process again later, and to tell it from a later process given the same PID. */
export interface ProcessRecord {
  readonly pid: number;
  /**
   * When it started, in clock ticks after boot (/proc/PID/stat, field 22): fixed for the life of
   * the process, also across exec, and different for a later process given the same PID.
   */
  readonly startTime: string | null;
}

/** A live process as /proc shows it. */
export interface ProcessIdentity {
  readonly pid: number;
  readonly startTime: string;
  readonly argv: readonly string[];
}

/**
 * Parses /proc/PID/stat. The second field is the command name in parentheses and may itself hold
 * spaces and parentheses, so the fields are counted from the last ')'.
 */
export function parseProcStat(text: string): { state: string; ppid: number; startTime: string } | null {
  const close = text.lastIndexOf(')');
  if (close < 0) return null;
  // After ')': state (field 3), ppid (4), … starttime (22).
  const fields = text
    .slice(close + 1)
    .trim()
    .split(/\s+/);
  const [state, ppid] = fields;
  const startTime = fields[22 - 3];
  if (state === undefined || ppid === undefined || startTime === undefined || !/^\d+$/.test(startTime))
    return null;
  return { state, ppid: Number(ppid), startTime };
}

/**
 * The process with this PID, or null when there is none. A zombie (exited, not yet reaped: an
 * orphan waits for init to reap it) counts as gone: it holds no port, lock or file.
 * Linux only; elsewhere null (nothing can be verified, so nothing recorded is signalled).
 */
export function observeProcess(pid: number): ProcessIdentity | null {
  let stat: ReturnType<typeof parseProcStat>;
  let argv: string[];
  try {
    stat = parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return null;
  }
  if (stat === null || stat.state === 'Z' || stat.state === 'X') return null;
  if (argv.at(-1) === '') argv.pop();
  return { pid, startTime: stat.startTime, argv };
}

/** Whether `observed` is the recorded process itself (not a later one given the same PID). */
export function isSameProcess(record: ProcessRecord, observed: ProcessIdentity | null): boolean {
  return observed !== null && record.startTime !== null && observed.startTime === record.startTime;
}

/** This process, as later runs find it in a record. */
export function selfRecord(): ProcessRecord {
  return { pid: process.pid, startTime: observeProcess(process.pid)?.startTime ?? null };
}

let parentDeathPrefix: readonly string[] | undefined;

/**
 * The command prefix that makes a child die with this process: `setpriv --pdeathsig KILL --`
 * where it works (tried once on `true`), else none. PR_SET_PDEATHSIG fires when the thread that
 * forked the child exits; node's child_process forks from the main thread (the event loop's), so
 * it fires when the process ends. Started from a worker thread, children would die with the worker.
 */
export function diesWithParentPrefix(): readonly string[] {
  if (parentDeathPrefix !== undefined) return parentDeathPrefix;
  parentDeathPrefix = [];
  if (process.platform === 'linux') {
    try {
      execFileSync('setpriv', ['--pdeathsig', 'KILL', '--', 'true'], { stdio: 'ignore', timeout: 10_000 });
      parentDeathPrefix = ['setpriv', '--pdeathsig', 'KILL', '--'];
    } catch {
      // no (working) setpriv: leftovers are stopped by the next start instead (control-plane.ts)
    }
  }
  return parentDeathPrefix;
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
  const [wrapper, ...wrapperArgs] = diesWithParentPrefix();
  const fd = openSync(logFile, 'a');
  // Own process group: a terminal's Ctrl-C reaches only us, and we stop the children in order
  // (etcd last; kube-apiserver hangs for long if etcd goes first). setpriv execs the binary, so
  // the PID is the binary's.
  const child =
    wrapper === undefined
      ? spawn(command, args, { stdio: ['ignore', fd, fd], detached: true })
      : spawn(wrapper, [...wrapperArgs, command, ...args], { stdio: ['ignore', fd, fd], detached: true });
  closeSync(fd);
  if (child.pid === undefined) throw new Error(`could not start ${name} (${command})`);
  const pid = child.pid;
  running.add(pid);
  child.on('exit', () => running.delete(pid));
  const exited = new Promise<string>((resolve) => {
    child.on('exit', (code, signal) => resolve(signal ?? String(code)));
    child.on('error', (err) => resolve(`error: ${err.message}`));
  });
  // Not yet reaped (only node reaps it, after 'exit'), so the PID is still this child's.
  const startTime = observeProcess(pid)?.startTime ?? null;
  return { name, pid, startTime, logFile, child, exited };
}

/** Whether the process runs (a zombie does not). */
export function isRunning(pid: number): boolean {
  if (process.platform === 'linux') return observeProcess(pid) !== null;
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

/**
 * Stops a process known only by its record (started by another process, or by this one before a
 * restart): signalled only while it is still the recorded process. `graceMs` 0 kills at once.
 * Resolves once it is gone; throws, naming it, if it cannot be signalled or does not go.
 * A record without a start time (no /proc, or written by an older kubegate) is stopped by PID.
 */
export async function stopRecorded(name: string, record: ProcessRecord, graceMs: number): Promise<void> {
  if (record.startTime === null) return stopPid(record.pid, null, graceMs);
  const signal = (sig: NodeJS.Signals): boolean => {
    if (!isSameProcess(record, observeProcess(record.pid))) return false;
    try {
      process.kill(record.pid, sig);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
      throw new Error(`cannot stop ${name} (pid ${record.pid}): ${(err as Error).message}`, { cause: err });
    }
  };
  const gone = async (ms: number): Promise<boolean> => {
    const deadline = Date.now() + ms;
    for (;;) {
      if (!isSameProcess(record, observeProcess(record.pid))) return true;
      if (Date.now() >= deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  if (graceMs > 0) {
    if (!signal('SIGTERM') || (await gone(graceMs))) return;
  }
  if (!signal('SIGKILL')) return;
  if (!(await gone(10_000))) throw new Error(`${name} (pid ${record.pid}) did not exit 10 s after SIGKILL`);
}
