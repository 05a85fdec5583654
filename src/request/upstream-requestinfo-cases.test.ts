// Data only: every case of the upstream table in k8s.io/apiserver
// pkg/endpoints/request/requestinfo_test.go (1.31+: TestGetAPIRequestInfo, TestGetNonAPIRequestInfo,
// TestSelectorParsing), ported by behaviour. request-info.test.ts checks the pure mapping against
// it; parse.test.ts runs it through parseRequest, where a few targets are refused as non-canonical.
// (Named *.test.ts so that the build leaves it out; it registers no tests of its own.)

export interface ResourceWant {
  verb: string;
  apiPrefix: string;
  apiGroup: string;
  apiVersion: string;
  namespace: string;
  resource: string;
  subresource: string;
  name: string;
  parts: string[];
}

/** Upstream's successCases: [method, url, verb, apiPrefix, apiGroup, apiVersion, namespace, resource, subresource, name, parts]. */
export type Upstream = [
  string,
  string,
  string,
  string,
  string,
  string,
  string,
  string,
  string,
  string,
  string[],
];

// Upstream lists "api" as the expected prefix for /apis URLs too but never checks it; the prefix
// column here holds what requestinfo.go actually sets.
export const upstreamSuccessCases: Upstream[] = [
  // resource paths
  ['GET', '/api/v1/namespaces', 'list', 'api', '', 'v1', '', 'namespaces', '', '', ['namespaces']],
  [
    'GET',
    '/api/v1/namespaces/other',
    'get',
    'api',
    '',
    'v1',
    'other',
    'namespaces',
    '',
    'other',
    ['namespaces', 'other'],
  ],
  ['GET', '/api/v1/namespaces/other/pods', 'list', 'api', '', 'v1', 'other', 'pods', '', '', ['pods']],
  [
    'GET',
    '/api/v1/namespaces/other/pods/foo',
    'get',
    'api',
    '',
    'v1',
    'other',
    'pods',
    '',
    'foo',
    ['pods', 'foo'],
  ],
  [
    'HEAD',
    '/api/v1/namespaces/other/pods/foo',
    'get',
    'api',
    '',
    'v1',
    'other',
    'pods',
    '',
    'foo',
    ['pods', 'foo'],
  ],
  ['GET', '/api/v1/pods', 'list', 'api', '', 'v1', '', 'pods', '', '', ['pods']],
  ['HEAD', '/api/v1/pods', 'list', 'api', '', 'v1', '', 'pods', '', '', ['pods']],
  [
    'GET',
    '/api/v1/namespaces/other/pods/foo',
    'get',
    'api',
    '',
    'v1',
    'other',
    'pods',
    '',
    'foo',
    ['pods', 'foo'],
  ],
  ['GET', '/api/v1/namespaces/other/pods', 'list', 'api', '', 'v1', 'other', 'pods', '', '', ['pods']],
  // special verbs
  [
    'GET',
    '/api/v1/proxy/namespaces/other/pods/foo',
    'proxy',
    'api',
    '',
    'v1',
    'other',
    'pods',
    '',
    'foo',
    ['pods', 'foo'],
  ],
  [
    'GET',
    '/api/v1/proxy/namespaces/other/pods/foo/subpath/not/a/subresource',
    'proxy',
    'api',
    '',
    'v1',
    'other',
    'pods',
    '',
    'foo',
    ['pods', 'foo', 'subpath', 'not', 'a', 'subresource'],
  ],
  ['GET', '/api/v1/watch/pods', 'watch', 'api', '', 'v1', '', 'pods', '', '', ['pods']],
  ['GET', '/api/v1/pods?watch=true', 'watch', 'api', '', 'v1', '', 'pods', '', '', ['pods']],
  ['GET', '/api/v1/pods?watch=false', 'list', 'api', '', 'v1', '', 'pods', '', '', ['pods']],
  ['GET', '/api/v1/watch/namespaces/other/pods', 'watch', 'api', '', 'v1', 'other', 'pods', '', '', ['pods']],
  [
    'GET',
    '/api/v1/namespaces/other/pods?watch=1',
    'watch',
    'api',
    '',
    'v1',
    'other',
    'pods',
    '',
    '',
    ['pods'],
  ],
  [
    'GET',
    '/api/v1/namespaces/other/pods?watch=0',
    'list',
    'api',
    '',
    'v1',
    'other',
    'pods',
    '',
    '',
    ['pods'],
  ],
  // subresource identification
  [
    'GET',
    '/api/v1/namespaces/other/pods/foo/status',
    'get',
    'api',
    '',
    'v1',
    'other',
    'pods',
    'status',
    'foo',
    ['pods', 'foo', 'status'],
  ],
  [
    'GET',
    '/api/v1/namespaces/other/pods/foo/proxy/subpath',
    'get',
    'api',
    '',
    'v1',
    'other',
    'pods',
    'proxy',
    'foo',
    ['pods', 'foo', 'proxy', 'subpath'],
  ],
  [
    'PUT',
    '/api/v1/namespaces/other/finalize',
    'update',
    'api',
    '',
    'v1',
    'other',
    'namespaces',
    'finalize',
    'other',
    ['namespaces', 'other', 'finalize'],
  ],
  [
    'PUT',
    '/api/v1/namespaces/other/status',
    'update',
    'api',
    '',
    'v1',
    'other',
    'namespaces',
    'status',
    'other',
    ['namespaces', 'other', 'status'],
  ],
  // verb identification
  [
    'PATCH',
    '/api/v1/namespaces/other/pods/foo',
    'patch',
    'api',
    '',
    'v1',
    'other',
    'pods',
    '',
    'foo',
    ['pods', 'foo'],
  ],
  [
    'DELETE',
    '/api/v1/namespaces/other/pods/foo',
    'delete',
    'api',
    '',
    'v1',
    'other',
    'pods',
    '',
    'foo',
    ['pods', 'foo'],
  ],
  ['POST', '/api/v1/namespaces/other/pods', 'create', 'api', '', 'v1', 'other', 'pods', '', '', ['pods']],
  // deletecollection verb identification
  ['DELETE', '/api/v1/nodes', 'deletecollection', 'api', '', 'v1', '', 'nodes', '', '', ['nodes']],
  [
    'DELETE',
    '/api/v1/namespaces',
    'deletecollection',
    'api',
    '',
    'v1',
    '',
    'namespaces',
    '',
    '',
    ['namespaces'],
  ],
  [
    'DELETE',
    '/api/v1/namespaces/other/pods',
    'deletecollection',
    'api',
    '',
    'v1',
    'other',
    'pods',
    '',
    '',
    ['pods'],
  ],
  [
    'DELETE',
    '/apis/extensions/v1/namespaces/other/pods',
    'deletecollection',
    'apis',
    'extensions',
    'v1',
    'other',
    'pods',
    '',
    '',
    ['pods'],
  ],
  // api group identification
  [
    'POST',
    '/apis/extensions/v1/namespaces/other/pods',
    'create',
    'apis',
    'extensions',
    'v1',
    'other',
    'pods',
    '',
    '',
    ['pods'],
  ],
  // api version identification
  [
    'POST',
    '/apis/extensions/v1beta3/namespaces/other/pods',
    'create',
    'apis',
    'extensions',
    'v1beta3',
    'other',
    'pods',
    '',
    '',
    ['pods'],
  ],
];

