// The PostgreSQL SessionStore (identity/sessions.ts): web sessions in the web_sessions table
// (migrate.ts), so a restart or another replica keeps reviewers signed in. Input/output: sessions
// by key, the SHA-256 of the session id (the database never holds an id, nor a token). Must never
// keep more than `max` sessions (a flood of sign-ins cannot fill the disk) nor an expired one past
// the next sign-in: add() runs under an advisory lock, so replicas signing people in at once
// count the same rows.
import type { SessionStore } from '../../identity/sessions.js';
import type { OidcSubject } from '../../identity/types.js';
import { inTransaction, unavailableAsStatus, type PostgresPool } from './database.js';
import { LOCKS } from './migrate.js';

interface Row {
  readonly user: string;
  readonly groups: string;
  readonly tokenDigest: string;
  readonly oidc: string | null;
  readonly csrfToken: string;
  readonly createdAt: number;
  readonly expiresAt: number;
}

const COLUMNS =
  '"user", groups, token_digest AS "tokenDigest", oidc, csrf_token AS "csrfToken", created_at AS "createdAt", expires_at AS "expiresAt"';

export function postgresSessionStore(pool: PostgresPool): SessionStore {
  return unavailableAsStatus({
    add: (key, s, { now, max }) =>
      inTransaction(pool, async (client) => {
        await client.query('SELECT pg_advisory_xact_lock($1)', [LOCKS.sessions]);
        await client.query('DELETE FROM web_sessions WHERE expires_at <= $1', [now]);
        const count =
          (await client.query<{ n: number }>('SELECT count(*) AS n FROM web_sessions')).rows[0]?.n ?? 0;
        const excess = count - max + 1;
        const dropped =
          excess > 0
            ? (
                await client.query<{ key: string; expiresAt: number }>(
                  `WITH gone AS (
                     DELETE FROM web_sessions
                      WHERE id_digest IN (SELECT id_digest FROM web_sessions ORDER BY created_at, n LIMIT $1)
                      RETURNING id_digest, expires_at, created_at, n)
                   SELECT id_digest AS key, expires_at AS "expiresAt" FROM gone ORDER BY created_at, n`,
                  [excess],
                )
              ).rows
            : [];
        const oidc =
          s.oidc === undefined ? null : JSON.stringify({ issuer: s.oidc.issuer, subject: s.oidc.subject });
        await client.query(
          `INSERT INTO web_sessions (id_digest, "user", groups, token_digest, oidc, csrf_token, created_at, expires_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
          [key, s.user, JSON.stringify(s.groups), s.tokenDigest, oidc, s.csrfToken, s.createdAt, s.expiresAt],
        );
        return dropped;
      }),
    get: async (key) => {
      const row = (await pool.query<Row>(`SELECT ${COLUMNS} FROM web_sessions WHERE id_digest = $1`, [key]))
        .rows[0];
      if (row === undefined) return null;
      const { oidc, ...rest } = row;
      return {
        ...rest,
        groups: JSON.parse(row.groups) as string[],
        ...(oidc === null ? {} : { oidc: JSON.parse(oidc) as OidcSubject }),
      };
    },
    delete: async (key) => {
      await pool.query('DELETE FROM web_sessions WHERE id_digest = $1', [key]);
    },
  } satisfies SessionStore);
}
