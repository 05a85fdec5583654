// The audit hash chain (stage 7, pure): how an AuditEvent becomes the text that is hashed, how
// each record's hash covers the one before it, and how a stored sequence of records is checked.
// Input: events, or stored records in seq order. Output: canonical text and hashes, or a
// VerifyResult naming the first bad seq and what is wrong with it. No I/O and no clock: the
// SQLite trail and `kubegate audit verify` use these same functions, so what is written and what
// is checked cannot drift apart. Must never accept a record whose hash it did not recompute.
//
// A hash chain without a secret detects edits, deletions and reordering by anyone who does not
// rewrite every record after the one they touch. Someone able to rewrite the whole tail (or cut
// it and rewrite the recorded head) is caught only by comparing the chain with a head kept
// elsewhere: the anchors of verifyChain, heads published by audit/head.ts.
import { createHash } from 'node:crypto';
import type { AuditEvent } from './event.js';

/** The previous hash of the first record (seq 1). */
export const GENESIS_HASH = '0'.repeat(64);

/**
 * Separates this hash from every other SHA-256 kubegate computes (body digests, token hashes), and
 * versions the chain's layout: a second layout gets a new tag, never a new meaning for this one.
 */
const DOMAIN = 'kubegate.audit.chain.v1';

/**
 * Canonical JSON: object keys sorted by UTF-16 code unit (as RFC 8785 does), no whitespace,
 * undefined members left out, strings and numbers as JSON.stringify writes them. Parsing the text
 * and canonicalizing again gives the same text, so an exported record can be re-hashed by anyone.
 */
export function canonicalize(value: unknown): string {
  // Loops and string concatenation: this runs for every audit record, and the generic
  // map/flatMap/join form cost twice as much (14 µs against 6 µs for a typical event).
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      // JSON has no NaN or Infinity; JSON.stringify would write null and the hash would cover a lie.
      if (!Number.isFinite(value)) throw new TypeError('audit events hold finite numbers only');
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) {
        let text = '[';
        for (let i = 0; i < value.length; i++) {
          if (i > 0) text += ',';
          text += canonicalize((value[i] as unknown) ?? null);
        }
        return `${text}]`;
      }
      let text = '{';
      let first = true;
      for (const key of Object.keys(value).sort()) {
        const member = (value as Record<string, unknown>)[key];
        if (member === undefined) continue;
        if (!first) text += ',';
        first = false;
        text += `${JSON.stringify(key)}:${canonicalize(member)}`;
      }
      return `${text}}`;
    }
    default:
      throw new TypeError(`audit events hold JSON data only, not ${typeof value}`);
  }
}

/** The canonical text of one event: what is stored, hashed and exported. */
export function canonicalEvent(event: AuditEvent): string {
  return canonicalize(event);
}

/**
 * sha256(DOMAIN NUL prevHash NUL seq NUL canonical), hex. prevHash is fixed-length hex and seq a
 * decimal integer, neither holds NUL, so no two (prevHash, seq, text) triples share an input.
 * The seq is inside the hash so that a record moved to another position no longer verifies.
 */
export function chainHash(prevHash: string, seq: number, canonical: string): string {
  return createHash('sha256')
    .update(`${DOMAIN}\0${prevHash}\0${String(seq)}\0`)
    .update(canonical, 'utf8')
    .digest('hex');
}

/** One record as stored: the canonical text is what the hash covers. */
export interface StoredAuditRecord {
  readonly seq: number;
  readonly canonical: string;
  readonly prevHash: string;
  readonly hash: string;
}

/** The last record's seq and hash, kept apart from the records (a truncated tail shows). */
export interface ChainHead {
  readonly seq: number;
  readonly hash: string;
}

export type ChainProblem =
  | 'edited' // the record's text no longer has the hash it was written with
  | 'deleted' // records are missing (a seq gap, renumbered records, or a cut tail)
  | 'reordered' // the record (or its text) was written at another position
  | 'broken-link' // the record verifies alone but does not follow the one before it
  | 'rewritten'; // the record is not the one a head saved outside the database names

export type VerifyResult =
  | { readonly ok: true; readonly count: number; readonly head: ChainHead }
  | {
      readonly ok: false;
      /**
       * Records verified before the bad one. For a rewrite, only those through the last saved
       * head that matched: the records after it link up, but one of them was replaced.
       */
      readonly count: number;
      /** The first bad record's seq; for a cut tail, the first missing seq. */
      readonly seq: number;
      readonly problem: ChainProblem;
      readonly detail: string;
    };

/** A head saved outside the database (audit/head.ts), and when it was read. */
export interface ChainAnchor extends ChainHead {
  readonly time: string;
}

export interface VerifyOptions<R extends StoredAuditRecord = StoredAuditRecord> {
  /** The head recorded beside the records; a chain that ends before it lost its tail. */
  readonly head?: ChainHead | null;
  /**
   * Heads saved outside the database, in any order: the chain must still hold each one's seq
   * with exactly its hash. The recorded head lives in the same database as the records, so
   * whoever can cut the tail can rewrite it too; a saved head cannot be rewritten from there.
   */
  readonly anchors?: readonly ChainAnchor[];
  /**
   * A further check of one record that the hash cannot see (the store's indexed columns agree with
   * the hashed text); a message means the record was edited.
   */
  readonly check?: (record: R) => string | null;
}

type Failure = Extract<VerifyResult, { ok: false }>;

/**
 * Walks the records in the order given (seq order when they come from a store) and stops at the
 * first bad one. Constant memory: after a failure it reads on only to tell reordering and deletion
 * apart from an edit, hashing the bad record once per later record.
 */
