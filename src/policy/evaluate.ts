// The decide stage: CompiledPolicy + one parsed request → Decision. Pure: no I/O, no clock (the
// caller passes `now`), nothing kept between calls but a scratch array. Must never let an unknown make a request
// pass: when part of a rule cannot be checked (the live object could not be fetched, the
// request's selector does not parse, CEL fails), deny and approve rules are taken as matching
// and allow rules as not matching, so the outcome is the strictest one the rule could have had.
//
// A create names and labels its object only in the body. When that body is present but could not
// be read (a content type kubegate cannot decode, or malformed bytes), `names` and
// `objectSelector` are unknown too: otherwise `kubectl create configmap prod-x` sent in a form
// kubegate cannot read would slip past a deny on `prod-*`. (Protobuf bodies are read for their
// metadata: request/protobuf-meta.ts.)
//
// Semantics (DESIGN.md "Policy"): a rule matches when every field of `match` matches and its
// `exclude` (if any) does not; the strictest matching rule wins, deny > approve > allow; every
// matching approve rule's requirement applies; no matching rule → the policy's defaults.
// Equivalences applied here:
//   - exec, attach and portforward are one action whatever the transport: a WebSocket GET is
//     read as `create`, like the SPDY POST (the parser already reports create; this is a guard);
//   - rules listing `list` also match `watch` and vice versa (compile.ts);
//   - the legacy `/proxy/` verb on a resource counts as its `proxy` subresource, so `nodes/proxy`
//     rules (and `@exec-capable`) also catch `/api/v1/proxy/nodes/...`.

import type { Identity } from '../identity/types.js';
import type { KubeRequest, KubeRequestBody } from '../request/types.js';
import {
  SelectorError,
  fieldSelectorExact,
  parseFieldSelector,
  parseLabelSelector,
} from '../request/selectors.js';
import { bodyObjectName } from '../request/body.js';
import { readQueryOption } from '../request/query-options.js';
import type { OptionReading } from '../request/query-options.js';
import { builtinNamespaced } from '../request/scope.js';
import { CONNECT_SUBRESOURCES, isProxy, targetName } from '../request/target.js';
import type { CelVariables } from './cel.js';
import { ANY, requirementKey, requirementSignature } from './compile.js';
import type {
  Bucket,
  CompiledMatch,
  CompiledPolicy,
  CompiledRule,
  ResourceMatcher,
  SelectorCondition,
  SelectorKind,
} from './compile.js';
import type { ApprovalRequirement, Decision, MatchedRule, RuleAction } from './decision.js';
import { matchGeneratedName, matchesEveryValue } from './pattern.js';
import type { PatternSet } from './pattern.js';

/** The live target object as the gateway found it; 'unavailable' when the lookup failed. */
export type TargetObject = Readonly<Record<string, unknown>> | null | 'unavailable';

export interface EvaluationInput {
  readonly request: KubeRequest;
  /** null when the request has no body (or it was not read). */
  readonly body: KubeRequestBody | null;
  readonly identity: Pick<Identity, 'user' | 'groups'>;
  /**
   * The live object the request acts on (the pod for exec/attach/portforward/log, the object for
   * get/update/patch/delete), fetched when needsObject() says so. null means it does not exist,
   * or needsObject() said no rule needs it; never pass null for a lookup that failed: that is
   * 'unavailable', and it fails closed. On a create the body's labels are used instead.
   */
  readonly object: TargetObject;
  readonly now: Date;
  /**
   * For a list, watch or deletecollection with no namespace: whether the resource is namespaced
   * (discovery). Absent or null: not known, and a namespace condition is then unknown.
   */
  readonly namespaced?: boolean | null;
}

// Three-valued results: a field can match, not match, or be impossible to check.
const NO = 0;
const YES = 1;
const UNKNOWN = 2;
type Tri = typeof NO | typeof YES | typeof UNKNOWN;

