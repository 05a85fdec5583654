// `kubegate audit export --format jsonl`'s work: every stored record, in seq order, one JSON
// object per line: {"seq":…,"prevHash":"…","hash":"…","event":{…}}. Input: the records as the
// store reads them (AuditReader.records) and a writable stream. Output: the lines, written with
// backpressure; the count. The event is the stored canonical text byte for byte, so anyone can
// re-hash a line with chainHash(prevHash, seq, canonicalize(event)) and check the chain away from
// kubegate. Must never buffer the whole trail.
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import type { StoredAuditRecord } from './chain.js';

/** Lines are gathered into chunks of about this size: one write per chunk, not per record. */
const CHUNK = 64 * 1024;

export function exportLine(record: StoredAuditRecord): string {
  return `{"seq":${record.seq},"prevHash":${JSON.stringify(record.prevHash)},"hash":${JSON.stringify(record.hash)},"event":${record.canonical}}\n`;
}

export async function exportJsonl(records: AsyncIterable<StoredAuditRecord>, out: Writable): Promise<number> {
  let count = 0;
  let chunk = '';
  for await (const record of records) {
    chunk += exportLine(record);
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
