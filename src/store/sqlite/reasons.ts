// The SQLite NextReasonStore (approvals/reasons.ts): each requester's reason for their next held
// request, in the requester_reasons table of approvals.db (layouts.ts, migration 4). Input/output:
// one reason per user, with epoch-millisecond times. Must never return an expired reason.
import type { NextReason, NextReasonStore } from '../../approvals/reasons.js';
import type { SqliteDatabase } from './database.js';
import { settle } from './settle.js';

export function sqliteNextReasonStore(db: SqliteDatabase): NextReasonStore {
  const upsert = db.prepare<[string, string, number, number]>(
    `INSERT INTO requester_reasons (user, reason, set_at, expires_at) VALUES (?, ?, ?, ?)
     ON CONFLICT (user) DO UPDATE SET reason = excluded.reason, set_at = excluded.set_at, expires_at = excluded.expires_at`,
  );
  const dropExpired = db.prepare<[number]>('DELETE FROM requester_reasons WHERE expires_at <= ?');
  const byUser = db.prepare<[string, number], NextReason>(
    'SELECT reason AS text, set_at AS setAt, expires_at AS expiresAt FROM requester_reasons WHERE user = ? AND expires_at > ?',
  );
  const remove = db.prepare<[string]>('DELETE FROM requester_reasons WHERE user = ?');
  const removeIf = db.prepare<[string, number]>(
    'DELETE FROM requester_reasons WHERE user = ? AND set_at = ?',
  );
  return {
    set: (user, reason) =>
      settle(() => {
        // Reasons live minutes: whoever sets one sweeps the old ones.
        dropExpired.run(reason.setAt);
        upsert.run(user, reason.text, reason.setAt, reason.expiresAt);
      }),
    get: (user, now) => settle(() => byUser.get(user, now) ?? null),
    clear: (user, setAt) =>
      settle(() => {
        if (setAt === undefined) remove.run(user);
        else removeIf.run(user, setAt);
      }),
  };
}
