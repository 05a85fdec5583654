// Hostile request targets: forms kubectl never sends, on which URL parsers disagree. For each one
// this file shows, against the real test bed,
//   (a) what the API server itself makes of it, sent raw and directly as admin: its status and the
//       verb and objectRef its audit log records (or that Go's net/http answered before any
//       handler, leaving no audit event) — this is why the form is dangerous, e.g.
//       `pods/foo%2Fexec` is exec to the API server while a WHATWG parser sees a pod "foo%2Fexec";
//   (b) that parseRequest refuses it with KG_REQUEST_NONCANONICAL (or KG_REQUEST_METHOD);
//   (c) that kubegate, sent the same bytes with a valid token, answers 400 (or 405) with a
//       Status whose reason is BadRequest (or MethodNotAllowed), and that nothing of it reaches
//       the API server: its audit log holds no event with the request's marker or target.
// Targets are written byte for byte by test/fixtures/raw-http.ts; never through `new URL()`.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { before, after, test } from 'node:test';
import type { ErrorCode } from '../../src/errors.js';
import { KubegateError } from '../../src/errors.js';
import { parseRequest } from '../../src/request/parse.js';
import type { TestbedState } from '../../src/demo/control-plane.js';
import type { GatewayHandle } from '../fixtures/gateway.js';
import { startGateway } from '../fixtures/gateway.js';
import type { RawEndpoint, RawResponse } from '../fixtures/raw-http.js';
import { mapLimit, sendRaw } from '../fixtures/raw-http.js';
import type { AuditEvent } from '../fixtures/testbed.js';
import { readAuditEvents, useTestbed } from '../fixtures/testbed.js';

type OracleEvent = AuditEvent & { readonly userAgent?: string };

/** What the API server did with a target sent to it directly. */
type ApiServerReading =
  /** Answered before its audit filter: Go's net/http 400, its own `OPTIONS *`, or RequestInfo's 500. */
  | { readonly unaudited: number }
  | {
      readonly status: number;
      readonly verb: string;
      /** null for a non-resource request. */
      readonly ref: ObjectRef | null;
    };

interface ObjectRef {
  readonly namespace?: string;
  readonly resource?: string;
  readonly subresource?: string;
  readonly name?: string;
  readonly apiGroup?: string;
  readonly apiVersion?: string;
}

interface HostileRow {
  /** What the target is, as a noun phrase ("an encoded slash before exec"). */
  readonly name: string;
  readonly class: string;
  readonly method: string;
  /** One character per byte; `{authority}` stands for the server's host:port. */
  readonly target: string;
  readonly body?: string;
  readonly apiServer: ApiServerReading;
  readonly refusal: ErrorCode;
  /**
   * Node answers this one before kubegate's handler runs: its HTTP parser with a bare 400 and no
   * body, or, for CONNECT, by closing the connection (no 'connect' listener). Still never
   * forwarded, but without kubegate's Status.
   */
  readonly node?: 'parser-400' | 'connect-closed';
}

const NS = 'oracle-h';
const PODS = `/api/v1/namespaces/${NS}/pods`;

/** A mapped reading: status, verb, and the objectRef fields (core group, v1, unless given). */
function mapped(
  status: number,
  verb: string,
  namespace: string,
  resource: string,
  name = '',
  subresource = '',
): ApiServerReading {
  return {
    status,
    verb,
    ref: {
      ...(namespace === '' ? {} : { namespace }),
      resource,
      ...(subresource === '' ? {} : { subresource }),
      ...(name === '' ? {} : { name }),
      apiVersion: 'v1',
    },
  };
}

const GO_400: ApiServerReading = { unaudited: 400 };
const NONCANONICAL: ErrorCode = 'KG_REQUEST_NONCANONICAL';
const METHOD: ErrorCode = 'KG_REQUEST_METHOD';

const row = (
  klass: string,
  name: string,
  method: string,
  target: string,
  apiServer: ApiServerReading,
  refusal: ErrorCode = NONCANONICAL,
  extra: Partial<HostileRow> = {},
): HostileRow => ({ class: klass, name, method, target, apiServer, refusal, ...extra });

/** Raw UTF-8 bytes as a latin1 string: what a client writes when it does not escape them. */
const rawUtf8 = (s: string): string => Buffer.from(s, 'utf8').toString('latin1');