type Requirements =
  { readonly signatures: ReadonlySet<string>; readonly keys: ReadonlySet<string> } | 'invalid';

/** What rules read from one request, computed once and lazily where it costs. */
class RequestView {
  readonly verb: string;
  readonly resource: string;
  readonly subresource: string;
  readonly resourceKey: string;
  /** Index keys of the subresource wildcards: star-slash-sub and resource-slash-star. */
  readonly anyResourceKey: string;
  readonly anySubresourceKey: string;
  /** The namespace the request acts in; for a list pinned by a metadata.namespace field selector, that one. */
  readonly namespace: string;
  /** Why the namespace cannot be known ('' when it can): a read across all namespaces. */
  readonly namespaceUnknown: string;
  /** The name of the object acted on (request/target.ts), or of the listed object a deletecollection is judged for. */
  readonly name: string;
  /** Why the name cannot be known ('' when it can): a collection, an unreadable body, a bad proxy id. */
  readonly nameUnknown: string;
  /** A create without a name: the generateName the API server will complete ('' otherwise). */
  readonly generateName: string;
  readonly apiGroup: string;
  readonly user: string;
  readonly groups: readonly string[];
  /** Set by a check that returned UNKNOWN: why, for MatchedRule.failedClosed. */
  unknownReason = '';
  #labelRequirements: Requirements | undefined;
  #fieldRequirements: Requirements | undefined;
  #targetLabels: Readonly<Record<string, string>> | string | undefined;
  #cel: CelVariables | undefined;

  constructor(
    readonly input: Omit<EvaluationInput, 'object' | 'now'> &
      Partial<Pick<EvaluationInput, 'object' | 'now'>>,
  ) {
    const r = input.request;
    this.resource = r.resource;
    this.subresource = r.subresource;
    // A guard: parse already reports create (any GET of a pod's connect subresource, HEAD too).
    this.verb =
      r.verb === 'get' && r.resource === 'pods' && CONNECT_SUBRESOURCES.has(r.subresource)
        ? 'create'
        : r.verb;
    this.resourceKey = r.subresource === '' ? r.resource : `${r.resource}/${r.subresource}`;
    this.anyResourceKey = r.subresource === '' ? '' : `*/${r.subresource}`;
    this.anySubresourceKey = r.subresource === '' ? '' : `${r.resource}/*`;
    this.apiGroup = r.apiGroup;
    const listed = this.verb === 'deletecollection' ? listedObject(input.object) : null;
    const namespace = namespaceOf(r, this.verb, listed, input.namespaced);
    this.namespace = namespace.value;
    this.namespaceUnknown = namespace.unknown;
    const name = nameOf(r, this.verb, input.body, listed, this.isCreateOfNewObject());
    this.name = name.value;
    this.nameUnknown = name.unknown;
    this.generateName = name.generateName;
    this.user = input.identity.user;
    this.groups = input.identity.groups;
  }

  /** Why `body` holds only part of what the API server will read ('' when it holds all of it, or there is none). */
  bodyKnownInPart(): string {
    const body = this.input.body;
    if (body === null || body.size === 0 || !BODY_VERBS.has(this.input.request.verb)) return '';
    if (body.objectSource === 'protobuf-metadata')
      return 'the body is protobuf, of which kubegate reads only the metadata';
    if (body.object === null)
      return 'the body is not an object kubegate can read (a JSON Patch, or a media type it does not decode)';
    return '';
  }

  isCreateOfNewObject(): boolean {
    return this.verb === 'create' && this.subresource === '' && this.input.request.isResourceRequest;
  }

