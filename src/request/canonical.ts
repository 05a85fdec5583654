// Canonical-form checks: the refusal rules of k8s-api-semantics §1.7 and DESIGN.md ("KubeRequest").
//
// Place in the pipeline: parse runs these on the raw request line before and right after it maps
// the request, so every later stage sees only targets that Go's net/url, the API server and
// ordinary proxies all read the same way.
// Input: the raw method and request target (as Node received them), the Go query, the RequestInfo.
// Output: nothing, or the decoded path segments; a refusal is a KubegateError
// (KG_REQUEST_NONCANONICAL, or KG_REQUEST_METHOD for the method) whose message names the rule.
// Must never: repair a target (no decoding twice, no dot-segment resolution, no slash merging):
// what is parsed is exactly what is forwarded, so anything ambiguous is refused instead. kubectl
// never sends any of these forms, so refusing them costs users nothing.

import { KubegateError } from '../errors.js';
import { hexValue, isHex } from './go-query.js';
import type { GoQuery } from './go-query.js';
import type { RequestInfo } from './request-info.js';
import type { HttpMethod } from './types.js';
import { SelectorError, parseFieldSelector, parseLabelSelector } from './selectors.js';

/** The raw target split at the first '?', with the path's segments decoded as Go's splitPath yields them. */
export interface CanonicalTarget {
  /** The path exactly as received (still percent-encoded). */
  readonly path: string;
  /** The query exactly as received, without the '?' ('' when none). */
  readonly rawQuery: string;
  /** Decoded path segments; no leading or trailing empty segment. */
  readonly segments: readonly string[];
  /** The path is an /api or /apis path ending in '/'; allowed only after a proxy subresource. */
  readonly apiTrailingSlash: boolean;
}

/**
 * Go ≥1.24.12/1.25.6 makes url.ParseQuery fail above urlmaxqueryparams (10,000 by default), and the
 * API server ignores that error; kubegate refuses long before any such limit can be reached.
 */
export const MAX_QUERY_PARAMETERS = 1000;

/** Query keys whose repetition would let a policy and the API server read different first values. */
const SINGLE_VALUED_KEYS = ['watch', 'labelSelector', 'fieldSelector', 'dryRun'] as const;

const MAX_ECHO = 200;

/** Quote untrusted input for a message: at most MAX_ECHO characters, non-printable ASCII escaped. */
function quote(s: string): string {
  const cut = s.length > MAX_ECHO ? s.slice(0, MAX_ECHO) : s;
  let out = '"';
  for (let i = 0; i < cut.length; i++) {
    const c = cut.charCodeAt(i);
    if (c === 0x22 || c === 0x5c) out += '\\' + cut[i];
    else if (c < 0x20 || c === 0x7f) out += '\\x' + c.toString(16).padStart(2, '0');
    else if (c > 0x7e) out += '\\u' + c.toString(16).padStart(4, '0');
    else out += cut[i];
  }
  return out + (s.length > MAX_ECHO ? '…"' : '"');
}

const ADVICE = 'kubectl never sends such requests; check the URL your client builds.';

function refuse(subject: string, input: string, reason: string): never {
  throw new KubegateError(
    'KG_REQUEST_NONCANONICAL',
    `kubegate refused the request ${subject} ${quote(input)}: ${reason}. ${ADVICE}`,
  );
}

/** HTTP methods kubegate forwards. OPTIONS is admitted here and limited to proxy subresources later. */
export function checkMethod(method: string): HttpMethod {
  switch (method) {
    case 'GET':
    case 'HEAD':
    case 'POST':
    case 'PUT':
    case 'PATCH':
    case 'DELETE':
    case 'OPTIONS':
      return method;
    default:
      return refuseMethod(method);
  }
}

function refuseMethod(method: string): never {
  throw new KubegateError(
    'KG_REQUEST_METHOD',
    `kubegate refused the HTTP method ${quote(method)}: only GET, HEAD, POST, PUT, PATCH and DELETE are forwarded (OPTIONS only to a proxy subresource). kubectl never sends other methods.`,
  );
}

/**
 * Checks the raw request target in one pass and decodes its path segments. Refuses, anywhere:
 * non-origin-form targets, control characters and spaces, non-ASCII characters, '\', '#',
 * invalid '%' escapes and escapes that do not decode to UTF-8. In the path only: `%2F`, `%25`,
 * `%00`–`%1F`, `%7F`, empty, "." and ".." segments (also when escaped); a trailing '/' on /api
 * and /apis paths is flagged for checkRequestInfo. In the query: ';'. (The query may hold `%2F`,
 * `%25` and escaped control characters: `kubectl exec -- ls /tmp` sends `command=%2Ftmp`.)
 */
