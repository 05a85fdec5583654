// The enrich edge: live objects the policy reads (objectSelector, `object` in CEL), fetched from
// the API server AS KUBEGATE ITSELF — never impersonating the caller, whose rights do not matter
// here: kubegate must see the labels even of objects the caller may not read. Input: a reference
// to one object (get) or to a collection with selectors (list). Output: the object as JSON, null
// for a 404, or the listed items. Must never guess: any other answer (403, timeout, network) is
// thrown, so that the decide stage fails closed; and must never serve an entry that a watch
// could not have kept fresh.
//
// Cache: one per collection (group, version, resource, namespace), created on its first lookup.
// That lookup first lists the collection with limit=1 to learn its current resourceVersion, then
// starts a watch from it and only then GETs the object: every change after the list arrives as
// a watch event, and the GET saw at least the listed state, so no change falls between the two.
// Events update cached objects (a newer resourceVersion replaces an older one) and evict deleted
// ones; an event during a GET keeps that GET's answer out of the cache. When a watch ends for any
// reason (the API server's timeout, a 410 Gone, a broken connection) its collection's entries are
// dropped, since events may have been missed; the next lookup starts again. Entries also expire
// after ttlMs whatever the watch says, and a collection not looked up for idleMs stops its watch.
// The RBAC this needs is the ClusterRole kubegate-object-reader (deploy/kubernetes/upstream-rbac.yaml).
import { StringDecoder } from 'node:string_decoder';
import type { Logger } from 'pino';
import { errors as undiciErrors } from 'undici';
import { describeFailure, KubegateError } from '../errors.js';
import type { ObjectRef } from '../request/target.js';
import type { Upstream } from './pool.js';

/** One object, named as the API server's handler finds it (request/target.ts). */
export type { ObjectRef } from '../request/target.js';

export interface CollectionRef extends Omit<ObjectRef, 'name'> {
  /** As the request carried them (decoded); '' for none. */
  readonly labelSelector: string;
  readonly fieldSelector: string;
}

/** A resource type: where its discovery document is. */
export type ResourceRef = Pick<ObjectRef, 'apiPrefix' | 'apiGroup' | 'apiVersion' | 'resource'>;

export type LiveObject = Record<string, unknown>;

export interface LiveObjectsStats {
  readonly hits: number;
  readonly misses: number;
  /** Collections with a running (or starting) watch. */
  readonly watches: number;
  readonly entries: number;
}

export interface LiveObjects {
  /** The object, or null when the API server answers 404. Throws KG_UPSTREAM_* otherwise. */
  get(ref: ObjectRef): Promise<LiveObject | null>;
  /** Every object of the collection that the selectors select (all pages); never cached. */
  list(ref: CollectionRef): Promise<LiveObject[]>;
  /**
   * Whether the resource is namespaced, from the API server's discovery document of its group
   * version (read as kubegate, cached); null when discovery does not list it. Throws when
   * discovery cannot be read.
   */
  namespaced(ref: ResourceRef): Promise<boolean | null>;
  stats(): LiveObjectsStats;
  /** Stops every watch; resolves when they have ended. */
  close(): Promise<void>;
}

/** What the watches do, for logs and tests. */
export type WatchNotice =
  | { readonly kind: 'started'; readonly collection: string }
  | { readonly kind: 'event'; readonly collection: string; readonly type: string; readonly name: string }
  | { readonly kind: 'ended'; readonly collection: string; readonly reason: string };

export interface LiveObjectsOptions {
  /** The longest a cached object is served, even while its watch is healthy. */
  readonly ttlMs: number;
  /** Clock in milliseconds (Date.now in production). */
  readonly now: () => number;
  /** A collection not looked up for this long stops its watch. Default 3 minutes. */
  readonly idleMs?: number;
  /** Per GET or list page. Default 5 s. */
  readonly requestTimeoutMs?: number;
  /** After a watch could not start, lookups skip the cache for this long. Default 30 s. */
  readonly retryWatchAfterMs?: number;
  /** A list for deletecollection that would return more objects than this is refused. Default 10,000. */
  readonly maxListItems?: number;
  /** Cached objects across all collections; the oldest go first. Default 10,000. */
  readonly maxEntries?: number;
  /** How long a discovery document is trusted. Default 5 minutes. */
  readonly discoveryTtlMs?: number;
  /** A resource missing from a cached discovery document refetches it at most this often. Default 10 s. */
  readonly discoveryRetryMs?: number;
  readonly log?: Pick<Logger, 'warn' | 'debug'>;
  readonly onWatch?: (notice: WatchNotice) => void;
}

