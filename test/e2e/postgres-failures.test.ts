// Failure behaviour on the PostgreSQL store, end to end (issue 14, item 6), with real kubegate
// processes, a real PostgreSQL server, real kubectl 1.33 and the test bed:
//   1. the database unreachable (a TCP proxy between kubegate and PostgreSQL, cut): a mutation is
//      refused with a Status that names the trail, and not applied; a read behaves as
//      docs/CONFIG.md says ("Reads and requests no rule holds still go through", its record kept
//      in kubegate's log); the refused and unrecorded events are in the log; once the proxy is
//      restored the same commands go through without a restart and the trail verifies;
//   2. a replica killed with SIGKILL while it holds a request: the pending request is in the store,
//      another replica lists it, a reviewer approves there, and the requester's re-run through that
//      replica uses the grant exactly once;
//   3. the network between a replica and the database cut in the middle of a review, at several
//      delays: afterwards the request is approved with exactly one 'reviewed' record or still
//      pending with none, and a retried review lands once or is refused as already given.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { stringify } from 'yaml';
import type { TestbedState } from '../../src/demo/control-plane.js';
import type { AuditEvent } from '../../src/audit/event.js';
import type { PendingRequest } from '../../src/approvals/types.js';
import { startTestPostgres, type TestPostgres } from '../../src/store/postgres/test-server.js';
import { kubectl, startKubectl } from '../fixtures/kubectl.js';
import { kubegate, startGateway, type GatewayHandle } from '../fixtures/gateway.js';
import { reviewerOf } from '../fixtures/reviewer.js';
import { startTcpCut, type TcpCut } from '../fixtures/tcp-cut.js';
import { useTestbed } from '../fixtures/testbed.js';

const ns = `pgfail-${randomBytes(3).toString('hex')}`;

const policy = {
  apiVersion: 'kubegate.dev/v1alpha1',
  kind: 'Policy',
  defaults: { action: 'allow' },
  rules: [
    {
      name: 'held-deletes',
      match: { verbs: ['delete'], resources: ['configmaps'], namespaces: [ns], names: ['held-*'] },
      action: 'approve',
      approval: { approvers: ['group:sre'], count: 1, mode: 'hold', grantTTL: '30m' },
    },
    {
      name: 'reviewed-creates',
      match: { verbs: ['create'], resources: ['configmaps'], namespaces: [ns], names: ['review-*'] },
      action: 'approve',
      approval: { approvers: ['group:sre'], count: 1, mode: 'deferred', grantTTL: '30m' },
    },
  ],
};

let tb: TestbedState;
let pg: TestPostgres;
let policyFile: string;

const admin = (args: string[]) => kubectl(args, { kubeconfig: tb.adminKubeconfig, version: '1.33' });
const as = (kubeconfig: string) => (args: string[]) =>
  kubectl(args, { kubeconfig, version: '1.33', timeoutMs: 60_000 });

/** The store URL of `url`'s database, reached through `proxy` instead of directly. */
function through(url: string, proxy: TcpCut): string {
  const u = new URL(url);
  u.port = String(proxy.port);
  return u.toString();
}

const storeConfig = (url: string) => ({
  store: { type: 'postgres', url, pool: { max: 4 } },
  policy: { file: policyFile },
  approvals: { holdTimeoutMs: 5 * 60_000 },
});

