// `kubegate audit verify`'s work: checks the whole stored chain in audit.db. Input: a database
// opened with openAuditReader. Output: verifyChain's result plus the bad record's time. Reads the
// rows one at a time in seq order inside one read transaction (a consistent snapshot while the
// gateway keeps writing), so memory stays constant however long the trail. Must never write.
import { verifyChain } from './chain.js';
import type { StoredAuditRecord, VerifyResult } from './chain.js';
import type { AuditEvent } from './event.js';
import { AUDIT_COLUMN_NAMES, auditColumns, readRecordedHead } from './sqlite-trail.js';
import type { AuditColumns, AuditDatabase } from './sqlite-trail.js';

export type AuditVerifyReport =
  | Extract<VerifyResult, { ok: true }>
  | (Extract<VerifyResult, { ok: false }> & {
      /** The bad record's time; null when the seq is missing altogether. */
      readonly time: string | null;
    });

type Row = StoredAuditRecord & AuditColumns;

export function verifyAuditDatabase(db: AuditDatabase): AuditVerifyReport {
  // The head and the rows must come from the same snapshot, or a record committed in between
  // would look like one written outside kubegate.
  db.exec('BEGIN');
  try {
    const head = readRecordedHead(db);
    const rows = db
      .prepare<[], Row>(
        `SELECT seq, event AS canonical, prev_hash AS prevHash, hash, ${AUDIT_COLUMN_NAMES.join(', ')}
         FROM audit_events ORDER BY seq`,
      )
      .iterate();
    const result = verifyChain<Row>(rows, { head, check: columnsAgree });
    if (result.ok) return result;
    const at = db
      .prepare<[number], { time: string }>('SELECT time FROM audit_events WHERE seq = ?')
      .get(result.seq);
    return { ...result, time: at?.time ?? null };
  } finally {
    db.exec('COMMIT');
  }
}

/**
 * The hash covers the event text only; queries filter on the copied columns. A column changed
 * alone would hide a record from `audit query` while the chain still verified.
 */
function columnsAgree(row: Row): string | null {
  let event: AuditEvent;
  try {
    event = JSON.parse(row.canonical) as AuditEvent;
  } catch {
    return 'its text is not JSON';
  }
  const want = auditColumns(event);
  for (const name of AUDIT_COLUMN_NAMES) {
    if (row[name] !== want[name]) {
      return `its ${name} column says ${JSON.stringify(row[name])} but the hashed record says ${JSON.stringify(want[name])}`;
    }
  }
  return null;
}
