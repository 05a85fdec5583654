// The JSON-lines audit sink: each committed record as one line on stdout or appended to a file,
// for a log forwarder (Fluent Bit, Vector, a Splunk forwarder) to pick up. Input: committed
// batches (committed.ts). Output: lines in exactly `kubegate audit export`'s shape
// (audit/export.ts exportLine: {"seq","prevHash","hash","event"}, the event being the canonical
// text the hash covers), so one checker (`kubegate audit verify --jsonl`) reads both.
// Must never block or fail the request path, and never interleave a line with other output: a
// batch's lines go out in one write call, whole. kubegate's log goes to stderr, so '-' leaves
// stdout to this sink alone. A forwarder that stops reading cannot grow memory without bound:
// past MAX_BUFFERED_BYTES waiting to be written, batches are dropped and counted, loudly.
import { openSync } from 'node:fs';
import { createWriteStream } from 'node:fs';
import { finished } from 'node:stream/promises';
import type { Writable } from 'node:stream';
import { KubegateError } from '../../errors.js';
import { exportLine } from '../export.js';
import type { AuditSink, SinkLog } from './committed.js';

/** `path: '-'` writes to stdout. */
export const STDOUT_PATH = '-';

/** How much may wait in memory for a slow reader before batches are dropped. */
const MAX_BUFFERED_BYTES = 64 * 1024 * 1024;

export interface JsonlSinkOptions {
  /** '-' for stdout, else a file opened for appending (created readable by its owner only). */
  readonly path: string;
  readonly log: SinkLog;
  /** stdout's stand-in in tests. */
  readonly stdout?: Writable;
  readonly maxBufferedBytes?: number;
}

/** Opens the file now, so that a path kubegate cannot write stops the start (KG_CONFIG_INVALID). */
export function createJsonlSink(options: JsonlSinkOptions): AuditSink {
  const toStdout = options.path === STDOUT_PATH;
  const out = toStdout ? (options.stdout ?? process.stdout) : openAppend(options.path);
  const where = toStdout ? 'stdout' : options.path;
  const maxBuffered = options.maxBufferedBytes ?? MAX_BUFFERED_BYTES;
  let failed: Error | null = null;
  /** Records dropped since the last line got through; reported once per episode, then summed. */
  let dropping = 0;
  let dropped = 0;
  let closed = false;
  const onError = (err: Error): void => {
    if (failed !== null) return;
    failed = err;
    options.log.error(
      { sink: 'jsonl', path: where, err },
      'audit sink cannot write; later records are not copied',
    );
  };
  out.on('error', onError);

  return {
    write(records) {
      if (closed || records.length === 0) return;
      if (failed !== null || out.writableLength > maxBuffered) {
        if (dropping === 0) {
          options.log.error(
            { sink: 'jsonl', path: where, firstSeq: records[0]?.seq, buffered: out.writableLength },
            'audit sink is not keeping up; dropping records from its copy (the store still has them)',
          );
        }
        dropping += records.length;
        dropped += records.length;
        return;
      }
      if (dropping > 0) {
        options.log.error(
          {
            sink: 'jsonl',
            path: where,
            dropped: dropping,
            droppedTotal: dropped,
            resumedAtSeq: records[0]?.seq,
          },
          'audit sink resumed; records were dropped from its copy',
        );
        dropping = 0;
      }
      let text = '';
      for (const record of records) text += exportLine(record);
      // One call per batch: the lines reach the fd whole and together.
      out.write(text);
    },
    async close() {
      if (closed) return;
      closed = true;
      if (dropped > 0) {
        options.log.error(
          { sink: 'jsonl', path: where, droppedTotal: dropped },
          'audit sink closed; records were dropped from its copy',
        );
      }
      if (toStdout) {
        out.off('error', onError);
        return;
      }
      out.end();
      await finished(out).catch(() => undefined);
    },
  };
}

function openAppend(path: string): Writable {
  let fd: number;
  try {
    fd = openSync(path, 'a', 0o600);
  } catch (cause) {
    throw new KubegateError(
      'KG_CONFIG_INVALID',
      `audit.sinks: cannot open ${path} for appending (${cause instanceof Error ? cause.message : String(cause)})`,
      { cause },
    );
  }
  return createWriteStream(path, { fd, flags: 'a' });
}
