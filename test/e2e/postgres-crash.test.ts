// Crash safety of approvals on PostgreSQL, end to end (issue 14, "Shown by", third bullet): the
// crash test of crash.test.ts, with three `kubegate serve` replicas sharing one PostgreSQL store and
// one data directory. A load of concurrent mutations (plain ones, and creates that an approval rule
// defers or holds) is spread over the replicas at random, and reviewers approve through random
// replicas, several at once for the same request. Ten times over, one replica chosen at random is
// killed with SIGKILL at a random moment of the load while the other two keep serving, and is
// restarted on the same port and config. After every round:
//   - no lost pending request or grant: every request a client was told about, and every one an
//     earlier round saw, is still there; a decided one keeps its state and a used grant stays used;
//   - no request approved twice: at most one review answered 200 per request; in the trail at most
//     one approving `reviewed` record per request, one review per reviewer, one `granted` record per
//     request, and the store agrees with its records (approved ⇔ its approving review, grant used ⇔
//     its `granted` record);
//   - no forwarded mutation without its record: every mutation the API server's own audit log shows
//     as sent by kubegate in this test's namespace has a `decided` record with its request id
//     (DESIGN.md, security invariant 1);
//   - one chain that verifies: seqs 1..N with no gap, and `kubegate audit verify --config` passes.
// The counts checked are printed as test diagnostics.
import { test, before, after } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Agent, request } from 'undici';
import { stringify } from 'yaml';
import { useTestbed } from '../fixtures/testbed.js';
import { requestIdOf, upstreamMutations, type UpstreamEvent } from '../fixtures/upstream-mutations.js';
import { kubectl } from '../fixtures/kubectl.js';
import { startGateway, kubegate, type GatewayHandle } from '../fixtures/gateway.js';
import { openStore } from '../../src/store/open.js';
import type { AuditEntry, AuditVerifyReport } from '../../src/audit/store.js';
import type { TestbedState } from '../../src/demo/control-plane.js';
import { freePort } from '../../src/demo/ports.js';
import { stopPid } from '../../src/demo/processes.js';
import type { PendingRequest } from '../../src/approvals/types.js';
import {
  postgresStoreConfig,
  startTestPostgres,
  type TestPostgres,
} from '../../src/store/postgres/test-server.js';

const ROUNDS = 10;
const REPLICAS = 3;
/** Workers sending plain configmap mutations and reads. */
const WORKERS = 4;
/** The load runs for a random time in this range before the kill, so the kill lands mid-load. */
const KILL_AFTER_MS = [600, 1400] as const;
/** After the restart the load goes on over all three replicas for this long before it stops. */
const AFTER_RESTART_MS = 400;
/** The pace of the requester asking for approvals and of the reviewers' passes (the load's rate). */
const REQUESTER_PACE_MS = 250;
const REVIEWER_PACE_MS = 150;

const root = resolve(import.meta.dirname, '../..');
const ns = `pgcrash-${randomBytes(3).toString('hex')}`;

