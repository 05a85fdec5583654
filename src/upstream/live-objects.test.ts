// Live objects against a fake API server on loopback: the identity used, the cache and the watch
// that keeps it fresh, expiry, idle watches, and every failure thrown with its code.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, afterEach, before, beforeEach, test } from 'node:test';
import { Pool } from 'undici';
import { createLiveObjects } from './live-objects.js';
import type { LiveObjects, LiveObjectsOptions, ObjectRef, WatchNotice } from './live-objects.js';
import type { Upstream } from './pool.js';
import { loopbackUpstream } from '../../test/fixtures/loopback-upstream.js';

interface Seen {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
}

/** A tiny API server: objects by path, a list resourceVersion, open watches, and held answers. */
class FakeApi {
  readonly seen: Seen[] = [];
  readonly objects = new Map<string, Record<string, unknown>>();
  /** Status to answer for a path (before the query), instead of the object. */
  readonly statuses = new Map<string, number>();
  readonly watches = new Set<ServerResponse>();
  /** Pages of a list, by continue token ('' for the first). */
  readonly pages = new Map<string, { items: unknown[]; next: string }>();
  listStatus = 200;
  watchStatus = 200;
  holdGets = false;
  held: (() => void)[] = [];
  readonly server = createServer((req, res) =>
    this.#answer(req.method ?? '', req.url ?? '', req.headers, res),
  );

  get gets(): Seen[] {
    return this.seen.filter((s) => s.method === 'GET' && !s.url.includes('?'));
  }

  emit(type: string, object: unknown): void {
    for (const w of this.watches) w.write(`${JSON.stringify({ type, object })}\n`);
  }

  endWatches(): void {
    for (const w of this.watches) w.end();
  }

  #answer(method: string, url: string, headers: IncomingHttpHeaders, res: ServerResponse): void {
    this.seen.push({ method, url, headers });
    const [path = '', query = ''] = url.split('?');
    const params = new URLSearchParams(query);
    if (params.get('watch') === '1') {
      if (this.watchStatus !== 200)
        return json(res, this.watchStatus, { kind: 'Status', message: 'no watch' });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.flushHeaders();
      this.watches.add(res);
      res.on('close', () => this.watches.delete(res));
      return;
    }
    if (query !== '') {
      if (this.listStatus !== 200)
        return json(res, this.listStatus, { kind: 'Status', message: 'list refused' });
      const page = this.pages.get(params.get('continue') ?? '') ?? { items: [], next: '' };
      return json(res, 200, {
        kind: 'List',
        metadata: { resourceVersion: '100', ...(page.next === '' ? {} : { continue: page.next }) },
        items: page.items,
      });
    }
    const answer = (): void => {
      const status = this.statuses.get(path);
      if (status === -1) return; // never answer
      if (status !== undefined)
        return json(res, status, { kind: 'Status', message: `refused with ${status}` });
      const object = this.objects.get(path);
      if (object === undefined) return json(res, 404, { kind: 'Status', message: 'not found' });
      json(res, 200, object);
    };
    if (this.holdGets) this.held.push(answer);
    else answer();
  }
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function pod(name: string, rv: string, labels: Record<string, string>): Record<string, unknown> {
  return { kind: 'Pod', apiVersion: 'v1', metadata: { name, namespace: 'd', resourceVersion: rv, labels } };
}

const POD_REF: ObjectRef = {
  apiPrefix: 'api',
  apiGroup: '',
  apiVersion: 'v1',
  resource: 'pods',
  namespace: 'd',
  name: 'p',
};
const POD_PATH = '/api/v1/namespaces/d/pods/p';

let api: FakeApi;
let upstream: Upstream;
let live: LiveObjects;
let clock = 1_000_000;
let notices: WatchNotice[] = [];
let noticeWaiters: (() => void)[] = [];

