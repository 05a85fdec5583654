// Crash safety end to end (issue 5, item 7): kubegate is killed with SIGKILL in the middle of a
// load of concurrent mutations, ten times over, and restarted on the same data directory and
// port. After every restart:
//   (a) every pending request made so far is there in the state it had before the crash: a
//       pending one stays pending and is approvable, an approved one lets its re-run through once
//       (also a held client whose connection the crash cut), a used grant stays used;
//   (b) every mutation the API server's own audit log shows as sent by kubegate in this test's
//       namespace has a durable `decided` record in kubegate's trail with the same request id
//       (DESIGN.md, security invariant 1: a mutation is never forwarded before its record);
//   (c) `kubegate audit verify` passes on the trail the crash left behind.
// The counts checked are printed as test diagnostics.
import { test, before, after } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Agent, request } from 'undici';
import { stringify } from 'yaml';
import { useTestbed } from '../fixtures/testbed.js';
import { requestIdOf, upstreamMutations, type UpstreamEvent } from '../fixtures/upstream-mutations.js';
import { kubectl, startKubectl, type RunningKubectl } from '../fixtures/kubectl.js';
import { startGateway, kubegate, readAuditTrail, type GatewayHandle } from '../fixtures/gateway.js';
import { reviewerOf, type Reviewer } from '../fixtures/reviewer.js';
import type { TestbedState } from '../../src/demo/control-plane.js';
import { stopPid } from '../../src/demo/processes.js';
import type { PendingRequest } from '../../src/approvals/types.js';

const ROUNDS = 10;
const WORKERS = 8;
/** The load runs for a random time in this range before the kill, so the kill lands mid-load. */
const KILL_AFTER_MS = [700, 1500] as const;

const root = resolve(import.meta.dirname, '../..');
const ns = `crash-${randomBytes(3).toString('hex')}`;

const policy = {
  apiVersion: 'kubegate.dev/v1alpha1',
  kind: 'Policy',
  defaults: { action: 'allow' },
  rules: [
    {
      name: 'configmaps-flow',
      match: { verbs: ['create', 'update', 'patch', 'delete'], resources: ['configmaps'], namespaces: [ns] },
      action: 'allow',
    },
    {
      name: 'approve-configmaps-deferred',
      match: { verbs: ['create'], resources: ['configmaps'], namespaces: [ns], names: ['approve-*'] },
      action: 'approve',
      approval: { approvers: ['group:sre'], count: 1, mode: 'deferred', grantTTL: '30m' },
    },
    {
      name: 'hold-configmaps',
      match: { verbs: ['create'], resources: ['configmaps'], namespaces: [ns], names: ['hold-*'] },
      action: 'approve',
      approval: { approvers: ['group:sre'], count: 1, mode: 'hold', grantTTL: '30m' },
    },
  ],
};

let tb: TestbedState;
let gw: GatewayHandle;
let alice: string; // requester (group dev), client certificate
let bob: string; // reviewer (group sre), client certificate
let loadToken: string; // the load's user (group dev), bearer token
let current: Running | null = null;
const heldClients: RunningKubectl[] = [];

/** The kubegate process now serving gw.url: the fixture's first one, then our restarts. */
interface Running {
  readonly child: ChildProcess;
  readonly exited: Promise<string>;
  output(): string;
}

function track(child: ChildProcess): Running {
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<string>((res) => {
    if (child.exitCode !== null || child.signalCode !== null) res(String(child.signalCode ?? child.exitCode));
    else child.once('exit', (code, signal) => res(String(signal ?? code)));
  });
  return { child, exited, output: () => output.slice(-4000) };
}

