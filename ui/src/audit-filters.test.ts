import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  EMPTY_FILTERS,
  clampLimit,
  filtersFromSearch,
  hasFilters,
  isoToLocalInput,
  localInputToIso,
  searchFromFilters,
  type AuditFilters,
} from './audit-filters.js';

const rows: readonly { name: string; input: AuditFilters; want: string }[] = [
  { name: 'no filters give an empty query', input: EMPTY_FILTERS, want: '' },
  { name: 'one filter', input: { ...EMPTY_FILTERS, user: 'alice' }, want: '?user=alice' },
  {
    name: 'blank filters are left out and values are trimmed',
    input: { ...EMPTY_FILTERS, user: ' alice ', namespace: '  ', verb: 'delete' },
    want: '?user=alice&verb=delete',
  },
  {
    name: 'times, a decision and a limit',
    input: { ...EMPTY_FILTERS, decision: 'deny', since: '2026-01-02T03:04:00.000Z', limit: 50 },
    want: '?decision=deny&since=2026-01-02T03%3A04%3A00.000Z&limit=50',
  },
  { name: 'the default limit is left out', input: { ...EMPTY_FILTERS, limit: 200 }, want: '' },
  {
    name: 'a pending request and an event kind',
    input: { ...EMPTY_FILTERS, pendingId: 'kg-1', kind: 'reviewed' },
    want: '?kind=reviewed&pendingId=kg-1',
  },
  {
    name: 'characters that mean something in a query are escaped',
    input: { ...EMPTY_FILTERS, user: 'a&b=c', resource: 'pods/exec' },
    want: '?user=a%26b%3Dc&resource=pods%2Fexec',
  },
];

for (const row of rows) {
  test(`searchFromFilters: ${row.name}`, () => {
    assert.equal(searchFromFilters(row.input), row.want);
  });
  test(`filtersFromSearch reads back: ${row.name}`, () => {
    const back = filtersFromSearch(row.want);
    assert.equal(searchFromFilters(back), row.want);
  });
}

test('filtersFromSearch ignores unknown keys and bad times, and clamps the limit', () => {
  const f = filtersFromSearch('?user=bob&foo=1&since=yesterday&until=2026-01-01T00:00:00Z&limit=5000');
  assert.equal(f.user, 'bob');
  assert.equal(f.since, '');
  assert.equal(f.until, '2026-01-01T00:00:00.000Z');
  assert.equal(f.limit, 1000);
});

const limits: readonly { name: string; input: string | number | null; want: number }[] = [
  { name: 'none is the default', input: null, want: 200 },
  { name: 'empty is the default', input: '', want: 200 },
  { name: 'garbage is the default', input: 'lots', want: 200 },
  { name: 'zero is one', input: 0, want: 1 },
  { name: 'above the maximum is the maximum', input: '1001', want: 1000 },
  { name: 'a fraction is cut', input: '12.7', want: 12 },
];
for (const row of limits) {
  test(`clampLimit: ${row.name}`, () => assert.equal(clampLimit(row.input), row.want));
}

test('localInputToIso reads local time; isoToLocalInput writes it back', () => {
  const local = new Date(2026, 0, 2, 3, 4);
  assert.equal(localInputToIso('2026-01-02T03:04'), local.toISOString());
  assert.equal(isoToLocalInput(local.toISOString()), '2026-01-02T03:04');
  assert.equal(localInputToIso('2026-01-02T03:04:05'), new Date(2026, 0, 2, 3, 4, 5).toISOString());
  assert.equal(localInputToIso(''), '');
  assert.equal(localInputToIso('tomorrow'), '');
  assert.equal(isoToLocalInput(''), '');
  assert.equal(isoToLocalInput('nope'), '');
});

test('hasFilters ignores the limit', () => {
  assert.equal(hasFilters({ ...EMPTY_FILTERS, limit: 10 }), false);
  assert.equal(hasFilters({ ...EMPTY_FILTERS, verb: 'get' }), true);
});
