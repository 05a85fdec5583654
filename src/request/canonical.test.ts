// Every refusal rule of canonical.ts, each asserted by error code through parseRequest (the stage
// that applies them), plus the targets kubectl really sends, which must all pass.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ErrorCode } from '../errors.js';
import { KubegateError } from '../errors.js';
import { MAX_QUERY_PARAMETERS, checkTarget } from './canonical.js';
import { parseRequest } from './parse.js';

interface Input {
  method: string;
  target: string;
}

const get = (target: string): Input => ({ method: 'GET', target });

const refusedRows: { name: string; input: Input; want: ErrorCode }[] = [
  // non-origin-form targets
  { name: 'an empty target is refused', input: get(''), want: 'KG_REQUEST_NONCANONICAL' },
  { name: 'the asterisk-form target is refused', input: get('*'), want: 'KG_REQUEST_NONCANONICAL' },
  {
    name: 'an absolute-form target is refused',
    input: get('http://evil/api/v1/pods'),
    want: 'KG_REQUEST_NONCANONICAL',
  },
  {
    name: 'an authority-form target is refused',
    input: get('example.com:443'),
    want: 'KG_REQUEST_NONCANONICAL',
  },
  {
    name: 'a path without a leading slash is refused',
    input: get('api/v1/pods'),
    want: 'KG_REQUEST_NONCANONICAL',
  },
  {
    name: 'a target starting with "//" is refused',
    input: get('//api/v1/namespaces/d/pods'),
    want: 'KG_REQUEST_NONCANONICAL',
  },
  // percent escapes in the path
  {
    name: 'an encoded slash in the path is refused',
    input: get('/api/v1/namespaces/d/pods/foo%2Fexec'),
    want: 'KG_REQUEST_NONCANONICAL',
  },
  {
    name: 'a lower-case encoded slash is refused',
    input: get('/api/v1/namespaces/d/pods/foo%2fexec'),
    want: 'KG_REQUEST_NONCANONICAL',
  },
  {
    name: 'an encoded percent sign in the path is refused',
    input: get('/api/v1/namespaces/d/pods/foo%252Fexec'),
    want: 'KG_REQUEST_NONCANONICAL',
  },
  {
    name: 'an encoded NUL in the path is refused',
    input: get('/api/v1/namespaces/d/pods/foo%00'),
    want: 'KG_REQUEST_NONCANONICAL',
  },
  {
    name: 'an encoded newline in the path is refused',
    input: get('/api/v1/namespaces/d/pods/foo%0A'),
    want: 'KG_REQUEST_NONCANONICAL',
  },
  {
    name: 'an encoded %1f in the path is refused',
    input: get('/api/v1/namespaces/d/pods/foo%1f'),
    want: 'KG_REQUEST_NONCANONICAL',
  },
  {
    name: 'an encoded DEL in the path is refused',
    input: get('/api/v1/namespaces/d/pods/foo%7F'),
    want: 'KG_REQUEST_NONCANONICAL',
  },
  // invalid escapes anywhere
  {
    name: 'a non-hex escape in the path is refused',
    input: get('/api/v1/namespaces/d/pods/%zz'),
    want: 'KG_REQUEST_NONCANONICAL',
  },
  {
    name: 'a lone percent at the end of the path is refused',
    input: get('/api/v1/pods/%'),
    want: 'KG_REQUEST_NONCANONICAL',
  },
  {
    name: 'a truncated escape in the path is refused',
    input: get('/api/v1/pods/%4'),
    want: 'KG_REQUEST_NONCANONICAL',
  },
  {
    name: 'a truncated escape before the query is refused',
    input: get('/api/v1/pods/%4?a=1'),
    want: 'KG_REQUEST_NONCANONICAL',
  },
  {
    name: 'a non-hex escape in a query value is refused',
    input: get('/api/v1/pods?fieldSelector=a%3Db&x=%zz'),
    want: 'KG_REQUEST_NONCANONICAL',
  },
  {
    name: 'a lone percent at the end of the query is refused',
    input: get('/api/v1/pods?x=%'),
    want: 'KG_REQUEST_NONCANONICAL',
  },
  {
    name: 'a non-hex escape in a query key is refused',
    input: get('/api/v1/pods?%g0=1'),
    want: 'KG_REQUEST_NONCANONICAL',
  },
  // escapes that are not UTF-8
  {
    name: 'an escaped byte that is not UTF-8 in the path is refused',
    input: get('/api/v1/namespaces/d/pods/%FF'),
    want: 'KG_REQUEST_NONCANONICAL',
  },
  {
    name: 'a truncated UTF-8 sequence in the path is refused',
    input: get('/api/v1/namespaces/d/pods/a%C3'),
    want: 'KG_REQUEST_NONCANONICAL',
  },
  {
    name: 'an invalid UTF-8 sequence in the query is refused',
    input: get('/api/v1/pods?labelSelector=%C3%28'),
    want: 'KG_REQUEST_NONCANONICAL',
  },
  // raw characters
  {
    name: 'a raw backslash in the path is refused',
    input: get('/api/v1/namespaces/d/pods/foo\\..\\exec'),
    want: 'KG_REQUEST_NONCANONICAL',
  },
  {
    name: 'a raw backslash in the query is refused',
    input: get('/api/v1/pods?fieldSelector=a%3Db\\,c'),
    want: 'KG_REQUEST_NONCANONICAL',
  },
  {
    name: 'a "#" in the path is refused',
    input: get('/api/v1/namespaces/d/pods/foo#/exec'),
    want: 'KG_REQUEST_NONCANONICAL',
  },
  {
    name: 'a "#" in the query is refused',
    input: get('/api/v1/pods?a=1#frag'),
    want: 'KG_REQUEST_NONCANONICAL',
  },
  {
    name: 'a raw tab in the path is refused',
    input: get('/api/v1/pods/a\tb'),
    want: 'KG_REQUEST_NONCANONICAL',
  },
  {
    name: 'a raw control byte in the query is refused',
    input: get('/api/v1/pods?a=\x01'),
    want: 'KG_REQUEST_NONCANONICAL',
  },
  {
    name: 'a raw DEL in the path is refused',
    input: get('/api/v1/pods/a\x7f'),
    want: 'KG_REQUEST_NONCANONICAL',
  },
  {
    name: 'a raw space in the path is refused',
    input: get('/api/v1/pods/a b'),
    want: 'KG_REQUEST_NONCANONICAL',
  },
  {
    name: 'a raw non-ASCII character in the path is refused',
    input: get('/api/v1/namespaces/d/pods/föo'),
    want: 'KG_REQUEST_NONCANONICAL',
  },
  {
    name: 'a raw non-ASCII character in the query is refused',
    input: get('/api/v1/pods?a=ü'),
    want: 'KG_REQUEST_NONCANONICAL',
  },
  // path segments
  {
    name: 'an empty namespace segment is refused',
    input: get('/api/v1/namespaces//pods'),
    want: 'KG_REQUEST_NONCANONICAL',
  },
  {
    name: 'an empty segment after the prefix is refused',
    input: get('/api//v1/pods'),
    want: 'KG_REQUEST_NONCANONICAL',
  },
  {
    name: 'an empty segment in a non-resource path is refused',
    input: get('/openapi//v3'),
    want: 'KG_REQUEST_NONCANONICAL',
  },
  {
    name: 'a "." segment is refused',
    input: get('/api/v1/namespaces/d/pods/./foo'),
    want: 'KG_REQUEST_NONCANONICAL',
  },
  {
    name: 'a ".." segment is refused',
    input: get('/api/v1/namespaces/d/pods/../secrets/x'),
    want: 'KG_REQUEST_NONCANONICAL',
  },
  {
    name: 'an escaped ".." segment is refused',
    input: get('/api/v1/namespaces/%2e%2e/secrets'),
    want: 'KG_REQUEST_NONCANONICAL',
  },
  {
    name: 'an escaped "." segment is refused',
    input: get('/api/v1/namespaces/d/pods/%2E'),
    want: 'KG_REQUEST_NONCANONICAL',
  },
  {
    name: 'a half-escaped ".." segment is refused',
    input: get('/api/v1/namespaces/d/pods/.%2e'),
    want: 'KG_REQUEST_NONCANONICAL',
  },
  {
    name: 'a ".." segment in a non-resource path is refused',
    input: get('/healthz/..'),
    want: 'KG_REQUEST_NONCANONICAL',
  },
  {
    name: 'a trailing slash on a core resource path is refused',
    input: get('/api/v1/pods/'),
    want: 'KG_REQUEST_NONCANONICAL',
  },
  {
    name: 'a trailing slash on a group resource path is refused',
    input: get('/apis/apps/v1/namespaces/d/deployments/'),
    want: 'KG_REQUEST_NONCANONICAL',
  },
  { name: 'a trailing slash on "/api/" is refused', input: get('/api/'), want: 'KG_REQUEST_NONCANONICAL' },
  { name: 'a trailing slash on "/apis/" is refused', input: get('/apis/'), want: 'KG_REQUEST_NONCANONICAL' },
  {
    name: 'a trailing slash on "/api/v1/" is refused',
    input: get('/api/v1/'),
    want: 'KG_REQUEST_NONCANONICAL',
  },
  {
    name: 'a trailing slash after a name is refused',
    input: get('/api/v1/namespaces/d/pods/x/'),
    want: 'KG_REQUEST_NONCANONICAL',
  },
  {
    name: 'a trailing slash after a non-proxy subresource is refused',
    input: get('/api/v1/namespaces/d/pods/x/log/'),
    want: 'KG_REQUEST_NONCANONICAL',
  },
  {
    name: 'a trailing slash after the legacy proxy verb prefix is refused',
    input: get('/api/v1/proxy/namespaces/d/services/s/'),
    want: 'KG_REQUEST_NONCANONICAL',
  },
  {
    name: 'a trailing slash hidden by an escaped prefix is refused',
    input: get('/%61pi/v1/pods/'),
    want: 'KG_REQUEST_NONCANONICAL',
  },
  // the query
  {
    name: 'a ";" in the query is refused',
    input: get('/api/v1/pods?watch=true;labelSelector=a'),
    want: 'KG_REQUEST_NONCANONICAL',
  },
  {
    name: 'a repeated watch is refused',
    input: get('/api/v1/pods?watch=false&watch=true'),
    want: 'KG_REQUEST_NONCANONICAL',
  },
  {
    name: 'a repeated labelSelector is refused',
    input: get('/api/v1/pods?labelSelector=a%3Db&labelSelector=c%3Dd'),
    want: 'KG_REQUEST_NONCANONICAL',
  },
  {
    name: 'a repeated fieldSelector is refused',
    input: get('/api/v1/pods?fieldSelector=metadata.name=foo&fieldSelector=metadata.name=bar'),
    want: 'KG_REQUEST_NONCANONICAL',
  },
  {
    name: 'a repeated dryRun is refused',
    input: { method: 'POST', target: '/api/v1/namespaces/d/pods?dryRun=All&dryRun=None' },
    want: 'KG_REQUEST_NONCANONICAL',
  },
  {
    name: 'a watch repeated under an escaped key is refused',
    input: get('/api/v1/pods?watch=0&%77atch=1'),
    want: 'KG_REQUEST_NONCANONICAL',
  },
  {
    name: 'a query with more parameters than Go would read is refused',
    input: get(
      `/api/v1/pods?${Array.from({ length: MAX_QUERY_PARAMETERS + 1 }, (_, i) => `p${i}=1`).join('&')}`,
    ),
    want: 'KG_REQUEST_NONCANONICAL',
  },
  // refusals that need the mapped request
  {
    name: 'the watch prefix with no resource is refused',
    input: get('/api/v1/watch'),
    want: 'KG_REQUEST_NONCANONICAL',
  },
  {
    name: 'the proxy prefix with no resource is refused',
    input: get('/apis/g/v1/proxy'),
    want: 'KG_REQUEST_NONCANONICAL',
  },
  {
    name: 'an invalid label selector on a list is refused',
    input: get('/api/v1/pods?labelSelector=a%20in%20(b'),
    want: 'KG_REQUEST_NONCANONICAL',
  },
  {
    name: 'an invalid field selector on a list is refused',
    input: get('/apis/group/version/resource?fieldSelector=metadata.name=name1,foo'),
    want: 'KG_REQUEST_NONCANONICAL',
  },
  {
    name: 'a non-integer limit on a list is refused',
    input: get('/api/v1/pods?limit=abc'),
    want: 'KG_REQUEST_NONCANONICAL',
  },
  {
    name: 'an empty limit on a list is refused',
    input: get('/api/v1/pods?limit='),
    want: 'KG_REQUEST_NONCANONICAL',
  },
  {
    name: 'a non-integer timeoutSeconds on a watch is refused',
    input: get('/api/v1/pods?watch=1&timeoutSeconds=5m'),
    want: 'KG_REQUEST_NONCANONICAL',
  },
  {
    name: 'an invalid label selector on a deletecollection is refused',
    input: { method: 'DELETE', target: '/api/v1/namespaces/d/pods?labelSelector=a%3D%3D%3Db' },
    want: 'KG_REQUEST_NONCANONICAL',
  },
  {
    name: 'an invalid field selector on a deletecollection is refused',
    input: { method: 'DELETE', target: '/api/v1/namespaces/d/pods?fieldSelector=nonsense' },
    want: 'KG_REQUEST_NONCANONICAL',
  },
  {
    name: 'an invalid label selector on the deprecated watch prefix is refused',
    input: get('/api/v1/watch/pods?labelSelector=a%3D%3D%3Db'),
    want: 'KG_REQUEST_NONCANONICAL',
  },
  {
    name: 'a NUL in a label selector on a list is refused',
    input: get('/api/v1/pods?labelSelector=a%3Db%20%00x'),
    want: 'KG_REQUEST_NONCANONICAL',
  },
  // methods
  {
    name: 'TRACE is refused as a method',
    input: { method: 'TRACE', target: '/api/v1/pods' },
    want: 'KG_REQUEST_METHOD',
  },
  {
    name: 'CONNECT is refused as a method',
    input: { method: 'CONNECT', target: '/api/v1/pods' },
    want: 'KG_REQUEST_METHOD',
  },
  {
    name: 'a WebDAV method is refused',
    input: { method: 'PROPFIND', target: '/api/v1/pods' },
    want: 'KG_REQUEST_METHOD',
  },
  {
    name: 'a lower-case method is refused',
    input: { method: 'get', target: '/api/v1/pods' },
    want: 'KG_REQUEST_METHOD',
  },
  {
    name: 'an empty method is refused',
    input: { method: '', target: '/api/v1/pods' },
    want: 'KG_REQUEST_METHOD',
  },
  // deletecollection lists at the client's snapshot, kubegate judges the current objects
  {
    name: 'a deletecollection at a resourceVersion is refused',
    input: { method: 'DELETE', target: '/api/v1/namespaces/d/configmaps?resourceVersion=12' },
    want: 'KG_REQUEST_NONCANONICAL',
  },
  {
    name: 'a deletecollection with resourceVersionMatch is refused',
    input: {
      method: 'DELETE',
      target: '/api/v1/namespaces/d/configmaps?resourceVersionMatch=Exact&labelSelector=a%3Db',
    },
    want: 'KG_REQUEST_NONCANONICAL',
  },
  {
    name: 'a deletecollection continuing an earlier list is refused',
    input: { method: 'DELETE', target: '/api/v1/namespaces/d/configmaps?continue=abc' },
    want: 'KG_REQUEST_NONCANONICAL',
  },
  {
    name: 'a deletecollection with an empty resourceVersion is refused too',
    input: { method: 'DELETE', target: '/api/v1/namespaces/d/configmaps?resourceVersion=' },
    want: 'KG_REQUEST_NONCANONICAL',
  },
  {
    name: 'OPTIONS on a collection is refused',
    input: { method: 'OPTIONS', target: '/api/v1/pods' },
    want: 'KG_REQUEST_METHOD',
  },
  {
    name: 'OPTIONS on a non-resource path is refused',
    input: { method: 'OPTIONS', target: '/version' },
    want: 'KG_REQUEST_METHOD',
  },
  {
    name: 'OPTIONS on exec is refused',
    input: { method: 'OPTIONS', target: '/api/v1/namespaces/d/pods/x/exec' },
    want: 'KG_REQUEST_METHOD',
  },
];

