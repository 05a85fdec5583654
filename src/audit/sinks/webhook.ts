// The webhook audit sink: committed records POSTed in batches to an HTTP(S) endpoint (a SIEM's
// collector, Splunk HEC behind a relay, Vector's http_server source). Input: committed batches
// (committed.ts). Output: POSTs whose body is a JSON array of records, each in exactly
// `kubegate audit export`'s line shape ({seq, prevHash, hash, event}), in seq order; a batch is
// retried with exponential backoff until it is delivered or its attempts are used up.
// Must never block or fail the request path: write() only queues; one delivery loop per sink
// sends one batch at a time, so the endpoint sees the records in order. Memory is bounded: past
// maxQueueRecords waiting, the oldest are dropped and the drop is logged with counts and seqs
// (the store keeps every record; `kubegate audit export` refills a gap). Logs name the
// endpoint's origin only: a webhook's path or headers may be its credential.
import type { StoredAuditRecord } from '../chain.js';
import { exportLine } from '../export.js';
import type { AuditSink, SinkLog } from './committed.js';

export interface WebhookRetry {
  /** Attempts per batch, the first included. */
  readonly maxAttempts: number;
  /** Delay before the first retry, doubled for each next one up to maxDelayMs. */
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
}

export interface WebhookSinkOptions {
  readonly url: string;
  /** Sent with every POST (an Authorization header for the collector). */
  readonly headers?: Readonly<Record<string, string>>;
  /** Records per POST at most. */
  readonly batchMaxRecords: number;
  /** How long a record waits for company before its batch is sent. */
  readonly batchMaxMs: number;
  /** Records waiting (the batch in flight not counted) before the oldest are dropped. */
  readonly maxQueueRecords: number;
  /** Longest single POST. */
  readonly timeoutMs: number;
  readonly retry: WebhookRetry;
  /** How long close() keeps delivering what is queued before it gives up. */
  readonly closeTimeoutMs?: number;
  readonly log: SinkLog;
  readonly fetch?: typeof globalThis.fetch;
}

interface Queued {
  readonly seq: number;
  /** The record as export writes it, without the newline. */
  readonly json: string;
}

export function createWebhookSink(options: WebhookSinkOptions): AuditSink {
  const doFetch = options.fetch ?? globalThis.fetch;
  const origin = originOf(options.url);
  const headers = { ...options.headers, 'content-type': 'application/json' };
  const queue: Queued[] = [];
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> | null = null;
  let closed = false;
  let droppedTotal = 0;
  // Shutdown aborts the POST in flight and a backoff's wait once closeTimeoutMs has passed.
  const shutdown = new AbortController();

  /** Delivers one batch: true when the endpoint took it, false when it was given up. */
  async function deliver(batch: readonly Queued[]): Promise<boolean> {
    const body = `[${batch.map((item) => item.json).join(',')}]`;
    const seqs = { firstSeq: batch[0]?.seq, lastSeq: batch[batch.length - 1]?.seq, records: batch.length };
    const { maxAttempts, initialDelayMs, maxDelayMs } = options.retry;
    for (let attempt = 1; ; attempt++) {
      let problem: object;
      try {
        const res = await doFetch(options.url, {
          method: 'POST',
          headers,
          body,
          signal: AbortSignal.any([AbortSignal.timeout(options.timeoutMs), shutdown.signal]),
          redirect: 'error',
        });
        await res.arrayBuffer().catch(() => undefined);
        if (res.ok) return true;
        problem = { status: res.status };
        // Other 4xx answers will not change on a retry (a bad token, a refused payload).
        if (res.status < 500 && res.status !== 408 && res.status !== 429) {
          options.log.error(
            { sink: 'webhook', webhook: origin, status: res.status, attempt, ...seqs },
            'audit sink refused by the webhook; these records are not in its copy',
          );
          return false;
        }
      } catch (err) {
        problem = { err: err instanceof Error ? err.message : String(err) };
      }
      if (shutdown.signal.aborted || attempt >= maxAttempts) {
        options.log.error(
          { sink: 'webhook', webhook: origin, attempts: attempt, ...problem, ...seqs },
          'audit sink delivery failed; giving up on these records (the store still has them)',
        );
        return false;
      }
      options.log.warn(
        { sink: 'webhook', webhook: origin, attempt, ...problem, ...seqs },
        'audit sink delivery failed; retrying',
      );
      await wait(Math.min(maxDelayMs, initialDelayMs * 2 ** (attempt - 1)), shutdown.signal);
    }
  }

  async function drain(): Promise<void> {
    // After close's deadline, what is left is reported by close in one line.
    while (queue.length > 0 && !shutdown.signal.aborted) {
      await deliver(queue.splice(0, options.batchMaxRecords));
    }
    running = null;
  }

  function send(): void {
    if (timer !== null) clearTimeout(timer);
    timer = null;
    running ??= drain().catch((err: unknown) => {
      running = null;
      options.log.error({ sink: 'webhook', webhook: origin, err }, 'bug: audit sink delivery loop failed');
    });
  }

  return {
    write(records: readonly StoredAuditRecord[]) {
      if (closed) return;
      for (const record of records) {
        const line = exportLineJson(record);
        queue.push({ seq: record.seq, json: line });
      }
      const over = queue.length - options.maxQueueRecords;
      if (over > 0) {
        const lost = queue.splice(0, over);
        droppedTotal += over;
        options.log.error(
          {
            sink: 'webhook',
            webhook: origin,
            dropped: over,
            droppedTotal,
            firstSeq: lost[0]?.seq,
            lastSeq: lost[lost.length - 1]?.seq,
            maxQueueRecords: options.maxQueueRecords,
          },
          'audit sink queue full; dropped the oldest records from its copy (the store still has them)',
        );
      }
      // A full batch goes now; a smaller one once its first record has waited batchMaxMs. While a
      // batch is in flight, the loop takes what queued meanwhile when it ends.
      if (running !== null) return;
      if (queue.length >= options.batchMaxRecords) send();
      else timer ??= setTimeout(send, options.batchMaxMs);
    },
    async close() {
      if (closed) return;
      closed = true;
      send();
      const deadline = setTimeout(() => shutdown.abort(), options.closeTimeoutMs ?? 5000);
      try {
        while (running !== null) await running;
      } finally {
        clearTimeout(deadline);
      }
      if (queue.length > 0) {
        options.log.error(
          { sink: 'webhook', webhook: origin, dropped: queue.length, firstSeq: queue[0]?.seq },
          'audit sink closed before delivering these records (the store still has them)',
        );
        queue.length = 0;
      }
    },
  };
}

/** exportLine's object without its newline: one element of the POSTed array. */
function exportLineJson(record: StoredAuditRecord): string {
  return exportLine(record).slice(0, -1);
}

function wait(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return 'the configured URL';
  }
}
