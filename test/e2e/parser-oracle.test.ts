// The parser oracle: the real API server decides what a request means. Every request of the
// corpus (test/fixtures/request-corpus.ts: about 1,500 requests over every verb, scope,
// subresource, selector form and odd name, plus generated paths and list options) is sent raw
// and directly to the test bed's kube-apiserver as admin, tagged with a unique User-Agent
// (recorded in every audit event, at every level); then parseRequest reads the same method, target and headers, and the two readings are compared field
// by field: verb and objectRef {resource, subresource, namespace, name, apiGroup, apiVersion}
// (non-resource requests have no objectRef). Each group reports all of its mismatches at once.
//
// The one difference kubegate makes on purpose: exec, attach and portforward sent as a WebSocket
// GET (kubectl ≥1.30/1.31) are `get` to kube-apiserver 1.34 but `create` to kubegate, the same
// verb as their SPDY POST form, so that one policy covers both transports.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { before, test } from 'node:test';
import { KubegateError } from '../../src/errors.js';
import { parseRequest } from '../../src/request/parse.js';
import type { KubeRequest } from '../../src/request/types.js';
import type { TestbedState } from '../../src/demo/control-plane.js';
import { mapLimit, sendRaw } from '../fixtures/raw-http.js';
import type { CorpusGroup, CorpusRequest } from '../fixtures/request-corpus.js';
import { corpusSafetyProblems, requestCorpus } from '../fixtures/request-corpus.js';
import type { AuditEvent } from '../fixtures/testbed.js';
import { readAuditEvents, useTestbed } from '../fixtures/testbed.js';

/** The audit event fields the oracle reads; `userAgent` is recorded at every audit level. */
type OracleEvent = AuditEvent & { readonly userAgent?: string };

/** What one side says a request is. Empty strings stand for fields the audit log omits. */
interface Reading {
  readonly verb: string;
  readonly resourceRequest: boolean;
  readonly resource: string;
  readonly subresource: string;
  readonly namespace: string;
  readonly name: string;
  readonly apiGroup: string;
  readonly apiVersion: string;
}

const FIELDS = [
  'verb',
  'resourceRequest',
  'resource',
  'subresource',
  'namespace',
  'name',
  'apiGroup',
  'apiVersion',
] as const;

interface Outcome {
  readonly request: CorpusRequest;
  readonly marker: string;
  /** The HTTP status, or the transport error. */
  readonly status: number | string;
  /** parseRequest's result, or the error it threw. */
  readonly parsed: KubeRequest | Error;
}

const CONNECT_AS_CREATE = new Set(['exec', 'attach', 'portforward']);

let tb: TestbedState;
const run = randomBytes(4).toString('hex');
const corpus = requestCorpus();
let outcomes: Outcome[] = [];
const eventsByMarker = new Map<string, OracleEvent[]>();

function headersFor(req: CorpusRequest, marker: string): [string, string][] {
  return [['Authorization', `Bearer ${tb.users.admin!.token}`], ['User-Agent', marker], ...req.headers] as [
    string,
    string,
  ][];
}

function kubegateReading(r: KubeRequest): Reading {
  return {
    verb: r.verb,
    resourceRequest: r.isResourceRequest,
    resource: r.resource,
    subresource: r.subresource,
    namespace: r.namespace,
    name: r.name,
    apiGroup: r.apiGroup,
    apiVersion: r.apiVersion,
  };
}

function apiServerReading(e: OracleEvent): Reading {
  const o = e.objectRef;
  return {
    verb: e.verb,
    resourceRequest: o !== undefined,
    resource: o?.resource ?? '',
    subresource: o?.subresource ?? '',
    namespace: o?.namespace ?? '',
    name: o?.name ?? '',
    apiGroup: o?.apiGroup ?? '',
    apiVersion: o?.apiVersion ?? '',
  };
}

/** kubegate's reading with its one normalisation undone: what the API server should have recorded. */
function expectedApiServerReading(r: KubeRequest): Reading {
  const reading = kubegateReading(r);
  if (r.method === 'GET' && r.resource === 'pods' && CONNECT_AS_CREATE.has(r.subresource)) {
    return { ...reading, verb: 'get' };
  }
  return reading;
}

