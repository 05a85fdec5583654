// Moving from one replica to many: copies a SQLite store (approvals.db: pending requests with
// their grants, web sessions; audit.db: the hash-chained trail and its head) into an empty
// PostgreSQL store, for `kubegate store copy`. Input: the two stores' configs. Output: what was
// copied, and the PostgreSQL chain's verdict read back through its AuditReader.
//
// Must never merge into a database that already holds anything (a live database's chain and
// versions would fork), never leave half a copy (one PostgreSQL transaction, under the audit
// lock the replicas take), never write to the SQLite files (only read, under a lock that a running
// gateway refuses and that keeps one from starting meanwhile), never copy a trail that does not verify, and never re-hash: records
// keep their seq, text, prev_hash and hash byte for byte, so heads saved before the move
// (`audit verify --against`) still match after it.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import Database from './sqlite/driver.js';
import type { ChainHead } from '../audit/chain.js';
import type { AuditVerifyReport } from '../audit/store.js';
import { KubegateError } from '../errors.js';
import { AUDIT_COLUMN_NAMES } from './audit-columns.js';
import { openStore, type StoreConfig } from './open.js';
import { inTransaction, openPool, type PostgresClient } from './postgres/database.js';
import { LOCKS } from './postgres/migrate.js';
import { redacted, type PostgresStoreConfig } from './postgres/open.js';
import { verifySqliteTrail } from './sqlite/audit-verify.js';
import { readRecordedHead } from './sqlite/audit-trail.js';
import type { SqliteDatabase } from './sqlite/database.js';
import { APPROVALS_DB, APPROVALS_LAYOUT, AUDIT_LAYOUT } from './sqlite/layouts.js';
import { checkVersion, type SqliteLayout } from './sqlite/migrate.js';

export interface CopyReport {
  readonly pending: number;
  readonly sessions: number;
  readonly auditRecords: number;
  /** The head copied; null for an empty trail. */
  readonly head: ChainHead | null;
  /** The PostgreSQL store's own verify, after the commit. */
  readonly verified: AuditVerifyReport;
}

/** Rows per INSERT: PostgreSQL binds at most 65,535 parameters per statement. */
const MAX_PARAMETERS = 60_000;
/** Audit rows read from SQLite and sent to PostgreSQL at a time: the trail is never all in memory. */
const AUDIT_PAGE = 2000;

const PENDING_COLUMNS = [
  'id',
  'version',
  'fingerprint',
  'state',
  'created_at',
  'decided_at',
  'grant_expires_at',
  'grant_used',
  'data',
] as const;
// `n` (PostgreSQL's tie-break for sessions created in the same millisecond) is left to its
// sequence: rows go in in SQLite's rowid order, which is the order SQLite breaks ties in.
const SESSION_COLUMNS = [
  'id_digest',
  'user',
  'groups',
  'token_digest',
  'oidc',
  'csrf_token',
  'created_at',
  'expires_at',
] as const;
const AUDIT_COLUMNS = ['seq', ...AUDIT_COLUMN_NAMES, 'event', 'prev_hash', 'hash'] as const;

/**
 * Copies the SQLite store `from` into the PostgreSQL store `to` (migrated first if new), then
 * verifies the copied chain. KG_CONFIG_INVALID when the source is missing, in use, older than
 * this kubegate or its chain is broken, or when the target is not empty; nothing is written then.
 */
export async function copySqliteToPostgres(
  from: Extract<StoreConfig, { type: 'sqlite' }>,
  to: Extract<StoreConfig, { type: 'postgres' }>,
): Promise<CopyReport> {
  const approvalsPath = join(from.dir, APPROVALS_DB);
  const approvals = openSource(approvalsPath, APPROVALS_LAYOUT);
  try {
    const audit = openSource(from.auditFile, AUDIT_LAYOUT);
    try {
      const source = verifySqliteTrail(audit);
      if (!source.ok) {
        throw new KubegateError(
          'KG_CONFIG_INVALID',
          `the audit trail in ${from.auditFile} does not verify (seq ${source.seq}: ${source.problem}: ${source.detail}), so nothing was copied. Find out what happened (kubegate audit verify --config with the SQLite config) before moving the trail.`,
        );
      }
      // The full store first: it migrates a new database and names an unreachable one plainly.
      await (await openStore(to)).close();
      const copied = await copyInto(await urlOf(to), approvals, audit, source);
      const target = await openStore(to, { readOnly: true });
      try {
        return { ...copied, verified: await target.auditReader.verify() };
      } finally {
        await target.close();
      }
    } finally {
      audit.close();
    }
  } finally {
    approvals.close();
  }
}

