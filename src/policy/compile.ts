// Policy compilation: a validated document → CompiledPolicy, the immutable value the decide
// stage evaluates. Input: a PolicyDocument that passed PolicySchema. Output: rules with their
// matchers compiled (patterns, selectors, CEL) and an index that finds the rules that can match
// a request without scanning them all. Must never change what a rule matches: the index only
// narrows candidates by fields every match requires; evaluate.ts still checks every field.
//
// Index: verb → resource key → bucket. A bucket files each rule under one attribute that its
// `match` requires: literal or `prefix*` namespaces, else literal names, else literal users and
// groups, else a `rest` list that every lookup reads. Rules without verbs or resources sit under
// ANY. A lookup reads at most 2 verb keys × 6 resource keys, a handful of map gets each.

import { KubegateError } from '../errors.js';
import { parseFieldSelector, parseLabelSelector } from '../request/selectors.js';
import type { FieldRequirement, LabelRequirement } from '../request/selectors.js';
import { compileCel } from './cel.js';
import type { CelProgram } from './cel.js';
import type { ApprovalRequirement, Approver, Decision, MatchedRule, RuleAction } from './decision.js';
import { parseDuration } from './duration.js';
import { compilePattern, patternSet } from './pattern.js';
import type { Pattern, PatternSet } from './pattern.js';
import { RESOURCE_ALIASES } from './schema.js';
import type { ApprovalDocument, MatchDocument, PolicyDocument } from './schema.js';

/** Key for rules that do not constrain a dimension (no `verbs`, no `resources`). */
export const ANY = '\u0000any';

export type SelectorKind = 'label' | 'field';

/** A selector requirement reduced to a comparable signature (`=`, `==`, `in (x)` are one thing). */
export type RequirementSignature = string;

export interface SelectorCondition {
  readonly present: boolean | null;
  readonly requires: readonly RequirementSignature[];
  readonly keys: readonly string[];
}

export interface QueryCondition {
  readonly param: string;
  readonly present: boolean | null;
  readonly values: PatternSet | null;
}

export interface ResourceMatcher {
  /** `pods`, `pods/exec` and alias members. */
  readonly exact: ReadonlySet<string>;
  /** `*`: every resource and subresource. */
  readonly any: boolean;
  /** A star before the slash, any resource with this subresource ("status" for star-slash-status). */
  readonly anyResourceWithSub: ReadonlySet<string>;
  /** `*` after the slash: `deployments/*` → `deployments`. */
  readonly anySubOfResource: ReadonlySet<string>;
  /** `*` on both sides of the slash: any subresource of anything. */
  readonly anySub: boolean;
}

export type LabelsMatcher = (labels: Readonly<Record<string, string>>) => boolean;

export interface CompiledMatch {
  readonly verbs: ReadonlySet<string> | null;
  readonly resources: ResourceMatcher | null;
  readonly apiGroups: PatternSet | null;
  readonly namespaces: PatternSet | null;
  readonly names: PatternSet | null;
  readonly users: PatternSet | null;
  readonly groups: PatternSet | null;
  /** `subjects` given: the caller must match users or groups. */
  readonly hasSubjects: boolean;
  readonly query: readonly QueryCondition[] | null;
  readonly selector: SelectorCondition | null;
  readonly fieldSelector: SelectorCondition | null;
  /** null also for an empty objectSelector, which matches every object (Kubernetes semantics). */
  readonly objectSelector: LabelsMatcher | null;
  readonly when: CelProgram | null;
  /** objectSelector or CEL reading `object`: needs the live target object. */
  readonly needsObject: boolean;
}

export interface CompiledRule {
  /** Position in the document; decisions list rules in this order. */
  readonly index: number;
  readonly name: string;
  /** The author's note on why the rule exists (shown in the UI's policy view). */
  readonly description: string | undefined;
  readonly action: RuleAction;
  readonly message: string | undefined;
  readonly approval: ApprovalRequirement | null;
  readonly match: CompiledMatch;
  readonly exclude: CompiledMatch | null;
  readonly needsObject: boolean;
  /** This rule as decisions list it (frozen, shared by every decision it appears in). */
  readonly matched: MatchedRule;
}

