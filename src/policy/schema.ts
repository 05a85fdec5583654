// The Policy document (apiVersion kubegate.dev/v1alpha1, kind Policy) as one zod schema: the
// single definition behind validation (load.ts), the published JSON Schema (schema/policy.json)
// and the document types compile.ts reads. Input: a plain value parsed from YAML. Output: the
// typed document, or issues with paths. Must never accept a field it does not understand
// (objects are strict: a misspelt `verb:` would otherwise silently match everything), and never
// hold defaults other than the documented ones (compile.ts applies them).
//
// Syntax chosen here, documented for policy authors in examples/README.md:
//   patterns    `*` and `?` globs; `re:<expression>` is a regular expression matching the whole value
//   selector    the request's own label selector:  {present: bool, requires: ["app=x"], keys: [app]}
//   fieldSelector  the same on the request's field selector
//   objectSelector a Kubernetes LabelSelector on the target object's labels
//   query       parameter -> value | [values] | {present: bool, values: [...]}
//   approvers   "user:<name>" or "group:<name>"

import { z } from 'zod';
import { compileCel } from './cel.js';
import { parseDuration } from './duration.js';
import { compilePattern } from './pattern.js';
import { isLabelKey, isLabelValue, parseFieldSelector, parseLabelSelector } from '../request/selectors.js';
import { policyValueProblem } from '../request/query-options.js';

export const POLICY_API_VERSION = 'kubegate.dev/v1alpha1';

/** Verbs as the API server's request info reports them (never HTTP methods). */
export const KUBERNETES_VERBS = [
  'get',
  'list',
  'watch',
  'create',
  'update',
  'patch',
  'delete',
  'deletecollection',
  'proxy',
] as const;

export const RULE_ACTIONS = ['allow', 'deny', 'approve'] as const;

/**
 * Resource aliases. `@exec-capable` names every resource that can run a command in a container:
 * exec and attach (whatever their transport), ephemeral containers (`kubectl debug` adds one that
 * runs a command of the caller's choice inside the pod), and the kubelet API reached through
 * nodes/proxy (its /exec and /run endpoints execute commands, and GET suffices for a WebSocket
 * exec).
 */
export const RESOURCE_ALIASES: Readonly<Record<string, readonly string[]>> = {
  '@exec-capable': ['pods/exec', 'pods/attach', 'pods/ephemeralcontainers', 'nodes/proxy'],
};

// Kinds people write where the API wants the plural resource; a singular never matches.
const SINGULAR_TO_PLURAL: Readonly<Record<string, string>> = {
  pod: 'pods',
  deployment: 'deployments',
  service: 'services',
  secret: 'secrets',
  configmap: 'configmaps',
  statefulset: 'statefulsets',
  daemonset: 'daemonsets',
  replicaset: 'replicasets',
  job: 'jobs',
  cronjob: 'cronjobs',
  namespace: 'namespaces',
  node: 'nodes',
  ingress: 'ingresses',
  role: 'roles',
  rolebinding: 'rolebindings',
  clusterrole: 'clusterroles',
  clusterrolebinding: 'clusterrolebindings',
  serviceaccount: 'serviceaccounts',
  persistentvolume: 'persistentvolumes',
  persistentvolumeclaim: 'persistentvolumeclaims',
  networkpolicy: 'networkpolicies',
  customresourcedefinition: 'customresourcedefinitions',
  event: 'events',
};

const describeInput = (input: unknown): string =>
  typeof input === 'string' ? JSON.stringify(input) : input === undefined ? 'nothing' : JSON.stringify(input);

/** A glob or `re:` pattern, checked to compile. `extraCheck` rejects literals that can never match. */
function patternString(what: string, extraCheck?: (s: string) => string | null) {
  return z
    .string({ error: (iss) => `${what} must be a string, not ${describeInput(iss.input)}` })
    .superRefine((s, ctx) => {
      const compiled = compilePattern(s);
      if (!compiled.ok) {
        ctx.addIssue({ code: 'custom', message: compiled.message });
        return;
      }
      const problem = s.startsWith('re:') ? null : (extraCheck?.(s) ?? null);
      if (problem !== null) ctx.addIssue({ code: 'custom', message: problem });
    });
}