/** One group version's discovery: resource name → namespaced. */
interface Discovery {
  readonly scopes: ReadonlyMap<string, boolean>;
  readonly at: number;
}

interface Entry {
  readonly object: LiveObject | null;
  readonly at: number;
}

interface Watch {
  readonly abort: AbortController;
  /** Settles when the watch loop has ended (never rejects). */
  done: Promise<void>;
}

interface Inflight {
  readonly promise: Promise<LiveObject | null>;
  /** A watch event touched the name, or the watch ended, while the GET ran: do not cache. */
  stale: boolean;
}

interface Collection {
  readonly key: string;
  /** Path of the collection, pathPrefix included: …/namespaces/<ns>/<resource>. */
  readonly path: string;
  readonly entries: Map<string, Entry>;
  readonly inflight: Map<string, Inflight>;
  watch: Watch | null;
  /** Resolves true once the watch's starting resourceVersion is known (false: no watch). */
  ready: Promise<boolean> | null;
  lastUsed: number;
  retryAt: number;
}

const MAX_EVENT_BYTES = 16 * 1024 * 1024;
const PAGE_SIZE = 500;

export function createLiveObjects(upstream: Upstream, opts: LiveObjectsOptions): LiveObjects {
  const idleMs = opts.idleMs ?? 180_000;
  const requestTimeoutMs = opts.requestTimeoutMs ?? 5_000;
  const retryWatchAfterMs = opts.retryWatchAfterMs ?? 30_000;
  const maxListItems = opts.maxListItems ?? 10_000;
  const maxEntries = opts.maxEntries ?? 10_000;
  const discoveryTtlMs = opts.discoveryTtlMs ?? 300_000;
  const discoveryRetryMs = opts.discoveryRetryMs ?? 10_000;
  const collections = new Map<string, Collection>();
  const discoveries = new Map<string, Discovery>();
  const discoveryReads = new Map<string, Promise<Discovery>>();
  let hits = 0;
  let misses = 0;
  let closed = false;
  // The idle sweep also runs on every lookup; the timer covers a gateway that has gone quiet.
  const sweeper = setInterval(() => sweep(), Math.max(1_000, Math.floor(idleMs / 2)));
  sweeper.unref();

  function headers(): Record<string, string> {
    const out: Record<string, string> = { accept: 'application/json', 'user-agent': 'kubegate/live-objects' };
    const authorization = upstream.authorization();
    if (authorization !== null) out.authorization = authorization;
    return out;
  }

  /** One request as kubegate's own identity; resolves with the status and the parsed JSON body. */
  async function fetchJson(path: string, what: string): Promise<{ status: number; json: unknown }> {
    let response;
    try {
      response = await upstream.pool.request({
        path,
        method: 'GET',
        headers: headers(),
        signal: AbortSignal.timeout(requestTimeoutMs),
      });
    } catch (err) {
      throw lookupError(err, what);
    }
    let text: string;
    try {
      text = await response.body.text();
    } catch (err) {
      throw lookupError(err, what);
    }
    if (response.statusCode === 404) return { status: 404, json: null };
    if (response.statusCode !== 200) {
      throw new KubegateError(
        'KG_UPSTREAM_UNAVAILABLE',
        `kubegate could not read ${what}: the API server answered ${response.statusCode}${statusMessage(text)}${response.statusCode === 403 ? ' (kubegate needs get, list and watch: the ClusterRole kubegate-object-reader)' : ''}`,
      );
    }
    try {
      return { status: 200, json: JSON.parse(text) as unknown };
    } catch (err) {
      throw new KubegateError(
        'KG_UPSTREAM_UNAVAILABLE',
        `kubegate could not read ${what}: the answer is not JSON`,
        {
          cause: err,
        },
      );
    }
  }

  function lookupError(err: unknown, what: string): KubegateError {
    if (err instanceof KubegateError) return err;
    // AbortSignal.timeout() rejects with a DOMException named TimeoutError.
    const name = (err as { name?: unknown } | null)?.name;
    if (name === 'TimeoutError' || err instanceof undiciErrors.HeadersTimeoutError) {
      return new KubegateError('KG_UPSTREAM_TIMEOUT', `kubegate could not read ${what} in time`, {
        cause: err,
      });
    }
    return new KubegateError(
      'KG_UPSTREAM_UNAVAILABLE',
      `kubegate could not read ${what}: ${describeFailure(err, 'failed')}`,
      {
        cause: err,
      },
    );
  }

  function collectionOf(ref: Omit<ObjectRef, 'name'>): Collection {
    const key = `${ref.apiGroup}/${ref.apiVersion}/${ref.resource}/${ref.namespace}`;
    let c = collections.get(key);
    if (c === undefined) {
      c = {
        key,
        path: collectionPath(upstream.pathPrefix, ref),
        entries: new Map(),
        inflight: new Map(),
        watch: null,
        ready: null,
        lastUsed: opts.now(),
        retryAt: 0,
      };
      collections.set(key, c);
    }
    return c;
  }

  function sweep(): void {
    const now = opts.now();
    for (const c of collections.values()) {
      if (now - c.lastUsed >= idleMs && c.inflight.size === 0) {
        collections.delete(c.key);
        c.entries.clear();
        c.watch?.abort.abort();
      }
    }
  }

  /** Starts the collection's watch if none runs; resolves whether one is running. */
  function ensureWatch(c: Collection): Promise<boolean> {
    if (c.ready !== null) return c.ready;
    if (closed || opts.now() < c.retryAt) return Promise.resolve(false);
    const watch: Watch = { abort: new AbortController(), done: Promise.resolve() };
    c.watch = watch;
    const ready = fetchJson(`${c.path}?limit=1`, `the collection ${c.key}`).then(({ json }) => {
      const rv = listResourceVersion(json);
      if (c.watch !== watch || rv === '')
        throw new KubegateError('KG_UPSTREAM_UNAVAILABLE', 'no resourceVersion');
      watch.done = runWatch(c, watch, rv);
      return true;
    });
    c.ready = ready.catch((err: unknown) => {
      opts.log?.warn(
        { collection: c.key, err },
        'live object watch could not start; lookups bypass the cache',
      );
      c.retryAt = opts.now() + retryWatchAfterMs;
      if (c.watch === watch) endWatch(c, watch, 'start failed');
      return false;
    });
    return c.ready;
  }

  function endWatch(c: Collection, watch: Watch, reason: string): void {
    if (c.watch !== watch) return;
    c.watch = null;
    c.ready = null;
    c.entries.clear();
    for (const f of c.inflight.values()) f.stale = true;
    opts.onWatch?.({ kind: 'ended', collection: c.key, reason });
  }

  async function runWatch(c: Collection, watch: Watch, resourceVersion: string): Promise<void> {
    let reason = 'closed by the API server';
    try {
      const query = `watch=1&allowWatchBookmarks=true&resourceVersion=${encodeURIComponent(resourceVersion)}`;
      const response = await upstream.pool.request({
        path: `${c.path}?${query}`,
        method: 'GET',
        headers: headers(),
        signal: watch.abort.signal,
      });
      if (response.statusCode !== 200) {
        // Refused (e.g. no watch permission): lookups go uncached for a while, not re-list each time.
        reason = `answered ${response.statusCode}`;
        c.retryAt = opts.now() + retryWatchAfterMs;
        await response.body.dump();
        return;
      }
      opts.onWatch?.({ kind: 'started', collection: c.key });
      const decoder = new StringDecoder('utf8');
      let pending = '';
      for await (const chunk of response.body as AsyncIterable<Buffer>) {
        pending += decoder.write(chunk);
        let newline: number;
        while ((newline = pending.indexOf('\n')) >= 0) {
          const line = pending.slice(0, newline);
          pending = pending.slice(newline + 1);
          if (line.trim() === '') continue;
          const outcome = applyEvent(c, line);
          if (outcome !== null) {
            reason = outcome;
            return;
          }
        }
        if (pending.length > MAX_EVENT_BYTES) {
          reason = 'an event exceeded 16 MiB';
          return;
        }
      }
    } catch (err) {
      reason = watch.abort.signal.aborted ? 'stopped' : `failed: ${describeFailure(err, 'failed')}`;
      if (!watch.abort.signal.aborted) opts.log?.warn({ collection: c.key, err }, 'live object watch failed');
    } finally {
      // Whatever ended the loop, leave no request open behind it.
      watch.abort.abort();
      endWatch(c, watch, reason);
    }
  }

  /** Applies one watch event; returns why the watch must end, or null to go on. */
  function applyEvent(c: Collection, line: string): string | null {
    let event: { type?: unknown; object?: unknown };
    try {
      event = JSON.parse(line) as typeof event;
    } catch {
      return 'an event is not JSON';
    }
    const type = typeof event.type === 'string' ? event.type : '';
    const object = isRecord(event.object) ? event.object : null;
    if (type === 'BOOKMARK') return null;
    if (type === 'ERROR' || object === null) {
      // 410 Gone: the resourceVersion is too old; start again from a fresh list.
      return `error event${object !== null && typeof object.code === 'number' ? ` ${object.code}` : ''}`;
    }
    const name = nameOf(object);
    opts.onWatch?.({ kind: 'event', collection: c.key, type, name });
    const inflight = c.inflight.get(name);
    if (inflight !== undefined) inflight.stale = true;
    const cached = c.entries.get(name);
    if (cached === undefined) return null;
    if (type === 'DELETED') {
      c.entries.delete(name);
      return null;
    }
    // ADDED or MODIFIED. Events arrive in order, but one may describe an older state than the
    // GET that filled the entry; resourceVersions are opaque, so when they are not both plain
    // numbers (etcd's are) the entry is dropped rather than risk going back in time.
    const older = compareVersions(resourceVersionOf(object), resourceVersionOf(cached.object));
    if (older === 'unknown') c.entries.delete(name);
    else if (older === 'newer') c.entries.set(name, { object, at: opts.now() });
    return null;
  }

  function remember(c: Collection, name: string, object: LiveObject | null): void {
    c.entries.delete(name);
    c.entries.set(name, { object, at: opts.now() });
    let total = 0;
    for (const x of collections.values()) total += x.entries.size;
    if (total <= maxEntries) return;
    // Evict the oldest entry of the largest collections first; Map order is insertion order.
    for (const x of collections.values()) {
      for (const key of x.entries.keys()) {
        if (total <= maxEntries) return;
        x.entries.delete(key);
        total--;
      }
    }
  }

  async function fetchObject(c: Collection, ref: ObjectRef, watched: boolean): Promise<LiveObject | null> {
    const { json } = await fetchJson(
      `${c.path}/${encodeURIComponent(ref.name)}`,
      `${ref.resource} ${ref.namespace === '' ? '' : `${ref.namespace}/`}${ref.name}`,
    );
    const object = json === null ? null : isRecord(json) ? json : null;
    if (json !== null && object === null) {
      throw new KubegateError(
        'KG_UPSTREAM_UNAVAILABLE',
        `kubegate could not read ${ref.resource} ${ref.name}`,
      );
    }
    const inflight = c.inflight.get(ref.name);
    if (watched && c.ready !== null && inflight !== undefined && !inflight.stale)
      remember(c, ref.name, object);
    return object;
  }

  /** The APIResourceList of a group version, as kubegate reads it (discovery is open to every user). */
  async function fetchDiscovery(ref: ResourceRef): Promise<Discovery> {
    const group = ref.apiGroup === '' ? '' : `/${encodeURIComponent(ref.apiGroup)}`;
    const path = `${upstream.pathPrefix}/${ref.apiPrefix}${group}/${encodeURIComponent(ref.apiVersion)}`;
    const what = `the discovery document of ${ref.apiGroup === '' ? '' : `${ref.apiGroup}/`}${ref.apiVersion}`;
    const { json } = await fetchJson(path, what);
    const scopes = new Map<string, boolean>();
    const resources = isRecord(json) && Array.isArray(json.resources) ? json.resources : [];
    for (const r of resources) {
      if (isRecord(r) && typeof r.name === 'string' && typeof r.namespaced === 'boolean')
        scopes.set(r.name, r.namespaced);
    }
    return { scopes, at: opts.now() };
  }

  async function namespaced(ref: ResourceRef): Promise<boolean | null> {
    if (closed) throw new KubegateError('KG_UPSTREAM_UNAVAILABLE', 'kubegate is shutting down');
    const key = `${ref.apiPrefix}/${ref.apiGroup}/${ref.apiVersion}`;
    const known = discoveries.get(key);
    const age = known === undefined ? Infinity : opts.now() - known.at;
    // A resource missing from a fresh document (a CRD added since) is looked up again, but not
    // on every request.
    if (
      known !== undefined &&
      age <= discoveryTtlMs &&
      (known.scopes.has(ref.resource) || age <= discoveryRetryMs)
    )
      return known.scopes.get(ref.resource) ?? null;
    let pending = discoveryReads.get(key);
    if (pending === undefined) {
      pending = fetchDiscovery(ref).finally(() => discoveryReads.delete(key));
      discoveryReads.set(key, pending);
    }
    const discovery = await pending;
    discoveries.set(key, discovery);
    return discovery.scopes.get(ref.resource) ?? null;
  }

  return {
    async get(ref) {
      if (closed) throw new KubegateError('KG_UPSTREAM_UNAVAILABLE', 'kubegate is shutting down');
      sweep();
      const c = collectionOf(ref);
      const now = opts.now();
      c.lastUsed = now;
      const entry = c.entries.get(ref.name);
      if (entry !== undefined && c.watch !== null && now - entry.at <= opts.ttlMs) {
        hits++;
        return entry.object;
      }
      if (entry !== undefined) c.entries.delete(ref.name);
      const running = c.inflight.get(ref.name);
      if (running !== undefined) return running.promise;
      misses++;
      const record: Inflight = {
        stale: false,
        promise: ensureWatch(c)
          .then((watched) => fetchObject(c, ref, watched))
          .finally(() => {
            if (c.inflight.get(ref.name) === record) c.inflight.delete(ref.name);
          }),
      };
      c.inflight.set(ref.name, record);
      return record.promise;
    },

    async list(ref) {
      if (closed) throw new KubegateError('KG_UPSTREAM_UNAVAILABLE', 'kubegate is shutting down');
      const base = collectionPath(upstream.pathPrefix, ref);
      const items: LiveObject[] = [];
      let next = '';
      do {
        const query = [`limit=${PAGE_SIZE}`];
        if (ref.labelSelector !== '') query.push(`labelSelector=${encodeURIComponent(ref.labelSelector)}`);
        if (ref.fieldSelector !== '') query.push(`fieldSelector=${encodeURIComponent(ref.fieldSelector)}`);
        if (next !== '') query.push(`continue=${encodeURIComponent(next)}`);
        const what = `the ${ref.resource} of ${ref.namespace === '' ? 'the cluster' : ref.namespace}`;
        const { status, json } = await fetchJson(`${base}?${query.join('&')}`, what);
        // A 404 on a collection means the resource type does not exist here: nothing to judge.
        if (status === 404 || !isRecord(json))
          throw new KubegateError('KG_UPSTREAM_UNAVAILABLE', `kubegate could not list ${what}`);
        const page = Array.isArray(json.items) ? json.items : [];
        for (const item of page) if (isRecord(item)) items.push(item);
        if (items.length > maxListItems) {
          throw new KubegateError(
            'KG_UPSTREAM_UNAVAILABLE',
            `${what}: more than ${maxListItems} objects to judge`,
          );
        }
        const metadata = isRecord(json.metadata) ? json.metadata : {};
        next = typeof metadata.continue === 'string' ? metadata.continue : '';
      } while (next !== '');
      return items;
    },

    namespaced,

    stats() {
      let watches = 0;
      let entries = 0;
      for (const c of collections.values()) {
        if (c.watch !== null) watches++;
        entries += c.entries.size;
      }
      return { hits, misses, watches, entries };
    },

    async close() {
      closed = true;
      clearInterval(sweeper);
      const done: Promise<void>[] = [];
      for (const c of collections.values()) {
        if (c.watch !== null) {
          c.watch.abort.abort();
          done.push(c.watch.done);
        }
      }
      collections.clear();
      await Promise.all(done);
    },
  };
}

