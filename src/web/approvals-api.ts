// The reviewer REST API under /kubegate/v1/ (DESIGN.md, "Approvals": reviewer surfaces). The
// gateway authenticates the caller (same identities as for the Kubernetes API) and hands the
// request here with its Identity; this module routes, validates and answers, and the
// ApprovalService decides. JSON in and out; every error is a Kubernetes-style Status.
//
//   GET  /kubegate/v1/requests[?state=pending|approved|denied|expired|withdrawn][&mine=true]   list (context omitted);
//        mine: only the caller's own requests (`kubegate requests list --mine`, `requests wait`)
//   GET  /kubegate/v1/requests/{id}                                     one, with the caller's eligibility
//   POST /kubegate/v1/requests/{id}/approve   {"comment"?, "breakGlassReason"?}
//   POST /kubegate/v1/requests/{id}/deny      {"comment"}  (a denial says why)
//   POST /kubegate/v1/requests/{id}/cancel    {}  the requester withdraws their own pending request
//   GET  /kubegate/v1/watch                                             server-sent events, one per ApprovalEvent
//   POST /kubegate/v1/requests/{id}/reason    {"reason"}  the requester gives or changes their reason
//   GET|PUT|DELETE /kubegate/v1/reason        the caller's reason for their next held request
//        (PUT {"reason", "ttlSeconds"?}: `kubegate reason "…"`; it waits DEFAULT_REASON_TTL_MS by default)
//
// Who sees what: a request is visible to its requester, to everyone its rules name as an approver
// or escalation target, and to whoever reviewed it; to anyone else it does not exist (404, the same
// answer as for an unknown id). The context can hold what the dry run returned, which is the
// requester's and the reviewers' business only, and even they never see a credential: every
// context is redacted (approvals/redact.ts) again on its way out, whatever the store holds (contexts stored
// by an older kubegate included).
// A watch lasts only as long as the credential that opened it: the caller's check (a web session
// that signs out or expires, a token that is revoked) runs before every event and every
// credentialCheckMs, and the stream ends the first time it fails.
// Must never decide a review itself (the service does, and says why not), never accept a review
// from a body that is not JSON (a browser's cross-site form cannot send application/json without
// a CORS preflight, which this API never grants), and never put anything but kubegate's own
// words and the service's refusal messages in an error.
import type { StandingAsk } from '../approvals/standing.js';
import { parseDuration } from '../policy/duration.js';
import type { Logger } from 'pino';
import { KubegateError, type ErrorCode } from '../errors.js';
import type { ClientRequest } from '../gateway/read-body.js';
import { sendJson, writeStatus } from '../gateway/respond.js';
import type { Identity } from '../identity/types.js';
import type { Approver } from '../policy/decision.js';
import type {
  ApprovalService,
  PendingRequest,
  PendingState,
  ReviewRefusal,
  ReviewResult,
} from '../approvals/types.js';
import { requestUrl } from '../approvals/messages.js';
import { redactContext } from '../approvals/redact.js';
import {
  checkReason,
  DEFAULT_REASON_TTL_MS,
  MAX_REASON_LENGTH,
  MAX_REASON_TTL_MS,
  type NextReasonStore,
} from '../approvals/reasons.js';
import { openEventStream, type EventStream, type StreamResponse } from './sse.js';
import type { Eligibility, NextReasonView, RequestList, RequestView, WatchEvent } from './api-types.js';
import {
  API_VERSION,
  allowMethods,
  apiTarget,
  badRequest,
  onlyFields,
  printable,
  readJson,
  textField,
} from './http.js';

export interface ReviewerApiDeps {
  readonly approvals: ApprovalService;
  /** kubegate's address as people reach it (links); null when not configured. */
  readonly publicUrl: string | null;
  readonly log: Pick<Logger, 'warn' | 'error' | 'debug'>;
  /** Between heartbeat comments on a watch. Default 15 s. */
  readonly heartbeatMs?: number;
  /** Between checks that a watch's credential is still valid. Default 1 s. */
  readonly credentialCheckMs?: number;
  /** Requesters' reasons for their next held request; absent: /kubegate/v1/reason is not offered. */
  readonly reasons?: NextReasonStore;
  /** Epoch milliseconds (reasons' times); Date.now by default. */
  readonly now?: () => number;
}

