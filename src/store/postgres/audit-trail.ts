// The PostgreSQL AuditTrail (audit/event.ts): AuditEvents hash-chained into audit_events, one
// chain for every replica on the database. Input: events from every stage, through AuditTrail.
// Output: one row per event in seq order, each row's hash covering the row before it
// (audit/chain.ts). `append` resolves only after the transaction holding the event committed with
// synchronous_commit on, so a mutation forwarded after it has a record that survives a crash. Must
// never fork or gap the chain when replicas append at once: each batch's transaction takes an
// advisory lock before it reads the head, so batches from all replicas are chained one after the
// other. Must never resolve an append that is not committed, never leave half a batch (one
// transaction per batch), and never swallow a failed write: appends reject with
// KG_AUDIT_UNAVAILABLE (callers fail closed) and lost batched events are reported through onError.
//
// Group commit, as the SQLite trail: every event queued while a batch is being written (or before
// the next setImmediate / laterBatchMs) goes into the next transaction, so concurrent mutations
// share one round of lock, insert and WAL flush.
import { chainHash, type ChainHead, type StoredAuditRecord } from '../../audit/chain.js';
import type { AuditEvent, AuditTrail } from '../../audit/event.js';
import { reportCommitted, type AuditCommitHandler } from '../../audit/sinks/committed.js';
import { KubegateError } from '../../errors.js';
import {
  auditUnavailable,
  further,
  prepareAuditEvent,
  refuseBatch,
  type AuditErrorHandler,
  type PreparedAuditEvent,
  type QueuedAuditEvent,
} from '../audit-append.js';
import { AUDIT_COLUMN_NAMES } from '../audit-columns.js';
import { inTransaction, type PostgresClient, type PostgresPool } from './database.js';
import { LOCKS } from './migrate.js';

export interface PostgresAuditTrailOptions {
  /** How long batched (appendLater) events wait at most; default 20 ms. */
  readonly laterBatchMs?: number;
  /** Batched events that could not be written (the error, and how many were lost). */
  readonly onError?: AuditErrorHandler;
  /**
   * Each batch this trail committed, in seq order (audit/sinks/). Another replica's batches, and
   * approval steps written with their record (approvals.ts reports those), are not among them.
   */
  readonly onCommitted?: AuditCommitHandler;
}

type Queued = QueuedAuditEvent;

const COLUMNS = [...AUDIT_COLUMN_NAMES.map((name) => `"${name}"`), 'event', 'prev_hash', 'hash'];
/** PostgreSQL binds at most 65,535 parameters per statement. */
const ROWS_PER_INSERT = Math.floor(60_000 / COLUMNS.length);

export class PostgresAuditTrail implements AuditTrail {
  readonly #pool: PostgresPool;
  readonly #laterBatchMs: number;
  readonly #onError: AuditErrorHandler;
  readonly #onCommitted: AuditCommitHandler | null;
  #queue: Queued[] = [];
  #urgent: NodeJS.Immediate | null = null;
  #later: NodeJS.Timeout | null = null;
  /** The batch being written; the next one waits for it. */
  #writing: Promise<void> | null = null;
  #closed = false;
  #head: ChainHead | null = null;
  #commits = 0;
  #records = 0;

  /** Over a pool whose database is migrated (open.ts); the pool stays the caller's to end. */
  constructor(pool: PostgresPool, options: PostgresAuditTrailOptions = {}) {
    this.#pool = pool;
    this.#laterBatchMs = options.laterBatchMs ?? 20;
    this.#onError = options.onError ?? ((err) => process.emitWarning(err));
    this.#onCommitted = options.onCommitted ?? null;
  }