export interface Bucket {
  readonly byNamespace: Map<string, CompiledRule[]>;
  readonly byNamespacePrefix: Map<string, CompiledRule[]>;
  /** Distinct prefix lengths in byNamespacePrefix, ascending: one map get per length. */
  readonly prefixLengths: number[];
  readonly byName: Map<string, CompiledRule[]>;
  readonly byUser: Map<string, CompiledRule[]>;
  readonly byGroup: Map<string, CompiledRule[]>;
  readonly rest: CompiledRule[];
}

export type RuleIndex = ReadonlyMap<string, ReadonlyMap<string, Bucket>>;

export interface CompiledDefaults {
  readonly action: RuleAction;
  readonly message: string | undefined;
  readonly approval: ApprovalRequirement | null;
  /** The decision when no rule matches: the same frozen object every time. */
  readonly decision: Decision;
}

export interface CompiledPolicy {
  /** Where it came from, for messages and stats. */
  readonly file: string;
  /** The stand-in used when no policy ever loaded: refuses everything. */
  readonly failClosed: boolean;
  readonly rules: readonly CompiledRule[];
  readonly defaults: CompiledDefaults;
  readonly index: RuleIndex;
  /** Some rule needs the live object; when none does, needsObject answers at once. */
  readonly anyNeedsObject: boolean;
}

export interface CompileOptions {
  readonly file: string;
}

export function compilePolicy(doc: PolicyDocument, options: CompileOptions): CompiledPolicy {
  const rules = doc.rules.map((r, index): CompiledRule => {
    const match = compileMatch(r.match, `rules[${index}].match`);
    const exclude = r.exclude === undefined ? null : compileMatch(r.exclude, `rules[${index}].exclude`);
    return {
      index,
      name: r.name,
      description: r.description,
      action: r.action,
      message: r.message,
      approval: r.approval === undefined ? null : compileApproval(r.approval, r.name, r.message),
      match,
      exclude,
      needsObject: match.needsObject || (exclude?.needsObject ?? false),
      matched: deepFreeze({
        name: r.name,
        action: r.action,
        ...(r.message === undefined ? {} : { message: r.message }),
      }),
    };
  });
  const d = doc.defaults;
  return {
    file: options.file,
    failClosed: false,
    rules,
    defaults: compileDefaults(
      d.action,
      d.message,
      d.approval === undefined ? null : compileApproval(d.approval, null, d.message),
    ),
    index: buildIndex(rules),
    anyNeedsObject: rules.some((r) => r.needsObject),
  };
}

function compileDefaults(
  action: RuleAction,
  message: string | undefined,
  approval: ApprovalRequirement | null,
): CompiledDefaults {
  const optionalMessage = message === undefined ? {} : { message };
  let decision: Decision;
  switch (action) {
    case 'allow':
      decision = { kind: 'allow', rules: [], byDefault: true, ...optionalMessage };
      break;
    case 'deny':
      decision = {
        kind: 'deny',
        rules: [],
        byDefault: true,
        message: message ?? 'No kubegate policy rule allows this request.',
      };
      break;
    case 'approve':
      decision = {
        kind: 'approve',
        rules: [],
        byDefault: true,
        approval: approval === null ? [] : [approval],
        ...optionalMessage,
      };
      break;
    default: {
      const never: never = action;
      throw internal('defaults.action', `unknown action ${String(never)}`);
    }
  }
  return { action, message, approval, decision: deepFreeze(decision) };
}

/** Decisions share these objects across requests; freezing makes sharing safe. */
function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/**
 * What `current()` serves before any policy loaded: no rules, and defaults that deny with a
 * message that says why (security invariant 5: a policy that fails to load fails closed).
 */
export function failClosedPolicy(file: string): CompiledPolicy {
  return {
    file,
    failClosed: true,
    rules: [],
    defaults: compileDefaults(
      'deny',
      'kubegate refuses every request because its policy failed to load; an administrator must fix the policy file.',
      null,
    ),
    index: new Map(),
    anyNeedsObject: false,
  };
}

