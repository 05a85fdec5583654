// The API server's RequestInfo, ported by behaviour from k8s.io/apiserver
// pkg/endpoints/request/requestinfo.go (1.31+: ListOptions decoding, the metadata.name
// field-selector shortcut, and KEP-4601 selector capture with AuthorizeWithSelectors on).
//
// Place in the pipeline: the core of parse; nothing else in kubegate maps a path to a resource.
// Input: the HTTP method, the decoded path split as Go's splitPath does, and the Go query.
// Output: the same fields the API server authorizes, plus what its ListOptions decoding reported.
// Must never: refuse or normalise anything (canonical.ts and parse.ts do that); it must say what
// the API server would say, even for inputs kubegate later refuses.

import type { GoQuery } from './go-query.js';
import { decodeListOptions, queryBoolFallback } from './list-options.js';
import { fieldSelectorExactName } from './selectors.js';

export interface RequestInfo {
  readonly isResourceRequest: boolean;
  readonly verb: string;
  readonly apiPrefix: string;
  readonly apiGroup: string;
  readonly apiVersion: string;
  readonly namespace: string;
  readonly resource: string;
  readonly subresource: string;
  readonly name: string;
  readonly parts: readonly string[];
  /** Raw first fieldSelector/labelSelector, captured only for list/watch/deletecollection not set by a path prefix. */
  readonly fieldSelector: string;
  readonly labelSelector: string;
  /** The verb came from a `/watch/` or `/proxy/` path segment. */
  readonly verbViaPathPrefix: boolean;
  /** A collection GET, whose query the API server decoded as ListOptions. */
  readonly listOptionsDecoded: boolean;
  /** Why that decoding failed (the API server then falls back and drops the name shortcut), else null. */
  readonly listOptionsError: string | null;
  /** NewRequestInfo's error ("unable to determine kind and namespace"), else null. */
  readonly error: string | null;
}

/** Go's splitPath: trim every leading and trailing '/', then split on '/'; interior empties stay. */
export function splitPath(path: string): string[] {
  let start = 0;
  let end = path.length;
  while (start < end && path.charCodeAt(start) === 0x2f) start++;
  while (end > start && path.charCodeAt(end - 1) === 0x2f) end--;
  return start === end ? [] : path.slice(start, end).split('/');
}

/** path.IsValidPathSegmentName: not "." or "..", no '/' or '%'. The empty string is valid. */
export function isValidPathSegmentName(name: string): boolean {
  return name !== '.' && name !== '..' && name.indexOf('/') === -1 && name.indexOf('%') === -1;
}

function verbForMethod(method: string): string {
  // Go compares req.Method case-sensitively.
  switch (method) {
    case 'POST':
      return 'create';
    case 'GET':
    case 'HEAD':
      return 'get';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return 'delete';
    default:
      return '';
  }
}

const EMPTY: readonly string[] = [];

/** NewRequestInfo with APIPrefixes {api, apis} and GrouplessAPIPrefixes {api}, as kube-apiserver sets them. */
export function resolveRequestInfo(method: string, segments: readonly string[], query: GoQuery): RequestInfo {
  const nonResource: RequestInfo = {
    isResourceRequest: false,
    verb: method.toLowerCase(),
    apiPrefix: '',
    apiGroup: '',
    apiVersion: '',
    namespace: '',
    resource: '',
    subresource: '',
    name: '',
    parts: EMPTY,
    fieldSelector: '',
    labelSelector: '',
    verbViaPathPrefix: false,
    listOptionsDecoded: false,
    listOptionsError: null,
    error: null,
  };
  if (segments.length < 3) return nonResource;
  const apiPrefix = segments[0] as string;
  if (apiPrefix !== 'api' && apiPrefix !== 'apis') return nonResource;
  let i = 1;
  let apiGroup = '';
  if (apiPrefix === 'apis') {
    if (segments.length < 4) return nonResource;
    apiGroup = segments[1] as string;
    i = 2;
  }
  const apiVersion = segments[i] as string;
  i++;
  // From here on at least one segment remains: 3 for api, 4 for apis.

  let verb: string;
  let verbViaPathPrefix = false;
  const first = segments[i] as string;
  if (first === 'watch' || first === 'proxy') {
    if (segments.length - i < 2) {
      return {
        ...nonResource,
        isResourceRequest: true,
        apiPrefix,
        apiGroup,
        apiVersion,
        error: 'unable to determine kind and namespace from url',
      };
    }
    verb = first;
    verbViaPathPrefix = true;
    i++;
  } else {
    verb = verbForMethod(method);
  }

  let namespace = '';
  if (segments[i] === 'namespaces') {
    if (segments.length - i > 1) {
      namespace = segments[i + 1] as string;
      const sub = segments[i + 2];
      // `namespaces/N/status` and `namespaces/N/finalize` are subresources of the namespace.
      if (sub !== undefined && sub !== 'status' && sub !== 'finalize') i += 2;
    }
  }
  const parts = segments.slice(i);

  let resource = '';
  let name = '';
  let subresource = '';
  if (parts.length >= 3 && verb !== 'proxy') subresource = parts[2] as string;
  if (parts.length >= 2) name = parts[1] as string;
  if (parts.length >= 1) resource = parts[0] as string;

  let listOptionsDecoded = false;
  let listOptionsError: string | null = null;
  if (name === '' && verb === 'get') {
    listOptionsDecoded = true;
    const opts = decodeListOptions(query);
    if (opts.error !== null) {
      listOptionsError = opts.error;
      const watch = query['watch'];
      verb = watch !== undefined && queryBoolFallback(watch) ? 'watch' : 'list';
    } else {
      verb = opts.watch ? 'watch' : 'list';
      const exact = fieldSelectorExactName(opts.fieldRequirements);
      if (exact !== null && isValidPathSegmentName(exact)) name = exact;
    }
  }
  if (name === '' && verb === 'delete') verb = 'deletecollection';

  let fieldSelector = '';
  let labelSelector = '';
  if (!verbViaPathPrefix && (verb === 'list' || verb === 'watch' || verb === 'deletecollection')) {
    fieldSelector = query['fieldSelector']?.[0] ?? '';
    labelSelector = query['labelSelector']?.[0] ?? '';
  }

  return {
    isResourceRequest: true,
    verb,
    apiPrefix,
    apiGroup,
    apiVersion,
    namespace,
    resource,
    subresource,
    name,
    parts,
    fieldSelector,
    labelSelector,
    verbViaPathPrefix,
    listOptionsDecoded,
    listOptionsError,
    error: null,
  };
}
