// The seam between a store's audit trail and the sinks that ship the trail elsewhere: after a
// batch's transaction commits, the trail hands over the records it wrote (seq, prevHash, hash and
// the canonical text the hash covers), in seq order. Only committed records: a sink's copy never
// holds a record the store does not. With several replicas on PostgreSQL each replica hands over
// the records it committed itself, so its copy is a subset of the one chain (docs/AUDIT.md,
// "Shipping the trail").
import type { StoredAuditRecord } from '../chain.js';

/** Called once per committed batch; must return at once (sinks queue and write asynchronously). */
export type AuditCommitHandler = (records: readonly StoredAuditRecord[]) => void;

/**
 * Calls the handler, never letting it throw into the trail: the batch is committed and its
 * appends resolved already, so a sink's bug must not turn into a crash of the commit loop.
 */
export function reportCommitted(
  handler: AuditCommitHandler | null | undefined,
  records: readonly StoredAuditRecord[],
): void {
  if (handler == null || records.length === 0) return;
  try {
    handler(records);
  } catch (err) {
    process.emitWarning(err instanceof Error ? err : new Error(String(err)), { code: 'KG_AUDIT_SINK' });
  }
}

/** One place the committed records are shipped to (jsonl.ts, webhook.ts). */
export interface AuditSink {
  /** Takes one committed batch; returns at once, never throws, never waits on the network or disk. */
  write(records: readonly StoredAuditRecord[]): void;
  /** Writes or delivers what is queued (within a bounded time), then releases the file or stops. */
  close(): Promise<void>;
}

/** The part of kubegate's logger a sink uses: what it dropped, or could not deliver, is logged. */
export interface SinkLog {
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}