function compileMatch(m: MatchDocument, where: string): CompiledMatch {
  const objectSelector = m.objectSelector === undefined ? null : compileLabelSelector(m.objectSelector);
  let when: CelProgram | null = null;
  if (m.when !== undefined) {
    const compiled = compileCel(m.when);
    if (!compiled.ok) throw internal(`${where}.when`, compiled.message);
    when = compiled.program;
  }
  return {
    verbs: compileVerbs(m.verbs),
    resources: m.resources === undefined ? null : compileResources(m.resources),
    apiGroups: patterns(m.apiGroups, `${where}.apiGroups`),
    namespaces: patterns(m.namespaces, `${where}.namespaces`),
    names: patterns(m.names, `${where}.names`),
    users: patterns(m.subjects?.users, `${where}.subjects.users`),
    groups: patterns(m.subjects?.groups, `${where}.subjects.groups`),
    hasSubjects: m.subjects !== undefined,
    query:
      m.query === undefined
        ? null
        : Object.entries(m.query).map(([param, condition]) => compileQueryCondition(param, condition, where)),
    selector: m.selector === undefined ? null : compileSelectorCondition(m.selector, 'label'),
    fieldSelector: m.fieldSelector === undefined ? null : compileSelectorCondition(m.fieldSelector, 'field'),
    objectSelector,
    when,
    needsObject: objectSelector !== null || (when?.referencesObject ?? false),
  };
}

/** `list` and `watch` return the same data (a watch starts with every object), so they are one. */
function compileVerbs(verbs: readonly string[] | undefined): ReadonlySet<string> | null {
  if (verbs === undefined || verbs.includes('*')) return null;
  const set = new Set(verbs);
  if (set.has('list') || set.has('watch')) {
    set.add('list');
    set.add('watch');
  }
  return set;
}

function compileResources(resources: readonly string[]): ResourceMatcher {
  const exact = new Set<string>();
  const anyResourceWithSub = new Set<string>();
  const anySubOfResource = new Set<string>();
  let any = false;
  let anySub = false;
  for (const r of resources) {
    const alias = RESOURCE_ALIASES[r];
    if (alias !== undefined) {
      alias.forEach((a) => exact.add(a));
      continue;
    }
    const [resource = '', sub] = r.split('/');
    if (sub === undefined) {
      if (resource === '*') any = true;
      else exact.add(resource);
    } else if (resource === '*' && sub === '*') {
      anySub = true;
    } else if (resource === '*') {
      anyResourceWithSub.add(sub);
    } else if (sub === '*') {
      anySubOfResource.add(resource);
    } else {
      exact.add(r);
    }
  }
  return { exact, any, anyResourceWithSub, anySubOfResource, anySub };
}

/** Index keys a rule's resources occupy; a request looks up the keys of resourceKeysOf. */
function resourceKeysOfRule(resources: readonly string[] | undefined): string[] {
  if (resources === undefined) return [ANY];
  const keys = new Set<string>();
  for (const r of resources) {
    const alias = RESOURCE_ALIASES[r];
    if (alias !== undefined) alias.forEach((a) => keys.add(a));
    else keys.add(r);
  }
  return [...keys];
}

function patterns(sources: readonly string[] | undefined, where: string): PatternSet | null {
  if (sources === undefined) return null;
  const compiled: Pattern[] = sources.map((s, i) => {
    const p = compilePattern(s);
    if (!p.ok) throw internal(`${where}[${i}]`, p.message);
    return p.pattern;
  });
  return patternSet(compiled);
}

