import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ERROR_CODES, KubegateError, toStatus } from './errors.js';

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