  requirements(kind: SelectorKind): Requirements {
    if (kind === 'label') return (this.#labelRequirements ??= this.#parse('label'));
    return (this.#fieldRequirements ??= this.#parse('field'));
  }

  #parse(kind: SelectorKind): Requirements {
    const text = kind === 'label' ? this.input.request.labelSelector : this.input.request.fieldSelector;
    try {
      const parsed = kind === 'label' ? parseLabelSelector(text) : parseFieldSelector(text);
      return {
        signatures: new Set(parsed.map(requirementSignature)),
        keys: new Set(parsed.map(requirementKey)),
      };
    } catch (err) {
      // The API server answers 400 to a selector it cannot parse; the policy cannot tell what it
      // selects, so the condition is unknown (fail closed), never "absent".
      if (err instanceof SelectorError) return 'invalid';
      throw err;
    }
  }

  /** A query option as the API server converts it: canonical, absent, or unknown (query-options.ts). */
  queryValue(param: string): OptionReading {
    return readQueryOption(this.input.request, this.input.body, param);
  }

  /** Labels an objectSelector reads, or a reason why they cannot be known. */
  targetLabels(): Readonly<Record<string, string>> | string {
    return (this.#targetLabels ??= this.#resolveTargetLabels());
  }

  #resolveTargetLabels(): Readonly<Record<string, string>> | string {
    const bodyObject = this.input.body?.object ?? null;
    if (this.isCreateOfNewObject()) {
      return bodyObject === null ? UNREADABLE_BODY : labelsOf(bodyObject);
    }
    const object = this.input.object ?? null;
    if (object === 'unavailable') return 'the target object could not be fetched';
    if (object !== null) return labelsOf(object);
    if (this.nameUnknown !== '') return this.nameUnknown;
    if (this.name === '') return 'the request acts on a collection, not on one object';
    const r = this.input.request;
    if (CONNECT_SUBRESOURCES.has(r.subresource) || isProxy(r)) {
      // exec, attach, port-forward and proxies reach a running target: kubegate not finding it
      // means it looked elsewhere than the API server will, not that there are no labels.
      return 'the target was not found by kubegate';
    }
    // Not found: the request will fail upstream, unless it creates the object (server-side
    // apply, or an update of a kind the API server creates on update), in which case the body
    // carries its labels; a body that could not be read leaves them unknown.
    if (bodyObject !== null) return labelsOf(bodyObject);
    return bodyUnreadable(this.input.body) ? UNREADABLE_BODY : {};
  }

  celVariables(): CelVariables {
    return (this.#cel ??= this.#buildCel());
  }

  #buildCel(): CelVariables {
    const r = this.input.request;
    const object = this.input.object;
    return {
      request: {
        method: r.method,
        path: r.path,
        verb: this.verb,
        apiGroup: r.apiGroup,
        apiVersion: r.apiVersion,
        resource: r.resource,
        subresource: r.subresource,
        namespace: r.namespace,
        name: this.name,
        isResourceRequest: r.isResourceRequest,
        labelSelector: r.labelSelector,
        fieldSelector: r.fieldSelector,
        query: r.query,
        contentType: r.contentType,
        upgrade: r.upgrade ?? '',
        kubectlCommand: r.kubectlCommand,
        deleteOptions: this.input.body?.deleteOptions ?? null,
        // 'protobuf-metadata' when `body` holds only apiVersion, kind and part of metadata.
        objectSource: this.input.body?.objectSource ?? null,
      },
      object: object === 'unavailable' || object === undefined ? null : object,
      body: this.input.body?.object ?? null,
      user: { name: this.user, groups: this.groups },
      // Only needsObject() builds a view without `now`, and it never runs CEL.
      now: this.input.now ?? new Date(0),
    };
  }
}

const UNREADABLE_BODY = 'the request body could not be read as an object';

const COLLECTION_VERBS = new Set(['list', 'watch', 'deletecollection']);
const BODY_VERBS = new Set(['create', 'update', 'patch']);

/** A value the request determines, or why it cannot be known ('' when it can). */
interface Known {
  readonly value: string;
  readonly unknown: string;
}

/** The object a deletecollection is judged for, one listed object at a time (decide.ts). */
function listedObject(object: TargetObject | undefined): Readonly<Record<string, unknown>> | null {
  return object === undefined || object === null || object === 'unavailable' ? null : object;
}

function metadataString(object: Readonly<Record<string, unknown>> | null | undefined, field: string): string {
  const metadata = object?.metadata;
  if (typeof metadata !== 'object' || metadata === null) return '';
  const value = (metadata as Record<string, unknown>)[field];
  return typeof value === 'string' ? value : '';
}

/**
 * The namespace a rule's `namespaces` meets. A list, watch or deletecollection with no namespace
 * of a namespaced resource (`kubectl get secrets -A`) reads every namespace, `prod` included:
 * unknown, unless a metadata.namespace field selector pins it. Whether the resource is
 * namespaced comes from `namespaced` (discovery: decide.ts asks only when a rule could care and
 * the resource is not built in), else from the built-in table; not known is taken as namespaced.
 */
function namespaceOf(
  r: KubeRequest,
  verb: string,
  listed: Readonly<Record<string, unknown>> | null,
  namespaced: boolean | null | undefined,
): Known {
  if (r.namespace !== '' || !r.isResourceRequest || !COLLECTION_VERBS.has(verb))
    return { value: r.namespace, unknown: '' };
  if (listed !== null) return { value: metadataString(listed, 'namespace'), unknown: '' };
  const pinned = pinnedNamespace(r.fieldSelector);
  if (pinned !== null) return { value: pinned, unknown: '' };
  const scope = namespaced ?? builtinNamespaced(r.apiGroup, r.resource);
  if (scope === false) return { value: '', unknown: '' };
  return {
    value: '',
    unknown:
      scope === true
        ? 'the request reads across all namespaces'
        : 'the request may read across all namespaces (kubegate could not tell whether the resource is namespaced)',
  };
}

function pinnedNamespace(fieldSelector: string): string | null {
  if (fieldSelector === '') return null;
  try {
    return fieldSelectorExact(parseFieldSelector(fieldSelector), 'metadata.namespace');
  } catch (err) {
    if (err instanceof SelectorError) return null;
    throw err;
  }
}

/**
 * The name a rule's `names` meets: the object the API server's handler acts on
 * (request/target.ts: proxy ids are split); a create's body name (the API server refuses a body
 * name that differs from the URL's), or its generateName; for a deletecollection judged per
 * object, the listed object's. Unknown for a list, watch or deletecollection of a whole
 * collection (it may hold objects of any name), an unreadable create body, a proxy id the API
 * server would refuse.
 */
function nameOf(
  r: KubeRequest,
  verb: string,
  body: KubeRequestBody | null,
  listed: Readonly<Record<string, unknown>> | null,
  createsObject: boolean,
): Known & { readonly generateName: string } {
  const target = targetName(r);
  if (target === null) {
    return {
      value: '',
      unknown: `the proxy target ${JSON.stringify(r.name.slice(0, 100))} is not [scheme:]name[:port]`,
      generateName: '',
    };
  }
  if (target !== '') return { value: target, unknown: '', generateName: '' };
  if (createsObject) {
    if (bodyUnreadable(body)) {
      return {
        value: '',
        unknown: 'the request body could not be read, so the name of the object it creates is unknown',
        generateName: '',
      };
    }
    const name = bodyObjectName(body);
    return {
      value: name,
      unknown: '',
      generateName: name === '' ? metadataString(body?.object, 'generateName') : '',
    };
  }
  if (r.isResourceRequest && COLLECTION_VERBS.has(verb)) {
    if (listed !== null) return { value: metadataString(listed, 'name'), unknown: '', generateName: '' };
    return {
      value: '',
      unknown: 'the request acts on a whole collection, which may hold objects of any name',
      generateName: '',
    };
  }
  return { value: '', unknown: '', generateName: '' };
}

/** A body was sent but could not be read as an object: what it says about the object is unknown. */
function bodyUnreadable(body: KubeRequestBody | null): boolean {
  return body !== null && body.size > 0 && body.object === null;
}

function labelsOf(object: Readonly<Record<string, unknown>>): Readonly<Record<string, string>> {
  const metadata = object.metadata;
  if (typeof metadata !== 'object' || metadata === null) return {};
  const labels = (metadata as Record<string, unknown>).labels;
  if (typeof labels !== 'object' || labels === null) return {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels)) if (typeof v === 'string') out[k] = v;
  return out;
}

