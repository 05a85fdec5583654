// The seam between the audit trail and where it is kept. Every stage writes through AuditTrail
// (event.ts); everything that reads the trail back (`kubegate audit query|verify|export`, the web
// UI's audit view and its chain status) goes through AuditReader. store/ implements both
// (store/sqlite/ today; PostgreSQL later), so no module outside store/ sees a database handle.
// An AuditReader must never write, and never answer from anything but the stored records: an
// entry's event is parsed from the hashed text, never rebuilt from columns kept beside it.
import type { ChainAnchor, ChainHead, StoredAuditRecord, VerifyResult } from './chain.js';
import type { AuditEvent } from './event.js';

export interface AuditQuery {
  /** The requester or the actor (a reviewer), so one name finds what a person asked and decided. */
  readonly user?: string;
  readonly verb?: string;
  readonly namespace?: string;
  /** `pods` finds pods and its subresources (pods/exec, pods/log); `pods/exec` only that one. */
  readonly resource?: string;
  readonly decision?: string;
  readonly kind?: string;
  readonly requestId?: string;
  readonly pendingId?: string;
  /** Events at or after this time. */
  readonly since?: Date;
  /** Events before this time. */
  readonly until?: Date;
  /** At most this many: the most recent ones. */
  readonly limit?: number;
}

/** One stored record: its position in the chain, the event, and the hashes that bind it. */
export interface AuditEntry {
  readonly seq: number;
  readonly event: AuditEvent;
  readonly prevHash: string;
  readonly hash: string;
}

/** verifyChain's result over the whole stored trail, plus the bad record's time. */
export type AuditVerifyReport =
  | Extract<VerifyResult, { ok: true }>
  | (Extract<VerifyResult, { ok: false }> & {
      /** The bad record's time; null when the seq is missing altogether. */
      readonly time: string | null;
    });

export interface AuditReader {
  /** The matching entries, oldest first (with a limit: the most recent ones, still oldest first). */
  query(filter: AuditQuery): Promise<readonly AuditEntry[]>;
  /**
   * Every record in seq order, its canonical text byte for byte as stored, read lazily from one
   * consistent view of the trail (records appended meanwhile are left out). For export.
   */
  records(): AsyncIterable<StoredAuditRecord>;
  /**
   * Checks the whole stored chain against its recorded head (audit/chain.ts verifyChain), and
   * that the columns kept for queries agree with the hashed text. With `against`, heads saved
   * outside the database (audit/head.ts): the chain must still hold each one's seq with its
   * hash, which the recorded head alone cannot show after a cut tail. A long trail takes
   * seconds: the gateway's store runs the check away from the request path's thread.
   */
  verify(against?: readonly ChainAnchor[]): Promise<AuditVerifyReport>;
  /** The chain head recorded beside the records; null for an empty trail. */
  head(): Promise<ChainHead | null>;
}