/** What the caller's authentication knows about its credential, for requests that last. */
export interface CallerOptions {
  /**
   * False once the credential the request came with is no longer valid (signed out, expired,
   * revoked). A watch ends then. Absent: the credential cannot stop being valid mid-request.
   */
  readonly stillValid?: () => boolean;
}

export interface ReviewerApi {
  /** Answers one request under /kubegate/; the caller is already authenticated. */
  handle(req: ClientRequest, res: StreamResponse, identity: Identity, caller?: CallerOptions): Promise<void>;
  /** Ends every open watch (shutdown). */
  close(): void;
}

const STATES: readonly PendingState[] = ['pending', 'approved', 'denied', 'expired', 'withdrawn'];
const ID = /^[a-z0-9][a-z0-9-]{0,62}$/u;

const noReasons = (): KubegateError =>
  new KubegateError('KG_API_NOT_FOUND', 'this kubegate keeps no reasons (its store has no place for them)');

const notFound = (id: string): KubegateError =>
  new KubegateError('KG_REVIEW_NOT_FOUND', `kubegate has no request ${printable(id)} that you may see`);

/**
 * Review refusals: their codes (errors.ts gives each its HTTP status, reason and the refusal's
 * word in details.causes) and the words used when the service gives none.
 */
export const REFUSALS: Readonly<Record<ReviewRefusal, { code: ErrorCode; message: string }>> = {
  'own-request': { code: 'KG_REVIEW_OWN_REQUEST', message: 'you cannot approve your own request' },
  'not-an-approver': {
    code: 'KG_REVIEW_NOT_AN_APPROVER',
    message: 'you are not one of the approvers this request needs now',
  },
  'break-glass-not-allowed': {
    code: 'KG_REVIEW_BREAK_GLASS_NOT_ALLOWED',
    message: 'no rule that matched this request allows break-glass approval',
  },
  'already-reviewed': {
    code: 'KG_REVIEW_ALREADY_REVIEWED',
    message: 'you have already reviewed this request',
  },
  'not-pending': { code: 'KG_REVIEW_NOT_PENDING', message: 'this request is no longer pending' },
  'not-requester': { code: 'KG_REVIEW_NOT_REQUESTER', message: 'only the requester may withdraw a request' },
  'break-glass-needs-reason': {
    code: 'KG_REVIEW_BREAK_GLASS_NEEDS_REASON',
    message: 'break-glass approval needs a written reason',
  },
  'standing-not-allowed': {
    code: 'KG_REVIEW_STANDING_NOT_ALLOWED',
    message: 'the rules that asked for approval do not allow this standing approval',
  },
};