/** `kubegate serve` again on the same config: same data directory, same port, same PKI. */
async function restartGateway(): Promise<Running> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(root, 'src/cli/main.ts'), 'serve', '--config', gw.configFile],
    { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const running = track(child);
  const agent = new Agent({ connect: { ca: gw.caPem } });
  const deadline = Date.now() + 30_000;
  try {
    for (;;) {
      if (child.exitCode !== null)
        throw new Error(`kubegate exited (${child.exitCode}):\n${running.output()}`);
      try {
        // Any answer means it listens (401: no credentials).
        const res = await request(`${gw.url}/version`, {
          dispatcher: agent,
          signal: AbortSignal.timeout(2_000),
        });
        await res.body.dump();
        return running;
      } catch (err) {
        if (Date.now() > deadline)
          throw new Error(`kubegate did not listen again:\n${running.output()}`, { cause: err });
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  } finally {
    await agent.close();
  }
}

async function killHard(running: Running): Promise<void> {
  running.child.kill('SIGKILL');
  const timeout = new Promise<string>((r) => setTimeout(() => r('timeout'), 10_000).unref());
  const how = await Promise.race([running.exited, timeout]);
  assert.equal(how, 'SIGKILL', `kubegate did not die of SIGKILL (${how})`);
}

// — the API server's audit log, read incrementally (the test bed's log is shared by all files) —

let upstreamReader: (() => Promise<Map<string, UpstreamEvent>>) | null = null;
const readUpstreamMutations = (): Promise<Map<string, UpstreamEvent>> =>
  (upstreamReader ??= upstreamMutations(tb.auditLog, ns))();

/** Request ids of the trail's `decided` records, and the trail's size. */
async function decidedRequestIds(): Promise<{ ids: Set<string>; records: number }> {
  const ids = new Set<string>();
  for (const { event } of await readAuditTrail(gw.auditFile, { kind: 'decided' }))
    if (event.requestId) ids.add(event.requestId);
  return { ids, records: (await readAuditTrail(gw.auditFile)).length };
}

// — the load: creates, updates, patches, deletes and reads of configmaps through kubegate —

interface LoadStats {
  sent: number;
  answered: number;
  mutationsOk: number;
  failed: number;
  inFlight: number;
}

function startLoad(round: number, stop: AbortSignal): { stats: LoadStats; done: Promise<void> } {
  const stats: LoadStats = { sent: 0, answered: 0, mutationsOk: 0, failed: 0, inFlight: 0 };
  const agent = new Agent({
    connect: { ca: gw.caPem },
    headersTimeout: 20_000,
    bodyTimeout: 20_000,
  });
  const base = `${gw.url}/api/v1/namespaces/${ns}/configmaps`;
  const auth = { authorization: `Bearer ${loadToken}` };
  const json = { ...auth, 'content-type': 'application/json' };
  const send = async (
    method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
    url: string,
    headers: Record<string, string>,
    body?: string,
  ): Promise<void> => {
    stats.sent += 1;
    stats.inFlight += 1;
    try {
      // No abort on stop: the crash, not the client, ends what is in flight.
      const res = await request(url, { dispatcher: agent, method, headers, body });
      await res.body.dump({ limit: 1 << 20 });
      stats.answered += 1;
      if (method !== 'GET' && res.statusCode < 300) stats.mutationsOk += 1;
    } catch {
      stats.failed += 1;
    } finally {
      stats.inFlight -= 1;
    }
  };
  const configmap = (name: string, value: string): string =>
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name, namespace: ns },
      data: { value },
    });
  const worker = async (w: number): Promise<void> => {
    for (let n = 0; !stop.aborted; n++) {
      const name = `load-${round}-${w}-${n}`;
      const steps: (() => Promise<void>)[] = [
        () => send('POST', base, json, configmap(name, 'created')),
        () =>
          send(
            'PATCH',
            `${base}/${name}`,
            { ...auth, 'content-type': 'application/merge-patch+json' },
            JSON.stringify({ data: { value: 'patched' } }),
          ),
        () => send('GET', `${base}?limit=5`, auth),
        () => send('PUT', `${base}/${name}`, json, configmap(name, 'updated')),
        () => send('GET', `${base}/${name}`, auth),
        // Every other object stays, so the list grows and deletes meet a mix of objects.
        ...(n % 2 === 0 ? [() => send('DELETE', `${base}/${name}`, auth)] : []),
      ];
      for (const step of steps) {
        if (stop.aborted) break;
        await step();
      }
    }
  };
  const done = Promise.all(Array.from({ length: WORKERS }, (_, w) => worker(w))).then(() => agent.destroy());
  return { stats, done };
}

