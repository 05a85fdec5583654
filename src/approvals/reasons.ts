// Why a requester asks (issue 16, "reviewers see why"): kubectl cannot carry a reason, so the
// requester sets one beforehand with `kubegate reason "…"` (kept a short while, for their next
// held request) or gives it on the request page. Reviewers see it; the audit trail keeps it.
//
// Place: the reviewer API checks the text (checkReason) and stores a next reason; the approval
// service takes it when it creates the requester's next pending request. Input: the requester's
// text. Output: the checked text, or KG_API_BAD_REQUEST saying what is wrong.
// Must never accept markup-bearing control: the text is one line of plain text (no control,
// format or line-separator characters), bounded in length, and every surface shows it as text
// (the UI sets textContent, the CLI escapes, the audit trail stores it as a JSON string).
import { KubegateError } from '../errors.js';

/** The longest reason a requester may give, in characters (code points). */
export const MAX_REASON_LENGTH = 500;

/** How long a reason set with `kubegate reason` waits for the next held request, by default. */
export const DEFAULT_REASON_TTL_MS = 15 * 60_000;

/** The longest a requester may ask a reason to wait (`kubegate reason --for`). */
export const MAX_REASON_TTL_MS = 24 * 60 * 60_000;

/** A reason set with `kubegate reason`, waiting for the requester's next held request. */
export interface NextReason {
  readonly text: string;
  /** Epoch milliseconds. */
  readonly setAt: number;
  readonly expiresAt: number;
}

/**
 * Where next reasons are kept (store/sqlite/reasons.ts, store/postgres/reasons.ts): one per user,
 * in the store every replica shares, so the replica that holds the request finds it.
 */
export interface NextReasonStore {
  /** Replaces the user's reason. */
  set(user: string, reason: NextReason): Promise<void>;
  /** The user's reason unless it expired by `now`. */
  get(user: string, now: number): Promise<NextReason | null>;
  /** Removes the user's reason; with `setAt`, only that one (not one set since). */
  clear(user: string, setAt?: number): Promise<void>;
}

const NOT_PLAIN = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u;

/** The reason trimmed, or KG_API_BAD_REQUEST: empty, too long, or not one line of plain text. */
export function checkReason(text: string): string {
  const trimmed = text.trim();
  if (trimmed === '') {
    throw new KubegateError('KG_API_BAD_REQUEST', 'the reason is empty: say in a few words why you ask');
  }
  const length = Array.from(trimmed).length;
  if (length > MAX_REASON_LENGTH) {
    throw new KubegateError(
      'KG_API_BAD_REQUEST',
      `the reason is ${length} characters long; at most ${MAX_REASON_LENGTH} are kept. Shorten it (link a ticket for the details).`,
    );
  }
  if (NOT_PLAIN.test(trimmed)) {
    throw new KubegateError(
      'KG_API_BAD_REQUEST',
      'the reason must be one line of plain text: no line breaks, tabs, or control or formatting characters',
    );
  }
  return trimmed;
}

/**
 * The approval-requested record's comment: the rule's message as before, and the requester's
 * reason after it when they gave one.
 */
export function requestedComment(ruleMessage: string | null, reason: string | null): string | null {
  if (reason === null) return ruleMessage;
  return ruleMessage === null ? `reason: ${reason}` : `${ruleMessage}\nreason: ${reason}`;
}
