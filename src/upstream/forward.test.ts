// forward() between a client and a real HTTPS API-server stand-in (verified TLS, as createUpstream
// connects): a watch or logs -f has a connection of its own, gone when the client leaves (undici 7 would
// otherwise open a spare connection after the abort and leave it idle, nodejs/undici#5845), and
// other requests keep sharing the pool's keep-alive connections.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { once } from 'node:events';
import {
  createServer as createHttpServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
} from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { createCertificateAuthority, issueCertificate } from '../pki/certificates.js';
import { parseRequest } from '../request/parse.js';
import { forward } from './forward.js';
import { createUpstream, type Upstream } from './pool.js';

let api: HttpsServer;
let gateway: Server;
let upstream: Upstream;
let gatewayUrl: string;
/** The API server's open connections, and how many it accepted in all. */
const connections = { open: 0, accepted: 0 };

before(async () => {
  const ca = await createCertificateAuthority('forward test CA');
  const cert = await issueCertificate(ca, { commonName: 'api', ipAddresses: ['127.0.0.1'], usage: 'server' });
  api = createHttpsServer({ cert: cert.certPem, key: cert.keyPem }, (req, res) => {
    if (req.url?.includes('watch=true') || req.url?.includes('follow=1')) {
      // A watch or logs -f: the head and one event, then nothing until the client leaves.
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"type":"ADDED"}\n');
    } else {
      res.end('{"kind":"ConfigMap"}');
    }
  });
  api.keepAliveTimeout = 90_000; // as the API server: a spare connection would stay
  api.on('secureConnection', (socket) => {
    connections.open += 1;
    connections.accepted += 1;
    socket.once('close', () => (connections.open -= 1));
  });
  api.listen(0, '127.0.0.1');
  await once(api, 'listening');
  const { port } = api.address() as AddressInfo;
  upstream = createUpstream(
    { server: `https://127.0.0.1:${port}`, caPem: ca.certPem, tlsServerName: null, auth: { kind: 'none' } },
    { upstreamConnectMs: 5_000, upstreamHeadersMs: 5_000 },
  );
  // kubegate's part: forward each request, aborted when its client goes away.
  gateway = createHttpServer((req, res) => {
    const abort = new AbortController();
    res.once('close', () => abort.abort());
    const request = parseRequest({
      method: req.method ?? 'GET',
      target: req.url ?? '/',
      headers: req.headers,
    });
    const input = {
      request,
      body: null,
      identity: { user: 'alice', groups: [], method: 'token' as const },
      requestId: 'req-1',
      rawHeaders: [],
      sourceAddress: null,
    };
    forward(input, res, upstream, abort.signal).catch((err: unknown) => res.destroy(err as Error));
  });
  gateway.listen(0, '127.0.0.1');
  await once(gateway, 'listening');
  gatewayUrl = `http://127.0.0.1:${(gateway.address() as AddressInfo).port}`;
});

after(async () => {
  await upstream.close();
  gateway.close();
  api.closeAllConnections();
  api.close();
});

async function until(what: string, done: () => boolean): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!done()) {
    if (Date.now() > deadline) assert.fail(`${what}: ${JSON.stringify(connections)}`);
    await sleep(50);
  }
}

/** Opens a stream through the gateway, reads its first event, then leaves. */
async function streamAndLeave(path: string): Promise<void> {
  const req = httpRequest(`${gatewayUrl}${path}`);
  req.end();
  const [res] = (await once(req, 'response')) as [IncomingMessage];
  assert.equal(res.statusCode, 200);
  await once(res, 'data');
  req.destroy();
}

async function get(): Promise<string> {
  const res = await fetch(`${gatewayUrl}/api/v1/namespaces/a/configmaps/b`);
  return res.text();
}

for (const [what, path] of [
  ['a watch', '/api/v1/namespaces/a/configmaps?watch=true'],
  ['logs -f', '/api/v1/namespaces/a/pods/p/log?follow=1'],
]) {
  test(`${what} the client leaves closes its upstream connection, and no spare one is opened`, async () => {
    await until('no connection before', () => connections.open === 0);
    const accepted = connections.accepted;
    await streamAndLeave(path!);
    await until('the stream connection closed', () => connections.open === 0);
    // Time enough for undici to have opened a spare connection, as it does in a shared pool.
    await sleep(500);
    assert.equal(connections.open, 0);
    assert.equal(connections.accepted, accepted + 1, 'one connection for the stream, none after');
  });
}

test('reads share the pool: two GETs one after the other use one connection', async () => {
  const accepted = connections.accepted;
  assert.equal(await get(), '{"kind":"ConfigMap"}');
  assert.equal(await get(), '{"kind":"ConfigMap"}');
  assert.equal(connections.accepted, accepted + 1);
  assert.equal(connections.open, 1, 'kept alive for the next request');
});
