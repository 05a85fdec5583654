// The upstream table of k8s.io/apiserver pkg/endpoints/request/requestinfo_test.go (1.31+:
// TestGetAPIRequestInfo, TestGetNonAPIRequestInfo, TestSelectorParsing), every case ported by
// behaviour, plus the edges of requestinfo.go that the upstream table leaves out. These run on
// the pure mapping (resolveRequestInfo), including targets canonical.ts later refuses; parse.test.ts
// runs the same table through parseRequest.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseGoQuery } from './go-query.js';
import { isValidPathSegmentName, resolveRequestInfo, splitPath } from './request-info.js';
import type { ResourceWant, SelectorWant } from './upstream-requestinfo-cases.test.js';
import {
  upstreamKindRows,
  upstreamSelectorRows,
  upstreamSuccessCases,
} from './upstream-requestinfo-cases.test.js';

/** Maps a method and an unescaped Go URL (path?query) the way http.NewRequest + NewRequestInfo do. */
function infoFor(method: string, url: string) {
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  const rawQuery = q === -1 ? '' : url.slice(q + 1);
  return resolveRequestInfo(method, splitPath(path), parseGoQuery(rawQuery));
}

const resourceRows: { name: string; input: [string, string]; want: ResourceWant }[] =
  upstreamSuccessCases.map(
    ([
      method,
      url,
      verb,
      apiPrefix,
      apiGroup,
      apiVersion,
      namespace,
      resource,
      subresource,
      name,
      parts,
    ]) => ({
      name: `upstream: ${method} ${url} is the resource request ${verb} ${resource}${subresource ? '/' + subresource : ''}${name ? ' named ' + name : ''}${namespace ? ' in ' + namespace : ''}`,
      input: [method, url],
      want: { verb, apiPrefix, apiGroup, apiVersion, namespace, resource, subresource, name, parts },
    }),
  );

for (const row of resourceRows) {
  test(row.name, () => {
    const info = infoFor(...row.input);
    assert.equal(info.isResourceRequest, true);
    assert.equal(info.error, null);
    const { verb, apiPrefix, apiGroup, apiVersion, namespace, resource, subresource, name, parts } = info;
    assert.deepEqual(
      { verb, apiPrefix, apiGroup, apiVersion, namespace, resource, subresource, name, parts: [...parts] },
      row.want,
    );
  });
}

for (const row of upstreamKindRows) {
  test(row.name, () => {
    const info = infoFor('GET', row.input);
    assert.equal(info.error, null);
    assert.equal(info.isResourceRequest, row.want);
    if (!row.want) assert.equal(info.verb, 'get');
  });
}