const policy = {
  apiVersion: 'kubegate.dev/v1alpha1',
  kind: 'Policy',
  defaults: { action: 'allow' },
  rules: [
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
let pg: TestPostgres;
let storeUrl: string;
const replicas: Replica[] = [];
let aliceToken: string; // requester (group dev)
let loadToken: string; // the plain load's user (group dev)
let bobToken: string; // reviewer (group sre)
let carolToken: string; // reviewer (group sre)

/** A kubegate process serving a replica's port: the fixture's first one, then our restarts. */
interface Running {
  readonly child: ChildProcess;
  readonly exited: Promise<string>;
  output(): string;
}

interface Replica {
  readonly index: number;
  readonly handle: GatewayHandle;
  running: Running;
  /** Bearer-token clients' connections to it; replaced after each restart. */
  agent: Agent;
  kills: number;
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

const newAgent = (r: { handle: GatewayHandle }): Agent =>
  new Agent({ connect: { ca: r.handle.caPem }, headersTimeout: 120_000, bodyTimeout: 120_000 });

/** `kubegate serve` again on the replica's config: same store, data directory, port and PKI. */
async function restart(r: Replica): Promise<void> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(root, 'src/cli/main.ts'), 'serve', '--config', r.handle.configFile],
    { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const running = track(child);
  const agent = newAgent(r);
  // Generous: on a busy two-core machine a fresh `node --import tsx` alone takes seconds.
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`replica ${r.index} exited (${child.exitCode}):\n${running.output()}`);
    try {
      // Any answer means it listens (401: no credentials).
      const res = await request(`${r.handle.url}/version`, {
        dispatcher: agent,
        signal: AbortSignal.timeout(2_000),
      });
      await res.body.dump();
      break;
    } catch (err) {
      if (Date.now() > deadline)
        throw new Error(`replica ${r.index} did not listen again:\n${running.output()}`, { cause: err });
      await new Promise((res) => setTimeout(res, 100));
    }
  }
  const old = r.agent;
  r.running = running;
  r.agent = agent;
  await old.destroy().catch(() => undefined);
}

async function killHard(r: Replica): Promise<void> {
  r.running.child.kill('SIGKILL');
  const timeout = new Promise<string>((res) => setTimeout(() => res('timeout'), 10_000).unref());
  const how = await Promise.race([r.running.exited, timeout]);
  assert.equal(how, 'SIGKILL', `replica ${r.index} did not die of SIGKILL (${how})`);
  r.kills += 1;
}

const anyReplica = (): Replica => replicas[randomInt(replicas.length)]!;

// — HTTP through a replica, as a bearer-token user —

interface Answer {
  readonly status: number;
  readonly text: string;
}

async function call(
  r: Replica,
  token: string,
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
  path: string,
  body?: { readonly json: unknown; readonly type?: string },
  signal?: AbortSignal,
): Promise<Answer> {
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  if (body !== undefined) headers['content-type'] = body.type ?? 'application/json';
  const res = await request(`${r.handle.url}${path}`, {
    dispatcher: r.agent,
    method,
    headers,
    ...(body === undefined ? {} : { body: JSON.stringify(body.json) }),
    ...(signal === undefined ? {} : { signal }),
  });
  return { status: res.statusCode, text: await res.body.text() };
}

const configmapsPath = `/api/v1/namespaces/${ns}/configmaps`;
const configmap = (name: string, data: Record<string, string>) => ({
  json: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns }, data },
});
/** The body of every approve-* and hold-* create: the same bytes each time, so a re-run has its fingerprint. */
const askedFor = (name: string) => configmap(name, { k: 'v' });

/** All of alice's pending requests (any state) as bob sees them, through replica `r`. */
async function requestsVia(r: Replica, state?: PendingRequest['state']): Promise<PendingRequest[]> {
  const a = await call(r, bobToken, 'GET', `/kubegate/v1/requests${state ? `?state=${state}` : ''}`);
  assert.equal(a.status, 200, `GET /kubegate/v1/requests via replica ${r.index}: ${a.text}`);
  const body = JSON.parse(a.text) as PendingRequest[] | { items: PendingRequest[] };
  return (Array.isArray(body) ? body : body.items).filter((p) => p.requester.user === 'alice');
}

// — what the clients were told, over the whole run —

const told = new Map<string, string>(); // pending id → name: the requester was answered ApprovalRequired
const reviewsOk = new Map<string, string[]>(); // pending id → the reviews answered 200 ("bob approve")
const grantUsedSeen = new Set<string>(); // pending ids whose approved re-run was answered 201
const statuses = new Map<string, number>(); // "what status" → count
const fiveHundreds: string[] = [];

function note(what: string, a: Answer): void {
  const key = `${what} ${a.status}`;
  statuses.set(key, (statuses.get(key) ?? 0) + 1);
  if (a.status >= 500) fiveHundreds.push(`${what}: ${a.status} ${a.text.slice(0, 300)}`);
}

