// The JSON the reviewer UI reads from kubegate's own API (/kubegate/v1/). The server's own types
// are imported, type-only (esbuild erases these imports, so no server code reaches the page), so
// that a change to the API fails `tsc -p ui` rather than the page. Must never hold anything but
// types.
import type { Eligibility, RequestList, RequestView, WatchEvent } from '../../src/approvals/api.js';
import type {
  PendingRequest,
  PendingState,
  Review,
  ReviewerContext,
  ReviewRefusal,
} from '../../src/approvals/types.js';
import type { AuditDecision, AuditRequestSummary } from '../../src/audit/record.js';
import type { AuditEvent, AuditEventKind } from '../../src/audit/event.js';
import type { ChainProblem } from '../../src/audit/chain.js';
import type { AuditEntry } from '../../src/audit/query.js';
import type { VerificationStatus } from '../../src/audit/verifier.js';
import type { PolicyView as PolicyViewData } from '../../src/policy/api.js';
import type { SessionView } from '../../src/web/own-api.js';
import type { ApprovalJson, EvalDecisionKind, EvalReport } from '../../src/policy/eval-request.js';
import type { ApprovalRequirement, ApprovalStage, Approver, MatchedRule } from '../../src/policy/decision.js';

export type {
  ApprovalJson,
  ApprovalRequirement,
  ApprovalStage,
  Approver,
  AuditDecision,
  AuditEvent,
  AuditEventKind,
  AuditRequestSummary,
  ChainProblem,
  Eligibility,
  EvalDecisionKind,
  EvalReport,
  MatchedRule,
  PendingRequest,
  PendingState,
  RequestList,
  RequestView,
  Review,
  ReviewerContext,
  ReviewRefusal,
  WatchEvent,
};

/** A Kubernetes Status: every error of the API, and the answer to a sign-out. */
export interface Status {
  readonly kind: 'Status';
  readonly status: 'Success' | 'Failure';
  readonly message?: string;
  readonly reason?: string;
  readonly code?: number;
  readonly details?: unknown;
}

/**
 * GET/POST /kubegate/v1/session. The session cookie itself is HttpOnly: the page never sees it.
 * csrfToken goes back as X-Kubegate-CSRF on every changing request and is kept in memory only.
 */
export type Session = SessionView;

/** One record of the hash-chained trail. */
export type AuditRecord = AuditEntry;

export interface AuditRecordList {
  readonly kind: 'AuditRecordList';
  /** Newest first. */
  readonly items: readonly AuditRecord[];
}

export type AuditVerification = VerificationStatus & { readonly kind: 'AuditVerification' };

export type PolicyView = PolicyViewData;
export type PolicyRuleSummary = PolicyView['rules'][number];

/** POST /kubegate/v1/policy/eval; user and groups default to the caller's own. */
export interface PolicyEvalInput {
  readonly method: string;
  readonly path: string;
  readonly user?: string;
  readonly groups?: readonly string[];
  /** The live target's labels; 'unavailable' when it could not be read; absent when there is none. */
  readonly objectLabels?: Readonly<Record<string, string>> | 'unavailable';
  /** A JSON request body. */
  readonly body?: string;
}

export interface PolicyEvaluation extends EvalReport {
  readonly kind: 'PolicyEvaluation';
}