function show(s: string, max = 90): string {
  const json = JSON.stringify(s);
  return json.length > max ? json.slice(0, max - 1) + '…' : json;
}

function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((row) => (row[c] ?? '').length)));
  return rows.map((row) => row.map((cell, c) => cell.padEnd(widths[c]!)).join(' | ')).join('\n');
}

/** Every difference between kubegate and the API server over some outcomes, as table rows. */
function mismatches(selected: readonly Outcome[]): string[][] {
  const rows: string[][] = [];
  for (const o of selected) {
    const label = `#${o.request.id} ${o.request.method} ${show(o.request.target, 100)}`;
    const events = eventsByMarker.get(o.marker) ?? [];
    if (o.parsed instanceof Error) {
      const code = o.parsed instanceof KubegateError ? o.parsed.code : String(o.parsed);
      rows.push([label, 'parse', `refused: ${code}`, `status ${String(o.status)}`]);
      continue;
    }
    if (events.length === 0) {
      rows.push([label, 'audit', '-', `no audit event (status ${String(o.status)})`]);
      continue;
    }
    const want = expectedApiServerReading(o.parsed);
    const seen = new Set<string>();
    for (const event of events) {
      const got = apiServerReading(event);
      for (const field of FIELDS) {
        const key = `${field}:${String(got[field])}`;
        if (got[field] !== want[field] && !seen.has(key)) {
          seen.add(key);
          rows.push([label, field, show(String(want[field]), 40), show(String(got[field]), 40)]);
        }
      }
    }
  }
  return rows;
}

function assertNoMismatches(selected: readonly Outcome[]): void {
  const rows = mismatches(selected);
  if (rows.length > 0) {
    assert.fail(
      `${rows.length} mismatch(es) between kubegate and the API server:\n` +
        table([['request', 'field', 'kubegate', 'API server'], ...rows]),
    );
  }
}

function parseOf(req: CorpusRequest): KubeRequest | Error {
  const headers: Record<string, string> = {};
  for (const [name, value] of req.headers) headers[name.toLowerCase()] = value;
  try {
    return parseRequest({ method: req.method, target: req.target, headers });
  } catch (err) {
    return err instanceof Error ? err : new Error(String(err));
  }
}

