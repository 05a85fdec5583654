// The approval service: hold's I/O around the pure state machine. It keeps pending requests in
// the store, writes every step to the audit trail, holds clients until a decision, runs the
// escalation and expiry timers, and tells subscribers (SSE, notifications) what happened.
//
// Place: stage 5 (hold) of the request path, and the back end of the REST API, CLI and UI.
// Input: HoldRequest from the gateway; reviews from authenticated reviewers. Output: HoldOutcome
// (the gateway forwards only on `proceed`) and ReviewResult.
// Must never: forward anything itself; let a request through without an approval for exactly
// its fingerprint and the same requirements (invariant 3); resolve a review, or report a grant
// used, before its audit record is durable (invariant 1); lose a pending request or a review
// across a crash (the store is written before anyone is told); block the request path on
// reviewer context or notifications (both run in the background).
//
// Ordering, for crash safety and the audit trail:
// - create: 'approval-requested' durable → store → 'created' emitted. A crash in between leaves a
//   record of a request nobody can approve, never a request without its record.
// - review: store (compare-and-set) → 'reviewed' durable → emitted, waiters woken. When the audit
//   write fails the store is put back and the reviewer gets the error.
// - grant: store marks it used (compare-and-set, so two clients cannot both use it) → 'granted'
//   durable → proceed. When the audit write fails the grant is given back.
// - escalation and expiry: store → audit → emitted. Timers are re-armed from the store at start,
//   so a restart keeps every deadline; a deadline that passed while down fires at once.
// - withdraw: store (compare-and-set) → 'withdrawn' durable → 'decided' emitted, waiters woken.
// A held request is forwarded only to a client that is still there: when the last one leaves (it
// gave up, or the hold limit sent it away) the request turns deferred in the store, so its
// approval yields a grant for the requester's re-run and nothing is sent on its own. A denial
// answers the same request again at once for DENIAL_STICKS_MS (kubectl's transport fallback).
// Where the store writes a step and its record in one transaction (PostgreSQL), each step above
// is that one write instead: applied with its record or not at all, even over a dropped
// connection. Several replicas on one store hear each other's events through store.changes: a
// remote decision wakes the clients held here, a remote creation arms its deadlines here too, and
// subscribers (SSE, the UI) see every replica's events; notifications (webhooks) go out from the
// replica that made the change only. Every replica arms every deadline; the compare-and-set lets
// exactly one of them apply it and record it, and the others find it applied.
import { randomBytes } from 'node:crypto';
import { auditEvent, type AuditEvent, type AuditEventKind, type AuditTrail } from '../audit/event.js';
import { agentFields } from '../identity/agents.js';
import { requestTarget, summarize, type AuditRequestSummary } from '../audit/record.js';
import { KubegateError } from '../errors.js';
import type { ApprovalRequirement } from '../policy/decision.js';
import { fingerprintOf, isTransportFree } from './fingerprint.js';
import { refusalMessage } from './messages.js';
import { requestedComment, type NextReason, type NextReasonStore } from './reasons.js';
import type { ApprovalChange, ApprovalStore, StoredPending } from './store.js';
import {
  covers,
  revokeStanding,
  standingRefusal,
  useStanding,
  withStanding,
  type Candidate,
  type StandingAsk,
} from './standing.js';
import {
  amongApprovers,
  applyReview,
  createPending,
  denialSticks,
  DENIAL_STICKS_MS,
  eligibility,
  escalate,
  expire,
  nextDeadline,
  policyMode,
  requesterBack,
  requesterLeft,
  useGrant,
  withdraw,
  type Person,
} from './state-machine.js';
import type {
  ApprovalEvent,
  ApprovalService,
  HoldOutcome,
  HoldRequest,
  PendingRequest,
  PendingState,
  RequestSummary,
  ReviewRefusal,
  ReviewResult,
  ReviewerContext,
} from './types.js';

