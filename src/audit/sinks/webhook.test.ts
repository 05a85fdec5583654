// The webhook sink (webhook.ts) against a real HTTP server on loopback: records arrive as JSON
// arrays of export's lines, batched by size and by time, in seq order; failed POSTs (5xx, a
// dropped connection) are retried with backoff until one gets through, without reordering; a
// batch that fails every attempt is given up, logged with its seqs; a refusal (4xx) is not
// retried; a full queue drops its oldest records, logged with counts; the configured headers are
// sent; close delivers what is queued.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { exportLine } from '../export.js';
import { chainOf, recorder } from './test-records.js';
import { createWebhookSink, type WebhookSinkOptions } from './webhook.js';

interface Received {
  readonly seqs: number[];
  readonly body: string;
  readonly headers: IncomingMessage['headers'];
}

/**
 * A collector that answers each POST by `answer(n)` (n from 1): a status, or 'drop' to cut the
 * connection. `arrived(count)` resolves once `count` POSTs have been answered.
 */
async function collector(answer: (n: number) => number | 'drop') {
  const received: Received[] = [];
  let requests = 0;
  const waiters: { count: number; resolve: () => void }[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests += 1;
      const body = Buffer.concat(chunks).toString('utf8');
      const reply = answer(requests);
      if (reply === 'drop') req.socket.destroy();
      else {
        if (reply < 300) {
          const seqs = (JSON.parse(body) as { seq: number }[]).map((r) => r.seq);
          received.push({ seqs, body, headers: req.headers });
        }
        res.writeHead(reply).end();
      }
      for (const w of waiters.filter((w) => requests >= w.count)) w.resolve();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/collect/secret-path`,
    received,
    requests: () => requests,
    arrived: (count: number) =>
      requests >= count
        ? Promise.resolve()
        : new Promise<void>((resolve) => waiters.push({ count, resolve })),
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

const options = (
  url: string,
  log: WebhookSinkOptions['log'],
  over: Partial<WebhookSinkOptions> = {},
): WebhookSinkOptions => ({
  url,
  batchMaxRecords: 3,
  batchMaxMs: 20,
  maxQueueRecords: 100,
  timeoutMs: 2000,
  retry: { maxAttempts: 5, initialDelayMs: 5, maxDelayMs: 20 },
  log,
  ...over,
});

test('records arrive as JSON arrays of export lines, in batches of at most batchMaxRecords, in order', async () => {
  const server = await collector(() => 200);
  const { log, logged } = recorder();
  const sink = createWebhookSink(options(server.url, log, { headers: { authorization: 'Splunk t0ken' } }));
  const records = chainOf(7);
  sink.write(records.slice(0, 2));
  sink.write(records.slice(2, 7));
  await sink.close();
  await server.close();
  assert.deepEqual(server.received.map((r) => r.seqs).flat(), [1, 2, 3, 4, 5, 6, 7]);
  assert.ok(server.received.every((r) => r.seqs.length <= 3));
  assert.equal(
    server.received[0]?.body,
    `[${records
      .slice(0, 3)
      .map((r) => exportLine(r).trimEnd())
      .join(',')}]`,
  );
  assert.equal(server.received[0]?.headers.authorization, 'Splunk t0ken');
  assert.equal(server.received[0]?.headers['content-type'], 'application/json');
  assert.deepEqual(logged, []);
});

test('a small batch goes once its first record has waited batchMaxMs', async () => {
  const server = await collector(() => 200);
  const { log } = recorder();
  const sink = createWebhookSink(options(server.url, log, { batchMaxRecords: 100, batchMaxMs: 30 }));
  const start = Date.now();
  sink.write(chainOf(2));
  await server.arrived(1);
  assert.ok(Date.now() - start >= 25, 'it waited for company');
  assert.deepEqual(server.received[0]?.seqs, [1, 2]);
  await sink.close();
  await server.close();
});

test('failed POSTs (5xx, a cut connection) are retried until one gets through, without reordering', async () => {
  const server = await collector((n) => (n === 1 ? 503 : n === 2 ? 'drop' : n === 3 ? 500 : 200));
  const { log, logged } = recorder();
  const sink = createWebhookSink(options(server.url, log));
  const records = chainOf(6);
  sink.write(records.slice(0, 3));
  await server.arrived(1);
  sink.write(records.slice(3)); // queued behind the failing batch
  await sink.close();
  await server.close();
  assert.equal(server.requests(), 5);
  assert.deepEqual(
    server.received.map((r) => r.seqs),
    [
      [1, 2, 3],
      [4, 5, 6],
    ],
  );
  const retries = logged.filter((l) => l.message === 'audit sink delivery failed; retrying');
  assert.deepEqual(
    retries.map((l) => l.fields.attempt),
    [1, 2, 3],
  );
  assert.equal(retries[0]?.fields.status, 503);
  assert.equal(
    retries[0]?.fields.webhook,
    new URL(server.url).origin,
    'the origin only: the path may be a secret',
  );
  assert.ok(!JSON.stringify(logged).includes('secret-path'));
});

test('a batch that fails every attempt is given up, logged with its seqs; the next one still goes', async () => {
  const server = await collector((n) => (n <= 2 ? 500 : 200));
  const { log, logged } = recorder();
  const sink = createWebhookSink(
    options(server.url, log, { retry: { maxAttempts: 2, initialDelayMs: 1, maxDelayMs: 1 } }),
  );
  const records = chainOf(4);
  sink.write(records.slice(0, 3));
  await server.arrived(2);
  sink.write(records.slice(3));
  await sink.close();
  await server.close();
  const gaveUp = logged.find((l) => l.level === 'error');
  assert.deepEqual([gaveUp?.fields.firstSeq, gaveUp?.fields.lastSeq, gaveUp?.fields.attempts], [1, 3, 2]);
  assert.deepEqual(
    server.received.map((r) => r.seqs),
    [[4]],
  );
});

test('a refusal (4xx) is not retried', async () => {
  const server = await collector(() => 401);
  const { log, logged } = recorder();
  const sink = createWebhookSink(options(server.url, log));
  sink.write(chainOf(2));
  await sink.close();
  await server.close();
  assert.equal(server.requests(), 1);
  assert.equal(logged[0]?.fields.status, 401);
});

test('a full queue drops its oldest records, logged loudly with counts and seqs', async () => {
  let release: () => void = () => undefined;
  const held = new Promise<void>((resolve) => (release = resolve));
  // The first POST is held until the test has filled the queue behind it.
  const server = await collector(() => 200);
  const { log, logged } = recorder();
  const sink = createWebhookSink(
    options(server.url, log, {
      batchMaxRecords: 2,
      maxQueueRecords: 3,
      fetch: async (input, init) => {
        await held;
        return fetch(input, init);
      },
    }),
  );
  const records = chainOf(8);
  sink.write(records.slice(0, 2)); // a full batch: in flight at once, held
  sink.write(records.slice(2, 5)); // queued: 3, the limit
  sink.write(records.slice(5, 8)); // 6 queued: the 3 oldest (seqs 3–5) dropped
  release();
  await sink.close();
  await server.close();
  const dropped = logged.find((l) => l.message.startsWith('audit sink queue full'));
  assert.equal(dropped?.level, 'error');
  assert.deepEqual(
    [
      dropped?.fields.dropped,
      dropped?.fields.firstSeq,
      dropped?.fields.lastSeq,
      dropped?.fields.droppedTotal,
    ],
    [3, 3, 5, 3],
  );
  assert.deepEqual(server.received.map((r) => r.seqs).flat(), [1, 2, 6, 7, 8]);
});

test('close gives up at its deadline, logging what it could not deliver', async () => {
  const server = await collector(() => 503);
  const { log, logged } = recorder();
  const sink = createWebhookSink(
    options(server.url, log, {
      batchMaxRecords: 2,
      closeTimeoutMs: 50,
      retry: { maxAttempts: 1000, initialDelayMs: 10, maxDelayMs: 10 },
    }),
  );
  sink.write(chainOf(5));
  await sink.close();
  await server.close();
  const left = logged.find((l) => l.message.startsWith('audit sink closed before delivering'));
  assert.deepEqual([left?.fields.dropped, left?.fields.firstSeq], [3, 3]);
});