interface LoadStats {
  sent: number;
  answered: number;
  mutationsOk: number;
  failed: number;
  inFlight: number;
  holdsThrough: number;
  holdsCut: number;
  reviews: number;
  reruns: number;
}

function startLoad(round: number, stop: AbortSignal): { stats: LoadStats; done: Promise<void> } {
  const stats: LoadStats = {
    sent: 0,
    answered: 0,
    mutationsOk: 0,
    failed: 0,
    inFlight: 0,
    holdsThrough: 0,
    holdsCut: 0,
    reviews: 0,
    reruns: 0,
  };
  /** Sends through a random replica; null when the connection was cut or refused (a kill). */
  const send = async (
    what: string,
    token: string,
    method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
    path: string,
    body?: { readonly json: unknown; readonly type?: string },
    signal?: AbortSignal,
  ): Promise<Answer | null> => {
    stats.sent += 1;
    stats.inFlight += 1;
    try {
      // No abort on stop (but for a held client): the crash, not the client, ends what is in flight.
      const a = await call(anyReplica(), token, method, path, body, signal);
      stats.answered += 1;
      if (method !== 'GET' && a.status < 300) stats.mutationsOk += 1;
      note(what, a);
      return a;
    } catch {
      stats.failed += 1;
      return null;
    } finally {
      stats.inFlight -= 1;
    }
  };
  const pace = (ms: number): Promise<void> =>
    new Promise((res) => {
      if (stop.aborted) return res();
      const done = (): void => {
        clearTimeout(timer);
        stop.removeEventListener('abort', done);
        res();
      };
      const timer = setTimeout(done, ms);
      stop.addEventListener('abort', done, { once: true });
    });

  // Plain mutations and reads of load-* configmaps, as in crash.test.ts.
  const worker = async (w: number): Promise<void> => {
    for (let n = 0; !stop.aborted; n++) {
      const name = `load-${round}-${w}-${n}`;
      const path = `${configmapsPath}/${name}`;
      const steps: (() => Promise<unknown>)[] = [
        () => send('load', loadToken, 'POST', configmapsPath, configmap(name, { value: 'created' })),
        () =>
          send('load', loadToken, 'PATCH', path, {
            json: { data: { value: 'patched' } },
            type: 'application/merge-patch+json',
          }),
        () => send('load', loadToken, 'GET', `${configmapsPath}?limit=5`),
        () => send('load', loadToken, 'PUT', path, configmap(name, { value: 'updated' })),
        ...(n % 2 === 0 ? [() => send('load', loadToken, 'DELETE', path)] : []),
      ];
      for (const step of steps) {
        if (stop.aborted) break;
        await step();
      }
    }
  };

  // Alice asks for deferred approvals: each answer names the pending request it created.
  const requester = async (): Promise<void> => {
    for (let k = 0; !stop.aborted; k++) {
      const name = `approve-${round}-${k}`;
      const a = await send('ask', aliceToken, 'POST', configmapsPath, askedFor(name));
      if (a !== null) {
        assert.equal(a.status, 403, `${name}: ${a.text}`);
        assert.match(a.text, /ApprovalRequired/);
        const id = /kg-[a-z2-7]+/.exec(a.text)?.[0];
        assert.ok(id, `no request id in: ${a.text}`);
        told.set(id, name);
      }
      await pace(REQUESTER_PACE_MS);
    }
  };

  // Alice's held creates, one at a time: through on approval (maybe given on another replica),
  // cut when her replica dies; when the load stops she leaves (the request turns deferred).
  let holding: string | null = null;
  const holder = async (): Promise<void> => {
    for (let k = 0; !stop.aborted; k++) {
      holding = `hold-${round}-${k}`;
      const a = await send('hold', aliceToken, 'POST', configmapsPath, askedFor(holding), stop);
      if (a === null) stats.holdsCut += 1;
      else if (a.status === 201) stats.holdsThrough += 1;
      holding = null;
    }
  };

  // Reviewers: each pass lists the pending requests through a random replica and reviews about
  // half of them, three reviews at once through three random replicas: two of bob's approvals and
  // one of carol's (sometimes a denial). The policy asks for one approval, so one of them decides.
  const reviewer = async (): Promise<void> => {
    while (!stop.aborted) {
      let pending: PendingRequest[] = [];
      try {
        pending = await requestsVia(anyReplica(), 'pending');
      } catch {
        stats.failed += 1;
      }
      await Promise.all(
        pending
          .filter(() => randomInt(2) === 0)
          .map(async (p) => {
            const carol = randomInt(5) === 0 ? 'deny' : 'approve';
            const reviews = [
              ['bob', bobToken, 'approve'],
              ['bob', bobToken, 'approve'],
              ['carol', carolToken, carol],
            ] as const;
            await Promise.all(
              reviews.map(async ([who, token, decision]) => {
                stats.reviews += 1;
                const a = await send(
                  `${decision}`,
                  token,
                  'POST',
                  `/kubegate/v1/requests/${p.id}/${decision}`,
                  { json: { comment: 'postgres crash test' } },
                );
                if (a?.status === 200)
                  reviewsOk.set(p.id, [...(reviewsOk.get(p.id) ?? []), `${who} ${decision}`]);
              }),
            );
          }),
      );
      await pace(REVIEWER_PACE_MS);
    }
  };

  // Alice re-runs approved requests whose grant is unused (a deferred one, or a held one whose
  // client was cut), one at a time through a random replica: 201 means the grant let it through.
  const rerunner = async (): Promise<void> => {
    while (!stop.aborted) {
      let approved: PendingRequest[] = [];
      try {
        approved = await requestsVia(anyReplica(), 'approved');
      } catch {
        stats.failed += 1;
      }
      for (const p of approved) {
        if (stop.aborted) break;
        if (p.grantUsed || p.request.name === holding) continue;
        stats.reruns += 1;
        // With the stop signal: a re-run that finds no grant may be held (a hold-* one) until the stop.
        const a = await send('rerun', aliceToken, 'POST', configmapsPath, askedFor(p.request.name), stop);
        if (a?.status === 201) grantUsedSeen.add(p.id);
        // Answered ApprovalRequired: the grant was gone (a cut re-run used it), so this asked anew.
        const id = a?.status === 403 ? /kg-[a-z2-7]+/.exec(a.text)?.[0] : undefined;
        if (id !== undefined) told.set(id, p.request.name);
      }
      await pace(REVIEWER_PACE_MS);
    }
  };

  const done = Promise.all([
    ...Array.from({ length: WORKERS }, (_, w) => worker(w)),
    requester(),
    holder(),
    reviewer(),
    rerunner(),
  ]).then(() => undefined);
  return { stats, done };
}

