// Stage 3+4, enrich and decide: one parsed request → Decision. Input: the request, its body and
// the caller; deps bring the current policy, the live objects (kubegate's own reads), the clock
// and a lookup timeout. Output: the policy's Decision. Must never let a failed lookup loosen a
// decision: when the object a rule needs cannot be fetched (403, timeout, network), evaluate
// sees 'unavailable' and takes the strict outcome; and never consult the API server when no rule
// that could match needs the object (needsObject decides, so most requests cost no lookup).
//
// Which object: the one the API server's handler acts on (request/target.ts), i.e. the pod for
// pods/exec, attach, portforward and log, the deployment for deployments/scale, the object itself
// for get, update, patch and delete, the node `control-1` for nodes/https:control-1:10250/proxy,
// and a namespace as the cluster-scoped object it is. A create is judged by its body (evaluate
// reads it; nothing is fetched). A deletecollection is judged once per object it would delete
// (listed with the request's own selectors, at the current state: parse refuses the snapshot
// parameters that would make the API server list an older one), by each object's name and
// labels, and the strictest decision wins: deny > approve > allow, every approval requirement
// kept. Objects created between the list and the delete are not seen; an empty list is judged as
// a collection (names and objectSelector unknown: the strict outcome).
//
// Scope: a list, watch or deletecollection across all namespaces asks discovery whether the
// resource is namespaced, but only when a rule's namespace condition could meet it; not knowing
// leaves that condition unknown (evaluate.ts).

import type { Identity } from '../identity/types.js';
import type { KubeRequest, KubeRequestBody } from '../request/types.js';
import { targetRef } from '../request/target.js';
import type { ObjectRef } from '../request/target.js';
import { KubegateError } from '../errors.js';
import type { CompiledPolicy } from './compile.js';
import type { ApprovalRequirement, Decision, MatchedRule } from './decision.js';
import { evaluate, needsObject, needsScope } from './evaluate.js';
import type { TargetObject } from './evaluate.js';

/** The live-object lookups decide uses (src/upstream/live-objects.ts implements them). */
export interface ObjectLookups {
  get(ref: ObjectRef): Promise<Readonly<Record<string, unknown>> | null>;
  list(ref: {
    readonly apiPrefix: string;
    readonly apiGroup: string;
    readonly apiVersion: string;
    readonly resource: string;
    readonly namespace: string;
    readonly labelSelector: string;
    readonly fieldSelector: string;
  }): Promise<readonly Readonly<Record<string, unknown>>[]>;
  /** Whether a resource is namespaced (discovery); null when the API server does not list it. */
  namespaced(
    ref: Pick<ObjectRef, 'apiPrefix' | 'apiGroup' | 'apiVersion' | 'resource'>,
  ): Promise<boolean | null>;
}

export interface DecideDeps {
  /** The policy in force; read once per request, so a reload never mixes two policies. */
  readonly policy: () => CompiledPolicy;
  readonly objects: ObjectLookups;
  readonly now: () => Date;
  /** How long a lookup may take before the request is judged without the object. */
  readonly timeoutMs: number;
  /** Told why a lookup failed (the decision itself records the rule that failed closed). */
  readonly onLookupError?: (err: unknown, request: KubeRequest) => void;
}

export interface DecideRequest {
  readonly request: KubeRequest;
  readonly body: KubeRequestBody | null;
  readonly identity: Pick<Identity, 'user' | 'groups'>;
}

