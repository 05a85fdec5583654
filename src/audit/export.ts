// `kubegate audit export --format jsonl`'s work: every stored record, in seq order, one JSON
// object per line: {"seq":…,"prevHash":"…","hash":"…","event":{…}}. Input: a database opened
// with openAuditReader and a writable stream. Output: the lines, written with backpressure; the
// count. The event is the stored canonical text byte for byte, so anyone can re-hash a line with
// chainHash(prevHash, seq, canonicalize(event)) and check the chain away from kubegate. Must
// never write to the database, and never buffer the whole trail.
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import type { AuditDatabase } from './sqlite-trail.js';

interface ExportRow {
  readonly seq: number;
  readonly event: string;
  readonly prevHash: string;
  readonly hash: string;
}

/** Lines are gathered into chunks of about this size: one write per chunk, not per record. */
const CHUNK = 64 * 1024;

export function exportLine(row: ExportRow): string {
  return `{"seq":${row.seq},"prevHash":${JSON.stringify(row.prevHash)},"hash":${JSON.stringify(row.hash)},"event":${row.event}}\n`;
}

export async function exportJsonl(db: AuditDatabase, out: Writable): Promise<number> {
  let count = 0;
  let chunk = '';
  // One statement, one snapshot: records committed while exporting are left for the next export.
  const rows = db
    .prepare<[], ExportRow>('SELECT seq, event, prev_hash AS prevHash, hash FROM audit_events ORDER BY seq')
    .iterate();
  for (const row of rows) {
    chunk += exportLine(row);
    count += 1;
    if (chunk.length >= CHUNK) {
      const flowing = out.write(chunk);
      chunk = '';
      if (!flowing) await once(out, 'drain');
    }
  }
  if (chunk !== '' && !out.write(chunk)) await once(out, 'drain');
  return count;
}