// — the API server's audit log, read incrementally (the test bed's log is shared by all files) —

let upstreamReader: (() => Promise<Map<string, UpstreamEvent>>) | null = null;
const readUpstreamMutations = (): Promise<Map<string, UpstreamEvent>> =>
  (upstreamReader ??= upstreamMutations(tb.auditLog, ns))();

// — the checks —

interface Snapshot {
  readonly state: PendingRequest['state'];
  readonly grantUsed: boolean;
}

/** What the checks found, for the diagnostics. */
interface Checked {
  readonly requests: number;
  readonly byState: Record<string, number>;
  readonly records: number;
  readonly mutations: number;
  readonly decided: number;
  readonly verified: string;
}

/**
 * Every check, with the load stopped and all replicas up; `previous` is the last round's snapshot,
 * which this round's must keep.
 */
async function checkAll(
  round: number,
  previous: Map<string, Snapshot>,
): Promise<[Map<string, Snapshot>, Checked]> {
  // No lost pending request or grant. Asked through each replica: they share one store.
  const now = new Map<string, Snapshot>();
  for (const p of await requestsVia(replicas[round % REPLICAS]!))
    now.set(p.id, { state: p.state, grantUsed: p.grantUsed });
  // Each replica sees them too (a request whose client left at the stop may still be created
  // meanwhile: a superset is fine; and a re-run abandoned at the stop may still use its grant, or
  // a late review decide a request, between two reads: a state may only have moved on).
  for (const r of replicas) {
    const seen = new Map((await requestsVia(r)).map((p) => [p.id, p]));
    const differ = [...now]
      .filter(([id, s]) => {
        const later = seen.get(id);
        if (later === undefined) return true;
        if (s.state === 'pending') return false;
        return later.state !== s.state || (s.grantUsed && !later.grantUsed);
      })
      .map(
        ([id, s]) =>
          `${id}: ${JSON.stringify(s)} vs ${seen.get(id)?.state ?? 'missing'}/${seen.get(id)?.grantUsed}`,
      );
    assert.deepEqual(differ, [], `round ${round}: replica ${r.index} sees the same requests`);
  }
  const lost = [...told.keys(), ...previous.keys()].filter((id) => !now.has(id));
  assert.deepEqual(lost, [], `round ${round}: pending requests lost`);
  for (const [id, before] of previous) {
    const after = now.get(id)!;
    if (before.state !== 'pending') assert.equal(after.state, before.state, `${id} stays ${before.state}`);
    if (before.grantUsed) assert.ok(after.grantUsed, `${id}'s used grant stays used`);
  }
  for (const [id, ok] of reviewsOk) {
    assert.equal(ok.length, 1, `${id}: one review decides it, but these were answered 200: ${ok.join(', ')}`);
    const want = ok[0]!.endsWith('approve') ? 'approved' : 'denied';
    assert.equal(now.get(id)?.state, want, `${id} after "${ok[0]}" was answered 200`);
  }
  for (const id of grantUsedSeen)
    assert.ok(now.get(id)?.grantUsed, `${id}'s re-run went through: grant used`);

  // No request approved twice; the store agrees with its records.
  const store = await openStore(postgresStoreConfig(storeUrl, 2), { readOnly: true });
  let trail: readonly AuditEntry[];
  let report: AuditVerifyReport;
  try {
    trail = await store.auditReader.query({});
    // One chain that verifies (in this process each round, which is cheaper than a CLI start;
    // `kubegate audit verify --config` at the end).
    report = await store.auditReader.verify();
  } finally {
    await store.close();
  }
  assert.ok(report.ok, `round ${round}: the chain verifies: ${JSON.stringify(report)}`);
  trail.forEach((entry, i) => assert.equal(entry.seq, i + 1, 'the chain has no gap'));
  const of = (id: string) => trail.filter((e) => e.event.pendingId === id).map((e) => e.event);
  // Read after the trail: a re-run or a review abandoned at the stop may still land in between,
  // so the trail must lie between the state read before it and the state read after it.
  const later = new Map((await requestsVia(replicas[round % REPLICAS]!)).map((p) => [p.id, p]));
  const between = (what: string, count: number, least: number, most: number): void =>
    assert.ok(least <= count && count <= most, `${what}: ${count} records, expected ${least}..${most}`);
  for (const [id, s] of now) {
    const after = later.get(id) ?? s;
    const events = of(id);
    const reviews = events.filter((e) => e.kind === 'reviewed');
    const approving = reviews.filter((e) => e.decision === 'approve');
    const granted = events.filter((e) => e.kind === 'granted');
    const reviewers = reviews.map((e) => e.actor);
    assert.equal(
      events.filter((e) => e.kind === 'approval-requested').length,
      1,
      `${id}: its request record`,
    );
    assert.equal(
      new Set(reviewers).size,
      reviewers.length,
      `${id}: one review per reviewer (${reviewers.join(', ')})`,
    );
    assert.ok(reviews.length <= 1, `${id}: one review decides a request that needs one (${reviews.length})`);
    const count = (yes: boolean): number => (yes ? 1 : 0);
    between(
      `${id} (${s.state}, then ${after.state}): approving`,
      approving.length,
      count(s.state === 'approved'),
      count(after.state === 'approved'),
    );
    between(
      `${id} (${s.state}, then ${after.state}): reviews`,
      reviews.length,
      count(s.state !== 'pending'),
      count(after.state !== 'pending'),
    );
    between(
      `${id} (grant used: ${s.grantUsed}, then ${after.grantUsed}): granted`,
      granted.length,
      count(s.grantUsed),
      count(after.grantUsed),
    );
  }

  // No forwarded mutation without its record.
  const upstream = await readUpstreamMutations();
  const decided = new Set(
    trail.filter((e) => e.event.kind === 'decided' && e.event.requestId).map((e) => e.event.requestId!),
  );
  const lacking = [...upstream.values()].filter((e) => {
    const id = requestIdOf(e);
    return id === undefined || !decided.has(id);
  });
  assert.deepEqual(
    lacking.map((e) => `${e.verb} ${e.requestURI} (${requestIdOf(e) ?? 'no request id'})`),
    [],
    `round ${round}: every mutation kubegate forwarded has a decided record`,
  );

  const verified = `chain verified: ${report.count} records`;
  return [
    now,
    {
      requests: now.size,
      byState: countBy([...now.values()].map((s) => `${s.state}${s.grantUsed ? '/used' : ''}`)),
      records: trail.length,
      mutations: upstream.size,
      decided: decided.size,
      verified,
    },
  ];
}

