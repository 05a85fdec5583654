// One request through the whole front of the pipeline, for `kubegate policy eval` and policy
// fixtures: method + target + headers + body → parseRequest → withBody → evaluate → a plain JSON
// report. Input: a compiled policy and a request described as the CLI takes it. Output:
//   {request: {verb, apiGroup, apiVersion, resource, subresource, namespace, name, labelSelector,
//    fieldSelector}, decision: allow|deny|approve|reject, rules: [{name, action}],
//    approval: {requirements: […]} | null, message}
// where "reject" means the gateway refuses to parse the request (it answers 400/405) and the
// policy never sees it. Must never do I/O or read the clock (`now` is given), and never report a
// decision other than the one the gateway would reach for the same bytes.

import { KubegateError } from '../errors.js';
import { withBody } from '../request/body.js';
import { parseRequest } from '../request/parse.js';
import type { KubeRequest } from '../request/types.js';
import type { CompiledPolicy } from './compile.js';
import type { ApprovalRequirement, Approver, Decision } from './decision.js';
import { formatDuration } from './duration.js';
import { evaluate } from './evaluate.js';
import type { TargetObject } from './evaluate.js';

export interface EvalRequestSpec {
  readonly method: string;
  /** Path and query, as on the request line: `/api/v1/namespaces/d/pods?watch=1`. */
  readonly target: string;
  /** Lower-case header names, as node presents them. */
  readonly headers?: Readonly<Record<string, string | readonly string[]>>;
  readonly body?: Buffer;
  readonly user: string;
  readonly groups: readonly string[];
  readonly object: TargetObject;
  readonly now: Date;
}

export type EvalDecisionKind = Decision['kind'] | 'reject';

export interface EvalReport {
  readonly request: {
    readonly verb: string;
    readonly apiGroup: string;
    readonly apiVersion: string;
    readonly resource: string;
    readonly subresource: string;
    readonly namespace: string;
    readonly name: string;
    readonly labelSelector: string;
    readonly fieldSelector: string;
  } | null;
  readonly decision: EvalDecisionKind;
  readonly rules: readonly { readonly name: string; readonly action: string }[];
  readonly approval: { readonly requirements: readonly ApprovalJson[] } | null;
  readonly message: string | null;
}

export interface ApprovalJson {
  readonly rule: string | null;
  readonly stages: readonly {
    readonly name: string;
    readonly approvers: readonly string[];
    readonly count: number;
  }[];
  readonly escalateAfter: string | null;
  readonly escalateTo: readonly string[];
  readonly expiresAfter: string | null;
  readonly mode: 'hold' | 'deferred';
  readonly grantTTL: string | null;
  readonly breakGlass: boolean;
}

/** The report plus the full Decision (absent on reject), for callers that need more detail. */
export interface EvalResult {
  readonly report: EvalReport;
  readonly decision: Decision | null;
}

export function evalRequest(policy: CompiledPolicy, spec: EvalRequestSpec): EvalResult {
  let request: KubeRequest;
  let decision: Decision;
  try {
    request = parseRequest({ method: spec.method, target: spec.target, headers: spec.headers ?? {} });
    const body = withBody(request, spec.body ?? Buffer.alloc(0));
    decision = evaluate(policy, {
      request,
      body,
      identity: { user: spec.user, groups: spec.groups },
      object: spec.object,
      now: spec.now,
    });
  } catch (err) {
    // Only the parser's refusals are a "reject"; anything else is a bug and must surface.
    if (!(err instanceof KubegateError)) throw err;
    return {
      report: { request: null, decision: 'reject', rules: [], approval: null, message: err.message },
      decision: null,
    };
  }
  return {
    report: {
      request: {
        verb: request.verb,
        apiGroup: request.apiGroup,
        apiVersion: request.apiVersion,
        resource: request.resource,
        subresource: request.subresource,
        namespace: request.namespace,
        name: request.name,
        labelSelector: request.labelSelector,
        fieldSelector: request.fieldSelector,
      },
      decision: decision.kind,
      rules: decision.rules.map((r) => ({ name: r.name, action: r.action })),
      approval: decision.kind === 'approve' ? { requirements: decision.approval.map(approvalJson) } : null,
      message: decision.message ?? null,
    },
    decision,
  };
}

const approverText = (a: Approver): string => `${a.kind}:${a.name}`;
const durationText = (ms: number | null): string | null => (ms === null ? null : formatDuration(ms));

/** A requirement as reports and the UI show it: approvers as kind:name, durations as text. */
export function approvalJson(a: ApprovalRequirement): ApprovalJson {
  return {
    rule: a.rule,
    stages: a.stages.map((s) => ({ name: s.name, approvers: s.approvers.map(approverText), count: s.count })),
    escalateAfter: durationText(a.escalateAfterMs),
    escalateTo: a.escalateTo.map(approverText),
    expiresAfter: durationText(a.expiresAfterMs),
    mode: a.mode,
    grantTTL: durationText(a.grantTtlMs),
    breakGlass: a.breakGlass,
  };
}