const selectorRows: { name: string; input: [string, string]; want: SelectorWant }[] = [
  ...upstreamSelectorRows,
  // Edges of the same code path that the upstream table does not cover.
  {
    name: 'an empty watch value counts as true',
    input: ['GET', '/api/v1/pods?watch'],
    want: { verb: 'watch', name: '', fieldSelector: '', labelSelector: '', listOptionsError: false },
  },
  {
    name: 'watch=FALSE is false, case-insensitively',
    input: ['GET', '/api/v1/pods?watch=FALSE'],
    want: { verb: 'list', name: '', fieldSelector: '', labelSelector: '', listOptionsError: false },
  },
  {
    name: 'watch=no is true, because only false and 0 are false',
    input: ['GET', '/api/v1/pods?watch=no'],
    want: { verb: 'watch', name: '', fieldSelector: '', labelSelector: '', listOptionsError: false },
  },
  {
    name: 'watch=falſe with a long s is false, because strings.EqualFold folds ſ to s',
    input: ['GET', '/api/v1/pods?watch=fal%C5%BFe'],
    want: { verb: 'list', name: '', fieldSelector: '', labelSelector: '', listOptionsError: false },
  },
  {
    name: 'watch=falſe after a failed decode is true, because the fallback lower-cases with ToLower',
    input: ['GET', '/api/v1/pods?watch=fal%C5%BFe&limit=x'],
    want: { verb: 'watch', name: '', fieldSelector: '', labelSelector: '', listOptionsError: true },
  },
  {
    name: 'the first of repeated watch values decides',
    input: ['GET', '/api/v1/pods?watch=false&watch=true'],
    want: { verb: 'list', name: '', fieldSelector: '', labelSelector: '', listOptionsError: false },
  },
  {
    name: 'a watch pair with a semicolon is dropped, so the request lists',
    input: ['GET', '/api/v1/pods?watch=true;labelSelector=a'],
    want: { verb: 'list', name: '', fieldSelector: '', labelSelector: '', listOptionsError: false },
  },
  {
    name: 'a non-integer limit fails the decode and drops the name shortcut',
    input: ['GET', '/api/v1/pods?limit=abc&fieldSelector=metadata.name=x'],
    want: {
      verb: 'list',
      name: '',
      fieldSelector: 'metadata.name=x',
      labelSelector: '',
      listOptionsError: true,
    },
  },
  {
    name: 'an empty timeoutSeconds fails the decode',
    input: ['GET', '/api/v1/pods?timeoutSeconds='],
    want: { verb: 'list', name: '', fieldSelector: '', labelSelector: '', listOptionsError: true },
  },
  {
    name: 'an invalid label selector fails the decode',
    input: ['GET', '/api/v1/pods?labelSelector=a%20in%20(b'],
    want: { verb: 'list', name: '', fieldSelector: '', labelSelector: 'a in (b', listOptionsError: true },
  },
  {
    name: 'a metadata.name that is not a valid path segment name sets no name',
    input: ['GET', '/api/v1/pods?fieldSelector=metadata.name=..'],
    want: {
      verb: 'list',
      name: '',
      fieldSelector: 'metadata.name=..',
      labelSelector: '',
      listOptionsError: false,
    },
  },
  {
    name: 'a metadata.name holding a slash sets no name',
    input: ['GET', '/api/v1/pods?fieldSelector=metadata.name%3Da%2Fb'],
    want: {
      verb: 'list',
      name: '',
      fieldSelector: 'metadata.name=a/b',
      labelSelector: '',
      listOptionsError: false,
    },
  },
  {
    name: 'metadata.name!=x sets no name',
    input: ['GET', '/api/v1/pods?fieldSelector=metadata.name!=x'],
    want: {
      verb: 'list',
      name: '',
      fieldSelector: 'metadata.name!=x',
      labelSelector: '',
      listOptionsError: false,
    },
  },
  {
    name: 'a name shortcut is never applied to a DELETE of a collection',
    input: ['DELETE', '/api/v1/namespaces/d/pods?fieldSelector=metadata.name=x'],
    want: {
      verb: 'deletecollection',
      name: '',
      fieldSelector: 'metadata.name=x',
      labelSelector: '',
      listOptionsError: false,
    },
  },
];

for (const row of selectorRows) {
  test(row.name, () => {
    const info = infoFor(...row.input);
    assert.deepEqual(
      {
        verb: info.verb,
        name: info.name,
        fieldSelector: info.fieldSelector,
        labelSelector: info.labelSelector,
        listOptionsError: info.listOptionsError !== null,
      },
      row.want,
    );
  });
}