export function checkTarget(target: string): CanonicalTarget {
  if (target.length === 0 || target.charCodeAt(0) !== 0x2f) {
    refuse(
      'target',
      target,
      'it is not a path starting with "/" (absolute-form, authority-form and "*" targets are not accepted)',
    );
  }
  const length = target.length;
  let queryStart = -1;
  let segmentStart = 1;
  let segmentEscaped = false;
  let pathNeedsUtf8Check = false;
  let queryNeedsUtf8Check = false;
  // Raw (still encoded) segments, and whether each holds an escape.
  const rawSegments: string[] = [];
  const escaped: boolean[] = [];

  // Index 0 is the leading '/', checked above.
  for (let i = 1; i < length; i++) {
    const c = target.charCodeAt(i);
    if (c <= 0x20 || c === 0x7f) refuse('target', target, 'it contains a raw control character or space');
    if (c > 0x7e)
      refuse('target', target, 'it contains a raw non-ASCII character; send it percent-encoded as UTF-8');
    if (c === 0x5c) refuse('target', target, 'it contains a backslash, which many URL parsers read as "/"');
    if (c === 0x23) {
      refuse(
        'target',
        target,
        'it contains "#", which URL parsers read as a fragment but the API server reads as data',
      );
    }
    if (c === 0x25) {
      if (i + 2 >= length || !isHex(target.charCodeAt(i + 1)) || !isHex(target.charCodeAt(i + 2))) {
        refuse(
          'target',
          target,
          'it contains an invalid percent escape, which the API server rejects or drops',
        );
      }
      const byte = hexValue(target.charCodeAt(i + 1)) * 16 + hexValue(target.charCodeAt(i + 2));
      if (queryStart === -1) {
        if (byte === 0x2f) {
          refuse(
            'target',
            target,
            'it contains an encoded slash ("%2F"), which the API server decodes into a path separator',
          );
        }
        if (byte === 0x25) {
          refuse(
            'target',
            target,
            'it contains an encoded percent sign ("%25"), which invites decoding twice',
          );
        }
        if (byte < 0x20 || byte === 0x7f)
          refuse('target', target, 'it contains an encoded control character');
        if (byte >= 0x80) pathNeedsUtf8Check = true;
        segmentEscaped = true;
      } else if (byte >= 0x80) {
        queryNeedsUtf8Check = true;
      }
      i += 2;
      continue;
    }
    if (queryStart === -1) {
      if (c === 0x2f || c === 0x3f) {
        rawSegments.push(target.slice(segmentStart, i));
        escaped.push(segmentEscaped);
        segmentStart = i + 1;
        segmentEscaped = false;
        if (c === 0x3f) queryStart = i;
      }
    } else if (c === 0x3b) {
      refuse(
        'query',
        target.slice(queryStart + 1),
        'it contains ";", which makes the API server drop the whole parameter',
      );
    }
  }
  if (queryStart === -1) {
    rawSegments.push(target.slice(segmentStart));
    escaped.push(segmentEscaped);
  }
  const path = queryStart === -1 ? target : target.slice(0, queryStart);
  const rawQuery = queryStart === -1 ? '' : target.slice(queryStart + 1);

  if (pathNeedsUtf8Check && !decodesAsUtf8(path)) {
    refuse('path', path, 'its percent escapes do not decode to valid UTF-8');
  }
  if (queryNeedsUtf8Check && !decodesAsUtf8(rawQuery)) {
    refuse('query', rawQuery, 'its percent escapes do not decode to valid UTF-8');
  }

  if (path.length > 1 && path.charCodeAt(1) === 0x2f) {
    refuse(
      'path',
      path,
      'it starts with "//", which proxies read as a host name and the API server as a path',
    );
  }

  const segments: string[] = [];
  let apiTrailingSlash = false;
  const last = rawSegments.length - 1;
  for (let s = 0; s <= last; s++) {
    const raw = rawSegments[s] as string;
    if (raw === '') {
      if (s < last) {
        refuse(
          'path',
          path,
          'it contains an empty path segment ("//"), which the API server reads differently from most proxies',
        );
      }
      // A trailing '/': harmless on "/" and on non-API paths such as "/logs/"; on /api and /apis
      // paths checkRequestInfo decides, once it knows whether a proxy subresource precedes it.
      apiTrailingSlash = last > 0 && (segments[0] === 'api' || segments[0] === 'apis');
      continue;
    }
    // decodeURIComponent is exact here: every escape is valid, none is '/', and UTF-8 was checked.
    const segment = escaped[s] === true ? decodeURIComponent(raw) : raw;
    if (segment === '.' || segment === '..') {
      refuse(
        'path',
        path,
        'it contains a "." or ".." path segment, which proxies resolve but the API server keeps',
      );
    }
    segments.push(segment);
  }
  return { path, rawQuery, segments, apiTrailingSlash };
}

