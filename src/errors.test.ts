import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describeFailure, ERROR_CODES, isErrorCode, KubegateError, toStatus } from './errors.js';

test('docs/ERRORS.md lists every error code with its HTTP status and reason', async () => {
  const doc = await readFile(join(import.meta.dirname, '..', 'docs', 'ERRORS.md'), 'utf8');
  for (const [code, spec] of Object.entries(ERROR_CODES)) {
    const row = doc.split('\n').find((line) => line.startsWith(`| \`${code}\` |`));
    assert.ok(row, `${code} is missing from docs/ERRORS.md`);
    assert.match(
      row,
      new RegExp(`\\| ${spec.status} \\| ${spec.reason} \\|`),
      `${code}: wrong status or reason in the doc`,
    );
  }
});

test('a kubegate error becomes a Status with its code, reason and message', () => {
  const status = toStatus(
    new KubegateError('KG_POLICY_DENIED', 'Deleting deployments in production is not allowed.'),
  );
  assert.deepEqual(status, {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: 'Deleting deployments in production is not allowed.',
    reason: 'Forbidden',
    code: 403,
  });
});

test('an unknown error becomes a 500 that does not leak its message', () => {
  const status = toStatus(new Error('secret internals /etc/kubegate/token'));
  assert.equal(status.code, 500);
  assert.equal(status.reason, 'InternalError');
  assert.doesNotMatch(status.message, /secret internals/);
});

test('a code with a stable word for programs sends it as details.causes[0].reason', () => {
  const status = toStatus(
    new KubegateError('KG_REVIEW_ALREADY_REVIEWED', 'you have already reviewed this request'),
  );
  assert.equal(status.code, 409);
  assert.equal(status.reason, 'Conflict');
  assert.deepEqual(status.details, {
    causes: [{ reason: 'already-reviewed', message: 'you have already reviewed this request' }],
  });
});

test('details given with the error win over the code’s cause word; codes without one send none', () => {
  const details = { causes: [{ field: 'policy.file', message: 'missing' }] };
  assert.deepEqual(toStatus(new KubegateError('KG_CONFIG_INVALID', 'bad', { details })).details, details);
  assert.equal(toStatus(new KubegateError('KG_API_BAD_REQUEST', 'bad')).details, undefined);
});

test('no two codes share a cause word: a program can tell every refusal apart by it', () => {
  const words = Object.values(ERROR_CODES).flatMap((spec) => ('cause' in spec ? [spec.cause] : []));
  assert.ok(words.length > 0);
  assert.equal(new Set(words).size, words.length);
});

test('isErrorCode knows the table and nothing else', () => {
  assert.equal(isErrorCode('KG_REVIEW_NOT_PENDING'), true);
  assert.equal(isErrorCode('KG_NOPE'), false);
  assert.equal(isErrorCode('toString'), false);
});

const failures: readonly { name: string; input: unknown; want: string }[] = [
  {
    name: 'a system error reads as its code',
    input: Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }),
    want: 'ECONNREFUSED',
  },
  {
    name: 'an error wrapping a system error reads as the wrapped code (undici)',
    input: new Error('fetch failed', { cause: Object.assign(new Error('x'), { code: 'ENOTFOUND' }) }),
    want: 'ENOTFOUND',
  },
  {
    name: 'an error without a code reads as its message',
    input: new Error('socket hang up'),
    want: 'socket hang up',
  },
  {
    name: 'a kubegate error reads as its message, not its code',
    input: new KubegateError('KG_CLI_NO_ANSWER', 'cannot reach kubegate at https://x: ECONNREFUSED'),
    want: 'cannot reach kubegate at https://x: ECONNREFUSED',
  },
  { name: 'anything else reads as the fallback', input: 'a string', want: 'connection failed' },
];

for (const row of failures) {
  test(`describeFailure: ${row.name}`, () => {
    assert.equal(describeFailure(row.input, 'connection failed'), row.want);
  });
}