const edgeRows: { name: string; input: [string, string]; want: Partial<Record<string, unknown>> }[] = [
  {
    // An older upstream table expected namespace "" here; requestinfo.go has always set the name.
    name: 'a PATCH of a namespace item carries its own name as its namespace',
    input: ['PATCH', '/api/v1/namespaces/new-namespace'],
    want: { verb: 'patch', namespace: 'new-namespace', resource: 'namespaces', name: 'new-namespace' },
  },
  {
    name: 'the watch prefix with nothing after it is an error upstream',
    input: ['GET', '/api/v1/watch'],
    want: { isResourceRequest: true, error: 'unable to determine kind and namespace from url' },
  },
  {
    name: 'the proxy prefix with nothing after it is an error upstream',
    input: ['GET', '/apis/g/v1/proxy'],
    want: { isResourceRequest: true, error: 'unable to determine kind and namespace from url' },
  },
  {
    name: 'an unknown method on a resource has the empty verb',
    input: ['OPTIONS', '/api/v1/namespaces/d/pods/x/proxy'],
    want: { verb: '', resource: 'pods', subresource: 'proxy', name: 'x', namespace: 'd' },
  },
  {
    name: 'a lower-case method on a resource has the empty verb, as Go compares methods exactly',
    input: ['get', '/api/v1/pods'],
    want: { verb: '' },
  },
  {
    name: 'an upper-case API prefix is not a resource request, because the prefix is case-sensitive',
    input: ['GET', '/API/v1/pods'],
    want: { isResourceRequest: false, verb: 'get' },
  },
  {
    name: 'a non-resource request has the lower-cased method as its verb',
    input: ['POST', '/version'],
    want: { isResourceRequest: false, verb: 'post' },
  },
  {
    name: 'a namespace name without anything after "namespaces" is a list of namespaces',
    input: ['GET', '/api/v1/watch/namespaces'],
    want: { verb: 'watch', namespace: '', resource: 'namespaces', parts: ['namespaces'] },
  },
  {
    name: 'an empty namespace segment reads as all namespaces',
    input: ['GET', '/api/v1/namespaces//pods'],
    want: { verb: 'list', namespace: '', resource: 'pods', parts: ['pods'] },
  },
  {
    name: 'the proxy prefix never has a subresource',
    input: ['GET', '/api/v1/proxy/nodes/n/exec'],
    want: { verb: 'proxy', resource: 'nodes', name: 'n', subresource: '', parts: ['nodes', 'n', 'exec'] },
  },
  {
    name: 'the watch prefix keeps a subresource',
    input: ['GET', '/api/v1/watch/namespaces/d/pods/x/status'],
    want: { verb: 'watch', resource: 'pods', name: 'x', subresource: 'status' },
  },
  {
    name: 'segments past the subresource are kept in parts only',
    input: ['GET', '/api/v1/namespaces/d/services/s/proxy/a/b'],
    want: {
      verb: 'get',
      resource: 'services',
      subresource: 'proxy',
      name: 's',
      parts: ['services', 's', 'proxy', 'a', 'b'],
    },
  },
];

for (const row of edgeRows) {
  test(row.name, () => {
    const info = infoFor(...row.input) as unknown as Record<string, unknown>;
    for (const [key, value] of Object.entries(row.want)) {
      const got = info[key];
      assert.deepEqual(Array.isArray(got) ? [...(got as unknown[])] : got, value, key);
    }
  });
}

const splitRows: { name: string; input: string; want: string[] }[] = [
  { name: 'splitPath of "/" has no segments', input: '/', want: [] },
  { name: 'splitPath trims every leading and trailing slash', input: '//api/v1//', want: ['api', 'v1'] },
  { name: 'splitPath keeps interior empty segments', input: '/api//v1', want: ['api', '', 'v1'] },
];

for (const row of splitRows) {
  test(row.name, () => {
    assert.deepEqual(splitPath(row.input), row.want);
  });
}

const segmentNameRows: { name: string; input: string; want: boolean }[] = [
  { name: 'an ordinary name is a valid path segment name', input: 'web-1', want: true },
  { name: 'the empty name is a valid path segment name', input: '', want: true },
  { name: '"." is not a valid path segment name', input: '.', want: false },
  { name: '".." is not a valid path segment name', input: '..', want: false },
  { name: 'a name with "/" is not a valid path segment name', input: 'a/b', want: false },
  { name: 'a name with "%" is not a valid path segment name', input: 'a%b', want: false },
  { name: 'a name with three dots is a valid path segment name', input: '...', want: true },
];

for (const row of segmentNameRows) {
  test(row.name, () => {
    assert.equal(isValidPathSegmentName(row.input), row.want);
  });
}
