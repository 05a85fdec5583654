// An audit sink writing one JSON object per line to a file (append). Buffered: records written
// just before a crash may be lost; the durable, hash-chained store replaces it for approvals.
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import type { AuditRecord, AuditSink } from './record.js';

export function jsonlSink(path: string): AuditSink {
  const stream = createWriteStream(path, { flags: 'a', mode: 0o600 });
  return {
    write(record: AuditRecord): void {
      stream.write(`${JSON.stringify(record)}\n`);
    },
    async close(): Promise<void> {
      stream.end();
      await once(stream, 'close');
    },
  };
}

/** Keeps records in memory: for tests and for `kubegate policy` tools. */
export function memorySink(): AuditSink & { readonly records: AuditRecord[] } {
  const records: AuditRecord[] = [];
  return { records, write: (r) => void records.push(r), close: () => Promise.resolve() };
}