/** The logger calls the service makes (pino's Logger fits). */
export interface ApprovalLog {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

/** One-shot timers; tests pass a fake that fires on demand. */
export interface Timers {
  /** Calls `fn` after `ms`; the returned function cancels it. */
  set(ms: number, fn: () => void): () => void;
}

export interface ApprovalsDeps {
  readonly store: ApprovalStore;
  readonly audit: AuditTrail;
  readonly now: () => Date;
  /** `kg-` + 10 lowercase base32 characters; random by default. */
  readonly newId?: () => string;
  /** How long hold mode keeps a client waiting before answering ApprovalRequired. */
  readonly holdTimeoutMs: number;
  /** When no requirement sets expiresAfter, a pending request expires after this; null: never. */
  readonly pendingExpiryMs?: number | null;
  /**
   * Builds what reviewers see (dry run, diff, labels). Runs in the background after creation and
   * must bound its own time; it must not use `input.signal` (the client may leave, the context
   * is still wanted).
   */
  readonly context?: (pending: PendingRequest, input: HoldRequest) => Promise<ReviewerContext>;
  /** Called for every event; must not block (notify.ts queues). */
  readonly notify?: (event: ApprovalEvent) => void;
  readonly log: ApprovalLog;
  readonly timers?: Timers;
  /** Requesters' reasons for their next held request (`kubegate reason`); absent: none kept. */
  readonly reasons?: NextReasonStore;
}

/**
 * After a hold of an exec/attach/port-forward times out, kubectl ≥1.30 retries the refused
 * WebSocket as SPDY at once. Within this window that retry is answered at once instead of being
 * held a second time.
 */
export const TRANSPORT_RETRY_GRACE_MS = 10_000;

/** Compare-and-set attempts before a write is given up as contended. */
const MAX_ATTEMPTS = 8;

/** setTimeout's limit; longer deadlines re-arm when the timer fires. */
const MAX_TIMER_MS = 2 ** 31 - 1;

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

/** `kg-` + 10 lowercase base32 characters (50 random bits). */
export function newPendingId(): string {
  const bytes = randomBytes(10);
  let id = 'kg-';
  for (const b of bytes) id += BASE32[b & 31];
  return id;
}

export const realTimers: Timers = {
  set(ms, fn) {
    const timer = setTimeout(fn, ms);
    timer.unref();
    return () => clearTimeout(timer);
  },
};

function sameRequirements(a: readonly ApprovalRequirement[], b: readonly ApprovalRequirement[]): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** The request as the policy just decided it, for a standing approval's `covers`. */
function candidateOf(input: HoldRequest, fingerprint: string): Candidate {
  return {
    user: input.identity.user,
    fingerprint,
    request: input.request,
    requirements: input.decision.approval,
  };
}

/** A standing approval comes with the approval that completes the request, not an earlier one. */
function standingNotLast(pending: PendingRequest, decision: 'approve' | 'deny', id: string): string | null {
  if (decision !== 'approve') return 'a standing approval goes with an approval, not a denial';
  if (pending.state !== 'approved')
    return `this approval does not complete ${id} yet: approve it without a standing approval; the last approver may give one`;
  return null;
}

/** The standing approval a record is about, in the record. */
function standingField(pending: PendingRequest): Partial<AuditEvent> {
  const s = pending.standing;
  return s === undefined ? {} : { standing: { scope: s.scope, until: s.until, uses: s.uses } };
}

function auditUnavailable(cause: unknown): KubegateError {
  return new KubegateError(
    'KG_AUDIT_UNAVAILABLE',
    'kubegate cannot record this approval step in its audit trail, so nothing changed. Retry shortly; if it persists, tell the kubegate operators.',
    { cause },
  );
}

function contended(id: string): KubegateError {
  return new KubegateError('KG_INTERNAL', `too many concurrent updates of ${id}; retry`);
}

/**
 * A pending request's summary as its audit events carry it (the events of a review, escalation
 * or expiry have no request at hand). The same fields by the same names, through the same
 * summarize; a pending request does not keep how it was upgraded.
 */
function summaryForAudit(summary: RequestSummary): AuditRequestSummary {
  return summarize(
    summary.method,
    requestTarget(summary),
    { ...summary, upgrade: null },
    {
      digest: summary.bodyDigest,
    },
  );
}

type Waiter = (pending: PendingRequest | null) => void;

type Found =
  | { readonly kind: 'granted'; readonly pending: PendingRequest }
  | { readonly kind: 'denied'; readonly pending: PendingRequest }
  | { readonly kind: 'pending'; readonly pending: PendingRequest; readonly created: boolean };

export class Approvals implements ApprovalService {
  readonly #deps: ApprovalsDeps;
  readonly #timers: Timers;
  readonly #newId: () => string;
  readonly #listeners = new Set<(event: ApprovalEvent) => void>();
  readonly #waiters = new Map<string, Set<Waiter>>();
  readonly #deadlines = new Map<string, () => void>();
  readonly #locks = new Map<string, Promise<void>>();
  /** Fingerprints whose hold just timed out, for kubectl's transport retry. */
  readonly #timedOut = new Map<string, number>();
  readonly #background = new Set<Promise<void>>();
  #closed = false;
  #unsubscribe: (() => void) | null = null;

  constructor(deps: ApprovalsDeps) {
    this.#deps = deps;
    this.#timers = deps.timers ?? realTimers;
    this.#newId = deps.newId ?? newPendingId;
  }

