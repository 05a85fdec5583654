// The one Status writer, on loopback: the body is toStatus's, the code goes in a header, a 405
// names the methods in Allow, the gateway's request id is there when it has one, and a response
// whose head is already out is cut rather than given a second head.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, request, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { KubegateError, toStatus } from '../errors.js';
import { addWarning, writeStatus } from './respond.js';

interface Answer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** One request to a server whose handler is `handle`. */
async function answer(handle: (res: ServerResponse) => void): Promise<Answer> {
  const server = createServer((_req, res) => handle(res));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    const { port } = server.address() as AddressInfo;
    return await new Promise<Answer>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: '/' }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
  } finally {
    server.closeAllConnections();
    server.close();
  }
}

test('a kubegate error is its Status, with its code in a header and the request id', async () => {
  const err = new KubegateError('KG_REVIEW_NOT_PENDING', 'request kg-1 was already approved');
  const r = await answer((res) => writeStatus(res, err, 'req-7'));
  assert.equal(r.status, 409);
  assert.deepEqual(JSON.parse(r.body), toStatus(err));
  assert.equal(r.headers['x-kubegate-error-code'], 'KG_REVIEW_NOT_PENDING');
  assert.equal(r.headers['x-kubegate-request-id'], 'req-7');
  assert.equal(r.headers['content-type'], 'application/json');
  assert.equal(r.headers['cache-control'], 'no-store');
  assert.equal(r.headers.allow, undefined);
});

test('a 405 names the methods the path takes in Allow; without a request id there is no such header', async () => {
  const err = new KubegateError('KG_API_METHOD', '"PUT" is not allowed here; use GET or POST', {
    allow: ['GET', 'POST'],
  });
  const r = await answer((res) => writeStatus(res, err));
  assert.equal(r.status, 405);
  assert.equal(r.headers.allow, 'GET, POST');
  assert.equal(r.headers['x-kubegate-request-id'], undefined);
});

test('an unknown error is a 500 coded KG_INTERNAL, its message kept to the log', async () => {
  const r = await answer((res) => writeStatus(res, new TypeError('secret internals')));
  assert.equal(r.status, 500);
  assert.equal(r.headers['x-kubegate-error-code'], 'KG_INTERNAL');
  assert.doesNotMatch(r.body, /secret internals/u);
});

test('once the head is out, the response is cut instead of answered twice', async () => {
  let code = 0;
  await assert.rejects(
    answer((res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('partial');
      code = writeStatus(res, new KubegateError('KG_UPSTREAM_UNAVAILABLE', 'gone'));
    }),
  );
  assert.equal(code, 503);
});

test("addWarning: kubegate's Warning joins the API server's own Warning headers in the one head", async () => {
  const ours = '299 - "approved by bob after 3s (kg-1)"';
  const r = await answer((res) => {
    addWarning(res, ours);
    // As forward writes the API server's head: one writeHead with its headers.
    res.writeHead(201, { 'content-type': 'application/json', warning: '299 - "deprecated API"' });
    res.end('{}');
  });
  assert.equal(r.status, 201);
  assert.equal(r.headers['content-type'], 'application/json');
  assert.equal(r.headers.warning, `299 - "deprecated API", ${ours}`);
});

test("addWarning: a head without Warning headers gets kubegate's alone", async () => {
  const ours = '299 - "approved by bob after 3s (kg-1)"';
  const r = await answer((res) => {
    addWarning(res, ours);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{}');
  });
  assert.equal(r.headers.warning, ours);
});