const NAMESPACE_GLOB = /^[a-z0-9*?-]*$/u;
const API_GROUP_GLOB = /^[a-z0-9.*?-]*$/u;

const namespacePattern = patternString('a namespace pattern', (s) =>
  NAMESPACE_GLOB.test(s)
    ? null
    : `${JSON.stringify(s)} can never match: namespaces are lower-case DNS labels (letters, digits and "-")`,
);
const namePattern = patternString('a name pattern', (s) =>
  s === '' ? 'a name pattern cannot be empty' : null,
);
const subjectPattern = patternString('a subject pattern', (s) =>
  s === '' ? 'a subject pattern cannot be empty' : null,
);
const apiGroupPattern = patternString('an API group', (s) =>
  API_GROUP_GLOB.test(s)
    ? null
    : `${JSON.stringify(s)} is not an API group (the core group is "", others look like "apps" or "batch")`,
);

const RESOURCE = /^(?:\*|[a-z0-9](?:[-a-z0-9.]*[a-z0-9])?)(?:\/(?:\*|[a-z0-9](?:[-a-z0-9]*[a-z0-9])?))?$/u;

function resourceProblem(s: string): string | null {
  if (s.startsWith('@')) {
    return s in RESOURCE_ALIASES
      ? null
      : `${JSON.stringify(s)} is not a resource alias (known: ${Object.keys(RESOURCE_ALIASES).join(', ')})`;
  }
  if (!RESOURCE.test(s)) {
    return `${JSON.stringify(s)} is not a resource: write lower-case plurals such as "pods", "pods/exec", "*/status" or "deployments/*"`;
  }
  const [resource = '', sub] = s.split('/');
  const plural = SINGULAR_TO_PLURAL[resource];
  if (plural !== undefined) {
    return `${JSON.stringify(s)} is not a resource: use the plural ${JSON.stringify(sub === undefined ? plural : `${plural}/${sub}`)}`;
  }
  return null;
}

const resourcePattern = z
  .string({ error: (iss) => `a resource must be a string, not ${describeInput(iss.input)}` })
  .superRefine((s, ctx) => {
    const problem = resourceProblem(s);
    if (problem !== null) ctx.addIssue({ code: 'custom', message: problem });
  })
  .describe(
    'pods, pods/exec, * (everything), */status (a subresource of any resource), deployments/* (any subresource of deployments), @exec-capable',
  );

const verb = z.enum([...KUBERNETES_VERBS, '*'], {
  error: (iss) =>
    `${describeInput(iss.input)} is not a Kubernetes verb (${KUBERNETES_VERBS.join(', ')} or *)`,
});

function nonEmptyList<T extends z.ZodType>(item: T, what: string) {
  return z
    .array(item, { error: (iss) => `${what} must be a list, not ${describeInput(iss.input)}` })
    .min(1, { error: `list at least one ${what.replace(/s$/u, '')}, or leave the field out to match any` });
}

const labelKey = z
  .string({ error: (iss) => `a label key must be a string, not ${describeInput(iss.input)}` })
  .superRefine((s, ctx) => {
    if (!isLabelKey(s)) ctx.addIssue({ code: 'custom', message: `${JSON.stringify(s)} is not a label key` });
  });

const labelValue = z
  .string({
    error: (iss) =>
      typeof iss.input === 'boolean' || typeof iss.input === 'number'
        ? `label values are strings: quote it, "${String(iss.input)}"`
        : `a label value must be a string, not ${describeInput(iss.input)}`,
  })
  .refine(isLabelValue, {
    error: (iss) =>
      `${describeInput(iss.input)} is not a label value (63 characters at most: letters, digits, "-", "_", ".")`,
  });

