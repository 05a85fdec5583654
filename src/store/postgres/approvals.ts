// The PostgreSQL ApprovalStore (approvals/store.ts): pending requests and their grants in the
// pending_requests table (migrate.ts), shared by every replica. Input/output: PendingRequest
// records with a version number, stored as JSON beside the columns that are selected on. Must
// never lose an update: every write is one compare-and-set statement on the version the writer
// read (`UPDATE … WHERE id = $1 AND version = $2`), which PostgreSQL applies atomically whichever
// replica sends it. A write is durable when put() resolves (synchronous_commit on, database.ts).
// putWithRecord writes a step and its audit record in one transaction (the chain's lock taken as
// the trail takes it), so a connection lost halfway leaves both or neither. The changes are the
// other replicas' (changes.ts).
import type { ApprovalChanges, ApprovalStore, StoredPending } from '../../approvals/store.js';
import type { PendingRequest } from '../../approvals/types.js';
import { reportCommitted, type AuditCommitHandler } from '../../audit/sinks/committed.js';
import { prepareAuditEvent } from '../audit-append.js';
import { appendInTransaction } from './audit-trail.js';
import { inTransaction, unavailableAsStatus, type PostgresClient, type PostgresPool } from './database.js';

interface Row {
  readonly version: number;
  readonly data: string;
}

function fromRow(row: Row): StoredPending {
  return { pending: JSON.parse(row.data) as PendingRequest, version: row.version };
}

const SELECT = 'SELECT version, data FROM pending_requests';

const INSERT = `INSERT INTO pending_requests
     (id, version, fingerprint, state, created_at, decided_at, grant_expires_at, grant_used, data)
   VALUES ($1, 1, $2, $3, $4, $5, $6, $7, $8)
   ON CONFLICT (id) DO NOTHING`;
const UPDATE = `UPDATE pending_requests
    SET version = version + 1, fingerprint = $2, state = $3, created_at = $4, decided_at = $5,
        grant_expires_at = $6, grant_used = $7, data = $8
  WHERE id = $1 AND version = $9`;

function columns(p: PendingRequest): unknown[] {
  return [
    p.id,
    p.fingerprint,
    p.state,
    p.createdAt,
    p.decidedAt,
    p.grantExpiresAt,
    p.grantUsed,
    JSON.stringify(p),
  ];
}

/** The compare-and-set: true when this write landed. */
async function write(
  db: Pick<PostgresClient, 'query'>,
  pending: PendingRequest,
  expected: number,
): Promise<boolean> {
  const result =
    expected === 0
      ? await db.query(INSERT, columns(pending))
      : await db.query(UPDATE, [...columns(pending), expected]);
  return result.rowCount === 1;
}

export function postgresApprovalStore(
  pool: PostgresPool,
  changes?: ApprovalChanges,
  /** The step's audit record once its transaction committed (the trail's onCommitted). */
  onAuditCommitted?: AuditCommitHandler,
): ApprovalStore {
  const rows = async (text: string, values: unknown[] = []) =>
    (await pool.query<Row>(text, values)).rows.map(fromRow);

  const store = unavailableAsStatus({
    put: async (pending, expected) =>
      (await write(pool, pending, expected)) ? { pending, version: expected + 1 } : null,
    putWithRecord: async (pending, expected, event) => {
      const prepared = prepareAuditEvent(event);
      const written = await inTransaction(pool, async (client) => {
        if (!(await write(client, pending, expected))) return null;
        return { records: await appendInTransaction(client, [prepared]), version: expected + 1 };
      });
      if (written === null) return null;
      reportCommitted(onAuditCommitted, written.records);
      return { pending, version: written.version };
    },
    get: async (id) => (await rows(`${SELECT} WHERE id = $1`, [id]))[0] ?? null,
    list: (filter) =>
      filter?.state === undefined
        ? rows(`${SELECT} ORDER BY created_at, id`)
        : rows(`${SELECT} WHERE state = $1 ORDER BY created_at, id`, [filter.state]),
    findActive: (fingerprint, now) =>
      rows(
        `${SELECT}
          WHERE fingerprint = $1
            AND (state = 'pending' OR (state = 'approved' AND NOT grant_used AND grant_expires_at > $2))
          ORDER BY created_at, id`,
        [fingerprint, now.toISOString()],
      ),
    findDenied: (fingerprint, since) =>
      rows(
        `${SELECT}
          WHERE fingerprint = $1 AND state = 'denied' AND decided_at >= $2
          ORDER BY decided_at DESC, id`,
        [fingerprint, since.toISOString()],
      ),
    findStanding: (now) =>
      rows(
        `${SELECT}
          WHERE state = 'approved' AND NOT grant_used AND grant_expires_at > $1
            AND (data::jsonb -> 'standing') IS NOT NULL
          ORDER BY created_at, id`,
        [now.toISOString()],
      ),
  } satisfies ApprovalStore);
  return changes === undefined ? store : { ...store, changes };
}
