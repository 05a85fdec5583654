// The pending-request state machine: pure functions from (pending, input, now) to a new pending.
//
// Place: the core of approvals; service.ts does the I/O (store, audit, timers, waiting) around it.
// Input: PendingRequest records and plain review inputs; the time is always passed in.
// Output: new readonly records, or the ReviewRefusal that explains why nothing changed.
// Must never: let the requester approve their own request except through a rule's break-glass
// path (DESIGN.md, invariant 4); count a person twice; let a later stage act before an earlier one
// is complete; decide anything after the request left `pending`.
//
// Rules, as DESIGN.md "Approvals" states them:
// - Every requirement (one per matching approve rule) must pass all of its stages, in order. One
//   approval counts for the current stage of every requirement that lists the reviewer, so a
//   member of group sre can move two rules forward at once.
// - A person reviews a request once: they count once, in one stage, and cannot approve a stage
//   after approving the one before (stages want distinct people).
// - Approvers are `user:NAME` or `group:NAME` of the stage; once the request has escalated, the
//   requirement's `escalateTo` approvers qualify for its current stage too.
// - Any eligible deny denies the whole request. A reviewer who approved may still deny while the
//   request is pending (they changed their mind); nobody approves twice.
// - Only the requester withdraws a request, and only while it is pending.
// - A request the policy would hold becomes deferred when its last waiting client leaves, so an
//   approval never sends a command nobody waits for; a client that comes back holds it again.
// - Break-glass: the requester may approve their own request with a written reason when *every*
//   requirement allows it (a rule without break-glass is not unlocked by another rule that has it,
//   so adding a rule never weakens one). It approves all stages at once and is flagged.
// - Deadlines come from the strictest requirement: the earliest escalation and expiry. The grant
//   lasts the longest grantTtl asked for (DEFAULT_GRANT_TTL_MS when none is), once.
// Progress is replayed from the reviews on every change, so `stageIndex` is a cache that can
// always be checked against the reviews that produced it.
import { agentFields } from '../identity/agents.js';
import type { Identity } from '../identity/types.js';
import type { ApprovalRequirement, ApprovalStage, Approver } from '../policy/decision.js';
import { kubectlEquivalent } from '../request/kubectl-command.js';
import { bodyObjectName } from '../request/body.js';
import { redactBody } from './redact.js';
import type { HoldRequest, PendingRequest, RequestSummary, Review, ReviewRefusal } from './types.js';

export const DEFAULT_GRANT_TTL_MS = 10 * 60_000;

/**
 * How long a denial answers the same request again at once: kubectl's WebSocket → SPDY fallback
 * comes milliseconds later, and a person re-running a denied command must not get a fresh
 * request that one other reviewer could approve.
 */
export const DENIAL_STICKS_MS = 60_000;

export type Person = Pick<Identity, 'user' | 'groups'>;

/** What a reviewer submits. */
export interface ReviewInput {
  readonly reviewer: Person;
  readonly decision: 'approve' | 'deny';
  readonly comment: string;
  /** Present when the requester self-approves through break-glass; must be a written reason. */
  readonly breakGlassReason?: string;
}

export type ReviewApplied =
  | { readonly ok: true; readonly pending: PendingRequest; readonly review: Review }
  | { readonly ok: false; readonly refusal: ReviewRefusal };

/** Where one requirement stands: for messages, the UI and notifications. */
export interface RequirementProgress {
  readonly requirement: ApprovalRequirement;
  readonly done: boolean;
  /** The stage under review (null when done). */
  readonly stage: ApprovalStage | null;
  /** Who may approve the current stage now (with escalateTo once escalated). */
  readonly approvers: readonly Approver[];
  /** Who has approved the current stage so far. */
  readonly approvedBy: readonly string[];
  /** Approvals the current stage still needs. */
  readonly needed: number;
  /** Stages after the current one. */
  readonly later: readonly ApprovalStage[];
}

function ms(iso: string): number {
  return Date.parse(iso);
}

function stageCount(stage: ApprovalStage): number {
  // A stage that asks for nobody would approve without a person: take it as one (fail closed).
  return Math.max(1, Math.floor(stage.count));
}

function minOf(values: readonly (number | null)[]): number | null {
  const present = values.filter((v): v is number => v !== null);
  return present.length === 0 ? null : Math.min(...present);
}

function qualifies(person: Person, approvers: readonly Approver[]): boolean {
  return approvers.some((a) => (a.kind === 'user' ? a.name === person.user : person.groups.includes(a.name)));
}

