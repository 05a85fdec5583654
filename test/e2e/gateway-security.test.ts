// Security invariants of the request path, each shown against the real API server:
// no identity but the authenticated caller ever reaches it (client Impersonate-* and Authorization
// headers gain nothing), unauthenticated and wrong-CA clients are refused and nothing is
// forwarded, and failures answer with a Status kubectl can print.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { connect as tlsConnect } from 'node:tls';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { parse, stringify } from 'yaml';
import { useTestbed, readAuditEvents, waitForAuditEvents, type AuditEvent } from '../fixtures/testbed.js';
import { sendRaw } from '../fixtures/raw-http.js';
import { kubectl, type KubectlVersion } from '../fixtures/kubectl.js';
import { startGateway, type GatewayHandle } from '../fixtures/gateway.js';
import { freePort } from '../../src/demo/ports.js';
import { createCertificateAuthority, issueCertificate } from '../../src/pki/certificates.js';
import type { TestbedState } from '../../src/demo/control-plane.js';

let tb: TestbedState;
let gw: GatewayHandle;
let daveConfig: string;
const ns = `sec-${randomBytes(3).toString('hex')}`;

interface KubeconfigDoc {
  users: { user: { 'client-certificate-data'?: string; 'client-key-data'?: string; token?: string } }[];
  clusters: { cluster: { server: string } }[];
}

async function clientOf(
  kubeconfig: string | null,
  extra: { cert?: string; key?: string } = {},
  ca: string = gw.caPem,
): Promise<Agent> {
  let cert = extra.cert;
  let key = extra.key;
  if (kubeconfig) {
    const doc = parse(await readFile(kubeconfig, 'utf8')) as KubeconfigDoc;
    const user = doc.users[0]!.user;
    if (user['client-certificate-data'])
      cert = Buffer.from(user['client-certificate-data'], 'base64').toString();
    if (user['client-key-data']) key = Buffer.from(user['client-key-data'], 'base64').toString();
  }
  return new Agent({ connect: { ca, ...(cert ? { cert } : {}), ...(key ? { key } : {}) } });
}

async function call(
  agent: Agent,
  path: string,
  headers: Record<string, string | string[]> = {},
  method = 'GET',
  body?: Buffer,
) {
  const res = await request(gw.url + path, {
    dispatcher: agent,
    method: method as 'GET',
    headers,
    ...(body ? { body } : {}),
  });
  const text = await res.body.text();
  return {
    status: res.statusCode,
    text,
    json: (() => {
      try {
        return JSON.parse(text) as Record<string, unknown>;
      } catch {
        return null;
      }
    })(),
  };
}

before(async () => {
  tb = await useTestbed();
  gw = await startGateway(tb, { config: { limits: { maxBodyBytes: 65536 } } });
  const r = await kubectl(['create', 'namespace', ns], { kubeconfig: tb.adminKubeconfig });
  assert.equal(r.code, 0, r.stderr);
  daveConfig = await gw.kubeconfigFor('dave', []);
});

after(async () => {
  await gw?.stop();
  await kubectl(['delete', 'namespace', ns, '--wait=false'], { kubeconfig: tb.adminKubeconfig });
});

/** The API server's audit events whose request URI contains `marker`. */
async function forwarded(marker: string): Promise<AuditEvent[]> {
  return (await readAuditEvents(tb)).filter((e) => e.requestURI.includes(marker));
}

