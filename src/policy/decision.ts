// The decide stage's output: what the policy says about one request. Produced by evaluate.ts,
// read by hold (approve), the gateway (allow/deny) and audit. Plain readonly data; consumers
// switch on `kind` exhaustively. Must never carry rule bodies (patterns, CEL): messages reach
// the client, and rule internals are not theirs to see.

import type { RuleAction } from './schema.js';

export type { RuleAction };

export interface Approver {
  readonly kind: 'user' | 'group';
  readonly name: string;
}

export interface ApprovalStage {
  readonly name: string;
  readonly approvers: readonly Approver[];
  /** Distinct people, other than the requester, who must approve in this stage. */
  readonly count: number;
}

/** One rule's approval requirement; when several approve rules match, every one must be met. */
export interface ApprovalRequirement {
  /** The rule that asks for it; null when it comes from the policy's defaults. */
  readonly rule: string | null;
  readonly message?: string;
  /** At least one stage, run in order (a rule with plain `approvers` has one stage, "approval"). */
  readonly stages: readonly ApprovalStage[];
  readonly escalateAfterMs: number | null;
  readonly escalateTo: readonly Approver[];
  readonly expiresAfterMs: number | null;
  readonly mode: 'hold' | 'deferred';
  readonly grantTtlMs: number | null;
  readonly breakGlass: boolean;
  /** Reviewers may approve more than this one request, for up to maxMs; absent: they may not. */
  readonly standing?: StandingPolicy;
}

/** What a rule lets reviewers approve beyond the one request (approval.standing). */
export interface StandingPolicy {
  readonly maxMs: number;
  /** identical: the same request again; rule: also like requests (see approvals/standing.ts). */
  readonly scope: 'identical' | 'rule';
}

export interface MatchedRule {
  readonly name: string;
  readonly action: RuleAction;
  readonly message?: string;
  /**
   * Set when part of the rule could not be checked (the live object could not be fetched, a
   * selector did not parse, CEL failed) and the rule was taken as matching because it denies or
   * asks for approval: the strict outcome. Allow rules in that state do not match at all.
   */
  readonly failedClosed?: string;
}

interface DecisionBase {
  /** Every matching rule, in policy order, whatever its action. Empty when the defaults decided. */
  readonly rules: readonly MatchedRule[];
  /** No rule matched: the policy's defaults decided. */
  readonly byDefault: boolean;
}

export interface AllowDecision extends DecisionBase {
  readonly kind: 'allow';
  readonly message?: string;
}

export interface DenyDecision extends DecisionBase {
  readonly kind: 'deny';
  /** For the client: the deny rules' messages, or a sentence naming the rule. */
  readonly message: string;
}

export interface ApproveDecision extends DecisionBase {
  readonly kind: 'approve';
  readonly message?: string;
  /** One requirement per matching approve rule (or the defaults'); all of them apply. */
  readonly approval: readonly ApprovalRequirement[];
}

export type Decision = AllowDecision | DenyDecision | ApproveDecision;
