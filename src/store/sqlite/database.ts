// Opening one of kubegate's SQLite files, the same way for every file: for writing (created when
// missing, owner-only, WAL, synchronous=FULL, migrated to the latest layout by migrate.ts) or for
// reading (must exist, read-only, at the latest layout). Input: the path and the file's layout.
// Output: a better-sqlite3 connection, which never leaves store/sqlite/. Must never create a file
// others can read (who asked for what, web sessions), and never hand out a connection whose
// commits are not on disk when they return.
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import Database, { type SqliteDatabase } from './driver.js';
import { KubegateError } from '../../errors.js';
import { checkVersion, migrate, type SqliteLayout } from './migrate.js';

export type { SqliteDatabase };

/**
 * Opens `path` for writing. Throws KG_CONFIG_INVALID for a file this kubegate must not use (a
 * newer layout, no WAL on its file system), anything else as it came (the caller names it).
 */
export function openForWriting(path: string, layout: SqliteLayout, busyTimeoutMs: number): SqliteDatabase {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  // SQLite creates the -wal and -shm files with the database file's mode, so creating the file
  // first with 0600 covers all three.
  closeSync(openSync(path, 'a', 0o600));
  const db = new Database(path, { timeout: busyTimeoutMs });
  try {
    // WAL: readers (audit query, verify, the CLI beside a running gateway) never block the
    // writer. FULL: a commit is on disk (the WAL fsynced) before it returns; NORMAL could lose
    // the last commits on power loss.
    const mode = db.pragma('journal_mode = WAL', { simple: true });
    if (mode !== 'wal') {
      throw new KubegateError(
        'KG_CONFIG_INVALID',
        `${path} (${layout.holds}) cannot use SQLite's WAL mode here (journal_mode stays ${String(mode)}): keep kubegate's data on a local file system`,
      );
    }
    db.pragma('synchronous = FULL');
    migrate(db, path, layout);
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

/**
 * Opens an existing file read-only, taking no write lock. Returns null when the file is missing
 * or holds nothing yet; throws KG_CONFIG_INVALID when it is newer than this kubegate, and the
 * version when it is older (only the writer migrates).
 */
export function openForReading(
  path: string,
  layout: SqliteLayout,
):
  | { readonly db: SqliteDatabase }
  | { readonly db: null; readonly version: number; readonly cause?: unknown } {
  let db: SqliteDatabase;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
  } catch (cause) {
    return { db: null, version: 0, cause };
  }
  try {
    const older = checkVersion(db, path, layout);
    if (older === null) return { db };
    db.close();
    return { db: null, version: older };
  } catch (err) {
    db.close();
    throw err;
  }
}
