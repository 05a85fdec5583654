// The SQLite AuditReader (audit/store.ts) over audit.db: query, export, verify and the recorded
// head, for `kubegate audit` and the web UI's audit view. Input: the trail's path. Output: the
// reader. Opens the file read-only, so it runs beside a live gateway and never takes its write
// lock. Must never write, never create a trail that is not there, and never read a file from a
// newer kubegate.
import type { StoredAuditRecord } from '../../audit/chain.js';
import type { AuditReader } from '../../audit/store.js';
import { KubegateError } from '../../errors.js';
import { auditUnavailable } from '../audit-append.js';
import { verifyInChild, workerPath } from '../verify-child.js';
import { queryEntries } from './audit-query.js';
import { readRecordedHead } from './audit-trail.js';
import { verifySqliteTrail } from './audit-verify.js';
import { openForReading, type SqliteDatabase } from './database.js';
import { AUDIT_LAYOUT } from './layouts.js';
import { settle } from './settle.js';

export interface SqliteAuditReaderOptions {
  /**
   * Where verify() runs: `child`, a child process (the gateway: checking a long chain takes
   * seconds of CPU, which on its thread would stall every request), or `inline` (the CLI, which
   * has nothing else to do meanwhile).
   */
  readonly verify: 'child' | 'inline';
}

export interface SqliteAuditReader extends AuditReader {
  close(): void;
}

/** Opens the trail at `path` for reading; throws KG_AUDIT_UNAVAILABLE when there is none. */
export function openSqliteAuditReader(path: string, options: SqliteAuditReaderOptions): SqliteAuditReader {
  const db = openReadConnection(path);
  return {
    query: (filter) => settle(() => queryEntries(db, filter)),
    records: () => records(path),
    verify: (against = []) =>
      options.verify === 'inline'
        ? settle(() => verifySqliteTrail(db, against))
        : verifyInChild(WORKER, [path], against),
    head: () => settle(() => readRecordedHead(db)),
    close: () => db.close(),
  };
}

function openReadConnection(path: string): SqliteDatabase {
  let opened: ReturnType<typeof openForReading>;
  try {
    opened = openForReading(path, AUDIT_LAYOUT);
  } catch (cause) {
    if (cause instanceof KubegateError) throw cause;
    throw auditUnavailable(`${path} cannot be read as an audit trail`, cause);
  }
  if (opened.db !== null) return opened.db;
  if (opened.version === 0) throw auditUnavailable(`no audit trail at ${path}`, opened.cause);
  throw auditUnavailable(
    `${path} has audit layout ${opened.version}, older than this kubegate's (${AUDIT_LAYOUT.migrations.length}); start this kubegate's gateway once to bring it up to date`,
  );
}

/**
 * Every record in seq order on a connection of its own: one statement, one snapshot (records
 * committed while exporting are left for the next export), and the reader's own connection stays
 * free for queries while the consumer waits on backpressure.
 */
// eslint-disable-next-line @typescript-eslint/require-await -- async as the interface is; SQLite reads synchronously
async function* records(path: string): AsyncGenerator<StoredAuditRecord> {
  const db = openReadConnection(path);
  try {
    yield* db
      .prepare<[], StoredAuditRecord>(
        'SELECT seq, event AS canonical, prev_hash AS prevHash, hash FROM audit_events ORDER BY seq',
      )
      .iterate();
  } finally {
    db.close();
  }
}

const WORKER = workerPath(import.meta.url, 'audit-verify-worker');