function compileQueryCondition(
  param: string,
  condition: NonNullable<MatchDocument['query']>[string],
  where: string,
): QueryCondition {
  const asText = (v: string | number | boolean): string => (typeof v === 'string' ? v : String(v));
  const values = (list: readonly (string | number | boolean)[]): PatternSet =>
    patterns(list.map(asText), `${where}.query.${param}`) ?? patternSet([]);
  if (Array.isArray(condition)) return { param, present: null, values: values(condition) };
  if (typeof condition === 'object') {
    return {
      param,
      present: condition.present ?? null,
      values: condition.values === undefined ? null : values(condition.values),
    };
  }
  return { param, present: null, values: values([condition]) };
}

function compileSelectorCondition(
  c: {
    present?: boolean | undefined;
    requires?: readonly string[] | undefined;
    keys?: readonly string[] | undefined;
  },
  kind: SelectorKind,
): SelectorCondition {
  const requires: RequirementSignature[] = [];
  for (const text of c.requires ?? []) {
    const parsed = kind === 'label' ? parseLabelSelector(text) : parseFieldSelector(text);
    for (const r of parsed) requires.push(requirementSignature(r));
  }
  return { present: c.present ?? null, requires, keys: c.keys ?? [] };
}

/**
 * One string per requirement, equal for requirements that select the same thing: `a=b`, `a==b`
 * and `a in (b)` are all "a In [b]"; `a!=b` and `a notin (b)` are "a NotIn [b]". Values are
 * already sorted by the parser; they are joined with a byte that cannot occur in a label value.
 */
export function requirementSignature(r: LabelRequirement | FieldRequirement): RequirementSignature {
  if ('field' in r) {
    const op = r.operator === 'NotEquals' ? 'NotIn' : 'In';
    return `${r.field}\u0000${op}\u0000${r.value}`;
  }
  let op: string = r.operator;
  if (op === 'Equals' || op === 'DoubleEquals') op = 'In';
  else if (op === 'NotEquals') op = 'NotIn';
  return `${r.key}\u0000${op}\u0000${[...new Set(r.values)].sort().join('\u0000')}`;
}

export function requirementKey(r: LabelRequirement | FieldRequirement): string {
  return 'field' in r ? r.field : r.key;
}

function compileLabelSelector(s: NonNullable<MatchDocument['objectSelector']>): LabelsMatcher | null {
  const checks: LabelsMatcher[] = [];
  for (const [key, value] of Object.entries(s.matchLabels ?? {}))
    checks.push((labels) => labels[key] === value);
  for (const e of s.matchExpressions ?? []) {
    const values = new Set(e.values ?? []);
    const { key } = e;
    switch (e.operator) {
      case 'In':
        checks.push((labels) => labels[key] !== undefined && values.has(labels[key]));
        break;
      case 'NotIn':
        // Kubernetes: NotIn also matches objects without the key.
        checks.push((labels) => labels[key] === undefined || !values.has(labels[key]));
        break;
      case 'Exists':
        checks.push((labels) => labels[key] !== undefined);
        break;
      case 'DoesNotExist':
        checks.push((labels) => labels[key] === undefined);
        break;
      default: {
        const never: never = e.operator;
        throw internal('objectSelector', `unknown operator ${String(never)}`);
      }
    }
  }
  if (checks.length === 0) return null;
  return (labels) => checks.every((check) => check(labels));
}

function parseApprover(text: string): Approver {
  const colon = text.indexOf(':');
  const kind = text.slice(0, colon);
  if (kind !== 'user' && kind !== 'group') throw internal('approvers', `bad approver ${text}`);
  return { kind, name: text.slice(colon + 1) };
}

function durationMs(text: string | undefined): number | null {
  if (text === undefined) return null;
  const parsed = parseDuration(text);
  if (!parsed.ok) throw internal('approval', parsed.message);
  return parsed.ms;
}

