// waitFor always ends: with the check's success, or at the deadline with an error naming what was
// awaited — also when a check never settles (a port that accepts and never answers).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from './api.js';

test('waitFor resolves once the check returns true', async () => {
  let calls = 0;
  await waitFor('the third call', 5_000, () => Promise.resolve(++calls === 3));
  assert.equal(calls, 3);
});

test(
  'waitFor rejects at its deadline when the check never settles, naming what it awaited',
  { timeout: 30_000 },
  async () => {
    await assert.rejects(
      waitFor('etcd to report healthy', 200, () => new Promise<boolean>(() => {})),
      /^Error: timed out after 200 ms waiting for etcd to report healthy$/,
    );
  },
);

test("waitFor's error carries the check's last failure", async () => {
  await assert.rejects(
    waitFor('etcd to report healthy', 200, () =>
      Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:2379')),
    ),
    /waiting for etcd to report healthy: connect ECONNREFUSED 127\.0\.0\.1:2379$/,
  );
});