export function createDecide(deps: DecideDeps): (input: DecideRequest) => Promise<Decision> {
  return async function decide(input: DecideRequest): Promise<Decision> {
    const policy = deps.policy();
    const now = deps.now();
    const { request, body, identity } = input;
    let namespaced: boolean | null = null;
    if (needsScope(policy, input)) {
      try {
        namespaced = await withTimeout(deps.objects.namespaced(request), deps.timeoutMs);
      } catch (err) {
        deps.onLookupError?.(err, request);
      }
    }
    const judge = (object: TargetObject): Decision =>
      evaluate(policy, { request, body, identity, object, now, namespaced });
    if (!needsObject(policy, input)) return judge(null);

    if (request.verb === 'deletecollection') {
      let objects: readonly Readonly<Record<string, unknown>>[];
      try {
        objects = await withTimeout(
          deps.objects.list({
            apiPrefix: request.apiPrefix,
            apiGroup: request.apiGroup,
            apiVersion: request.apiVersion,
            resource: request.resource,
            namespace: request.namespace,
            labelSelector: request.labelSelector,
            fieldSelector: request.fieldSelector,
          }),
          deps.timeoutMs,
        );
      } catch (err) {
        deps.onLookupError?.(err, request);
        return judge('unavailable');
      }
      if (objects.length === 0) return judge(null);
      return strictest(objects.map(judge), ruleOrder(policy));
    }

    const ref = targetRef(request);
    // No object can be named (a proxy id the API server would refuse): judged without one.
    if (ref === null) return judge('unavailable');
    let object: TargetObject;
    try {
      object = await withTimeout(deps.objects.get(ref), deps.timeoutMs);
    } catch (err) {
      deps.onLookupError?.(err, request);
      object = 'unavailable';
    }
    return judge(object);
  };
}

/** Resolves like `promise`, or rejects with KG_UPSTREAM_TIMEOUT after `ms`. */
async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new KubegateError('KG_UPSTREAM_TIMEOUT', `the live object lookup took over ${ms} ms`)),
      ms,
    );
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const RANK = { allow: 0, approve: 1, deny: 2 } as const;

const orders = new WeakMap<CompiledPolicy, ReadonlyMap<string, number>>();

/** Rule name → its position in the policy, built once per policy (names are unique). */
function ruleOrder(policy: CompiledPolicy): ReadonlyMap<string, number> {
  let order = orders.get(policy);
  if (order === undefined) {
    order = new Map(policy.rules.map((r) => [r.name, r.index]));
    orders.set(policy, order);
  }
  return order;
}

/**
 * One decision for several objects: the strictest kind wins; its rules are every matching rule
 * of every object (each rule once, first occurrence kept, in policy order when `order` is
 * given); a deny's messages and an approve's requirements are those of every object decided
 * that way, each once.
 */
export function strictest(decisions: readonly Decision[], order?: ReadonlyMap<string, number>): Decision {
  const first = decisions[0];
  if (first === undefined) throw new KubegateError('KG_INTERNAL', 'strictest() of no decisions');
  if (decisions.length === 1) return first;
  let worst: Decision = first;
  for (const d of decisions) if (RANK[d.kind] > RANK[worst.kind]) worst = d;
  const winners = decisions.filter((d) => d.kind === worst.kind);

  const rules: MatchedRule[] = [];
  const seenRules = new Set<string>();
  for (const d of decisions) {
    for (const r of d.rules) {
      if (seenRules.has(r.name)) continue;
      seenRules.add(r.name);
      rules.push(r);
    }
  }
  if (order !== undefined) rules.sort((a, b) => (order.get(a.name) ?? 0) - (order.get(b.name) ?? 0));
  const byDefault = winners.every((d) => d.byDefault);
  const messages = unique(winners.map((d) => d.message));
  const message = messages.length === 0 ? undefined : messages.join(' ');

  switch (worst.kind) {
    case 'deny':
      return { kind: 'deny', rules, byDefault, message: message ?? worst.message };
    case 'approve': {
      const approval: ApprovalRequirement[] = [];
      const seen = new Set<string | null>();
      for (const d of winners) {
        if (d.kind !== 'approve') continue;
        for (const a of d.approval) {
          if (seen.has(a.rule)) continue;
          seen.add(a.rule);
          approval.push(a);
        }
      }
      return { kind: 'approve', rules, byDefault, approval, ...(message === undefined ? {} : { message }) };
    }
    case 'allow':
      return { kind: 'allow', rules, byDefault, ...(message === undefined ? {} : { message }) };
    default: {
      const never: never = worst;
      return never;
    }
  }
}

function unique(values: readonly (string | undefined)[]): string[] {
  const out: string[] = [];
  for (const v of values) if (v !== undefined && !out.includes(v)) out.push(v);
  return out;
}