  /** Re-arms escalation and expiry for every pending request in the store (after a restart). */
  async start(): Promise<void> {
    const changes = this.#deps.store.changes;
    if (changes !== undefined && this.#unsubscribe === null) {
      this.#unsubscribe = changes.subscribe(
        (change) => this.#track(this.#remote(change)),
        () => this.#track(this.#resync()),
      );
    }
    await this.#rearm();
  }

  async hold(input: HoldRequest): Promise<HoldOutcome> {
    if (this.#closed) throw new KubegateError('KG_INTERNAL', 'the approval service is shutting down');
    const fingerprint = fingerprintOf(input.identity, input.request, input.body);
    const found = await this.#exclusive(fingerprint, () => this.#findOrCreate(input, fingerprint));
    if (found.kind === 'granted') return { kind: 'proceed', pending: found.pending, viaGrant: true };
    if (found.kind === 'denied') return { kind: 'denied', pending: found.pending };
    const { pending, created } = found;
    if (policyMode(pending.requirements) === 'deferred') return { kind: 'waiting', pending, created };
    const retriedAt = this.#timedOut.get(fingerprint);
    if (
      retriedAt !== undefined &&
      isTransportFree(input.request) &&
      this.#deps.now().getTime() - retriedAt < TRANSPORT_RETRY_GRACE_MS
    ) {
      return { kind: 'waiting', pending, created };
    }
    // The requester runs the command again while it waits: a client holds it again.
    const held = pending.requesterLeftAt === null ? pending : await this.#update(pending.id, requesterBack);
    if (held === null) return { kind: 'waiting', pending, created };
    if (held.state !== 'pending') return this.#outcomeOf(held, input, created, fingerprint);
    return this.#wait(held, input, created, fingerprint);
  }

  async list(filter?: { readonly state?: PendingState }): Promise<readonly PendingRequest[]> {
    return (await this.#deps.store.list(filter)).map((s) => s.pending);
  }

  async get(id: string): Promise<PendingRequest | null> {
    return (await this.#deps.store.get(id))?.pending ?? null;
  }

  eligibility(pending: PendingRequest, reviewer: Person): ReviewRefusal | null {
    return eligibility(pending, reviewer, this.#deps.now());
  }

  async review(
    id: string,
    reviewer: Person,
    decision: 'approve' | 'deny',
    comment: string,
    options: { readonly breakGlassReason?: string; readonly standing?: StandingAsk } = {},
  ): Promise<ReviewResult> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const read = await this.#deps.store.get(id);
      if (read === null) return { ok: false, refusal: 'not-found', message: refusalMessage('not-found', id) };
      const stored = await this.#settle(read);
      const now = this.#deps.now();
      const applied = applyReview(
        stored.pending,
        {
          reviewer,
          decision,
          comment,
          ...(options.breakGlassReason === undefined ? {} : { breakGlassReason: options.breakGlassReason }),
        },
        now,
      );
      if (!applied.ok)
        return { ok: false, refusal: applied.refusal, message: refusalMessage(applied.refusal, id) };
      const { review } = applied;
      let { pending } = applied;
      const { standing: ask } = options;
      if (ask !== undefined) {
        const refused = standingRefusal(pending.requirements, ask) ?? standingNotLast(pending, decision, id);
        if (refused !== null) return { ok: false, refusal: 'standing-not-allowed', message: refused };
        pending = withStanding(pending, ask, reviewer.user, now);
      }
      const written = await this.#step(
        stored,
        pending,
        this.#event('reviewed', now, pending, {
          actor: review.reviewer,
          // The reviewer's verdict (the policy's was 'approve', recorded with approval-requested).
          decision: review.decision,
          comment: review.comment === '' ? null : review.comment,
          breakGlass: review.breakGlass,
          ...standingField(pending),
        }),
      );
      if (written === null) continue;
      this.#deps.log.info(
        {
          pendingId: id,
          reviewer: review.reviewer,
          decision,
          breakGlass: review.breakGlass,
          state: pending.state,
        },
        'request reviewed',
      );
      if (review.breakGlass) {
        // Loud on purpose: a requester let their own request through (DESIGN.md, invariant 4).
        this.#deps.log.warn(
          {
            pendingId: id,
            user: review.reviewer,
            reason: review.comment,
            rules: pending.rules.map((r) => r.name),
          },
          'break-glass: requester approved their own request',
        );
      }
      this.#emit({ type: 'reviewed', pending, review });
      if (pending.state !== 'pending') this.#decided(pending);
      return { ok: true, pending };
    }
    throw contended(id);
  }

  async withdraw(id: string, requester: Person): Promise<ReviewResult> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const read = await this.#deps.store.get(id);
      if (read === null) return { ok: false, refusal: 'not-found', message: refusalMessage('not-found', id) };
      const stored = await this.#settle(read);
      const now = this.#deps.now();
      const result = withdraw(stored.pending, requester, now);
      if (!result.ok)
        return { ok: false, refusal: result.refusal, message: refusalMessage(result.refusal, id) };
      const written = await this.#step(
        stored,
        result.pending,
        this.#event('withdrawn', now, result.pending, { actor: requester.user }),
      );
      if (written === null) continue;
      this.#deps.log.info({ pendingId: id, user: requester.user }, 'request withdrawn by its requester');
      this.#decided(result.pending);
      return { ok: true, pending: result.pending };
    }
    throw contended(id);
  }

  /**
   * Ends a standing approval at once. The requester, and anyone who may review the request (its
   * approvers), may revoke it.
   */
  async revokeStanding(id: string, person: Person): Promise<ReviewResult> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const read = await this.#deps.store.get(id);
      if (read === null) return { ok: false, refusal: 'not-found', message: refusalMessage('not-found', id) };
      const now = this.#deps.now();
      const { pending } = read;
      if (pending.requester.user !== person.user && !amongApprovers(pending, person))
        return {
          ok: false,
          refusal: 'not-an-approver',
          message: `only the requester of ${id} or one of its approvers may revoke its standing approval`,
        };
      const revoked = revokeStanding(pending, person.user, now);
      if (revoked === null)
        return {
          ok: false,
          refusal: 'standing-not-allowed',
          message: `${id} has no standing approval in force (none was given, it ended, or it was revoked)`,
        };
      const written = await this.#step(
        read,
        revoked,
        this.#event('revoked', now, revoked, { actor: person.user, ...standingField(revoked) }),
      );
      if (written === null) continue;
      this.#deps.log.info({ pendingId: id, user: person.user }, 'standing approval revoked');
      this.#emit({ type: 'updated', pending: revoked });
      return { ok: true, pending: revoked };
    }
    throw contended(id);
  }

  async giveReason(id: string, requester: Person, reason: string): Promise<ReviewResult> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const read = await this.#deps.store.get(id);
      if (read === null) return { ok: false, refusal: 'not-found', message: refusalMessage('not-found', id) };
      const stored = await this.#settle(read);
      if (stored.pending.requester.user !== requester.user) {
        return {
          ok: false,
          refusal: 'not-requester',
          message: `only the requester gives the reason for ${id}; a reviewer comments on their review instead`,
        };
      }
      if (stored.pending.state !== 'pending') {
        return { ok: false, refusal: 'not-pending', message: refusalMessage('not-pending', id) };
      }
      const now = this.#deps.now();
      const next: PendingRequest = { ...stored.pending, reason };
      const written = await this.#step(
        stored,
        next,
        this.#event('reason-given', now, next, { actor: requester.user, comment: reason }),
      );
      if (written === null) continue;
      this.#deps.log.info({ pendingId: id, user: requester.user }, 'requester gave a reason');
      this.#emit({ type: 'updated', pending: next });
      return { ok: true, pending: next };
    }
    throw contended(id);
  }

  subscribe(listener: (event: ApprovalEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Stops the timers and answers held clients (waiting). The store and audit trail stay open: their owner closes them. */
  close(): Promise<void> {
    this.#closed = true;
    this.#unsubscribe?.();
    this.#unsubscribe = null;
    for (const cancel of this.#deadlines.values()) cancel();
    this.#deadlines.clear();
    for (const waiters of this.#waiters.values()) for (const wake of [...waiters]) wake(null);
    this.#waiters.clear();
    return Promise.resolve();
  }

  /** Background work still running (reviewer context); for tests and orderly shutdown. */
  async idle(): Promise<void> {
    while (this.#background.size > 0) await Promise.allSettled([...this.#background]);
  }

  // — hold —

  async #findOrCreate(input: HoldRequest, fingerprint: string): Promise<Found> {
    const { store } = this.#deps;
    const candidates = (await store.findActive(fingerprint, this.#deps.now())).filter((c) =>
      sameRequirements(c.pending.requirements, input.decision.approval),
    );
    for (const candidate of candidates) {
      if (candidate.pending.state !== 'approved') continue;
      const used = await this.#useGrant(candidate, input, fingerprint);
      if (used !== null) return { kind: 'granted', pending: used };
    }
    for (const candidate of candidates) {
      if (candidate.pending.state !== 'pending') continue;
      const settled = await this.#settle(candidate);
      if (settled.pending.state === 'pending')
        return { kind: 'pending', pending: settled.pending, created: false };
    }
    const now = this.#deps.now();
    const denied = (await store.findDenied(fingerprint, new Date(now.getTime() - DENIAL_STICKS_MS))).find(
      (d) =>
        denialSticks(d.pending, now) && sameRequirements(d.pending.requirements, input.decision.approval),
    );
    if (denied !== undefined) return { kind: 'denied', pending: denied.pending };
    const candidate = candidateOf(input, fingerprint);
    for (const grant of await store.findStanding(now)) {
      if (!covers(grant.pending, candidate, now)) continue;
      const used = await this.#useGrant(grant, input, fingerprint);
      if (used !== null) return { kind: 'granted', pending: used };
    }
    return { kind: 'pending', pending: await this.#create(input, fingerprint), created: true };
  }

  async #create(input: HoldRequest, fingerprint: string): Promise<PendingRequest> {
    const now = this.#deps.now();
    // The requester's reason set beforehand (`kubegate reason`) goes with their next request.
    const reason = await this.#nextReason(input.identity.user, now);
    const created = createPending(input, fingerprint, this.#newId(), now, this.#deps.pendingExpiryMs ?? null);
    const pending: PendingRequest = reason === null ? created : { ...created, reason: reason.text };
    const requested = auditEvent('approval-requested', now, {
      ...this.#who(pending),
      requestId: input.requestId,
      sourceAddress: input.sourceAddress,
      request: summarize(input.request.method, requestTarget(input.request), input.request, input.body),
      comment: requestedComment(input.decision.message ?? null, reason?.text ?? null),
    });
    const { putWithRecord } = this.#deps.store;
    let written: StoredPending | null;
    if (putWithRecord !== undefined) {
      written = await putWithRecord(pending, 0, requested).catch((err: unknown) => {
        throw auditUnavailable(err);
      });
    } else {
      try {
        await this.#deps.audit.append(requested);
      } catch (err) {
        throw auditUnavailable(err);
      }
      written = await this.#deps.store.put(pending, 0);
    }
    if (written === null) {
      throw new KubegateError('KG_INTERNAL', `pending request id ${pending.id} is taken; retry`);
    }
    this.#deps.log.info(
      { pendingId: pending.id, requestId: input.requestId, user: pending.requester.user, mode: pending.mode },
      'approval requested',
    );
    if (reason !== null) this.#reasonTaken(pending.requester.user, reason);
    this.#emit({ type: 'created', pending });
    this.#arm(pending);
    this.#buildContext(pending, input);
    return pending;
  }

  /** Marks the grant used and records it; null when it is gone (used, expired, or never there). */
  async #useGrant(
    read: StoredPending,
    input: HoldRequest,
    fingerprint: string,
  ): Promise<PendingRequest | null> {
    const candidate = candidateOf(input, fingerprint);
    let stored: StoredPending | null = read;
    for (let attempt = 0; attempt < MAX_ATTEMPTS && stored !== null; attempt++) {
      const now = this.#deps.now();
      // A one-time grant is spent; a standing approval counts one more use, if it still covers it.
      let used: PendingRequest | null;
      if (stored.pending.standing === undefined) used = useGrant(stored.pending, now);
      else used = covers(stored.pending, candidate, now) ? useStanding(stored.pending) : null;
      if (used === null) return null;
      const written = await this.#step(
        stored,
        used,
        this.#event('granted', now, used, {
          requestId: input.requestId,
          sourceAddress: input.sourceAddress,
          request: summarize(input.request.method, requestTarget(input.request), input.request, input.body),
          ...standingField(used),
        }),
      );
      if (written === null) {
        stored = await this.#deps.store.get(read.pending.id);
        continue;
      }
      this.#deps.log.info({ pendingId: used.id, requestId: input.requestId }, 'approval grant used');
      this.#emit({ type: 'granted', pending: used });
      return used;
    }
    if (stored === null) return null;
    throw contended(read.pending.id);
  }

  #wait(
    pending: PendingRequest,
    input: HoldRequest,
    created: boolean,
    fingerprint: string,
  ): Promise<HoldOutcome> {
    const { id } = pending;
    let latest = pending;
    return new Promise<HoldOutcome>((resolve, reject) => {
      let done = false;
      let cancelTimeout = (): void => undefined;
      const finish = (): boolean => {
        if (done) return false;
        done = true;
        cancelTimeout();
        input.signal.removeEventListener('abort', onAbort);
        const set = this.#waiters.get(id);
        set?.delete(wake);
        if (set?.size === 0) this.#waiters.delete(id);
        return true;
      };
      const waiting = (): void => {
        if (!finish()) return;
        resolve({ kind: 'waiting', pending: latest, created });
        // Nobody waits for it any more: an approval must not send it on its own.
        if (!this.#closed && (this.#waiters.get(id)?.size ?? 0) === 0) this.#track(this.#left(id));
      };
      const onAbort = (): void => waiting();
      const wake: Waiter = (decided) => {
        if (decided === null) return waiting();
        latest = decided;
        if (decided.state === 'pending') return;
        if (!finish()) return;
        this.#outcomeOf(decided, input, created, fingerprint).then(resolve, reject);
      };

      if (input.signal.aborted) return waiting();
      let set = this.#waiters.get(id);
      if (set === undefined) this.#waiters.set(id, (set = new Set()));
      set.add(wake);
      input.signal.addEventListener('abort', onAbort, { once: true });
      cancelTimeout = this.#timers.set(this.#deps.holdTimeoutMs, () => {
        if (done) return;
        this.#noteTimeout(fingerprint);
        this.#deps.log.info({ pendingId: id, requestId: input.requestId }, 'hold timed out');
        waiting();
      });
      // A decision may have landed between the lookup and the registration above.
      this.#deps.store.get(id).then(
        (stored) => {
          if (stored !== null && stored.pending.state !== 'pending') wake(stored.pending);
        },
        (err: unknown) => {
          if (finish()) reject(err instanceof Error ? err : new KubegateError('KG_INTERNAL', String(err)));
        },
      );
    });
  }

  async #outcomeOf(
    decided: PendingRequest,
    input: HoldRequest,
    created: boolean,
    fingerprint: string,
  ): Promise<HoldOutcome> {
    switch (decided.state) {
      case 'approved': {
        // The client left while the decision landed: the grant waits for the re-run instead.
        if (input.signal.aborted) return { kind: 'waiting', pending: decided, created };
        const stored = await this.#deps.store.get(decided.id);
        const used = stored === null ? null : await this.#useGrant(stored, input, fingerprint);
        return used === null
          ? { kind: 'waiting', pending: stored?.pending ?? decided, created }
          : { kind: 'proceed', pending: used, viaGrant: false };
      }
      case 'denied':
        return { kind: 'denied', pending: decided };
      case 'expired':
        return { kind: 'expired', pending: decided };
      case 'withdrawn':
      case 'pending':
        return { kind: 'waiting', pending: decided, created };
    }
  }

  /** The last held client went away: deferred from now on (unless decided, or a client came back). */
  async #left(id: string): Promise<void> {
    const left = await this.#update(id, (p) =>
      (this.#waiters.get(id)?.size ?? 0) > 0 ? p : requesterLeft(p, this.#deps.now()),
    );
    if (left !== null && left.requesterLeftAt !== null && left.state === 'pending') {
      this.#deps.log.info({ pendingId: id }, 'requester stopped waiting: approval will wait for a re-run');
    }
  }

  /**
   * Applies `change` to the stored request (compare-and-set, re-read on conflict) and tells
   * subscribers; the request as it now stands, or null when it is gone.
   */
  async #update(
    id: string,
    change: (pending: PendingRequest) => PendingRequest,
  ): Promise<PendingRequest | null> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const stored = await this.#deps.store.get(id);
      if (stored === null) return null;
      const next = change(stored.pending);
      if (next === stored.pending) return next;
      if ((await this.#deps.store.put(next, stored.version)) !== null) {
        this.#emit({ type: 'updated', pending: next });
        return next;
      }
    }
    throw contended(id);
  }

  #noteTimeout(fingerprint: string): void {
    const now = this.#deps.now().getTime();
    for (const [key, at] of this.#timedOut)
      if (now - at >= TRANSPORT_RETRY_GRACE_MS) this.#timedOut.delete(key);
    this.#timedOut.set(fingerprint, now);
  }

  // — time —

  /** Applies a due expiry or escalation (store → audit → emit); the record as it now stands. */
  async #settle(read: StoredPending): Promise<StoredPending> {
    let stored = read;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const now = this.#deps.now();
      const expired = expire(stored.pending, now);
      const next = expired !== stored.pending ? expired : escalate(stored.pending, now);
      if (next === stored.pending) return stored;
      const kind = next.state === 'expired' ? 'expired' : 'escalated';
      const written = await this.#settleStep(stored, next, this.#event(kind, now, next));
      if (written === null) {
        const again = await this.#deps.store.get(read.pending.id);
        if (again === null) return stored;
        stored = again;
        continue;
      }
      this.#deps.log.info(
        { pendingId: next.id },
        kind === 'expired' ? 'request expired' : 'request escalated',
      );
      this.#emit({ type: kind, pending: next });
      if (kind === 'expired') this.#ended(next);
      else this.#arm(next);
      stored = written;
    }
    return stored;
  }

  #arm(pending: PendingRequest): void {
    this.#deadlines.get(pending.id)?.();
    this.#deadlines.delete(pending.id);
    const deadline = nextDeadline(pending);
    if (deadline === null || this.#closed) return;
    const delay = Math.min(MAX_TIMER_MS, Math.max(0, deadline.getTime() - this.#deps.now().getTime()));
    const cancel = this.#timers.set(delay, () => {
      if (this.#deadlines.get(pending.id) !== cancel) return;
      this.#deadlines.delete(pending.id);
      this.#track(this.#onDeadline(pending.id));
    });
    this.#deadlines.set(pending.id, cancel);
  }

  async #onDeadline(id: string): Promise<void> {
    if (this.#closed) return;
    const stored = await this.#deps.store.get(id);
    if (stored === null) return;
    const settled = await this.#settle(stored);
    // Fired early (a clamped delay or a slow clock): wait again for what is left.
    if (settled.pending.state === 'pending' && !this.#deadlines.has(id)) this.#arm(settled.pending);
  }

  // — events —

  /** A reviewer decided (approved or denied): 'decided' for subscribers, then the held clients. */
  #decided(pending: PendingRequest): void {
    this.#emit({ type: 'decided', pending });
    this.#ended(pending);
  }

  /** The request left `pending` (decided or expired): no more deadlines; wake the held clients. */
  #ended(pending: PendingRequest): void {
    this.#deadlines.get(pending.id)?.();
    this.#deadlines.delete(pending.id);
    for (const wake of [...(this.#waiters.get(pending.id) ?? [])]) wake(pending);
  }

  #emit(event: ApprovalEvent): void {
    this.#tell(event);
    this.#deps.store.changes?.publish({ type: event.type, id: event.pending.id });
    try {
      this.#deps.notify?.(event);
    } catch (err) {
      this.#deps.log.error(
        { pendingId: event.pending.id, event: event.type, err },
        'approval notifier failed',
      );
    }
  }

  /** The subscribers in this process (SSE, the UI's live queue). */
  #tell(event: ApprovalEvent): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener(event);
      } catch (err) {
        this.#deps.log.error(
          { pendingId: event.pending.id, event: event.type, err },
          'approval listener failed',
        );
      }
    }
  }

  // — other replicas —

  /** Another replica changed a request: tell the subscribers here, wake or arm what waits here. */
  async #remote(change: ApprovalChange): Promise<void> {
    if (this.#closed) return;
    const stored = await this.#deps.store.get(change.id);
    if (stored === null) return;
    const { pending } = stored;
    if (change.type === 'reviewed') {
      const review = pending.reviews.at(-1);
      if (review !== undefined) this.#tell({ type: 'reviewed', pending, review });
    } else {
      this.#tell({ type: change.type, pending });
    }
    if (pending.state === 'pending') this.#arm(pending);
    else this.#ended(pending);
  }

  /** The change feed (re)connected and may have missed changes: re-read what is held and armed here. */
  async #resync(): Promise<void> {
    if (this.#closed) return;
    for (const id of [...this.#waiters.keys()]) {
      const stored = await this.#deps.store.get(id);
      if (stored !== null && stored.pending.state !== 'pending') this.#ended(stored.pending);
    }
    await this.#rearm();
  }

  /** Arms the deadlines of every pending request in the store, applying those already due. */
  async #rearm(): Promise<void> {
    for (const stored of await this.#deps.store.list({ state: 'pending' })) {
      const settled = await this.#settle(stored);
      if (settled.pending.state === 'pending') this.#arm(settled.pending);
    }
  }

  #who(pending: PendingRequest): Partial<AuditEvent> {
    return {
      pendingId: pending.id,
      user: pending.requester.user,
      groups: pending.requester.groups,
      ...(pending.requester.oidc === undefined ? {} : { oidc: pending.requester.oidc }),
      ...agentFields(pending.requester),
      decision: 'approve',
      rules: pending.rules.map((r) => r.name),
    };
  }

  #event(
    kind: AuditEventKind,
    now: Date,
    pending: PendingRequest,
    fields: Partial<AuditEvent> = {},
  ): AuditEvent {
    return auditEvent(kind, now, {
      ...this.#who(pending),
      request: summaryForAudit(pending.request),
      ...fields,
    });
  }

  // — background —

  #buildContext(pending: PendingRequest, input: HoldRequest): void {
    const build = this.#deps.context;
    if (build === undefined) return;
    this.#track(
      (async () => {
        let context: ReviewerContext;
        try {
          context = await build(pending, input);
        } catch (err) {
          this.#deps.log.warn({ pendingId: pending.id, err }, 'reviewer context failed');
          return;
        }
        for (let attempt = 0; attempt < MAX_ATTEMPTS && !this.#closed; attempt++) {
          const stored = await this.#deps.store.get(pending.id);
          if (stored === null) return;
          const withContext = { ...stored.pending, context };
          if ((await this.#deps.store.put(withContext, stored.version)) !== null) {
            this.#emit({ type: 'context', pending: withContext });
            return;
          }
        }
      })(),
    );
  }

  /** The requester's unexpired reason for their next request; a failing store loses only it. */
  async #nextReason(user: string, now: Date): Promise<NextReason | null> {
    if (this.#deps.reasons === undefined) return null;
    try {
      return await this.#deps.reasons.get(user, now.getTime());
    } catch (err) {
      this.#deps.log.warn(
        { err, user },
        'the requester’s reason could not be read; the request goes on without it',
      );
      return null;
    }
  }

  /** The reason went with a request: the next one asks anew (a reason set since stays). */
  #reasonTaken(user: string, reason: NextReason): void {
    const reasons = this.#deps.reasons;
    if (reasons !== undefined) this.#track(reasons.clear(user, reason.setAt));
  }

  #track(task: Promise<void>): void {
    const tracked = task.catch((err: unknown) => {
      if (!this.#closed) this.#deps.log.error({ err }, 'approval background task failed');
    });
    this.#background.add(tracked);
    void tracked.finally(() => this.#background.delete(tracked));
  }

  /**
   * Writes one approval step with its audit record: in one transaction where the store can,
   * else the store first and the record after it, undone when the record cannot be written.
   * Null when someone else wrote first; rejects with KG_AUDIT_UNAVAILABLE when the step is not
   * recorded (and so not applied).
   */
  async #step(read: StoredPending, next: PendingRequest, event: AuditEvent): Promise<StoredPending | null> {
    const { putWithRecord } = this.#deps.store;
    if (putWithRecord !== undefined) {
      try {
        return await putWithRecord(next, read.version, event);
      } catch (err) {
        throw auditUnavailable(err);
      }
    }
    const written = await this.#deps.store.put(next, read.version);
    if (written === null) return null;
    try {
      await this.#deps.audit.append(event);
    } catch (err) {
      await this.#putBack(read.pending, written.version);
      throw auditUnavailable(err);
    }
    return written;
  }

  /**
   * A deadline's step (expiry, escalation). The deadline passed whatever the trail says: without
   * a transaction the new state is kept and the gap reported; with one, a failed write leaves the
   * request as it was, to be settled by the next read or the resync.
   */
  async #settleStep(
    read: StoredPending,
    next: PendingRequest,
    event: AuditEvent,
  ): Promise<StoredPending | null> {
    if (this.#deps.store.putWithRecord !== undefined) return this.#step(read, next, event);
    const written = await this.#deps.store.put(next, read.version);
    if (written === null) return null;
    try {
      await this.#deps.audit.append(event);
    } catch (err) {
      this.#deps.log.error(
        { pendingId: next.id, kind: event.kind, err },
        'approval event not recorded in the audit trail',
      );
    }
    return written;
  }

  /** Restores `previous` over the version we just wrote (the audit trail refused the step). */
  async #putBack(previous: PendingRequest, version: number): Promise<void> {
    try {
      if ((await this.#deps.store.put(previous, version)) === null) {
        this.#deps.log.error(
          { pendingId: previous.id },
          'could not undo an unaudited approval step: changed meanwhile',
        );
      }
    } catch (err) {
      this.#deps.log.error({ pendingId: previous.id, err }, 'could not undo an unaudited approval step');
    }
  }

  /** Runs `fn` after every earlier call with the same key: one lookup-or-create per fingerprint at a time. */
  async #exclusive<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.#locks.get(key) ?? Promise.resolve();
    const run = previous.then(fn);
    const tail = run.then(
      () => undefined,
      () => undefined,
    );
    this.#locks.set(key, tail);
    try {
      return await run;
    } finally {
      if (this.#locks.get(key) === tail) this.#locks.delete(key);
    }
  }
}

/** Builds the service and re-arms the deadlines of the pending requests in the store. */
export async function openApprovals(deps: ApprovalsDeps): Promise<Approvals> {
  const approvals = new Approvals(deps);
  await approvals.start();
  return approvals;
}
