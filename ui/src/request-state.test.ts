import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatTime } from './format.js';
import { approveHint, modeText, reviewDoneText, stateText, waitingNote } from './request-state.js';
import { MIN, at, pending } from './test-fixtures.js';

const left = pending({ mode: 'deferred', requesterLeftAt: at(2 * MIN) });
const stopped = formatTime(at(2 * MIN));
const decided = formatTime(at(5 * MIN));
const until = formatTime(at(15 * MIN));

test('stateText: a pending request says whether its command still waits', () => {
  assert.equal(stateText(pending()), 'pending: the command is waiting');
  assert.equal(
    stateText(pending({ mode: 'deferred' })),
    'pending: the requester re-runs the command once approved',
  );
  assert.equal(
    stateText(left),
    `pending: the requester is no longer waiting — the command stopped at ${stopped}; once approved, the requester re-runs it once`,
  );
  assert.doesNotMatch(stateText(left), /the command is waiting/u);
});

test('stateText: a withdrawn request says who ended it and when', () => {
  assert.equal(
    stateText(pending({ state: 'withdrawn', decidedAt: at(5 * MIN) })),
    `withdrawn by its requester at ${decided}`,
  );
  assert.equal(stateText(pending({ state: 'withdrawn' })), 'withdrawn by its requester');
});

test('stateText: denied, expired, approved', () => {
  assert.equal(stateText(pending({ state: 'denied', decidedAt: at(5 * MIN) })), `denied at ${decided}`);
  assert.equal(
    stateText(pending({ state: 'expired', decidedAt: at(5 * MIN) })),
    `expired at ${decided} without a decision`,
  );
  const approved = { state: 'approved' as const, decidedAt: at(5 * MIN), grantExpiresAt: at(15 * MIN) };
  assert.equal(stateText(pending(approved)), `approved at ${decided}: the waiting command goes through now`);
  assert.equal(
    stateText(pending({ ...approved, grantUsed: true })),
    `approved at ${decided}: the command went through`,
  );
  assert.equal(
    stateText({ ...left, ...approved }),
    `approved at ${decided}: the requester is no longer waiting, so nothing was sent; their re-run goes through once, until ${until}`,
  );
  assert.equal(
    stateText(pending({ ...approved, mode: 'deferred' })),
    `approved at ${decided}: the requester may re-run the command once, until ${until}`,
  );
  assert.equal(
    stateText(pending({ ...approved, mode: 'deferred', grantUsed: true })),
    `approved at ${decided}: its one re-run was used`,
  );
});

test('modeText: the mode field follows the requester leaving', () => {
  assert.equal(modeText(pending()), 'hold — the command is waiting');
  assert.equal(
    modeText(pending({ mode: 'deferred' })),
    'deferred — the requester re-runs the command once approved',
  );
  assert.equal(
    modeText(left),
    `deferred — the requester is no longer waiting: the command stopped at ${stopped}`,
  );
  assert.equal(modeText(pending({ state: 'denied' })), 'hold');
});

test('waitingNote: only for a pending request whose command stopped waiting', () => {
  assert.equal(
    waitingNote(left),
    `The requester is no longer waiting: the command stopped at ${stopped}; once approved, the requester re-runs it once.`,
  );
  assert.equal(waitingNote(pending()), null);
  assert.equal(waitingNote(pending({ mode: 'deferred' })), null);
  assert.equal(waitingNote({ ...left, state: 'approved' }), null);
});

test('approveHint: what approving does, never a waiting command when it stopped', () => {
  assert.match(approveHint(pending()), /waiting command goes through/u);
  assert.doesNotMatch(approveHint(left), /waiting command/u);
  assert.match(approveHint(left), /no longer waiting/u);
  assert.match(approveHint(left), /re-run/u);
  assert.match(approveHint(pending({ mode: 'deferred' })), /re-run/u);
});

test('reviewDoneText: the result of an approval does not claim a command went through when nobody waits', () => {
  const approved = { state: 'approved' as const, decidedAt: at(5 * MIN), grantExpiresAt: at(15 * MIN) };
  assert.equal(
    reviewDoneText('approve', pending(approved)),
    'You approved this request: the waiting command goes through now.',
  );
  const leftDone = reviewDoneText('approve', { ...left, ...approved });
  assert.equal(
    leftDone,
    `You approved this request: the requester is no longer waiting, so nothing was sent; their re-run goes through once, until ${until}.`,
  );
  assert.doesNotMatch(leftDone, /waiting command/u);
  assert.equal(
    reviewDoneText('approve', pending({ reviews: [] })),
    'You approved this request; it still needs other approvals.',
  );
  assert.equal(
    reviewDoneText('break-glass', pending(approved)),
    'You approved this request with break-glass: the waiting command goes through now.',
  );
  assert.equal(reviewDoneText('deny', pending({ state: 'denied' })), 'You denied this request.');
  assert.equal(
    reviewDoneText('withdraw', pending({ state: 'withdrawn' })),
    'You withdrew this request. Nothing was sent; running the command again asks for approval anew.',
  );
});
