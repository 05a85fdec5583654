// AuditReader.query over a real SQLite trail: each filter alone and combined, the time range
// bounds, the limit keeping the most recent, and events read from the hashed text.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { auditEvent } from '../../audit/event.js';
import type { AuditEvent } from '../../audit/event.js';
import type { AuditRequestSummary } from '../../audit/record.js';
import type { AuditQuery } from '../../audit/store.js';
import { openSqliteAuditReader, type SqliteAuditReader } from './audit-reader.js';
import { SqliteAuditTrail } from './audit-trail.js';

let root: string;
let reader: SqliteAuditReader;

const at = (minute: number): Date => new Date(Date.UTC(2026, 0, 1, 10, minute));

function request(
  verb: string,
  resource: string,
  namespace: string | null,
  subresource: string | null = null,
): AuditRequestSummary {
  return {
    method: 'GET',
    target: '/',
    verb,
    apiGroup: '',
    apiVersion: 'v1',
    resource,
    subresource,
    namespace,
    name: 'x',
    labelSelector: null,
    fieldSelector: null,
    upgrade: null,
    bodyDigest: null,
    kubectlCommand: null,
  };
}

// The requestId of each event names it, so expectations read as lists of names.
const EVENTS: readonly AuditEvent[] = [
  auditEvent('decided', at(0), {
    requestId: 'a-list',
    user: 'alice',
    request: request('list', 'pods', 'dev'),
    decision: 'allow',
  }),
  auditEvent('decided', at(1), {
    requestId: 'b-delete',
    user: 'bob',
    request: request('delete', 'deployments', 'prod'),
    decision: 'deny',
  }),
  auditEvent('decided', at(2), {
    requestId: 'a-exec',
    user: 'alice',
    request: request('create', 'pods', 'prod', 'exec'),
    decision: 'approve',
  }),
  auditEvent('approval-requested', at(2), {
    requestId: 'a-exec',
    pendingId: 'p1',
    user: 'alice',
    request: request('create', 'pods', 'prod', 'exec'),
    decision: 'approve',
  }),
  auditEvent('reviewed', at(3), {
    requestId: 'a-exec',
    pendingId: 'p1',
    user: 'alice',
    actor: 'carol',
    decision: 'allow',
  }),
  auditEvent('decided', at(4), {
    requestId: 'b-pods_',
    user: 'bob',
    request: request('get', 'pods_', 'dev'),
    decision: 'allow',
  }),
  auditEvent('decided', at(5), {
    requestId: 'c-nodes',
    user: 'carol',
    request: request('list', 'nodes', null),
    decision: 'allow',
  }),
];

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'kubegate-audit-query-'));
  const path = join(root, 'audit.db');
  const trail = await SqliteAuditTrail.open(path);
  for (const e of EVENTS) trail.appendLater(e);
  await trail.close();
  reader = openSqliteAuditReader(path, { verify: 'inline' });
});
after(async () => {
  reader.close();
  await rm(root, { recursive: true, force: true });
});

const rows: readonly { name: string; input: AuditQuery; want: readonly string[] }[] = [
  {
    name: 'no filter gives every event, oldest first',
    input: {},
    want: ['a-list', 'b-delete', 'a-exec', 'a-exec', 'a-exec', 'b-pods_', 'c-nodes'],
  },
  {
    name: 'a user finds what they asked for and what they reviewed',
    input: { user: 'carol' },
    want: ['a-exec', 'c-nodes'],
  },
  { name: 'a verb finds only that verb', input: { verb: 'list' }, want: ['a-list', 'c-nodes'] },
  {
    name: 'a namespace finds only that namespace',
    input: { namespace: 'prod' },
    want: ['b-delete', 'a-exec', 'a-exec'],
  },
  {
    name: 'a resource finds it and its subresources, not a longer name',
    input: { resource: 'pods' },
    want: ['a-list', 'a-exec', 'a-exec'],
  },
  {
    name: 'a resource with a subresource finds only that one',
    input: { resource: 'pods/exec' },
    want: ['a-exec', 'a-exec'],
  },
  { name: 'a decision finds only that decision', input: { decision: 'deny' }, want: ['b-delete'] },
  { name: 'a kind finds only that kind', input: { kind: 'reviewed' }, want: ['a-exec'] },
  {
    name: 'a request id finds all of its events',
    input: { requestId: 'a-exec' },
    want: ['a-exec', 'a-exec', 'a-exec'],
  },
  { name: 'a pending id finds the approval events', input: { pendingId: 'p1' }, want: ['a-exec', 'a-exec'] },
  {
    name: 'since includes its own minute and until excludes its own',
    input: { since: at(1), until: at(3) },
    want: ['b-delete', 'a-exec', 'a-exec'],
  },
  { name: 'filters combine with and', input: { user: 'alice', namespace: 'dev' }, want: ['a-list'] },
  {
    name: 'a limit keeps the most recent, still oldest first',
    input: { limit: 2 },
    want: ['b-pods_', 'c-nodes'],
  },
  { name: 'a value holding SQL is only a value', input: { user: "alice' OR '1'='1" }, want: [] },
];

for (const row of rows) {
  test(row.name, async () => {
    assert.deepEqual(
      (await reader.query(row.input)).map((e) => e.event.requestId),
      row.want,
    );
  });
}

test('entries carry their seq and hashes, and the event as it was appended', async () => {
  const entries = await reader.query({ kind: 'reviewed' });
  assert.equal(entries.length, 1);
  const [entry] = entries;
  assert.equal(entry?.seq, 5);
  assert.deepEqual(entry?.event, EVENTS[4]);
  assert.match(entry?.prevHash ?? '', /^[0-9a-f]{64}$/);
  assert.match(entry?.hash ?? '', /^[0-9a-f]{64}$/);
});