/** `kubegate audit verify --config` exits 0; returns its verdict line. */
async function verifyTrail(r: Replica): Promise<string> {
  const verify = await kubegate(['audit', 'verify', '--config', r.handle.configFile]).catch(
    (err: { stdout?: string; stderr?: string }) =>
      assert.fail(`audit verify failed: ${err.stdout}${err.stderr}`),
  );
  assert.match(verify.stdout, /audit chain verified: \d+ records/);
  return verify.stdout.trim();
}

before(async () => {
  [tb, pg] = await Promise.all([useTestbed(), startTestPostgres()]);
  storeUrl = await pg.createDatabase();
  const dataDir = await mkdtemp(join(tmpdir(), 'kubegate-pgcrash-'));
  const policyFile = join(dataDir, 'policy.yaml');
  await writeFile(policyFile, stringify(policy));
  const config = {
    store: { type: 'postgres', url: storeUrl, pool: { max: 4 } },
    policy: { file: policyFile },
    approvals: { holdTimeoutMs: 60_000 },
  };
  const ports = [await freePort(), await freePort(), await freePort()];
  // The first alone: it makes the shared CA, serving certificate and token file.
  const first = await startGateway(tb, { config, dataDir, port: ports[0] });
  const handles = [
    first,
    ...(await Promise.all(ports.slice(1).map((port) => startGateway(tb, { config, dataDir, port })))),
  ];
  for (const [index, handle] of handles.entries()) {
    const r = { index, handle, running: track(handle.process), kills: 0 };
    replicas.push({ ...r, agent: newAgent(r) });
  }
  for (const args of [
    ['create', 'namespace', ns],
    ['create', 'rolebinding', 'dev-edit', '-n', ns, '--clusterrole=edit', '--group=dev'],
    ['create', 'rolebinding', 'sre-view', '-n', ns, '--clusterrole=view', '--group=sre'],
  ]) {
    const r = await kubectl(args, { kubeconfig: tb.adminKubeconfig });
    assert.equal(r.code, 0, r.stderr);
  }
  aliceToken = await first.tokenFor('alice', ['dev']);
  loadToken = await first.tokenFor('loader', ['dev']);
  bobToken = await first.tokenFor('bob', ['sre']);
  carolToken = await first.tokenFor('carol', ['sre']);
});

