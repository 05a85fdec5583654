// The PostgreSQL AuditReader (audit/store.ts): query, export, verify and the recorded head over
// audit_events, for `kubegate audit` and the web UI's audit view, on any replica. Input: a pool
// on a migrated database. Output: the reader. Must never write (every read runs in a READ ONLY
// transaction), never build SQL from values (every value is bound), and answer from the hashed
// text only: an entry's event is parsed from it, the copied columns only narrow the search.
import { verifyChain, type ChainAnchor, type StoredAuditRecord } from '../../audit/chain.js';
import type { AuditEvent } from '../../audit/event.js';
import type { AuditEntry, AuditQuery, AuditReader, AuditVerifyReport } from '../../audit/store.js';
import { verifyInChild, workerPath } from '../verify-child.js';
import { AUDIT_COLUMN_NAMES, columnsDisagree, type AuditColumns } from '../audit-columns.js';
import { readRecordedHead } from './audit-trail.js';
import { borrow, inTransaction, type PostgresPool } from './database.js';

/** One snapshot for the whole read: rows committed meanwhile are left for the next one. */
const SNAPSHOT = 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY';
/** Rows per round trip when reading the whole trail. */
const PAGE = 2000;

export type PostgresVerifyMode =
  /** On this thread: the CLI, which has nothing else to do meanwhile. */
  | { readonly verify: 'inline' }
  /** In a child process (audit-verify-worker.ts) on the same database: the gateway. */
  | { readonly verify: 'child'; readonly url: string };

export function postgresAuditReader(pool: PostgresPool, mode: PostgresVerifyMode): AuditReader {
  return {
    query: (filter) => queryEntries(pool, filter),
    records: () => records(pool),
    verify: (against = []) =>
      mode.verify === 'inline'
        ? verifyTrail(pool, against)
        : verifyInChild(WORKER, [], { url: mode.url, against }),
    head: () => inTransaction(pool, readRecordedHead, SNAPSHOT),
  };
}

async function queryEntries(pool: PostgresPool, query: AuditQuery): Promise<AuditEntry[]> {
  const where: string[] = [];
  const params: (string | number)[] = [];
  const param = (value: string | number): string => {
    params.push(value);
    return `$${params.length}`;
  };
  const equal = (column: string, value: string | undefined): void => {
    if (value !== undefined) where.push(`${column} = ${param(value)}`);
  };
  if (query.user !== undefined) {
    const user = param(query.user);
    where.push(`("user" = ${user} OR actor = ${user})`);
  }
  equal('verb', query.verb);
  equal('namespace', query.namespace);
  if (query.resource !== undefined) {
    if (query.resource.includes('/')) equal('resource', query.resource);
    else {
      // A range rather than LIKE: '%' or '_' in a name stay literal. The column is COLLATE "C",
      // and '0' is the character after '/', so the range holds exactly "<resource>/…".
      where.push(
        `(resource = ${param(query.resource)} OR (resource >= ${param(`${query.resource}/`)} AND resource < ${param(`${query.resource}0`)}))`,
      );
    }
  }
  equal('decision', query.decision);
  equal('kind', query.kind);
  equal('request_id', query.requestId);
  equal('pending_id', query.pendingId);
  // Stored times are toISOString() text in a COLLATE "C" column, so text order is time order.
  if (query.since !== undefined) where.push(`time >= ${param(query.since.toISOString())}`);
  if (query.until !== undefined) where.push(`time < ${param(query.until.toISOString())}`);
  const select = `SELECT seq, event, prev_hash AS "prevHash", hash FROM audit_events${
    where.length === 0 ? '' : ` WHERE ${where.join(' AND ')}`
  }`;
  const sql =
    query.limit === undefined
      ? `${select} ORDER BY seq`
      : `SELECT * FROM (${select} ORDER BY seq DESC LIMIT ${param(query.limit)}) AS recent ORDER BY seq`;
  const { rows } = await pool.query<{ seq: number; event: string; prevHash: string; hash: string }>(
    sql,
    params,
  );
  return rows.map((row) => ({
    seq: row.seq,
    event: JSON.parse(row.event) as AuditEvent,
    prevHash: row.prevHash,
    hash: row.hash,
  }));
}

/** Every record in seq order, a page at a time, from one snapshot on a connection of its own. */
async function* records(pool: PostgresPool): AsyncGenerator<StoredAuditRecord> {
  const { client, release } = await borrow(pool);
  let broken: unknown;
  try {
    await client.query(SNAPSHOT);
    let after = 0;
    for (;;) {
      const { rows } = await client.query<StoredAuditRecord>(
        'SELECT seq, event AS canonical, prev_hash AS "prevHash", hash FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT $2',
        [after, PAGE],
      );
      yield* rows;
      if (rows.length < PAGE) break;
      after = (rows[rows.length - 1] as StoredAuditRecord).seq;
    }
    await client.query('COMMIT');
  } catch (err) {
    broken = err;
    throw err;
  } finally {
    release(broken);
  }
}

type Row = StoredAuditRecord & AuditColumns;

/**
 * The head and the rows from one snapshot (a record committed in between would look like one
 * written outside kubegate). verifyChain takes a synchronous iterable, so the rows are read into
 * memory first: about 1 KB a record, 1 GB for a million. A streaming check is future work.
 */
async function verifyTrail(pool: PostgresPool, against: readonly ChainAnchor[]): Promise<AuditVerifyReport> {
  return inTransaction(
    pool,
    async (client) => {
      const head = await readRecordedHead(client);
      const all: Row[] = [];
      let after = 0;
      for (;;) {
        const { rows } = await client.query<Row>(
          `SELECT seq, event AS canonical, prev_hash AS "prevHash", hash, ${AUDIT_COLUMN_NAMES.map((n) => `"${n}"`).join(', ')}
             FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT $2`,
          [after, PAGE],
        );
        for (const row of rows) all.push(row);
        if (rows.length < PAGE) break;
        after = (rows[rows.length - 1] as Row).seq;
      }
      // The hash covers the event text only; queries filter on the copied columns. A column
      // changed alone would hide a record from `audit query` while the chain still verified.
      const result = verifyChain<Row>(all, {
        head,
        anchors: against,
        check: (row) => columnsDisagree(row, row.canonical),
      });
      if (result.ok) return result;
      return { ...result, time: all.find((row) => row.seq === result.seq)?.time ?? null };
    },
    SNAPSHOT,
  );
}

const WORKER = workerPath(import.meta.url, 'audit-verify-worker');
