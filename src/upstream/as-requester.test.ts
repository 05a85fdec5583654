// asRequester against a fake API server on loopback: what a read and a dry run send (as the
// requester, dryRun=All first), that a DELETE body which does not say dryRun: ["All"] is never
// sent, and that an answer too large to keep is a failure rather than a truncated object.
// approvals/context.test.ts covers what the reviewer context asks through it.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { after, before, beforeEach, test } from 'node:test';
import { KubegateError } from '../errors.js';
import { asRequester, MAX_ANSWER_BYTES, type AsRequester } from './as-requester.js';
import type { Upstream } from './pool.js';
import { loopbackUpstream } from '../../test/fixtures/loopback-upstream.js';

interface Seen {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

let seen: Seen[] = [];
let answer: (res: ServerResponse) => void = (res) => res.end();
const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    seen.push({
      method: req.method!,
      url: req.url!,
      headers: req.headers,
      body: Buffer.concat(chunks).toString(),
    });
    answer(res);
  });
});

let upstream: Upstream;

before(async () => {
  upstream = await loopbackUpstream(server, { pathPrefix: '/prefix' });
});

after(async () => {
  await upstream.close();
  server.close();
});

beforeEach(() => {
  seen = [];
  answer = (res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"kind":"Deployment"}');
  };
});

function alice(): AsRequester {
  return asRequester(
    upstream,
    { identity: { user: 'alice', groups: ['dev'], method: 'client-certificate' }, requestId: 'req-1' },
    AbortSignal.timeout(5_000),
  );
}

test('a read goes as the requester, under the upstream path prefix, and its JSON comes back', async () => {
  const r = await alice().get('/apis/apps/v1/namespaces/prod/deployments/web');
  assert.deepEqual(r, { status: 200, json: { kind: 'Deployment' } });
  assert.equal(seen.length, 1);
  assert.equal(seen[0]!.method, 'GET');
  assert.equal(seen[0]!.url, '/prefix/apis/apps/v1/namespaces/prod/deployments/web');
  assert.equal(seen[0]!.headers['impersonate-user'], 'alice');
  assert.equal(seen[0]!.headers['impersonate-group'], 'dev');
  assert.equal(seen[0]!.headers.authorization, 'Bearer kubegate-own-token');
  assert.equal(seen[0]!.headers.accept, 'application/json');
});

test('a dry run puts dryRun=All first, then the request’s own query and body', async () => {
  await alice().dryRun(
    { method: 'PATCH', path: '/apis/apps/v1/namespaces/prod/deployments/web', rawQuery: 'dryRun=&x=1' },
    '{"spec":{"replicas":3}}',
    'application/merge-patch+json',
  );
  assert.equal(seen[0]!.method, 'PATCH');
  assert.equal(seen[0]!.url, '/prefix/apis/apps/v1/namespaces/prod/deployments/web?dryRun=All&dryRun=&x=1');
  assert.equal(seen[0]!.body, '{"spec":{"replicas":3}}');
  assert.equal(seen[0]!.headers['content-type'], 'application/merge-patch+json');
});

test('a DELETE whose body says dryRun: ["All"] is sent', async () => {
  await alice().dryRun(
    { method: 'DELETE', path: '/api/v1/namespaces/prod/pods/web', rawQuery: '' },
    '{"propagationPolicy":"Foreground","dryRun":["All"]}',
    'application/json',
  );
  assert.equal(seen.length, 1);
});

const unsafeDeletes: readonly { name: string; body: string }[] = [
  { name: 'no dryRun at all', body: '{"propagationPolicy":"Foreground"}' },
  { name: 'an empty dryRun', body: '{"dryRun":[]}' },
  { name: 'dryRun of another value', body: '{"dryRun":["None"]}' },
  { name: 'a second spelling an older API server could read last', body: '{"dryRun":["All"],"dryrun":[]}' },
  { name: 'a body that is not JSON', body: 'dryRun: [All]' },
  { name: 'a JSON list', body: '[{"dryRun":["All"]}]' },
];

for (const row of unsafeDeletes) {
  test(`a DELETE body is never sent as a dry run with ${row.name}`, async () => {
    await assert.rejects(
      alice().dryRun(
        { method: 'DELETE', path: '/api/v1/namespaces/prod/pods/web', rawQuery: '' },
        row.body,
        'application/json',
      ),
      (err: unknown) => err instanceof KubegateError && err.code === 'KG_INTERNAL',
    );
    assert.deepEqual(seen, []);
  });
}

test('an answer larger than kubegate keeps is a failure, not a truncated object', async () => {
  const chunk = Buffer.alloc(1024 * 1024, 0x20);
  answer = (res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    let sent = 0;
    const more = (): void => {
      while (sent <= MAX_ANSWER_BYTES) {
        sent += chunk.length;
        if (!res.write(chunk)) return void res.once('drain', more);
      }
      res.end();
    };
    more();
    res.on('close', () => (sent = Infinity));
  };
  await assert.rejects(
    alice().get('/api/v1/namespaces/prod/configmaps/big'),
    (err: unknown) => err instanceof KubegateError && err.code === 'KG_UPSTREAM_UNAVAILABLE',
  );
});