for (const row of refusedRows) {
  test(row.name, () => {
    assert.throws(
      () => parseRequest({ ...row.input, headers: {} }),
      (err: unknown) => err instanceof KubegateError && err.code === row.want,
    );
  });
}

// Targets kubectl 1.27–1.33 sends (k8s-api-semantics §4) and the non-resource paths it reads.
const acceptedRows: { name: string; input: Input; want: true }[] = [
  { name: 'the root path is accepted', input: get('/'), want: true },
  { name: 'discovery of /api with a timeout is accepted', input: get('/api?timeout=32s'), want: true },
  { name: 'discovery of /apis is accepted', input: get('/apis'), want: true },
  { name: 'legacy discovery of /api/v1 is accepted', input: get('/api/v1'), want: true },
  { name: 'group discovery is accepted', input: get('/apis/apps/v1?timeout=32s'), want: true },
  { name: '/version is accepted', input: get('/version'), want: true },
  { name: '/openapi/v3 is accepted', input: get('/openapi/v3'), want: true },
  {
    name: 'an OpenAPI v3 group document with a hash is accepted',
    input: get('/openapi/v3/api/v1?hash=ABC123'),
    want: true,
  },
  { name: '/openapi/v2 is accepted', input: get('/openapi/v2'), want: true },
  { name: '/swagger-2.0.0.pb-v1 is accepted', input: get('/swagger-2.0.0.pb-v1'), want: true },
  { name: '/healthz is accepted', input: get('/healthz'), want: true },
  { name: '/livez?verbose is accepted', input: get('/livez?verbose'), want: true },
  {
    name: 'a trailing slash on a non-resource path such as /logs/ is accepted',
    input: get('/logs/'),
    want: true,
  },
  {
    name: 'a dot-prefixed segment such as .well-known is accepted',
    input: get('/.well-known/openid-configuration'),
    want: true,
  },
  {
    name: 'a segment of three dots is accepted',
    input: get('/api/v1/namespaces/d/configmaps/...'),
    want: true,
  },
  {
    name: 'get -l with a limit is accepted',
    input: get('/api/v1/namespaces/default/pods?labelSelector=app%3Ddemo&limit=500'),
    want: true,
  },
  { name: 'get -A is accepted', input: get('/api/v1/pods?limit=500'), want: true },
  {
    name: 'get pod -w with a name field selector is accepted',
    input: get(
      '/api/v1/namespaces/default/pods?fieldSelector=metadata.name%3Dfoo&resourceVersion=0&watch=true',
    ),
    want: true,
  },
  {
    name: 'describe events with raw = and , in the field selector is accepted',
    input: get(
      '/api/v1/namespaces/default/events?fieldSelector=involvedObject.name=foo,involvedObject.namespace=default,involvedObject.uid=0b1c&limit=500',
    ),
    want: true,
  },
  {
    name: 'exec with an escaped slash in a command argument is accepted',
    input: get(
      '/api/v1/namespaces/default/pods/foo/exec?command=ls&command=-la&command=%2Ftmp&container=c&stderr=true&stdout=true',
    ),
    want: true,
  },
  {
    name: 'exec with an escaped percent sign and newline in arguments is accepted',
    input: get('/api/v1/namespaces/default/pods/foo/exec?command=printf&command=%25s%0A&stdout=true'),
    want: true,
  },
  {
    name: 'logs with follow and tail is accepted',
    input: get('/api/v1/namespaces/default/pods/foo/log?container=c&follow=true&tailLines=10'),
    want: true,
  },
  {
    name: 'port-forward with no query is accepted',
    input: get('/api/v1/namespaces/default/pods/foo/portforward'),
    want: true,
  },
  {
    name: 'a name with an encoded space is accepted',
    input: get('/api/v1/namespaces/d/configmaps/we%20ird'),
    want: true,
  },
  {
    name: 'a name with encoded UTF-8 is accepted',
    input: get('/api/v1/namespaces/d/configmaps/f%C3%BCr'),
    want: true,
  },
  {
    name: 'a raw colon in a name is accepted',
    input: get('/api/v1/namespaces/d/pods/foo:8080/proxy'),
    want: true,
  },
  {
    name: 'a label selector with + for spaces is accepted',
    input: get('/api/v1/pods?labelSelector=env+in+(a,b)'),
    want: true,
  },
  {
    name: 'server-side apply is accepted',
    input: {
      method: 'PATCH',
      target:
        '/apis/apps/v1/namespaces/d/deployments/web?fieldManager=kubectl&fieldValidation=Strict&force=false',
    },
    want: true,
  },
  {
    name: 'a delete of one pod is accepted',
    input: { method: 'DELETE', target: '/api/v1/namespaces/d/pods/web-1' },
    want: true,
  },
  {
    name: 'an eviction is accepted',
    input: { method: 'POST', target: '/api/v1/namespaces/d/pods/web-1/eviction' },
    want: true,
  },
  {
    name: 'a trailing slash after a service proxy subresource, as kubectl proxy forwards it, is accepted',
    input: get('/api/v1/namespaces/kube-system/services/https:kubernetes-dashboard:/proxy/'),
    want: true,
  },
  {
    name: 'a trailing slash deep inside a pod proxy path is accepted',
    input: get('/api/v1/namespaces/d/pods/x/proxy/static/'),
    want: true,
  },
  {
    name: 'OPTIONS on a pod proxy is accepted',
    input: { method: 'OPTIONS', target: '/api/v1/namespaces/d/pods/x/proxy' },
    want: true,
  },
  {
    name: 'OPTIONS deeper into a service proxy is accepted',
    input: { method: 'OPTIONS', target: '/api/v1/namespaces/d/services/s/proxy/a/b' },
    want: true,
  },
  {
    name: 'a trailing "?" with no query is accepted',
    input: get('/api/v1/namespaces/d/pods/foo?'),
    want: true,
  },
  {
    name: 'a raw "?" inside the query is accepted',
    input: get('/api/v1/namespaces/d/services/s/proxy?next=a?b'),
    want: true,
  },
  {
    name: 'exactly the maximum number of query parameters is accepted',
    input: get(`/api/v1/pods?${Array.from({ length: MAX_QUERY_PARAMETERS }, (_, i) => `p${i}=1`).join('&')}`),
    want: true,
  },
  {
    name: 'a selector on a get of one object is not validated, as upstream ignores it',
    input: get('/api/v1/namespaces/d/pods/x?labelSelector=%3D%3D%3D'),
    want: true,
  },
  {
    name: 'a bad limit on a get of one object is not refused, as upstream ignores it',
    input: get('/api/v1/namespaces/d/pods/x?limit=abc'),
    want: true,
  },
  {
    name: 'a deletecollection with a label selector and no snapshot passes',
    input: { method: 'DELETE', target: '/api/v1/namespaces/d/configmaps?labelSelector=a%3Db' },
    want: true,
  },
  {
    name: 'a delete of one object at a resourceVersion passes (no list is involved)',
    input: { method: 'DELETE', target: '/api/v1/namespaces/d/configmaps/x?resourceVersion=12' },
    want: true,
  },
];