function matchResource(m: ResourceMatcher, view: RequestView): boolean {
  if (!view.input.request.isResourceRequest) return false;
  if (m.any || m.exact.has(view.resourceKey)) return true;
  if (view.subresource === '') {
    return view.verb === 'proxy' && m.exact.has(`${view.resource}/proxy`);
  }
  return m.anySub || m.anyResourceWithSub.has(view.subresource) || m.anySubOfResource.has(view.resource);
}

function matchSelector(c: SelectorCondition, kind: SelectorKind, view: RequestView): Tri {
  const reqs = view.requirements(kind);
  if (reqs === 'invalid') return unknown(view, `the request's ${kind} selector cannot be parsed`);
  if (c.present !== null && c.present !== reqs.signatures.size > 0) return NO;
  for (const k of c.keys) if (!reqs.keys.has(k)) return NO;
  for (const s of c.requires) if (!reqs.signatures.has(s)) return NO;
  return YES;
}

/**
 * Request-only fields: everything but objectSelector and CEL. UNKNOWN for a selector that does
 * not parse, a namespace or name the request does not settle (namespaceOf, nameOf), or a query
 * option the API server would refuse to convert.
 */
function matchRequestFields(m: CompiledMatch, view: RequestView): Tri {
  if (m.verbs !== null && !m.verbs.has(view.verb)) return NO;
  if (m.resources !== null && !matchResource(m.resources, view)) return NO;
  if (m.apiGroups !== null && !m.apiGroups.test(view.apiGroup)) return NO;
  const namespace = m.namespaces === null ? YES : matchNamespace(m.namespaces, view);
  if (namespace === NO) return NO;
  const name = m.names === null ? YES : matchName(m.names, view);
  if (name === NO) return NO;
  if (m.hasSubjects) {
    let subject = m.users !== null && m.users.test(view.user);
    if (!subject && m.groups !== null) {
      for (const g of view.groups) {
        if (m.groups.test(g)) {
          subject = true;
          break;
        }
      }
    }
    if (!subject) return NO;
  }
  let query: Tri = YES;
  if (m.query !== null) {
    for (const q of m.query) {
      const option = view.queryValue(q.param);
      if (option.kind === 'unknown') {
        query = unknown(view, `query ${q.param}: ${option.reason}`);
        continue;
      }
      const value = option.kind === 'value' ? option.value : undefined;
      if (q.present !== null && q.present !== (value !== undefined)) return NO;
      if (q.values !== null && (value === undefined || !q.values.test(value))) return NO;
    }
  }
  let result: Tri = namespace === UNKNOWN || name === UNKNOWN || query === UNKNOWN ? UNKNOWN : YES;
  if (m.selector !== null) {
    const r = matchSelector(m.selector, 'label', view);
    if (r === NO) return NO;
    if (r === UNKNOWN) result = UNKNOWN;
  }
  if (m.fieldSelector !== null) {
    const r = matchSelector(m.fieldSelector, 'field', view);
    if (r === NO) return NO;
    if (r === UNKNOWN) result = UNKNOWN;
  }
  return result;
}

