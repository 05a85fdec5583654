// The approvals domain: a request whose decision is `approve` becomes a PendingRequest bound to
// its fingerprint; reviewers' decisions move it through its requirements' stages; an approved
// request yields a one-time Grant for the same fingerprint. Plain readonly data: the state
// machine (state-machine.ts) is pure, the service (service.ts) does the I/O.
import type { Identity } from '../identity/types.js';
import type { Standing, StandingAsk } from './standing.js';
import type { ApprovalRequirement, ApproveDecision, MatchedRule } from '../policy/decision.js';
import type { KubeRequest, KubeRequestBody } from '../request/types.js';

/** `withdrawn`: the requester took the request back before it was decided. */
export type PendingState = 'pending' | 'approved' | 'denied' | 'expired' | 'withdrawn';

/** The request as reviewers see it and as the fingerprint binds it. */
export interface RequestSummary {
  readonly method: string;
  readonly path: string;
  readonly rawQuery: string;
  readonly verb: string;
  readonly apiGroup: string;
  readonly apiVersion: string;
  readonly resource: string;
  readonly subresource: string;
  readonly namespace: string;
  readonly name: string;
  readonly labelSelector: string;
  readonly fieldSelector: string;
  readonly bodyDigest: string;
  readonly kubectlCommand: string;
  /** kubegate's rendering of the request as a kubectl command line (request/kubectl-command.ts). */
  readonly kubectlEquivalent: string;
}

export interface Review {
  readonly reviewer: string;
  readonly reviewerGroups: readonly string[];
  readonly decision: 'approve' | 'deny';
  readonly comment: string;
  readonly at: string; // ISO time
  /** Set when the requester approved their own request through a rule's break-glass path. */
  readonly breakGlass: boolean;
}

/** What reviewers need to see; filled in after the request is created (may stay partial). */
export interface ReviewerContext {
  /** Labels of the live target object (the pod for exec/attach/portforward). */
  readonly targetLabels: Readonly<Record<string, string>> | null;
  /** Server-side dry run of the request as the requester: the object it would produce. */
  readonly dryRun: {
    readonly status: number;
    readonly object: unknown;
    readonly message: string | null;
  } | null;
  /** Unified diff (YAML) between the live object and the dry-run result; '' when unchanged. */
  readonly diff: string | null;
  /** For deletes of many objects: what would be deleted (namespace/name). */
  readonly objects: readonly string[] | null;
  /** For exec/attach: the command and container. */
  readonly exec: { readonly command: readonly string[]; readonly container: string } | null;
  /** Why some of the above is missing (e.g. the dry run was refused). */
  readonly notes: readonly string[];
}

export interface PendingRequest {
  /** Short id users type: `kg-` + 10 lowercase base32 characters. */
  readonly id: string;
  readonly fingerprint: string;
  readonly state: PendingState;
  /**
   * Who asked; `oidc` (issuer and subject) when they signed in with OpenID Connect; `agent` (and
   * `onBehalfOf`) when they are an AI agent.
   */
  readonly requester: Pick<Identity, 'user' | 'groups' | 'oidc' | 'agent' | 'onBehalfOf'>;
  readonly request: RequestSummary;
  readonly rules: readonly MatchedRule[];
  /** Every matching approve rule's requirement; all must be met. */
  readonly requirements: readonly ApprovalRequirement[];
  /** Per requirement, the index of the stage under review (== stages.length when done). */
  readonly stageIndex: readonly number[];
  readonly reviews: readonly Review[];
  /**
   * hold: a client is waiting for the decision and goes through on approval. deferred: nobody
   * waits (the rule asks for it, or the held client went away: see requesterLeftAt); an approval
   * yields a grant that only the requester's re-run consumes.
   */
  readonly mode: 'hold' | 'deferred';
  /**
   * When the last held client stopped waiting (gave up, timed out, or was told to re-run), for a
   * request the policy would hold; null while a client waits, or when the rule defers anyway.
   */
  readonly requesterLeftAt: string | null;
  readonly createdAt: string;
  readonly expiresAt: string | null;
  readonly escalateAt: string | null;
  readonly escalated: boolean;
  readonly decidedAt: string | null;
  readonly context: ReviewerContext | null;
  /**
   * Why the requester asks, in their words (`kubegate reason "…"` before the command, or the
   * request page): one line of plain text, at most MAX_REASON_LENGTH (reasons.ts) characters.
   * Absent when none was given, and in requests stored before reasons existed.
   */
  readonly reason?: string;
  /** After approval: the grant lets the same fingerprint through once until this time. */
  readonly grantExpiresAt: string | null;
  readonly grantUsed: boolean;
  /**
   * Set when the approving reviewer let more like it through for a while (approvals/standing.ts);
   * the grant then stays usable until it ends or is revoked. Absent otherwise.
   */
  readonly standing?: Standing;
}

