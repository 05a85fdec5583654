// The JSON the reviewer UI reads from kubegate's own API (/kubegate/v1/). The server's own types
// (src/web/api-types.ts, the one module that declares them) are imported, type-only (esbuild
// erases these imports, so no server code reaches the page), so that a change to the API fails
// `tsc -p ui` rather than the page. Must never hold anything but types.
import type { AuditEntry, PolicyView, SessionView } from '../../src/web/api-types.js';

export type {
  ApprovalJson,
  ApprovalRequirement,
  ApprovalStage,
  Approver,
  AuditDecision,
  AuditEvent,
  AuditEventKind,
  AuditRecordList,
  AuditRequestSummary,
  AuditVerification,
  ChainProblem,
  Eligibility,
  EvalDecisionKind,
  EvalReport,
  IdentityProviderView,
  MatchedRule,
  PendingRequest,
  PendingState,
  PolicyEvalInput,
  PolicyEvaluation,
  PolicyView,
  RequestList,
  RequestView,
  Review,
  ReviewerContext,
  ReviewRefusal,
  SignInMethods,
  WatchEvent,
} from '../../src/web/api-types.js';

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

export type PolicyRuleSummary = PolicyView['rules'][number];
