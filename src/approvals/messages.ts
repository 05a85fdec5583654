// The words kubectl prints when a request waits for, or lost, its approval — the product as most
// people meet it: "Error from server (ApprovalRequired): <message>".
//
// Place: hold's answer to the client (holdRefusal turns a HoldOutcome into the KubegateError the
// gateway writes as a Status), review()'s refusals, and the notification texts.
// Input: PendingRequest records (and the configured public URL). Output: plain text.
// Must never: print a reviewer's comment, a name or a rule message raw — anything that reaches
// a terminal has its control, format and line-separator characters escaped, so a comment cannot
// redraw the screen; never show rule bodies (patterns, CEL), only rule names and messages.
import { KubegateError } from '../errors.js';
import type { Approver } from '../policy/decision.js';
import { formatDuration } from '../policy/duration.js';
import { DENIAL_STICKS_MS, policyMode, progressOf, type RequirementProgress } from './state-machine.js';
import type { HoldOutcome, PendingRequest, ReviewRefusal } from './types.js';

export interface MessageOptions {
  /** kubegate's public address (config `publicUrl`); with it, messages link to the request. */
  readonly publicUrl: string | null;
}

const MAX_TEXT = 300;
const UNPRINTABLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu;

/** `s` safe for a terminal: unprintable characters as \uXXXX, at most MAX_TEXT code points. */
export function printable(s: string): string {
  const escaped = s.replace(UNPRINTABLE, (ch) => {
    const cp = ch.codePointAt(0) as number;
    return cp < 0x10000 ? `\\u${cp.toString(16).padStart(4, '0')}` : `\\U${cp.toString(16).padStart(8, '0')}`;
  });
  const points = Array.from(escaped);
  return points.length > MAX_TEXT ? `${points.slice(0, MAX_TEXT).join('')}…` : escaped;
}

/** Where a person opens the request in the reviewer UI. */
export function requestUrl(publicUrl: string, id: string): string {
  return `${publicUrl.replace(/\/+$/, '')}/ui/requests/${encodeURIComponent(id)}`;
}

/** The CLI command a reviewer runs to approve. */
export function approveCommand(id: string): string {
  return `kubegate requests approve ${id}`;
}

function approversText(approvers: readonly Approver[]): string {
  return approvers.map((a) => `${a.kind} ${printable(a.name)}`).join(' or ');
}

function ruleText(progress: RequirementProgress): string {
  const { rule, message } = progress.requirement;
  const name = rule === null ? 'the default policy' : `rule "${printable(rule)}"`;
  return message ? `${name}: ${printable(message)}` : name;
}

/** One requirement still open: "2 of group sre, then 1 of user carol (rule "x": message)". */
function needText(progress: RequirementProgress): string {
  const { stage } = progress;
  if (stage === null) return '';
  const now =
    progress.approvedBy.length === 0
      ? `${progress.needed} of ${approversText(progress.approvers)}`
      : `${progress.needed} more of ${approversText(progress.approvers)} (approved so far by ${progress.approvedBy.map(printable).join(', ')})`;
  const later = progress.later.map((s) => `, then ${Math.max(1, s.count)} of ${approversText(s.approvers)}`);
  return `${now}${later.join('')} (${ruleText(progress)})`;
}

/** Who must still approve, every open requirement joined with "and". */
export function needsText(pending: PendingRequest, now: Date): string {
  const open = progressOf(pending, now).filter((p) => !p.done);
  if (open.length === 0) return 'nobody can approve it under the current policy';
  return open.map(needText).join('; and ');
}

function howText(pending: PendingRequest, options: MessageOptions): string {
  const link = options.publicUrl === null ? '' : ` or opens ${requestUrl(options.publicUrl, pending.id)}`;
  return `A reviewer runs \`${approveCommand(pending.id)}\`${link}`;
}