const objectSelector = z
  .strictObject({
    matchLabels: z
      .record(labelKey, labelValue)
      .optional()
      .describe('every label must be present with this value'),
    matchExpressions: z
      .array(
        z
          .strictObject({
            key: labelKey,
            operator: z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist'], {
              error: (iss) =>
                `${describeInput(iss.input)} is not a selector operator (In, NotIn, Exists, DoesNotExist)`,
            }),
            values: z.array(labelValue).optional(),
          })
          .superRefine((e, ctx) => {
            const needsValues = e.operator === 'In' || e.operator === 'NotIn';
            if (needsValues && (e.values === undefined || e.values.length === 0)) {
              ctx.addIssue({
                code: 'custom',
                path: ['values'],
                message: `${e.operator} needs at least one value`,
              });
            }
            if (!needsValues && e.values !== undefined && e.values.length > 0) {
              ctx.addIssue({ code: 'custom', path: ['values'], message: `${e.operator} takes no values` });
            }
          }),
      )
      .optional(),
  })
  .describe(
    'A Kubernetes LabelSelector over the labels of the object the request acts on: the live object, or the request body on create.',
  );

function requestSelector(kind: 'label' | 'field') {
  const parse = kind === 'label' ? parseLabelSelector : parseFieldSelector;
  const requirement = z
    .string({
      error: (iss) => `a ${kind} selector requirement must be a string, not ${describeInput(iss.input)}`,
    })
    .superRefine((s, ctx) => {
      try {
        if (parse(s).length === 0) ctx.addIssue({ code: 'custom', message: 'a requirement cannot be empty' });
      } catch (err) {
        const detail = err instanceof Error ? err.message : 'cannot be parsed';
        ctx.addIssue({
          code: 'custom',
          message: `${JSON.stringify(s)} is not a ${kind} selector: ${detail}`,
        });
      }
    });
  return z
    .strictObject({
      present: z
        .boolean()
        .optional()
        .describe(`true: the request carries a ${kind} selector; false: it carries none`),
      requires: nonEmptyList(requirement, 'requirements')
        .optional()
        .describe(
          `requirements (such as "app=web" or "tier in (a,b)") that must each appear in the request's ${kind} selector`,
        ),
      keys: nonEmptyList(z.string().min(1), 'keys')
        .optional()
        .describe(
          `${kind === 'label' ? 'label keys' : 'fields'} the request's selector must constrain (any operator)`,
        ),
    })
    .superRefine((v, ctx) => {
      if (v.present === undefined && v.requires === undefined && v.keys === undefined) {
        ctx.addIssue({ code: 'custom', message: 'give at least one of present, requires or keys' });
      }
      if (v.present === false && (v.requires !== undefined || v.keys !== undefined)) {
        ctx.addIssue({ code: 'custom', message: 'present: false cannot be combined with requires or keys' });
      }
    })
    .describe(`Conditions on the request's own ${kind} selector (the ${kind}Selector query parameter).`);
}

const queryValue = z
  .union([z.string(), z.number(), z.boolean()], {
    error: (iss) => `a query value must be a string, number or boolean, not ${describeInput(iss.input)}`,
  })
  .superRefine((v, ctx) => {
    if (typeof v !== 'string') return;
    const compiled = compilePattern(v);
    if (!compiled.ok) ctx.addIssue({ code: 'custom', message: compiled.message });
  });

const queryCondition = z
  .union(
    [
      queryValue,
      nonEmptyList(queryValue, 'values'),
      z
        .strictObject({
          present: z.boolean().optional(),
          values: nonEmptyList(queryValue, 'values').optional(),
        })
        .superRefine((v, ctx) => {
          if (v.present === undefined && v.values === undefined) {
            ctx.addIssue({ code: 'custom', message: 'give present, values, or both' });
          }
          if (v.present === false && v.values !== undefined) {
            ctx.addIssue({ code: 'custom', message: 'present: false cannot be combined with values' });
          }
        }),
    ],
    {
      error: () => 'a query condition is a value, a list of values, or {present: true|false, values: [...]}',
    },
  )
  .describe(
    "A value pattern, a list of them (any may match), or {present, values}. Reads the parameter's first value, as the API server does.",
  );