for (const row of acceptedRows) {
  test(row.name, () => {
    assert.equal(typeof parseRequest({ ...row.input, headers: {} }).verb, 'string');
  });
}

const segmentRows: {
  name: string;
  input: string;
  want: { path: string; rawQuery: string; segments: string[] };
}[] = [
  { name: 'the root path has no segments', input: '/', want: { path: '/', rawQuery: '', segments: [] } },
  {
    name: 'segments are split at "/" and the query at the first "?"',
    input: '/api/v1/pods?a=b?c',
    want: { path: '/api/v1/pods', rawQuery: 'a=b?c', segments: ['api', 'v1', 'pods'] },
  },
  {
    name: 'segments are percent-decoded once and "+" stays a plus in the path',
    input: '/api/v1/namespaces/d/configmaps/a%20b+c',
    want: {
      path: '/api/v1/namespaces/d/configmaps/a%20b+c',
      rawQuery: '',
      segments: ['api', 'v1', 'namespaces', 'd', 'configmaps', 'a b+c'],
    },
  },
  {
    name: 'a trailing slash on a non-resource path adds no segment',
    input: '/logs/',
    want: { path: '/logs/', rawQuery: '', segments: ['logs'] },
  },
  {
    name: 'a trailing slash after a proxy subresource adds no segment',
    input: '/api/v1/namespaces/d/services/s/proxy/',
    want: {
      path: '/api/v1/namespaces/d/services/s/proxy/',
      rawQuery: '',
      segments: ['api', 'v1', 'namespaces', 'd', 'services', 's', 'proxy'],
    },
  },
];

for (const row of segmentRows) {
  test(row.name, () => {
    const got = checkTarget(row.input);
    assert.deepEqual({ path: got.path, rawQuery: got.rawQuery, segments: [...got.segments] }, row.want);
  });
}

test('a refusal message echoes at most about 200 characters of a huge target', () => {
  const target = `/api/v1/namespaces/${'a'.repeat(100_000)}//pods`;
  assert.throws(
    () => parseRequest({ method: 'GET', target, headers: {} }),
    (err: unknown) =>
      err instanceof KubegateError && err.code === 'KG_REQUEST_NONCANONICAL' && err.message.length < 600,
  );
});

test('a refusal message never carries a raw control character from the target', () => {
  assert.throws(
    () => parseRequest({ method: 'GET', target: '/api/v1/pods/a\x1b[31mb', headers: {} }),
    // eslint-disable-next-line no-control-regex
    (err: unknown) => err instanceof KubegateError && !/[\x00-\x1f\x7f]/.test(err.message),
  );
});
