// The SQLite store: kubegate's state in two files, approvals.db in the data directory (pending
// requests, grants, web sessions) and audit.db at audit.file (the hash-chained trail), each
// opened, created and migrated the same way (database.ts, migrate.ts, layouts.ts). Input: the
// store's config. Output: the domains' interfaces over them. Must never leave a file open when
// opening fails halfway.
import { join } from 'node:path';
import { KubegateError } from '../../errors.js';
import type { ReadOnlyStore, Store, StoreOptions } from '../open.js';
import { sqliteApprovalStore } from './approvals.js';
import { openSqliteAuditReader } from './audit-reader.js';
import { SqliteAuditTrail } from './audit-trail.js';
import { openForWriting, type SqliteDatabase } from './database.js';
import { APPROVALS_DB, APPROVALS_LAYOUT } from './layouts.js';
import { sqliteNextReasonStore } from './reasons.js';
import { sqliteSessionStore } from './sessions.js';
import { settle } from './settle.js';

export interface SqliteStoreConfig {
  /** The folder of approvals.db: the data directory. */
  readonly dir: string;
  /** The audit trail's file: audit.file. */
  readonly auditFile: string;
}

/** How long a write waits for another process's lock on approvals.db before failing. */
const APPROVALS_BUSY_TIMEOUT_MS = 5000;

export async function openSqliteStore(config: SqliteStoreConfig, options: StoreOptions = {}): Promise<Store> {
  const audit = await SqliteAuditTrail.open(config.auditFile, {
    ...(options.onAuditError === undefined ? {} : { onError: options.onAuditError }),
    ...(options.onAuditCommitted === undefined ? {} : { onCommitted: options.onAuditCommitted }),
  });
  let state: SqliteDatabase | null = null;
  try {
    state = openApprovalsDb(config.dir);
    const auditReader = openSqliteAuditReader(config.auditFile, { verify: 'child' });
    const db = state;
    return {
      approvals: sqliteApprovalStore(db),
      sessions: sqliteSessionStore(db),
      reasons: sqliteNextReasonStore(db),
      audit,
      auditReader,
      close: async () => {
        auditReader.close();
        db.close();
        await audit.close();
      },
    };
  } catch (err) {
    state?.close();
    await audit.close();
    throw err;
  }
}

/** The trail only, read-only: `kubegate audit` beside a running gateway. */
export function openSqliteReadOnlyStore(config: SqliteStoreConfig): Promise<ReadOnlyStore> {
  return settle(() => {
    const auditReader = openSqliteAuditReader(config.auditFile, { verify: 'inline' });
    return { auditReader, close: () => settle(() => auditReader.close()) };
  });
}

function openApprovalsDb(dir: string): SqliteDatabase {
  const path = join(dir, APPROVALS_DB);
  try {
    return openForWriting(path, APPROVALS_LAYOUT, APPROVALS_BUSY_TIMEOUT_MS);
  } catch (cause) {
    if (cause instanceof KubegateError && cause.code === 'KG_CONFIG_INVALID') throw cause;
    throw new KubegateError('KG_INTERNAL', `cannot open the approval store at ${path}`, { cause });
  }
}