const QUERY_PARAM = /^[A-Za-z0-9_.-]+$/u;

const queryConditions = z
  .record(
    z
      .string()
      .regex(QUERY_PARAM, { error: (iss) => `${describeInput(iss.input)} is not a query parameter name` }),
    queryCondition,
  )
  .superRefine((conditions, ctx) => {
    for (const [param, condition] of Object.entries(conditions)) {
      const values = Array.isArray(condition)
        ? condition
        : typeof condition === 'object'
          ? (condition.values ?? [])
          : [condition];
      for (const v of values) {
        const problem = policyValueProblem(param, v);
        if (problem !== null) ctx.addIssue({ code: 'custom', path: [param], message: problem });
      }
    }
  })
  .describe(
    "Conditions on query parameters. DELETE options from the body count as dryRun, gracePeriodSeconds, propagationPolicy and orphanDependents; exec's command is its argv joined with spaces, and argv0 is its first word.",
  );

const celExpression = z
  .string({ error: (iss) => `when must be a CEL expression string, not ${describeInput(iss.input)}` })
  .superRefine((s, ctx) => {
    const compiled = compileCel(s);
    if (!compiled.ok) {
      ctx.addIssue({
        code: 'custom',
        message: `CEL: ${compiled.message}`,
        params: { offset: compiled.offset },
      });
    }
  })
  .describe('A CEL expression over request, object, body, user and now; the field matches when it is true.');

const subjects = z
  .strictObject({
    users: nonEmptyList(subjectPattern, 'users').optional(),
    groups: nonEmptyList(subjectPattern, 'groups').optional(),
  })
  .refine((s) => s.users !== undefined || s.groups !== undefined, { error: 'give users, groups, or both' })
  .describe('Matches when the caller is one of the users or is in one of the groups.');

export const MatchSchema = z
  .strictObject({
    subjects: subjects.optional(),
    verbs: nonEmptyList(verb, 'verbs')
      .optional()
      .describe('Kubernetes verbs; list matches watch and watch matches list (they return the same data).'),
    apiGroups: nonEmptyList(apiGroupPattern, 'apiGroups').optional().describe('"" is the core group.'),
    resources: nonEmptyList(resourcePattern, 'resources').optional(),
    namespaces: nonEmptyList(namespacePattern, 'namespaces')
      .optional()
      .describe('Namespace patterns; "" matches cluster-scoped requests.'),
    names: nonEmptyList(namePattern, 'names').optional(),
    selector: requestSelector('label').optional(),
    fieldSelector: requestSelector('field').optional(),
    objectSelector: objectSelector.optional(),
    query: queryConditions.optional(),
    when: celExpression.optional(),
  })
  .meta({ id: 'Match', description: 'Every field given must match; an empty block matches every request.' });

const APPROVER = /^(user|group):\S+$/u;

const approver = z
  .string({ error: (iss) => `an approver must be a string, not ${describeInput(iss.input)}` })
  .regex(APPROVER, {
    error: (iss) => `${describeInput(iss.input)} is not an approver: write "user:<name>" or "group:<name>"`,
  });

const duration = z
  .string({ error: (iss) => `a duration must be a string such as "30m", not ${describeInput(iss.input)}` })
  .superRefine((s, ctx) => {
    const parsed = parseDuration(s);
    if (!parsed.ok) ctx.addIssue({ code: 'custom', message: parsed.message });
  });

const approverCount = z
  .int({ error: (iss) => `count must be a whole number, not ${describeInput(iss.input)}` })
  .min(1, { error: 'count must be at least 1' })
  .max(100, { error: 'count must be at most 100' });

