// What every store's audit trail does the same way around its own writes: an event made ready to
// store (its canonical text for the hash, its columns for queries), and where the next record
// continues the chain given the recorded head and the last stored record, and how a batch that
// could not be written is answered. Shared by store/sqlite/ and store/postgres/. Pure: no I/O.
import { canonicalEvent, GENESIS_HASH, type ChainHead } from '../audit/chain.js';
import type { AuditEvent } from '../audit/event.js';
import { KubegateError } from '../errors.js';
import { auditColumns, type AuditColumns } from './audit-columns.js';

/** toISOString's shape: fixed width, UTC, so the time column sorts and compares as text. */
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

export interface PreparedAuditEvent {
  readonly canonical: string;
  readonly columns: AuditColumns;
}

/** Throws KG_INTERNAL for an event that cannot be stored (a time in another shape, not JSON data). */
export function prepareAuditEvent(event: AuditEvent): PreparedAuditEvent {
  // A time in another shape would sort wrongly in the time column and break range queries.
  if (!ISO_TIME.test(event.time)) {
    throw new KubegateError('KG_INTERNAL', 'audit event time is not an ISO 8601 UTC time with milliseconds');
  }
  try {
    return { canonical: canonicalEvent(event), columns: auditColumns(event) };
  } catch (cause) {
    throw new KubegateError('KG_INTERNAL', 'audit event is not JSON data', { cause });
  }
}

/** Where the next record continues the chain: the head row or the last record, whichever is further. */
export function further(head: ChainHead | undefined, last: ChainHead | undefined): ChainHead {
  // A head behind the last row means rows were added outside kubegate: continuing from the head
  // would collide with them and refuse every append. A head past the last row means the tail was
  // cut: continuing from the head keeps the gap visible to verify.
  const row = head && last ? (head.seq >= last.seq ? head : last) : (head ?? last);
  return row ? { seq: row.seq, hash: row.hash } : { seq: 0, hash: GENESIS_HASH };
}

/** An event waiting in a trail's group commit: durable appends wait on resolve/reject. */
export interface QueuedAuditEvent extends PreparedAuditEvent {
  readonly resolve?: () => void;
  readonly reject?: (err: KubegateError) => void;
}

export function auditUnavailable(message: string, cause?: unknown): KubegateError {
  return new KubegateError('KG_AUDIT_UNAVAILABLE', message, cause === undefined ? undefined : { cause });
}

/**
 * Told when events could not be stored: how many of them nobody waited for (batched, so lost to
 * the trail), and every event of the failed write as its canonical text, for the log to keep.
 */
export type AuditErrorHandler = (err: KubegateError, lost: number, events: readonly string[]) => void;

/**
 * A batch the store could not write: each durable append is refused with the error; the batched
 * ones (appendLater) have nobody waiting, so they are reported once, counted, through onError,
 * which gets the whole batch's events so that nothing is lost silently.
 */
export function refuseBatch(
  batch: readonly QueuedAuditEvent[],
  cause: unknown,
  onError: AuditErrorHandler,
): void {
  const err = auditUnavailable('the audit trail could not be written', cause);
  let lost = 0;
  for (const item of batch) {
    if (item.reject) item.reject(err);
    else lost += 1;
  }
  onError(
    err,
    lost,
    batch.map((item) => item.canonical),
  );
}