after(async () => {
  for (const r of replicas) {
    const { child, exited } = r.running;
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null)
      await stopPid(child.pid, exited, 10_000);
    await r.agent.destroy().catch(() => undefined);
  }
  await kubectl(['delete', 'namespace', ns, '--wait=false'], { kubeconfig: tb.adminKubeconfig });
  await pg?.stop();
});

test(
  `${REPLICAS} replicas on PostgreSQL, one killed with kill -9 under load, ${ROUNDS} times: no lost request or grant, none approved twice, no mutation without its record, one chain`,
  { timeout: 900_000 },
  async (t: TestContext) => {
    const totals = {
      sent: 0,
      mutationsOk: 0,
      inFlightAtKill: 0,
      holdsThrough: 0,
      holdsCut: 0,
      reviews: 0,
      reruns: 0,
    };
    let snapshot = new Map<string, Snapshot>();
    for (let round = 0; round < ROUNDS; round++) {
      const started = Date.now();
      const stop = new AbortController();
      const load = startLoad(round, stop.signal);
      await new Promise((res) => setTimeout(res, randomInt(KILL_AFTER_MS[0], KILL_AFTER_MS[1])));
      const victim = anyReplica();
      const inFlight = load.stats.inFlight;
      const killedAt = Date.now();
      await killHard(victim);
      // The other two keep serving while the victim comes back on its port.
      await restart(victim);
      const restartMs = Date.now() - killedAt;
      await new Promise((res) => setTimeout(res, AFTER_RESTART_MS));
      stop.abort();
      const stoppedAt = Date.now();
      await load.done;
      const drainMs = Date.now() - stoppedAt;
      const checksAt = Date.now();
      assert.ok(load.stats.mutationsOk > 0, `round ${round}: the load made no mutation`);

      const [now, c] = await checkAll(round, snapshot);
      snapshot = now;
      const s = load.stats;
      totals.sent += s.sent;
      totals.mutationsOk += s.mutationsOk;
      totals.inFlightAtKill += inFlight;
      totals.holdsThrough += s.holdsThrough;
      totals.holdsCut += s.holdsCut;
      totals.reviews += s.reviews;
      totals.reruns += s.reruns;
      t.diagnostic(
        `round ${round}: killed replica ${victim.index} with ${inFlight} requests in flight; load sent ${s.sent} (${s.answered} answered, ${s.mutationsOk} mutations 2xx, ${s.failed} cut or refused); ` +
          `${s.reviews} reviews, ${s.reruns} re-runs, held creates ${s.holdsThrough} through / ${s.holdsCut} cut; ` +
          `${c.requests} pending requests kept ${JSON.stringify(c.byState)}; ${c.mutations} mutations at the API server, each with its decided record (${c.decided} decided); ` +
          `${c.records} records, seqs 1..${c.records}; ${c.verified}; round took ${Date.now() - started} ms (restart ${restartMs}, drain ${drainMs}, checks ${Date.now() - checksAt})`,
      );
    }

    // With everything the load did, from outside: the CLI an auditor runs, through a random replica's config.
    t.diagnostic(`at the end: ${await verifyTrail(anyReplica())}`);
    assert.deepEqual(fiveHundreds, [], 'no replica answered 5xx');
    assert.ok(totals.holdsThrough > 0, 'some held creates went through on an approval');
    assert.ok(grantUsedSeen.size > 0, 'some approved re-runs went through');
    t.diagnostic(
      `totals: ${ROUNDS} kills (${replicas.map((r) => `replica ${r.index}: ${r.kills}`).join(', ')}); load sent ${totals.sent} requests, ${totals.mutationsOk} mutations answered 2xx, ${totals.inFlightAtKill} in flight at the kills; ` +
        `${told.size} pending requests told to the requester, ${reviewsOk.size} decided by a review answered 200 (of ${totals.reviews} reviews sent), ${grantUsedSeen.size} re-runs through on a grant (of ${totals.reruns}), ${totals.holdsThrough} held creates through, ${totals.holdsCut} cut`,
    );
    t.diagnostic(`answers: ${JSON.stringify(Object.fromEntries([...statuses].sort()))}`);
  },
);

function countBy(values: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) out[v] = (out[v] ?? 0) + 1;
  return out;
}