/** When approvers are users only, count cannot exceed them. Runs on unvalidated input too. */
function checkCount(
  approvers: unknown,
  count: unknown,
  ctx: z.RefinementCtx,
  path: (string | number)[],
): void {
  if (!Array.isArray(approvers) || approvers.length === 0) return;
  const want = typeof count === 'number' ? count : 1;
  if (approvers.every((a) => typeof a === 'string' && a.startsWith('user:'))) {
    const distinct = new Set(approvers).size;
    if (want > distinct) {
      ctx.addIssue({
        code: 'custom',
        path,
        message: `count is ${want} but only ${distinct} user${distinct === 1 ? ' is' : 's are'} listed as approvers`,
      });
    }
  }
}

// Cross-field checks run even when a sibling field is invalid, so that one load reports every
// error; they must therefore read their input defensively.
const ALWAYS = { when: () => true };

const isRecord = (v: unknown): boolean => typeof v === 'object' && v !== null && !Array.isArray(v);

const stage = z
  .strictObject({
    name: z.string().min(1, { error: 'a stage needs a name' }),
    approvers: nonEmptyList(approver, 'approvers'),
    count: approverCount.optional().describe('distinct people needed in this stage (default 1)'),
  })
  .superRefine((s, ctx) => {
    if (isRecord(s)) checkCount(s.approvers, s.count, ctx, ['count']);
  }, ALWAYS);

export const ApprovalSchema = z
  .strictObject({
    approvers: nonEmptyList(approver, 'approvers').optional().describe('"user:<name>" or "group:<name>"'),
    count: approverCount.optional().describe('distinct people who must approve (default 1)'),
    stages: nonEmptyList(stage, 'stages')
      .optional()
      .describe('an ordered chain of approvals, instead of approvers'),
    escalateAfter: duration.optional().describe('Go duration, e.g. "30m"'),
    escalateTo: nonEmptyList(approver, 'escalateTo').optional(),
    expiresAfter: duration.optional().describe('Go duration after which the request is refused'),
    mode: z
      .enum(['hold', 'deferred'], {
        error: (iss) => `${describeInput(iss.input)} is not a mode (hold or deferred)`,
      })
      .optional()
      .describe(
        'hold: keep the client waiting (default); deferred: refuse now, allow the re-run once approved',
      ),
    grantTTL: duration
      .optional()
      .describe('how long an approval stays usable for the re-run (deferred mode)'),
    breakGlass: z
      .boolean()
      .optional()
      .describe('the requester may approve their own request with a written reason'),
    standing: z
      .strictObject({
        maxDuration: duration.describe('the longest a reviewer may let it stand, e.g. "8h"'),
        scope: z
          .enum(['identical', 'rule'], {
            error: (iss) => `${describeInput(iss.input)} is not a scope (identical or rule)`,
          })
          .describe(
            "identical: only the same request again (same body, same target); rule: also the requester's other requests this rule asks approval for, with the same verb and resource in the same namespace",
          ),
      })
      .optional()
      .describe(
        'reviewers may approve this request and more like it for a while (a standing approval); off when absent',
      ),
  })
  .superRefine((a, ctx) => {
    if (!isRecord(a)) return;
    if (a.approvers === undefined && a.stages === undefined) {
      ctx.addIssue({ code: 'custom', message: 'give approvers (one step) or stages (a chain)' });
    }
    if (a.approvers !== undefined && a.stages !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['stages'], message: 'give approvers or stages, not both' });
    }
    if (a.stages !== undefined && a.count !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['count'],
        message: 'count belongs inside each stage when stages are used',
      });
    }
    if (a.stages === undefined) checkCount(a.approvers, a.count, ctx, ['count']);
    if ((a.escalateAfter === undefined) !== (a.escalateTo === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: [a.escalateAfter === undefined ? 'escalateTo' : 'escalateAfter'],
        message: 'escalateAfter and escalateTo go together',
      });
    }
    const seen = new Set<unknown>();
    if (Array.isArray(a.stages)) {
      a.stages.forEach((s: unknown, i) => {
        const name = typeof s === 'object' && s !== null && 'name' in s ? s.name : undefined;
        if (typeof name !== 'string') return;
        if (seen.has(name)) {
          ctx.addIssue({
            code: 'custom',
            path: ['stages', i, 'name'],
            message: `duplicate stage name ${JSON.stringify(name)}`,
          });
        }
        seen.add(name);
      });
    }
  }, ALWAYS)
  .meta({ id: 'Approval', description: 'Who must approve, how many, and how the wait is run.' });