// Upstream errorCases and TestGetNonAPIRequestInfo: whether each URL is a resource request.
export const upstreamKindRows: { name: string; input: string; want: boolean; refused: boolean }[] = [
  {
    name: 'upstream: "/" is not a resource request (no resource path)',
    input: '/',
    want: false,
    refused: false,
  },
  {
    name: 'upstream: "/api/version/" is not a resource request (just apiversion)',
    input: '/api/version/',
    want: false,
    refused: true,
  },
  {
    name: 'upstream: "/apis/group/version/" is not a resource request (just prefix, group, version)',
    input: '/apis/group/version/',
    want: false,
    refused: true,
  },
  {
    name: 'upstream: "/badprefix/version/resource" is not a resource request (bad prefix)',
    input: '/badprefix/version/resource',
    want: false,
    refused: false,
  },
  {
    name: 'upstream: "/apis/version/resource" is not a resource request (missing api group)',
    input: '/apis/version/resource',
    want: false,
    refused: false,
  },
  {
    name: 'upstream: "/api/version/resource" is a resource request (simple groupless)',
    input: '/api/version/resource',
    want: true,
    refused: false,
  },
  {
    name: 'upstream: "/apis/group/version/resource/name/subresource" is a resource request (simple group)',
    input: '/apis/group/version/resource/name/subresource',
    want: true,
    refused: false,
  },
  {
    name: 'upstream: "/api/version/resource/name/subresource" is a resource request (more steps)',
    input: '/api/version/resource/name/subresource',
    want: true,
    refused: false,
  },
  {
    name: 'upstream: "/apis/batch/v1/job" is a resource request (group list)',
    input: '/apis/batch/v1/job',
    want: true,
    refused: false,
  },
  {
    name: 'upstream: "/apis/batch/v1/job/foo" is a resource request (group get)',
    input: '/apis/batch/v1/job/foo',
    want: true,
    refused: false,
  },
  {
    name: 'upstream: "/apis/batch/v1/job/foo/scale" is a resource request (group subresource)',
    input: '/apis/batch/v1/job/foo/scale',
    want: true,
    refused: false,
  },
  {
    name: 'upstream: "/not-api/version/resource" is not a resource request (bad root)',
    input: '/not-api/version/resource',
    want: false,
    refused: false,
  },
  {
    name: 'upstream: "/apis/extensions/v1beta1" is not a resource request (group without enough steps)',
    input: '/apis/extensions/v1beta1',
    want: false,
    refused: false,
  },
  {
    name: 'upstream: "/apis/extensions/v1beta1/" is not a resource request (group without enough steps 2)',
    input: '/apis/extensions/v1beta1/',
    want: false,
    refused: true,
  },
  {
    name: 'upstream: "/api/version" is not a resource request (not enough steps)',
    input: '/api/version',
    want: false,
    refused: false,
  },
  {
    name: 'upstream: "/api" is not a resource request (one step)',
    input: '/api',
    want: false,
    refused: false,
  },
  { name: 'upstream: "" is not a resource request (empty)', input: '', want: false, refused: true },
];