function matchNamespace(namespaces: PatternSet, view: RequestView): Tri {
  if (view.namespaceUnknown === '') return namespaces.test(view.namespace) ? YES : NO;
  return matchesEveryValue(namespaces) ? YES : unknown(view, `namespaces: ${view.namespaceUnknown}`);
}

function matchName(names: PatternSet, view: RequestView): Tri {
  if (view.nameUnknown !== '')
    return matchesEveryValue(names) ? YES : unknown(view, `names: ${view.nameUnknown}`);
  if (view.generateName !== '') {
    switch (matchGeneratedName(names, view.generateName)) {
      case 'yes':
        return YES;
      case 'no':
        return NO;
      default:
        return unknown(view, `names: the API server will generate the name from "${view.generateName}"`);
    }
  }
  return names.test(view.name) ? YES : NO;
}

/** Records why a field could not be checked; the first reason of a block is the one reported. */
function unknown(view: RequestView, reason: string): Tri {
  if (view.unknownReason === '') view.unknownReason = reason;
  return UNKNOWN;
}

function matchBlock(m: CompiledMatch, view: RequestView): Tri {
  let result = matchRequestFields(m, view);
  if (result === NO) return NO;
  if (m.objectSelector !== null) {
    const labels = view.targetLabels();
    if (typeof labels === 'string') {
      result = unknown(view, `objectSelector: ${labels}`);
    } else if (!m.objectSelector(labels)) {
      return NO;
    }
  }
  if (m.when !== null) {
    if (m.when.referencesObject && view.input.object === 'unavailable') {
      return unknown(view, 'when: the target object could not be fetched');
    }
    // A condition on `body` cannot be checked on a part of it: `has(body.spec)` would be false
    // on a protobuf create whose spec kubegate does not decode.
    const partial = m.when.referencesBody ? view.bodyKnownInPart() : '';
    if (partial !== '') return unknown(view, `when: ${partial}`);
    const outcome = m.when.run(view.celVariables());
    if (!outcome.ok) {
      return unknown(view, `when: ${outcome.message}`);
    }
    if (!outcome.value) return NO;
  }
  return result;
}

