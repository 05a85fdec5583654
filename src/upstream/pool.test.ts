// createUpstream: the API server is only ever reached over verified TLS, so a plain http:// server
// in kubegate's configuration is a configuration error (KG_CONFIG_INVALID), not a bare Error; the
// one TLS context all connections share still verifies the server and presents the client
// certificate.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { KubegateError } from '../errors.js';
import { createCertificateAuthority, issueCertificate, type PemPair } from '../pki/certificates.js';
import { createUpstream } from './pool.js';

const timeouts = { upstreamConnectMs: 1_000, upstreamHeadersMs: 1_000 };

test('an http:// upstream is refused as invalid configuration', () => {
  assert.throws(
    () =>
      createUpstream(
        { server: 'http://10.0.0.1:6443', caPem: null, tlsServerName: null, auth: { kind: 'none' } },
        timeouts,
      ),
    (err: unknown) => err instanceof KubegateError && err.code === 'KG_CONFIG_INVALID',
  );
});

test('an https:// upstream gives its origin and path prefix', async () => {
  const upstream = createUpstream(
    { server: 'https://[::1]:6443/prefix/', caPem: null, tlsServerName: null, auth: { kind: 'none' } },
    timeouts,
  );
  try {
    assert.equal(upstream.origin, 'https://[::1]:6443');
    assert.equal(upstream.pathPrefix, '/prefix');
    assert.equal(upstream.tls.host, '::1');
    assert.equal(upstream.authorization(), null);
  } finally {
    await upstream.close();
  }
});

/** An HTTPS server with its own CA; with `clientCa`, it requires a client certificate from that CA. */
async function tlsServer(clientCa?: PemPair): Promise<{ url: string; ca: PemPair; close(): Promise<void> }> {
  const ca = await createCertificateAuthority('upstream test CA');
  const cert = await issueCertificate(ca, { commonName: 'api', ipAddresses: ['127.0.0.1'], usage: 'server' });
  const server = createServer(
    {
      cert: cert.certPem,
      key: cert.keyPem,
      ...(clientCa ? { ca: clientCa.certPem, requestCert: true, rejectUnauthorized: true } : {}),
    },
    (req, res) => {
      const peer = (req.socket as TLSSocket).getPeerCertificate();
      res.end(peer.subject?.CN ?? 'anonymous');
    },
  );
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `https://127.0.0.1:${port}`,
    ca,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

async function get(upstream: ReturnType<typeof createUpstream>): Promise<string> {
  const res = await upstream.pool.request({ path: '/', method: 'GET' });
  return res.body.text();
}

test('every upstream connection shares one TLS context, and the server is still verified against the CA', async () => {
  const server = await tlsServer();
  const upstream = createUpstream(
    { server: server.url, caPem: server.ca.certPem, tlsServerName: null, auth: { kind: 'none' } },
    timeouts,
  );
  try {
    const context = upstream.tls.secureContext;
    assert.ok(context, 'a context built once');
    // Concurrent requests open several connections, all from that context.
    const answers = await Promise.all(Array.from({ length: 4 }, () => get(upstream)));
    assert.deepEqual(answers, ['anonymous', 'anonymous', 'anonymous', 'anonymous']);
    assert.equal(upstream.tls.secureContext, context);
  } finally {
    await upstream.close();
    await server.close();
  }
});

test('an API server whose certificate is not from the kubeconfig CA is refused', async () => {
  const server = await tlsServer();
  const other = await createCertificateAuthority('another CA');
  const upstream = createUpstream(
    { server: server.url, caPem: other.certPem, tlsServerName: null, auth: { kind: 'none' } },
    timeouts,
  );
  try {
    await assert.rejects(get(upstream), (err: Error & { code?: string }) => {
      assert.match(String(err.code ?? err.message), /CERT|VERIFY|SIGNATURE|ISSUER/);
      return true;
    });
  } finally {
    await upstream.close();
    await server.close();
  }
});

test('the kubeconfig client certificate is presented from the shared context', async () => {
  const clients = await createCertificateAuthority('client CA');
  const client = await issueCertificate(clients, { commonName: 'kubegate', usage: 'client' });
  const server = await tlsServer(clients);
  const upstream = createUpstream(
    {
      server: server.url,
      caPem: server.ca.certPem,
      tlsServerName: null,
      auth: { kind: 'client-certificate', certPem: client.certPem, keyPem: client.keyPem },
    },
    timeouts,
  );
  try {
    assert.equal(await get(upstream), 'kubegate');
  } finally {
    await upstream.close();
    await server.close();
  }
});

test('a client key that does not belong to its certificate is a configuration error at start', async () => {
  const clients = await createCertificateAuthority('client CA');
  const client = await issueCertificate(clients, { commonName: 'kubegate', usage: 'client' });
  const stranger = await issueCertificate(clients, { commonName: 'someone', usage: 'client' });
  assert.throws(
    () =>
      createUpstream(
        {
          server: 'https://127.0.0.1:6443',
          caPem: null,
          tlsServerName: null,
          auth: { kind: 'client-certificate', certPem: client.certPem, keyPem: stranger.keyPem },
        },
        timeouts,
      ),
    (err: unknown) =>
      err instanceof KubegateError && err.code === 'KG_CONFIG_INVALID' && /belong together/.test(err.message),
  );
});