export function createReviewerApi(deps: ReviewerApiDeps): ReviewerApi {
  const heartbeatMs = deps.heartbeatMs ?? 15_000;
  const credentialCheckMs = deps.credentialCheckMs ?? 1_000;
  const streams = new Set<EventStream>();
  const urlOf = (id: string): string | null =>
    deps.publicUrl === null ? null : requestUrl(deps.publicUrl, id);

  function view(pending: PendingRequest, who: Identity): RequestView {
    return {
      kind: 'ApprovalRequest',
      apiVersion: API_VERSION,
      ...redacted(pending),
      eligibility: eligibilityFor(deps.approvals, pending, who),
      url: urlOf(pending.id),
    };
  }

  async function visible(id: string, who: Identity): Promise<PendingRequest> {
    if (!ID.test(id)) throw notFound(id);
    const pending = await deps.approvals.get(id);
    if (pending === null || !mayView(pending, who)) throw notFound(id);
    return pending;
  }

  async function list(query: URLSearchParams, who: Identity): Promise<RequestList> {
    const state = query.get('state');
    if (state !== null && !STATES.includes(state as PendingState)) {
      throw badRequest(
        `state must be one of ${STATES.join(', ')}; got ${JSON.stringify(state.slice(0, 40))}`,
      );
    }
    const mine = query.get('mine');
    if (mine !== null && mine !== 'true' && mine !== 'false') {
      throw badRequest(`mine must be true or false; got ${JSON.stringify(mine.slice(0, 40))}`);
    }
    const all = await deps.approvals.list(state === null ? {} : { state: state as PendingState });
    const items = all
      .filter((p) => (mine === 'true' ? p.requester.user === who.user : mayView(p, who)))
      .sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : 0))
      .map((p) => view({ ...p, context: null }, who));
    return { kind: 'ApprovalRequestList', apiVersion: API_VERSION, items };
  }

  async function review(
    req: ClientRequest,
    id: string,
    decision: 'approve' | 'deny',
    who: Identity,
  ): Promise<RequestView> {
    const input = reviewInput(await readJson(req), decision);
    await visible(id, who);
    const result = await deps.approvals.review(
      id,
      { user: who.user, groups: who.groups },
      decision,
      input.comment,
      {
        ...(input.breakGlassReason === undefined ? {} : { breakGlassReason: input.breakGlassReason }),
        ...(input.standing === undefined ? {} : { standing: input.standing }),
      },
    );
    return answer(id, result, who);
  }

  async function revoke(req: ClientRequest, id: string, who: Identity): Promise<RequestView> {
    onlyFields(await readJson(req), []);
    await visible(id, who);
    return answer(id, await deps.approvals.revokeStanding(id, { user: who.user, groups: who.groups }), who);
  }

  async function giveReason(req: ClientRequest, id: string, who: Identity): Promise<RequestView> {
    const body = await readJson(req);
    onlyFields(body, ['reason']);
    const reason = checkReason(textField(body, 'reason', MAX_REASON_LENGTH * 4) ?? '');
    await visible(id, who);
    if (deps.approvals.giveReason === undefined) throw noReasons();
    return answer(
      id,
      await deps.approvals.giveReason(id, { user: who.user, groups: who.groups }, reason),
      who,
    );
  }

  /** The caller's reason for their next held request: GET it, PUT {reason, ttlSeconds?}, DELETE it. */
  async function nextReason(req: ClientRequest, res: StreamResponse, who: Identity): Promise<void> {
    const method = req.method ?? '';
    allowMethods(method, ['GET', 'PUT', 'DELETE']);
    const reasons = deps.reasons;
    if (reasons === undefined) throw noReasons();
    const now = (deps.now ?? Date.now)();
    if (method === 'PUT') {
      const body = await readJson(req);
      onlyFields(body, ['reason', 'ttlSeconds']);
      const text = checkReason(textField(body, 'reason', MAX_REASON_LENGTH * 4) ?? '');
      const ttl = body.ttlSeconds;
      if (
        ttl !== undefined &&
        (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < 1 || ttl * 1000 > MAX_REASON_TTL_MS)
      ) {
        throw badRequest(
          `ttlSeconds must be a whole number of seconds from 1 to ${MAX_REASON_TTL_MS / 1000}`,
        );
      }
      const ttlMs = ttl === undefined ? DEFAULT_REASON_TTL_MS : ttl * 1000;
      await reasons.set(who.user, { text, setAt: now, expiresAt: now + ttlMs });
    } else if (method === 'DELETE') {
      await reasons.clear(who.user);
    }
    const current = await reasons.get(who.user, now);
    const view: NextReasonView = {
      kind: 'NextReason',
      apiVersion: API_VERSION,
      reason: current?.text ?? null,
      expiresAt: current === null ? null : new Date(current.expiresAt).toISOString(),
    };
    sendJson(res, 200, view);
  }

  async function cancel(req: ClientRequest, id: string, who: Identity): Promise<RequestView> {
    onlyFields(await readJson(req), []);
    await visible(id, who);
    return answer(id, await deps.approvals.withdraw(id, { user: who.user, groups: who.groups }), who);
  }

  function answer(id: string, result: ReviewResult, who: Identity): RequestView {
    if (!result.ok) {
      if (result.refusal === 'not-found') throw notFound(id);
      const spec = REFUSALS[result.refusal];
      const message = result.message.trim() === '' ? spec.message : result.message;
      throw new KubegateError(spec.code, message);
    }
    return view(result.pending, who);
  }

  function watch(res: StreamResponse, who: Identity, caller: CallerOptions): Promise<void> {
    const stillValid = caller.stillValid ?? ((): boolean => true);
    const stream = openEventStream(res, { heartbeatMs });
    streams.add(stream);
    /** Ends the stream if the credential is gone; true while it is valid. */
    const check = (): boolean => {
      if (stream.isClosed) return false;
      if (stillValid()) return true;
      // A comment, not an event: clients ignore it, a person reading the stream learns why.
      stream.comment('the credential this watch was opened with is no longer valid');
      stream.close();
      return false;
    };
    const unsubscribe = deps.approvals.subscribe((event) => {
      if (!mayView(event.pending, who) || !check()) return;
      const data: WatchEvent = {
        type: event.type,
        pending: redacted(event.pending),
        review: event.type === 'reviewed' ? event.review : null,
        url: urlOf(event.pending.id),
      };
      stream.send(event.type, data);
    });
    const timer = caller.stillValid === undefined ? null : setInterval(check, credentialCheckMs);
    timer?.unref();
    check();
    return stream.closed.then(() => {
      if (timer !== null) clearInterval(timer);
      unsubscribe();
      streams.delete(stream);
    });
  }

  async function route(
    req: ClientRequest,
    res: StreamResponse,
    who: Identity,
    caller: CallerOptions,
  ): Promise<void> {
    const { path, parts, query } = apiTarget(req.url ?? '');
    const method = req.method ?? '';
    if (parts.length === 1 && parts[0] === 'requests') {
      allowMethods(method, ['GET']);
      return sendJson(res, 200, await list(query, who));
    }
    if (parts.length === 1 && parts[0] === 'watch') {
      allowMethods(method, ['GET']);
      return watch(res, who, caller);
    }
    if (parts[0] === 'requests' && parts.length === 2) {
      allowMethods(method, ['GET']);
      return sendJson(res, 200, view(await visible(parts[1]!, who), who));
    }
    if (parts[0] === 'requests' && parts.length === 3 && (parts[2] === 'approve' || parts[2] === 'deny')) {
      allowMethods(method, ['POST']);
      return sendJson(res, 200, await review(req, parts[1]!, parts[2], who));
    }
    if (parts[0] === 'requests' && parts.length === 3 && parts[2] === 'revoke') {
      allowMethods(method, ['POST']);
      return sendJson(res, 200, await revoke(req, parts[1]!, who));
    }
    if (parts[0] === 'requests' && parts.length === 3 && parts[2] === 'reason') {
      allowMethods(method, ['POST']);
      return sendJson(res, 200, await giveReason(req, parts[1]!, who));
    }
    if (parts.length === 1 && parts[0] === 'reason') return nextReason(req, res, who);
    if (parts[0] === 'requests' && parts.length === 3 && parts[2] === 'cancel') {
      allowMethods(method, ['POST']);
      return sendJson(res, 200, await cancel(req, parts[1]!, who));
    }
    throw new KubegateError('KG_API_NOT_FOUND', `no such kubegate API path: ${printable(path)}`);
  }

  return {
    async handle(req, res, identity, caller = {}) {
      try {
        await route(req, res, identity, caller);
      } catch (err) {
        if (!(err instanceof KubegateError)) {
          deps.log.error({ err, path: req.url }, 'bug: reviewer API request failed');
        } else if (err.status >= 500) {
          deps.log.warn({ code: err.code, err: err.cause }, 'reviewer API request failed');
        }
        writeStatus(res, err);
      }
    },
    close() {
      for (const stream of streams) stream.close();
      streams.clear();
    },
  };
}