function compileApproval(
  a: ApprovalDocument,
  rule: string | null,
  message: string | undefined,
): ApprovalRequirement {
  const stages = a.stages?.map((s) => ({
    name: s.name,
    approvers: s.approvers.map(parseApprover),
    count: s.count ?? 1,
  })) ?? [{ name: 'approval', approvers: (a.approvers ?? []).map(parseApprover), count: a.count ?? 1 }];
  return deepFreeze({
    rule,
    ...(message === undefined ? {} : { message }),
    stages,
    escalateAfterMs: durationMs(a.escalateAfter),
    escalateTo: (a.escalateTo ?? []).map(parseApprover),
    expiresAfterMs: durationMs(a.expiresAfter),
    mode: a.mode ?? 'hold',
    grantTtlMs: durationMs(a.grantTTL),
    breakGlass: a.breakGlass ?? false,
    // Absent when off, so that requirements written before standing approvals compare equal.
    ...(a.standing === undefined
      ? {}
      : { standing: { maxMs: durationMs(a.standing.maxDuration) ?? 0, scope: a.standing.scope } }),
  });
}

function newBucket(): Bucket {
  return {
    byNamespace: new Map(),
    byNamespacePrefix: new Map(),
    prefixLengths: [],
    byName: new Map(),
    byUser: new Map(),
    byGroup: new Map(),
    rest: [],
  };
}

function push(map: Map<string, CompiledRule[]>, key: string, rule: CompiledRule): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [rule]);
  else if (list[list.length - 1] !== rule) list.push(rule);
}

/** File a rule under the most selective attribute its match requires (see the header). */
function fileRule(bucket: Bucket, rule: CompiledRule): void {
  const m = rule.match;
  const ns = m.namespaces;
  // A `*` namespace pattern has the empty prefix: it selects nothing, so it is not indexed.
  if (ns !== null && ns.others.every((p) => p.prefix !== null && p.prefix !== '')) {
    for (const literal of ns.literals) push(bucket.byNamespace, literal, rule);
    for (const p of ns.others) {
      const prefix = p.prefix ?? '';
      push(bucket.byNamespacePrefix, prefix, rule);
      if (!bucket.prefixLengths.includes(prefix.length)) {
        bucket.prefixLengths.push(prefix.length);
        bucket.prefixLengths.sort((a, b) => a - b);
      }
    }
    return;
  }
  if (m.names !== null && m.names.others.length === 0) {
    for (const literal of m.names.literals) push(bucket.byName, literal, rule);
    return;
  }
  const users = m.users;
  const groups = m.groups;
  if (m.hasSubjects && (users?.others.length ?? 0) === 0 && (groups?.others.length ?? 0) === 0) {
    for (const u of users?.literals ?? []) push(bucket.byUser, u, rule);
    for (const g of groups?.literals ?? []) push(bucket.byGroup, g, rule);
    return;
  }
  bucket.rest.push(rule);
}

function buildIndex(rules: readonly CompiledRule[]): RuleIndex {
  const index = new Map<string, Map<string, Bucket>>();
  // Documents are small next to their compiled form; rebuilding spare sets per rule is fine.
  for (const rule of rules) {
    const verbKeys = rule.match.verbs === null ? [ANY] : [...rule.match.verbs];
    const resourceKeys = resourceKeysOfRule(resourceSources(rule));
    for (const v of verbKeys) {
      let byResource = index.get(v);
      if (byResource === undefined) index.set(v, (byResource = new Map<string, Bucket>()));
      for (const r of resourceKeys) {
        let bucket = byResource.get(r);
        if (bucket === undefined) byResource.set(r, (bucket = newBucket()));
        fileRule(bucket, rule);
      }
    }
  }
  return index;
}

// The resource patterns of a rule's match, recovered from the compiled matcher so that the index
// and the matcher can never disagree.
function resourceSources(rule: CompiledRule): string[] | undefined {
  const r = rule.match.resources;
  if (r === null) return undefined;
  return [
    ...r.exact,
    ...(r.any ? ['*'] : []),
    ...[...r.anyResourceWithSub].map((s) => `*/${s}`),
    ...[...r.anySubOfResource].map((s) => `${s}/*`),
    ...(r.anySub ? ['*/*'] : []),
  ];
}

function internal(where: string, message: string): KubegateError {
  // Validation (schema.ts) compiles the same patterns and CEL first; reaching this is a bug.
  return new KubegateError('KG_INTERNAL', `policy compile: ${where}: ${message}`);
}