/** Why a reviewer may not act, or null when they may. */
export type ReviewRefusal =
  | 'own-request'
  | 'not-an-approver'
  | 'already-reviewed'
  | 'not-pending'
  | 'not-requester'
  | 'break-glass-not-allowed'
  | 'break-glass-needs-reason'
  | 'standing-not-allowed';

/** What the pipeline's hold stage learns about a request needing approval. */
export type HoldOutcome =
  | { readonly kind: 'proceed'; readonly pending: PendingRequest; readonly viaGrant: boolean }
  | { readonly kind: 'denied'; readonly pending: PendingRequest }
  | { readonly kind: 'expired'; readonly pending: PendingRequest }
  | { readonly kind: 'waiting'; readonly pending: PendingRequest; readonly created: boolean };

export type ApprovalEvent =
  | { readonly type: 'created'; readonly pending: PendingRequest }
  | { readonly type: 'reviewed'; readonly pending: PendingRequest; readonly review: Review }
  | { readonly type: 'escalated'; readonly pending: PendingRequest }
  | { readonly type: 'decided'; readonly pending: PendingRequest }
  | { readonly type: 'expired'; readonly pending: PendingRequest }
  | { readonly type: 'context'; readonly pending: PendingRequest }
  | { readonly type: 'granted'; readonly pending: PendingRequest }
  /** Otherwise changed: its held client stopped waiting (now deferred), or a re-run holds it again. */
  | { readonly type: 'updated'; readonly pending: PendingRequest };

/** What the gateway's hold stage hands the approval service. */
export interface HoldRequest {
  readonly identity: Identity;
  readonly request: KubeRequest;
  readonly body: KubeRequestBody;
  /** The exact body bytes (for the reviewer's dry run); null when none. */
  readonly bodyBytes: Buffer | null;
  readonly decision: ApproveDecision;
  readonly requestId: string;
  readonly sourceAddress: string | null;
  /** Aborted when the client goes away: the wait ends, the pending request stays. */
  readonly signal: AbortSignal;
}

export type ReviewResult =
  | { readonly ok: true; readonly pending: PendingRequest }
  | { readonly ok: false; readonly refusal: ReviewRefusal | 'not-found'; readonly message: string };

/** The approval service as the gateway, the REST API, the CLI and the UI use it. */
export interface ApprovalService {
  /**
   * For a request whose decision is approve: uses a matching unused grant, or joins the pending
   * request with the same fingerprint, or creates one; in hold mode waits (until decided, the
   * hold limit, or the client leaving). Never forwards anything itself.
   */
  hold(input: HoldRequest): Promise<HoldOutcome>;
  list(filter?: { readonly state?: PendingState }): Promise<readonly PendingRequest[]>;
  get(id: string): Promise<PendingRequest | null>;
  /** Why `reviewer` may not review `pending` now, or null when they may (for the UI and API). */
  eligibility(pending: PendingRequest, reviewer: Pick<Identity, 'user' | 'groups'>): ReviewRefusal | null;
  review(
    id: string,
    reviewer: Pick<Identity, 'user' | 'groups'>,
    decision: 'approve' | 'deny',
    comment: string,
    options?: { readonly breakGlassReason?: string; readonly standing?: StandingAsk },
  ): Promise<ReviewResult>;
  /** The requester takes their own pending request back; a held client is told so at once. */
  withdraw(id: string, requester: Pick<Identity, 'user' | 'groups'>): Promise<ReviewResult>;
  /** Ends a request's standing approval at once (its requester or one of its approvers). */
  revokeStanding(id: string, person: Pick<Identity, 'user' | 'groups'>): Promise<ReviewResult>;
  /**
   * The requester gives or changes the reason of their own pending request (the request page);
   * text already checked (MAX_REASON_LENGTH, plain). Absent: the service keeps no reasons.
   */
  giveReason?(
    id: string,
    requester: Pick<Identity, 'user' | 'groups'>,
    reason: string,
  ): Promise<ReviewResult>;
  subscribe(listener: (event: ApprovalEvent) => void): () => void;
  close(): Promise<void>;
}
