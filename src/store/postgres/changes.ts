// The replicas on one PostgreSQL database hearing each other's approval changes
// (approvals/store.ts, ApprovalChanges) through LISTEN/NOTIFY on one channel. Input: changes this
// replica publishes (sent through the pool after the step committed). Output: the other
// replicas' changes, and a resync each time the listening connection (re)connects.
// Must never: stop listening for good after a connection loss (it reconnects with backoff, then
// resyncs, since notifications sent meanwhile are gone); deliver this replica's own changes back
// to it; block or fail a request when a publish fails (the receivers' resync and hold limit
// cover it).
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { ApprovalChange, ApprovalChanges } from '../../approvals/store.js';
import type { ApprovalEvent } from '../../approvals/types.js';
import type { PostgresPool } from './database.js';

export const CHANGES_CHANNEL = 'kubegate_approvals';

const TYPES: ReadonlySet<string> = new Set<ApprovalEvent['type']>([
  'created',
  'reviewed',
  'escalated',
  'decided',
  'expired',
  'context',
  'granted',
  'updated',
]);

/** Reconnect backoff bounds: fast first (a failover), then no faster than this. */
const RETRY_FIRST_MS = 100;
const RETRY_MAX_MS = 5_000;

export interface PostgresChanges extends ApprovalChanges {
  /** Stops listening; publishes after this are dropped. */
  close(): Promise<void>;
}

interface Wire {
  readonly o: string;
  readonly t: string;
  readonly id: string;
}

function parse(payload: string | undefined): (Wire & { readonly t: ApprovalChange['type'] }) | null {
  if (payload === undefined) return null;
  try {
    const wire = JSON.parse(payload) as Partial<Wire>;
    if (typeof wire.o !== 'string' || typeof wire.id !== 'string' || typeof wire.t !== 'string') return null;
    if (!TYPES.has(wire.t)) return null;
    return wire as Wire & { readonly t: ApprovalChange['type'] };
  } catch {
    return null;
  }
}

export interface PostgresChangesOptions {
  readonly onError?: (err: unknown, what: 'listen' | 'publish') => void;
}

export function postgresChanges(
  url: string,
  pool: PostgresPool,
  options: PostgresChangesOptions = {},
): PostgresChanges {
  const origin = randomUUID();
  const subscribers = new Set<{
    readonly onChange: (change: ApprovalChange) => void;
    readonly onResync: () => void;
  }>();
  const onError = options.onError ?? (() => {});
  let client: pg.Client | null = null;
  let retry: NodeJS.Timeout | null = null;
  let delay = RETRY_FIRST_MS;
  let closed = false;

  const listen = async (): Promise<void> => {
    if (closed || client !== null) return;
    const next = new pg.Client({ connectionString: url, application_name: 'kubegate-changes' });
    client = next;
    const lost = (err?: unknown): void => {
      if (client !== next) return;
      client = null;
      next.removeAllListeners('notification');
      void next.end().catch(() => {});
      if (err !== undefined) onError(err, 'listen');
      schedule();
    };
    next.on('error', lost);
    next.on('end', () => lost());
    next.on('notification', (message) => {
      const change = parse(message.payload);
      if (change === null || change.o === origin) return;
      for (const s of [...subscribers]) s.onChange({ type: change.t, id: change.id });
    });
    try {
      await next.connect();
      await next.query(`LISTEN ${CHANGES_CHANNEL}`);
    } catch (err) {
      lost(err);
      return;
    }
    if (client !== next) return;
    delay = RETRY_FIRST_MS;
    // Whatever was sent while nobody here listened is gone: the subscribers re-read.
    for (const s of [...subscribers]) s.onResync();
  };

  const schedule = (): void => {
    if (closed || retry !== null) return;
    retry = setTimeout(() => {
      retry = null;
      void listen();
    }, delay);
    retry.unref();
    delay = Math.min(RETRY_MAX_MS, delay * 2);
  };

  return {
    publish(change) {
      if (closed) return;
      const payload = JSON.stringify({ o: origin, t: change.type, id: change.id } satisfies Wire);
      pool.query('SELECT pg_notify($1, $2)', [CHANGES_CHANNEL, payload]).catch((err: unknown) => {
        onError(err, 'publish');
      });
    },
    subscribe(onChange, onResync) {
      const subscriber = { onChange, onResync };
      subscribers.add(subscriber);
      if (client === null && retry === null) void listen();
      return () => subscribers.delete(subscriber);
    },
    async close() {
      closed = true;
      if (retry !== null) clearTimeout(retry);
      retry = null;
      const current = client;
      client = null;
      await current?.end().catch(() => {});
    },
  };
}
