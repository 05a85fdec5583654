// The SQLite ApprovalStore (approvals/store.ts): pending requests and their grants in the
// pending_requests table of approvals.db (layouts.ts), durable across restarts and kill -9.
// Input/output: PendingRequest records with a version number, stored as JSON beside the columns
// that are selected on. Must never lose an update: every write is a compare-and-set on the
// version the writer read (`UPDATE … WHERE id = @id AND version = @expected`), taken under the
// write lock (IMMEDIATE), so another process on the file waits its turn. A write is durable when
// put() resolves: the connection commits with synchronous=FULL (database.ts).
import type { ApprovalStore, StoredPending } from '../../approvals/store.js';
import type { PendingRequest } from '../../approvals/types.js';
import type { SqliteDatabase } from './database.js';
import { settle } from './settle.js';

interface Row {
  readonly version: number;
  readonly data: string;
}

function fromRow(row: Row): StoredPending {
  // Records written before requesterLeftAt existed lack it: a client was waiting, or none needed to.
  const stored = JSON.parse(row.data) as Omit<PendingRequest, 'requesterLeftAt'> & {
    readonly requesterLeftAt?: string | null;
  };
  return { pending: { ...stored, requesterLeftAt: stored.requesterLeftAt ?? null }, version: row.version };
}

/** The store over approvals.db, opened and migrated by the caller (open.ts). */
export function sqliteApprovalStore(db: SqliteDatabase): ApprovalStore {
  const columns = (p: PendingRequest) => ({
    id: p.id,
    fingerprint: p.fingerprint,
    state: p.state,
    created_at: p.createdAt,
    grant_expires_at: p.grantExpiresAt,
    grant_used: p.grantUsed ? 1 : 0,
    data: JSON.stringify(p),
  });
  const insert = db.prepare(
    `INSERT OR IGNORE INTO pending_requests
       (id, version, fingerprint, state, created_at, grant_expires_at, grant_used, data)
     VALUES (@id, 1, @fingerprint, @state, @created_at, @grant_expires_at, @grant_used, @data)`,
  );
  const update = db.prepare(
    `UPDATE pending_requests
        SET version = version + 1, fingerprint = @fingerprint, state = @state, created_at = @created_at,
            grant_expires_at = @grant_expires_at, grant_used = @grant_used, data = @data
      WHERE id = @id AND version = @expected`,
  );
  const byId = db.prepare<[string], Row>('SELECT version, data FROM pending_requests WHERE id = ?');
  const all = db.prepare<[], Row>('SELECT version, data FROM pending_requests ORDER BY created_at, id');
  const byState = db.prepare<[string], Row>(
    'SELECT version, data FROM pending_requests WHERE state = ? ORDER BY created_at, id',
  );
  const active = db.prepare<[string, string], Row>(
    `SELECT version, data FROM pending_requests
      WHERE fingerprint = ?
        AND (state = 'pending' OR (state = 'approved' AND grant_used = 0 AND grant_expires_at > ?))
      ORDER BY created_at, id`,
  );
  // Denials are rare and answered within a minute of the decision: the JSON field is enough.
  const denied = db.prepare<[string, string], Row>(
    `SELECT version, data FROM pending_requests
      WHERE fingerprint = ? AND state = 'denied' AND json_extract(data, '$.decidedAt') >= ?
      ORDER BY json_extract(data, '$.decidedAt') DESC, id`,
  );
  // Scans the approved rows (no index on the JSON field): asked only before a new approval.
  const standing = db.prepare<[string], Row>(
    `SELECT version, data FROM pending_requests
      WHERE state = 'approved' AND grant_used = 0 AND grant_expires_at > ?
        AND json_extract(data, '$.standing') IS NOT NULL
      ORDER BY created_at, id`,
  );
  const write = db.transaction((pending: PendingRequest, expected: number): StoredPending | null => {
    const changes =
      expected === 0
        ? insert.run(columns(pending)).changes
        : update.run({ ...columns(pending), expected }).changes;
    return changes === 1 ? { pending, version: expected + 1 } : null;
  });

  return {
    // IMMEDIATE: the write lock is taken at BEGIN, so another process on the file waits its turn.
    put: (pending, expectedVersion) => settle(() => write.immediate(pending, expectedVersion)),
    get: (id) =>
      settle(() => {
        const row = byId.get(id);
        return row === undefined ? null : fromRow(row);
      }),
    list: (filter) =>
      settle(() => (filter?.state === undefined ? all.all() : byState.all(filter.state)).map(fromRow)),
    findActive: (fingerprint, now) => settle(() => active.all(fingerprint, now.toISOString()).map(fromRow)),
    findDenied: (fingerprint, since) =>
      settle(() => denied.all(fingerprint, since.toISOString()).map(fromRow)),
    findStanding: (now) => settle(() => standing.all(now.toISOString()).map(fromRow)),
  };
}