// — the requester's and the reviewer's side —

/** What the test did to each pending request, and so what it may do next. */
interface Tracked {
  readonly id: string;
  readonly name: string;
  /**
   * `create`: its object is not there yet, so an approved re-run creates it; `used`: its grant
   * created the object; `settled`: nothing more to do with it.
   */
  stage: 'create' | 'used' | 'settled';
}

const tracked = new Map<string, Tracked>();

async function manifest(name: string): Promise<string> {
  const file = join(tb.dir, `${ns}-${name}.json`);
  await writeFile(
    file,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name, namespace: ns },
      data: { k: 'v' },
    }),
  );
  return file;
}

const asAlice = async (name: string) =>
  kubectl(['create', '-f', await manifest(name)], { kubeconfig: alice, timeoutMs: 60_000 });

/** kubectl create of `name`: answered ApprovalRequired; returns the pending request's id. */
async function askForApproval(name: string): Promise<string> {
  const r = await asAlice(name);
  assert.equal(r.code, 1, `${name}: ${r.stdout}${r.stderr}`);
  assert.match(r.stderr, /Error from server \(ApprovalRequired\)/);
  const id = /kg-[a-z2-7]+/.exec(r.stderr)?.[0];
  assert.ok(id, `no request id in: ${r.stderr}`);
  return id;
}

async function approve(id: string): Promise<void> {
  const reviewer = await reviewerOf(gw, bob);
  try {
    const r = await reviewer.cli(['approve', id, '--comment', 'crash test']);
    assert.equal(r.code, 0, `approve ${id}: ${r.stderr}`);
  } finally {
    await reviewer.close();
  }
}

/** The approved re-run: goes through once. */
async function rerunGoesThrough(t: Tracked): Promise<void> {
  const r = await asAlice(t.name);
  assert.equal(r.code, 0, `re-run of ${t.name} (${t.id}) after approval: ${r.stderr}`);
  assert.match(r.stdout, new RegExp(`configmap/${t.name} created`));
  t.stage = 'used';
}

interface Snapshot {
  readonly id: string;
  readonly state: PendingRequest['state'];
  readonly grantUsed: boolean;
  readonly reviews: number;
}

const snapshotOf = (p: PendingRequest): Snapshot => ({
  id: p.id,
  state: p.state,
  grantUsed: p.grantUsed,
  reviews: p.reviews.length,
});

async function pendingSnapshot(reviewer: Reviewer): Promise<Snapshot[]> {
  return (await reviewer.requests())
    .filter((p) => p.requester.user === 'alice')
    .map(snapshotOf)
    .sort((a, b) => a.id.localeCompare(b.id));
}

before(async () => {
  tb = await useTestbed();
  const policyFile = join(tb.dir, `crash-${ns}.yaml`);
  await writeFile(policyFile, stringify(policy));
  gw = await startGateway(tb, {
    config: { policy: { file: policyFile }, approvals: { holdTimeoutMs: 5 * 60_000 } },
  });
  current = track(gw.process);
  for (const args of [
    ['create', 'namespace', ns],
    ['create', 'rolebinding', 'dev-edit', '-n', ns, '--clusterrole=edit', '--group=dev'],
    ['create', 'rolebinding', 'sre-view', '-n', ns, '--clusterrole=view', '--group=sre'],
  ]) {
    const r = await kubectl(args, { kubeconfig: tb.adminKubeconfig });
    assert.equal(r.code, 0, r.stderr);
  }
  alice = await gw.kubeconfigFor('alice', ['dev']);
  bob = await gw.kubeconfigFor('bob', ['sre']);
  loadToken = await gw.tokenFor('loader', ['dev']);
});

after(async () => {
  for (const k of heldClients) k.stop();
  if (current !== null && current.child.pid !== undefined && current.child.exitCode === null)
    await stopPid(current.child.pid, current.exited, 10_000);
  await gw?.stop();
  await kubectl(['delete', 'namespace', ns, '--wait=false'], { kubeconfig: tb.adminKubeconfig });
});