/** Resolves once a watch notice matching `match` has been seen (including earlier ones). */
async function notice(match: (n: WatchNotice) => boolean): Promise<WatchNotice> {
  for (;;) {
    const found = notices.find(match);
    if (found !== undefined) return found;
    await new Promise<void>((resolve) => noticeWaiters.push(resolve));
  }
}

function start(extra: Partial<LiveObjectsOptions> = {}): LiveObjects {
  notices = [];
  live = createLiveObjects(upstream, {
    ttlMs: 30_000,
    now: () => clock,
    onWatch: (n) => {
      notices.push(n);
      const waiters = noticeWaiters;
      noticeWaiters = [];
      for (const w of waiters) w();
    },
    ...extra,
  });
  return live;
}

before(async () => {
  api = new FakeApi();
  upstream = await loopbackUpstream(api.server, { bodyTimeout: 0 });
});

after(async () => {
  await upstream.close();
  api.server.closeAllConnections();
  api.server.close();
});

beforeEach(() => {
  api.seen.length = 0;
  api.objects.clear();
  api.statuses.clear();
  api.pages.clear();
  api.listStatus = 200;
  api.watchStatus = 200;
  api.holdGets = false;
  api.objects.set(POD_PATH, pod('p', '100', { sensitive: 'true' }));
  clock = 1_000_000;
  start();
});

afterEach(async () => {
  await live.close();
});

test('a lookup reads the object as kubegate itself, with no impersonation header', async () => {
  const object = await live.get(POD_REF);
  assert.deepEqual(object, pod('p', '100', { sensitive: 'true' }));
  assert.equal(api.gets.length, 1);
  for (const s of api.seen) {
    assert.equal(s.headers.authorization, 'Bearer kubegate-own-token');
    assert.deepEqual(
      Object.keys(s.headers).filter((h) => h.startsWith('impersonate-')),
      [],
    );
  }
});

test('the first lookup of a collection lists it, watches it from the listed resourceVersion, then gets', async () => {
  await live.get(POD_REF);
  await notice((n) => n.kind === 'started');
  const urls = api.seen.map((s) => s.url);
  assert.equal(urls[0], '/api/v1/namespaces/d/pods?limit=1');
  assert.ok(urls.includes('/api/v1/namespaces/d/pods?watch=1&allowWatchBookmarks=true&resourceVersion=100'));
  assert.ok(urls.indexOf(POD_PATH) > 0, 'the GET comes after the list');
});

test('a second lookup is served from the cache', async () => {
  await live.get(POD_REF);
  clock += 10_000;
  assert.deepEqual(await live.get(POD_REF), pod('p', '100', { sensitive: 'true' }));
  assert.equal(api.gets.length, 1);
  assert.deepEqual(
    { ...live.stats(), entries: undefined },
    { hits: 1, misses: 1, watches: 1, entries: undefined },
  );
});

test('concurrent lookups of one object share one GET', async () => {
  const [a, b] = await Promise.all([live.get(POD_REF), live.get(POD_REF)]);
  assert.deepEqual(a, b);
  assert.equal(api.gets.length, 1);
});

test('a watch event with a newer resourceVersion updates the cached object', async () => {
  await live.get(POD_REF);
  await notice((n) => n.kind === 'started');
  api.emit('MODIFIED', pod('p', '105', { sensitive: 'false' }));
  await notice((n) => n.kind === 'event' && n.name === 'p');
  assert.deepEqual(await live.get(POD_REF), pod('p', '105', { sensitive: 'false' }));
  assert.equal(api.gets.length, 1);
});

test('a watch event older than the cached object is ignored', async () => {
  api.objects.set(POD_PATH, pod('p', '120', { sensitive: 'true' }));
  await live.get(POD_REF);
  await notice((n) => n.kind === 'started');
  api.emit('MODIFIED', pod('p', '110', { sensitive: 'false' }));
  await notice((n) => n.kind === 'event' && n.name === 'p');
  assert.deepEqual(await live.get(POD_REF), pod('p', '120', { sensitive: 'true' }));
  assert.equal(api.gets.length, 1);
});

