// The PostgreSQL NextReasonStore (approvals/reasons.ts): each requester's reason for their next
// held request, in the requester_reasons table (migrate.ts, migration 3), so that whichever
// replica holds the request finds the reason another replica took. Must never return an expired
// reason.
import type { NextReason, NextReasonStore } from '../../approvals/reasons.js';
import { unavailableAsStatus, type PostgresPool } from './database.js';

export function postgresNextReasonStore(pool: PostgresPool): NextReasonStore {
  return unavailableAsStatus({
    async set(user: string, reason: NextReason): Promise<void> {
      // Reasons live minutes: whoever sets one sweeps the old ones.
      await pool.query('DELETE FROM requester_reasons WHERE expires_at <= $1', [reason.setAt]);
      await pool.query(
        `INSERT INTO requester_reasons ("user", reason, set_at, expires_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT ("user") DO UPDATE SET reason = excluded.reason, set_at = excluded.set_at, expires_at = excluded.expires_at`,
        [user, reason.text, reason.setAt, reason.expiresAt],
      );
    },
    async get(user: string, now: number): Promise<NextReason | null> {
      const { rows } = await pool.query<NextReason>(
        'SELECT reason AS text, set_at AS "setAt", expires_at AS "expiresAt" FROM requester_reasons WHERE "user" = $1 AND expires_at > $2',
        [user, now],
      );
      return rows[0] ?? null;
    },
    async clear(user: string, setAt?: number): Promise<void> {
      if (setAt === undefined) await pool.query('DELETE FROM requester_reasons WHERE "user" = $1', [user]);
      else await pool.query('DELETE FROM requester_reasons WHERE "user" = $1 AND set_at = $2', [user, setAt]);
    },
  });
}