/** Polls `probe` until it returns a value (not undefined), or fails with `what` after `ms`. */
async function eventually<T>(what: string, ms: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const got = await probe();
    if (got !== undefined) return got;
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The JSON log lines kubegate printed, parsed (anything else skipped). */
function logLines(gw: GatewayHandle): Record<string, unknown>[] {
  return gw
    .output()
    .split('\n')
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
}

/** Audit events kubegate wrote to its log because the store could not take them. */
function unrecorded(gw: GatewayHandle): AuditEvent[] {
  return logLines(gw).flatMap((l) => (l['unrecordedAuditEvents'] as AuditEvent[] | undefined) ?? []);
}

before(async () => {
  tb = await useTestbed();
  pg = await startTestPostgres();
  policyFile = join(tb.dir, `pgfail-${ns}.yaml`);
  await writeFile(policyFile, stringify(policy));
  for (const args of [
    ['create', 'namespace', ns],
    ['create', 'rolebinding', 'dev-edit', '-n', ns, '--clusterrole=edit', '--group=dev'],
    ['create', 'rolebinding', 'sre-view', '-n', ns, '--clusterrole=view', '--group=sre'],
  ]) {
    const r = await admin(args);
    assert.equal(r.code, 0, r.stderr);
  }
});

after(async () => {
  await admin(['delete', 'namespace', ns, '--wait=false']);
  await pg?.stop();
});

test('the database unreachable: a mutation is refused and not applied, nothing is lost, and kubegate recovers without a restart', async (t) => {
  const url = await pg.createDatabase();
  const proxy = await startTcpCut({ host: '127.0.0.1', port: Number(new URL(url).port) });
  const gw = await startGateway(tb, { config: storeConfig(through(url, proxy)) });
  try {
    assert.ok(proxy.forwarded > 0, 'kubegate reaches its database through the proxy');
    const alice = as(await gw.kubeconfigFor('alice', ['dev']));
    let r = await admin(['create', 'configmap', 'x', '-n', ns, '--from-literal=k=v']);
    assert.equal(r.code, 0, r.stderr);
    r = await alice(['get', 'configmaps', '-n', ns]); // also fills kubectl's discovery cache
    assert.equal(r.code, 0, r.stderr);

    proxy.cut();
    const started = Date.now();
    const del = await alice(['delete', 'configmap', 'x', '-n', ns]);
    const took = Date.now() - started;
    assert.notEqual(del.code, 0, `the delete was refused: ${del.stdout}`);
    const alive = gw.process.exitCode === null && gw.process.signalCode === null;
    assert.ok(alive, `kubegate is still running:\n${gw.output().slice(-6000)}`);
    assert.match(
      del.stderr,
      /audit trail|database|store/i,
      `${del.stderr}\nkubegate's log:\n${gw.output().slice(-6000)}`,
    );
    assert.match(del.stderr, /retry/i, `the message says what to do: ${del.stderr}`);
    assert.ok(took < 30_000, `refused promptly (${took} ms), not hung`);
    const still = await admin(['get', 'configmap', 'x', '-n', ns, '-o', 'name']);
    assert.equal(still.code, 0, `the configmap was not deleted: ${still.stderr}`);

    // Reads: docs/CONFIG.md "The database unreachable" — they still go through, and their records
    // are written whole to kubegate's log. (DESIGN.md invariant 5 fails closed only for what is
    // not explicitly allowed; this policy allows reads by default.)
    const get = await alice(['get', 'configmaps', '-n', ns]);
    const read = { code: get.code, stdout: get.stdout, stderr: get.stderr };
    t.diagnostic(`read with the database unreachable: ${JSON.stringify(read)}`);
    assert.equal(get.code, 0, `a read with the database unreachable: ${get.stderr}`);
    assert.match(get.stdout, /\bx\b/);

    // Nothing lost silently: the refused delete and the read are in the log, whole.
    const lost = await eventually('the unrecorded events in the log', 20_000, () => {
      const events = unrecorded(gw);
      const refused = events.find(
        (e) => e.kind === 'refused' && e.request?.verb === 'delete' && e.request.name === 'x',
      );
      const reads = events.filter((e) => e.request?.verb === 'list' && e.request.resource === 'configmaps');
      return Promise.resolve(refused !== undefined && reads.length > 0 ? { refused, reads } : undefined);
    }).catch((err: unknown) => {
      throw new Error(`${String(err)}\nkubegate's log:\n${gw.output().slice(-6000)}`);
    });
    assert.equal(lost.refused.errorCode, 'KG_AUDIT_UNAVAILABLE', JSON.stringify(lost.refused));

    proxy.restore();
    const back = Date.now();
    const again = await eventually('the delete going through after the restore', 30_000, async () => {
      const d = await alice(['delete', 'configmap', 'x', '-n', ns]);
      return d.code === 0 ? d : undefined;
    });
    assert.match(again.stdout, /deleted/);
    t.diagnostic(`the delete went through ${Date.now() - back} ms after the database came back`);
    assert.ok(Date.now() - back < 15_000, 'within a few seconds');
    const gone = await admin(['get', 'configmap', 'x', '-n', ns, '-o', 'name']);
    assert.notEqual(gone.code, 0, 'deleted on the API server');
    const list = await alice(['get', 'configmaps', '-n', ns]);
    assert.equal(list.code, 0, list.stderr);
    assert.equal(gw.process.exitCode, null, 'the same kubegate process');

    const records = await gw.waitForAudit(
      (e) => e.kind === 'decided' && e.request?.verb === 'delete' && e.request.name === 'x',
    );
    assert.equal(records.length, 1, 'one decided delete in the trail: the one that went through');
    const verified = await kubegate(['audit', 'verify', '--config', gw.configFile]);
    assert.match(verified.stdout, /records/);
  } finally {
    await gw.stop();
    await proxy.close();
  }
});

test('a replica killed with SIGKILL while holding a request: the request lives on, is approved on another replica, and the re-run there uses the grant once', async () => {
  const url = await pg.createDatabase();
  const dataDir = await mkdtemp(join(tmpdir(), 'kubegate-pgfail-'));
  const a = await startGateway(tb, { dataDir, config: storeConfig(url) });
  const b = await startGateway(tb, { dataDir, config: storeConfig(url) });
  try {
    const r = await admin(['create', 'configmap', 'held-y', '-n', ns, '--from-literal=k=v']);
    assert.equal(r.code, 0, r.stderr);
    const aliceOnA = await a.kubeconfigFor('alice', ['dev']);
    // A token this time: the shared data directory already holds alice.kubeconfig (A's).
    const aliceOnB = await b.kubeconfigFor('alice', ['dev'], { token: true });
    const bob = await reviewerOf(b, await b.kubeconfigFor('bob', ['sre']));
    try {
      const held = startKubectl(['delete', 'configmap', 'held-y', '-n', ns], {
        kubeconfig: aliceOnA,
        version: '1.33',
      });
      const pending = await bob.waitFor(
        (p) => p.state === 'pending' && p.requester.user === 'alice' && p.request.name === 'held-y',
      );
      a.process.kill('SIGKILL');
      const how = await new Promise<string>((res) => {
        if (a.process.signalCode !== null) res(a.process.signalCode);
        else a.process.once('exit', (code, signal) => res(String(signal ?? code)));
      });
      assert.equal(how, 'SIGKILL');
      const heldCode = await new Promise<number | null>((res) => {
        if (held.child.exitCode !== null) res(held.child.exitCode);
        else held.child.once('exit', (code) => res(code));
      });
      assert.notEqual(heldCode, 0, `the held kubectl did not succeed: ${held.output()}`);
      const stillThere = await admin(['get', 'configmap', 'held-y', '-n', ns, '-o', 'name']);
      assert.equal(stillThere.code, 0, 'not deleted while held');

      const listed = await bob.cli(['list']);
      assert.equal(listed.code, 0, listed.stderr);
      assert.match(listed.stdout, new RegExp(pending.id, 'u'), 'B lists the request A held');
      const viaB = (await bob.requests()).find((p) => p.id === pending.id);
      assert.equal(viaB?.state, 'pending', JSON.stringify(viaB));

      const approved = await bob.cli(['approve', pending.id]);
      assert.equal(approved.code, 0, approved.stderr);
      const rerun = await as(aliceOnB)(['delete', 'configmap', 'held-y', '-n', ns]);
      assert.equal(rerun.code, 0, `the re-run through B: ${rerun.stderr}`);
      assert.match(rerun.stdout, /deleted/);
      const gone = await admin(['get', 'configmap', 'held-y', '-n', ns, '-o', 'name']);
      assert.notEqual(gone.code, 0, 'deleted on the API server');

      const granted = await b.waitForAudit((e) => e.kind === 'granted' && e.pendingId === pending.id);
      assert.equal(granted.length, 1, `one granted record for ${pending.id}`);
      const verified = await kubegate(['audit', 'verify', '--config', b.configFile]);
      assert.match(verified.stdout, /records/);
    } finally {
      await bob.close();
    }
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
});

test('the network between a replica and the database cut in the middle of a review: approved with one record or pending with none, and a retry lands once', async (t) => {
  const url = await pg.createDatabase();
  const dataDir = await mkdtemp(join(tmpdir(), 'kubegate-pgfail-'));
  const proxy = await startTcpCut({ host: '127.0.0.1', port: Number(new URL(url).port) });
  const a = await startGateway(tb, { dataDir, config: storeConfig(url) });
  const b = await startGateway(tb, { dataDir, config: storeConfig(through(url, proxy)) });
  const bobToken = await b.tokenFor('bob', ['sre']);
  const agent = new Agent({ connect: { ca: b.caPem } });
  const alice = as(await a.kubeconfigFor('alice', ['dev']));
  const aliceReviews = await reviewerOf(a, await a.kubeconfigFor('carol', ['sre']));
  const approve = async (id: string): Promise<{ status: number; text: string } | { error: string }> => {
    try {
      const res = await request(`${b.url}/kubegate/v1/requests/${id}/approve`, {
        dispatcher: agent,
        method: 'POST',
        headers: { authorization: `Bearer ${bobToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ comment: 'ok' }),
        signal: AbortSignal.timeout(60_000),
      });
      return { status: res.statusCode, text: await res.body.text() };
    } catch (err) {
      return { error: String(err) };
    }
  };
  // From before the review reaches the database to after it committed (a review through B takes
  // a few tens of milliseconds on loopback).
  const delays = [0, 5, 10, 20, 30, 40, 60, 80, 120, 250];
  try {
    for (const [i, delay] of delays.entries()) {
      const name = `review-${i}`;
      const ask = await alice(['create', 'configmap', name, '-n', ns, '--from-literal=k=v']);
      assert.notEqual(ask.code, 0, 'deferred: kubectl is told to come back after approval');
      const pending = await aliceReviews.waitFor(
        (p: PendingRequest) => p.state === 'pending' && p.request.name === name,
      );

      const answer = approve(pending.id);
      await new Promise((r) => setTimeout(r, delay));
      proxy.cut();
      const first = await answer;
      proxy.restore();
      const alive = b.process.exitCode === null && b.process.signalCode === null;
      assert.ok(alive, `replica B survived the cut (delay ${delay} ms):\n${b.output().slice(-6000)}`);

      // What the store holds (read through A, which never lost its database).
      const state = (await aliceReviews.requests()).find((p) => p.id === pending.id)?.state;
      const reviews = (await a.auditRecords()).filter(
        (e) => e.kind === 'reviewed' && e.pendingId === pending.id && e.actor === 'bob',
      );
      const firstSaid = 'status' in first ? `${first.status}` : first.error;
      t.diagnostic(`delay ${delay} ms: answer ${firstSaid}, then ${state}, ${reviews.length} reviewed`);
      assert.ok(
        (state === 'approved' && reviews.length === 1) || (state === 'pending' && reviews.length === 0),
        `${pending.id} after the cut: ${state} with ${reviews.length} 'reviewed' records by bob (answer: ${firstSaid} ${'text' in first ? first.text : ''})`,
      );
      if ('status' in first && first.status === 200) assert.equal(state, 'approved', 'a 200 means it landed');

      // The retry: on B again, once its database is back (503 while the pool reconnects).
      let last = '';
      const retry = await eventually(`B answering the retried review of ${pending.id}`, 30_000, async () => {
        const got = await approve(pending.id);
        last = 'status' in got ? `${got.status} ${got.text}` : got.error;
        return 'status' in got && got.status !== 503 ? got : undefined;
      }).catch((err: unknown) => {
        const state = `exit ${b.process.exitCode ?? b.process.signalCode ?? 'none (running)'}`;
        throw new Error(`${String(err)}; last answer: ${last}; B: ${state}\n${b.output().slice(-6000)}`);
      });
      if (state === 'pending') assert.equal(retry.status, 200, `the retry lands: ${retry.text}`);
      else assert.equal(retry.status, 409, `the retry is refused as already reviewed: ${retry.text}`);
      const after = (await aliceReviews.requests()).find((p) => p.id === pending.id)?.state;
      assert.equal(after, 'approved');
      const finalReviews = await a.waitForAudit(
        (e) => e.kind === 'reviewed' && e.pendingId === pending.id && e.actor === 'bob',
      );
      assert.equal(finalReviews.length, 1, `exactly one 'reviewed' record for ${pending.id}`);
    }
    const verified = await kubegate(['audit', 'verify', '--config', a.configFile]);
    assert.match(verified.stdout, /records/);
  } finally {
    await aliceReviews.close();
    await agent.close();
    await Promise.all([a.stop(), b.stop()]);
    await proxy.close();
  }
});
