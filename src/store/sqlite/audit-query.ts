// AuditReader.query over audit.db (`kubegate audit query`, the UI's audit view): finds stored
// audit events by the fields an auditor asks about. Input: a read connection and an AuditQuery.
// Output: the matching entries in seq order, each parsed from the hashed text (never from the
// copied columns, which only narrow the search). Must never write, and never build SQL from
// values: every value is bound.
import type { AuditEvent } from '../../audit/event.js';
import type { AuditEntry, AuditQuery } from '../../audit/store.js';
import type { SqliteDatabase } from './database.js';

interface EntryRow {
  readonly seq: number;
  readonly event: string;
  readonly prevHash: string;
  readonly hash: string;
}

/** The matching entries, oldest first. */
export function queryEntries(db: SqliteDatabase, query: AuditQuery): AuditEntry[] {
  const where: string[] = [];
  const params: (string | number)[] = [];
  const equal = (column: string, value: string | undefined): void => {
    if (value === undefined) return;
    where.push(`${column} = ?`);
    params.push(value);
  };
  if (query.user !== undefined) {
    where.push('(user = ? OR actor = ?)');
    params.push(query.user, query.user);
  }
  equal('verb', query.verb);
  equal('namespace', query.namespace);
  if (query.resource !== undefined) {
    if (query.resource.includes('/')) equal('resource', query.resource);
    else {
      // A range rather than LIKE: the index serves it, and '%' or '_' in a name stay literal.
      // '0' is the character after '/', so the range holds exactly "<resource>/…".
      where.push('(resource = ? OR (resource >= ? AND resource < ?))');
      params.push(query.resource, `${query.resource}/`, `${query.resource}0`);
    }
  }
  equal('decision', query.decision);
  equal('kind', query.kind);
  equal('request_id', query.requestId);
  equal('pending_id', query.pendingId);
  // Stored times are toISOString() text, so text comparison is time order.
  if (query.since !== undefined) {
    where.push('time >= ?');
    params.push(query.since.toISOString());
  }
  if (query.until !== undefined) {
    where.push('time < ?');
    params.push(query.until.toISOString());
  }
  const select = `SELECT seq, event, prev_hash AS prevHash, hash FROM audit_events${
    where.length === 0 ? '' : ` WHERE ${where.join(' AND ')}`
  }`;
  const sql =
    query.limit === undefined
      ? `${select} ORDER BY seq`
      : `SELECT * FROM (${select} ORDER BY seq DESC LIMIT ?) ORDER BY seq`;
  if (query.limit !== undefined) params.push(query.limit);
  return db
    .prepare<(string | number)[], EntryRow>(sql)
    .all(...params)
    .map((row) => ({
      seq: row.seq,
      event: JSON.parse(row.event) as AuditEvent,
      prevHash: row.prevHash,
      hash: row.hash,
    }));
}