const IMPERSONATION_REFUSED =
  /Error from server \(BadRequest\): kubegate refused this request because it asks to act as another user \(Impersonate-User.*kubegate always acts as the user who authenticated to it, so impersonation is not supported through kubegate.*Run the command again without --as/s;

test('kubectl --as, --as-group and --as-uid through kubegate are refused with a message kubectl prints, and nothing is forwarded', async () => {
  const someone = `kg-as-${randomBytes(4).toString('hex')}`;
  const cases: { args: string[]; version?: KubectlVersion; cold?: boolean }[] = [
    { args: ['--as', someone] },
    { args: ['--as', someone, '--as-group', 'system:masters'] },
    { args: ['--as', someone, '--as-uid', '0'], version: '1.27' },
    // A cold discovery cache (first use, every 6 hours): discovery goes on as the caller, so that
    // kubectl reaches the request it can print the refusal of.
    { args: ['--as', someone, '--as-group', 'system:masters'], cold: true },
    { args: ['--as', someone], version: '1.31', cold: true },
    { args: ['--as', someone], version: '1.27', cold: true },
  ];
  // A warm discovery cache for dave's kubeconfig, as a user who works with it daily has.
  const warm = await kubectl(['get', 'configmaps', '-n', ns], { kubeconfig: daveConfig });
  assert.match(warm.stderr, /cannot list resource "configmaps"/);
  for (const [i, c] of cases.entries()) {
    const marker = `as-${i}-${randomBytes(4).toString('hex')}`;
    const kubeconfig = c.cold ? await gw.kubeconfigFor(`dave-cold-${i}`, []) : daveConfig;
    const r = await kubectl(['get', 'configmap', marker, '-n', ns, ...c.args], {
      kubeconfig,
      ...(c.version ? { version: c.version } : {}),
    });
    const what = `kubectl ${c.version ?? '1.33'} ${c.args.join(' ')}${c.cold ? ' (cold cache)' : ''}`;
    assert.equal(r.code, 1, `${what}: ${r.stdout}`);
    assert.match(r.stderr, IMPERSONATION_REFUSED, what);
    assert.deepEqual(await forwarded(marker), [], `${what} reached the API server`);
    const refused = await gw.waitForAudit(
      (rec) => rec.errorCode === 'KG_REQUEST_IMPERSONATION' && rec.request?.target.includes(marker) === true,
    );
    assert.equal(refused[0]?.kind, 'refused', what);
  }
  // Whatever went on (discovery) went as the caller: the API server never heard the other name.
  const events = await readAuditEvents(tb);
  assert.ok(
    events.some((e) => e.requestURI.startsWith('/api') && e.impersonatedUser?.username === 'dave-cold-3'),
  );
  assert.deepEqual(
    events.filter((e) => JSON.stringify([e.user, e.impersonatedUser]).includes(someone)),
    [],
  );
});

test('kubectl exec --as is refused over WebSocket and SPDY alike, and nothing is forwarded', async () => {
  const r0 = await kubectl(['run', 'as-target', '-n', ns, '--image=registry.example/x:1'], {
    kubeconfig: tb.adminKubeconfig,
  });
  assert.equal(r0.code, 0, r0.stderr);
  for (const version of ['1.33', '1.27'] as const) {
    const marker = `exec-as-${randomBytes(4).toString('hex')}`;
    const r = await kubectl(['exec', '-n', ns, 'as-target', '--as', 'admin', '--', 'echo', marker], {
      kubeconfig: daveConfig,
      version,
    });
    assert.equal(r.code, 1, `${version}: ${r.stdout}`);
    assert.match(r.stderr, IMPERSONATION_REFUSED, version);
    assert.deepEqual(await forwarded(marker), [], `exec --as (kubectl ${version}) reached the API server`);
  }
});

test('a raw Impersonate-* header of any kind or letter case is refused (400), not dropped', async () => {
  const agent = await clientOf(daveConfig);
  const headers: Record<string, string | string[]>[] = [
    { 'impersonate-user': 'admin' },
    { 'Impersonate-Group': ['system:masters'] },
    { 'IMPERSONATE-UID': '1' },
    { 'impersonate-extra-scopes': 'all' },
  ];
  for (const h of headers) {
    const marker = `raw-as-${randomBytes(4).toString('hex')}`;
    const res = await call(agent, `/api/v1/namespaces/${ns}/configmaps/${marker}`, h);
    assert.equal(res.status, 400, JSON.stringify(h));
    assert.equal(res.json?.reason, 'BadRequest');
    assert.match(String(res.json?.message), /not supported through kubegate/);
    assert.deepEqual(await forwarded(marker), []);
  }
  await agent.close();
  // The upgrade path (exec over WebSocket) refuses the same way, before any upgrade.
  const marker = `raw-as-exec-${randomBytes(4).toString('hex')}`;
  const res = await sendRaw(
    { url: gw.url, caPem: gw.caPem },
    {
      method: 'GET',
      target: `/api/v1/namespaces/${ns}/pods/hop-target/exec?command=echo&command=${marker}&stdout=true`,
      headers: [
        ['Authorization', `Bearer ${await gw.tokenFor('dave')}`],
        ['Connection', 'Upgrade'],
        ['Upgrade', 'websocket'],
        ['Sec-WebSocket-Key', randomBytes(16).toString('base64')],
        ['Sec-WebSocket-Version', '13'],
        ['Impersonate-User', 'admin'],
      ],
    },
  );
  assert.equal(res.status, 400);
  assert.match(res.body.toString(), /not supported through kubegate/);
  assert.deepEqual(await forwarded(marker), []);
});

/**
 * An intermediary between kubegate and the API server that does what RFC 9110 §7.6.1 asks of
 * every proxy: it removes the Connection header and every header that Connection names (an
 * L7 load balancer or service mesh in front of the API server). Upgrades only; it records the
 * request heads it received.
 */
async function startIntermediary(): Promise<{
  url: string;
  heads: Record<string, string[]>[];
  close(): void;
}> {
  const caKey = await readFile(join(tb.dir, 'pki', 'ca.key'), 'utf8');
  const serving = await issueCertificate(
    { certPem: tb.caPem, keyPem: caKey },
    { commonName: 'intermediary', ipAddresses: ['127.0.0.1'], usage: 'server' },
  );
  const api = /^https:\/\/([^:]+):(\d+)$/.exec(tb.server)!;
  const heads: Record<string, string[]>[] = [];
  const server = createHttpsServer({ cert: serving.certPem, key: serving.keyPem }, (_req, res) => {
    res.writeHead(502).end('upgrades only');
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const seen: Record<string, string[]> = {};
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      const name = req.rawHeaders[i]!.toLowerCase();
      (seen[name] ??= []).push(req.rawHeaders[i + 1]!);
    }
    heads.push(seen);
    const hopByHop = new Set(['connection', 'keep-alive', 'te', 'trailer', 'transfer-encoding', 'upgrade']);
    for (const value of seen.connection ?? [])
      for (const t of value.split(',')) hopByHop.add(t.trim().toLowerCase());
    let out = `${req.method} ${req.url} HTTP/1.1\r\n`;
    for (const [name, values] of Object.entries(seen)) {
      if (!hopByHop.has(name)) for (const v of values) out += `${name}: ${v}\r\n`;
    }
    out += `connection: Upgrade\r\nupgrade: ${req.headers.upgrade}\r\n\r\n`;
    const upstream = tlsConnect(
      { host: api[1], port: Number(api[2]), ca: tb.caPem, ALPNProtocols: ['http/1.1'] },
      () => {
        upstream.write(out);
        if (head.length > 0) upstream.write(head);
        socket.pipe(upstream).pipe(socket);
      },
    );
    upstream.on('error', () => socket.destroy());
    socket.on('error', () => upstream.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return { url: `https://127.0.0.1:${port}`, heads, close: () => server.close() };
}

test("an upgrade whose Connection names kubegate's impersonation headers still runs as the caller behind a proxy that honours Connection", async () => {
  const intermediary = await startIntermediary();
  const doc = parse(await readFile(tb.upstreamKubeconfig, 'utf8')) as KubeconfigDoc;
  doc.clusters[0]!.cluster.server = intermediary.url;
  const kubeconfig = join(gw.dataDir, 'via-intermediary.kubeconfig');
  await writeFile(kubeconfig, stringify(doc));
  const proxied = await startGateway(tb, { config: { upstream: { kubeconfig } } });
  try {
    const marker = `hop-${randomBytes(4).toString('hex')}`;
    const res = await sendRaw(
      { url: proxied.url, caPem: proxied.caPem },
      {
        method: 'GET',
        target: `/api/v1/namespaces/${ns}/pods/hop-target/exec?command=echo&command=${marker}&stdout=true`,
        headers: [
          ['Authorization', `Bearer ${await proxied.tokenFor('dave')}`],
          [
            'Connection',
            'Upgrade, Impersonate-User, Impersonate-Group, Impersonate-Extra-kubegate.dev%2frequest-id',
          ],
          ['Upgrade', 'websocket'],
          ['Sec-WebSocket-Key', randomBytes(16).toString('base64')],
          ['Sec-WebSocket-Version', '13'],
          ['Sec-WebSocket-Protocol', 'v5.channel.k8s.io'],
        ],
      },
    );
    // dave may not exec: RBAC refuses it, as dave. (Before kubegate sent its own Connection, the
    // intermediary dropped Impersonate-User and the API server saw kubegate's own identity.)
    assert.equal(res.status, 403, res.body.toString());
    assert.match(res.body.toString(), /User \\"dave\\" cannot (get|create) resource \\"pods\/exec\\"/);
    const [event] = await waitForAuditEvents(tb, (e) => e.requestURI.includes(marker));
    assert.equal(event?.user.username, 'kubegate');
    assert.equal(event?.impersonatedUser?.username, 'dave');
    assert.deepEqual(intermediary.heads.at(-1)?.connection, ['Upgrade']);
    assert.deepEqual(intermediary.heads.at(-1)?.['impersonate-user'], ['dave']);
  } finally {
    await proxied.stop();
    intermediary.close();
  }
});

test("X-Forwarded-For from the client reaches the API server's audit log as sourceIPs when sent directly", async () => {
  // The API server's half: it believes X-Forwarded-For (apimachinery utilnet.SourceIPs).
  const marker = `xff-direct-${randomBytes(4).toString('hex')}`;
  const agent = new Agent({ connect: { ca: tb.caPem } });
  const res = await request(`${tb.server}/api/v1/namespaces/${ns}/configmaps/${marker}`, {
    dispatcher: agent,
    headers: { authorization: `Bearer ${tb.users.dave!.token}`, 'x-forwarded-for': '6.6.6.6' },
  });
  await res.body.dump();
  await agent.close();
  const [event] = await waitForAuditEvents(tb, (e) => e.requestURI.includes(marker));
  assert.equal(event?.sourceIPs?.[0], '6.6.6.6');
});

test("through kubegate, the API server's audit log shows the client's real address, never the client's forwarding claims", async () => {
  const doc = parse(await readFile(daveConfig, 'utf8')) as KubeconfigDoc;
  const user = doc.users[0]!.user;
  // The client connects from 127.0.0.2, kubegate from 127.0.0.1: the two addresses differ.
  const agent = new Agent({
    localAddress: '127.0.0.2',
    connect: {
      ca: gw.caPem,
      cert: Buffer.from(user['client-certificate-data']!, 'base64').toString(),
      key: Buffer.from(user['client-key-data']!, 'base64').toString(),
    },
  });
  const forwardingClaims = {
    'x-forwarded-for': '6.6.6.6',
    'x-real-ip': '6.6.6.7',
    forwarded: 'for=6.6.6.8;proto=https',
    'x-forwarded-host': 'evil.example',
  };
  try {
    const marker = `xff-gw-${randomBytes(4).toString('hex')}`;
    const res = await request(`${gw.url}/api/v1/namespaces/${ns}/configmaps/${marker}`, {
      dispatcher: agent,
      headers: forwardingClaims,
    });
    await res.body.dump();
    const [event] = await waitForAuditEvents(tb, (e) => e.requestURI.includes(marker));
    assert.deepEqual(event?.sourceIPs, ['127.0.0.2', '127.0.0.1']);
    const [record] = await gw.waitForAudit((r) => r.request?.target.includes(marker) === true);
    assert.equal(record?.sourceAddress, '127.0.0.2');

    // The upgrade path too (an exec dave may not run: refused by RBAC, audited with its sources).
    const execMarker = `xff-exec-${randomBytes(4).toString('hex')}`;
    const raw = await sendRaw(
      { url: gw.url, caPem: gw.caPem },
      {
        method: 'GET',
        target: `/api/v1/namespaces/${ns}/pods/hop-target/exec?command=echo&command=${execMarker}&stdout=true`,
        headers: [
          ['Authorization', `Bearer ${await gw.tokenFor('dave')}`],
          ['Connection', 'Upgrade'],
          ['Upgrade', 'websocket'],
          ['Sec-WebSocket-Key', randomBytes(16).toString('base64')],
          ['Sec-WebSocket-Version', '13'],
          ['Sec-WebSocket-Protocol', 'v5.channel.k8s.io'],
          ...Object.entries(forwardingClaims),
        ],
      },
    );
    assert.equal(raw.status, 403);
    const [execEvent] = await waitForAuditEvents(tb, (e) => e.requestURI.includes(execMarker));
    assert.equal(execEvent?.sourceIPs?.[0], '127.0.0.1');
    assert.ok(!(execEvent?.sourceIPs ?? []).some((ip) => ip.startsWith('6.6.6.')), JSON.stringify(execEvent));
  } finally {
    await agent.close();
  }
});

test('a client Authorization header (even the API server admin token) is dropped, not forwarded', async () => {
  const agent = await clientOf(daveConfig);
  const res = await call(agent, `/api/v1/namespaces/${ns}/secrets`, {
    authorization: `Bearer ${tb.users.admin!.token}`,
    'x-remote-user': 'admin',
    'x-remote-group': 'system:masters',
  });
  assert.equal(res.status, 403);
  assert.match(String(res.json?.message), /User "dave" cannot list/);
  await agent.close();
});

test('a request with no credentials gets a 401 Status and is not forwarded', async () => {
  const marker = `nocreds-${randomBytes(4).toString('hex')}`;
  const agent = await clientOf(null);
  const res = await call(agent, `/api/v1/namespaces/${marker}/pods`);
  assert.equal(res.status, 401);
  assert.equal(res.json?.kind, 'Status');
  assert.equal(res.json?.reason, 'Unauthorized');
  // kubectl with no credentials at all prompts for a password; an unknown token reaches kubegate.
  const anonymous = join(gw.dataDir, 'unknown-token.kubeconfig');
  await writeFile(
    anonymous,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        {
          name: 'gw',
          cluster: { server: gw.url, 'certificate-authority-data': Buffer.from(gw.caPem).toString('base64') },
        },
      ],
      users: [{ name: 'nobody', user: { token: 'kg_unknown-token' } }],
      contexts: [{ name: 'gw', context: { cluster: 'gw', user: 'nobody' } }],
      'current-context': 'gw',
    }),
  );
  const r = await kubectl(['get', 'pods', '-n', ns], { kubeconfig: anonymous });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /You must be logged in to the server/);
  assert.equal((await readAuditEvents(tb)).filter((e) => e.requestURI.includes(marker)).length, 0);
  const records = await gw.waitForAudit((rec) => rec.request?.target.includes(marker) === true);
  assert.equal(records[0]?.decision, 'unauthenticated');
  assert.equal(records[0]?.kind, 'refused');
  await agent.close();
});

