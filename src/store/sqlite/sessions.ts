// The SQLite SessionStore (web/session.ts): web sessions in the web_sessions table of
// approvals.db (layouts.ts), so a restart keeps reviewers signed in. Input/output: sessions by
// key, the SHA-256 of the session id (the file never holds an id, nor a token). Must never keep
// more than `max` sessions (a flood of sign-ins cannot fill the disk) nor an expired one past the
// next sign-in.
import type { Session, SessionStore } from '../../identity/sessions.js';
import type { OidcSubject } from '../../identity/types.js';
import type { SqliteDatabase } from './database.js';
import { settle } from './settle.js';

interface Row {
  readonly user: string;
  readonly groups: string;
  readonly tokenDigest: string;
  /** JSON {issuer, subject}, or null for a session a kubegate token opened. */
  readonly oidc: string | null;
  readonly csrfToken: string;
  readonly createdAt: number;
  readonly expiresAt: number;
}

const COLUMNS =
  'user, groups, token_digest AS tokenDigest, oidc, csrf_token AS csrfToken, created_at AS createdAt, expires_at AS expiresAt';

export function sqliteSessionStore(db: SqliteDatabase): SessionStore {
  const insert = db.prepare<[string, string, string, string, string | null, string, number, number]>(
    `INSERT INTO web_sessions (id_digest, user, groups, token_digest, oidc, csrf_token, created_at, expires_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const dropExpired = db.prepare<[number]>('DELETE FROM web_sessions WHERE expires_at <= ?');
  const count = db.prepare<[], { n: number }>('SELECT count(*) AS n FROM web_sessions');
  const oldest = db.prepare<[number], { key: string; expiresAt: number }>(
    'SELECT id_digest AS key, expires_at AS expiresAt FROM web_sessions ORDER BY created_at, rowid LIMIT ?',
  );
  const byKey = db.prepare<[string], Row>(`SELECT ${COLUMNS} FROM web_sessions WHERE id_digest = ?`);
  const remove = db.prepare<[string]>('DELETE FROM web_sessions WHERE id_digest = ?');
  const add = db.transaction((key: string, s: Session, now: number, max: number) => {
    dropExpired.run(now);
    const excess = (count.get()?.n ?? 0) - max + 1;
    const dropped = excess > 0 ? oldest.all(excess) : [];
    for (const { key: old } of dropped) remove.run(old);
    const oidc =
      s.oidc === undefined ? null : JSON.stringify({ issuer: s.oidc.issuer, subject: s.oidc.subject });
    insert.run(
      key,
      s.user,
      JSON.stringify(s.groups),
      s.tokenDigest,
      oidc,
      s.csrfToken,
      s.createdAt,
      s.expiresAt,
    );
    return dropped;
  });

  return {
    add: (key, session, { now, max }) => settle(() => add.immediate(key, session, now, max)),
    get: (key) =>
      settle(() => {
        const row = byKey.get(key);
        if (row === undefined) return null;
        const { oidc, ...rest } = row;
        return {
          ...rest,
          groups: JSON.parse(row.groups) as string[],
          ...(oidc === null ? {} : { oidc: JSON.parse(oidc) as OidcSubject }),
        };
      }),
    delete: (key) =>
      settle(() => {
        remove.run(key);
      }),
  };
}
