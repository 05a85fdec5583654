// The SQLite AuditTrail (audit/event.ts, stage 7's store): AuditEvents hash-chained into
// audit.db (audit.file; layout in layouts.ts). Input: events from every stage, through AuditTrail. Output: one row per event, in seq order,
// each row's hash covering the row before it (audit/chain.ts); `append` resolves only after the
// transaction holding the event committed with synchronous=FULL, so a mutation forwarded after
// it has a record that survives a crash or power loss. Must never resolve an append that is not
// on disk, never leave half a batch behind (one transaction per batch), and never swallow a
// failed write: appends reject with KG_AUDIT_UNAVAILABLE (callers fail closed) and lost batched
// events are reported through onError.
//
// Group commit: the cost of a durable write is the WAL fsync, not the rows. Every event queued
// before the next flush (the next setImmediate for `append`, `laterBatchMs` for `appendLater`)
// shares one transaction and one fsync, so 32 concurrent mutations pay for one. better-sqlite3 is
// synchronous: a commit blocks the event loop for its fsync, during which new events wait in the
// queue for the next batch.
import { statSync } from 'node:fs';
import { chainHash } from '../../audit/chain.js';
import type { ChainHead, StoredAuditRecord } from '../../audit/chain.js';
import type { AuditEvent, AuditTrail } from '../../audit/event.js';
import { reportCommitted, type AuditCommitHandler } from '../../audit/sinks/committed.js';
import { KubegateError } from '../../errors.js';
import {
  auditUnavailable,
  further,
  prepareAuditEvent as prepare,
  refuseBatch,
  type AuditErrorHandler,
  type QueuedAuditEvent,
} from '../audit-append.js';
import { AUDIT_COLUMN_NAMES } from '../audit-columns.js';
import { openForWriting, type SqliteDatabase } from './database.js';
import { AUDIT_LAYOUT } from './layouts.js';

export interface SqliteAuditTrailOptions {
  /** How long durable appends wait for company; 0 (default): until the next setImmediate. */
  readonly batchMs?: number;
  /** How long batched (appendLater) events wait at most; default 20 ms. */
  readonly laterBatchMs?: number;
  /** How long a commit waits for another writer's lock before failing; default 2,000 ms. */
  readonly busyTimeoutMs?: number;
  /** Batched events that could not be written (the error, and how many were lost). */
  readonly onError?: AuditErrorHandler;
  /** Each batch's records once committed, in seq order (audit/sinks/ ship them elsewhere). */
  readonly onCommitted?: AuditCommitHandler;
}

type Queued = QueuedAuditEvent;

interface HeadRow {
  readonly seq: number;
  readonly hash: string;
}

export class SqliteAuditTrail implements AuditTrail {
  readonly path: string;
  readonly #db: SqliteDatabase;
  readonly #commit: (batch: readonly Queued[]) => StoredAuditRecord[];
  readonly #batchMs: number;
  readonly #laterBatchMs: number;
  readonly #onError: AuditErrorHandler;
  readonly #onCommitted: AuditCommitHandler | null;
  #queue: Queued[] = [];
  /** Cancels the scheduled flush for durable appends; null when none is scheduled. */
  #urgent: (() => void) | null = null;
  #later: NodeJS.Timeout | null = null;
  #closed = false;
  #head: ChainHead;
  #commits = 0;
  #records = 0;

