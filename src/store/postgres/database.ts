// Connecting to kubegate's PostgreSQL database, the same way for every part of the store: one
// pool per process, every connection with synchronous_commit on (a COMMIT returns only once the
// WAL is flushed: on the server, and on a synchronous standby when the server has one), bigint
// read as a number (seqs and epoch milliseconds stay far below 2^53). Input: the store's URL and
// pool size. Output: a pg Pool, which never leaves store/postgres/. Must never print the URL (it
// holds the password).
import pg from 'pg';
import { KubegateError } from '../../errors.js';

export type PostgresPool = pg.Pool;
export type PostgresClient = pg.PoolClient;

const INT8_OID = 20;

const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary'): (value: string) => unknown {
    if (oid === INT8_OID && format !== 'binary') return Number;
    return pg.types.getTypeParser(oid, format ?? 'text') as (value: string) => unknown;
  },
};

export function openPool(url: string, max: number): PostgresPool {
  const pool = new pg.Pool({
    connectionString: url,
    max,
    types,
    // A write is durable when it resolves: a mutation is forwarded only after its record is.
    options: '-c synchronous_commit=on',
    connectionTimeoutMillis: 10_000,
    application_name: 'kubegate',
  });
  // An idle connection the server dropped: the pool replaces it; the next query reports trouble.
  pool.on('error', () => {});
  return pool;
}

/**
 * The store's methods, each answering a failure to reach the database as KG_STORE_UNAVAILABLE (a
 * clear Status for kubectl and the UI) instead of the driver's error. KubegateErrors pass as they are.
 */
export function unavailableAsStatus<T extends object>(methods: T): T {
  const wrapped: Record<string, unknown> = {};
  for (const [name, method] of Object.entries(methods)) {
    wrapped[name] =
      typeof method === 'function'
        ? async (...args: unknown[]) => {
            try {
              return await (method as (...a: unknown[]) => Promise<unknown>)(...args);
            } catch (cause) {
              if (cause instanceof KubegateError) throw cause;
              throw new KubegateError(
                'KG_STORE_UNAVAILABLE',
                'kubegate cannot reach its database (the PostgreSQL store), so this was not done and nothing was forwarded. Retry shortly; if it persists, tell the kubegate operators.',
                { cause },
              );
            }
          }
        : method;
  }
  return wrapped as T;
}

/** A connection taken from the pool; give it back with release() once, whatever happened. */
export interface Borrowed {
  readonly client: PostgresClient;
  /** Back to the pool, or closed when it broke while borrowed (or `broken` says so). */
  readonly release: (broken?: unknown) => void;
}

/**
 * Takes a connection out of the pool, listening for its errors while it is out: pg reports a
 * connection lost mid-query twice, by failing the query and by an 'error' event, and an 'error'
 * event nobody listens to ends the process (the pool listens only while it holds the connection).
 */
export async function borrow(pool: PostgresPool): Promise<Borrowed> {
  const client = await pool.connect();
  let lost: Error | undefined;
  const onError = (err: Error): void => {
    lost = err;
  };
  client.on('error', onError);
  let released = false;
  return {
    client,
    release: (broken?: unknown) => {
      if (released) return;
      released = true;
      client.off('error', onError);
      // Any error given makes the pool close the connection instead of handing it out again.
      client.release(
        lost ?? (broken === undefined ? undefined : new Error('the connection failed while borrowed')),
      );
    },
  };
}

/** Runs `work` in one transaction on one connection: COMMIT when it resolves, ROLLBACK when it throws. */
export async function inTransaction<T>(
  pool: PostgresPool,
  work: (client: PostgresClient) => Promise<T>,
  begin = 'BEGIN',
): Promise<T> {
  const { client, release } = await borrow(pool);
  let broken: unknown;
  try {
    await client.query(begin);
    try {
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      // A connection that cannot roll back is not given to the next caller.
      await client.query('ROLLBACK').catch((rollback: unknown) => {
        broken = rollback;
      });
      throw err;
    }
  } finally {
    release(broken);
  }
}