function decodesAsUtf8(s: string): boolean {
  try {
    // Escapes were validated; decodeURIComponent throws only on invalid UTF-8. A valid multi-byte
    // sequence never spans '&', '=', '/' or '+', so the whole string decodes iff every piece does.
    decodeURIComponent(s);
    return true;
  } catch {
    return false;
  }
}

/** Refuses a query with too many parameters or a repeated policy-relevant key (after Go decoding). */
export function checkQuery(rawQuery: string, query: GoQuery): void {
  if (rawQuery === '') return;
  let pairs = 1;
  for (let i = rawQuery.indexOf('&'); i !== -1; i = rawQuery.indexOf('&', i + 1)) pairs++;
  if (pairs > MAX_QUERY_PARAMETERS) {
    refuse('query', rawQuery, `it has more than ${MAX_QUERY_PARAMETERS} parameters`);
  }
  for (const key of SINGLE_VALUED_KEYS) {
    const values = query[key];
    if (values !== undefined && values.length > 1) {
      refuse(
        'query',
        rawQuery,
        `the parameter "${key}" appears more than once, and the API server reads only the first`,
      );
    }
  }
}

/**
 * Refusals that need the mapped request: a watch/proxy path prefix with nothing after it; a
 * trailing '/' on an API path other than after a proxy subresource; a collection GET whose
 * ListOptions the API server could not decode (it would silently fall back to a plain list and
 * drop the metadata.name shortcut); an invalid or NUL-holding label or field selector on list,
 * watch or deletecollection; a deletecollection at a snapshot; OPTIONS anywhere but a proxy
 * subresource.
 */
export function checkRequestInfo(
  method: HttpMethod,
  info: RequestInfo,
  query: GoQuery,
  target: CanonicalTarget,
): void {
  if (info.error !== null) {
    refuse(
      'path',
      target.path,
      'it names the "watch" or "proxy" verb but no resource, which the API server cannot map',
    );
  }
  // The API server strips a trailing '/' before mapping, while proxies and path-matching policies
  // keep it. Only after a proxy subresource is it meaningful (`…/services/s/proxy/` reaches the
  // backend's root, as `kubectl proxy` forwards dashboard URLs), and there it cannot change the
  // resource, name or subresource.
  if (target.apiTrailingSlash && !(info.isResourceRequest && info.subresource === 'proxy')) {
    refuse(
      'path',
      target.path,
      'it ends with "/", which the API server ignores on API paths but most proxies keep',
    );
  }
  if (info.listOptionsError !== null) {
    refuse(
      'query',
      target.rawQuery,
      `${info.listOptionsError}, so the API server would ignore its list options and read it as a plain list`,
    );
  }
  if (info.verb === 'list' || info.verb === 'watch' || info.verb === 'deletecollection') {
    const labelSelector = query['labelSelector']?.[0] ?? '';
    const fieldSelector = query['fieldSelector']?.[0] ?? '';
    if (labelSelector.indexOf('\0') !== -1 || fieldSelector.indexOf('\0') !== -1) {
      refuse(
        'query',
        target.rawQuery,
        'its selector contains a NUL character, which ends a label selector early',
      );
    }
    // A collection GET already had both parsed by decodeListOptions.
    if (!info.listOptionsDecoded) {
      try {
        parseLabelSelector(labelSelector);
      } catch (err) {
        if (!(err instanceof SelectorError)) throw err;
        refuse('query', target.rawQuery, `the labelSelector is invalid: ${err.message}`);
      }
      try {
        parseFieldSelector(fieldSelector);
      } catch (err) {
        if (!(err instanceof SelectorError)) throw err;
        refuse('query', target.rawQuery, `the fieldSelector is invalid: ${err.message}`);
      }
    }
  }
  if (info.verb === 'deletecollection') {
    // The API server lists the objects to delete with the request's own ListOptions, at the
    // snapshot these name, then deletes each by name as it is now; the policy judges the objects
    // as they are now. An object relabelled since that snapshot would be deleted unjudged.
    const snapshot = SNAPSHOT_KEYS.find((key) => query[key] !== undefined);
    if (snapshot !== undefined) {
      refuse(
        'query',
        target.rawQuery,
        `a delete of a whole collection names "${snapshot}": the API server would pick the objects to delete from an older state than the one kubegate checks. Leave it out`,
      );
    }
  }
  if (method === 'OPTIONS' && !(info.isResourceRequest && info.subresource === 'proxy')) refuseMethod(method);
}

/** ListOptions that make a list read an older state (or continue an earlier one). */
const SNAPSHOT_KEYS = ['resourceVersion', 'resourceVersionMatch', 'continue'] as const;
