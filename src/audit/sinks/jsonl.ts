// The JSON-lines audit sink: each committed record as one line on stdout or appended to a file,
// for a log forwarder (Fluent Bit, Vector, a Splunk forwarder) to pick up. Input: committed
// batches (committed.ts). Output: lines in exactly `kubegate audit export`'s shape
// (audit/export.ts exportLine: {"seq","prevHash","hash","event"}, the event being the canonical
// text the hash covers), so one checker (`kubegate audit verify --jsonl`) reads both.
// Must never block or fail the request path, and never interleave a line with other output: a
// batch's lines go out in one write call, whole. kubegate's log goes to stderr, so '-' leaves
// stdout to this sink alone. A forwarder that stops reading cannot grow memory without bound:
// past MAX_BUFFERED_BYTES waiting to be written, batches are dropped and counted, loudly.
// Rotation (logrotate, a forwarder's own rotation): before each batch the path is stat'ed and
// compared with the file kubegate holds open; when it was renamed or removed, the file is
// reopened at the path, so the batch and later ones land in the new file. Checked per batch
// rather than on SIGHUP because the forwarders that rotate (Fluent Bit, Vector) send no signal,
// and a sidecar cannot signal kubegate in another container; one stat per batch is cheap.
import { createWriteStream, fstatSync, openSync, statSync } from 'node:fs';
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
  let file = toStdout ? null : openAppend(options.path);
  let out: Writable = file?.stream ?? options.stdout ?? process.stdout;
  const where = toStdout ? 'stdout' : options.path;
  /** Files left behind by a rotation, still writing what they had taken; ended at once. */
  const rotatedAway: Promise<unknown>[] = [];
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

  /** Reopens the path when the file there is no longer the one held open (renamed or removed). */
  function followRotation(): void {
    if (file === null || failed !== null || !rotated(options.path, file)) return;
    const old = file.stream;
    try {
      file = openAppend(options.path);
    } catch (err) {
      onError(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    out = file.stream;
    out.on('error', onError);
    old.end();
    rotatedAway.push(finished(old).catch(() => undefined));
  }

  return {
    write(records) {
      if (closed || records.length === 0) return;
      followRotation();
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
      await Promise.all([finished(out).catch(() => undefined), ...rotatedAway]);
    },
  };
}

interface OpenFile {
  readonly stream: Writable;
  readonly dev: number;
  readonly ino: number;
}

/** True when the path names another file than the one open (or none): it was rotated. */
function rotated(path: string, file: OpenFile): boolean {
  try {
    const now = statSync(path);
    return now.ino !== file.ino || now.dev !== file.dev;
  } catch {
    return true;
  }
}

function openAppend(path: string): OpenFile {
  let fd: number;
  let held: { dev: number; ino: number };
  try {
    fd = openSync(path, 'a', 0o600);
    held = fstatSync(fd);
  } catch (cause) {
    throw new KubegateError(
      'KG_CONFIG_INVALID',
      `audit.sinks: cannot open ${path} for appending (${cause instanceof Error ? cause.message : String(cause)})`,
      { cause },
    );
  }
  return { stream: createWriteStream(path, { fd, flags: 'a' }), dev: held.dev, ino: held.ino };
}
