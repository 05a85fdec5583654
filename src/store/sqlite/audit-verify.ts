// AuditReader.verify over audit.db (`kubegate audit verify`, the UI's chain status): checks the
// whole stored chain. Input: a read connection, and heads saved outside it (`--against`). Output: verifyChain's result plus the bad
// record's time. Reads the rows one at a time in seq order inside one read transaction (a
// consistent snapshot while the gateway keeps writing), so memory stays constant however long the
// trail. Must never write. Synchronous and CPU-bound: the gateway runs it in a child process
// (audit-verify-worker.ts), the CLI in its own.
import { verifyChain } from '../../audit/chain.js';
import type { ChainAnchor, StoredAuditRecord } from '../../audit/chain.js';
import type { AuditVerifyReport } from '../../audit/store.js';
import { AUDIT_COLUMN_NAMES, columnsDisagree, type AuditColumns } from '../audit-columns.js';
import { readRecordedHead } from './audit-trail.js';
import type { SqliteDatabase } from './database.js';

type Row = StoredAuditRecord & AuditColumns;

export function verifySqliteTrail(
  db: SqliteDatabase,
  against: readonly ChainAnchor[] = [],
): AuditVerifyReport {
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
    // The hash covers the event text only; queries filter on the copied columns. A column
    // changed alone would hide a record from `audit query` while the chain still verified.
    const result = verifyChain<Row>(rows, {
      head,
      anchors: against,
      check: (row) => columnsDisagree(row, row.canonical),
    });
    if (result.ok) return result;
    const at = db
      .prepare<[number], { time: string }>('SELECT time FROM audit_events WHERE seq = ?')
      .get(result.seq);
    return { ...result, time: at?.time ?? null };
  } finally {
    db.exec('COMMIT');
  }
}