test('the API server admin token presented to kubegate is not a kubegate credential', async () => {
  const marker = `admintoken-${randomBytes(4).toString('hex')}`;
  const agent = await clientOf(null);
  const res = await call(agent, `/api/v1/namespaces/${marker}/pods`, {
    authorization: `Bearer ${tb.users.admin!.token}`,
  });
  assert.equal(res.status, 401);
  assert.equal((await readAuditEvents(tb)).filter((e) => e.requestURI.includes(marker)).length, 0);
  await agent.close();
});

test('a client certificate from another CA is refused, even one claiming system:masters', async () => {
  const marker = `foreign-${randomBytes(4).toString('hex')}`;
  const foreignCa = await createCertificateAuthority('not kubegate');
  const leaf = await issueCertificate(foreignCa, {
    commonName: 'admin',
    organizations: ['system:masters'],
    usage: 'client',
  });
  const agent = await clientOf(null, { cert: leaf.certPem, key: leaf.keyPem });
  const res = await call(agent, `/api/v1/namespaces/${marker}/pods`);
  assert.equal(res.status, 401);
  assert.equal(res.json?.reason, 'Unauthorized');
  assert.equal((await readAuditEvents(tb)).filter((e) => e.requestURI.includes(marker)).length, 0);
  await agent.close();
});

