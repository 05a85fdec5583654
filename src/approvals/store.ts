// The seam between the approval service and where pending requests are kept: ApprovalStore is
// what service.ts needs, and store/ implements it (store/sqlite/approvals.ts today; PostgreSQL
// for several replicas later, with the same compare-and-set: `UPDATE … WHERE id = $1 AND
// version = $2`). Input/output: PendingRequest records with a version number.
// An implementation must never lose an update: every write is a compare-and-set on the version
// the writer read, so two reviewers approving at once cannot overwrite each other (the loser
// re-reads and re-applies). A write is durable when put() resolves, so a review acknowledged to a
// reviewer, or a grant marked used, survives a crash. Failures reject; nothing throws.
import type { PendingRequest, PendingState } from './types.js';

export interface StoredPending {
  readonly pending: PendingRequest;
  /** Incremented by every write; the version a writer read is the one it must name to write. */
  readonly version: number;
}

export interface ApprovalStore {
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
}
