// The migration scheme of kubegate's PostgreSQL database: one list of migrations in order (the
// layout below), and how many of them the database holds in kubegate_schema (one row). Opening
// for writing applies the missing ones in one transaction holding an advisory lock, so replicas
// starting together migrate once; opening read-only (`kubegate audit`) only checks. Input: a pool.
// Output: the database at the latest version, or an error that says what to do. Must never run a
// migration twice, never leave the database half-migrated, and never use a database a newer
// kubegate migrated: its meaning is unknown.
//
// A migration is only ever appended: a released one is never edited.
import { KubegateError } from '../../errors.js';
import { borrow, inTransaction, type PostgresClient, type PostgresPool } from './database.js';

/** pg_advisory_xact_lock keys: arbitrary, fixed, kubegate's own. */
export const LOCKS = {
  migrate: 0x6b67_0001,
  audit: 0x6b67_0002,
  sessions: 0x6b67_0003,
  signInFlows: 0x6b67_0004,
} as const;

export const MIGRATIONS: readonly string[] = [
  // 1: the SQLite store's tables (store/sqlite/layouts.ts at approvals.db 3, audit.db 1), with
  // PostgreSQL's types. `data` is the whole PendingRequest as JSON; the other columns are the
  // fields list, findActive and findDenied select on. Text compared as time is COLLATE "C", so
  // that toISOString() text sorts as time whatever the database's locale. `user` is quoted: it is
  // a keyword here.
  `CREATE TABLE pending_requests (
     id text PRIMARY KEY,
     version integer NOT NULL,
     fingerprint text NOT NULL,
     state text NOT NULL,
     created_at text COLLATE "C" NOT NULL,
     decided_at text COLLATE "C",
     grant_expires_at text COLLATE "C",
     grant_used boolean NOT NULL,
     data text NOT NULL
   );
   CREATE INDEX pending_by_fingerprint ON pending_requests (fingerprint, state);
   CREATE INDEX pending_by_state ON pending_requests (state, created_at);
   CREATE TABLE web_sessions (
     id_digest text PRIMARY KEY,
     n bigserial NOT NULL,
     "user" text NOT NULL,
     groups text NOT NULL,
     token_digest text NOT NULL,
     oidc text,
     csrf_token text NOT NULL,
     created_at bigint NOT NULL,
     expires_at bigint NOT NULL
   );
   CREATE INDEX web_sessions_by_age ON web_sessions (created_at, n);
   CREATE INDEX web_sessions_by_expiry ON web_sessions (expires_at);
   CREATE TABLE audit_events (
     seq bigint PRIMARY KEY,
     time text COLLATE "C" NOT NULL,
     kind text NOT NULL,
     request_id text,
     pending_id text,
     "user" text,
     actor text,
     verb text,
     namespace text,
     resource text COLLATE "C",
     decision text,
     event text NOT NULL,
     prev_hash text NOT NULL,
     hash text NOT NULL
   );
   CREATE TABLE audit_head (
     id integer PRIMARY KEY CHECK (id = 1),
     seq bigint NOT NULL,
     hash text NOT NULL
   );
   CREATE INDEX audit_events_time ON audit_events (time);
   CREATE INDEX audit_events_user ON audit_events ("user");
   CREATE INDEX audit_events_actor ON audit_events (actor);
   CREATE INDEX audit_events_namespace ON audit_events (namespace);
   CREATE INDEX audit_events_resource ON audit_events (resource);
   CREATE INDEX audit_events_request_id ON audit_events (request_id);
   CREATE INDEX audit_events_pending_id ON audit_events (pending_id);
   CREATE INDEX audit_events_decision ON audit_events (decision, kind);`,
  // 2: the web UI's sign-ins in progress, so that the provider's answer may reach any replica.
  // `data` is the PendingSignIn as JSON; the key is the SHA-256 of the id its browser holds.
  `CREATE TABLE web_sign_in_flows (
     id_digest text PRIMARY KEY,
     n bigserial NOT NULL,
     started_at bigint NOT NULL,
     data text NOT NULL
   );`,
  // 3: `kubegate reason "…"`: one short-lived reason per requester, taken by (and then kept with)
  // their next held request, whichever replica holds it. Times are epoch milliseconds.
  `CREATE TABLE requester_reasons (
     "user" text PRIMARY KEY,
     reason text NOT NULL,
     set_at bigint NOT NULL,
     expires_at bigint NOT NULL
   );`,
];

const SCHEMA_TABLE = `CREATE TABLE kubegate_schema (
  id integer PRIMARY KEY CHECK (id = 1),
  version integer NOT NULL
)`;

/** Brings the database up to the latest version; KG_CONFIG_INVALID for a newer one. */
export async function migrate(pool: PostgresPool, latest = MIGRATIONS.length): Promise<void> {
  await inTransaction(pool, async (client) => {
    // Held until COMMIT: a second replica starting now waits here, then finds the work done.
    await client.query('SELECT pg_advisory_xact_lock($1)', [LOCKS.migrate]);
    // Created only when missing: a database at the latest version needs no CREATE privilege, so
    // the replicas may run as a user that only reads and writes the tables an owner migrated.
    if (!(await schemaTableExists(client))) await client.query(SCHEMA_TABLE);
    const current = await versionOf(client);
    refuseNewer(current, latest);
    for (let v = current; v < latest; v++) await client.query(MIGRATIONS[v] as string);
    if (current !== latest) {
      await client.query(
        'INSERT INTO kubegate_schema (id, version) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET version = excluded.version',
        [latest],
      );
    }
  });
}

/**
 * For a reader, which never migrates: the database must be at the latest version.
 * KG_AUDIT_UNAVAILABLE for an older one, KG_CONFIG_INVALID for a newer one.
 */
export async function checkVersion(pool: PostgresPool): Promise<void> {
  const { client, release } = await borrow(pool);
  try {
    const current = (await schemaTableExists(client)) ? await versionOf(client) : 0;
    refuseNewer(current, MIGRATIONS.length);
    if (current < MIGRATIONS.length) {
      throw new KubegateError(
        'KG_AUDIT_UNAVAILABLE',
        current === 0
          ? 'no audit trail in this PostgreSQL database: no kubegate gateway has started on it yet'
          : `the PostgreSQL database has kubegate layout ${current}, older than this kubegate's (${MIGRATIONS.length}); start this kubegate's gateway once to bring it up to date`,
      );
    }
  } finally {
    release();
  }
}

async function schemaTableExists(client: PostgresClient): Promise<boolean> {
  const { rows } = await client.query<{ t: string | null }>("SELECT to_regclass('kubegate_schema') AS t");
  return rows[0]?.t != null;
}

async function versionOf(client: PostgresClient): Promise<number> {
  const { rows } = await client.query<{ version: number }>(
    'SELECT version FROM kubegate_schema WHERE id = 1',
  );
  return rows[0]?.version ?? 0;
}

function refuseNewer(current: number, latest: number): void {
  if (current <= latest) return;
  throw new KubegateError(
    'KG_CONFIG_INVALID',
    `the PostgreSQL database (pending requests, grants, web sessions and the audit trail) was migrated by a newer kubegate: its layout is version ${current}, and this kubegate knows versions up to ${latest}. Run the newer kubegate, or restore the database from a backup taken before the upgrade.`,
  );
}
