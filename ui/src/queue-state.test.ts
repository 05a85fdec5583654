import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fromList, isAhead, pendingItems, recentItems, upsert } from './queue-state.js';
import { MIN, at, pending, review } from './test-fixtures.js';

const a = pending({ id: 'kg-a', createdAt: at(0) });
const b = pending({ id: 'kg-b', createdAt: at(2 * MIN) });
const c = pending({ id: 'kg-c', createdAt: at(1 * MIN), state: 'approved', decidedAt: at(5 * MIN) });
const d = pending({ id: 'kg-d', createdAt: at(3 * MIN), state: 'denied', decidedAt: at(4 * MIN) });

test('pendingItems: only pending requests, newest first', () => {
  assert.deepEqual(
    pendingItems(fromList([a, b, c, d])).map((p) => p.id),
    ['kg-b', 'kg-a'],
  );
});

test('recentItems: decided requests, most recently decided first, limited', () => {
  const state = fromList([a, b, c, d]);
  assert.deepEqual(
    recentItems(state).map((p) => p.id),
    ['kg-c', 'kg-d'],
  );
  assert.deepEqual(
    recentItems(state, 1).map((p) => p.id),
    ['kg-c'],
  );
});

test('upsert adds a created request', () => {
  const state = upsert(fromList([a]), b);
  assert.deepEqual(
    pendingItems(state).map((p) => p.id),
    ['kg-b', 'kg-a'],
  );
});

test('upsert moves a decided request out of the pending list', () => {
  const state = upsert(fromList([a, b]), { ...a, state: 'approved', decidedAt: at(9 * MIN) });
  assert.deepEqual(
    pendingItems(state).map((p) => p.id),
    ['kg-b'],
  );
  assert.deepEqual(
    recentItems(state).map((p) => p.id),
    ['kg-a'],
  );
});

test('upsert moves a withdrawn request out of the pending list, as a denied one', () => {
  const state = upsert(fromList([a, b]), { ...a, state: 'withdrawn', decidedAt: at(9 * MIN) });
  assert.deepEqual(
    pendingItems(state).map((p) => p.id),
    ['kg-b'],
  );
  assert.deepEqual(
    recentItems(state).map((p) => p.id),
    ['kg-a'],
  );
});

test('upsert takes an update that says the held command stopped waiting, and one that it waits again', () => {
  const left = { ...a, mode: 'deferred' as const, requesterLeftAt: at(3 * MIN) };
  let state = upsert(fromList([a]), left);
  assert.equal(state.get('kg-a'), left);
  state = upsert(state, a);
  assert.equal(state.get('kg-a'), a, 'a re-run holds it again: the newer record wins a tie');
});

test('upsert takes a new review', () => {
  const reviewed = { ...a, reviews: [review('bob', ['sre'])] };
  assert.equal(upsert(fromList([a]), reviewed).get('kg-a'), reviewed);
});

test('upsert keeps a record further along than a late event', () => {
  const two = { ...a, reviews: [review('bob', ['sre']), review('carol', ['sre'])] };
  const one = { ...a, reviews: [review('bob', ['sre'])] };
  const state = fromList([two]);
  assert.equal(upsert(state, one), state);
  const decided = { ...a, state: 'approved' as const };
  assert.equal(upsert(fromList([decided]), { ...a, reviews: [review('bob', ['sre'])] }).get('kg-a'), decided);
});

test('isAhead: the same record is not ahead of itself; context counts last', () => {
  assert.equal(isAhead(a, a), false);
  const withContext = {
    ...a,
    context: { targetLabels: null, dryRun: null, diff: null, objects: null, exec: null, notes: [] },
  };
  assert.equal(isAhead(withContext, a), true);
  assert.equal(isAhead(a, withContext), false);
});