function collectionPath(pathPrefix: string, ref: Omit<ObjectRef, 'name'>): string {
  const group = ref.apiGroup === '' ? '' : `/${encodeURIComponent(ref.apiGroup)}`;
  const namespace = ref.namespace === '' ? '' : `/namespaces/${encodeURIComponent(ref.namespace)}`;
  return `${pathPrefix}/${ref.apiPrefix}${group}/${encodeURIComponent(ref.apiVersion)}${namespace}/${encodeURIComponent(ref.resource)}`;
}

function isRecord(value: unknown): value is LiveObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function metadataOf(object: LiveObject | null): LiveObject {
  const metadata = object?.metadata;
  return isRecord(metadata) ? metadata : {};
}

function nameOf(object: LiveObject): string {
  const name = metadataOf(object).name;
  return typeof name === 'string' ? name : '';
}

function resourceVersionOf(object: LiveObject | null): string {
  const rv = metadataOf(object).resourceVersion;
  return typeof rv === 'string' ? rv : '';
}

function listResourceVersion(json: unknown): string {
  return isRecord(json) ? resourceVersionOf(json) : '';
}

/** Whether `incoming` is newer than `cached`; a cached 404 is older than any object. */
function compareVersions(incoming: string, cached: string): 'newer' | 'older' | 'unknown' {
  if (cached === '') return 'newer';
  if (!/^\d{1,30}$/u.test(incoming) || !/^\d{1,30}$/u.test(cached)) return 'unknown';
  return BigInt(incoming) > BigInt(cached) ? 'newer' : 'older';
}

function statusMessage(text: string): string {
  try {
    const status = JSON.parse(text) as { message?: unknown };
    // The API server's own words (e.g. 'pods "x" is forbidden: User "kubegate" cannot get …').
    return typeof status.message === 'string' ? `: ${status.message.slice(0, 300)}` : '';
  } catch {
    return '';
  }
}
