// The PostgreSQL store: kubegate's state in one database that several replicas share (pending
// requests, grants, web sessions, the audit trail), migrated at start under a lock (migrate.ts),
// and the replicas' approval changes heard through it (changes.ts).
// Input: the store's config (url or urlFile, pool size). Output: the domains' interfaces over one
// pool. Must never print the URL (it holds the password), and never leave a pool open when
// opening fails halfway.
import { readFile } from 'node:fs/promises';
import { KubegateError } from '../../errors.js';
import type { ReadOnlyStore, Store, StoreOptions } from '../open.js';
import { postgresApprovalStore } from './approvals.js';
import { postgresChanges } from './changes.js';
import { postgresAuditReader } from './audit-reader.js';
import { PostgresAuditTrail } from './audit-trail.js';
import { openPool, type PostgresPool } from './database.js';
import { checkVersion, migrate } from './migrate.js';
import { postgresNextReasonStore } from './reasons.js';
import { postgresSessionStore } from './sessions.js';
import { postgresSignInFlows } from './sign-in-flows.js';

export interface PostgresStoreConfig {
  readonly url?: string | undefined;
  readonly urlFile?: string | undefined;
  readonly pool: { readonly max: number };
}

export async function openPostgresStore(
  config: PostgresStoreConfig,
  options: StoreOptions = {},
): Promise<Store> {
  const url = await urlOf(config);
  const pool = await connect(url, config.pool.max, migrate);
  const audit = new PostgresAuditTrail(pool, {
    ...(options.onAuditError === undefined ? {} : { onError: options.onAuditError }),
    ...(options.onAuditCommitted === undefined ? {} : { onCommitted: options.onAuditCommitted }),
  });
  const changes = postgresChanges(url, pool, {
    onError: (err) => options.onChangesError?.(err),
  });
  return {
    approvals: postgresApprovalStore(pool, changes, options.onAuditCommitted),
    sessions: postgresSessionStore(pool),
    signInFlows: postgresSignInFlows(pool),
    reasons: postgresNextReasonStore(pool),
    audit,
    auditReader: postgresAuditReader(pool, { verify: 'child', url }),
    close: async () => {
      await changes.close();
      await audit.close();
      await pool.end();
    },
  };
}

/** The trail only, for reading: `kubegate audit`. Never migrates. */
export async function openPostgresReadOnlyStore(config: PostgresStoreConfig): Promise<ReadOnlyStore> {
  const pool = await connect(await urlOf(config), 2, checkVersion);
  return { auditReader: postgresAuditReader(pool, { verify: 'inline' }), close: () => pool.end() };
}

async function connect(
  url: string,
  max: number,
  prepare: (pool: PostgresPool) => Promise<void>,
): Promise<PostgresPool> {
  const pool = openPool(url, max);
  try {
    await prepare(pool);
    return pool;
  } catch (cause) {
    await pool.end().catch(() => {});
    if (cause instanceof KubegateError) throw cause;
    throw new KubegateError(
      'KG_AUDIT_UNAVAILABLE',
      `cannot open kubegate's PostgreSQL store at ${redacted(url)}: ${cause instanceof Error ? cause.message : String(cause)}. Check store.url (or store.urlFile), that the database runs and accepts this machine, and that the user may create tables on the first start.`,
      { cause },
    );
  }
}

export async function urlOf(config: PostgresStoreConfig): Promise<string> {
  if (config.url !== undefined) return config.url;
  if (config.urlFile === undefined) {
    throw new KubegateError('KG_CONFIG_INVALID', 'store: a postgres store needs url or urlFile');
  }
  try {
    return (await readFile(config.urlFile, 'utf8')).trim();
  } catch (cause) {
    throw new KubegateError('KG_CONFIG_INVALID', `store.urlFile: cannot read ${config.urlFile}`, { cause });
  }
}

/** The URL without its password, for messages. */
export function redacted(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'the configured URL';
  }
}