test('a non-canonical path is refused with a 400 Status and not forwarded', async () => {
  const agent = await clientOf(daveConfig);
  const res = await call(agent, `/api/v1/namespaces/${ns}//pods`);
  assert.equal(res.status, 400);
  assert.equal(res.json?.reason, 'BadRequest');
  assert.equal((await readAuditEvents(tb)).filter((e) => e.requestURI.includes(`${ns}//pods`)).length, 0);
  await agent.close();
});

test('a body over the limit gets a 413 Status and nothing is forwarded', async () => {
  const agent = await clientOf(daveConfig);
  const body = Buffer.alloc(70_000, 'a');
  const res = await call(
    agent,
    `/api/v1/namespaces/${ns}/configmaps`,
    { 'content-type': 'application/json' },
    'POST',
    body,
  );
  assert.equal(res.status, 413);
  assert.equal(res.json?.reason, 'RequestEntityTooLarge');
  await agent.close();
});

test("exec refused by RBAC returns the API server's 403 for both transports", async () => {
  let r = await kubectl(['run', 'target', '-n', ns, '--image=registry.example/x:1'], {
    kubeconfig: tb.adminKubeconfig,
  });
  assert.equal(r.code, 0, r.stderr);
  for (const version of ['1.33', '1.27'] as const) {
    r = await kubectl(['exec', '-n', ns, 'target', '--', 'id'], { kubeconfig: daveConfig, version });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /Forbidden|forbidden/);
  }
});