/** Escalation is a fact of time: at or after escalateAt the escalateTo approvers qualify. */
function escalatedAt(pending: Pick<PendingRequest, 'escalated' | 'escalateAt'>, at: number): boolean {
  return pending.escalated || (pending.escalateAt !== null && at >= ms(pending.escalateAt));
}

function stageApprovers(requirement: ApprovalRequirement, stage: ApprovalStage, escalated: boolean) {
  return escalated ? [...stage.approvers, ...requirement.escalateTo] : stage.approvers;
}

/** Escalation as of a past review: only the time counts, so a later escalation never rewrites it. */
function escalatedBy(escalateAt: string | null, at: number): boolean {
  return escalateAt !== null && at >= ms(escalateAt);
}

interface Replayed {
  readonly stageIndex: readonly number[];
  readonly approvedBy: readonly (readonly string[])[];
}

/** Replays the approvals in order through every requirement's stages. */
function replay(
  requirements: readonly ApprovalRequirement[],
  reviews: readonly Review[],
  escalateAt: string | null,
): Replayed {
  const stageIndex = requirements.map(() => 0);
  const approvedBy: string[][] = requirements.map(() => []);
  for (const review of reviews) {
    if (review.decision !== 'approve') continue;
    requirements.forEach((requirement, i) => {
      const index = stageIndex[i] as number;
      const stage = requirement.stages[index];
      if (stage === undefined) return;
      if (review.breakGlass) {
        stageIndex[i] = requirement.stages.length;
        approvedBy[i] = [];
        return;
      }
      const person = { user: review.reviewer, groups: review.reviewerGroups };
      const escalated = escalatedBy(escalateAt, ms(review.at));
      if (!qualifies(person, stageApprovers(requirement, stage, escalated))) return;
      const counted = approvedBy[i] as string[];
      counted.push(review.reviewer);
      if (counted.length >= stageCount(stage)) {
        stageIndex[i] = index + 1;
        approvedBy[i] = [];
      }
    });
  }
  return { stageIndex, approvedBy };
}

function allDone(requirements: readonly ApprovalRequirement[], stageIndex: readonly number[]): boolean {
  // No requirement at all approves nothing: such a request can only expire (fail closed).
  return (
    requirements.length > 0 && requirements.every((r, i) => (stageIndex[i] as number) >= r.stages.length)
  );
}

function summaryOf(input: Pick<HoldRequest, 'request' | 'body'>): RequestSummary {
  const { request, body } = input;
  return {
    method: request.method,
    path: request.path,
    rawQuery: request.rawQuery,
    verb: request.verb,
    apiGroup: request.apiGroup,
    apiVersion: request.apiVersion,
    resource: request.resource,
    subresource: request.subresource,
    namespace: request.namespace,
    // A create names its object in the body only; reviewers want to see that name.
    name: request.name !== '' ? request.name : bodyObjectName(body),
    labelSelector: request.labelSelector,
    fieldSelector: request.fieldSelector,
    bodyDigest: body.digest,
    kubectlCommand: request.kubectlCommand,
    // Rendered from the redacted body: a patch's text is shown, and must not show a credential.
    kubectlEquivalent: kubectlEquivalent(request, redactBody(body, request)),
  };
}

/** A new pending request for a request whose decision is approve. */
export function createPending(
  input: Pick<HoldRequest, 'identity' | 'request' | 'body' | 'decision'>,
  fingerprint: string,
  id: string,
  now: Date,
  /** The expiry when no requirement sets one (config approvals.pendingExpiryMs); null: none. */
  defaultExpiryMs: number | null = null,
): PendingRequest {
  const requirements = input.decision.approval;
  const at = now.getTime();
  const expiresAfter = minOf(requirements.map((r) => r.expiresAfterMs)) ?? defaultExpiryMs;
  const escalateAfter = minOf(requirements.map((r) => r.escalateAfterMs));
  return {
    id,
    fingerprint,
    state: 'pending',
    requester: {
      user: input.identity.user,
      groups: [...input.identity.groups],
      ...(input.identity.oidc === undefined ? {} : { oidc: input.identity.oidc }),
      ...agentFields(input.identity),
    },
    request: summaryOf(input),
    rules: input.decision.rules,
    requirements,
    stageIndex: replay(requirements, [], null).stageIndex,
    reviews: [],
    mode: policyMode(requirements),
    requesterLeftAt: null,
    createdAt: now.toISOString(),
    expiresAt: expiresAfter === null ? null : new Date(at + expiresAfter).toISOString(),
    escalateAt: escalateAfter === null ? null : new Date(at + escalateAfter).toISOString(),
    escalated: false,
    decidedAt: null,
    context: null,
    grantExpiresAt: null,
    grantUsed: false,
  };
}

