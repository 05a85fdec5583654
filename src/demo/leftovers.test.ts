// What a start does about an earlier start's processes in its folder: refuse while that start's
// process runs, stop the recorded processes that still run, and never touch a PID that a later
// process was given.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planLeftovers, type LeftoverPlan, type RunRecord } from './leftovers.js';
import type { ProcessIdentity } from './processes.js';

const dir = '/tmp/demo/.kubegate/testbed';
const SELF = 100;

/** /proc as the rows see it: PID → the process running there now. */
const procs: Record<number, ProcessIdentity> = {
  10: { pid: 10, startTime: '5000', argv: ['node', 'kubegate', 'up'] },
  11: { pid: 11, startTime: '5100', argv: ['/bin/etcd', `--data-dir=${dir}/etcd`] },
  12: { pid: 12, startTime: '5200', argv: ['/bin/kube-apiserver', `--tls-cert-file=${dir}/pki/a.crt`] },
  // A later process given a recorded PID: the user tailing a log in the folder.
  13: { pid: 13, startTime: '9999', argv: ['tail', '-f', `${dir}/logs/etcd.log`] },
  [SELF]: { pid: SELF, startTime: '8000', argv: ['node', 'kubegate', 'up'] },
};
const observe = (pid: number): ProcessIdentity | null => procs[pid] ?? null;

const rows: { name: string; record: RunRecord; want: LeftoverPlan }[] = [
  {
    name: 'the process that started the control plane still runs: in use, nothing is stopped',
    record: {
      owner: { pid: 10, startTime: '5000' },
      processes: { etcd: { pid: 11, startTime: '5100' } },
    },
    want: { kind: 'in-use', owner: procs[10]! },
  },
  {
    name: 'its starter is gone: the recorded processes that still run are stopped',
    record: {
      owner: { pid: 20, startTime: '4000' },
      processes: {
        etcd: { pid: 11, startTime: '5100' },
        'kube-apiserver': { pid: 12, startTime: '5200' },
        kwok: { pid: 21, startTime: '5300' },
      },
    },
    want: {
      kind: 'stop',
      leftovers: [
        { name: 'etcd', record: { pid: 11, startTime: '5100' } },
        { name: 'kube-apiserver', record: { pid: 12, startTime: '5200' } },
      ],
    },
  },
  {
    name: "the starter's PID now belongs to another process: not in use",
    record: { owner: { pid: 10, startTime: '4999' }, processes: { etcd: { pid: 11, startTime: '5100' } } },
    want: { kind: 'stop', leftovers: [{ name: 'etcd', record: { pid: 11, startTime: '5100' } }] },
  },
  {
    name: 'this process started it (a second start in one process): its own leftovers are stopped',
    record: { owner: { pid: SELF, startTime: '8000' }, processes: { etcd: { pid: 11, startTime: '5100' } } },
    want: { kind: 'stop', leftovers: [{ name: 'etcd', record: { pid: 11, startTime: '5100' } }] },
  },
  {
    name: 'a recorded PID whose process started at another time is never stopped, even if it names the folder',
    record: { owner: { pid: 20, startTime: '4000' }, processes: { etcd: { pid: 13, startTime: '5100' } } },
    want: { kind: 'stop', leftovers: [] },
  },
  {
    name: 'a record of PIDs alone (older kubegate): stopped only if the process names the folder',
    record: { pids: { etcd: 11, kwok: 10 } },
    want: { kind: 'stop', leftovers: [{ name: 'etcd', record: { pid: 11, startTime: '5100' } }] },
  },
  {
    name: 'nothing recorded runs any more: nothing to stop',
    record: { owner: { pid: 20, startTime: '4000' }, processes: { etcd: { pid: 30, startTime: '1' } } },
    want: { kind: 'stop', leftovers: [] },
  },
];

for (const row of rows) {
  test(row.name, () => {
    assert.deepEqual(planLeftovers(row.record, dir, SELF, observe), row.want);
  });
}
