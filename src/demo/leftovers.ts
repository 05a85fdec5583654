// What an earlier start of the control plane in a folder left running, and what a new start in
// that folder does about it: refuse while the process that started it still runs (its control
// plane is in use: stopping it would pull the cluster from under a running `kubegate up`), else
// stop the processes that are still the recorded ones. Pure: /proc is read through `observe`.
// A PID whose process is not the recorded one (its start time differs: the PID was reused) is
// never in the plan.
import type { ProcessIdentity, ProcessRecord } from './processes.js';

/** What <dir>/state.json records about a start's processes (written early, then complete). */
export interface RunRecord {
  /** The process that started the control plane (`kubegate up`, the test runner, …). */
  readonly owner?: ProcessRecord;
  readonly processes?: Readonly<Record<string, ProcessRecord>>;
  /** PIDs alone: what kubegate wrote before it recorded start times. */
  readonly pids?: Readonly<Record<string, number>>;
}

export interface Leftover {
  readonly name: string;
  /** With the start time observed now, so that stopping it signals only this process. */
  readonly record: ProcessRecord;
}

export type LeftoverPlan =
  | { readonly kind: 'in-use'; readonly owner: ProcessIdentity }
  | { readonly kind: 'stop'; readonly leftovers: readonly Leftover[] };

export function planLeftovers(
  record: RunRecord,
  dir: string,
  self: number,
  observe: (pid: number) => ProcessIdentity | null,
): LeftoverPlan {
  const owner = record.owner;
  if (owner !== undefined && owner.pid !== self && owner.startTime !== null) {
    const seen = observe(owner.pid);
    if (seen !== null && seen.startTime === owner.startTime) return { kind: 'in-use', owner: seen };
  }
  const recorded: [string, ProcessRecord][] =
    record.processes !== undefined
      ? Object.entries(record.processes)
      : Object.entries(record.pids ?? {}).map(([name, pid]) => [name, { pid, startTime: null }]);
  const leftovers: Leftover[] = [];
  for (const [name, rec] of recorded) {
    const seen = observe(rec.pid);
    if (seen === null) continue;
    // Without a recorded start time, the process must name the folder: every process of the
    // control plane is given paths inside it.
    const ours =
      rec.startTime !== null
        ? seen.startTime === rec.startTime
        : seen.argv.some((arg) => arg.includes(`${dir}/`));
    if (ours) leftovers.push({ name, record: { pid: rec.pid, startTime: seen.startTime } });
  }
  return { kind: 'stop', leftovers };
}
