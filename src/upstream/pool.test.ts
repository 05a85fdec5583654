// createUpstream: the API server is only ever reached over verified TLS, so a plain http:// server
// in kubegate's configuration is a configuration error (KG_CONFIG_INVALID), not a bare Error.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KubegateError } from '../errors.js';
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
