import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { summarize } from './record.js';

test('a long exec target is kept whole, so a padded command keeps its tail', () => {
  const target = `/api/v1/namespaces/d/pods/x/exec?command=sh&command=${'%20'.repeat(3000)}&command=rm%20-rf%20%2F`;
  const summary = summarize('POST', target, null, null);
  assert.equal(summary.target, target);
  assert.equal(summary.targetDigest, undefined);
});

test('a target past the limit is cut, and the digest of the whole pins it down', () => {
  const target = `/api/v1/namespaces/d/pods/x/exec?command=${'a'.repeat(70_000)}&command=tail`;
  const summary = summarize('POST', target, null, null);
  assert.ok(summary.target.length < target.length);
  assert.ok(summary.target.endsWith('…'));
  assert.equal(summary.targetDigest, createHash('sha256').update(target).digest('hex'));
});
