// Query options as the API server converts them: the value a policy's `query` condition compares.
//
// Place in the pipeline: read by decide (policy/evaluate.ts, RequestView.queryValue) for every
// `query` condition of a rule.
// Input: the parsed request, its body (DELETE options), a parameter name. Output: absent, the
// canonical value the API server acts on, or unknown (the API server refuses the value, or
// kubegate cannot know it), which a deny or approve rule treats as matching (fail closed).
// Must never: compare the raw text of a typed option. `force=1`, `force=True` and `force=` are all
// force=true to the API server, so a rule on `force: true` that compared text was bypassed.
//
// The API server decodes a request's query into the options struct of its handler with
// runtime.ParameterCodec, whose url.Values conversions are generated (Kubernetes v1.34.4):
//   - k8s.io/apimachinery/pkg/apis/meta/v1/zz_generated.conversion.go: CreateOptions,
//     UpdateOptions (dryRun, fieldManager, fieldValidation), PatchOptions (+ force), DeleteOptions
//     (gracePeriodSeconds, orphanDependents, propagationPolicy, dryRun,
//     ignoreStoreReadErrorWithClusterBreakingPotential), GetOptions (resourceVersion), ListOptions
//     (labelSelector, fieldSelector, watch, allowWatchBookmarks, resourceVersion,
//     resourceVersionMatch, timeoutSeconds, limit, continue, sendInitialEvents), TableOptions
//     (noHeaders, includeObject);
//   - k8s.io/kubernetes/pkg/apis/core/v1/zz_generated.conversion.go: PodExecOptions (stdin,
//     stdout, stderr, tty, container, command), PodAttachOptions (the same but command),
//     PodLogOptions (container, follow, previous, sinceSeconds, sinceTime, timestamps, tailLines,
//     limitBytes, insecureSkipTLSVerifyBackend, stream), PodPortForwardOptions (ports).
// Each typed field goes through k8s.io/apimachinery/pkg/runtime/conversion.go, on the FIRST value:
//   - bool (Convert_Slice_string_To_bool, _Pointer_bool): false only for "0" or a case-insensitive
//     "false"; anything else, the empty string included, is true. Canonical: "true" / "false".
//   - int64 (Convert_Slice_string_To_int64, _Pointer_int64): strconv.ParseInt(s, 10, 64), so
//     `+5`, `007` and `-0` are 5, 7 and 0; anything else is a 400. Canonical: the decimal.
//     kubegate makes a condition on a value the API server refuses unknown (the request will fail
//     anyway, so failing closed costs nothing) rather than refuse the request itself.
//   - metav1.Time (sinceTime): time.Parse(RFC3339); kubegate knows kubectl's form (UTC, seconds:
//     2024-01-02T03:04:05Z) and takes any other spelling as unknown.
//   - ports ([]int32, every value split on commas): only the kubelet's WebSocket port-forward
//     protocol reads them; SPDY carries the ports inside the stream, where kubegate cannot see
//     them, so a condition on `ports` of a port-forward is always unknown.
// A DELETE with a body takes its DeleteOptions from the body only, the query from an empty body
// (apiserver handlers/delete.go); withBody (body.ts) has already read them that way.
// Other parameters (strings, and any parameter the handler does not decode) compare their first
// value as sent; `command` is exec's argv joined with spaces and `argv0` its first word.

import type { DeleteOptions, KubeRequest, KubeRequestBody } from './types.js';
import { queryBool } from './list-options.js';
import { isGoInt64 } from './selectors.js';

export type OptionReading =
  | { readonly kind: 'absent' }
  | { readonly kind: 'value'; readonly value: string }
  | { readonly kind: 'unknown'; readonly reason: string };

type OptionType = 'bool' | 'int64' | 'time' | 'ports';
type OptionTable = Readonly<Record<string, OptionType>>;

const LIST: OptionTable = {
  watch: 'bool',
  allowWatchBookmarks: 'bool',
  sendInitialEvents: 'bool',
  timeoutSeconds: 'int64',
  limit: 'int64',
};
const TABLE: OptionTable = { noHeaders: 'bool' };
const DELETE: OptionTable = {
  gracePeriodSeconds: 'int64',
  orphanDependents: 'bool',
  ignoreStoreReadErrorWithClusterBreakingPotential: 'bool',
};
const PATCH: OptionTable = { force: 'bool' };
const ATTACH: OptionTable = { stdin: 'bool', stdout: 'bool', stderr: 'bool', tty: 'bool' };
const LOG: OptionTable = {
  follow: 'bool',
  previous: 'bool',
  timestamps: 'bool',
  insecureSkipTLSVerifyBackend: 'bool',
  sinceSeconds: 'int64',
  tailLines: 'int64',
  limitBytes: 'int64',
  sinceTime: 'time',
};
const PORT_FORWARD: OptionTable = { ports: 'ports' };
const NONE: OptionTable = {};
// Built once: a table per call would cost an allocation on every list, the commonest request.
const LIST_WITH_TABLE: OptionTable = { ...LIST, ...TABLE };
const DELETE_COLLECTION: OptionTable = { ...LIST, ...DELETE };