test('a deleted object is evicted, and the next lookup finds it gone (null)', async () => {
  await live.get(POD_REF);
  await notice((n) => n.kind === 'started');
  api.objects.delete(POD_PATH);
  api.emit('DELETED', pod('p', '106', { sensitive: 'true' }));
  await notice((n) => n.kind === 'event' && n.type === 'DELETED');
  assert.equal(await live.get(POD_REF), null);
  assert.equal(api.gets.length, 2);
});

test('a 404 is cached until the object appears in the watch', async () => {
  api.objects.delete(POD_PATH);
  assert.equal(await live.get(POD_REF), null);
  await notice((n) => n.kind === 'started');
  assert.equal(await live.get(POD_REF), null);
  assert.equal(api.gets.length, 1);
  api.emit('ADDED', pod('p', '101', { sensitive: 'true' }));
  await notice((n) => n.kind === 'event' && n.type === 'ADDED');
  assert.deepEqual(await live.get(POD_REF), pod('p', '101', { sensitive: 'true' }));
  assert.equal(api.gets.length, 1);
});

test('an event that arrives while the GET runs keeps its answer out of the cache', async () => {
  api.holdGets = true;
  const first = live.get(POD_REF);
  await notice((n) => n.kind === 'started');
  while (api.held.length === 0) await new Promise((resolve) => setImmediate(resolve));
  api.emit('MODIFIED', pod('p', '101', { sensitive: 'false' }));
  await notice((n) => n.kind === 'event');
  api.holdGets = false;
  for (const answer of api.held.splice(0)) answer();
  await first;
  await live.get(POD_REF);
  assert.equal(api.gets.length, 2);
});

test('entries expire after ttlMs even while the watch is healthy', async () => {
  await live.get(POD_REF);
  clock += 30_001;
  await live.get(POD_REF);
  assert.equal(api.gets.length, 2);
});

test('when the watch ends its entries are dropped, and the next lookup watches again', async () => {
  await live.get(POD_REF);
  await notice((n) => n.kind === 'started');
  api.endWatches();
  await notice((n) => n.kind === 'ended');
  assert.equal(live.stats().entries, 0);
  await live.get(POD_REF);
  assert.equal(api.gets.length, 2);
  assert.equal(api.seen.filter((s) => s.url.endsWith('?limit=1')).length, 2);
});

test('an ERROR event (410 Gone) ends the watch and drops its entries', async () => {
  await live.get(POD_REF);
  await notice((n) => n.kind === 'started');
  api.emit('ERROR', { kind: 'Status', code: 410, reason: 'Expired' });
  const ended = await notice((n) => n.kind === 'ended');
  assert.deepEqual(ended, { kind: 'ended', collection: '/v1/pods/d', reason: 'error event 410' });
  assert.equal(live.stats().entries, 0);
});

test('a collection not looked up for idleMs stops its watch', async () => {
  await live.get(POD_REF);
  await notice((n) => n.kind === 'started');
  assert.equal(api.watches.size, 1);
  clock += 180_000;
  api.objects.set('/api/v1/namespaces/e/pods/q', pod('q', '7', {}));
  await live.get({ ...POD_REF, namespace: 'e', name: 'q' });
  await notice((n) => n.kind === 'ended' && n.collection === '/v1/pods/d');
  assert.equal(live.stats().watches, 1);
});

test('a cluster-scoped object of a named group is read at its own path', async () => {
  api.objects.set('/apis/rbac.authorization.k8s.io/v1/clusterroles/admin', { metadata: { name: 'admin' } });
  const object = await live.get({
    apiPrefix: 'apis',
    apiGroup: 'rbac.authorization.k8s.io',
    apiVersion: 'v1',
    resource: 'clusterroles',
    namespace: '',
    name: 'admin',
  });
  assert.deepEqual(object, { metadata: { name: 'admin' } });
});