/**
 * A rule's verdict: null when it does not match, '' when it matches, or the reason it was taken
 * as matching without being fully checked (fail closed).
 */
function matchRule(rule: CompiledRule, view: RequestView): string | null {
  view.unknownReason = '';
  const m = matchBlock(rule.match, view);
  if (m === NO) return null;
  const matchReason = view.unknownReason;
  let e: Tri = NO;
  if (rule.exclude !== null) {
    view.unknownReason = '';
    e = matchBlock(rule.exclude, view);
  }
  if (e === YES) return null;
  if (m === YES && e === NO) return '';
  // Unknown: the strict outcome. Allow rules do not match; deny and approve rules do.
  if (rule.action === 'allow') return null;
  if (m === UNKNOWN) return matchReason === '' ? 'a condition could not be checked' : matchReason;
  return view.unknownReason === ''
    ? 'an exclude condition could not be checked'
    : `exclude ${view.unknownReason}`;
}

/**
 * Per-policy scratch for deduplicating candidates without allocating a Set per decision: a rule
 * is taken once per epoch. Evaluation is synchronous and never re-entered (CEL has no callbacks
 * into it), so one scratch per policy is safe; a WeakMap keeps it off the policy's public shape.
 */
interface Scratch {
  readonly marks: Uint32Array;
  epoch: number;
}

const scratches = new WeakMap<CompiledPolicy, Scratch>();

function nextEpoch(policy: CompiledPolicy): Scratch {
  let scratch = scratches.get(policy);
  if (scratch === undefined) {
    scratch = { marks: new Uint32Array(policy.rules.length), epoch: 0 };
    scratches.set(policy, scratch);
  }
  scratch.epoch = (scratch.epoch + 1) >>> 0;
  if (scratch.epoch === 0) {
    scratch.marks.fill(0);
    scratch.epoch = 1;
  }
  return scratch;
}

function take(list: readonly CompiledRule[] | undefined, scratch: Scratch, out: CompiledRule[]): void {
  if (list === undefined) return;
  for (const rule of list) {
    if (scratch.marks[rule.index] !== scratch.epoch) {
      scratch.marks[rule.index] = scratch.epoch;
      out.push(rule);
    }
  }
}

