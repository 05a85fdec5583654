import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import type { KubeRequest } from '../request/types.js';
import { evaluate } from './evaluate.js';
import { PolicyStore } from './reload.js';
import type { PolicyStoreEvents } from './reload.js';

const policyText = (action: 'allow' | 'deny', rules = 0): string =>
  [
    'apiVersion: kubegate.dev/v1alpha1',
    'kind: Policy',
    `defaults: {action: ${action}}`,
    'rules:',
    ...Array.from(
      { length: rules },
      (_, i) => `  - {name: r${i}, match: {namespaces: [ns${i}]}, action: deny}`,
    ),
    rules === 0 ? '  []' : '',
  ].join('\n');

const BROKEN =
  'apiVersion: kubegate.dev/v1alpha1\nkind: Policy\ndefaults: {action: allow}\nrules:\n  - name: x\n    match: {verbs: [delet]}\n    action: deny\n';

/** Waits for one store event, failing after a deadline instead of hanging the run. */
async function next<E extends keyof PolicyStoreEvents>(
  store: PolicyStore,
  event: E,
): Promise<PolicyStoreEvents[E]> {
  return (await once(store, event, { signal: AbortSignal.timeout(5000) })) as PolicyStoreEvents[E];
}

let dir = '';
let file = '';
let store: PolicyStore | null = null;
const fixedNow = new Date('2026-01-05T10:00:00Z');

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kubegate-policy-reload-'));
  file = join(dir, 'policy.yaml');
});
afterEach(async () => {
  store?.close();
  store = null;
  await rm(dir, { recursive: true, force: true });
});

function newStore(): PolicyStore {
  store = new PolicyStore({ file, debounceMs: 10, now: () => fixedNow });
  return store;
}

const request = {
  method: 'GET',
  path: '/api/v1/namespaces/default/pods',
  rawQuery: '',
  isResourceRequest: true,
  verb: 'list',
  apiPrefix: 'api',
  apiGroup: '',
  apiVersion: 'v1',
  namespace: 'default',
  resource: 'pods',
  subresource: '',
  name: '',
  parts: ['pods'],
  query: {},
  labelSelector: '',
  fieldSelector: '',
  contentType: '',
  upgrade: null,
  kubectlCommand: '',
  kubectlSession: '',
} satisfies KubeRequest;

test('the store loads the file at start', async () => {
  await writeFile(file, policyText('allow', 2));
  const s = newStore();
  const outcome = await s.start();
  assert.equal(outcome.kind, 'loaded');
  assert.equal(s.current().rules.length, 2);
  assert.deepEqual(s.stats(), {
    file,
    loads: 1,
    failures: 0,
    lastLoadedAt: fixedNow,
    lastFailedAt: null,
    rules: 2,
    failClosed: false,
  });
});

test('a change to the file is picked up without a restart', async () => {
  await writeFile(file, policyText('allow'));
  const s = newStore();
  await s.start();
  const loaded = next(s, 'loaded');
  await writeFile(file, policyText('allow', 3));
  const [policy] = await loaded;
  assert.equal(policy.rules.length, 3);
  assert.equal(s.current(), policy);
});

test('an editor that renames a new file over the old one is picked up', async () => {
  await writeFile(file, policyText('allow'));
  const s = newStore();
  await s.start();
  const loaded = next(s, 'loaded');
  await writeFile(join(dir, '.policy.yaml.swp'), policyText('deny', 1));
  await rename(join(dir, '.policy.yaml.swp'), file);
  const [policy] = await loaded;
  assert.equal(policy.defaults.action, 'deny');
  assert.equal(s.current().rules.length, 1);
});

test('a broken edit keeps the last good policy and records where it broke', async () => {
  await writeFile(file, policyText('allow', 1));
  const s = newStore();
  await s.start();
  const good = s.current();
  const failed = next(s, 'failed');
  await writeFile(file, BROKEN);
  const [error] = await failed;
  assert.equal(s.current(), good);
  assert.equal(
    error.message,
    `${file}:6:21: rules[0].match.verbs[0]: "delet" is not a Kubernetes verb (get, list, watch, create, update, patch, delete, deletecollection, proxy or *)`,
  );
  assert.equal(s.lastError(), error);
  assert.equal(s.stats().failures, 1);
  assert.equal(s.stats().loads, 1);
});

test('an explicit reload reads the file again, as on SIGHUP', async () => {
  await writeFile(file, policyText('allow'));
  const s = new PolicyStore({ file, now: () => fixedNow });
  store = s;
  await s.reload();
  await writeFile(file, policyText('deny', 2));
  const outcome = await s.reload();
  assert.equal(outcome.kind, 'loaded');
  assert.equal(s.current().rules.length, 2);
  assert.equal(s.stats().loads, 2);
});

test('a fixed file clears the last error', async () => {
  await writeFile(file, BROKEN);
  const s = newStore();
  await s.start();
  assert.notEqual(s.lastError(), null);
  await writeFile(file, policyText('allow'));
  await s.reload();
  assert.equal(s.lastError(), null);
  assert.equal(s.stats().failClosed, false);
});

test('with no policy ever loaded every request is denied, saying why', async () => {
  await writeFile(file, BROKEN);
  const s = newStore();
  const outcome = await s.start();
  assert.equal(outcome.kind, 'failed');
  const policy = s.current();
  assert.equal(policy.failClosed, true);
  const decision = evaluate(policy, {
    request,
    body: null,
    identity: { user: 'alice', groups: [] },
    object: null,
    now: fixedNow,
  });
  assert.equal(decision.kind, 'deny');
  assert.equal(
    decision.message,
    'kubegate refuses every request because its policy failed to load; an administrator must fix the policy file.',
  );
});

test('a missing file is a failure at 1:1 and keeps the store fail-closed', async () => {
  const s = newStore();
  const outcome = await s.start();
  assert.equal(outcome.kind, 'failed');
  assert.equal(s.lastError()?.message, `${file}:1:1: cannot read the file (ENOENT)`);
  assert.equal(s.stats().failClosed, true);
});
