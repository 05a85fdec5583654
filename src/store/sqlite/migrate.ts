// The one migration scheme of kubegate's SQLite files (approvals.db, audit.db): each file has a
// layout, a list of migrations in order, and records how many of them it holds in PRAGMA
// user_version (0 for a new, empty file). Opening for writing applies the missing ones in one
// IMMEDIATE transaction; opening for reading only checks. Input: an open connection and the
// file's layout. Output: the file at the layout's latest version, or an error that says what to
// do. Must never run a migration twice (the version is read again inside the write lock, so two
// processes opening one file at once migrate it once), never leave a file half-migrated (one
// transaction), and never read or write a file from a newer kubegate: its meaning is unknown.
//
// A migration is only ever appended: a released one is never edited, or a file that already ran
// it would differ from a new one. Both files' version 1 is the layout kubegate wrote before this
// scheme existed (same statements, same user_version), so those files open as they are.
import type { SqliteDatabase } from './driver.js';
import { KubegateError } from '../../errors.js';

export interface SqliteLayout {
  /** What the file holds, for messages: "the audit trail". */
  readonly holds: string;
  /** Migration i takes a file from version i to i + 1 (SQL, run as one script). */
  readonly migrations: readonly string[];
}

export function versionOf(db: SqliteDatabase): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/** Brings the file up to the layout's latest version; KG_CONFIG_INVALID for a newer file. */
export function migrate(db: SqliteDatabase, file: string, layout: SqliteLayout): void {
  const latest = layout.migrations.length;
  refuseNewer(versionOf(db), file, layout);
  db.transaction(() => {
    // Again under the write lock: another process may have migrated it meanwhile.
    const current = versionOf(db);
    refuseNewer(current, file, layout);
    for (let v = current; v < latest; v++) db.exec(layout.migrations[v] as string);
    if (current !== latest) db.pragma(`user_version = ${latest}`);
  }).immediate();
}

/**
 * For a reader, which never migrates: the file must be at the latest version. Returns the
 * file's version when it is older (0: nothing was ever written), so the caller can say what that
 * means for it; KG_CONFIG_INVALID for a newer file.
 */
export function checkVersion(db: SqliteDatabase, file: string, layout: SqliteLayout): number | null {
  const current = versionOf(db);
  refuseNewer(current, file, layout);
  return current === layout.migrations.length ? null : current;
}

function refuseNewer(current: number, file: string, layout: SqliteLayout): void {
  const latest = layout.migrations.length;
  if (current <= latest) return;
  throw new KubegateError(
    'KG_CONFIG_INVALID',
    `${file} (${layout.holds}) was written by a newer kubegate: its layout is version ${current}, and this kubegate knows versions up to ${latest}. Run the newer kubegate, or restore the file from a backup taken before the upgrade.`,
  );
}