const action = z.enum(RULE_ACTIONS, {
  error: (iss) => `${describeInput(iss.input)} is not an action (allow, deny or approve)`,
});

function checkApproval(v: { action: unknown; approval?: unknown }, ctx: z.RefinementCtx): void {
  if (!isRecord(v)) return;
  if (typeof v.action !== 'string' || !(RULE_ACTIONS as readonly string[]).includes(v.action)) return;
  if (v.action === 'approve' && v.approval === undefined) {
    ctx.addIssue({ code: 'custom', path: ['approval'], message: 'action approve needs an approval' });
  }
  if (v.action !== 'approve' && v.approval !== undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['approval'],
      message: `approval only applies to action approve, not ${v.action}`,
    });
  }
}

const RULE_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,126}[A-Za-z0-9])?$/u;

export const RuleSchema = z
  .strictObject({
    name: z
      .string({ error: (iss) => `a rule name must be a string, not ${describeInput(iss.input)}` })
      .regex(RULE_NAME, {
        error: (iss) =>
          `${describeInput(iss.input)} is not a rule name (letters, digits, ".", "_" and "-", up to 128)`,
      }),
    description: z.string().optional(),
    match: MatchSchema,
    exclude: MatchSchema.refine((m) => Object.keys(m).length > 0, {
      error: 'an empty exclude would exclude every request; remove it',
    })
      .optional()
      .describe('The rule does not apply when every field given here matches.'),
    action,
    message: z.string().optional().describe('Shown to the client (deny) and to reviewers (approve).'),
    approval: ApprovalSchema.optional(),
  })
  .superRefine(checkApproval, ALWAYS);

export const DefaultsSchema = z
  .strictObject({
    action,
    message: z.string().optional(),
    approval: ApprovalSchema.optional(),
  })
  .superRefine(checkApproval, ALWAYS)
  .describe('What happens when no rule matches.');

export const PolicySchema = z
  .strictObject({
    apiVersion: z.literal(POLICY_API_VERSION, {
      error: (iss) => `apiVersion must be ${POLICY_API_VERSION}, not ${describeInput(iss.input)}`,
    }),
    kind: z.literal('Policy', { error: (iss) => `kind must be Policy, not ${describeInput(iss.input)}` }),
    defaults: DefaultsSchema,
    rules: z
      .array(RuleSchema, { error: (iss) => `rules must be a list, not ${describeInput(iss.input)}` })
      .describe('Ordered rules. The strictest matching rule wins: deny > approve > allow.'),
  })
  .superRefine((p, ctx) => {
    if (!isRecord(p) || !Array.isArray(p.rules)) return;
    const first = new Map<string, number>();
    p.rules.forEach((r: unknown, i) => {
      const name = typeof r === 'object' && r !== null && 'name' in r ? r.name : undefined;
      if (typeof name !== 'string') return;
      const earlier = first.get(name);
      if (earlier !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['rules', i, 'name'],
          message: `duplicate rule name ${JSON.stringify(name)} (also rules[${earlier}])`,
        });
      } else {
        first.set(name, i);
      }
    });
  }, ALWAYS)
  .describe('A kubegate policy: query-level rules in front of the Kubernetes API server.');

export type PolicyDocument = z.infer<typeof PolicySchema>;
export type RuleDocument = z.infer<typeof RuleSchema>;
export type MatchDocument = z.infer<typeof MatchSchema>;
export type ApprovalDocument = z.infer<typeof ApprovalSchema>;
export type DefaultsDocument = z.infer<typeof DefaultsSchema>;
export type RuleAction = (typeof RULE_ACTIONS)[number];
