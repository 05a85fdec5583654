// The JSON of kubegate's own API (/kubegate/v1/), in one place: what the handlers in this folder
// send, and what the reviewer UI (ui/src/api-types.ts, type-only) and the CLI
// (cli/reviewer-client.ts) read. Errors are Kubernetes Status objects (errors.ts, toStatus).
// Must never hold anything but types: the UI's bundle imports this file, and esbuild erases only
// type imports.
import type { ApprovalEvent, PendingRequest, Review, ReviewRefusal } from '../approvals/types.js';
import type { AuditEntry } from '../audit/store.js';
import type { VerificationStatus } from '../audit/verifier.js';
import type { ApprovalJson, EvalReport } from '../policy/eval-request.js';
import type { API_VERSION } from './http.js';

export type {
  ApprovalEvent,
  PendingRequest,
  PendingState,
  Review,
  ReviewerContext,
  ReviewRefusal,
} from '../approvals/types.js';
export type { AuditDecision, AuditRequestSummary } from '../audit/record.js';
export type { AuditEvent, AuditEventKind } from '../audit/event.js';
export type { ChainProblem } from '../audit/chain.js';
export type { AuditEntry } from '../audit/store.js';
export type { VerificationStatus } from '../audit/verifier.js';
export type { ApprovalJson, EvalDecisionKind, EvalReport } from '../policy/eval-request.js';
export type { ApprovalRequirement, ApprovalStage, Approver, MatchedRule } from '../policy/decision.js';

// ---- approvals: /kubegate/v1/requests…, /kubegate/v1/watch (approvals-api.ts) ------------------

/** What the caller may do with a request now, and why not. */
export interface Eligibility {
  /** The caller may approve or deny now. */
  readonly canReview: boolean;
  readonly refusal: ReviewRefusal | null;
  /** Why not, in words ('you cannot approve your own request'); null when they may. */
  readonly message: string | null;
  /** The caller is the requester and a matching rule lets them approve it with a written reason. */
  readonly breakGlass: boolean;
  /** The caller is the requester and the request is still pending: they may withdraw it. */
  readonly canWithdraw: boolean;
  /** The caller is the requester and the request is still pending: they may give or change its reason. */
  readonly canGiveReason: boolean;
  /**
   * The caller may deny now: whenever they may review, and also after their own approval while the
   * request is pending (they changed their mind), when canReview is false.
   */
  readonly canDeny: boolean;
}

/** One request as the API shows it: the PendingRequest's fields, plus what the caller may do. */
export interface RequestView extends PendingRequest {
  readonly kind: 'ApprovalRequest';
  readonly apiVersion: typeof API_VERSION;
  readonly eligibility: Eligibility;
  /**
   * Where a person opens the request: its page in the reviewer UI under kubegate's public URL
   * (the link notifications carry too), when one is configured.
   */
  readonly url: string | null;
}

export interface RequestList {
  readonly kind: 'ApprovalRequestList';
  readonly apiVersion: typeof API_VERSION;
  /** Newest first. `context` is null here: GET the request for it. */
  readonly items: readonly RequestView[];
}

/** GET|PUT|DELETE /kubegate/v1/reason: the caller's reason for their next held request. */
export interface NextReasonView {
  readonly kind: 'NextReason';
  readonly apiVersion: typeof API_VERSION;
  /** null: none set (or it expired, or went with a request). */
  readonly reason: string | null;
  readonly expiresAt: string | null;
}

/** The data of one server-sent event; the event's name is `type`. */
export interface WatchEvent {
  readonly type: ApprovalEvent['type'];
  readonly pending: PendingRequest;
  readonly review: Review | null;
  readonly url: string | null;
}

// ---- the session: /kubegate/v1/session (own-api.ts) -------------------------------------------

/** What the session endpoint answers: who is signed in, and the token for changing requests. */
export interface SessionView {
  readonly kind: 'Session';
  readonly apiVersion: typeof API_VERSION;
  readonly user: string;
  readonly groups: readonly string[];
  /** Send as X-Kubegate-CSRF on every POST and DELETE; null when not signed in by cookie. */
  readonly csrfToken: string | null;
  readonly expiresAt: string | null;
}

/**
 * GET /kubegate/v1/session/methods, asked before anyone is signed in: the ways the sign-in page
 * offers. Pasting a kubegate token (POST /kubegate/v1/session) is always one.
 */
export interface SignInMethods {
  readonly kind: 'SignInMethods';
  readonly apiVersion: typeof API_VERSION;
  readonly token: true;
  /** identity.oidc's issuers, in its order (oidc-sign-in.ts). */
  readonly identityProviders: readonly IdentityProviderView[];
}

export interface IdentityProviderView {
  /** The host of the issuer URL: the button reads "Sign in with <name>". */
  readonly name: string;
  /**
   * Where the browser goes to sign in (a navigation, not a fetch); add `&next=<a /ui path>` to
   * land there afterwards.
   */
  readonly startUrl: string;
  /** Why it cannot be used now (kubegate's publicUrl is not set), or null. */
  readonly unavailable: string | null;
}

// ---- the audit trail: /kubegate/v1/audit… (audit-api.ts) --------------------------------------

export interface AuditRecordList {
  readonly kind: 'AuditRecordList';
  readonly apiVersion: typeof API_VERSION;
  /** Newest first. */
  readonly items: readonly AuditEntry[];
}

export type AuditVerification = VerificationStatus & {
  readonly kind: 'AuditVerification';
  readonly apiVersion: typeof API_VERSION;
};

// ---- the policy: /kubegate/v1/policy… (policy-api.ts) -----------------------------------------

export interface PolicyView {
  readonly kind: 'Policy';
  readonly apiVersion: typeof API_VERSION;
  /** null: kubegate runs without a policy (every request RBAC allows goes through). */
  readonly file: string | null;
  readonly source: string;
  readonly digest: string | null;
  readonly loadedAt: string | null;
  readonly failClosed: boolean;
  readonly rules: readonly {
    readonly name: string;
    readonly action: string;
    readonly description: string | null;
    readonly message: string | null;
    readonly approval: ApprovalJson | null;
  }[];
  /** The last reload's problems, when it failed (the previous policy stays in force). */
  readonly lastError: string | null;
}

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
  readonly apiVersion: typeof API_VERSION;
}
