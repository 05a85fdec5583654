// The seam between the approval service and where pending requests are kept: ApprovalStore is
// what service.ts needs, and store/ implements it (store/sqlite/approvals.ts for one replica,
// store/postgres/approvals.ts for several, both with the same compare-and-set: `UPDATE … WHERE
// id = $1 AND version = $2`). Input/output: PendingRequest records with a version number; for a
// store several replicas share, the changes the other replicas made (ApprovalChanges).
// An implementation must never lose an update: every write is a compare-and-set on the version
// the writer read, so two reviewers approving at once cannot overwrite each other (the loser
// re-reads and re-applies). A write is durable when put() resolves, so a review acknowledged to a
// reviewer, or a grant marked used, survives a crash. Failures reject; nothing throws.
import type { AuditEvent } from '../audit/event.js';
import type { ApprovalEvent, PendingRequest, PendingState } from './types.js';

export interface StoredPending {
  readonly pending: PendingRequest;
  /** Incremented by every write; the version a writer read is the one it must name to write. */
  readonly version: number;
}

export interface ApprovalStore extends SharedApprovalStore {
  /**
   * Writes `pending` if the stored version is still `expectedVersion` (0: the id must not exist
   * yet). Resolves to the new record, or null when someone else wrote first (or the id is taken).
   */
  put(pending: PendingRequest, expectedVersion: number): Promise<StoredPending | null>;
  get(id: string): Promise<StoredPending | null>;
  /** Oldest first. */
  list(filter?: { readonly state?: PendingState }): Promise<readonly StoredPending[]>;
  /**
   * The requests a new request with this fingerprint may meet: pending ones, and approved ones
   * whose grant is unused and unexpired at `now`. Oldest first.
   */
  findActive(fingerprint: string, now: Date): Promise<readonly StoredPending[]>;
  /** Denied requests with this fingerprint decided at or after `since`. Newest first. */
  findDenied(fingerprint: string, since: Date): Promise<readonly StoredPending[]>;
  /**
   * Approved requests carrying a standing approval whose grant is usable at `now` (unrevoked,
   * unexpired), whatever their fingerprint: a standing approval of the rule scope covers other
   * requests. Oldest first. Asked only when a request would otherwise wait for a new approval.
   */
  findStanding(now: Date): Promise<readonly StoredPending[]>;
}

/** What one replica tells the others: which request changed, and how (the event it emitted). */
export interface ApprovalChange {
  readonly type: ApprovalEvent['type'];
  readonly id: string;
}

/**
 * The replicas on one store hearing each other's changes (PostgreSQL: LISTEN/NOTIFY), so a client
 * held on one replica is released by a review on another, and every replica's live queue shows
 * every change. Delivery is at most once: after a connection loss the subscriber is told to
 * re-read what it waits for (onResync), so a lost message never leaves a client waiting.
 */
export interface ApprovalChanges {
  /** Tells the other replicas; never rejects (what is lost is caught up by their resync). */
  publish(change: ApprovalChange): void;
  /**
   * Calls onChange for every change another replica published, and onResync whenever the feed
   * (re)connects, when changes may have been missed. Returns the unsubscribe.
   */
  subscribe(onChange: (change: ApprovalChange) => void, onResync: () => void): () => void;
}

/** The optional parts of a store several replicas share. */
export interface SharedApprovalStore {
  /**
   * put() and the step's audit event in one transaction, for a store that keeps the trail beside
   * the requests (PostgreSQL): the step lands with its record or not at all, even when the
   * connection drops halfway. Without it the service appends the record after put() and puts the
   * request back when that fails.
   */
  readonly putWithRecord?: (
    pending: PendingRequest,
    expectedVersion: number,
    event: AuditEvent,
  ) => Promise<StoredPending | null>;
  readonly changes?: ApprovalChanges;
}