/** The mode the policy asks for: deferred when any requirement defers. */
export function policyMode(requirements: readonly ApprovalRequirement[]): 'hold' | 'deferred' {
  return requirements.some((r) => r.mode === 'deferred') ? 'deferred' : 'hold';
}

/** True when the request is pending and its expiry has not come. */
export function isOpen(pending: PendingRequest, now: Date): boolean {
  return pending.state === 'pending' && (pending.expiresAt === null || now.getTime() < ms(pending.expiresAt));
}

/** True when break-glass is open to the requester: every requirement allows it. */
export function breakGlassAllowed(pending: PendingRequest): boolean {
  return pending.requirements.length > 0 && pending.requirements.every((r) => r.breakGlass);
}

/**
 * Why `reviewer` may not review `pending` at `now`, or null when they may. With `breakGlass`,
 * whether the requester may self-approve with that reason.
 */
export function eligibility(
  pending: PendingRequest,
  reviewer: Person,
  now: Date,
  options: { readonly breakGlassReason?: string; readonly decision?: 'approve' | 'deny' } = {},
): ReviewRefusal | null {
  if (!isOpen(pending, now)) return 'not-pending';
  const own = reviewer.user === pending.requester.user;
  if (options.breakGlassReason !== undefined) {
    if (!own || !breakGlassAllowed(pending)) return 'break-glass-not-allowed';
    if (options.breakGlassReason.trim() === '') return 'break-glass-needs-reason';
    return null;
  }
  if (own) return 'own-request';
  const earlier = pending.reviews.filter((r) => r.reviewer === reviewer.user);
  if (earlier.length > 0) {
    // A reviewer who approved may still stop the request while it waits: their approval counted
    // where it qualified, so their deny does too.
    const changesMind = options.decision === 'deny' && earlier.every((r) => r.decision === 'approve');
    return changesMind ? null : 'already-reviewed';
  }
  const escalated = escalatedAt(pending, now.getTime());
  const { stageIndex } = replay(pending.requirements, pending.reviews, pending.escalateAt);
  const current = pending.requirements.some((requirement, i) => {
    const stage = requirement.stages[stageIndex[i] as number];
    return stage !== undefined && qualifies(reviewer, stageApprovers(requirement, stage, escalated));
  });
  return current ? null : 'not-an-approver';
}

function grantTtlOf(requirements: readonly ApprovalRequirement[]): number {
  const ttls = requirements.map((r) => r.grantTtlMs).filter((v): v is number => v !== null);
  return ttls.length === 0 ? DEFAULT_GRANT_TTL_MS : Math.max(...ttls);
}

/** Applies one review: the new pending (maybe decided) and the Review record, or the refusal. */
export function applyReview(pending: PendingRequest, input: ReviewInput, now: Date): ReviewApplied {
  const breakGlass = input.breakGlassReason !== undefined;
  const refusal = eligibility(
    pending,
    input.reviewer,
    now,
    breakGlass ? { breakGlassReason: input.breakGlassReason } : { decision: input.decision },
  );
  if (refusal !== null) return { ok: false, refusal };
  if (breakGlass && input.decision !== 'approve') return { ok: false, refusal: 'break-glass-not-allowed' };

  const reason = input.breakGlassReason?.trim() ?? '';
  const comment = input.comment.trim();
  const review: Review = {
    reviewer: input.reviewer.user,
    reviewerGroups: [...input.reviewer.groups],
    decision: input.decision,
    comment: breakGlass ? (comment === '' || comment === reason ? reason : `${reason}\n${comment}`) : comment,
    at: now.toISOString(),
    breakGlass,
  };
  const reviews = [...pending.reviews, review];
  const at = now.toISOString();
  if (input.decision === 'deny') {
    return { ok: true, review, pending: { ...pending, reviews, state: 'denied', decidedAt: at } };
  }
  const { stageIndex } = replay(pending.requirements, reviews, pending.escalateAt);
  if (!allDone(pending.requirements, stageIndex)) {
    return { ok: true, review, pending: { ...pending, reviews, stageIndex } };
  }
  return {
    ok: true,
    review,
    pending: {
      ...pending,
      reviews,
      stageIndex,
      state: 'approved',
      decidedAt: at,
      grantExpiresAt: new Date(now.getTime() + grantTtlOf(pending.requirements)).toISOString(),
      grantUsed: false,
    },
  };
}

