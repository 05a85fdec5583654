import assert from 'node:assert/strict';
import { test } from 'node:test';
import { durationChoices, durationText, standingOffer, standingStatus } from './standing.js';
import { MIN, pending, requirement } from './test-fixtures.js';

test('a standing approval is offered only when every rule that asked allows one, within the strictest', () => {
  assert.equal(standingOffer([requirement()]), null);
  assert.equal(standingOffer([]), null);
  const rule = requirement({ standing: { maxMs: 60 * MIN, scope: 'rule' } });
  const identical = requirement({ rule: 'other', standing: { maxMs: 30 * MIN, scope: 'identical' } });
  assert.deepEqual(standingOffer([rule]), { scopes: ['identical', 'rule'], maxMs: 60 * MIN });
  assert.deepEqual(standingOffer([rule, identical]), { scopes: ['identical'], maxMs: 30 * MIN });
  assert.equal(standingOffer([rule, requirement({ rule: 'none' })]), null);
});

test('the durations offered stop at the limit, which is always offered', () => {
  assert.deepEqual(durationChoices(60 * MIN).map(durationText), ['15m', '30m', '1h']);
  assert.deepEqual(durationChoices(90 * MIN).map(durationText), ['15m', '30m', '1h', '1h30m']);
  assert.deepEqual(durationChoices(10 * MIN).map(durationText), ['10m']);
});

test('a standing approval is active until it ends or is revoked', () => {
  const base = pending();
  const standing = {
    scope: 'identical' as const,
    until: '2026-11-25T11:00:00.000Z',
    grantedBy: 'bob',
    uses: 0,
    revokedAt: null,
    revokedBy: null,
  };
  assert.equal(standingStatus(base, 0), null);
  assert.equal(standingStatus({ standing }, Date.parse('2026-11-25T10:59:59.000Z')), 'active');
  assert.equal(standingStatus({ standing }, Date.parse('2026-11-25T11:00:00.000Z')), 'ended');
  assert.equal(
    standingStatus(
      { standing: { ...standing, revokedAt: '2026-11-25T10:30:00.000Z', revokedBy: 'carol' } },
      0,
    ),
    'revoked',
  );
});