  private constructor(path: string, db: SqliteDatabase, options: SqliteAuditTrailOptions) {
    this.path = path;
    this.#db = db;
    this.#batchMs = options.batchMs ?? 0;
    this.#laterBatchMs = options.laterBatchMs ?? 20;
    this.#onError = options.onError ?? ((err) => process.emitWarning(err));
    this.#onCommitted = options.onCommitted ?? null;
    this.#head = readHead(db);
    const headRow = db.prepare<[], HeadRow>(HEAD_ROW);
    const lastRow = db.prepare<[], HeadRow>(LAST_ROW);
    // Positional parameters: binding by name costs about 1 µs more per record.
    const insert = db.prepare<unknown[]>(
      `INSERT INTO audit_events (seq, ${AUDIT_COLUMN_NAMES.join(', ')}, event, prev_hash, hash)
       VALUES (${Array.from({ length: AUDIT_COLUMN_NAMES.length + 4 }, () => '?').join(', ')})`,
    );
    const setHead = db.prepare<[number, string]>(
      'INSERT INTO audit_head (id, seq, hash) VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash',
    );
    const transaction = db.transaction((batch: readonly Queued[]): StoredAuditRecord[] => {
      // Read the head inside the write lock: a second writer on the same file continues the
      // chain instead of forking it.
      let { seq, hash } = further(headRow.get(), lastRow.get());
      const records: StoredAuditRecord[] = [];
      for (const item of batch) {
        seq += 1;
        const next = chainHash(hash, seq, item.canonical);
        insert.run(seq, ...AUDIT_COLUMN_NAMES.map((name) => item.columns[name]), item.canonical, hash, next);
        records.push({ seq, canonical: item.canonical, prevHash: hash, hash: next });
        hash = next;
      }
      setHead.run(seq, hash);
      return records;
    });
    // The files as opened. A file removed (or replaced) under an open connection still takes
    // writes, into an inode nobody will read again: every append would resolve and every record
    // be lost. One stat per file per batch turns that into a refused append.
    const files = [path, `${path}-wal`].map((file) => ({ file, ...identity(file) }));
    // IMMEDIATE takes the write lock at BEGIN, so the head read above cannot go stale.
    this.#commit = (batch) => {
      for (const { file, dev, ino } of files) {
        const now = identity(file);
        if (now.dev !== dev || now.ino !== ino) {
          throw auditUnavailable(
            `${file} was removed or replaced while kubegate had it open; restart kubegate`,
          );
        }
      }
      return transaction.immediate(batch);
    };
  }

  /**
   * Opens (creating when missing, migrating when older) the trail at `path`, audit.file.
   * Rejects with KG_AUDIT_UNAVAILABLE when it cannot, KG_CONFIG_INVALID for a file this
   * kubegate must not write (a newer layout).
   */
  static open(path: string, options: SqliteAuditTrailOptions = {}): Promise<SqliteAuditTrail> {
    try {
      const db = openForWriting(path, AUDIT_LAYOUT, options.busyTimeoutMs ?? 2000);
      try {
        return Promise.resolve(new SqliteAuditTrail(path, db, options));
      } catch (err) {
        db.close();
        throw err;
      }
    } catch (cause) {
      if (cause instanceof KubegateError && cause.code === 'KG_CONFIG_INVALID') return Promise.reject(cause);
      return Promise.reject(auditUnavailable(`cannot open the audit trail at ${path}`, cause));
    }
  }

  /** Transactions and records committed since open: records / commits is the group-commit effect. */
  get stats(): { readonly commits: number; readonly records: number } {
    return { commits: this.#commits, records: this.#records };
  }

  /** The writing connection's synchronous setting, as SQLite reports it (per connection). */
  get synchronous(): string {
    const level = this.#db.pragma('synchronous', { simple: true }) as number;
    return ['off', 'normal', 'full', 'extra'][level] ?? String(level);
  }

  /** The last record this trail committed, or found at open (seq 0 and GENESIS_HASH when empty). */
  get head(): ChainHead {
    return this.#head;
  }

  append(event: AuditEvent): Promise<void> {
    // A throw inside the executor (closed, or an event that cannot be stored) rejects the promise.
    return new Promise<void>((resolve, reject) => {
      if (this.#closed) throw auditUnavailable('the audit trail is closed');
      this.#queue.push({ ...prepare(event), resolve, reject });
      this.#scheduleUrgent();
    });
  }

  appendLater(event: AuditEvent): void {
    let prepared: Omit<Queued, 'resolve' | 'reject'>;
    try {
      if (this.#closed) throw auditUnavailable('the audit trail is closed');
      prepared = prepare(event);
    } catch (err) {
      this.#onError(err instanceof KubegateError ? err : auditUnavailable('audit event refused', err), 1, []);
      return;
    }
    this.#queue.push(prepared);
    if (this.#urgent === null && this.#later === null) {
      this.#later = setTimeout(() => this.#flush(), this.#laterBatchMs);
    }
  }

  /** Writes what is queued, then closes the file; appends after this reject. */
  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    this.#flush();
    this.#db.close();
    return Promise.resolve();
  }

  #scheduleUrgent(): void {
    if (this.#urgent !== null) return;
    // The urgent flush takes the batched events with it.
    if (this.#later !== null) clearTimeout(this.#later);
    this.#later = null;
    if (this.#batchMs === 0) {
      const immediate = setImmediate(() => this.#flush());
      this.#urgent = () => clearImmediate(immediate);
    } else {
      const timer = setTimeout(() => this.#flush(), this.#batchMs);
      this.#urgent = () => clearTimeout(timer);
    }
  }

  #flush(): void {
    this.#urgent?.();
    if (this.#later !== null) clearTimeout(this.#later);
    this.#urgent = null;
    this.#later = null;
    const batch = this.#queue;
    this.#queue = [];
    if (batch.length === 0) return;
    let records: StoredAuditRecord[];
    try {
      records = this.#commit(batch);
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

const HEAD_ROW = 'SELECT seq, hash FROM audit_head WHERE id = 1';
const LAST_ROW = 'SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1';

/** Where the next record continues the chain: the head row or the last record, whichever is further. */
function readHead(db: SqliteDatabase): ChainHead {
  return further(db.prepare<[], HeadRow>(HEAD_ROW).get(), db.prepare<[], HeadRow>(LAST_ROW).get());
}

/** The recorded head row alone (verify compares the records with it). */
export function readRecordedHead(db: SqliteDatabase): ChainHead | null {
  const head = db.prepare<[], HeadRow>(HEAD_ROW).get();
  return head ? { seq: head.seq, hash: head.hash } : null;
}

function identity(file: string): { readonly dev: number; readonly ino: number } {
  const stat = statSync(file, { throwIfNoEntry: false });
  return stat ? { dev: stat.dev, ino: stat.ino } : { dev: -1, ino: -1 };
}