  /** Transactions and records committed since open: records / commits is the group-commit effect. */
  get stats(): { readonly commits: number; readonly records: number } {
    return { commits: this.#commits, records: this.#records };
  }

  /** The last record this trail committed; null before its first commit. */
  get head(): ChainHead | null {
    return this.#head;
  }

  append(event: AuditEvent): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.#closed) throw auditUnavailable('the audit trail is closed');
      this.#queue.push({ ...prepareAuditEvent(event), resolve, reject });
      if (this.#urgent === null) this.#urgent = setImmediate(() => this.#flush());
    });
  }

  appendLater(event: AuditEvent): void {
    let prepared: PreparedAuditEvent;
    try {
      if (this.#closed) throw auditUnavailable('the audit trail is closed');
      prepared = prepareAuditEvent(event);
    } catch (err) {
      this.#onError(err instanceof KubegateError ? err : auditUnavailable('audit event refused', err), 1, []);
      return;
    }
    this.#queue.push(prepared);
    if (this.#urgent === null && this.#later === null) {
      this.#later = setTimeout(() => this.#flush(), this.#laterBatchMs);
    }
  }

  /** Writes what is queued; appends after this reject. The pool is closed by the store. */
  async close(): Promise<void> {
    this.#closed = true;
    while (this.#writing !== null || this.#queue.length > 0) {
      this.#flush();
      await this.#writing;
    }
  }

  #flush(): void {
    if (this.#urgent !== null) clearImmediate(this.#urgent);
    if (this.#later !== null) clearTimeout(this.#later);
    this.#urgent = null;
    this.#later = null;
    // One batch at a time: what arrives meanwhile is the next batch, written when this one ends.
    if (this.#writing !== null || this.#queue.length === 0) return;
    const batch = this.#queue;
    this.#queue = [];
    this.#writing = this.#write(batch).finally(() => {
      this.#writing = null;
      if (this.#queue.length > 0) this.#flush();
    });
  }

  async #write(batch: readonly Queued[]): Promise<void> {
    let records: StoredAuditRecord[];
    try {
      records = await inTransaction(this.#pool, (client) => appendInTransaction(client, batch));
      const last = records[records.length - 1];
      if (last !== undefined) this.#head = { seq: last.seq, hash: last.hash };
      this.#commits += 1;
      this.#records += batch.length;
    } catch (cause) {
      refuseBatch(batch, cause, this.#onError);
      return;
    }
    for (const item of batch) item.resolve?.();
    reportCommitted(this.#onCommitted, records);
  }
}

/**
 * One batch, inside the caller's transaction: lock, read the head, insert, move the head. The
 * trail's own batches, and an approval step written with its record (approvals.ts). Returns the
 * records written, in seq order; they count as committed only once the caller's transaction is.
 */
export async function appendInTransaction(
  client: PostgresClient,
  batch: readonly PreparedAuditEvent[],
): Promise<StoredAuditRecord[]> {
  // Held until COMMIT: another replica's batch reads the head only after this one is in.
  await client.query('SELECT pg_advisory_xact_lock($1)', [LOCKS.audit]);
  let { seq, hash } = await readHead(client);
  const rows: unknown[][] = [];
  const records: StoredAuditRecord[] = [];
  for (const item of batch) {
    seq += 1;
    const next = chainHash(hash, seq, item.canonical);
    rows.push([seq, ...AUDIT_COLUMN_NAMES.map((name) => item.columns[name]), item.canonical, hash, next]);
    records.push({ seq, canonical: item.canonical, prevHash: hash, hash: next });
    hash = next;
  }
  for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) {
    const chunk = rows.slice(i, i + ROWS_PER_INSERT);
    const width = COLUMNS.length + 1;
    const values = chunk.map(
      (_, r) => `(${Array.from({ length: width }, (__, c) => `$${r * width + c + 1}`).join(', ')})`,
    );
    await client.query(
      `INSERT INTO audit_events (seq, ${COLUMNS.join(', ')}) VALUES ${values.join(', ')}`,
      chunk.flat(),
    );
  }
  await client.query(
    'INSERT INTO audit_head (id, seq, hash) VALUES (1, $1, $2) ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash',
    [seq, hash],
  );
  return records;
}

async function readHead(client: PostgresClient): Promise<ChainHead> {
  const head = (await client.query<ChainHead>('SELECT seq, hash FROM audit_head WHERE id = 1')).rows[0];
  const last = (await client.query<ChainHead>('SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1'))
    .rows[0];
  return further(head, last);
}

/** The recorded head row alone (verify compares the records with it). */
export async function readRecordedHead(client: Pick<PostgresClient, 'query'>): Promise<ChainHead | null> {
  return (await client.query<ChainHead>('SELECT seq, hash FROM audit_head WHERE id = 1')).rows[0] ?? null;
}