/** Marks the request escalated once its escalation time has come; unchanged otherwise. */
export function escalate(pending: PendingRequest, now: Date): PendingRequest {
  if (pending.escalated || pending.escalateAt === null || !isOpen(pending, now)) return pending;
  if (now.getTime() < ms(pending.escalateAt)) return pending;
  return { ...pending, escalated: true };
}

/** Expires a pending request once its expiry has come; unchanged otherwise. */
export function expire(pending: PendingRequest, now: Date): PendingRequest {
  if (pending.state !== 'pending' || pending.expiresAt === null) return pending;
  if (now.getTime() < ms(pending.expiresAt)) return pending;
  return { ...pending, state: 'expired', decidedAt: now.toISOString() };
}

/** The requester takes their pending request back: the withdrawn request, or why not. */
export function withdraw(
  pending: PendingRequest,
  requester: Person,
  now: Date,
):
  | { readonly ok: true; readonly pending: PendingRequest }
  | { readonly ok: false; readonly refusal: ReviewRefusal } {
  if (!isOpen(pending, now)) return { ok: false, refusal: 'not-pending' };
  if (requester.user !== pending.requester.user) return { ok: false, refusal: 'not-requester' };
  return { ok: true, pending: { ...pending, state: 'withdrawn', decidedAt: now.toISOString() } };
}

/**
 * The last held client stopped waiting: a held request becomes deferred, so its approval yields a
 * grant for the requester's re-run instead of sending a command nobody waits for. Unchanged when
 * it is no longer pending or nobody was holding it.
 */
export function requesterLeft(pending: PendingRequest, now: Date): PendingRequest {
  if (pending.state !== 'pending' || pending.mode !== 'hold') return pending;
  return { ...pending, mode: 'deferred', requesterLeftAt: now.toISOString() };
}

/** A client runs the command again while it is pending: held again, where the policy holds. */
export function requesterBack(pending: PendingRequest): PendingRequest {
  if (pending.state !== 'pending' || pending.requesterLeftAt === null) return pending;
  if (policyMode(pending.requirements) === 'deferred') return pending;
  return { ...pending, mode: 'hold', requesterLeftAt: null };
}

/** True when a denial of this request still answers the same request again (DENIAL_STICKS_MS). */
export function denialSticks(pending: PendingRequest, now: Date): boolean {
  return (
    pending.state === 'denied' &&
    pending.decidedAt !== null &&
    now.getTime() - ms(pending.decidedAt) < DENIAL_STICKS_MS
  );
}

/** Whether the person is among those any stage of any requirement asks (escalation included). */
export function amongApprovers(pending: PendingRequest, person: Person): boolean {
  return pending.requirements.some((r) =>
    r.stages.some((stage) => qualifies(person, stageApprovers(r, stage, pending.escalated))),
  );
}

/** True when the request is approved and its one-time grant is unused and unexpired. */
export function grantUsable(pending: PendingRequest, now: Date): boolean {
  return (
    pending.state === 'approved' &&
    !pending.grantUsed &&
    pending.grantExpiresAt !== null &&
    now.getTime() < ms(pending.grantExpiresAt)
  );
}

/** Uses the grant (once): the request with its grant spent, or null when there is none to use. */
export function useGrant(pending: PendingRequest, now: Date): PendingRequest | null {
  return grantUsable(pending, now) ? { ...pending, grantUsed: true } : null;
}

/** The next time something happens to this request on its own (escalation or expiry), or null. */
export function nextDeadline(pending: PendingRequest): Date | null {
  if (pending.state !== 'pending') return null;
  const times = [pending.escalated ? null : pending.escalateAt, pending.expiresAt]
    .filter((t): t is string => t !== null)
    .map(ms);
  return times.length === 0 ? null : new Date(Math.min(...times));
}

/** Where every requirement stands at `now`. */
export function progressOf(pending: PendingRequest, now: Date): readonly RequirementProgress[] {
  const { stageIndex, approvedBy } = replay(pending.requirements, pending.reviews, pending.escalateAt);
  const escalated = escalatedAt(pending, now.getTime());
  return pending.requirements.map((requirement, i) => {
    const index = stageIndex[i] as number;
    const stage = requirement.stages[index] ?? null;
    const counted = approvedBy[i] as readonly string[];
    return {
      requirement,
      done: stage === null,
      stage,
      approvers: stage === null ? [] : stageApprovers(requirement, stage, escalated),
      approvedBy: counted,
      needed: stage === null ? 0 : stageCount(stage) - counted.length,
      later: requirement.stages.slice(index + 1),
    };
  });
}