test('a 403 is thrown with KG_UPSTREAM_UNAVAILABLE and names the RBAC kubegate needs', async () => {
  api.statuses.set(POD_PATH, 403);
  await assert.rejects(live.get(POD_REF), (err: { code?: string; message?: string }) => {
    assert.equal(err.code, 'KG_UPSTREAM_UNAVAILABLE');
    assert.match(err.message ?? '', /kubegate-object-reader/);
    return true;
  });
});

test('a lookup that takes longer than requestTimeoutMs is thrown with KG_UPSTREAM_TIMEOUT', async () => {
  await live.close();
  start({ requestTimeoutMs: 100 });
  api.statuses.set(POD_PATH, -1);
  await assert.rejects(live.get(POD_REF), { code: 'KG_UPSTREAM_TIMEOUT' });
});

test('an API server that cannot be reached is thrown with KG_UPSTREAM_UNAVAILABLE', async () => {
  const probe = createServer();
  probe.listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as AddressInfo;
  probe.close();
  await once(probe, 'close');
  const pool = new Pool(`http://127.0.0.1:${port}`);
  const gone = createLiveObjects({ ...upstream, pool }, { ttlMs: 1_000, now: () => clock });
  try {
    await assert.rejects(gone.get(POD_REF), { code: 'KG_UPSTREAM_UNAVAILABLE' });
  } finally {
    await gone.close();
    await pool.close();
  }
});

test('when the watch cannot start, lookups still answer but nothing is cached', async () => {
  api.listStatus = 403;
  assert.deepEqual(await live.get(POD_REF), pod('p', '100', { sensitive: 'true' }));
  assert.deepEqual(await live.get(POD_REF), pod('p', '100', { sensitive: 'true' }));
  assert.equal(api.gets.length, 2);
  assert.equal(
    api.seen.filter((s) => s.url.endsWith('?limit=1')).length,
    1,
    'no new list before the retry time',
  );
});

test('when the watch is refused, its entries are dropped and no new watch is tried before the retry time', async () => {
  api.watchStatus = 403;
  await live.get(POD_REF);
  const ended = await notice((n) => n.kind === 'ended');
  assert.equal(ended.kind === 'ended' && ended.reason, 'answered 403');
  await live.get(POD_REF);
  assert.equal(api.gets.length, 2);
  assert.equal(api.seen.filter((s) => s.url.endsWith('?limit=1')).length, 1);
  clock += 30_000;
  api.watchStatus = 200;
  await live.get(POD_REF);
  await notice((n) => n.kind === 'started');
  assert.equal(api.seen.filter((s) => s.url.endsWith('?limit=1')).length, 2);
});

test('list sends the selectors, follows continue tokens, and is never cached', async () => {
  api.pages.set('', { items: [pod('a', '1', {}), pod('b', '2', {})], next: 'tok en' });
  api.pages.set('tok en', { items: [pod('c', '3', {})], next: '' });
  const ref = { ...POD_REF, labelSelector: 'app in (web,db)', fieldSelector: 'status.phase=Running' };
  const items = await live.list(ref);
  assert.deepEqual(
    items.map((i) => (i.metadata as { name: string }).name),
    ['a', 'b', 'c'],
  );
  assert.deepEqual(
    api.seen.map((s) => s.url),
    [
      '/api/v1/namespaces/d/pods?limit=500&labelSelector=app%20in%20(web%2Cdb)&fieldSelector=status.phase%3DRunning',
      '/api/v1/namespaces/d/pods?limit=500&labelSelector=app%20in%20(web%2Cdb)&fieldSelector=status.phase%3DRunning&continue=tok%20en',
    ],
  );
  for (const s of api.seen) assert.equal(s.headers.authorization, 'Bearer kubegate-own-token');
  await live.list(ref);
  assert.equal(api.seen.length, 4);
});

