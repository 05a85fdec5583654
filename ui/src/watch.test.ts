import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pending } from './test-fixtures.js';
import { parseWatchEvent } from './watch.js';

test('parseWatchEvent reads an event the API sends', () => {
  const data = JSON.stringify({ type: 'reviewed', pending: pending(), review: null, url: null });
  assert.equal(parseWatchEvent(data)?.pending.id, 'kg-aaaaaaaaaa');
});

const bad: readonly { name: string; input: unknown }[] = [
  { name: 'not a string', input: 42 },
  { name: 'not JSON', input: '{' },
  { name: 'JSON null', input: 'null' },
  { name: 'an unknown type', input: JSON.stringify({ type: 'deleted', pending: pending() }) },
  { name: 'no pending request', input: JSON.stringify({ type: 'created' }) },
  { name: 'a pending request without an id', input: JSON.stringify({ type: 'created', pending: {} }) },
];
for (const row of bad) {
  test(`parseWatchEvent ignores ${row.name}`, () => assert.equal(parseWatchEvent(row.input), null));
}