function grantText(pending: PendingRequest): string {
  const ttls = pending.requirements.map((r) => r.grantTtlMs).filter((v): v is number => v !== null);
  const ttl = ttls.length === 0 ? null : Math.max(...ttls);
  const window =
    ttl === null
      ? ''
      : ` within ${formatDuration(Math.max(1000, Math.round(ttl / 1000) * 1000))} of the approval`;
  return `then run the same command again: once approved, it goes through once${window}.`;
}

/** Deferred mode: the request was recorded and not sent. */
export function approvalRequiredMessage(pending: PendingRequest, now: Date, options: MessageOptions): string {
  return [
    `this request needs approval and was not sent. It is pending as ${pending.id}.`,
    `Who must approve: ${needsText(pending, now)}.`,
    `${howText(pending, options)};`,
    grantText(pending),
  ].join('\n');
}

/** Hold mode, after kubegate held the connection for `waitedMs` without a decision. */
export function holdTimedOutMessage(
  pending: PendingRequest,
  now: Date,
  options: MessageOptions & { readonly waitedMs: number },
): string {
  const waited = formatDuration(Math.max(1000, Math.round(options.waitedMs / 1000) * 1000));
  return [
    `this request needs approval and was not sent: ${pending.id} is still pending after waiting ${waited}.`,
    `Who must approve: ${needsText(pending, now)}.`,
    `${howText(pending, options)};`,
    grantText(pending),
  ].join('\n');
}

/** A reviewer denied it. */
export function deniedMessage(pending: PendingRequest): string {
  const deny = [...pending.reviews].reverse().find((r) => r.decision === 'deny');
  const by = deny === undefined ? 'a reviewer' : printable(deny.reviewer);
  const comment =
    deny === undefined || deny.comment === '' ? ' (no comment)' : `: "${printable(deny.comment)}"`;
  return [
    `this request was not sent: ${pending.id} was denied by ${by}${comment}.`,
    `Running the same command again within ${formatDuration(DENIAL_STICKS_MS)} gets this answer again; after that it asks for a new approval.`,
  ].join('\n');
}

/** The requester took it back. */
export function withdrawnMessage(pending: PendingRequest): string {
  const when = pending.decidedAt === null ? '' : ` at ${pending.decidedAt}`;
  return [
    `this request was not sent: ${pending.id} was withdrawn by its requester${when}.`,
    'Running the same command again asks for approval anew.',
  ].join('\n');
}

/** Nobody decided in time. */
export function expiredMessage(pending: PendingRequest, now: Date): string {
  const when = pending.decidedAt ?? pending.expiresAt ?? now.toISOString();
  return [
    `this request was not sent: ${pending.id} expired at ${when} without a decision (it needed ${needsText(pending, now)}).`,
    'Running the same command again asks for approval anew.',
  ].join('\n');
}

/** Approved, but its one-time grant went to another run of the same command (or ran out). */
export function grantGoneMessage(pending: PendingRequest): string {
  return [
    `this request was not sent: ${pending.id} was approved, but its one-time approval was already used by another run of the same command, or has run out.`,
    'Running the same command again asks for a new approval.',
  ].join('\n');
}

/**
 * The error the gateway answers with when the hold did not let the request through, or null when
 * it did. Every such error names the pending request in `details.name`.
 */
export function holdRefusal(
  outcome: HoldOutcome,
  now: Date,
  options: MessageOptions & { readonly holdTimeoutMs: number },
): KubegateError | null {
  const details = { name: outcome.pending.id, group: 'kubegate.dev', kind: 'pendingrequests' };
  switch (outcome.kind) {
    case 'proceed':
      return null;
    case 'denied':
      return new KubegateError('KG_APPROVAL_DENIED', deniedMessage(outcome.pending), { details });
    case 'expired':
      return new KubegateError('KG_APPROVAL_EXPIRED', expiredMessage(outcome.pending, now), { details });
    case 'waiting': {
      const { pending } = outcome;
      if (pending.state === 'denied') {
        return new KubegateError('KG_APPROVAL_DENIED', deniedMessage(pending), { details });
      }
      if (pending.state === 'expired') {
        return new KubegateError('KG_APPROVAL_EXPIRED', expiredMessage(pending, now), { details });
      }
      if (pending.state === 'withdrawn') {
        return new KubegateError('KG_APPROVAL_WITHDRAWN', withdrawnMessage(pending), { details });
      }
      const message =
        pending.state === 'approved'
          ? grantGoneMessage(pending)
          : policyMode(pending.requirements) === 'hold'
            ? holdTimedOutMessage(pending, now, { ...options, waitedMs: options.holdTimeoutMs })
            : approvalRequiredMessage(pending, now, options);
      return new KubegateError('KG_APPROVAL_REQUIRED', message, { details });
    }
  }
}

