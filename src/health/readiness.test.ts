// Readiness: not ready before every check passed once, flips at the next run when a check fails
// (or throws, or hangs past its timeout), and back when it passes; passedWithin tolerates a
// dependency's blip for its grace period and no longer.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { passedWithin, Readiness } from './readiness.js';

test('ready only when every check passed at its last run; a failure, an error or a hang flips it', async () => {
  let store: string | null = null;
  let policy: () => Promise<string | null> = () => Promise.resolve(null);
  const readiness = new Readiness(
    [
      { name: 'policy', run: () => policy() },
      { name: 'store', run: () => Promise.resolve(store) },
    ],
    { intervalMs: 60_000, timeoutMs: 50 },
  );
  assert.equal(readiness.ready, false, 'not ready before the first run');
  assert.equal(readiness.results()[0]?.reason, 'not checked yet');
  await readiness.runOnce();
  assert.equal(readiness.ready, true);
  store = 'cannot reach the database';
  await readiness.runOnce();
  assert.equal(readiness.ready, false);
  assert.deepEqual(
    readiness.results().map((r) => [r.name, r.ok, r.reason]),
    [
      ['policy', true, null],
      ['store', false, 'cannot reach the database'],
    ],
  );
  store = null;
  policy = () => Promise.reject(new Error('boom'));
  await readiness.runOnce();
  assert.equal(readiness.results()[0]?.reason, 'boom');
  policy = () => new Promise(() => {});
  await readiness.runOnce();
  assert.equal(readiness.results()[0]?.reason, 'timed out after 50 ms');
  policy = () => Promise.resolve(null);
  await readiness.runOnce();
  assert.equal(readiness.ready, true);
  readiness.close();
});

test('passedWithin: a failing dependency passes for the grace period after it last passed, then fails', async () => {
  let now = 0;
  let reason: string | null = null;
  const check = passedWithin(1_000, { name: 'upstream', run: () => Promise.resolve(reason) }, () => now);
  reason = 'down';
  assert.equal(await check.run(), 'down (last reached never)', 'never reached: no grace');
  reason = null;
  assert.equal(await check.run(), null);
  reason = 'down';
  now = 999;
  assert.equal(await check.run(), null, 'within the grace period');
  now = 1_000;
  assert.equal(await check.run(), 'down (last reached 1 s ago)');
});
