// For the sinks' tests: a chain of records as a trail commits them, and a logger that keeps what
// it was told.
import { canonicalEvent, chainHash, GENESIS_HASH, type StoredAuditRecord } from '../chain.js';
import { auditEvent } from '../event.js';
import type { SinkLog } from './committed.js';

/** n records from seq `from`, each linked to the one before it. */
export function chainOf(n: number, from = 1, prev = GENESIS_HASH): StoredAuditRecord[] {
  const records: StoredAuditRecord[] = [];
  for (let seq = from; seq < from + n; seq++) {
    const canonical = canonicalEvent(
      auditEvent('forwarded', new Date(Date.UTC(2026, 11, 1, 0, 0, 0, seq)), { user: 'alice', status: 200 }),
    );
    const hash = chainHash(prev, seq, canonical);
    records.push({ seq, canonical, prevHash: prev, hash });
    prev = hash;
  }
  return records;
}

export interface Logged {
  readonly level: 'warn' | 'error';
  readonly fields: Record<string, unknown>;
  readonly message: string;
}

export function recorder(): { readonly log: SinkLog; readonly logged: Logged[] } {
  const logged: Logged[] = [];
  const keep = (level: Logged['level']) => (fields: object, message: string) =>
    logged.push({ level, fields: fields as Record<string, unknown>, message });
  return { logged, log: { warn: keep('warn'), error: keep('error') } };
}
