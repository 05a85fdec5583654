// The store layer's one entrance: openStore(config.store) gives the domains what they keep, each
// behind the interface the domain owns (approvals/store.ts, audit/event.ts and audit/store.ts,
// web/session.ts), so nothing above store/ sees a database. Used by the composition root
// (main.ts: everything) and `kubegate audit` (read-only: the trail alone, beside a running
// gateway). Input: config.store. Output: the opened store. A new kind of store (PostgreSQL for
// several replicas) is one more case here and one more folder beside store/sqlite/.
import type { ApprovalStore } from '../approvals/store.js';
import type { NextReasonStore } from '../approvals/reasons.js';
import type { AuditTrail } from '../audit/event.js';
import type { AuditCommitHandler } from '../audit/sinks/committed.js';
import type { AuditReader } from '../audit/store.js';
import type { Config } from '../config/schema.js';
import type { SessionStore } from '../identity/sessions.js';
import type { SignInFlowStore } from '../identity/sign-in-flows.js';
import type { AuditErrorHandler } from './audit-append.js';
import { openPostgresReadOnlyStore, openPostgresStore } from './postgres/open.js';
import { openSqliteReadOnlyStore, openSqliteStore } from './sqlite/open.js';

export type StoreConfig = Config['store'];

/** What `kubegate audit` reads. */
export interface ReadOnlyStore {
  readonly auditReader: AuditReader;
  close(): Promise<void>;
}

/** Everything the gateway keeps. */
export interface Store extends ReadOnlyStore {
  readonly approvals: ApprovalStore;
  readonly audit: AuditTrail;
  readonly sessions: SessionStore;
  /** The web UI's sign-ins in progress, where replicas share them; absent: the process keeps them. */
  readonly signInFlows?: SignInFlowStore;
  /** Requesters' reasons for their next held request (`kubegate reason`); absent: none kept. */
  readonly reasons?: NextReasonStore;
}

export interface StoreOptions {
  /** Audit events that could not be written (the error, how many were lost, the events). */
  readonly onAuditError?: AuditErrorHandler;
  /** Audit records this process committed, batch by batch in seq order (audit/sinks/). */
  readonly onAuditCommitted?: AuditCommitHandler;
  /** Several replicas on one store: hearing the others failed (it retries on its own). */
  readonly onChangesError?: (err: unknown) => void;
  readonly readOnly?: false;
}

/**
 * Opens (creating and migrating what is missing) the store for the gateway, or with
 * `readOnly: true` the audit trail alone, read-only. Rejects with KG_CONFIG_INVALID for data a
 * newer kubegate wrote, KG_AUDIT_UNAVAILABLE when the trail cannot be opened.
 */
export function openStore(config: StoreConfig, options: { readonly readOnly: true }): Promise<ReadOnlyStore>;
export function openStore(config: StoreConfig, options?: StoreOptions): Promise<Store>;
export function openStore(
  config: StoreConfig,
  options: StoreOptions | { readonly readOnly: true } = {},
): Promise<Store | ReadOnlyStore> {
  switch (config.type) {
    case 'sqlite':
      return options.readOnly === true ? openSqliteReadOnlyStore(config) : openSqliteStore(config, options);
    case 'postgres':
      return options.readOnly === true
        ? openPostgresReadOnlyStore(config)
        : openPostgresStore(config, options);
  }
}
