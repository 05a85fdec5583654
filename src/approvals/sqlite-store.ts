// The approval store: pending requests and their grants, durable across restarts and kill -9.
//
// Place: behind service.ts, which is its only user. Input/output: PendingRequest records with a
// version number. ApprovalStore is the seam PostgreSQL will implement for several replicas (same
// compare-and-set on `version`: `UPDATE … WHERE id = $1 AND version = $2`).
// Must never: lose an update. Every write is a compare-and-set on the version the writer read, so
// two reviewers approving at once cannot overwrite each other; the loser re-reads and re-applies.
// A write is durable when put() resolves (WAL with synchronous=FULL fsyncs each commit), so a
// review acknowledged to a reviewer, or a grant marked used, survives a crash.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { KubegateError } from '../errors.js';
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
  close(): Promise<void>;
}

export const APPROVALS_DB = 'approvals.db';

const SCHEMA_VERSION = 1;

const MIGRATIONS: readonly string[] = [
  `CREATE TABLE pending_requests (
     id TEXT PRIMARY KEY,
     version INTEGER NOT NULL,
     fingerprint TEXT NOT NULL,
     state TEXT NOT NULL,
     created_at TEXT NOT NULL,
     grant_expires_at TEXT,
     grant_used INTEGER NOT NULL,
     data TEXT NOT NULL
   ) STRICT;
   CREATE INDEX pending_by_fingerprint ON pending_requests (fingerprint, state);
   CREATE INDEX pending_by_state ON pending_requests (state, created_at);`,
];

interface Row {
  readonly version: number;
  readonly data: string;
}

function fromRow(row: Row): StoredPending {
  return { pending: JSON.parse(row.data) as PendingRequest, version: row.version };
}

/** Opens (creating when absent) `<dataDir>/approvals.db`; rejects with KG_INTERNAL when it cannot. */
export function openSqliteApprovalStore(dataDir: string): Promise<ApprovalStore> {
  const path = join(dataDir, APPROVALS_DB);
  try {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const db = new Database(path, { timeout: 5000 });
    try {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      migrate(db);
      return Promise.resolve(storeOn(db));
    } catch (err) {
      db.close();
      throw err;
    }
  } catch (cause) {
    return Promise.reject(
      new KubegateError('KG_INTERNAL', `cannot open the approval store at ${path}`, { cause }),
    );
  }
}

function storeOn(db: Database.Database): ApprovalStore {
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
  const write = db.transaction((pending: PendingRequest, expected: number): StoredPending | null => {
    const changes =
      expected === 0
        ? insert.run(columns(pending)).changes
        : update.run({ ...columns(pending), expected }).changes;
    return changes === 1 ? { pending, version: expected + 1 } : null;
  });

  let closed = false;
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
    close: () =>
      settle(() => {
        if (!closed) db.close();
        closed = true;
      }),
  };
}

/** A synchronous database call as a promise: a throw becomes a rejection, as a remote store's would. */
// eslint-disable-next-line @typescript-eslint/require-await -- async turns a throw into a rejection
async function settle<T>(call: () => T): Promise<T> {
  return call();
}

function migrate(db: Database.Database): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > SCHEMA_VERSION) {
    throw new KubegateError(
      'KG_INTERNAL',
      `approvals.db has schema ${current}, newer than this kubegate understands (${SCHEMA_VERSION})`,
    );
  }
  db.transaction(() => {
    for (let v = current; v < SCHEMA_VERSION; v++) db.exec(MIGRATIONS[v] as string);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  })();
}