type Copied = Omit<CopyReport, 'verified'>;

async function copyInto(
  url: string,
  approvals: SqliteDatabase,
  audit: SqliteDatabase,
  source: Extract<AuditVerifyReport, { ok: true }>,
): Promise<Copied> {
  const pool = openPool(url, 1);
  try {
    return await inTransaction(pool, async (client) => {
      // Held until COMMIT: a replica started by mistake meanwhile cannot chain onto a half copy
      // (the audit lock its batches take) nor write a request or session between the check for
      // an empty database and the inserts (the tables' lock; readers still read).
      await client.query('SELECT pg_advisory_xact_lock($1)', [LOCKS.audit]);
      await client.query(
        'LOCK TABLE pending_requests, web_sessions, audit_events, audit_head IN EXCLUSIVE MODE',
      );
      await refuseNotEmpty(client, url);
      const { pending, sessions } = readApprovals(approvals);
      await insertRows(client, 'pending_requests', PENDING_COLUMNS, pending);
      await insertRows(client, 'web_sessions', SESSION_COLUMNS, sessions);
      const head = await copyAudit(client, audit, source);
      return { pending: pending.length, sessions: sessions.length, auditRecords: source.count, head };
    });
  } finally {
    await pool.end();
  }
}

async function refuseNotEmpty(client: PostgresClient, url: string): Promise<void> {
  const { rows } = await client.query<{ pending: boolean; sessions: boolean; audit: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM pending_requests) AS pending,
            EXISTS (SELECT 1 FROM web_sessions) AS sessions,
            EXISTS (SELECT 1 FROM audit_events) OR EXISTS (SELECT 1 FROM audit_head) AS audit`,
  );
  const found = rows[0];
  const held = [
    found?.pending === true ? 'pending requests' : null,
    found?.sessions === true ? 'web sessions' : null,
    found?.audit === true ? 'audit records' : null,
  ].filter((what) => what !== null);
  if (held.length === 0) return;
  throw new KubegateError(
    'KG_CONFIG_INVALID',
    `the PostgreSQL store at ${redacted(url)} already holds ${held.join(', ')}: a copy goes only into a database no kubegate has used yet, never into a live one. Nothing was copied. Point --config at a new, empty database (kubegate creates its tables).`,
  );
}

/** Both tables from one snapshot of approvals.db, as rows in the PostgreSQL columns' order. */
function readApprovals(db: SqliteDatabase): { pending: unknown[][]; sessions: unknown[][] } {
  db.exec('BEGIN');
  try {
    const pending = db
      .prepare<[], PendingRow>(
        'SELECT id, version, fingerprint, state, created_at, grant_expires_at, grant_used, data FROM pending_requests ORDER BY created_at, id',
      )
      .all()
      .map(pendingRow);
    const sessions = db
      .prepare<[], unknown[]>(`SELECT ${SESSION_COLUMNS.join(', ')} FROM web_sessions ORDER BY rowid`)
      .raw()
      .all();
    return { pending, sessions };
  } finally {
    db.exec('COMMIT');
  }
}

interface PendingRow {
  readonly id: string;
  readonly version: number;
  readonly fingerprint: string;
  readonly state: string;
  readonly created_at: string;
  readonly grant_expires_at: string | null;
  readonly grant_used: number;
  readonly data: string;
}

/**
 * One pending request as PostgreSQL keeps it: the columns as they were, decided_at (which
 * PostgreSQL selects denials on; SQLite reads it from the JSON) from the JSON. The JSON stays as
 * it was, except that records written before requesterLeftAt existed get it as null: SQLite's
 * reader fills it in, PostgreSQL's reads the JSON as it is.
 */
function pendingRow(row: PendingRow): unknown[] {
  const data = JSON.parse(row.data) as { decidedAt?: string | null; requesterLeftAt?: string | null };
  const text = 'requesterLeftAt' in data ? row.data : JSON.stringify({ ...data, requesterLeftAt: null });
  return [
    row.id,
    row.version,
    row.fingerprint,
    row.state,
    row.created_at,
    data.decidedAt ?? null,
    row.grant_expires_at,
    row.grant_used !== 0,
    text,
  ];
}

/**
 * The records and the head, a page at a time from one snapshot of audit.db. It must hold the very
 * chain verified before; the file's lock makes sure, and the check below says so if it did not.
 */
async function copyAudit(
  client: PostgresClient,
  db: SqliteDatabase,
  source: Extract<AuditVerifyReport, { ok: true }>,
): Promise<ChainHead | null> {
  db.exec('BEGIN');
  try {
    const head = readRecordedHead(db);
    const rows = db
      .prepare<[], unknown[]>(`SELECT ${AUDIT_COLUMNS.join(', ')} FROM audit_events ORDER BY seq`)
      .raw()
      .iterate();
    let count = 0;
    let last: ChainHead | null = null;
    let page: unknown[][] = [];
    for (const row of rows) {
      page.push(row);
      count += 1;
      last = { seq: row[0] as number, hash: row[AUDIT_COLUMNS.length - 1] as string };
      if (page.length === AUDIT_PAGE) {
        await insertRows(client, 'audit_events', AUDIT_COLUMNS, page);
        page = [];
      }
    }
    await insertRows(client, 'audit_events', AUDIT_COLUMNS, page);
    const same =
      count === source.count &&
      (count === 0 || (last?.seq === source.head.seq && last.hash === source.head.hash));
    if (!same) {
      throw new KubegateError(
        'KG_CONFIG_INVALID',
        `the audit trail in ${db.name} changed during the copy: stop every kubegate gateway on it, then copy again. Nothing was copied.`,
      );
    }
    if (head !== null) {
      await client.query('INSERT INTO audit_head (id, seq, hash) VALUES (1, $1, $2)', [head.seq, head.hash]);
    }
    return head;
  } finally {
    db.exec('COMMIT');
  }
}

async function insertRows(
  client: PostgresClient,
  table: string,
  columns: readonly string[],
  rows: readonly unknown[][],
): Promise<void> {
  const perInsert = Math.floor(MAX_PARAMETERS / columns.length);
  const names = columns.map((name) => `"${name}"`).join(', ');
  for (let i = 0; i < rows.length; i += perInsert) {
    const chunk = rows.slice(i, i + perInsert);
    const values = chunk.map(
      (_, r) => `(${columns.map((__, c) => `$${r * columns.length + c + 1}`).join(', ')})`,
    );
    await client.query(`INSERT INTO ${table} (${names}) VALUES ${values.join(', ')}`, chunk.flat());
  }
}

/**
 * A source file, locked against every other connection until it is closed: a running gateway
 * (or `kubegate audit` beside it) makes this fail at once, and no gateway can start and write
 * while the copy reads. SQLite's read-only flag would leave the lock out of reach, so the
 * connection is a plain one that only ever reads (its close may checkpoint the WAL into the
 * file, as the gateway's own stop does; the content stays the same).
 */
function openSource(path: string, layout: SqliteLayout): SqliteDatabase {
  let db: SqliteDatabase;
  try {
    db = new Database(path, { fileMustExist: true, timeout: 0 });
  } catch (cause) {
    throw new KubegateError(
      'KG_CONFIG_INVALID',
      `there is no kubegate SQLite store file at ${path} (${layout.holds}): --from-config must be the configuration the single gateway ran with (its dataDir and audit.file)`,
      { cause },
    );
  }
  try {
    try {
      // EXCLUSIVE locking mode keeps the lock BEGIN EXCLUSIVE takes until the connection closes.
      db.pragma('locking_mode = EXCLUSIVE');
      db.exec('BEGIN EXCLUSIVE');
      db.exec('COMMIT');
    } catch (cause) {
      throw new KubegateError(
        'KG_CONFIG_INVALID',
        `${path} (${layout.holds}) is in use: stop the kubegate gateway (and any kubegate audit command) that has it open, then copy again. Nothing was copied.`,
        { cause },
      );
    }
    const older = checkVersion(db, path, layout);
    if (older === 0) {
      throw new KubegateError(
        'KG_CONFIG_INVALID',
        `${path} holds no kubegate data (${layout.holds}): --from-config must be the configuration the single gateway ran with (its dataDir and audit.file)`,
      );
    }
    if (older !== null) {
      throw new KubegateError(
        'KG_CONFIG_INVALID',
        `${path} (${layout.holds}) has layout ${older}, older than this kubegate's (${layout.migrations.length}): start this kubegate's gateway once on the SQLite store to bring it up to date, stop it, then copy`,
      );
    }
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

async function urlOf(config: PostgresStoreConfig): Promise<string> {
  if (config.url !== undefined) return config.url;
  if (config.urlFile === undefined) {
    throw new KubegateError('KG_CONFIG_INVALID', 'store: a postgres store needs url or urlFile');
  }
  return (await readFile(config.urlFile, 'utf8')).trim();
}