/** Rules whose indexed fields admit this request, each once, in no particular order. */
function candidates(policy: CompiledPolicy, view: RequestView): CompiledRule[] {
  const out: CompiledRule[] = [];
  if (policy.rules.length === 0) return out;
  const scratch = nextEpoch(policy);
  lookUpVerb(policy.index.get(view.verb), view, scratch, out);
  lookUpVerb(policy.index.get(ANY), view, scratch, out);
  return out;
}

// The resource keys a request can meet; compile.ts files rules under the same keys.
function lookUpVerb(
  byResource: ReadonlyMap<string, Bucket> | undefined,
  view: RequestView,
  scratch: Scratch,
  out: CompiledRule[],
): void {
  if (byResource === undefined) return;
  lookUpBucket(byResource.get(ANY), view, scratch, out);
  if (!view.input.request.isResourceRequest) return;
  lookUpBucket(byResource.get('*'), view, scratch, out);
  lookUpBucket(byResource.get(view.resourceKey), view, scratch, out);
  if (view.subresource !== '') {
    lookUpBucket(byResource.get(view.anyResourceKey), view, scratch, out);
    lookUpBucket(byResource.get(view.anySubresourceKey), view, scratch, out);
    lookUpBucket(byResource.get('*/*'), view, scratch, out);
  } else if (view.verb === 'proxy') {
    // The legacy /proxy/ verb form reaches the same endpoint as the proxy subresource.
    lookUpBucket(byResource.get(`${view.resource}/proxy`), view, scratch, out);
  }
}

function lookUpBucket(
  bucket: Bucket | undefined,
  view: RequestView,
  scratch: Scratch,
  out: CompiledRule[],
): void {
  if (bucket === undefined) return;
  if (view.namespaceUnknown !== '') {
    // An unknown namespace could be any of them.
    for (const rules of bucket.byNamespace.values()) take(rules, scratch, out);
    for (const rules of bucket.byNamespacePrefix.values()) take(rules, scratch, out);
  } else {
    if (bucket.byNamespace.size > 0) take(bucket.byNamespace.get(view.namespace), scratch, out);
    for (const length of bucket.prefixLengths) {
      if (length > view.namespace.length) break;
      take(bucket.byNamespacePrefix.get(view.namespace.slice(0, length)), scratch, out);
    }
  }
  if (bucket.byName.size > 0) {
    // An unknown or generated name could be any of them.
    if (view.nameUnknown !== '' || view.generateName !== '')
      for (const rules of bucket.byName.values()) take(rules, scratch, out);
    else if (view.name !== '') take(bucket.byName.get(view.name), scratch, out);
  }
  if (bucket.byUser.size > 0) take(bucket.byUser.get(view.user), scratch, out);
  if (bucket.byGroup.size > 0) for (const g of view.groups) take(bucket.byGroup.get(g), scratch, out);
  if (bucket.rest.length > 0) take(bucket.rest, scratch, out);
}