test('an unreachable API server gives a 503 Status that says so, and kubegate keeps running', async () => {
  const dead = `https://127.0.0.1:${await freePort()}`;
  const doc = parse(await readFile(tb.upstreamKubeconfig, 'utf8')) as KubeconfigDoc;
  doc.clusters[0]!.cluster.server = dead;
  const kubeconfig = join(gw.dataDir, 'dead-upstream.kubeconfig');
  await writeFile(kubeconfig, stringify(doc));
  const down = await startGateway(tb, { config: { upstream: { kubeconfig } } });
  try {
    const config = await down.kubeconfigFor('dave', []);
    // kubectl's discovery prints a generic line for a 503; the Status itself says what happened.
    const r = await kubectl(['get', 'pods', '-n', ns], { kubeconfig: config });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /ServiceUnavailable/);
    const raw = await kubectl(['get', '--raw', `/api/v1/namespaces/${ns}/pods`], { kubeconfig: config });
    assert.equal(raw.code, 1);
    assert.match(raw.stderr, /cannot reach the Kubernetes API server/);
    const agent = await clientOf(config, {}, down.caPem);
    const res = await request(down.url + '/version', { dispatcher: agent });
    const status = (await res.body.json()) as { kind: string; reason: string; message: string; code: number };
    assert.equal(res.statusCode, 503);
    assert.equal(status.kind, 'Status');
    assert.equal(status.reason, 'ServiceUnavailable');
    assert.match(status.message, /cannot reach the Kubernetes API server at https:\/\/127\.0\.0\.1:\d+/);
    await agent.close();
    assert.equal(down.process.exitCode, null);
  } finally {
    await down.stop();
  }
});