/** The request with its reviewer context redacted (again: the store may hold an older one). */
function redacted(pending: PendingRequest): PendingRequest {
  return pending.context === null
    ? pending
    : { ...pending, context: redactContext(pending.context, pending.request) };
}

// ---- who may see and do what ----------------------------------------------------------------

function named(approver: Approver, who: Pick<Identity, 'user' | 'groups'>): boolean {
  return approver.kind === 'user' ? approver.name === who.user : who.groups.includes(approver.name);
}

/** The requester, anyone the rules name as approver or escalation target, and past reviewers. */
export function mayView(pending: PendingRequest, who: Pick<Identity, 'user' | 'groups'>): boolean {
  if (pending.requester.user === who.user) return true;
  if (pending.reviews.some((r) => r.reviewer === who.user)) return true;
  return pending.requirements.some(
    (req) =>
      req.stages.some((stage) => stage.approvers.some((a) => named(a, who))) ||
      req.escalateTo.some((a) => named(a, who)),
  );
}

function eligibilityFor(approvals: ApprovalService, pending: PendingRequest, who: Identity): Eligibility {
  const refusal = approvals.eligibility(pending, { user: who.user, groups: who.groups });
  const breakGlass =
    pending.state === 'pending' &&
    pending.requester.user === who.user &&
    pending.requirements.some((r) => r.breakGlass);
  return {
    canReview: refusal === null,
    refusal,
    message: refusal === null ? null : REFUSALS[refusal].message,
    breakGlass,
    canWithdraw: pending.state === 'pending' && pending.requester.user === who.user,
    canGiveReason:
      approvals.giveReason !== undefined &&
      pending.state === 'pending' &&
      pending.requester.user === who.user,
    // The state machine lets a past approver deny while the request is open (eligibility with
    // decision 'deny'); 'already-reviewed' says it is open, not theirs, and they reviewed it.
    canDeny:
      refusal === null ||
      (refusal === 'already-reviewed' &&
        pending.reviews.every((r) => r.reviewer !== who.user || r.decision === 'approve')),
  };
}

