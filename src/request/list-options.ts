// apimachinery's reading of option query parameters: the url.Values → metav1.ListOptions →
// internal ListOptions conversion that requestinfo.go runs on every collection GET, and the
// string-to-bool rule shared by `watch`, `orphanDependents` and friends.
//
// Place in the pipeline: used by request-info (list vs watch, metadata.name shortcut) and by
// body (DeleteOptions from the query).
// Input: a GoQuery. Output: the decoded options, or the reason upstream's decoding fails.
// Must never: guess. Where upstream's decode fails, report the failure; the caller refuses.

import type { FieldRequirement, LabelRequirement } from './selectors.js';
import { SelectorError, isGoInt64, parseFieldSelector, parseLabelSelector } from './selectors.js';

type Query = Readonly<Record<string, readonly string[]>>;

/** strings.EqualFold(s, "false"): ASCII case folding plus U+017F (ſ), which folds to 's'. */
function equalFoldFalse(s: string): boolean {
  if (s.length !== 5) return false;
  const f = s.charCodeAt(0) | 0x20;
  const a = s.charCodeAt(1) | 0x20;
  const l = s.charCodeAt(2) | 0x20;
  const c3 = s.charCodeAt(3);
  const e = s.charCodeAt(4) | 0x20;
  return f === 0x66 && a === 0x61 && l === 0x6c && ((c3 | 0x20) === 0x73 || c3 === 0x17f) && e === 0x65;
}

/**
 * runtime.Convert_Slice_string_To_bool (and _Pointer_bool): only "0" or a case-insensitive "false"
 * (first value) is false; anything else, the empty string included, is true.
 */
export function queryBool(values: readonly string[]): boolean {
  const first = values[0];
  if (first === undefined) return false;
  return !(first === '0' || equalFoldFalse(first));
}

/**
 * requestinfo.go's fallback when ListOptions fail to decode: strings.ToLower(first) is "false"
 * or "0". Go's ToLower maps only ASCII letters onto "false", so ſ does not count here.
 */
export function queryBoolFallback(values: readonly string[]): boolean {
  const first = values[0];
  if (first === undefined) return false;
  return !(first === '0' || first.toLowerCase() === 'false');
}

export interface DecodedListOptions {
  /** Why upstream's DecodeParameters would fail, or null when it succeeds. */
  readonly error: string | null;
  /** ListOptions.Watch (meaningful only when error is null). */
  readonly watch: boolean;
  readonly labelRequirements: readonly LabelRequirement[];
  readonly fieldRequirements: readonly FieldRequirement[];
}

function fail(error: string): DecodedListOptions {
  return { error, watch: false, labelRequirements: [], fieldRequirements: [] };
}

/**
 * ParameterCodec.DecodeParameters(query, v1, &internal.ListOptions). The conversions that can
 * fail are, in upstream's order: timeoutSeconds and limit (strconv.ParseInt of the first value,
 * the empty string included), then fieldSelector and labelSelector (parsed from the first value).
 */
export function decodeListOptions(query: Query): DecodedListOptions {
  for (const key of ['timeoutSeconds', 'limit'] as const) {
    const first = query[key]?.[0];
    if (first !== undefined && !isGoInt64(first)) return fail(`the "${key}" parameter is not an integer`);
  }
  let fieldRequirements: readonly FieldRequirement[];
  let labelRequirements: readonly LabelRequirement[];
  try {
    fieldRequirements = parseFieldSelector(query['fieldSelector']?.[0] ?? '');
  } catch (err) {
    if (err instanceof SelectorError) return fail(`the fieldSelector is invalid: ${err.message}`);
    throw err;
  }
  try {
    labelRequirements = parseLabelSelector(query['labelSelector']?.[0] ?? '');
  } catch (err) {
    if (err instanceof SelectorError) return fail(`the labelSelector is invalid: ${err.message}`);
    throw err;
  }
  const watch = query['watch'];
  return {
    error: null,
    watch: watch === undefined ? false : queryBool(watch),
    labelRequirements,
    fieldRequirements,
  };
}
