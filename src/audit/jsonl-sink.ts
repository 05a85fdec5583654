// An audit sink writing one JSON object per line to a file (append). Batched every few
// milliseconds: records written just before a crash may be lost; the durable, hash-chained store
// replaces it for approvals.
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import type { AuditRecord, AuditSink } from './record.js';

/** Lines written within this window share one write: one syscall for many requests. */
const BATCH_MS = 10;

export function jsonlSink(path: string): AuditSink {
  const stream = createWriteStream(path, { flags: 'a', mode: 0o600 });
  let pending = '';
  let timer: NodeJS.Timeout | null = null;
  const flush = (): void => {
    timer = null;
    if (pending === '') return;
    stream.write(pending);
    pending = '';
  };
  return {
    write(record: AuditRecord): void {
      pending += `${JSON.stringify(record)}\n`;
      timer ??= setTimeout(flush, BATCH_MS);
    },
    async close(): Promise<void> {
      if (timer) clearTimeout(timer);
      flush();
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