test(
  `kill -9 under load, ${ROUNDS} times: pending requests, grants and the audit trail survive`,
  { timeout: 240_000 },
  async (t) => {
    const totals = { requestsSent: 0, mutationsOk: 0, inFlightAtKill: 0 };
    let snapshot: Snapshot[] = [];
    for (let round = 0; round <= ROUNDS; round++) {
      const started = Date.now();
      if (round > 0) {
        current = await restartGateway();
        await afterCrash(t, round, snapshot);
      }
      if (round === ROUNDS) break;

      // A new deferred request; some rounds approve it, and some use its grant, before the crash.
      const name = `approve-${round}`;
      const id = await askForApproval(name);
      tracked.set(id, { id, name, stage: 'create' });
      const variant = round % 3;
      if (variant >= 1) await approve(id);
      if (variant === 2) await rerunGoesThrough(tracked.get(id)!);
      // And in the rounds that leave it pending, a held client that the crash will cut off.
      let held: RunningKubectl | null = null;
      if (variant === 0) {
        const holdName = `hold-${round}`;
        held = startKubectl(['create', '-f', await manifest(holdName)], { kubeconfig: alice });
        heldClients.push(held);
        const reviewer = await reviewerOf(gw, bob);
        try {
          const pending = await reviewer.waitFor(
            (p) =>
              p.requester.user === 'alice' &&
              p.mode === 'hold' &&
              p.state === 'pending' &&
              !tracked.has(p.id),
          );
          tracked.set(pending.id, { id: pending.id, name: holdName, stage: 'create' });
        } finally {
          await reviewer.close();
        }
      }
      const reviewer = await reviewerOf(gw, bob);
      try {
        snapshot = await pendingSnapshot(reviewer);
      } finally {
        await reviewer.close();
      }

      // Load, then SIGKILL in the middle of it.
      const stop = new AbortController();
      const load = startLoad(round, stop.signal);
      await new Promise((r) => setTimeout(r, randomInt(KILL_AFTER_MS[0], KILL_AFTER_MS[1])));
      const inFlight = load.stats.inFlight;
      stop.abort();
      await killHard(current!);
      await load.done;
      // (c) The trail exactly as the crash left it (no restart has touched it yet) verifies.
      const leftBehind = await verifyTrail();
      if (held !== null) {
        const ended = await exitOf(held.child);
        assert.notEqual(ended, '0', 'the held kubectl cannot have succeeded without an approval');
        t.diagnostic(`round ${round}: the held kubectl ended (${ended}) when kubegate died`);
      }
      assert.ok(load.stats.mutationsOk > 0, `round ${round}: the load made no mutation before the kill`);
      totals.requestsSent += load.stats.sent;
      totals.mutationsOk += load.stats.mutationsOk;
      totals.inFlightAtKill += inFlight;
      t.diagnostic(
        `round ${round}: load sent ${load.stats.sent} requests (${load.stats.answered} answered, ${load.stats.mutationsOk} of them mutations with 2xx; ${load.stats.failed} cut off), ${inFlight} in flight at kill -9; before any restart, ${leftBehind}; round took ${Date.now() - started} ms`,
      );
    }

    // Once more with everything the last round did, then the totals.
    const { mutations, decided, records } = await checkMutationsRecorded();
    t.diagnostic(
      `totals: ${ROUNDS} kills; load sent ${totals.requestsSent} requests, ${totals.mutationsOk} mutations answered 2xx, ${totals.inFlightAtKill} in flight at the kills; ` +
        `the API server saw ${mutations} mutations from kubegate in ${ns}, each with its decided record (${decided} decided, ${records} records in the trail); ` +
        `${tracked.size} pending requests created`,
    );
    const reviewer = await reviewerOf(gw, bob);
    try {
      const states = (await pendingSnapshot(reviewer)).map((s) => `${s.state}${s.grantUsed ? '/used' : ''}`);
      t.diagnostic(`pending requests by final state: ${JSON.stringify(countBy(states))}`);
    } finally {
      await reviewer.close();
    }
    await stopPid(current!.child.pid!, current!.exited, 10_000);
  },
);

