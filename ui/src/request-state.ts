// Where a request stands, in words, for the request page and the queue. Pure. A request the policy
// would hold becomes deferred once its held command stops waiting (requesterLeftAt): its approval
// then sends nothing and lets only the requester's re-run through, so nothing here may say that a
// waiting command goes through in that case. Worded as the CLI words it (src/cli/requests.ts,
// stateLine and grantText), with times shown as the rest of the page shows them.
import type { PendingRequest } from './api-types.js';
import { formatTime } from './format.js';

type Shown = Pick<
  PendingRequest,
  'state' | 'mode' | 'requesterLeftAt' | 'decidedAt' | 'grantExpiresAt' | 'grantUsed'
>;

/** What the person on the page just did. */
export type Outcome = 'approve' | 'deny' | 'break-glass' | 'withdraw';

const atTime = (iso: string | null): string => (iso === null ? '' : ` at ${formatTime(iso)}`);

/** What an approval lets happen (or let happen), as a clause. */
function grantClause(p: Shown): string {
  if (p.mode === 'hold')
    return p.grantUsed ? 'the command went through' : 'the waiting command goes through now';
  if (p.grantUsed) return 'its one re-run was used';
  const until = p.grantExpiresAt === null ? '' : `, until ${formatTime(p.grantExpiresAt)}`;
  return p.requesterLeftAt === null
    ? `the requester may re-run the command once${until}`
    : `the requester is no longer waiting, so nothing was sent; their re-run goes through once${until}`;
}

/** "pending: the command is waiting", "withdrawn by its requester at …", and so on. */
export function stateText(p: Shown): string {
  switch (p.state) {
    case 'pending':
      if (p.mode === 'hold') return 'pending: the command is waiting';
      return p.requesterLeftAt === null
        ? 'pending: the requester re-runs the command once approved'
        : `pending: the requester is no longer waiting — the command stopped${atTime(p.requesterLeftAt)}; once approved, the requester re-runs it once`;
    case 'approved':
      return `approved${atTime(p.decidedAt)}: ${grantClause(p)}`;
    case 'denied':
      return `denied${atTime(p.decidedAt)}`;
    case 'expired':
      return `expired${atTime(p.decidedAt)} without a decision`;
    case 'withdrawn':
      return `withdrawn by its requester${atTime(p.decidedAt)}`;
    default: {
      const unreachable: never = p.state;
      return String(unreachable);
    }
  }
}

/** The request page's Mode field: while pending, whether a command waits for the decision. */
export function modeText(p: Shown): string {
  if (p.state !== 'pending') return p.mode;
  if (p.mode === 'hold') return 'hold — the command is waiting';
  return p.requesterLeftAt === null
    ? 'deferred — the requester re-runs the command once approved'
    : `deferred — the requester is no longer waiting: the command stopped${atTime(p.requesterLeftAt)}`;
}

/** For the queue: a pending request whose held command stopped waiting; null otherwise. */
export function waitingNote(p: Shown): string | null {
  if (p.state !== 'pending' || p.requesterLeftAt === null) return null;
  return `The requester is no longer waiting: the command stopped${atTime(p.requesterLeftAt)}; once approved, the requester re-runs it once.`;
}

/** Beside the Approve button: what a (last) approval does. */
export function approveHint(p: Shown): string {
  if (p.mode === 'hold') return 'Once approved, the waiting command goes through at once.';
  return p.requesterLeftAt === null
    ? 'Once approved, nothing is sent until the requester re-runs the command; their re-run goes through once.'
    : 'The requester is no longer waiting: once approved, nothing is sent until they re-run the command; their re-run goes through once.';
}

/** What the page says after the person's own action, from the request the server answered. */
export function reviewDoneText(outcome: Outcome, p: Shown): string {
  switch (outcome) {
    case 'deny':
      return 'You denied this request.';
    case 'withdraw':
      return 'You withdrew this request. Nothing was sent; running the command again asks for approval anew.';
    case 'approve':
    case 'break-glass': {
      const did =
        outcome === 'approve' ? 'You approved this request' : 'You approved this request with break-glass';
      if (p.state === 'pending') return `${did}; it still needs other approvals.`;
      if (p.state === 'approved') return `${did}: ${grantClause(p)}.`;
      return `${did}; it is now ${stateText(p)}.`;
    }
    default: {
      const unreachable: never = outcome;
      return String(unreachable);
    }
  }
}