const ROWS: readonly HostileRow[] = [
  // --- encoded slashes: Go decodes %2F into a separator before RequestInfo splits the path ---
  row(
    'encoded slash',
    'an encoded slash before exec (%2F)',
    'GET',
    `${PODS}/foo%2Fexec`,
    mapped(404, 'get', NS, 'pods', 'foo', 'exec'),
  ),
  row(
    'encoded slash',
    'a lower-case encoded slash before exec (%2f)',
    'GET',
    `${PODS}/foo%2fexec`,
    mapped(404, 'get', NS, 'pods', 'foo', 'exec'),
  ),
  row(
    'encoded slash',
    'an encoded slash in a POST, which is exec to the API server',
    'POST',
    `${PODS}/foo%2Fexec?command=id`,
    mapped(404, 'create', NS, 'pods', 'foo', 'exec'),
  ),
  row(
    'encoded slash',
    'encoded slashes that turn a namespace get into a secret get',
    'GET',
    `/api/v1/namespaces/default%2Fsecrets%2Foracle-x`,
    mapped(404, 'get', 'default', 'secrets', 'oracle-x'),
  ),
  // --- %25: decoded once by the API server, twice by a careless proxy ---
  row(
    'encoded percent',
    'an encoded percent before an encoded slash (%252F)',
    'GET',
    `${PODS}/foo%252Fexec`,
    mapped(400, 'get', NS, 'pods', 'foo%2Fexec'),
  ),
  row(
    'encoded percent',
    'an encoded percent in a namespace',
    'GET',
    `/api/v1/namespaces/${NS}%25/pods`,
    mapped(200, 'list', `${NS}%`, 'pods'),
  ),
  // --- dot segments: the API server keeps them, WHATWG and most proxies resolve them ---
  row(
    'dot segment',
    'a ".." segment between pods and secrets',
    'GET',
    `${PODS}/../secrets/x`,
    mapped(404, 'get', NS, 'pods', '..', 'secrets'),
  ),
  row(
    'dot segment',
    'a "." segment before a pod name',
    'GET',
    `${PODS}/./x`,
    mapped(404, 'get', NS, 'pods', '.', 'x'),
  ),
  row(
    'dot segment',
    'an encoded ".." segment (%2e%2e)',
    'GET',
    `${PODS}/%2e%2e/secrets/x`,
    mapped(404, 'get', NS, 'pods', '..', 'secrets'),
  ),
  row(
    'dot segment',
    'an upper-case encoded ".." segment (%2E%2E)',
    'GET',
    `${PODS}/%2E%2E/secrets/x`,
    mapped(404, 'get', NS, 'pods', '..', 'secrets'),
  ),
  row(
    'dot segment',
    'a half-encoded ".." segment (.%2e)',
    'GET',
    `${PODS}/.%2e/secrets/x`,
    mapped(404, 'get', NS, 'pods', '..', 'secrets'),
  ),
  row(
    'dot segment',
    'a ".." namespace, which the API server lists as a namespace named ".."',
    'GET',
    '/api/v1/namespaces/../secrets',
    mapped(200, 'list', '..', 'secrets'),
  ),
  row(
    'dot segment',
    'a trailing ".." segment after a pod name',
    'GET',
    `${PODS}/x/..`,
    mapped(404, 'get', NS, 'pods', 'x', '..'),
  ),
  // --- empty segments ---
  row(
    'empty segment',
    'an empty namespace ("namespaces//pods"), which lists pods in every namespace',
    'GET',
    '/api/v1/namespaces//pods',
    mapped(200, 'list', '', 'pods'),
  ),
  row('empty segment', 'an empty segment after /api, which shifts every field', 'GET', '/api//v1/pods', {
    status: 404,
    verb: 'get',
    ref: { resource: 'v1', name: 'pods' },
  }),
  row(
    'empty segment',
    'an empty resource segment after a namespace',
    'GET',
    `/api/v1/namespaces/${NS}//pods/x`,
    {
      status: 404,
      verb: 'get',
      ref: { namespace: NS, name: 'pods', subresource: 'x', apiVersion: 'v1' },
    },
  ),
  row(
    'empty segment',
    'a leading "//", which proxies read as a host name',
    'GET',
    `//api/v1/namespaces/${NS}/pods`,
    mapped(404, 'list', NS, 'pods'),
  ),
  row(
    'empty segment',
    'a trailing "/" on a collection path',
    'GET',
    `${PODS}/`,
    mapped(200, 'list', NS, 'pods'),
  ),
  // --- '#': data to Go, a fragment to WHATWG parsers ---
  row(
    'hash',
    'a "#" that hides an exec subresource from WHATWG parsers',
    'GET',
    `${PODS}/foo#/exec`,
    mapped(404, 'get', NS, 'pods', 'foo#', 'exec'),
  ),
  row('hash', 'a "#" after a watch query', 'GET', `${PODS}?watch=true#x`, mapped(200, 'watch', NS, 'pods')),
  // --- backslash: literal to Go, a separator to WHATWG parsers ---
  row(
    'backslash',
    'backslashes with dot segments',
    'GET',
    `${PODS}/foo\\..\\exec`,
    mapped(404, 'get', NS, 'pods', 'foo\\..\\exec'),
  ),
  // --- ';' in the query: Go drops the whole pair ---
  row(
    'semicolon',
    'a ";" that drops watch=true',
    'GET',
    `${PODS}?watch=true;labelSelector=a`,
    mapped(200, 'list', NS, 'pods'),
  ),
  row(
    'semicolon',
    'a ";" that drops a label selector',
    'GET',
    `${PODS}?labelSelector=app%3Dweb;x=1`,
    mapped(200, 'list', NS, 'pods'),
  ),
  row(
    'semicolon',
    'a ";" that drops the metadata.name field selector',
    'GET',
    `${PODS}?fieldSelector=metadata.name%3Dfoo;x`,
    mapped(200, 'list', NS, 'pods'),
  ),
  // --- repeated policy-relevant keys: the API server reads the first value only ---
  row(
    'duplicate key',
    'watch=false then watch=true',
    'GET',
    `${PODS}?watch=false&watch=true`,
    mapped(200, 'list', NS, 'pods'),
  ),
  row(
    'duplicate key',
    'watch=1 then watch=0',
    'GET',
    `${PODS}?watch=1&watch=0`,
    mapped(200, 'watch', NS, 'pods'),
  ),
  row(
    'duplicate key',
    'two label selectors',
    'GET',
    `${PODS}?labelSelector=app%3Dweb&labelSelector=app%3Ddb`,
    mapped(200, 'list', NS, 'pods'),
  ),
  row(
    'duplicate key',
    'two metadata.name field selectors',
    'GET',
    `${PODS}?fieldSelector=metadata.name%3Da&fieldSelector=metadata.name%3Db`,
    mapped(200, 'list', NS, 'pods', 'a'),
  ),
  row(
    'duplicate key',
    'dryRun=All then an empty dryRun on a delete',
    'DELETE',
    `${PODS}/x?dryRun=All&dryRun=`,
    mapped(422, 'delete', NS, 'pods', 'x'),
  ),
  row(
    'duplicate key',
    'dryRun=All then an empty dryRun on a create',
    'POST',
    `/api/v1/namespaces/${NS}/configmaps?dryRun=All&dryRun=`,
    mapped(422, 'create', NS, 'configmaps'),
    NONCANONICAL,
    { body: '{}' },
  ),
  // --- bad escapes: Go refuses them in the path, and drops their pair in the query ---
  row('bad escape', 'a non-hex escape in the path (%zz)', 'GET', `${PODS}/%zz`, GO_400),
  row('bad escape', 'a "%" at the end of the path', 'GET', `${PODS}/x%`, GO_400),
  row('bad escape', 'a truncated escape in the path (%4)', 'GET', `${PODS}/x%4`, GO_400),
  row(
    'bad escape',
    'a bad escape that drops a label selector',
    'GET',
    `${PODS}?labelSelector=app%3Dweb%zz`,
    mapped(200, 'list', NS, 'pods'),
  ),
  row(
    'bad escape',
    'a bad escape that drops the metadata.name field selector',
    'GET',
    `${PODS}?fieldSelector=metadata.name%3Dx%zz`,
    mapped(200, 'list', NS, 'pods'),
  ),
  row(
    'bad escape',
    'an escape that is not UTF-8 (%FF)',
    'GET',
    `${PODS}/f%FFo`,
    mapped(404, 'get', NS, 'pods', 'f\ufffdo'),
  ),
  // --- control bytes: raw ones Go refuses, encoded ones it decodes into names ---
  row('control byte', 'a raw SOH byte', 'GET', `${PODS}/x\x01y`, GO_400, NONCANONICAL, {
    node: 'parser-400',
  }),
  row('control byte', 'a raw tab', 'GET', `${PODS}/x\ty`, GO_400, NONCANONICAL, { node: 'parser-400' }),
  row('control byte', 'a raw DEL byte', 'GET', `${PODS}/x\x7fy`, GO_400, NONCANONICAL, {
    node: 'parser-400',
  }),
  row('control byte', 'a raw space', 'GET', `${PODS}/x y`, GO_400, NONCANONICAL, { node: 'parser-400' }),
  row(
    'control byte',
    'an encoded NUL in a pod name',
    'GET',
    `${PODS}/x%00`,
    mapped(404, 'get', NS, 'pods', 'x\0'),
  ),
  row(
    'control byte',
    'an encoded newline in a pod name',
    'GET',
    `${PODS}/x%0Aexec`,
    mapped(404, 'get', NS, 'pods', 'x\nexec'),
  ),
  row(
    'control byte',
    'an encoded CR LF in a namespace',
    'GET',
    `/api/v1/namespaces/${NS}%0D%0A/pods`,
    mapped(200, 'list', `${NS}\r\n`, 'pods'),
  ),
  row(
    'control byte',
    'an encoded DEL in a pod name',
    'GET',
    `${PODS}/x%7F`,
    mapped(404, 'get', NS, 'pods', 'x\x7f'),
  ),
  row(
    'control byte',
    'an encoded NUL inside a label selector',
    'GET',
    `${PODS}?labelSelector=app%3Dweb%00x`,
    mapped(400, 'list', NS, 'pods'),
  ),
  // --- raw non-ASCII bytes: Go takes them as they come ---
  row(
    'non-ASCII',
    'raw UTF-8 in a pod name',
    'GET',
    `${PODS}/${rawUtf8('föo')}`,
    mapped(404, 'get', NS, 'pods', 'föo'),
    NONCANONICAL,
    { node: 'parser-400' },
  ),
  row(
    'non-ASCII',
    'a raw byte that is not UTF-8',
    'GET',
    `${PODS}/f\xffo`,
    mapped(404, 'get', NS, 'pods', 'f\ufffdo'),
    NONCANONICAL,
    { node: 'parser-400' },
  ),
  row(
    'non-ASCII',
    'raw UTF-8 in a label selector',
    'GET',
    `${PODS}?labelSelector=app%3Dw${rawUtf8('é')}b`,
    mapped(400, 'list', NS, 'pods'),
    NONCANONICAL,
    { node: 'parser-400' },
  ),
  // --- not origin-form ---
  row(
    'absolute-form',
    'an absolute-form target naming the server',
    'GET',
    `https://{authority}${PODS}`,
    mapped(200, 'list', NS, 'pods'),
  ),
  row(
    'absolute-form',
    'an absolute-form target naming another host',
    'GET',
    `http://evil.example/api/v1/namespaces/${NS}/secrets`,
    mapped(200, 'list', NS, 'secrets'),
  ),
  row('absolute-form', 'the asterisk-form target', 'OPTIONS', '*', { unaudited: 200 }),
  row(
    'absolute-form',
    'a path without its leading "/"',
    'GET',
    `api/v1/namespaces/${NS}/pods`,
    GO_400,
    NONCANONICAL,
    {
      node: 'parser-400',
    },
  ),
  // --- methods outside GET, HEAD, POST, PUT, PATCH, DELETE (and OPTIONS on proxies) ---
  row('unknown method', 'an invented method', 'FOO', PODS, mapped(405, '', NS, 'pods'), METHOD, {
    node: 'parser-400',
  }),
  row('unknown method', 'a lower-case get', 'get', PODS, mapped(405, '', NS, 'pods'), METHOD, {
    node: 'parser-400',
  }),
  row(
    'unknown method',
    'PROPFIND on a pod',
    'PROPFIND',
    `${PODS}/x`,
    mapped(405, '', NS, 'pods', 'x'),
    METHOD,
  ),
  row('unknown method', 'TRACE', 'TRACE', PODS, mapped(405, '', NS, 'pods'), METHOD),
  row(
    'unknown method',
    'OPTIONS on a collection rather than a proxy',
    'OPTIONS',
    PODS,
    mapped(405, '', NS, 'pods'),
    METHOD,
  ),
  row('unknown method', 'CONNECT on a collection', 'CONNECT', PODS, mapped(405, '', NS, 'pods'), METHOD, {
    node: 'connect-closed',
  }),
  // --- what RequestInfo cannot map, and list options it would silently drop ---
  row('unmappable', 'the watch prefix with nothing after it', 'GET', '/api/v1/watch', { unaudited: 500 }),
  row('unmappable', 'the proxy prefix with nothing after it', 'GET', '/api/v1/proxy', { unaudited: 500 }),
  row(
    'unmappable',
    'a limit that is not an integer, which drops the metadata.name shortcut',
    'GET',
    `${PODS}?fieldSelector=metadata.name%3Dx&limit=abc`,
    mapped(400, 'list', NS, 'pods'),
  ),
  row(
    'unmappable',
    'a query of 1,001 parameters',
    'GET',
    `${PODS}?${Array.from({ length: 1001 }, (_, i) => `p${i}=1`).join('&')}`,
    mapped(200, 'list', NS, 'pods'),
  ),
];