export function evaluate(policy: CompiledPolicy, input: EvaluationInput): Decision {
  const view = new RequestView(input);
  const found = candidates(policy, view);
  // Matching rules with their verdicts, kept in step; usually zero, one or two entries.
  const matchedRules: CompiledRule[] = [];
  const verdicts: string[] = [];
  let strictest: RuleAction = 'allow';
  for (const rule of found) {
    const verdict = matchRule(rule, view);
    if (verdict === null) continue;
    matchedRules.push(rule);
    verdicts.push(verdict);
    if (rule.action === 'deny' || (rule.action === 'approve' && strictest === 'allow'))
      strictest = rule.action;
  }
  if (matchedRules.length === 0) return policy.defaults.decision;

  // Policy order, for stable output and messages in the order the author wrote the rules.
  const order = matchedRules.map((_, i) => i);
  if (order.length > 1) order.sort((a, b) => (matchedRules[a]?.index ?? 0) - (matchedRules[b]?.index ?? 0));
  const rules: MatchedRule[] = [];
  const deciding: CompiledRule[] = [];
  for (const i of order) {
    const rule = matchedRules[i] as CompiledRule;
    const verdict = verdicts[i] ?? '';
    rules.push(verdict === '' ? rule.matched : { ...rule.matched, failedClosed: verdict });
    if (rule.action === strictest) deciding.push(rule);
  }

  switch (strictest) {
    case 'deny': {
      let message = '';
      for (const r of deciding) {
        const text = r.message ?? `Denied by kubegate policy rule "${r.name}".`;
        message = message === '' ? text : `${message} ${text}`;
      }
      return { kind: 'deny', rules, byDefault: false, message };
    }
    case 'approve': {
      const approval: ApprovalRequirement[] = [];
      for (const r of deciding) if (r.approval !== null) approval.push(r.approval);
      const message = joinMessages(deciding);
      return {
        kind: 'approve',
        rules,
        byDefault: false,
        approval,
        ...(message === undefined ? {} : { message }),
      };
    }
    case 'allow': {
      const message = joinMessages(deciding);
      return { kind: 'allow', rules, byDefault: false, ...(message === undefined ? {} : { message }) };
    }
    default: {
      const never: never = strictest;
      return never;
    }
  }
}

function joinMessages(rules: readonly CompiledRule[]): string | undefined {
  let out: string | undefined;
  for (const r of rules)
    if (r.message !== undefined) out = out === undefined ? r.message : `${out} ${r.message}`;
  return out;
}

/**
 * Whether the gateway must fetch the live target object before evaluate: some rule that could
 * match this request (its request-only fields do not rule it out) reads the object's labels or
 * `object` in CEL. False for a create (its labels come from the body) and for list/watch of a
 * collection (there is no single object to fetch). For a deletecollection the answer is also true
 * when such a rule has `names`: the gateway then judges every object it would delete, by name
 * and labels (decide.ts), or evaluates with 'unavailable'.
 */
export function needsObject(
  policy: CompiledPolicy,
  input: Pick<EvaluationInput, 'request' | 'body' | 'identity'>,
): boolean {
  const deletecollection = input.request.verb === 'deletecollection';
  if (!policy.anyNeedsObject && !deletecollection) return false;
  const view = new RequestView(input);
  if (view.isCreateOfNewObject()) return false;
  if (view.name === '' && !deletecollection) return false;
  for (const rule of candidates(policy, view)) {
    const readsName =
      deletecollection && (rule.match.names !== null || (rule.exclude?.names ?? null) !== null);
    if (!rule.needsObject && !readsName) continue;
    if (matchRequestFields(rule.match, view) !== NO) return true;
  }
  return false;
}

/**
 * Whether the gateway must learn if the resource is namespaced (EvaluationInput.namespaced): a
 * list, watch or deletecollection with no namespace that a rule with a namespace condition could
 * match, of a resource that is not built in (request/scope.ts knows those). Cluster-scoped
 * resources (nodes, namespaces, cluster-scoped CRDs) then stay decidable.
 */
export function needsScope(
  policy: CompiledPolicy,
  input: Pick<EvaluationInput, 'request' | 'body' | 'identity'>,
): boolean {
  const r = input.request;
  if (r.namespace !== '' || !r.isResourceRequest || !COLLECTION_VERBS.has(r.verb)) return false;
  if (builtinNamespaced(r.apiGroup, r.resource) !== null) return false;
  const view = new RequestView(input);
  if (view.namespaceUnknown === '') return false;
  for (const rule of candidates(policy, view)) {
    if (rule.match.namespaces === null && (rule.exclude?.namespaces ?? null) === null) continue;
    if (matchRequestFields(rule.match, view) !== NO) return true;
  }
  return false;
}