/** `kubegate audit verify` exits 0; returns its verdict line. */
async function verifyTrail(): Promise<string> {
  const verify = await kubegate(['audit', 'verify', '--data-dir', gw.dataDir]).catch(
    (err: { stdout?: string; stderr?: string }) =>
      assert.fail(`audit verify failed: ${err.stdout}${err.stderr}`),
  );
  assert.match(verify.stdout, /audit chain verified: \d+ records/);
  return verify.stdout.trim();
}

/** Every kubegate mutation in ns that the API server logged has a decided record with its id. */
async function checkMutationsRecorded(): Promise<{ mutations: number; decided: number; records: number }> {
  const upstream = await readUpstreamMutations();
  const { ids, records } = await decidedRequestIds();
  const lacking = [...upstream.values()].filter((e) => {
    const id = requestIdOf(e);
    return id === undefined || !ids.has(id);
  });
  assert.deepEqual(
    lacking.map((e) => `${e.verb} ${e.requestURI} (${requestIdOf(e) ?? 'no request id'})`),
    [],
    'every mutation kubegate forwarded has a decided record',
  );
  return { mutations: upstream.size, decided: ids.size, records };
}

/** Checks (a), (b) and (c) after a restart, then acts on each pending request as its state allows. */
async function afterCrash(t: TestContext, round: number, snapshot: readonly Snapshot[]): Promise<void> {
  // (b) Every mutation the API server saw from kubegate has its durable decided record.
  const { mutations, decided, records } = await checkMutationsRecorded();
  // (c) The chain verifies, now that kubegate writes to it again.
  const verified = await verifyTrail();
  t.diagnostic(
    `after kill ${round}: ${mutations} mutations from kubegate at the API server, all ${mutations} with a decided record ` +
      `(${decided} decided records, ${records} records in the trail); ${verified}`,
  );

  // (a) Pending requests as they were before the crash.
  const reviewer = await reviewerOf(gw, bob);
  let after: Snapshot[];
  try {
    after = await pendingSnapshot(reviewer);
  } finally {
    await reviewer.close();
  }
  assert.deepEqual(after, snapshot, `round ${round}: pending requests and grants after the restart`);
  const byId = new Map(after.map((s) => [s.id, s]));
  let approved = 0;
  let reran = 0;
  for (const tr of [...tracked.values()]) {
    const s = byId.get(tr.id);
    assert.ok(s, `${tr.id} (${tr.name}) is gone after the restart`);
    if (s.state === 'pending') {
      // Still approvable after the crash; then its re-run (a held client's too) goes through once.
      await approve(tr.id);
      approved += 1;
      await rerunGoesThrough(tr);
      reran += 1;
    } else if (s.state === 'approved' && !s.grantUsed) {
      await rerunGoesThrough(tr);
      reran += 1;
    } else if (s.state === 'approved' && tr.stage === 'used' && tr.name.startsWith('approve-')) {
      // A grant used before the crash stays used: the same command asks again (deferred, so
      // kubectl is answered at once; a hold-mode one would wait).
      const again = await askForApproval(tr.name);
      assert.notEqual(again, tr.id, 'a used grant is not given again after a restart');
      const reviewer = await reviewerOf(gw, bob);
      try {
        const r = await reviewer.cli(['deny', again, '--comment', 'already created']);
        assert.equal(r.code, 0, r.stderr);
      } finally {
        await reviewer.close();
      }
      tracked.set(again, { id: again, name: tr.name, stage: 'settled' });
      tr.stage = 'settled';
    }
  }
  t.diagnostic(
    `after kill ${round}: ${after.length} pending requests as before the crash; approved ${approved} still pending, ${reran} approved re-runs went through once`,
  );
}

/** How a child process ended, waiting at most 20 s. */
async function exitOf(child: ChildProcess): Promise<string> {
  if (child.exitCode !== null || child.signalCode !== null) return String(child.signalCode ?? child.exitCode);
  const timeout = new Promise<string>((r) => setTimeout(() => r('still running'), 20_000).unref());
  return Promise.race([once(child, 'exit').then(([code, signal]) => String(signal ?? code)), timeout]);
}

function countBy(values: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) out[v] = (out[v] ?? 0) + 1;
  return out;
}
