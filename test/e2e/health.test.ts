// kubegate's probes end to end: a real kubegate on a real PostgreSQL store in front of the test
// bed's API server, each reached through a TCP proxy the test can cut. /kubegate/readyz turns
// 503 when the database is unreachable, when it is made read-only, and when the API server cannot
// be reached, and 200 again when each comes back, without a restart; /kubegate/livez stays 200;
// the unauthenticated get "ok" / "not ready" only, an authenticated operator the failing check.
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { after, before, test } from 'node:test';
import { Agent, request } from 'undici';
import { parse, stringify } from 'yaml';
import type { TestbedState } from '../../src/demo/control-plane.js';
import { startTestPostgres, type TestPostgres } from '../../src/store/postgres/test-server.js';
import { startGateway, type GatewayHandle } from '../fixtures/gateway.js';
import { startTcpCut, type TcpCut } from '../fixtures/tcp-cut.js';
import { useTestbed } from '../fixtures/testbed.js';

let tb: TestbedState;
let pg: TestPostgres;
let db: TcpCut;
let api: TcpCut;
let gw: GatewayHandle;
let url: string;
let agent: Agent;
let token: string;

before(async () => {
  tb = await useTestbed();
  pg = await startTestPostgres();
  url = await pg.createDatabase();
  const direct = new URL(url);
  db = await startTcpCut({ host: direct.hostname, port: Number(direct.port) });
  const viaProxy = new URL(url);
  viaProxy.port = String(db.port);
  const server = new URL(tb.server);
  api = await startTcpCut({ host: server.hostname, port: Number(server.port) });
  // kubegate's own kubeconfig, its server through the proxy (the certificate names the address).
  const kubeconfig = parse(await readFile(tb.upstreamKubeconfig, 'utf8')) as {
    clusters: { cluster: { server: string } }[];
  };
  for (const c of kubeconfig.clusters) {
    const through = new URL(c.cluster.server);
    through.port = String(api.port);
    c.cluster.server = through.toString().replace(/\/$/u, '');
  }
  const upstreamKubeconfig = `${tb.upstreamKubeconfig}.health-${api.port}`;
  await writeFile(upstreamKubeconfig, stringify(kubeconfig), { mode: 0o600 });
  gw = await startGateway(tb, {
    config: {
      store: { type: 'postgres', url: viaProxy.toString(), pool: { max: 4 } },
      upstream: { kubeconfig: upstreamKubeconfig },
      health: { intervalMs: 200, upstreamGraceMs: 0 },
    },
  });
  agent = new Agent({ connect: { ca: gw.caPem } });
  token = await gw.tokenFor('operator', ['sre']);
});

after(async () => {
  await gw?.stop();
  await agent?.close();
  await db?.close();
  await api?.close();
  await pg?.stop();
});

async function probe(path: string, auth = false): Promise<{ status: number; text: string }> {
  const res = await request(`${gw.url}${path}`, {
    dispatcher: agent,
    headers: auth ? { authorization: `Bearer ${token}` } : {},
  });
  return { status: res.statusCode, text: await res.body.text() };
}

async function until(status: number, what: string): Promise<{ status: number; text: string }> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const answer = await probe('/kubegate/readyz');
    if (answer.status === status) return answer;
    if (Date.now() > deadline) {
      const verbose = await probe('/kubegate/readyz?verbose', true);
      assert.fail(
        `readyz never answered ${status} ${what}: ${verbose.status} ${verbose.text}\n${gw.output()}`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('ready with everything up; livez answers ok', async () => {
  assert.deepEqual(await until(200, 'at start'), { status: 200, text: 'ok\n' });
  assert.deepEqual(await probe('/kubegate/livez'), { status: 200, text: 'ok\n' });
  const verbose = await probe('/kubegate/readyz?verbose', true);
  assert.match(verbose.text, /\[\+\]policy ok\n\[\+\]store ok\n\[\+\]upstream ok\n/u);
  // The API server's own /readyz is still the cluster's, forwarded as any request.
  assert.ok(db.forwarded > 0 && api.forwarded > 0, 'both go through the proxies');
});

test('the database unreachable: not ready, the reason only for an operator; back: ready, no restart', async () => {
  db.cut();
  try {
    assert.deepEqual(await until(503, 'with the database cut'), { status: 503, text: 'not ready\n' });
    assert.equal((await probe('/kubegate/livez')).status, 200, 'alive all the same: no restart wanted');
    assert.equal((await probe('/kubegate/readyz?verbose')).status, 401, 'no detail to the unauthenticated');
    const verbose = await probe('/kubegate/readyz?verbose', true);
    assert.match(
      verbose.text,
      /\[-\]store failed: cannot reach kubegate's database at postgres:\/\/kubegate@127\.0\.0\.1:\d+\/kubegate_\d+/u,
    );
    assert.match(verbose.text, /\[\+\]upstream ok/u);
  } finally {
    db.restore();
  }
  await until(200, 'after the database came back');
});

test('the database made read-only: not ready; writable again: ready', async () => {
  const name = new URL(url).pathname.slice(1);
  // From another database: a session on this one could not undo it.
  const admin = new URL(url);
  admin.pathname = '/postgres';
  await pg.sql(admin.toString(), `ALTER DATABASE ${name} SET default_transaction_read_only = on`);
  try {
    await until(503, 'with the database read-only');
    assert.match((await probe('/kubegate/readyz?verbose', true)).text, /\[-\]store failed: .* is read-only/u);
  } finally {
    await pg.sql(admin.toString(), `ALTER DATABASE ${name} RESET default_transaction_read_only`);
  }
  await until(200, 'after the database is writable again');
});

test('the API server unreachable: not ready; back: ready', async () => {
  api.cut();
  try {
    await until(503, 'with the API server cut');
    assert.match(
      (await probe('/kubegate/readyz?verbose', true)).text,
      /\[-\]upstream failed: cannot reach the API server at https:\/\/127\.0\.0\.1:\d+/u,
    );
    assert.equal((await probe('/kubegate/livez')).status, 200);
  } finally {
    api.restore();
  }
  await until(200, 'after the API server came back');
});
