// The audit chain's head as published outside the database: one self-describing JSON record
// (format, seq, count, hash, time) that the gateway writes to its log at a fixed interval
// (head-publisher.ts), `kubegate audit head` prints to be saved, and a streaming sink can carry
// as it is. Input: the trail's head and the time it was read; or a line of text someone saved.
// Output: the record; or the head a saved line holds. Pure: no I/O and no clock.
//
// Why: the records and the head recorded beside them live in one database, so whoever can write
// it can cut the last records and rewrite that head, and the chain still verifies. A head kept
// elsewhere cannot be rewritten from there: `kubegate audit verify --against FILE` checks that the
// chain still holds each saved head's seq with exactly its hash (audit/chain.ts anchors). It is
// not signed: a key the gateway could sign with would sit on the same disk as the database,
// readable by the same attacker; what protects a head is where its copy is kept.
import { z } from 'zod';
import type { ChainAnchor, ChainHead } from './chain.js';

/** Names the record and versions its layout: a second layout gets a new tag. */
export const HEAD_FORMAT = 'kubegate.audit.head.v1';

/** The member of a kubegate log line that carries the head (pino merges the fields in). */
export const HEAD_LOG_FIELD = 'auditHead';
/** The message of that log line. */
export const HEAD_LOG_MESSAGE = 'audit chain head';

export interface PublishedHead {
  readonly format: typeof HEAD_FORMAT;
  /** The last record's seq. */
  readonly seq: number;
  /** Records in the chain through seq: the chain numbers them from 1 without gaps, so seq. */
  readonly count: number;
  /** The last record's hash, which covers every record before it. */
  readonly hash: string;
  /** When the head was read (ISO 8601): every record through seq existed by then. */
  readonly time: string;
}

export function publishedHead(head: ChainHead, time: Date): PublishedHead {
  return { format: HEAD_FORMAT, seq: head.seq, count: head.seq, hash: head.hash, time: time.toISOString() };
}

/** A line of a saved file: not a head, a head, or something that claims to be one and is not. */
export type SavedLine =
  | { readonly kind: 'none' }
  | { readonly kind: 'head'; readonly head: ChainAnchor }
  | { readonly kind: 'invalid'; readonly problem: string };

/** A head as saved: what publishedHead wrote, each field checked. */
const SavedHeadSchema = z
  .object({
    format: z.literal(HEAD_FORMAT),
    seq: z.int({ error: 'expected a whole number' }).min(1, { error: 'expected a seq from 1' }),
    count: z.int({ error: 'expected a whole number' }),
    hash: z.string().regex(/^[0-9a-f]{64}$/u, { error: 'expected 64 lowercase hex digits' }),
    time: z.iso.datetime({ precision: 3, error: 'expected an ISO 8601 UTC time with milliseconds' }),
  })
  .refine((head) => head.count === head.seq, {
    error: 'expected the count to equal the seq',
    path: ['count'],
  });

/**
 * The head one line holds: a line `kubegate audit head` printed, or a kubegate JSON log line
 * carrying one (in `auditHead`). Other lines (other log lines, text that is not JSON) hold none,
 * so a whole log file can be given. A line tagged with HEAD_FORMAT whose fields are wrong is
 * invalid, never skipped: a saved head that silently did not count would let a cut pass.
 */
export function readSavedLine(line: string): SavedLine {
  const text = line.trim();
  if (!text.startsWith('{')) return { kind: 'none' };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { kind: 'none' };
  }
  const logged = isObject(value) ? value[HEAD_LOG_FIELD] : undefined;
  const record = isObject(logged) ? logged : value;
  if (!isObject(record) || record.format !== HEAD_FORMAT) return { kind: 'none' };
  const parsed = SavedHeadSchema.safeParse(record);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { kind: 'invalid', problem: `${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'not a head'}` };
  }
  const { seq, hash, time } = parsed.data;
  return { kind: 'head', head: { seq, hash, time } };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