export interface SelectorWant {
  verb: string;
  name: string;
  fieldSelector: string;
  labelSelector: string;
  listOptionsError: boolean;
}

// Upstream TestSelectorParsing (its superset of the older TestFieldSelectorParsing).
export const upstreamSelectorRows: {
  name: string;
  input: [string, string];
  want: SelectorWant;
  refused: boolean;
}[] = [
  {
    name: 'upstream: a collection GET with no selector is a list',
    input: ['GET', '/apis/group/version/resource'],
    want: { verb: 'list', name: '', fieldSelector: '', labelSelector: '', listOptionsError: false },
    refused: false,
  },
  {
    name: 'upstream: a metadata.name field selector sets the name and keeps the verb list',
    input: ['GET', '/apis/group/version/resource?fieldSelector=metadata.name=name1'],
    want: {
      verb: 'list',
      name: 'name1',
      fieldSelector: 'metadata.name=name1',
      labelSelector: '',
      listOptionsError: false,
    },
    refused: false,
  },
  {
    name: 'upstream: a metadata.name field selector with watch sets the name and keeps the verb watch',
    input: ['GET', '/apis/group/version/resource?watch=true&fieldSelector=metadata.name=name1'],
    want: {
      verb: 'watch',
      name: 'name1',
      fieldSelector: 'metadata.name=name1',
      labelSelector: '',
      listOptionsError: false,
    },
    refused: false,
  },
  {
    name: 'upstream: other selectors are captured raw and set no name',
    input: ['GET', '/apis/group/version/resource?fieldSelector=foo=bar&labelSelector=baz=qux'],
    want: {
      verb: 'list',
      name: '',
      fieldSelector: 'foo=bar',
      labelSelector: 'baz=qux',
      listOptionsError: false,
    },
    refused: false,
  },
  {
    name: 'upstream: an invalid field selector drops the name shortcut but is still captured raw',
    input: ['GET', '/apis/group/version/resource?fieldSelector=metadata.name=name1,foo'],
    want: {
      verb: 'list',
      name: '',
      fieldSelector: 'metadata.name=name1,foo',
      labelSelector: '',
      listOptionsError: true,
    },
    refused: true,
  },
  {
    name: 'upstream: an invalid field selector with watch=true still watches',
    input: ['GET', '/apis/group/version/resource?fieldSelector=metadata.name=name1,foo&watch=true'],
    want: {
      verb: 'watch',
      name: '',
      fieldSelector: 'metadata.name=name1,foo',
      labelSelector: '',
      listOptionsError: true,
    },
    refused: true,
  },
  {
    name: 'upstream: an invalid field selector with watch=false lists',
    input: ['GET', '/apis/group/version/resource?fieldSelector=metadata.name=name1,foo&watch=false'],
    want: {
      verb: 'list',
      name: '',
      fieldSelector: 'metadata.name=name1,foo',
      labelSelector: '',
      listOptionsError: true,
    },
    refused: true,
  },
  {
    name: 'upstream: selectors on deletecollection are captured',
    input: ['DELETE', '/apis/group/version/resource?fieldSelector=foo=bar&labelSelector=baz=qux'],
    want: {
      verb: 'deletecollection',
      name: '',
      fieldSelector: 'foo=bar',
      labelSelector: 'baz=qux',
      listOptionsError: false,
    },
    refused: false,
  },
  {
    name: 'upstream: with repeated selector parameters the first values are parsed and captured',
    input: [
      'GET',
      '/apis/group/version/resource?fieldSelector=metadata.name=foo&fieldSelector=metadata.name=bar&labelSelector=foo=bar&labelSelector=foo=baz',
    ],
    want: {
      verb: 'list',
      name: 'foo',
      fieldSelector: 'metadata.name=foo',
      labelSelector: 'foo=bar',
      listOptionsError: false,
    },
    refused: true,
  },
  {
    name: 'upstream: selectors on a get of one object are ignored',
    input: ['GET', '/apis/group/version/resource/name?fieldSelector=foo=bar&labelSelector=foo=bar'],
    want: { verb: 'get', name: 'name', fieldSelector: '', labelSelector: '', listOptionsError: false },
    refused: false,
  },
  {
    name: 'upstream: selectors on the deprecated watch prefix of a collection are not captured',
    input: [
      'GET',
      '/apis/group/version/watch/resource?fieldSelector=metadata.name=foo&labelSelector=foo=bar',
    ],
    want: { verb: 'watch', name: '', fieldSelector: '', labelSelector: '', listOptionsError: false },
    refused: false,
  },
  {
    name: 'upstream: selectors on the deprecated watch prefix of one object are not captured',
    input: [
      'GET',
      '/apis/group/version/watch/resource/name?fieldSelector=metadata.name=foo&labelSelector=foo=bar',
    ],
    want: { verb: 'watch', name: 'name', fieldSelector: '', labelSelector: '', listOptionsError: false },
    refused: false,
  },
];