export function verifyChain<R extends StoredAuditRecord>(
  records: Iterable<R>,
  options: VerifyOptions<R> = {},
): VerifyResult {
  const iterator = records[Symbol.iterator]();
  let count = 0;
  let last: ChainHead = { seq: 0, hash: GENESIS_HASH };
  const anchors = [...(options.anchors ?? [])].sort((a, b) => a.seq - b.seq);
  let nextAnchor = 0;
  /** The highest seq a saved head names that matched: the records up to it are the originals. */
  let anchored = 0;
  const fail = (seq: number, problem: ChainProblem, detail: string, verified = count): Failure => {
    iterator.return?.();
    return { ok: false, count: verified, seq, problem, detail };
  };

  for (let next = iterator.next(); next.done !== true; next = iterator.next()) {
    const record = next.value;
    if (record.seq <= last.seq) {
      return fail(record.seq, 'reordered', `seq ${record.seq} comes after seq ${last.seq}`);
    }
    if (record.seq > last.seq + 1) {
      return fail(record.seq, 'deleted', missing(last.seq + 1, record.seq - 1, 'before it'));
    }
    const linked = record.prevHash === last.hash;
    if (chainHash(record.prevHash, record.seq, record.canonical) !== record.hash) {
      return classify(record, linked, iterator, fail);
    }
    if (!linked) {
      return fail(
        record.seq,
        'broken-link',
        `it does not follow seq ${last.seq}: the record before it was rewritten, or records before it were replaced`,
      );
    }
    const problem = options.check?.(record) ?? null;
    if (problem !== null) return fail(record.seq, 'edited', problem);
    // Seqs run 1, 2, 3… here (a gap failed above), so every anchor at or below this seq is met.
    for (
      let anchor = anchors[nextAnchor];
      anchor !== undefined && anchor.seq <= record.seq;
      anchor = anchors[++nextAnchor]
    ) {
      if (anchor.hash !== record.hash) {
        return fail(record.seq, 'rewritten', rewritten(anchor, anchored), anchored);
      }
    }
    if (anchors[nextAnchor - 1]?.seq === record.seq) anchored = record.seq;
    last = { seq: record.seq, hash: record.hash };
    count += 1;
  }

  const head = options.head;
  if (head && head.seq > last.seq) {
    return fail(last.seq + 1, 'deleted', missing(last.seq + 1, head.seq, 'at the end'));
  }
  if (head && head.seq < last.seq) {
    return fail(head.seq + 1, 'broken-link', `it follows the recorded chain head (seq ${head.seq})`);
  }
  if (head && head.hash !== last.hash) {
    return fail(last.seq, 'edited', 'its hash differs from the recorded chain head');
  }
  const furthest = anchors[anchors.length - 1];
  if (furthest !== undefined && furthest.seq > last.seq) {
    // The records and the recorded head agree: the tail was cut and the head rewritten to match.
    const hidden = head?.seq === last.seq ? ' and the recorded head rewritten to match' : '';
    return fail(
      last.seq + 1,
      'deleted',
      `${missing(last.seq + 1, furthest.seq, 'at the end')}: the head saved at ${furthest.time} names seq ${furthest.seq}, so records were cut from the end${hidden}`,
    );
  }
  return { ok: true, count, head: last };
}

/** What a record that differs from a saved head means, narrowed by the last saved head that matched. */
function rewritten(anchor: ChainAnchor, anchored: number): string {
  const saved = `its hash differs from the head saved at ${anchor.time} (${anchor.hash.slice(0, 12)}…)`;
  if (anchored + 1 === anchor.seq) return `${saved}: it was replaced, and the chain rebuilt after it`;
  const where =
    anchored === 0
      ? 'it or a record before it'
      : `a record in seqs ${anchored + 1}–${anchor.seq} (seq ${anchored} still matches an earlier saved head)`;
  return `${saved}: ${where} was replaced or deleted, and the chain rebuilt after it`;
}

/**
 * A record whose hash does not match. If its link is intact, its text was changed in place —
 * unless that text verifies at a later position (two records' texts swapped). If its link is
 * broken too, the whole record may come from a later position: swapped with another record
 * (reordered), or renumbered down after a deletion (the next record still links to it).
 */
function classify(
  bad: StoredAuditRecord,
  linked: boolean,
  rest: Iterator<StoredAuditRecord>,
  fail: (seq: number, problem: ChainProblem, detail: string) => Failure,
): Failure {
  let following: StoredAuditRecord | null = null;
  for (let next = rest.next(); next.done !== true; next = rest.next()) {
    const later = next.value;
    following ??= later;
    if (linked && chainHash(later.prevHash, later.seq, bad.canonical) === later.hash) {
      return fail(bad.seq, 'reordered', `its content was written as seq ${later.seq}`);
    }
    if (!linked && chainHash(bad.prevHash, later.seq, bad.canonical) === bad.hash) {
      const shifted = later.seq - bad.seq;
      if (following.seq === bad.seq + 1 && following.prevHash === bad.hash) {
        return fail(
          bad.seq,
          'deleted',
          `it was written as seq ${later.seq}: ${shifted === 1 ? '1 record' : `${shifted} records`} before it deleted and the rest renumbered`,
        );
      }
      return fail(bad.seq, 'reordered', `it was written as seq ${later.seq}`);
    }
  }
  if (!linked && following?.seq === bad.seq + 1 && following.prevHash === bad.hash) {
    return fail(bad.seq, 'deleted', 'records before it were deleted and the rest renumbered');
  }
  return linked
    ? fail(bad.seq, 'edited', 'its content does not match its hash')
    : fail(bad.seq, 'edited', 'neither its content nor its link to the record before it match its hash');
}

function missing(from: number, to: number, where: string): string {
  return from === to ? `seq ${from} ${where} is missing` : `seqs ${from}–${to} ${where} are missing`;
}