// ---- input ----------------------------------------------------------------------------------

interface ReviewInput {
  readonly comment: string;
  readonly breakGlassReason: string | undefined;
  readonly standing: StandingAsk | undefined;
}

function reviewInput(body: Record<string, unknown>, decision: 'approve' | 'deny'): ReviewInput {
  onlyFields(body, decision === 'approve' ? ['comment', 'breakGlassReason', 'standing'] : ['comment']);
  const comment = textField(body, 'comment') ?? '';
  const breakGlassReason = textField(body, 'breakGlassReason');
  const standing = standingInput(body.standing);
  if (decision === 'deny' && comment.trim() === '') {
    throw badRequest('a denial needs a comment saying why (the requester sees it)');
  }
  if (breakGlassReason !== undefined && breakGlassReason.trim() === '') {
    throw badRequest('breakGlassReason must say why the rules are being bypassed');
  }
  return { comment, breakGlassReason, standing };
}

/** `standing: {duration: "30m", scope: "identical" | "rule"}` of an approval, checked. */
function standingInput(value: unknown): StandingAsk | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw badRequest('standing must be an object: {"duration": "30m", "scope": "identical"}');
  const fields = value as Record<string, unknown>;
  onlyFields(fields, ['duration', 'scope']);
  const scope = fields.scope ?? 'identical';
  if (scope !== 'identical' && scope !== 'rule') throw badRequest('standing.scope must be identical or rule');
  const parsed = typeof fields.duration === 'string' ? parseDuration(fields.duration) : null;
  if (parsed === null || !parsed.ok)
    throw badRequest(
      `standing.duration must be a duration such as "30m"${parsed === null ? '' : `: ${parsed.message}`}`,
    );
  return { scope, durationMs: parsed.ms };
}
