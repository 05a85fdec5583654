// closeIdleConnections on a real HTTPS server (HTTP/2 and HTTP/1.1 on one port, as kubegate's
// listener): connections without a request in flight are closed, a request in flight is never
// cut however quiet it is, and an HTTP/2 session is closed only once its last stream ended.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { connect as connectH2, createSecureServer, type Http2SecureServer } from 'node:http2';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { connect as connectTls, type TLSSocket } from 'node:tls';
import { setTimeout as sleep } from 'node:timers/promises';
import { createCertificateAuthority, issueCertificate, type PemPair } from '../pki/certificates.js';
import { closeIdleConnections } from './idle-connections.js';

const IDLE_MS = 300;
/** How long a quiet request is left in flight: several idle times. */
const QUIET_MS = 3 * IDLE_MS;

let server: Http2SecureServer;
let ca: PemPair;
let port: number;

before(async () => {
  ca = await createCertificateAuthority('idle test CA');
  const cert = await issueCertificate(ca, {
    commonName: 'kubegate',
    ipAddresses: ['127.0.0.1'],
    usage: 'server',
  });
  server = createSecureServer({ allowHTTP1: true, cert: cert.certPem, key: cert.keyPem });
  server.setTimeout(0);
  closeIdleConnections(server, IDLE_MS);
  server.on('request', (req, res) => {
    if (req.url === '/quiet') {
      // A watch without events: the head at once, the body after a long silence.
      res.writeHead(200);
      res.write('started\n');
      setTimeout(() => res.end('done\n'), QUIET_MS);
    } else {
      res.end('ok\n');
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  port = (server.address() as AddressInfo).port;
});

after(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

function h2() {
  return connectH2(`https://127.0.0.1:${port}`, { ca: ca.certPem });
}

function h1(): TLSSocket {
  return connectTls({ host: '127.0.0.1', port, ca: ca.certPem, ALPNProtocols: ['http/1.1'] });
}

/** Sends one HTTP/1.1 request on `socket`; resolves with what came back once `until` was read. */
function h1Get(socket: TLSSocket, path: string, until: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const onData = (chunk: Buffer): void => {
      text += chunk.toString();
      if (!text.includes(until)) return;
      socket.off('data', onData).off('close', onClose);
      resolve(text);
    };
    const onClose = (): void => reject(new Error(`closed before "${until}" came: ${text}`));
    socket.on('data', onData).once('close', onClose);
    socket.write(`GET ${path} HTTP/1.1\r\nHost: kubegate\r\n\r\n`);
  });
}

async function h2Get(session: ReturnType<typeof h2>, path: string): Promise<string> {
  const stream = session.request({ ':path': path });
  stream.setEncoding('utf8');
  let text = '';
  for await (const chunk of stream) text += String(chunk);
  return text;
}

test('an HTTP/2 session that never opens a stream is closed with a GOAWAY', { timeout: 10_000 }, async () => {
  const session = h2();
  await once(session, 'connect');
  await once(session, 'goaway');
  await once(session, 'close');
});

test(
  'an HTTP/2 session is closed once its last stream ended, never while one is open and quiet',
  { timeout: 10_000 },
  async () => {
    const session = h2();
    let goaway = false;
    session.once('goaway', () => (goaway = true));
    // A short request, then a quiet one: the session stays while the quiet stream is open.
    assert.equal(await h2Get(session, '/'), 'ok\n');
    assert.equal(await h2Get(session, '/quiet'), 'started\ndone\n');
    assert.equal(goaway, false, 'no GOAWAY while a stream was open');
    await once(session, 'close');
    assert.equal(goaway, true, 'closed with a GOAWAY');
  },
);

test('an HTTP/1.1 connection that never sends a request is closed', { timeout: 10_000 }, async () => {
  const socket = h1();
  await once(socket, 'secureConnect');
  await once(socket, 'close');
});

test(
  'an HTTP/1.1 request in flight is not cut however quiet; the connection is closed after it',
  { timeout: 10_000 },
  async () => {
    const socket = h1();
    await once(socket, 'secureConnect');
    // The request clears the timer of a connection without one: the response's silence, longer than
    // the idle time, does not close it.
    await sleep(IDLE_MS / 3);
    const text = await h1Get(socket, '/quiet', 'done\n');
    assert.match(text, /^HTTP\/1\.1 200 OK\r\n/u);
    assert.ok(text.includes('started\n') && text.includes('done\n'), text);
    // Node's keep-alive timer then closes it between requests.
    await once(socket, 'close');
  },
);

test('an HTTP/1.1 connection takes a second request within the idle time', { timeout: 10_000 }, async () => {
  const socket = h1();
  await once(socket, 'secureConnect');
  assert.match(await h1Get(socket, '/', 'ok\n'), /^HTTP\/1\.1 200 OK\r\n/u);
  await sleep(IDLE_MS / 3);
  assert.match(await h1Get(socket, '/', 'ok\n'), /^HTTP\/1\.1 200 OK\r\n/u);
  socket.destroy();
});
