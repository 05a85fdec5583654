// The head publisher: what it publishes at start, on each interval and at stop, and what it
// leaves out (an unchanged head, an empty trail, a head it could not read).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ChainHead } from './chain.js';
import { HEAD_FORMAT, type PublishedHead } from './head.js';
import { startHeadPublisher, type HeadPublisher } from './head-publisher.js';

const hash = (c: string): string => c.repeat(64);
const NOW = new Date('2026-01-01T09:00:00.000Z');

/** A publisher over a head the test moves, publishing into `published`. */
function setup(initial: ChainHead | null, intervalMs = 60_000) {
  const state = { head: initial, reads: 0, failNext: false };
  const published: PublishedHead[] = [];
  const errors: unknown[] = [];
  const publisher: HeadPublisher = startHeadPublisher({
    head: () => {
      state.reads += 1;
      if (state.failNext) {
        state.failNext = false;
        return Promise.reject(new Error('disk I/O error'));
      }
      return Promise.resolve(state.head);
    },
    publish: (head) => published.push(head),
    onError: (err) => errors.push(err),
    now: () => NOW,
    intervalMs,
  });
  return { state, published, errors, publisher };
}

const seqs = (published: readonly PublishedHead[]): number[] => published.map((h) => h.seq);

test('the head found at start is published at once', async () => {
  const { state, published, publisher } = setup({ seq: 6, hash: hash('a') });
  assert.equal(state.reads, 1, 'read while starting, before any tick');
  await publisher.tick(); // shares that read
  assert.equal(state.reads, 1);
  assert.deepEqual(published, [
    { format: HEAD_FORMAT, seq: 6, count: 6, hash: hash('a'), time: NOW.toISOString() },
  ]);
  await publisher.stop();
});

test('a head that did not move is not published again; one that moved is', async () => {
  const { state, published, publisher } = setup({ seq: 6, hash: hash('a') });
  await publisher.tick();
  await publisher.tick();
  assert.deepEqual(seqs(published), [6]);
  state.head = { seq: 9, hash: hash('b') };
  await publisher.tick();
  await publisher.tick();
  assert.deepEqual(seqs(published), [6, 9]);
  await publisher.stop();
});

test('the same seq with another hash counts as moved (the trail was replaced under it)', async () => {
  const { state, published, publisher } = setup({ seq: 6, hash: hash('a') });
  await publisher.tick();
  state.head = { seq: 6, hash: hash('c') };
  await publisher.tick();
  assert.deepEqual(
    published.map((h) => h.hash),
    [hash('a'), hash('c')],
  );
  await publisher.stop();
});

test('an empty trail publishes nothing until its first record', async () => {
  const { state, published, publisher } = setup(null);
  await publisher.tick();
  assert.deepEqual(published, []);
  state.head = { seq: 1, hash: hash('d') };
  await publisher.tick();
  assert.deepEqual(seqs(published), [1]);
  await publisher.stop();
});

test('stop publishes the last head when it moved, then publishes nothing more', async () => {
  const { state, published, publisher } = setup({ seq: 6, hash: hash('a') });
  await publisher.tick();
  state.head = { seq: 7, hash: hash('e') };
  await publisher.stop();
  assert.deepEqual(seqs(published), [6, 7]);
  state.head = { seq: 8, hash: hash('f') };
  await publisher.tick();
  await publisher.stop();
  assert.deepEqual(seqs(published), [6, 7]);
});

test('stop publishes nothing when the head did not move since the last one published', async () => {
  const { published, publisher } = setup({ seq: 6, hash: hash('a') });
  await publisher.tick();
  await publisher.stop();
  assert.deepEqual(seqs(published), [6]);
});

test('a head that cannot be read is reported, and the next tick publishes it', async () => {
  const { state, published, errors, publisher } = setup({ seq: 6, hash: hash('a') });
  await publisher.tick(); // the start's read
  state.head = { seq: 7, hash: hash('b') };
  state.failNext = true;
  await publisher.tick();
  assert.deepEqual(seqs(published), [6]);
  assert.equal(errors.length, 1);
  await publisher.tick();
  assert.deepEqual(seqs(published), [6, 7]);
  await publisher.stop();
});

test('the interval reads the head every intervalMs, and no more after stop', async (t) => {
  t.mock.timers.enable({ apis: ['setInterval'] });
  const { state, publisher } = setup({ seq: 6, hash: hash('a') }, 1000);
  // A tick while one runs shares its read: awaiting it waits for the running read to end.
  await publisher.tick();
  const atStart = state.reads;
  t.mock.timers.tick(999);
  assert.equal(state.reads, atStart);
  t.mock.timers.tick(1);
  assert.equal(state.reads, atStart + 1);
  await publisher.tick();
  assert.equal(state.reads, atStart + 1, 'a tick during the interval’s read shares it');
  t.mock.timers.tick(1000);
  assert.equal(state.reads, atStart + 2);
  await publisher.stop();
  const atStop = state.reads;
  t.mock.timers.tick(5000);
  assert.equal(state.reads, atStop);
});
