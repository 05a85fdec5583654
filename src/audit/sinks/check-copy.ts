// Checks a copy of the audit trail kept outside kubegate: lines a sink wrote (jsonl.ts, or the
// arrays webhook.ts POSTed, one record a line) or `kubegate audit export` wrote — one shape,
// {seq, prevHash, hash, event}. Input: the copy's lines in order; optionally the store's records
// in seq order. Output: a verdict naming the first bad line. Pure but for reading its inputs;
// streams both, so a copy of any length is checked in constant memory.
//
// What a copy alone proves: each record's hash recomputes from (prevHash, seq, the event's
// canonical text) — the event is re-canonicalized from the line, so reformatting the JSON is
// harmless but changing a value is not — and two records with consecutive seqs link (the later
// one's prevHash is the earlier one's hash). A full copy (export, or one replica's sink from the
// first record) has no gaps; one replica's sink beside others on PostgreSQL holds the records
// that replica committed, so its seqs have gaps: `partial` accepts them and counts them.
// Against the store: every record of the copy must be in the store with the same hash, so a
// record cut or rewritten in the database after it was shipped shows.
import { canonicalize, chainHash, type ChainHead, type StoredAuditRecord } from '../chain.js';

export type CopyProblem =
  | 'unreadable' // not a record line: not JSON, or a field missing or of the wrong type
  | 'edited' // the record's event no longer has the hash it was shipped with
  | 'reordered' // its seq does not come after the line before it
  | 'broken-link' // it follows the record before it (seq n+1 after n) but does not link to it
  | 'deleted' // a gap in a copy that should be whole; or the store no longer holds the record
  | 'rewritten'; // the store holds another record at this seq

export type CopyResult =
  | {
      readonly ok: true;
      readonly count: number;
      readonly first: number | null;
      readonly last: ChainHead | null;
      /** Seqs missing between the first and last record (0 for a whole copy). */
      readonly missing: number;
      /** Records compared with the store (0 without one). */
      readonly compared: number;
    }
  | {
      readonly ok: false;
      /** Records that verified before the bad line. */
      readonly count: number;
      /** 1-based line number in the copy. */
      readonly line: number;
      readonly seq: number | null;
      readonly problem: CopyProblem;
      readonly detail: string;
    };

export interface CheckCopyOptions {
  /** Gaps between seqs are allowed (one replica's sink). */
  readonly partial?: boolean;
  /** The store's records in seq order (AuditReader.records): each copied record must be among them. */
  readonly store?: AsyncIterable<StoredAuditRecord>;
}

const HASH = /^[0-9a-f]{64}$/u;

export async function checkCopy(
  lines: AsyncIterable<string>,
  options: CheckCopyOptions = {},
): Promise<CopyResult> {
  const store = options.store?.[Symbol.asyncIterator]();
  let stored: StoredAuditRecord | null = null;
  let count = 0;
  let compared = 0;
  let missing = 0;
  let first: number | null = null;
  let last: ChainHead | null = null;
  let number = 0;
  try {
    for await (const text of lines) {
      number += 1;
      if (text.trim() === '') continue;
      const fail = (seq: number | null, problem: CopyProblem, detail: string): CopyResult => ({
        ok: false,
        count,
        line: number,
        seq,
        problem,
        detail,
      });
      const parsed = readRecord(text);
      if (typeof parsed === 'string') return fail(null, 'unreadable', parsed);
      const record = parsed;
      if (chainHash(record.prevHash, record.seq, record.canonical) !== record.hash) {
        return fail(record.seq, 'edited', 'its event does not match its hash');
      }
      if (last !== null) {
        if (record.seq <= last.seq) {
          return fail(record.seq, 'reordered', `seq ${record.seq} comes after seq ${last.seq}`);
        }
        if (record.seq === last.seq + 1 && record.prevHash !== last.hash) {
          return fail(record.seq, 'broken-link', `it does not link to seq ${last.seq}, the line before it`);
        }
        if (record.seq > last.seq + 1) {
          if (options.partial !== true) {
            return fail(record.seq, 'deleted', gap(last.seq + 1, record.seq - 1));
          }
          missing += record.seq - last.seq - 1;
        }
      } else {
        first = record.seq;
      }
      if (store !== undefined) {
        while (stored === null || stored.seq < record.seq) {
          const next = await store.next();
          if (next.done === true) {
            return fail(
              record.seq,
              'deleted',
              'the store does not hold this record: its trail ends before it',
            );
          }
          stored = next.value;
        }
        if (stored.seq > record.seq) {
          return fail(
            record.seq,
            'deleted',
            'the store does not hold this record: that seq is missing there',
          );
        }
        if (stored.hash !== record.hash) {
          return fail(
            record.seq,
            'rewritten',
            'the store holds another record at this seq: it was rewritten after this copy was made',
          );
        }
        compared += 1;
      }
      last = { seq: record.seq, hash: record.hash };
      count += 1;
    }
  } finally {
    await store?.return?.();
  }
  return { ok: true, count, first, last, missing, compared };
}

/** One line as a record, its canonical text rebuilt from the parsed event; or what is wrong. */
function readRecord(text: string): StoredAuditRecord | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return 'not JSON';
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not a JSON object';
  const { seq, prevHash, hash, event } = value as Record<string, unknown>;
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 1)
    return 'seq: expected a whole number from 1';
  if (typeof prevHash !== 'string' || !HASH.test(prevHash))
    return 'prevHash: expected 64 lowercase hex digits';
  if (typeof hash !== 'string' || !HASH.test(hash)) return 'hash: expected 64 lowercase hex digits';
  if (typeof event !== 'object' || event === null || Array.isArray(event))
    return 'event: expected a JSON object';
  return { seq, prevHash, hash, canonical: canonicalize(event) };
}

function gap(from: number, to: number): string {
  return from === to
    ? `seq ${from} is missing before it (a whole copy has no gaps; --partial accepts them)`
    : `seqs ${from}–${to} are missing before it (a whole copy has no gaps; --partial accepts them)`;
}
