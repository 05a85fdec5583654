// The PostgreSQL SignInFlowStore (web/oidc-sign-in-flow.ts): the web UI's sign-ins in progress in
// the web_sign_in_flows table (migrate.ts), so the provider's answer may reach any replica. Input/
// output: PendingSignIns by key, the SHA-256 of the flow id (the database never holds the id).
// Must never keep more than `max` flows nor an expired one past the next start (starting needs no
// credential: add() runs under an advisory lock so replicas count the same rows), and never hand
// one flow to two replicas (take is one DELETE … RETURNING).
import type { PendingSignIn, SignInFlowStore } from '../../identity/sign-in-flows.js';
import { inTransaction, unavailableAsStatus, type PostgresPool } from './database.js';
import { LOCKS } from './migrate.js';

export function postgresSignInFlows(pool: PostgresPool): SignInFlowStore {
  return unavailableAsStatus({
    add: (key, flow, { ttlMs, max }) =>
      inTransaction(pool, async (client) => {
        await client.query('SELECT pg_advisory_xact_lock($1)', [LOCKS.signInFlows]);
        await client.query('DELETE FROM web_sign_in_flows WHERE started_at + $1 <= $2', [
          ttlMs,
          flow.startedAt,
        ]);
        const count =
          (await client.query<{ n: number }>('SELECT count(*) AS n FROM web_sign_in_flows')).rows[0]?.n ?? 0;
        if (count >= max) {
          await client.query(
            `DELETE FROM web_sign_in_flows
              WHERE id_digest IN (SELECT id_digest FROM web_sign_in_flows ORDER BY started_at, n LIMIT $1)`,
            [count - max + 1],
          );
        }
        await client.query(
          'INSERT INTO web_sign_in_flows (id_digest, started_at, data) VALUES ($1, $2, $3)',
          [key, flow.startedAt, JSON.stringify(flow)],
        );
      }),
    take: async (key) => {
      const row = (
        await pool.query<{ data: string }>(
          'DELETE FROM web_sign_in_flows WHERE id_digest = $1 RETURNING data',
          [key],
        )
      ).rows[0];
      return row === undefined ? null : (JSON.parse(row.data) as PendingSignIn);
    },
  } satisfies SignInFlowStore);
}
