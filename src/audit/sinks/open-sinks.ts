// The audit sinks the config names (audit.sinks), opened together and fed from one handler: the
// store's onAuditCommitted (committed.ts). Input: the sinks' config and the logger. Output: the
// handler for openStore and a close for shutdown. Must never let one sink's trouble reach another
// sink or the trail: each write is queued by its sink, and a throw is logged. A relative jsonl
// path is a file in dataDir (beside the trail, audit.db); '-' stays stdout, which is why load.ts's
// path resolution (the config file's folder) does not take this field. A webhook's headersFile is
// read now, once (headers-file.ts).
import { isAbsolute, resolve } from 'node:path';
import type { Config } from '../../config/schema.js';
import type { AuditCommitHandler, AuditSink, SinkLog } from './committed.js';
import { readHeadersFile } from './headers-file.js';
import { createJsonlSink, STDOUT_PATH } from './jsonl.js';
import { createWebhookSink } from './webhook.js';

export type AuditSinkConfig = Config['audit']['sinks'][number];

export interface AuditSinks {
  /** For openStore's onAuditCommitted; null when no sink is configured. */
  readonly onCommitted: AuditCommitHandler | null;
  /** After the store is closed (its last batch is committed, so handed over): flushes each sink. */
  close(): Promise<void>;
}

export interface OpenSinksOptions {
  /** Where a relative jsonl path lives (config.dataDir, absolute after load.ts). */
  readonly dataDir?: string;
}

export function openAuditSinks(
  configs: readonly AuditSinkConfig[],
  log: SinkLog,
  options: OpenSinksOptions = {},
): AuditSinks {
  const sinks: AuditSink[] = [];
  try {
    for (const config of configs) sinks.push(openSink(config, log, options));
  } catch (err) {
    for (const sink of sinks) void sink.close();
    throw err;
  }
  if (sinks.length === 0) return { onCommitted: null, close: () => Promise.resolve() };
  return {
    onCommitted(records) {
      for (const sink of sinks) {
        try {
          sink.write(records);
        } catch (err) {
          log.error(
            { err, firstSeq: records[0]?.seq, records: records.length },
            'bug: audit sink write failed',
          );
        }
      }
    },
    async close() {
      await Promise.all(sinks.map((sink) => sink.close()));
    },
  };
}

function openSink(config: AuditSinkConfig, log: SinkLog, options: OpenSinksOptions): AuditSink {
  switch (config.type) {
    case 'jsonl':
      return createJsonlSink({ path: sinkPath(config.path, options.dataDir), log });
    case 'webhook': {
      const { headersFile, headers, ...rest } = config;
      return createWebhookSink({
        ...rest,
        headers: headersFile === undefined ? headers : readHeadersFile(headersFile, headers),
        log,
      });
    }
  }
}

function sinkPath(path: string, dataDir: string | undefined): string {
  if (path === STDOUT_PATH || isAbsolute(path)) return path;
  return resolve(dataDir ?? '.', path);
}
