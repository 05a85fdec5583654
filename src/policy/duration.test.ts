import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatDuration, parseDuration } from './duration.js';

const rows: readonly { name: string; input: string; want: ReturnType<typeof parseDuration> }[] = [
  { name: 'seconds are read', input: '30s', want: { ok: true, ms: 30_000 } },
  { name: 'hours and minutes combine', input: '1h30m', want: { ok: true, ms: 5_400_000 } },
  { name: 'milliseconds are read', input: '250ms', want: { ok: true, ms: 250 } },
  { name: 'fractions are read', input: '1.5h', want: { ok: true, ms: 5_400_000 } },
  {
    name: 'days are refused with advice',
    input: '2d',
    want: {
      ok: false,
      message:
        '"2d" is not a duration (write it like "30s", "5m" or "1h30m"; Go durations have no "d" unit, write hours such as "24h")',
    },
  },
  {
    name: 'a bare number is refused',
    input: '30',
    want: { ok: false, message: '"30" is not a duration (write it like "30s", "5m" or "1h30m")' },
  },
  {
    name: 'zero is refused',
    input: '0s',
    want: { ok: false, message: '"0s" is shorter than a millisecond' },
  },
];

for (const row of rows) {
  test(row.name, () => {
    assert.deepEqual(parseDuration(row.input), row.want);
  });
}

test('durations print back in Go style', () => {
  assert.deepEqual([5_400_000, 45_000, 250, 3_600_000].map(formatDuration), ['1h30m', '45s', '250ms', '1h']);
});
