// The layouts of kubegate's two SQLite files, each as its list of migrations (migrate.ts): every
// table and index kubegate ever created, in order. Append only: a released migration never
// changes. Version 1 of each file is the layout written before the store layer existed.
//
//   approvals.db   pending requests and their grants (1), web sessions (2), their OIDC origin (3),
//                  requesters' reasons for their next held request (4)
//   audit.db       the hash-chained audit trail (1)
import type { SqliteLayout } from './migrate.js';

export const APPROVALS_DB = 'approvals.db';

export const APPROVALS_LAYOUT: SqliteLayout = {
  holds: 'pending requests, grants and web sessions',
  migrations: [
    // 1: pending requests. `data` is the whole PendingRequest as JSON; the other columns are the
    // fields findActive and list select on.
    `CREATE TABLE pending_requests (
       id TEXT PRIMARY KEY,
       version INTEGER NOT NULL,
       fingerprint TEXT NOT NULL,
       state TEXT NOT NULL,
       created_at TEXT NOT NULL,
       grant_expires_at TEXT,
       grant_used INTEGER NOT NULL,
       data TEXT NOT NULL
     ) STRICT;
     CREATE INDEX pending_by_fingerprint ON pending_requests (fingerprint, state);
     CREATE INDEX pending_by_state ON pending_requests (state, created_at);`,
    // 2: web sessions, so that a restart no longer signs every reviewer out. Keyed by the SHA-256
    // of the session id: the file never holds an id a browser could present, nor a token (only
    // the digest of the one the session was opened with). Times are epoch milliseconds.
    `CREATE TABLE web_sessions (
       id_digest TEXT PRIMARY KEY,
       user TEXT NOT NULL,
       groups TEXT NOT NULL,
       token_digest TEXT NOT NULL,
       csrf_token TEXT NOT NULL,
       created_at INTEGER NOT NULL,
       expires_at INTEGER NOT NULL
     ) STRICT;
     CREATE INDEX web_sessions_by_age ON web_sessions (created_at);
     CREATE INDEX web_sessions_by_expiry ON web_sessions (expires_at);`,
    // 3: web sessions opened through an OpenID provider keep the issuer and subject of the ID
    // token that named the reviewer (JSON {issuer, subject}); NULL for a kubegate token's.
    `ALTER TABLE web_sessions ADD COLUMN oidc TEXT;`,
    // 4: `kubegate reason "…"`: one short-lived reason per requester, taken by (and then kept
    // with) their next held request. Times are epoch milliseconds.
    `CREATE TABLE requester_reasons (
       user TEXT PRIMARY KEY,
       reason TEXT NOT NULL,
       set_at INTEGER NOT NULL,
       expires_at INTEGER NOT NULL
     ) STRICT;`,
  ],
};

export const AUDIT_LAYOUT: SqliteLayout = {
  holds: 'the audit trail',
  migrations: [
    // 1: `event` is the canonical text the hash covers; the other columns are copies of its
    // fields for the query filters (verify checks that they still agree with it). The head row is
    // written in the same transaction as the records, so a cut tail shows in verify. (IF NOT
    // EXISTS: this is the text kubegate ran at every open before migrations, kept as it was.)
    `CREATE TABLE IF NOT EXISTS audit_events (
       seq INTEGER PRIMARY KEY,
       time TEXT NOT NULL,
       kind TEXT NOT NULL,
       request_id TEXT,
       pending_id TEXT,
       user TEXT,
       actor TEXT,
       verb TEXT,
       namespace TEXT,
       resource TEXT,
       decision TEXT,
       event TEXT NOT NULL,
       prev_hash TEXT NOT NULL,
       hash TEXT NOT NULL
     ) STRICT;
     CREATE TABLE IF NOT EXISTS audit_head (
       id INTEGER PRIMARY KEY CHECK (id = 1),
       seq INTEGER NOT NULL,
       hash TEXT NOT NULL
     ) STRICT;
     CREATE INDEX IF NOT EXISTS audit_events_time ON audit_events (time);
     CREATE INDEX IF NOT EXISTS audit_events_user ON audit_events (user);
     CREATE INDEX IF NOT EXISTS audit_events_actor ON audit_events (actor);
     CREATE INDEX IF NOT EXISTS audit_events_namespace ON audit_events (namespace);
     CREATE INDEX IF NOT EXISTS audit_events_resource ON audit_events (resource);
     CREATE INDEX IF NOT EXISTS audit_events_request_id ON audit_events (request_id);
     CREATE INDEX IF NOT EXISTS audit_events_pending_id ON audit_events (pending_id);
     CREATE INDEX IF NOT EXISTS audit_events_decision ON audit_events (decision, kind);`,
  ],
};