let tb: TestbedState;
let gateway: GatewayHandle;
const run = randomBytes(4).toString('hex');
const direct = new Map<
  HostileRow,
  { response: RawResponse | null; error: string | null; events: OracleEvent[] }
>();
const throughGateway = new Map<HostileRow, { response: RawResponse | null; error: string | null }>();
const gatewayMarker = (i: number): string => `hostile-gateway/${run}/${i}`;
let auditAfterGateway: OracleEvent[] = [];

function targetFor(r: HostileRow, url: string): string {
  return r.target.replace('{authority}', url.replace(/^https:\/\//, ''));
}

async function send(
  endpoint: RawEndpoint,
  r: HostileRow,
  token: string,
  marker: string,
): Promise<{ response: RawResponse | null; error: string | null }> {
  try {
    const response = await sendRaw(
      endpoint,
      {
        method: r.method,
        target: targetFor(r, endpoint.url),
        headers: [
          ['Authorization', `Bearer ${token}`],
          ['User-Agent', marker],
          ...(r.body === undefined ? [] : ([['Content-Type', 'application/json']] as [string, string][])),
        ],
        body: r.body ?? null,
      },
      // Watches stream on: the head is all these tests read from the API server.
      { headOnly: endpoint.url === tb.server, timeoutMs: 15_000 },
    );
    return { response, error: null };
  } catch (err) {
    return { response: null, error: err instanceof Error ? err.message : String(err) };
  }
}

/** Sends a plain request straight to the API server and waits for its audit event: a barrier. */
async function auditBarrier(label: string): Promise<OracleEvent[]> {
  const marker = `hostile-barrier/${run}/${label}`;
  await sendRaw(
    { url: tb.server, caPem: tb.caPem },
    {
      method: 'GET',
      target: '/version',
      headers: [
        ['Authorization', `Bearer ${tb.users.admin!.token}`],
        ['User-Agent', marker],
      ],
    },
  );
  const deadline = Date.now() + 15_000;
  for (;;) {
    const events = (await readAuditEvents(tb)) as OracleEvent[];
    if (events.some((e) => e.userAgent === marker)) return events;
    if (Date.now() > deadline) assert.fail(`the API server never audited the barrier request ${marker}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

before(async () => {
  tb = await useTestbed();
  const api = { url: tb.server, caPem: tb.caPem };
  const admin = tb.users.admin!.token;
  const results = await mapLimit(ROWS, 8, (r, i) => send(api, r, admin, `hostile-direct/${run}/${i}`));
  // The barrier's event follows every event the direct requests caused, so absences are real.
  const events = await auditBarrier('direct');
  ROWS.forEach((r, i) => {
    const marker = `hostile-direct/${run}/${i}`;
    direct.set(r, { ...results[i]!, events: events.filter((e) => e.userAgent === marker) });
  });

  gateway = await startGateway(tb);
  const endpoint = { url: gateway.url, caPem: gateway.caPem };
  const token = await gateway.tokenFor('alice', ['dev']);
  // `user add` returns before the running gateway has loaded the new token: poll until a refused
  // request is refused for its target rather than for its token (no request here is forwarded).
  const deadline = Date.now() + 15_000;
  for (;;) {
    const probe = await send(endpoint, ROWS[0]!, token, `hostile-gateway/${run}/probe`);
    if (probe.response !== null && probe.response.status !== 401) break;
    if (Date.now() > deadline) assert.fail(`kubegate never accepted the token: ${JSON.stringify(probe)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const viaGateway = await mapLimit(ROWS, 8, (r, i) => send(endpoint, r, token, gatewayMarker(i)));
  ROWS.forEach((r, i) => throughGateway.set(r, viaGateway[i]!));
  auditAfterGateway = await auditBarrier('gateway');
});

after(async () => {
  await gateway?.stop();
});

function describeReading(a: ApiServerReading): string {
  if ('unaudited' in a) return `answers ${a.unaudited} before its audit filter runs`;
  if (a.ref === null) return `answers ${a.status} and audits non-resource verb "${a.verb}"`;
  const ref = a.ref;
  const what = `${ref.resource ?? ''}${ref.subresource ? '/' + ref.subresource : ''}`;
  const name = ref.name === undefined ? '' : ` ${JSON.stringify(ref.name)}`;
  const ns = ref.namespace === undefined ? '' : ` in namespace ${JSON.stringify(ref.namespace)}`;
  return `answers ${a.status} and audits ${a.verb === '' ? 'the empty verb' : a.verb} ${what}${name}${ns}`;
}

for (const r of ROWS) {
  test(`sent directly, ${r.name}: the API server ${describeReading(r.apiServer)}`, () => {
    const seen = direct.get(r)!;
    if ('unaudited' in r.apiServer) {
      assert.equal(seen.response?.status, r.apiServer.unaudited, seen.error ?? undefined);
      assert.deepEqual(seen.events, [], 'the API server audited a request it was expected to refuse earlier');
      return;
    }
    assert.equal(seen.response?.status, r.apiServer.status, seen.error ?? undefined);
    assert.ok(seen.events.length > 0, 'no audit event');
    for (const event of seen.events) {
      assert.equal(event.verb, r.apiServer.verb);
      const ref = event.objectRef ?? null;
      const got =
        ref === null
          ? null
          : Object.fromEntries(
              (['namespace', 'resource', 'subresource', 'name', 'apiGroup', 'apiVersion'] as const)
                .filter((k) => ref[k] !== undefined)
                .map((k) => [k, ref[k]]),
            );
      assert.deepEqual(got, r.apiServer.ref);
    }
  });
}

for (const r of ROWS) {
  test(`parseRequest refuses ${r.name} with ${r.refusal}`, () => {
    assert.throws(
      () => parseRequest({ method: r.method, target: targetFor(r, 'https://127.0.0.1:8443'), headers: {} }),
      (err: unknown) => err instanceof KubegateError && err.code === r.refusal,
    );
  });
}

ROWS.forEach((r, i) => {
  const status = r.refusal === 'KG_REQUEST_METHOD' ? 405 : 400;
  test(`through kubegate, ${r.name} is answered ${status} and never reaches the API server`, () => {
    const seen = throughGateway.get(r)!;
    const marker = gatewayMarker(i);
    // kubegate forwards as its own identity, `kubegate`, impersonating the caller.
    const reached = auditAfterGateway.filter(
      (e) =>
        e.userAgent === marker ||
        (e.user.username === 'kubegate' && e.requestURI === targetFor(r, gateway.url)),
    );
    assert.deepEqual(reached, [], 'the API server audited a request kubegate should have refused');
    // Rows Node's own HTTP parser refuses (r.node) are answered by the gateway's clientError and
    // connect handlers: the same Status as the rest.
    assert.equal(seen.response?.status, status, seen.error ?? undefined);
    const body = JSON.parse(seen.response?.body.toString('utf8') ?? '') as {
      kind?: string;
      reason?: string;
      code?: number;
    };
    assert.equal(body.kind, 'Status');
    assert.equal(body.code, status);
    assert.equal(body.reason, status === 405 ? 'MethodNotAllowed' : 'BadRequest');
  });
});