before(async () => {
  tb = await useTestbed();
  const endpoint = { url: tb.server, caPem: tb.caPem };
  outcomes = await mapLimit(corpus, 16, async (request) => {
    const marker = `parser-oracle/${run}/${request.id}`;
    let status: number | string;
    try {
      const res = await sendRaw(
        endpoint,
        {
          method: request.method,
          target: request.target,
          headers: headersFor(request, marker),
          body: request.body,
        },
        // Only the head: watches, logs and upgrades would otherwise stream on.
        { headOnly: true, timeoutMs: 15_000 },
      );
      status = res.status;
    } catch (err) {
      status = err instanceof Error ? err.message : String(err);
    }
    return { request, marker, status, parsed: parseOf(request) };
  });
  // Audit events are written when each response completes; poll with a deadline for all of them.
  const prefix = `parser-oracle/${run}/`;
  // Every request kubegate accepts must be in the audit log; those it refuses may be absent.
  const expected = outcomes.filter((o) => !(o.parsed instanceof KubegateError));
  const deadline = Date.now() + 30_000;
  for (;;) {
    eventsByMarker.clear();
    for (const event of (await readAuditEvents(tb)) as OracleEvent[]) {
      const ua = event.userAgent ?? '';
      if (!ua.startsWith(prefix)) continue;
      const list = eventsByMarker.get(ua) ?? [];
      list.push(event);
      eventsByMarker.set(ua, list);
    }
    if (expected.every((o) => eventsByMarker.has(o.marker)) || Date.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
});

test('the corpus holds at least 500 requests and writes nothing on the shared test bed', (t) => {
  assert.ok(corpus.length >= 500, `only ${corpus.length} requests`);
  const groups = new Map<string, number>();
  for (const r of corpus) groups.set(r.group, (groups.get(r.group) ?? 0) + 1);
  t.diagnostic(`${corpus.length} requests: ${[...groups].map(([g, n]) => `${g} ${n}`).join(', ')}`);
  assert.deepEqual(corpusSafetyProblems(corpus), []);
});

test('the corpus covers every verb, scope, subresource and request kind', () => {
  const events = [...eventsByMarker.values()].flat();
  const verbs = new Set(events.map((e) => e.verb));
  for (const verb of [
    'get',
    'list',
    'watch',
    'create',
    'update',
    'patch',
    'delete',
    'deletecollection',
    'proxy',
    '',
  ]) {
    assert.ok(verbs.has(verb), `no request the API server read as verb ${JSON.stringify(verb)}`);
  }
  const subresources = new Set(events.map((e) => e.objectRef?.subresource ?? ''));
  for (const sub of [
    'status',
    'scale',
    'log',
    'exec',
    'attach',
    'portforward',
    'eviction',
    'proxy',
    'finalize',
  ]) {
    assert.ok(subresources.has(sub), `no request for subresource ${sub}`);
  }
  const resources = new Set(
    events.map((e) => `${e.objectRef?.apiGroup ?? ''}/${e.objectRef?.resource ?? ''}`),
  );
  for (const res of [
    '/pods',
    '/configmaps',
    '/namespaces',
    '/nodes',
    'apps/deployments',
    'apps/statefulsets',
    'rbac.authorization.k8s.io/roles',
    'example.com/widgets',
    '/frobs',
  ]) {
    assert.ok(resources.has(res), `no request for ${res}`);
  }
  assert.ok(events.some((e) => e.objectRef !== undefined && e.objectRef.namespace === undefined));
  assert.ok(events.some((e) => e.objectRef?.namespace !== undefined));
  const nonResource = new Set(events.filter((e) => e.objectRef === undefined).map((e) => e.requestURI));
  for (const path of ['/version', '/healthz', '/api', '/apis', '/openapi/v3']) {
    assert.ok(nonResource.has(path), `no non-resource request for ${path}`);
  }
  const watchSpellings = new Set(
    corpus
      .filter((r) => /[?&]watch(=|&|$)/.test(r.target))
      .map((r) => /[?&](watch=?[^&]*)/.exec(r.target)?.[1]),
  );
  for (const spelling of ['watch=true', 'watch=1', 'watch=', 'watch'])
    assert.ok(watchSpellings.has(spelling));
  assert.ok(corpus.some((r) => r.target.includes('/watch/')));
});

test('the API server recorded an audit event for every corpus request', () => {
  // Requests kubegate refuses because the API server cannot map them never reach its audit filter.
  const missing = outcomes.filter(
    (o) => !eventsByMarker.has(o.marker) && !(o.parsed instanceof KubegateError),
  );
  assert.deepEqual(
    missing.map((o) => `#${o.request.id} ${o.request.method} ${o.request.target} → ${String(o.status)}`),
    [],
  );
});

const GROUPS: readonly { name: string; group: CorpusGroup }[] = [
  { name: 'kubegate reads collection lists and heads as the API server does', group: 'collection reads' },
  { name: 'kubegate reads item gets and heads as the API server does', group: 'item reads' },
  {
    name: 'kubegate reads every spelling of watch, and the /watch/ prefix, as the API server does',
    group: 'watch forms',
  },
  {
    name: 'kubegate reads label selectors, and keeps the name shortcut beside them, as the API server does',
    group: 'label selectors',
  },
  {
    name: 'kubegate reads field selectors and the metadata.name shortcut as the API server does',
    group: 'field selectors',
  },
  {
    name: 'kubegate reads create, update, patch, delete and deletecollection as the API server does',
    group: 'mutations',
  },
  {
    name: 'kubegate reads status, scale, log, eviction and other subresources as the API server does',
    group: 'subresources',
  },
  {
    name: 'kubegate reads exec, attach and portforward as the API server does, but for its one normalisation',
    group: 'connect',
  },
  { name: 'kubegate reads proxy subresources and the /proxy/ prefix as the API server does', group: 'proxy' },
  { name: 'kubegate reads odd but valid names as the API server does', group: 'odd names' },
  {
    name: 'kubegate reads namespaces as a resource as the API server does',
    group: 'namespaces as a resource',
  },
  {
    name: 'kubegate reads unknown groups, versions and resources as the API server does',
    group: 'unknown resources',
  },
  { name: 'kubegate reads non-resource paths as the API server does', group: 'non-resource' },
  {
    name: 'kubegate decodes escaped structural segments (%61pi, %65xec) as the API server does',
    group: 'escaped segments',
  },
  { name: 'kubegate reads unusual but valid query strings as the API server does', group: 'query forms' },
];

for (const { name, group } of GROUPS) {
  test(name, () => {
    const selected = outcomes.filter((o) => o.request.group === group);
    assert.ok(selected.length > 0, `the corpus has no ${group}`);
    assertNoMismatches(selected);
  });
}

test('kubegate reads generated paths as the API server does, refusing only those it cannot map', () => {
  const selected = outcomes.filter((o) => o.request.group === 'generated paths');
  const refusedButMapped = selected.filter(
    (o) => o.parsed instanceof KubegateError && (eventsByMarker.get(o.marker) ?? []).length > 0,
  );
  // A bare /watch or /proxy prefix: the API server answers 500 before its audit filter runs.
  assert.deepEqual(
    refusedButMapped.map((o) => `#${o.request.id} ${o.request.method} ${o.request.target}`),
    [],
    'kubegate refused requests the API server mapped',
  );
  assert.ok(selected.some((o) => o.parsed instanceof KubegateError && o.status === 500));
  assertNoMismatches(selected.filter((o) => !(o.parsed instanceof KubegateError)));
});

test('exec, attach and portforward over a WebSocket GET are get to the API server and create to kubegate', () => {
  const rows: string[][] = [];
  let normalised = 0;
  for (const o of outcomes) {
    if (o.parsed instanceof Error) continue;
    const parsed = o.parsed;
    if (parsed.resource !== 'pods' || !CONNECT_AS_CREATE.has(parsed.subresource)) continue;
    if (o.request.method !== 'GET' && o.request.method !== 'POST') continue;
    const apiVerbs = [...new Set((eventsByMarker.get(o.marker) ?? []).map((e) => e.verb))];
    const want = o.request.method === 'GET' ? 'get' : 'create';
    if (parsed.verb !== 'create' || apiVerbs.join() !== want) {
      rows.push([`#${o.request.id} ${o.request.method} ${o.request.target}`, parsed.verb, apiVerbs.join()]);
    }
    if (o.request.method === 'GET') normalised++;
  }
  assert.ok(normalised >= 10, `only ${normalised} WebSocket GETs of exec/attach/portforward`);
  assert.deepEqual(rows, [], table([['request', 'kubegate', 'API server'], ...rows]));
});

test('kubegate refuses exactly the list options the API server fails to decode, and reads the rest alike', () => {
  const selected = outcomes.filter((x) => x.request.group === 'list option agreement');
  assert.ok(selected.length >= 200, `only ${selected.length} generated list options`);
  const rows: string[][] = [];
  let refused = 0;
  for (const o of selected) {
    const names = [...new Set((eventsByMarker.get(o.marker) ?? []).map((e) => e.objectRef?.name ?? ''))];
    // Each row holds fieldSelector=metadata.name=web-0: the API server names it iff it decoded.
    const decoded = names.join() !== '';
    if (o.parsed instanceof KubegateError) {
      refused++;
      if (o.parsed.code !== 'KG_REQUEST_NONCANONICAL' || decoded) {
        rows.push([
          `#${o.request.id} ${show(o.request.target, 130)}`,
          o.parsed.code,
          `decoded, name ${names.join()}`,
        ]);
      }
    } else if (!decoded) {
      rows.push([`#${o.request.id} ${show(o.request.target, 130)}`, 'accepted', 'failed to decode']);
    }
  }
  assert.ok(
    refused > 20 && refused < selected.length - 20,
    `${refused} of ${selected.length} refused: a lopsided sample`,
  );
  assert.deepEqual(rows, [], table([['request', 'kubegate', 'API server'], ...rows]));
  assertNoMismatches(selected.filter((o) => !(o.parsed instanceof KubegateError)));
});