/** Why a review was refused, for the reviewer (API and CLI). */
export function refusalMessage(refusal: ReviewRefusal | 'not-found', id: string): string {
  switch (refusal) {
    case 'not-found':
      return `there is no request ${printable(id)}`;
    case 'own-request':
      return `you asked for ${id}: nobody approves their own request`;
    case 'not-an-approver':
      return `you are not among the approvers ${id} is waiting for now (its current stage, or a later one not yet open)`;
    case 'already-reviewed':
      return `you have already reviewed ${id}; each person counts once`;
    case 'not-pending':
      return `${id} is no longer pending (approved, denied, expired or withdrawn)`;
    case 'not-requester':
      return `only the requester may withdraw ${id}; a reviewer denies it instead (kubegate requests deny ${id} --comment …)`;
    case 'break-glass-not-allowed':
      return `break-glass is not allowed for ${id}: only its requester may use it, and only when every rule that asks for approval allows it`;
    case 'break-glass-needs-reason':
      return `break-glass for ${id} needs a written reason`;
    case 'standing-not-allowed':
      return `the rules that asked for approval of ${id} do not allow this standing approval`;
  }
}

/**
 * What kubectl prints after an approved request went through ("Warning: approved by bob, carol
 * after 2m13s (kg-…)"): who approved it, how long the approval took from the request, and its id.
 * For a deferred request's re-run, it says the re-run used the approval.
 */
export function approvedWarning(pending: PendingRequest, viaGrant: boolean): string {
  const approvers = pending.reviews
    .filter((r) => r.decision === 'approve')
    .map((r) => `${printable(r.reviewer)}${r.breakGlass ? ' (break-glass)' : ''}`);
  const by = approvers.length === 0 ? 'approved' : `approved by ${approvers.join(', ')}`;
  const took =
    pending.decidedAt === null
      ? ''
      : ` after ${formatDuration(Math.max(0, Math.round((Date.parse(pending.decidedAt) - Date.parse(pending.createdAt)) / 1000)) * 1000)}`;
  const s = pending.standing;
  const rerun =
    s !== undefined
      ? `; a standing approval until ${s.until} let it through (use ${s.uses})`
      : viaGrant && pending.mode === 'deferred'
        ? '; this re-run used the one-time approval'
        : '';
  return `${by}${took} (${pending.id})${rerun}`;
}

/**
 * `text` as an HTTP Warning header value (RFC 7234 §5.5, the shape the API server sends and
 * client-go parses): `299 - "text"`. Header values must be visible ASCII here (Node refuses
 * other characters), so anything else is written as \uXXXX, with the backslash itself escaped
 * in the quoted string (kubectl would otherwise unescape `\u` to `u`).
 */
export function warningHeaderValue(text: string): string {
  let quoted = '';
  for (const ch of printable(text)) {
    const cp = ch.codePointAt(0) as number;
    if (ch === '"' || ch === '\\') quoted += `\\${ch}`;
    else if (cp >= 0x20 && cp <= 0x7e) quoted += ch;
    else
      quoted +=
        cp < 0x10000
          ? `\\\\u${cp.toString(16).padStart(4, '0')}`
          : `\\\\U${cp.toString(16).padStart(8, '0')}`;
  }
  return `299 - "${quoted}"`;
}
