// Security invariants of the request path, each shown against the real API server:
// no identity but the authenticated caller ever reaches it (client Impersonate-* and Authorization
// headers gain nothing), unauthenticated and wrong-CA clients are refused and nothing is
// forwarded, and failures answer with a Status kubectl can print.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { parse, stringify } from 'yaml';
import { useTestbed, waitForAuditEvents, readAuditEvents } from '../fixtures/testbed.js';
import { kubectl } from '../fixtures/kubectl.js';
import { startGateway, type GatewayHandle } from '../fixtures/gateway.js';
import { freePort } from '../../testbed/ports.js';
import { createCertificateAuthority, issueCertificate } from '../../src/pki/certificates.js';
import type { TestbedState } from '../../testbed/control-plane.js';

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

test('kubectl --as admin --as-group system:masters through kubegate gains nothing', async () => {
  const r = await kubectl(['get', 'secrets', '-n', ns, '--as', 'admin', '--as-group', 'system:masters'], {
    kubeconfig: daveConfig,
  });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /User "dave" cannot list resource "secrets"/);
  const events = await waitForAuditEvents(
    tb,
    (e) => e.objectRef?.resource === 'secrets' && e.objectRef.namespace === ns,
  );
  assert.ok(events.length > 0);
  for (const e of events) {
    assert.equal(e.user.username, 'kubegate');
    assert.equal(e.impersonatedUser?.username, 'dave');
    assert.ok(!(e.impersonatedUser?.groups ?? []).includes('system:masters'));
  }
});

test('a client Authorization header (even the API server admin token) is dropped, not forwarded', async () => {
  const agent = await clientOf(daveConfig);
  const res = await call(agent, `/api/v1/namespaces/${ns}/secrets`, {
    authorization: `Bearer ${tb.users.admin!.token}`,
    'impersonate-user': 'admin',
    'impersonate-group': ['system:masters'],
    'impersonate-uid': '1',
    'impersonate-extra-scopes': 'all',
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