/** The typed fields of the options struct the API server decodes this request's query into. */
function optionTable(request: KubeRequest): OptionTable {
  if (!request.isResourceRequest) return NONE;
  if (request.resource === 'pods') {
    switch (request.subresource) {
      case 'exec':
      case 'attach':
        return ATTACH;
      case 'portforward':
        return PORT_FORWARD;
      case 'log':
        return LOG;
      default:
        break;
    }
  }
  if (request.subresource === 'proxy' || request.verb === 'proxy') return NONE; // the query is the target's
  switch (request.verb) {
    case 'patch':
      return PATCH;
    case 'delete':
      return DELETE;
    case 'deletecollection':
      return DELETE_COLLECTION;
    case 'list':
    case 'watch':
      return LIST_WITH_TABLE;
    case 'get':
      return TABLE;
    default:
      return NONE;
  }
}

const DELETE_OPTIONS = new Set([
  'dryRun',
  'gracePeriodSeconds',
  'propagationPolicy',
  'orphanDependents',
  'ignoreStoreReadErrorWithClusterBreakingPotential',
]);

const absent: OptionReading = { kind: 'absent' };
const value = (v: string): OptionReading => ({ kind: 'value', value: v });

/** DeleteOptions as the API server applies them (withBody read them from the body, or else the query). */
function deleteOption(options: DeleteOptions, fromBody: boolean, param: string): OptionReading | null {
  switch (param) {
    case 'dryRun':
      return options.dryRun[0] === undefined ? absent : value(options.dryRun[0]);
    case 'gracePeriodSeconds':
      return options.gracePeriodSeconds === null ? absent : value(String(options.gracePeriodSeconds));
    case 'propagationPolicy':
      return options.propagationPolicy === null ? absent : value(options.propagationPolicy);
    case 'orphanDependents':
      return options.orphanDependents === null ? absent : value(String(options.orphanDependents));
    default:
      // Not among the options withBody reads from a body; from the query it is an ordinary bool.
      return fromBody
        ? { kind: 'unknown', reason: `kubegate does not read ${param} from a DELETE body` }
        : null;
  }
}

const RFC3339_UTC_SECONDS = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})Z$/u;

/** A kubectl-style sinceTime (UTC, whole seconds) that is a real instant, as written; else null. */
function canonicalTime(s: string): string | null {
  const m = RFC3339_UTC_SECONDS.exec(s);
  if (m === null) return null;
  const date = new Date(s);
  return !Number.isNaN(date.getTime()) && date.toISOString().replace('.000Z', 'Z') === s ? s : null;
}

/** One typed option's first value, as the API server converts it. */
export function convertOption(type: OptionType, param: string, values: readonly string[]): OptionReading {
  // Whether or not the query names ports, the stream may carry others.
  if (type === 'ports')
    return { kind: 'unknown', reason: 'the ports of a port-forward travel inside its stream' };
  const first = values[0];
  if (first === undefined) return absent;
  switch (type) {
    case 'bool':
      return value(queryBool(values) ? 'true' : 'false');
    case 'int64':
      return isGoInt64(first)
        ? value(BigInt(first).toString())
        : {
            kind: 'unknown',
            reason: `${param}=${JSON.stringify(first)} is not an integer the API server accepts`,
          };
    case 'time': {
      const t = canonicalTime(first);
      return t !== null
        ? value(t)
        : { kind: 'unknown', reason: `${param} is not written as kubectl writes it (2006-01-02T15:04:05Z)` };
    }
    default: {
      const never: never = type;
      return never;
    }
  }
}

/** The value a `query` condition on `param` compares, as the API server will read it. */
export function readQueryOption(
  request: KubeRequest,
  body: KubeRequestBody | null,
  param: string,
): OptionReading {
  const options = body?.deleteOptions ?? null;
  if (options !== null && DELETE_OPTIONS.has(param)) {
    const read = deleteOption(options, (body?.size ?? 0) > 0, param);
    if (read !== null) return read;
  }
  const values = request.query[param];
  if (param === 'command') {
    return values === undefined || values.length === 0 ? absent : value(values.join(' '));
  }
  if (param === 'argv0') {
    const argv0 = request.query['command']?.[0];
    return argv0 === undefined ? absent : value(argv0);
  }
  const type = optionTable(request)[param];
  if (type === 'ports') return convertOption(type, param, values ?? []);
  if (values === undefined || values.length === 0) return absent;
  return type === undefined ? value(values[0] as string) : convertOption(type, param, values);
}

const TYPED_PARAMS: ReadonlyMap<string, OptionType> = new Map(
  [LIST, TABLE, DELETE, PATCH, ATTACH, LOG].flatMap((table) => Object.entries(table)),
);
const CANONICAL_INT = /^-?(?:0|[1-9][0-9]*)$/u;

/**
 * Why a policy's value for `param` could never match what the API server converts it to, or
 * null. Booleans compare as true/false and integers as plain decimals, so `force: "1"` or
 * `gracePeriodSeconds: "+0"` in a policy would silently match nothing.
 */
export function policyValueProblem(param: string, v: string | number | boolean): string | null {
  switch (TYPED_PARAMS.get(param)) {
    case 'bool':
      return v === true || v === false || v === 'true' || v === 'false'
        ? null
        : `${param} is a boolean option that kubegate compares as the API server reads it: write true or false (the API server reads "1", "True" and an empty value as true)`;
    case 'int64': {
      const text = String(v);
      if (typeof v === 'string' && (text.startsWith('re:') || /[*?]/u.test(text))) return null; // a pattern over the decimal
      return typeof v !== 'boolean' && CANONICAL_INT.test(text)
        ? null
        : `${param} is an integer option that kubegate compares as a plain decimal: write it like 0 or 30, without sign, leading zeros or fraction`;
    }
    default:
      return null;
  }
}