test('a list refused by the API server is thrown', async () => {
  api.listStatus = 403;
  await assert.rejects(live.list({ ...POD_REF, labelSelector: '', fieldSelector: '' }), {
    code: 'KG_UPSTREAM_UNAVAILABLE',
  });
});

test('a list longer than maxListItems is thrown rather than judged in part', async () => {
  await live.close();
  start({ maxListItems: 1 });
  api.pages.set('', { items: [pod('a', '1', {}), pod('b', '2', {})], next: '' });
  await assert.rejects(live.list({ ...POD_REF, labelSelector: '', fieldSelector: '' }), {
    code: 'KG_UPSTREAM_UNAVAILABLE',
  });
});

test('close ends every watch', async () => {
  await live.get(POD_REF);
  await notice((n) => n.kind === 'started');
  await live.close();
  assert.equal(live.stats().watches, 0);
  await assert.rejects(live.get(POD_REF), { code: 'KG_UPSTREAM_UNAVAILABLE' });
});

const WIDGETS = { apiPrefix: 'apis', apiGroup: 'example.com', apiVersion: 'v1', resource: 'widgets' };
const DISCOVERY_PATH = '/apis/example.com/v1';

function discovery(resources: Record<string, boolean>): Record<string, unknown> {
  return {
    kind: 'APIResourceList',
    groupVersion: 'example.com/v1',
    resources: Object.entries(resources).map(([name, namespaced]) => ({ name, namespaced, kind: 'X' })),
  };
}

test('namespaced reads the group version discovery document as kubegate, once while fresh', async () => {
  api.objects.set(DISCOVERY_PATH, discovery({ widgets: true, gadgets: false, 'widgets/status': true }));
  start();
  assert.equal(await live.namespaced(WIDGETS), true);
  assert.equal(await live.namespaced({ ...WIDGETS, resource: 'gadgets' }), false);
  const reads = api.seen.filter((s) => s.url === DISCOVERY_PATH);
  assert.equal(reads.length, 1);
  assert.equal(reads[0]?.headers['impersonate-user'], undefined);
});

test('a resource missing from a fresh document is looked up again only after discoveryRetryMs', async () => {
  api.objects.set(DISCOVERY_PATH, discovery({ widgets: true }));
  start({ discoveryRetryMs: 10_000 });
  const gizmos = { ...WIDGETS, resource: 'gizmos' };
  assert.equal(await live.namespaced(gizmos), null);
  api.objects.set(DISCOVERY_PATH, discovery({ widgets: true, gizmos: false }));
  assert.equal(await live.namespaced(gizmos), null, 'not before the retry time');
  clock += 10_001;
  assert.equal(await live.namespaced(gizmos), false, 'a CRD added since is found');
  assert.equal(api.seen.filter((s) => s.url === DISCOVERY_PATH).length, 2);
});

test('a discovery document older than discoveryTtlMs is read again', async () => {
  api.objects.set(DISCOVERY_PATH, discovery({ widgets: true }));
  start({ discoveryTtlMs: 60_000 });
  assert.equal(await live.namespaced(WIDGETS), true);
  api.objects.set(DISCOVERY_PATH, discovery({ widgets: false }));
  clock += 60_001;
  assert.equal(await live.namespaced(WIDGETS), false);
});

test('a discovery document that cannot be read is thrown, and not remembered', async () => {
  api.statuses.set(DISCOVERY_PATH, 503);
  start();
  await assert.rejects(live.namespaced(WIDGETS), { code: 'KG_UPSTREAM_UNAVAILABLE' });
  api.statuses.delete(DISCOVERY_PATH);
  api.objects.set(DISCOVERY_PATH, discovery({ widgets: true }));
  assert.equal(await live.namespaced(WIDGETS), true);
});

test('a group version the API server does not serve (404) lists no resource', async () => {
  start();
  assert.equal(await live.namespaced({ ...WIDGETS, apiVersion: 'v9' }), null);
});
